"""Coercion of source values to contract types, as whole-column polars expressions.

Text is parsed, typed values are cast. Every coercion returns the typed value
(null where it failed), a flag for the rows where it failed, and the message
for those rows, so that the caller can quarantine or nullify in one pass and
build messages for the failing rows only.

Dates accept ISO ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/MM/DD``, day-month-year
and month-day-year with ``/``, ``-`` or ``.`` separators, month names
(``2 Jan 1990``, ``Jan 2, 1990``, ``02-Jan-1990``), and any of those followed
by a time (which a ``date`` column drops). ``03/04/1990`` reads as either the
3rd of April or the 4th of March: the column decides. If some values of the
column only read one way (``25/04/1990``) and none the other way, the
ambiguous ones follow the same order; otherwise they fail as ambiguous.
Datetimes accept a date as above, then ``T`` or a space and ``HH:MM[:SS[.f]]``,
then an optional ``Z`` or ``±HH[:MM]`` offset. Offsets are converted to UTC;
naive times are taken as UTC. The stored type is a naive UTC ``Datetime("us")``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from c360._contracts._checks import ColumnType, show

#: The polars type each contract type is stored as.
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}

_WHAT = {
    "string": "text",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "date": "a date",
    "datetime": "a datetime",
}

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")

_DATE_TIME_SPLIT = (
    r"^(?<d>.+?)"
    r"(?:[T ](?<t>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)\s*(?<z>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_DAY_MONTH = r"^\d{1,2}[./-]\d{1,2}[./-]\d{4}$"
_NAMED_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d %b, %Y")


def polars_type(dtype: ColumnType) -> pl.DataType:
    """Return the polars type a contract type is stored as.

    Examples:
        >>> polars_type("datetime")
        Datetime(time_unit='us', time_zone=None)

    """
    return POLARS_TYPES[dtype]


def contract_type(dtype: pl.DataType) -> ColumnType | None:
    """Return the contract type a polars type maps to, or None for nested/binary types.

    Examples:
        >>> contract_type(pl.Int32())
        'int'

    """
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Datetime:
        return "datetime"
    if dtype in (pl.String, pl.Categorical, pl.Enum, pl.Null):
        return "string"
    return None


class Stages:
    """Expressions grouped into successive ``with_columns`` steps.

    polars does not always share a sub-expression used several times, so the
    intermediate values of parsing (the date text, each strptime attempt, ...)
    are computed once as temporary columns, level by level; later levels refer
    to them by name. Unused temporaries are pruned by the query optimiser.

    Examples:
        >>> st = Stages()
        >>> a = st.put(0, "x:a", pl.col("x") + 1)
        >>> b = st.put(1, "x:b", a * 2)
        >>> st.apply(pl.LazyFrame({"x": [1]})).select(b).collect().item()
        4

    """

    PREFIX = "__c360_"

    def __init__(self) -> None:
        self._levels: list[dict[str, pl.Expr]] = []

    def name(self, tag: str) -> str:
        """Return the full name of temporary column ``tag``."""
        return f"{self.PREFIX}{tag}"

    def col(self, full_name: str) -> pl.Expr:
        """Return a reference to a temporary column by its full name."""
        return pl.col(full_name)

    def put(self, level: int, tag: str, expr: pl.Expr) -> pl.Expr:
        """Compute ``expr`` as temporary column ``tag`` at ``level``; returns a reference to it."""
        while len(self._levels) <= level:
            self._levels.append({})
        full = self.name(tag)
        self._levels[level][full] = expr.alias(full)
        return pl.col(full)

    def has(self, tag: str) -> bool:
        """Whether temporary column ``tag`` was put."""
        return any(self.name(tag) in level for level in self._levels)

    @property
    def depth(self) -> int:
        """Number of levels used so far."""
        return len(self._levels)

    def apply(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Add every level's columns to ``lf``, in order."""
        for level in self._levels:
            if level:
                lf = lf.with_columns(list(level.values()))
        return lf


