"""Schema drift: compare a frame's schema with its contract without reading data."""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

import polars as pl

from c360._contracts._model import KEYS, ColumnContract, Contract
from c360._contracts._parse import contract_type
from c360._contracts._warnings import C360Warning
from c360._typing import OnSchemaChange, Severity
from c360.exceptions import ConfigError, SchemaChangeError

NoticeKind: TypeAlias = Literal[
    "column_removed", "column_renamed", "type_changed", "nullability_changed", "column_added"
]
"""What kind of schema change a [`SchemaNotice`][SchemaNotice] reports."""

_Emit: TypeAlias = Callable[[NoticeKind, str, str, Severity], None]
_KIND_ORDER = {k: i for i, k in enumerate(get_args(NoticeKind))}
_RENAME_CUTOFF = 0.75


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaNotice:
    """One difference between a batch's schema and its contract.

    Sorting a list of notices puts breaking ones first.

    Attributes:
        source: the source whose batch was checked.
        kind: ``column_removed``, ``column_renamed``, ``type_changed``,
            ``nullability_changed`` or ``column_added``.
        column: the contract column concerned (the new column for ``column_added``).
        detail: what was expected and what was found.
        severity: ``"breaking"`` (data will be lost or rejected) or ``"compatible"``.

    Examples:
        >>> n = SchemaNotice(
        ...     source="crm", kind="column_added", column="x", detail="new", severity="compatible"
        ... )
        >>> str(n)
        'compatible column_added: crm.x: new'

    """

    source: str
    kind: NoticeKind
    column: str
    detail: str
    severity: Severity

    def _key(self) -> tuple[int, int, str]:
        return (self.severity != "breaking", _KIND_ORDER[self.kind], self.column)

    def __lt__(self, other: SchemaNotice) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        return f"{self.severity} {self.kind}: {self.source}.{self.column}: {self.detail}"


def check_schema(
    lazy_frame: pl.LazyFrame,
    contract: Contract,
    *,
    source: str,
    on_schema_change: OnSchemaChange = "warn",
) -> list[SchemaNotice]:
    """Compare ``lazy_frame``'s schema with ``contract``, reading no data.

    Reports columns removed, added, renamed-looking (a missing contract column
    and a new column with a similar name, or — when the contract allows
    neither missing nor extra columns — the only missing and the only new
    column when their types agree), types changed, and nullability changed
    where the schema shows it (a column typed ``Null`` holds only nulls).
    Columns whose names start with ``_`` are c360 bookkeeping and are ignored.

    Args:
        lazy_frame: the batch, as read from the source.
        contract: the contract it should follow.
        source: the source's name, used in notices and errors.
        on_schema_change: ``"fail"`` raises [`SchemaChangeError`][SchemaChangeError] when a
            notice is breaking (and warns about the others); ``"warn"`` emits one
            [`C360Warning`][C360Warning] listing the notices; ``"accept"`` only returns them.

    Returns:
        The notices, breaking ones first.

    Examples:
        >>> c = Contract(name="crm", version="1.0.0", columns=(ColumnContract(name="email"),))
        >>> lf = pl.LazyFrame({"e_mail": ["a@b.co"]})
        >>> [n.kind for n in check_schema(lf, c, source="crm", on_schema_change="accept")]
        ['column_renamed']

    """
    notices = schema_notices(lazy_frame.collect_schema(), contract, source=source)
    apply_policy(notices, contract, source=source, on_schema_change=on_schema_change, stacklevel=2)
    return notices


def schema_notices(schema: pl.Schema, contract: Contract, *, source: str) -> list[SchemaNotice]:
    """Return the notices for an already collected schema (see ``check_schema``)."""
    present = {n: schema[n] for n in schema.names() if not n.startswith("_")}
    missing = [c for c in contract.columns if c.name not in present]
    extra = [n for n in present if n not in contract and n not in KEYS]
    notices: list[SchemaNotice] = []

    def notice(kind: NoticeKind, column: str, detail: str, severity: Severity) -> None:
        notices.append(
            SchemaNotice(source=source, kind=kind, column=column, detail=detail, severity=severity)
        )

    # Renamed-looking pairs first, so that they are not also reported as removed/added.
    renamed: dict[str, str] = {}
    unmatched = list(extra)
    for col in missing:
        match = _similar(col.name, unmatched)
        if match is not None:
            renamed[col.name] = match
            unmatched.remove(match)
    if (
        not contract.allow_missing
        and not contract.allow_extra
        and len(missing) - len(renamed) == 1
        and len(unmatched) == 1
    ):
        (col,) = [c for c in missing if c.name not in renamed]
        if contract_type(present[unmatched[0]]) == col.dtype:
            renamed[col.name] = unmatched.pop()
    for col in missing:
        if col.name in renamed:
            new = renamed[col.name]
            notice(
                "column_renamed",
                col.name,
                f"{col.name!r} is missing and {new!r} ({present[new]}) is new: renamed? "
                f"map {new!r} to {col.name!r} or update the contract",
                "breaking",
            )
        elif not contract.allow_missing or col.required:
            notice(
                "column_removed",
                col.name,
                f"{col.name!r} ({col.dtype}) is in the contract but not in the data",
                "breaking",
            )
    if not contract.allow_extra:
        for name in unmatched:
            notice(
                "column_added",
                name,
                f"{name!r} ({present[name]}) is not in the contract",
                "compatible",
            )
    for col in contract.columns:
        if col.name in present:
            _type_notices(col, present[col.name], notice)
    notices.sort()
    return notices


