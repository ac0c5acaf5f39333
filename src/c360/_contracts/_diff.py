"""diff(old, new): every change between two versions of a contract, classified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from c360._contracts._checks import Check
from c360._contracts._model import ColumnContract, Contract, parse_version
from c360._typing import Severity

ChangeKind: TypeAlias = Literal[
    "column_added",
    "column_removed",
    "type_changed",
    "nullability_changed",
    "uniqueness_changed",
    "required_changed",
    "on_fail_changed",
    "formats_changed",
    "check_added",
    "check_removed",
    "check_tightened",
    "check_loosened",
    "check_changed",
    "allow_missing_changed",
    "allow_extra_changed",
]
"""What kind of change a [`ContractChange`][ContractChange] records."""

_Emit: TypeAlias = Callable[[ChangeKind, str | None, str, bool], None]

Bump: TypeAlias = Literal["major", "minor", "patch", "none", "downgrade"]
"""A version step between two contract versions."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractChange:
    """One change between two contract versions.

    A change is *breaking* when data that passed the old contract may fail the
    new one, or when consumers lose something they had (a column, a type, a
    guarantee they relied on to read it); otherwise it is *compatible*.
    """

    kind: ChangeKind
    column: str | None
    detail: str
    severity: Severity

    def __str__(self) -> str:
        where = f"{self.column}: " if self.column else ""
        return f"[{self.severity}] {self.kind}: {where}{self.detail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractDiff:
    """All changes from ``old`` to ``new``, and whether the version bump fits them.

    Attributes:
        old_version: version of the old contract.
        new_version: version of the new contract.
        changes: every change, breaking ones first.
        required_bump: the smallest bump the changes need: ``"major"`` for a
            breaking change (``"minor"`` while the major version is 0),
            ``"minor"`` for compatible changes, ``"none"`` when nothing changed.
        actual_bump: the bump from ``old_version`` to ``new_version``.

    """

    old_version: str
    new_version: str
    changes: tuple[ContractChange, ...]
    required_bump: Literal["major", "minor", "none"]
    actual_bump: Bump

    @property
    def breaking(self) -> bool:
        """Whether any change is breaking."""
        return any(c.severity == "breaking" for c in self.changes)

    @property
    def version_ok(self) -> bool:
        """Whether the version bump is large enough for the changes (and not a downgrade)."""
        if self.actual_bump == "downgrade":
            return False
        rank = {"none": 0, "patch": 1, "minor": 2, "major": 3}
        return rank[self.actual_bump] >= rank[self.required_bump]

    def report(self) -> str:
        """Render a readable report: the changes, then the verdict on the version.

        Examples:
            >>> old = Contract(name="c", version="1.0.0", columns=(ColumnContract(name="a"),))
            >>> print(diff(old, Contract(name="c", version="1.1.0")).report())
            [breaking] column_removed: a: column 'a' (string) removed
            version 1.0.0 -> 1.1.0 (minor bump): NOT OK, breaking changes need a major bump

        """
        lines = [str(c) for c in self.changes] or ["no changes"]
        step = {"none": "no bump", "downgrade": "downgrade"}.get(
            self.actual_bump, f"{self.actual_bump} bump"
        )
        bump = f"version {self.old_version} -> {self.new_version} ({step})"
        if self.version_ok:
            lines.append(f"{bump}: ok")
        elif self.actual_bump == "downgrade":
            lines.append(f"{bump}: NOT OK, the version went down")
        else:
            why = "breaking changes" if self.breaking else "compatible changes"
            lines.append(f"{bump}: NOT OK, {why} need a {self.required_bump} bump")
        return "\n".join(lines)