@dataclass(frozen=True, slots=True)
class Coerced:
    """A coerced column: its value and, when coercion can fail, a failure flag and message.

    All are expressions over temporary columns, valid from ``level`` on; the
    message is meant for the rows where ``failed`` is true.
    """

    value: pl.Expr
    failed: pl.Expr | None
    message: pl.Expr | None
    level: int

    @property
    def failure(self) -> pl.Expr:
        """The message where coercion failed, null elsewhere."""
        if self.failed is None or self.message is None:
            return pl.lit(None, dtype=pl.String)
        return pl.when(self.failed).then(self.message)


def blank_to_null(text: pl.Expr) -> pl.Expr:
    """Strip surrounding whitespace; empty text becomes null.

    Examples:
        >>> pl.select(blank_to_null(pl.lit("  "))).item() is None
        True

    """
    stripped = text.str.strip_chars()
    return pl.when(stripped.str.len_bytes() > 0).then(stripped)


def _strip_if_needed(text: pl.Expr) -> pl.Expr:
    """Strip surrounding whitespace, skipping the work for columns that have none.

    The check looks at the first and last character of each value for a space
    or a tab (the common cases, and cheap to test); when any value has one, every
    value of the column is stripped of all surrounding whitespace. polars
    evaluates the scalar condition first, so a clean column costs two cheap passes.
    """
    return pl.when(_space_edged(text)).then(text.str.strip_chars()).otherwise(text)


def _space_edged(text: pl.Expr) -> pl.Expr:
    """Whether some value of the column starts or ends with a space (then all are stripped)."""
    edges = pl.lit(False)
    for ch in (" ",):
        edges = edges | text.str.starts_with(ch) | text.str.ends_with(ch)
    return edges.any()


def column_evidence(
    frame: pl.DataFrame, column: str, target: ColumnType, formats: tuple[str, ...] = ()
) -> tuple[bool, bool, bool]:
    """The whole-column facts ``coerce`` reads a text column by, in one piece of it.

    Returns whether some value has a space at either end (then every value
    is stripped of surrounding whitespace), whether some date reads only
    day-first and whether some only month-first (which decide how ambiguous
    ``NN/NN/YYYY`` dates read). A caller that coerces one column in pieces
    (the Spark engine, batch by batch) combines the facts of every piece with
    ``or`` and makes each piece show the combined facts.

    Examples:
        >>> column_evidence(pl.DataFrame({"d": ["31/12/1990", "03/04/1990"]}), "d", "date")
        (False, True, False)
    """
    observed = frame.schema[column]
    if observed not in (pl.String, pl.Categorical, pl.Enum):
        return False, False, False
    text = pl.col(column).cast(pl.String)
    st = Stages()
    coerce(st, 0, column, observed, target, formats)
    flags = [f"{column}:only_dmy", f"{column}:only_mdy"]
    dated = all(st.has(f) for f in flags)
    facts = st.apply(frame.lazy()).select(
        _space_edged(text).alias("spaced"),
        *(pl.col(st.name(f)).first().fill_null(False).alias(f) for f in (flags if dated else [])),
    )
    row = facts.collect().row(0)
    return bool(row[0]), bool(dated and row[1]), bool(dated and row[2])


def _blank_to_null_if_any(text: pl.Expr) -> pl.Expr:
    """Turn empty text into null; a column without empty text is passed through uncopied."""
    empty = text.str.len_bytes() == 0
    return pl.when(empty.any()).then(pl.when(~empty).then(text)).otherwise(text)


