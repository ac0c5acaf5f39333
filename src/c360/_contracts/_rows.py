"""Validation of a few clean rows in plain Python: the single-record path.

[`validate`][c360._contracts._validate.validate] plans one polars query per
batch: coercion, a flag per check, uniqueness, then the split. On one row
the query's fixed costs come to a few milliseconds, a quarter of the time of
resolving one record against a saved run. Here the rows of a small frame
are coerced and checked value by value, for the common case only: every
value coerces the way the polars path would without doubt, passes its
checks, and no key repeats. Then the result is what the polars path would
return, built directly.

Anything else is left to polars ([`validate_rows`][validate_rows] returns
``None``): a value that fails or might fail (a check says it cannot tell,
text with surrounding whitespace, a text date that reads both day- and
month-first or comes in a shape not read here, a column with its own date
formats, a type this module does not mirror), a duplicate key, a missing
required value. Those rows need the polars path's messages and quarantine
anyway. Property tests run both paths on the same frames.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

import polars as pl

from c360._canonical import QUARANTINE_SCHEMA, ROW
from c360._contracts._parse import polars_type

if TYPE_CHECKING:
    from c360._contracts._model import ColumnContract, Contract
    from c360._contracts._schema import SchemaNotice
    from c360._contracts._validate import Validated

__all__ = ["MAX_ROWS", "validate_rows"]

#: Frames of up to this many rows take the row path.
MAX_ROWS = 16

# the shapes of text dates read here (ASCII digits: ``\\d`` would take any script's)
_ISO_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})")
_COMPACT_DATE = re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})")
_YMD = re.compile(r"(?P<y>[0-9]{4})/(?P<m>[0-9]{2})/(?P<d>[0-9]{2})")
_DAY_MONTH = re.compile(r"(?P<a>[0-9]{1,2})[./-](?P<b>[0-9]{1,2})[./-](?P<y>[0-9]{4})")
#: English month names (lower case); chrono reads any case
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")  # fmt: skip
_ABBREVIATED = {name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_ANY_NAME = _ABBREVIATED | {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
#: the built-in formats with a month name, and the names each reads: ``%d %b %Y`` and
#: ``%d %B %Y``; ``%d %b, %Y``; ``%d-%b-%Y``; ``%b %d, %Y`` and ``%B %d, %Y``
_NAMED_DATES = (
    (re.compile(r"(?P<d>[0-9]{1,2}) (?P<m>[A-Za-z]{3,9}) (?P<y>[0-9]{4})"), _ANY_NAME),
    (re.compile(r"(?P<d>[0-9]{1,2}) (?P<m>[A-Za-z]{3}), (?P<y>[0-9]{4})"), _ABBREVIATED),
    (re.compile(r"(?P<d>[0-9]{1,2})-(?P<m>[A-Za-z]{3})-(?P<y>[0-9]{4})"), _ABBREVIATED),
    (re.compile(r"(?P<m>[A-Za-z]{3,9}) (?P<d>[0-9]{1,2}), (?P<y>[0-9]{4})"), _ANY_NAME),
)
_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


class _DeclinedError(Exception):
    """The row path cannot vouch for a value: the frame goes to polars."""


def _text(value: str) -> str | None:
    """As the polars path's strip-then-blank, for text that needs no strip."""
    if value != value.strip():  # the polars path would strip the whole column
        raise _DeclinedError
    return value or None


def _coercer(observed: pl.DataType, target: str, formats: tuple[str, ...] = ()) -> Any:
    """A function from a read value to the contract's value, or ``None`` if not mirrored.

    ``formats``: the column's own date formats, which only the polars path reads.
    """
    if observed == pl.Null:
        return lambda v: None
    if observed == pl.String:
        if target == "string":
            return _text
        if target == "date" and not formats:
            return _text_date
        return None
    if target == "string" and isinstance(observed, _INTS):
        return str
    if observed == polars_type(target):  # type: ignore[arg-type]
        if target == "float":
            return _finite
        if target == "datetime":
            return None if getattr(observed, "time_zone", None) else _same
        return _same
    return None


