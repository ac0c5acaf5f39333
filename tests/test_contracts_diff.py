"""diff(): every change listed, classified, and the version bump judged."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from c360.contracts import (
    AllowedValues,
    ColumnContract,
    Contract,
    InRange,
    IsEmail,
    MatchesRegex,
    MaxLength,
    canonical_contract,
    diff,
)

BASE = Contract(
    name="crm",
    version="1.2.3",
    columns=(
        ColumnContract(name="email", checks=(IsEmail(), MaxLength(100)), on_fail="nullify"),
        ColumnContract(name="country", checks=(AllowedValues(("GB", "FR")),)),
        ColumnContract(name="age", dtype="int", checks=(InRange(min=0, max=120),)),
        ColumnContract(name="code", checks=(MatchesRegex("[A-Z]+"),)),
        ColumnContract(name="joined", dtype="date"),
    ),
)


def _with(version: str, **changes: ColumnContract) -> Contract:
    columns = tuple(changes.get(c.name, c) for c in BASE.columns)
    return replace(BASE, version=version, columns=columns)


def _changes(old: Contract, new: Contract) -> list[tuple[str, str | None, str]]:
    return [(c.kind, c.column, c.severity) for c in diff(old, new).changes]


def test_identical_contracts_have_no_changes() -> None:
    d = diff(BASE, BASE)
    assert d.changes == ()
    assert not d.breaking
    assert d.version_ok
    assert d.required_bump == "none"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (
            replace(BASE.column("age"), checks=(InRange(min=18, max=120),)),
            ("check_tightened", True),
        ),
        (replace(BASE.column("age"), checks=(InRange(min=0, max=150),)), ("check_loosened", False)),
        (replace(BASE.column("age"), checks=(InRange(min=10, max=150),)), ("check_changed", True)),
        (replace(BASE.column("age"), checks=(InRange(min=0),)), ("check_loosened", False)),
        (replace(BASE.column("age"), checks=()), ("check_removed", False)),
        (
            replace(BASE.column("country"), checks=(AllowedValues(("GB",)),)),
            ("check_tightened", True),
        ),
        (
            replace(BASE.column("country"), checks=(AllowedValues(("GB", "FR", "DE")),)),
            ("check_loosened", False),
        ),
        (
            replace(BASE.column("country"), checks=(AllowedValues(("GB", "DE")),)),
            ("check_changed", True),
        ),
        (
            replace(BASE.column("country"), checks=(AllowedValues(("GB", "FR")), MaxLength(2))),
            ("check_added", True),
        ),
        (
            replace(BASE.column("email"), checks=(IsEmail(), MaxLength(50))),
            ("check_tightened", True),
        ),
        (
            replace(BASE.column("email"), checks=(IsEmail(), MaxLength(254))),
            ("check_loosened", False),
        ),
        (
            replace(BASE.column("code"), checks=(MatchesRegex("[A-Z0-9]+"),)),
            ("check_changed", True),
        ),
        (replace(BASE.column("joined"), dtype="datetime"), ("type_changed", True)),
        (replace(BASE.column("joined"), nullable=False), ("nullability_changed", True)),
        (replace(BASE.column("joined"), unique=True), ("uniqueness_changed", True)),
        (replace(BASE.column("joined"), required=True), ("required_changed", True)),
        (replace(BASE.column("joined"), formats=("%d.%m.%Y",)), ("formats_changed", True)),
        (replace(BASE.column("joined"), on_fail="nullify"), ("on_fail_changed", False)),
        (replace(BASE.column("email"), on_fail="quarantine"), ("on_fail_changed", True)),
    ],
)
def test_column_changes_are_classified(column: ColumnContract, expected: tuple[str, bool]) -> None:
    kind, breaking = expected
    d = diff(BASE, _with("2.0.0", **{column.name: column}))
    assert _changes(BASE, _with("2.0.0", **{column.name: column})) == [
        (kind, column.name, "breaking" if breaking else "compatible")
    ]
    assert d.breaking is breaking
    assert d.required_bump == ("major" if breaking else "minor")


def test_loosening_back_is_the_mirror_of_tightening() -> None:
    strict = _with("2.0.0", joined=replace(BASE.column("joined"), nullable=False, unique=True))
    assert {c.severity for c in diff(BASE, strict).changes} == {"breaking"}
    assert {c.severity for c in diff(strict, replace(BASE, version="2.1.0")).changes} == {
        "compatible"
    }


def test_columns_added_and_removed() -> None:
    optional = replace(BASE, version="1.3.0", columns=(*BASE.columns, ColumnContract(name="tier")))
    required = replace(
        BASE, version="2.0.0", columns=(*BASE.columns, ColumnContract(name="tier", required=True))
    )
    removed = replace(BASE, version="2.0.0", columns=BASE.columns[1:])
    assert _changes(BASE, optional) == [("column_added", "tier", "compatible")]
    assert _changes(BASE, required) == [("column_added", "tier", "breaking")]
    assert _changes(BASE, removed) == [("column_removed", "email", "breaking")]


def test_contract_level_flags() -> None:
    relaxed = replace(BASE, version="1.3.0", allow_missing=True, allow_extra=True)
    assert _changes(BASE, relaxed) == [
        ("allow_missing_changed", None, "compatible"),
        ("allow_extra_changed", None, "compatible"),
    ]
    assert {c.severity for c in diff(relaxed, replace(BASE, version="2.0.0")).changes} == {
        "breaking"
    }


@pytest.mark.parametrize(
    ("new_version", "breaking", "ok", "bump"),
    [
        ("2.0.0", True, True, "major"),
        ("1.3.0", True, False, "minor"),
        ("1.2.4", True, False, "patch"),
        ("1.3.0", False, True, "minor"),
        ("1.2.4", False, False, "patch"),
        ("1.2.3", False, False, "none"),
        ("1.0.0", False, False, "downgrade"),
        ("1.2.3-rc.1", False, False, "downgrade"),
    ],
)
def test_version_bump_must_fit_the_changes(
    new_version: str, breaking: bool, ok: bool, bump: str
) -> None:
    age = BASE.column("age")
    column = replace(
        age, checks=(InRange(min=18, max=120),) if breaking else (InRange(min=0, max=130),)
    )
    d = diff(BASE, _with(new_version, age=column))
    assert d.breaking is breaking
    assert d.actual_bump == bump
    assert d.version_ok is ok
    assert ("NOT OK" not in d.report()) is ok


def test_major_zero_allows_breaking_changes_on_a_minor_bump() -> None:
    old = replace(BASE, version="0.4.0")
    d = diff(old, replace(BASE, version="0.5.0", columns=BASE.columns[1:]))
    assert d.breaking
    assert d.required_bump == "minor"
    assert d.version_ok


def test_canonical_contract_changes() -> None:
    old = canonical_contract()
    dob = replace(
        old.column("date_of_birth"), checks=(InRange(min=dt.date(1920, 1, 1), max="today"),)
    )
    columns = tuple(dob if c.name == "date_of_birth" else c for c in old.columns)
    d = diff(old, replace(old, version="1.1.0", columns=columns))
    assert _changes(old, replace(old, version="1.1.0", columns=columns)) == [
        ("check_tightened", "date_of_birth", "breaking")
    ]
    assert not d.version_ok
    assert "NOT OK, breaking changes need a major bump" in d.report()
    today_to_fixed = replace(
        old.column("date_of_birth"), checks=(InRange(min=dt.date(1900, 1, 1), max="2030-01-01"),)
    )
    columns = tuple(today_to_fixed if c.name == "date_of_birth" else c for c in old.columns)
    assert _changes(old, replace(old, version="2.0.0", columns=columns)) == [
        ("check_changed", "date_of_birth", "breaking")
    ]