def coerce(
    st: Stages,
    level: int,
    column: str,
    observed: pl.DataType,
    target: ColumnType,
    formats: tuple[str, ...] = (),
) -> Coerced:
    """Coerce column ``column`` of type ``observed`` to the contract type ``target``.

    Intermediate columns go into ``st`` from ``level`` on.

    Examples:
        >>> st = Stages()
        >>> c = coerce(st, 0, "dob", pl.String(), "date")
        >>> lf = st.apply(pl.LazyFrame({"dob": ["1990-01-02", "02/13/1990", "31/02/1990"]}))
        >>> lf.select(c.value, c.failure).collect().rows()[2]
        (None, "dob: cannot parse '31/02/1990' as a date")

    """
    raw = pl.col(column)
    tag = column
    if observed == pl.Null:
        return Coerced(raw.cast(POLARS_TYPES[target]), None, None, level)
    if observed in (pl.String, pl.Categorical, pl.Enum):
        text_expr = raw.cast(pl.String) if observed != pl.String else raw
        # Strip once (a staged column), then blank to null: two cheap steps, not one costly one.
        stripped = st.put(level, f"{tag}:stripped", _strip_if_needed(text_expr))
        text = st.put(level + 1, f"{tag}:text", _blank_to_null_if_any(stripped))
        if target == "string":
            return Coerced(text, None, None, level + 2)
        value, ambiguous, level = _parse_text(st, level + 2, tag, text, target, formats)
        failed = text.is_not_null() & value.is_null()
        message = pl.format(f"{column}: cannot parse '{{}}' as {_WHAT[target]}", show(text))
        if ambiguous is not None:
            note = (
                pl.when(ambiguous)
                .then(pl.lit(" (day/month order is ambiguous)"))
                .otherwise(pl.lit(""))
            )
            message = message + note
        return Coerced(value, failed, message, level)
    value_expr, can_fail = _cast_typed(raw, observed, target)
    if not can_fail:
        return Coerced(value_expr, None, None, level)
    value = st.put(level, f"{tag}:value", value_expr)
    if contract_type(observed) is None:  # nested or binary: no text form to show
        message = pl.lit(f"{column}: cannot convert a {observed} value to {_WHAT[target]}")
    else:
        template = f"{column}: cannot convert {observed} value '{{}}' to {_WHAT[target]}"
        message = pl.format(template, show(raw))
    return Coerced(value, raw.is_not_null() & value.is_null(), message, level + 1)


def _cast_typed(raw: pl.Expr, observed: pl.DataType, target: ColumnType) -> tuple[pl.Expr, bool]:
    """Coerce a typed (non-text) column; returns the value and whether it can fail."""
    kind = contract_type(observed)
    if kind is None:
        return pl.lit(None, dtype=POLARS_TYPES[target]), True
    if target == "string":
        return blank_to_null(raw.cast(pl.String)), False
    if target == "int":
        if kind == "int":
            return (
                (raw, False) if observed == pl.Int64 else (raw.cast(pl.Int64, strict=False), True)
            )
        if kind == "float":
            f = raw.cast(pl.Float64)
            whole = f.is_finite() & (f == f.round()) & (f.abs() < 2.0**63)
            return pl.when(whole).then(f.cast(pl.Int64, strict=False)), True
        return pl.lit(None, dtype=pl.Int64), True
    if target == "float":
        if kind in ("int", "float"):
            f = raw if observed == pl.Float64 else raw.cast(pl.Float64, strict=False)
            return pl.when(f.is_finite()).then(f), True
        return pl.lit(None, dtype=pl.Float64), True
    if target == "bool":
        if kind == "bool":
            return raw, False
        if kind == "int":
            return pl.when(raw == 1).then(pl.lit(True)).when(raw == 0).then(pl.lit(False)), True
        return pl.lit(None, dtype=pl.Boolean), True
    if target == "date":
        if kind == "date":
            return raw, False
        if kind == "datetime":
            return raw.dt.date(), False
        if kind == "int":
            return raw.cast(pl.String).str.strptime(pl.Date, "%Y%m%d", strict=False), True
        return pl.lit(None, dtype=pl.Date), True
    # datetime
    if kind == "datetime":
        assert isinstance(observed, pl.Datetime)
        value = raw
        if observed.time_zone is not None:
            value = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        if observed.time_unit != "us":
            value = value.dt.cast_time_unit("us")
        return value, False
    if kind == "date":
        return raw.cast(pl.Datetime("us")), False
    return pl.lit(None, dtype=pl.Datetime("us")), True