def _same(value: Any) -> Any:
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise _DeclinedError
    return value


def _text_date(value: str) -> dt.date | None:
    """A text date read as the polars path reads it (see ``c360._contracts._parse``).

    The built-in formats, each in the one shape whose reading is certain:
    ISO, ``YYYYMMDD``, ``YYYY/MM/DD``, day and month in either order with
    ``/``, ``-`` or ``.`` where only one order gives a date (or both give the
    same one), and English month names. A day/month value that reads both
    ways, a value with a time, or any other shape goes to polars.
    """
    text = _text(value)
    if text is None:
        return None
    if m := _ISO_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text) or _YMD.fullmatch(text):
        return _date(m["y"], m["m"], m["d"])
    if m := _DAY_MONTH.fullmatch(text):
        day_first = _maybe_date(m["y"], m["b"], m["a"])
        month_first = _maybe_date(m["y"], m["a"], m["b"])
        if day_first is None or month_first is None or day_first == month_first:
            return _certain(day_first or month_first)
        raise _DeclinedError  # reads both ways: the column decides
    for named, months in _NAMED_DATES:
        if m := named.fullmatch(text):
            return _date(m["y"], months.get(m["m"].lower(), 0), m["d"])
    raise _DeclinedError


def _maybe_date(year: str, month: str, day: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _certain(date: dt.date | None) -> dt.date:
    if date is None:  # not a date: the polars path words the failure
        raise _DeclinedError
    return date


def _date(year: str, month: str | int, day: str) -> dt.date:
    return _certain(_maybe_date(year, str(month), day))


def validate_rows(
    frame: pl.DataFrame,
    specs: list[ColumnContract],
    extras: list[str],
    contract: Contract,
    source: str,
    notices: tuple[SchemaNotice, ...],
    *,
    unique: bool,
    nullify_columns: list[str],
    quarantine_columns: list[str],
) -> Validated | None:
    """The outcome of [`validate`][c360._contracts._validate.validate] for clean rows, or ``None``.

    ``specs`` and ``extras`` are those ``validate`` derived from the frame's
    schema; ``nullify_columns`` and ``quarantine_columns`` the columns whose
    counts the polars path reports (every count here is zero).
    """
    from c360._contracts._validate import Validated, ValidationCounts, _issue_column

    if frame.height > MAX_ROWS:
        return None
    schema = frame.schema
    if ROW in schema and schema[ROW] != pl.Int64:
        return None
    columns: list[pl.Series] = []
    try:
        for spec in specs:
            coerce = _coercer(schema[spec.name], spec.dtype, spec.formats)
            if coerce is None:
                return None
            values = [
                None if v is None else coerce(v) for v in frame.get_column(spec.name).to_list()
            ]
            for v in values:
                if v is None:
                    if not spec.nullable:
                        return None
                elif not all(check.accepts(v, spec.dtype) for check in spec.checks):
                    return None
            if spec.unique and unique:
                present = [v for v in values if v is not None]
                if len(set(present)) < len(present):
                    return None
            dtype = polars_type(spec.dtype)
            columns.append(pl.Series(spec.name, values, dtype=dtype))
    except _DeclinedError:
        return None
    columns += [frame.get_column(n) for n in extras]
    if ROW in schema:
        columns.append(frame.get_column(ROW))
    else:
        columns.append(pl.Series(ROW, range(frame.height), dtype=pl.Int64))
    valid = pl.DataFrame(columns).with_columns(_issue_column(None, frame.height))
    counts = ValidationCounts(
        rows_in=frame.height,
        valid=frame.height,
        quarantined=0,
        nullified=dict.fromkeys(nullify_columns, 0),
        failed=dict.fromkeys(quarantine_columns, 0),
    )
    return Validated(
        source=source,
        contract=f"{contract.name}@{contract.version}",
        valid=valid,
        quarantine=pl.DataFrame(schema=QUARANTINE_SCHEMA),
        notices=notices,
        counts=counts,
    )