def diff(old: Contract, new: Contract) -> ContractDiff:
    """List every change from ``old`` to ``new`` and classify it.

    Breaking: a column removed or its type changed; a required column added;
    a column made required, non-nullable or unique; a check added, tightened
    (smaller range, fewer allowed values, shorter max length) or changed in a
    way that cannot be ordered (a new regex); ``on_fail`` turned from nullify to
    quarantine; fewer date formats; ``allow_missing``/``allow_extra`` turned off.
    Compatible: the opposite loosening moves, and optional columns added.
    Descriptions are ignored.

    Examples:
        >>> from c360.contracts import canonical_contract
        >>> old = canonical_contract()
        >>> cols = tuple(c for c in old.columns if c.name != "company")
        >>> new = Contract(name="canonical", version="2.0.0", columns=cols, allow_missing=True)
        >>> d = diff(old, new)
        >>> d.breaking, d.version_ok, [c.kind for c in d.changes]
        (True, True, ['column_removed', 'allow_extra_changed'])

    """
    changes: list[ContractChange] = []

    def add(kind: ChangeKind, column: str | None, detail: str, breaking: bool) -> None:
        changes.append(
            ContractChange(
                kind=kind,
                column=column,
                detail=detail,
                severity="breaking" if breaking else "compatible",
            )
        )

    for col in old.columns:
        if col.name not in new:
            add("column_removed", col.name, f"column {col.name!r} ({col.dtype}) removed", True)
    for col in new.columns:
        if col.name not in old:
            how = "required" if col.required else "optional"
            add(
                "column_added",
                col.name,
                f"{how} column {col.name!r} ({col.dtype}) added",
                col.required,
            )
        else:
            _column_changes(old.column(col.name), col, add)
    for flag in ("allow_missing", "allow_extra"):
        before, after = getattr(old, flag), getattr(new, flag)
        if before != after:
            kind: ChangeKind = (
                "allow_missing_changed" if flag == "allow_missing" else "allow_extra_changed"
            )
            add(kind, None, f"{flag} {before} -> {after}", before and not after)
    changes.sort(key=lambda c: c.severity != "breaking")
    breaking = any(c.severity == "breaking" for c in changes)
    old_v, new_v = parse_version(old.version), parse_version(new.version)
    required: Literal["major", "minor", "none"]
    if breaking:
        required = "major" if old_v[0] > 0 else "minor"
    elif changes:
        required = "minor"
    else:
        required = "none"
    return ContractDiff(
        old_version=old.version,
        new_version=new.version,
        changes=tuple(changes),
        required_bump=required,
        actual_bump=_bump(old_v, new_v),
    )


def _bump(old: tuple[int, int, int, str], new: tuple[int, int, int, str]) -> Bump:
    if new[:3] == old[:3]:
        if new[3] == old[3]:
            return "none"
        # 1.0.0-rc.1 -> 1.0.0 releases; 1.0.0 -> 1.0.0-rc.1 goes back.
        if not new[3] or (old[3] and new[3] > old[3]):
            return "patch"
        return "downgrade"
    if new[:3] < old[:3]:
        return "downgrade"
    if new[0] != old[0]:
        return "major"
    if new[1] != old[1]:
        return "minor"
    return "patch"


def _column_changes(old: ColumnContract, new: ColumnContract, emit: _Emit) -> None:
    name = new.name
    if old.dtype != new.dtype:
        emit("type_changed", name, f"type {old.dtype} -> {new.dtype}", True)
    if old.required != new.required:
        emit("required_changed", name, f"required {old.required} -> {new.required}", new.required)
    if old.nullable != new.nullable:
        emit(
            "nullability_changed",
            name,
            f"nullable {old.nullable} -> {new.nullable}",
            not new.nullable,
        )
    if old.unique != new.unique:
        emit("uniqueness_changed", name, f"unique {old.unique} -> {new.unique}", new.unique)
    if old.on_fail != new.on_fail:
        emit(
            "on_fail_changed",
            name,
            f"on_fail {old.on_fail} -> {new.on_fail}",
            new.on_fail == "quarantine",
        )
    if old.formats != new.formats:
        fewer = not set(old.formats) <= set(new.formats) or (not new.formats) != (not old.formats)
        emit("formats_changed", name, f"formats {list(old.formats)} -> {list(new.formats)}", fewer)
    _check_changes(name, old.checks, new.checks, emit)


def _check_changes(name: str, old: tuple[Check, ...], new: tuple[Check, ...], emit: _Emit) -> None:
    old_by_key: dict[str, list[Check]] = {}
    new_by_key: dict[str, list[Check]] = {}
    for c in old:
        old_by_key.setdefault(c.key, []).append(c)
    for c in new:
        new_by_key.setdefault(c.key, []).append(c)
    for key in sorted(set(old_by_key) | set(new_by_key)):
        before, after = old_by_key.get(key, []), new_by_key.get(key, [])
        if len(before) == 1 and len(after) == 1:
            verdict = after[0].compare(before[0])
            if verdict == "same":
                continue
            detail = f"{before[0].describe()} -> {after[0].describe()}"
            if verdict == "tightened":
                emit("check_tightened", name, detail, True)
            elif verdict == "loosened":
                emit("check_loosened", name, detail, False)
            else:
                emit("check_changed", name, detail, True)
            continue
        for c in before:
            if c not in after:
                emit("check_removed", name, f"{c.describe()} removed", False)
        for c in after:
            if c not in before:
                emit("check_added", name, f"{c.describe()} added", True)