def apply_policy(
    notices: list[SchemaNotice],
    contract: Contract,
    *,
    source: str,
    on_schema_change: OnSchemaChange,
    stacklevel: int,
) -> None:
    """Raise, warn or accept according to ``on_schema_change``."""
    if on_schema_change not in ("fail", "warn", "accept"):
        raise ConfigError(
            f"on_schema_change must be 'fail', 'warn' or 'accept'; got {on_schema_change!r}",
            source=source,
        )
    if not notices or on_schema_change == "accept":
        return
    breaking = [n for n in notices if n.severity == "breaking"]
    if on_schema_change == "fail" and breaking:
        raise SchemaChangeError(
            f"breaking schema change against contract {contract.name} {contract.version}: "
            + "; ".join(f"{n.column}: {n.detail}" for n in breaking),
            source=source,
            column=breaking[0].column,
            hint="fix the source mapping, or update the contract (with a major version bump)",
        )
    warnings.warn(
        f"{source}: schema differs from contract {contract.name} {contract.version}: "
        + "; ".join(f"[{n.severity}] {n.column}: {n.detail}" for n in notices),
        C360Warning,
        stacklevel=stacklevel + 1,
    )


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.lower())


def _similar(name: str, candidates: list[str]) -> str | None:
    """Return the candidate whose name looks most like ``name``, if any is close enough."""
    best, best_ratio = None, _RENAME_CUTOFF
    target = _normalise(name)
    for cand in candidates:
        ratio = difflib.SequenceMatcher(None, target, _normalise(cand)).ratio()
        if ratio >= best_ratio and (best is None or ratio > best_ratio):
            best, best_ratio = cand, ratio
    return best


#: Observed kinds a contract type takes without any notice (text is always parsed).
_SAME: dict[str, set[str]] = {
    "string": {"string"},
    "int": {"int", "string"},
    "float": {"float", "int", "string"},
    "bool": {"bool", "string"},
    "date": {"date", "string"},
    "datetime": {"datetime", "string"},
}
#: Observed kinds that convert, possibly losing something: a compatible notice.
_CONVERTIBLE: dict[str, dict[str, str]] = {
    "string": {
        "int": "numbers are cast to text (leading zeros are already lost)",
        "float": "numbers are cast to text",
        "bool": "booleans are cast to text",
        "date": "dates are cast to ISO text",
        "datetime": "datetimes are cast to ISO text",
    },
    "int": {"float": "only whole numbers convert; others fail the row's check"},
    "bool": {"int": "only 0 and 1 convert"},
    "date": {
        "datetime": "the time of day is dropped",
        "int": "read as YYYYMMDD",
    },
    "datetime": {"date": "dates become midnight"},
}


def _type_notices(col: ColumnContract, observed: pl.DataType, emit: _Emit) -> None:
    if observed == pl.Null:
        if not col.nullable:
            emit(
                "nullability_changed",
                col.name,
                f"{col.name!r} holds only nulls but the contract says it is not nullable",
                "breaking",
            )
        return
    kind = contract_type(observed)
    if kind is not None and kind in _SAME[col.dtype]:
        return
    why = _CONVERTIBLE.get(col.dtype, {}).get(kind or "")
    if why is not None:
        emit(
            "type_changed", col.name, f"expected {col.dtype}, found {observed}: {why}", "compatible"
        )
    else:
        emit(
            "type_changed",
            col.name,
            f"expected {col.dtype}, found {observed}, which cannot be converted: "
            "every value will fail",
            "breaking",
        )