def _parse_text(
    st: Stages, level: int, tag: str, text: pl.Expr, target: ColumnType, formats: tuple[str, ...]
) -> tuple[pl.Expr, pl.Expr | None, int]:
    """Parse stripped, non-blank text.

    Returns the value, an 'ambiguous' flag (or None) and the next free level.
    """
    if target == "int":
        as_float = st.put(level, f"{tag}:float", text.cast(pl.Float64, strict=False))
        whole = as_float.is_finite() & (as_float == as_float.round()) & (as_float.abs() < 2.0**53)
        value = pl.coalesce(
            text.cast(pl.Int64, strict=False), pl.when(whole).then(as_float.cast(pl.Int64))
        )
        return st.put(level + 1, f"{tag}:value", value), None, level + 2
    if target == "float":
        as_float = text.cast(pl.Float64, strict=False)
        return (
            st.put(level, f"{tag}:value", pl.when(as_float.is_finite()).then(as_float)),
            None,
            level + 1,
        )
    if target == "bool":
        lowered = text.str.to_lowercase()
        value = (
            pl.when(lowered.is_in(_TRUE))
            .then(pl.lit(True))
            .when(lowered.is_in(_FALSE))
            .then(pl.lit(False))
        )
        return st.put(level, f"{tag}:value", value), None, level + 1
    dtype: pl.Date | pl.Datetime = pl.Date() if target == "date" else pl.Datetime("us")
    if formats:
        value = pl.coalesce([text.str.strptime(dtype, f, strict=False) for f in formats])
        return st.put(level, f"{tag}:value", value), None, level + 1
    # Fast path for ISO text, the common case; only the other rows take the general path.
    if target == "date":
        fast_expr = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    else:
        fast_expr = pl.coalesce(
            text.str.strptime(dtype, "%Y-%m-%dT%H:%M:%S%.f", strict=False),
            text.str.strptime(dtype, "%Y-%m-%d %H:%M:%S%.f", strict=False),
        )
    fast = st.put(level, f"{tag}:fast", fast_expr)
    text = st.put(level + 1, f"{tag}:rest", pl.when(fast.is_null()).then(text))
    level += 2
    # Only text longer than a date can carry a time: the regex runs on those rows only.
    long_text = st.put(level, f"{tag}:long", pl.when(text.str.len_bytes() > 10).then(text))
    parts = st.put(level + 1, f"{tag}:parts", long_text.str.extract_groups(_DATE_TIME_SPLIT))
    level += 1
    date_text = st.put(level + 1, f"{tag}:d", pl.coalesce(parts.struct.field("d"), text))
    time_text = st.put(
        level + 1, f"{tag}:t", parts.struct.field("t").str.replace(",", ".", literal=True)
    )
    offset = st.put(level + 1, f"{tag}:z", parts.struct.field("z"))
    date, ambiguous, level = parse_date_stages(st, level + 2, tag, date_text)
    time = st.put(
        level,
        f"{tag}:time",
        pl.coalesce(
            time_text.str.strptime(pl.Time, "%H:%M:%S%.f", strict=False),
            time_text.str.strptime(pl.Time, "%H:%M", strict=False),
        ),
    )
    minutes = st.put(level, f"{tag}:offset", _offset_minutes(offset))
    time_ok = time_text.is_null() | time.is_not_null()
    if target == "date":
        value = pl.coalesce(fast, pl.when(time_ok).then(date))
        return st.put(level + 1, f"{tag}:value", value), ambiguous, level + 2
    naive = date.dt.combine(time.fill_null(dt.time()), time_unit="us")
    general = pl.when(time_ok & (offset.is_null() | minutes.is_not_null())).then(
        naive - pl.duration(minutes=minutes.fill_null(0))
    )
    return st.put(level + 1, f"{tag}:value", pl.coalesce(fast, general)), ambiguous, level + 2


def _offset_minutes(offset: pl.Expr) -> pl.Expr:
    """Minutes east of UTC for ``Z``, ``+HH``, ``+HHMM`` or ``+HH:MM``; null when absent."""
    digits = offset.str.replace_all(":", "", literal=True)
    sign = pl.when(digits.str.starts_with("-")).then(pl.lit(-1)).otherwise(pl.lit(1))
    hours = digits.str.slice(1, 2).cast(pl.Int64, strict=False)
    minutes = digits.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    parsed = sign * (hours * 60 + minutes)
    return pl.when(offset == "Z").then(pl.lit(0, dtype=pl.Int64)).otherwise(parsed)


def parse_date_stages(
    st: Stages, level: int, tag: str, text: pl.Expr
) -> tuple[pl.Expr, pl.Expr, int]:
    """Parse text dates in the accepted formats, in ``st`` from ``level`` on.

    Returns the date, an 'ambiguous' flag, and the next free level. The
    day/month order of ``NN/NN/YYYY`` values is decided for the whole column
    (see [`c360._contracts._parse`][c360._contracts._parse]).
    """
    iso = st.put(level, f"{tag}:iso", text.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    # Rarer formats are tried only on the rows whose shape fits them (strptime on null is free).
    compact = st.put(
        level,
        f"{tag}:compact",
        pl.when(text.str.len_bytes() == 8).then(text).str.strptime(pl.Date, "%Y%m%d", strict=False),
    )
    ymd = st.put(level, f"{tag}:ymd", text.str.strptime(pl.Date, "%Y/%m/%d", strict=False))
    day_month = st.put(
        level,
        f"{tag}:dm",
        pl.when(text.str.contains(_DAY_MONTH)).then(text.str.replace_all(r"[.\-]", "/")),
    )
    titled = st.put(
        level,
        f"{tag}:titled",
        pl.when(text.str.contains("[A-Za-z]{3}")).then(text.str.to_titlecase()),
    )
    dmy = st.put(level + 1, f"{tag}:dmy", day_month.str.strptime(pl.Date, "%d/%m/%Y", strict=False))
    mdy = st.put(level + 1, f"{tag}:mdy", day_month.str.strptime(pl.Date, "%m/%d/%Y", strict=False))
    named = st.put(
        level + 1,
        f"{tag}:named",
        pl.coalesce([titled.str.strptime(pl.Date, f, strict=False) for f in _NAMED_FORMATS]),
    )
    only_dmy = st.put(level + 2, f"{tag}:only_dmy", (dmy.is_not_null() & mdy.is_null()).any())
    only_mdy = st.put(level + 2, f"{tag}:only_mdy", (mdy.is_not_null() & dmy.is_null()).any())
    differ = st.put(
        level + 2, f"{tag}:differ", dmy.is_not_null() & mdy.is_not_null() & (dmy != mdy)
    )
    prefer_dmy = only_dmy & ~only_mdy
    prefer_mdy = only_mdy & ~only_dmy
    slashed = (
        pl.when(~differ)
        .then(pl.coalesce(dmy, mdy))
        .when(prefer_dmy)
        .then(dmy)
        .when(prefer_mdy)
        .then(mdy)
    )
    date = st.put(level + 3, f"{tag}:date", pl.coalesce(iso, compact, ymd, slashed, named))
    ambiguous = st.put(level + 3, f"{tag}:ambiguous", differ & ~prefer_dmy & ~prefer_mdy)
    return date, ambiguous, level + 4


def parse_dates(text: pl.Series) -> pl.Series:
    """Parse a text column into dates with the built-in formats (a convenience over ``coerce``).

    Examples:
        >>> s = pl.Series(["25/12/1990", "03/04/1990", "1990-01-02", "19900102", "2 Jan 1990"])
        >>> [str(d) for d in parse_dates(s)]
        ['1990-12-25', '1990-04-03', '1990-01-02', '1990-01-02', '1990-01-02']

    """
    st = Stages()
    c = coerce(st, 0, "d", pl.String(), "date")
    return (
        st.apply(pl.LazyFrame({"d": text})).select(c.value.alias(text.name)).collect().to_series()
    )
