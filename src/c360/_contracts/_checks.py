"""Value checks a contract column can carry, compiled to polars expressions.

Each check knows four things: its file key (how it is written in a contract
file), how to compile itself to a polars expression that yields a failure
message per row (null when the value passes), how to express itself as a
pandera check (the reference used in tests and by [`Contract.to_pandera`][Contract.to_pandera]),
and how it compares with an older version of itself for [`diff`][diff].
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

import polars as pl

from c360.exceptions import ConfigError

ColumnType: TypeAlias = Literal["string", "int", "float", "bool", "date", "datetime"]
"""The types a contract column can declare."""

Comparison: TypeAlias = Literal["same", "tightened", "loosened", "changed"]
"""How a new version of a check relates to the old one."""

Bound: TypeAlias = "int | float | dt.date | dt.datetime | str"
"""A range bound: a number, a date, a datetime, or ``"today"``."""

TODAY: Literal["today"] = "today"

#: The shape of an email address: something, one ``@``, a dotted domain, no spaces.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
# For Python, without the anchors (used with fullmatch). Over ASCII, Python's \s
# takes a few more characters than Rust's, so a value it accepts Rust accepts.
_EMAIL = re.compile(EMAIL_PATTERN[1:-1])

_MAX_SHOWN = 80


def show(value: pl.Expr) -> pl.Expr:
    """Show a value as text for a message, cut to 80 characters.

    Examples:
        >>> pl.select(show(pl.lit("x" * 100))).item()[-5:]
        'xx...'

    """
    text = value.cast(pl.String)
    return (
        pl.when(text.str.len_chars() > _MAX_SHOWN)
        .then(text.str.slice(0, _MAX_SHOWN - 3) + pl.lit("..."))
        .otherwise(text)
    )


def _message(column: str, template: str, value: pl.Expr) -> pl.Expr:
    """``"<column>: " + template`` with ``{}`` replaced by the shown value."""
    return pl.format(f"{column}: {template}", show(value))


def bound_value(bound: Bound) -> int | float | dt.date | dt.datetime:
    """Resolve ``"today"`` to today's date; other bounds are returned unchanged."""
    if isinstance(bound, str):
        return dt.date.today()
    return bound


def format_bound(bound: Bound) -> str:
    """Write a bound as in a contract file and in messages."""
    if isinstance(bound, dt.datetime):
        return bound.isoformat(sep=" ")
    if isinstance(bound, dt.date):
        return bound.isoformat()
    return str(bound)


class Check:
    """Base of the checks a ``ColumnContract`` can carry."""

    key: ClassVar[str]
    applies_to: ClassVar[frozenset[str]]

    def violated(self, value: pl.Expr, dtype: ColumnType) -> pl.Expr:  # pragma: no cover
        """Return a boolean expression: true where the (non-null) value fails the check."""
        raise NotImplementedError

    def message(
        self, column: str, value: pl.Expr, dtype: ColumnType
    ) -> pl.Expr:  # pragma: no cover
        """Return the message for a failing value (evaluated on failing rows only)."""
        raise NotImplementedError

    def accepts(self, value: Any, dtype: ColumnType) -> bool:
        """Whether a non-null Python value certainly passes (validation of a few rows).

        ``False`` when the value fails *or* when this cannot tell for sure: the
        caller then takes the polars path, which decides and words the message.
        """
        return False

    def failure(self, column: str, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        """Return the failure message for each row, null when the value passes."""
        return pl.when(self.violated(value, dtype)).then(self.message(column, value, dtype))

    def to_pandera(self, dtype: ColumnType) -> Any:  # pragma: no cover - abstract
        """Return the equivalent pandera check."""
        raise NotImplementedError

    def params(self) -> Any:  # pragma: no cover - abstract
        """Return the check's parameters as written in a contract file."""
        raise NotImplementedError

    def compare(self, old: Check) -> Comparison:
        """How this check relates to ``old`` (a check of the same kind)."""
        return "same" if self == old else "changed"

    def describe(self) -> str:
        """Short text used in diffs, e.g. ``max_length(254)``."""
        return f"{self.key}({self.params()!r})"

    def check_dtype(self, column: str, dtype: ColumnType) -> None:
        """Raise [`ConfigError`][ConfigError] when the check cannot apply to ``dtype``."""
        if dtype not in self.applies_to:
            raise ConfigError(
                f"check {self.key!r} cannot apply to a {dtype} column; "
                f"it applies to {', '.join(sorted(self.applies_to))} columns",
                column=column,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class IsEmail(Check):
    """The value has the shape of an email address (``local@domain.tld``, no spaces).

    Only the shape is checked; standardization lower-cases and cleans it later.

    Examples:
        >>> pl.select(IsEmail().failure("email", pl.lit("no-at-sign"), "string")).item()
        "email: 'no-at-sign' is not an email address"

    """

    key: ClassVar[str] = "email"
    applies_to: ClassVar[frozenset[str]] = frozenset({"string"})

    def violated(self, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        return ~value.str.contains(EMAIL_PATTERN)

    def accepts(self, value: Any, dtype: ColumnType) -> bool:
        return isinstance(value, str) and value.isascii() and _EMAIL.fullmatch(value) is not None

    def message(self, column: str, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        return _message(column, "'{}' is not an email address", value)

    def to_pandera(self, dtype: ColumnType) -> Any:
        import pandera.polars as pa_pl

        return pa_pl.Check.str_matches(EMAIL_PATTERN)

    def params(self) -> Any:
        return True

    def describe(self) -> str:
        return "email"


@dataclass(frozen=True, slots=True)
class MatchesRegex(Check):
    """The whole value matches a regular expression (Rust ``regex`` syntax, as polars).

    Examples:
        >>> pl.select(MatchesRegex(r"[A-Z]{2}").failure("country", pl.lit("GBR"), "string")).item()
        "country: 'GBR' does not match the pattern '[A-Z]{2}'"

    """

    pattern: str
    key: ClassVar[str] = "regex"
    applies_to: ClassVar[frozenset[str]] = frozenset({"string"})

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str) or not self.pattern:
            raise ConfigError(f"regex pattern must be a non-empty string; got {self.pattern!r}")
        try:
            pl.select(pl.lit("").str.contains(self._anchored()))
        except pl.exceptions.PolarsError as exc:
            raise ConfigError(f"invalid regex {self.pattern!r}: {exc}") from exc

    def _anchored(self) -> str:
        return f"^(?:{self.pattern})$"

    def violated(self, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        return ~value.str.contains(self._anchored())

    def accepts(self, value: Any, dtype: ColumnType) -> bool:
        # Rust's regex syntax and meaning differ from Python's: ask polars (~50 µs).
        return (
            isinstance(value, str)
            and pl.select(pl.lit(value).str.contains(self._anchored())).item() is True
        )

    def message(self, column: str, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        template = "'{}' does not match the pattern " + _escape_braces(repr(self.pattern))
        return _message(column, template, value)

    def to_pandera(self, dtype: ColumnType) -> Any:
        import pandera.polars as pa_pl

        return pa_pl.Check.str_matches(self._anchored())

    def params(self) -> Any:
        return self.pattern


@dataclass(frozen=True, slots=True, kw_only=True)
class InRange(Check):
    """The value lies between ``min`` and ``max`` (both inclusive, either may be left out).

    Bounds are numbers for ``int``/``float`` columns and dates or datetimes for
    ``date``/``datetime`` columns; ``"today"`` is resolved when the data is
    validated. ISO text (``"1900-01-01"``) is accepted for date bounds.

    Examples:
        >>> import datetime as dt
        >>> chk = InRange(min="1900-01-01", max="today")
        >>> chk.min
        datetime.date(1900, 1, 1)
        >>> pl.select(chk.failure("dob", pl.lit(dt.date(1850, 5, 1)), "date")).item()
        "dob: '1850-05-01' is before the minimum 1900-01-01"

    """

    min: Bound | None = None
    max: Bound | None = None
    key: ClassVar[str] = "range"
    applies_to: ClassVar[frozenset[str]] = frozenset({"int", "float", "date", "datetime"})

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ConfigError("range needs a min, a max or both")
        object.__setattr__(self, "min", _normalise_bound(self.min, "min"))
        object.__setattr__(self, "max", _normalise_bound(self.max, "max"))
        lo, hi = self.min, self.max
        if lo is not None and hi is not None and TODAY not in (lo, hi):
            try:
                inverted = _as_comparable(lo) > _as_comparable(hi)
            except TypeError as exc:
                raise ConfigError(f"range bounds {lo!r} and {hi!r} are not comparable") from exc
            if inverted:
                raise ConfigError(
                    f"range min {format_bound(lo)} is greater than max {format_bound(hi)}"
                )

    def check_dtype(self, column: str, dtype: ColumnType) -> None:
        Check.check_dtype(self, column, dtype)
        for bound in (self.min, self.max):
            if bound is None:
                continue
            numeric = isinstance(bound, int | float) and not isinstance(bound, bool)
            ok = numeric if dtype in ("int", "float") else not numeric
            if not ok:
                raise ConfigError(
                    f"range bound {format_bound(bound)!r} does not fit a {dtype} column",
                    column=column,
                )

    def _bounds(self, dtype: ColumnType) -> tuple[Any, Any]:
        lo = None if self.min is None else _pandera_bound(bound_value(self.min), dtype)
        hi = None if self.max is None else _pandera_bound(bound_value(self.max), dtype)
        return lo, hi

    def violated(self, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        lo, hi = self._bounds(dtype)
        if lo is not None and hi is not None:
            return (value < pl.lit(lo)) | (value > pl.lit(hi))
        return value < pl.lit(lo) if lo is not None else value > pl.lit(hi)

    def accepts(self, value: Any, dtype: ColumnType) -> bool:
        lo, hi = self._bounds(dtype)
        if isinstance(value, bool) or not isinstance(value, int | float | dt.date):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if isinstance(value, int) and abs(value) >= 2**53:  # polars may compare as float
            return False
        try:
            return (lo is None or value >= lo) and (hi is None or value <= hi)
        except TypeError:  # e.g. a date against a datetime bound
            return False

    def message(self, column: str, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        temporal = dtype in ("date", "datetime")
        below, above = ("before", "after") if temporal else ("below", "above")
        lo, hi = self._bounds(dtype)
        too_low = too_high = None
        if lo is not None:
            too_low = _message(column, f"'{{}}' is {below} the minimum {format_bound(lo)}", value)
        if hi is not None:
            too_high = _message(column, f"'{{}}' is {above} the maximum {format_bound(hi)}", value)
        if too_low is not None and too_high is not None:
            return pl.when(value < pl.lit(lo)).then(too_low).otherwise(too_high)
        assert too_low is not None or too_high is not None
        return too_low if too_low is not None else too_high  # type: ignore[return-value]

    def to_pandera(self, dtype: ColumnType) -> Any:
        import pandera.polars as pa_pl

        lo = None if self.min is None else _pandera_bound(bound_value(self.min), dtype)
        hi = None if self.max is None else _pandera_bound(bound_value(self.max), dtype)
        if lo is not None and hi is not None:
            return pa_pl.Check.in_range(lo, hi)
        if lo is not None:
            return pa_pl.Check.ge(lo)
        return pa_pl.Check.le(hi)

    def params(self) -> Any:
        out: dict[str, Any] = {}
        if self.min is not None:
            out["min"] = self.min if isinstance(self.min, int | float) else format_bound(self.min)
        if self.max is not None:
            out["max"] = self.max if isinstance(self.max, int | float) else format_bound(self.max)
        return out

    def describe(self) -> str:
        lo = "" if self.min is None else format_bound(self.min)
        hi = "" if self.max is None else format_bound(self.max)
        return f"range[{lo}, {hi}]"

    def compare(self, old: Check) -> Comparison:
        if not isinstance(old, InRange) or self == old:
            return "same" if self == old else "changed"
        moves = {
            _compare_bound(old.min, self.min, lower=True),
            _compare_bound(old.max, self.max, lower=False),
        }
        moves.discard("same")
        if not moves:
            return "same"
        if len(moves) == 1:
            return moves.pop()
        return "changed"


@dataclass(frozen=True, slots=True)
class AllowedValues(Check):
    """The value is one of a fixed set (compared exactly, case-sensitive).

    Examples:
        >>> chk = AllowedValues(("GB", "FR"))
        >>> pl.select(chk.failure("country", pl.lit("XX"), "string")).item()
        "country: 'XX' is not an allowed value (allowed: 'FR', 'GB')"

    """

    values: tuple[str | int | float | bool, ...]
    key: ClassVar[str] = "allowed_values"
    applies_to: ClassVar[frozenset[str]] = frozenset({"string", "int", "float", "bool"})

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, str) or not isinstance(values, Sequence | set | frozenset):
            raise ConfigError(f"allowed_values must be a list of values; got {values!r}")
        if not values:
            raise ConfigError("allowed_values must list at least one value")
        for v in values:
            if not isinstance(v, str | int | float | bool):
                raise ConfigError(f"allowed value {v!r} is not a string, number or bool")
        object.__setattr__(
            self, "values", tuple(sorted(set(values), key=lambda v: (str(type(v)), v)))
        )

    def check_dtype(self, column: str, dtype: ColumnType) -> None:
        Check.check_dtype(self, column, dtype)
        wanted: dict[str, type | tuple[type, ...]] = {
            "string": str,
            "int": int,
            "float": (int, float),
            "bool": bool,
        }
        want = wanted[dtype]
        for v in self.values:
            if not isinstance(v, want) or (dtype in ("int", "float") and isinstance(v, bool)):
                raise ConfigError(
                    f"allowed value {v!r} does not fit a {dtype} column", column=column
                )

    def violated(self, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        return ~value.is_in(pl.Series(list(self.values)).implode())

    def accepts(self, value: Any, dtype: ColumnType) -> bool:
        # Text and integers only: Python's 1 == 1.0 == True is not polars' is_in.
        if dtype == "string":
            return isinstance(value, str) and value in self.values
        if dtype == "int":
            return type(value) is int and any(type(v) is int and v == value for v in self.values)
        return False

    def message(self, column: str, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        shown = ", ".join(repr(v) for v in self.values[:5]) + (
            ", ..." if len(self.values) > 5 else ""
        )
        template = "'{}' is not an allowed value (allowed: " + _escape_braces(shown) + ")"
        return _message(column, template, value)

    def to_pandera(self, dtype: ColumnType) -> Any:
        import pandera.polars as pa_pl

        return pa_pl.Check.isin(list(self.values))

    def params(self) -> Any:
        return list(self.values)

    def describe(self) -> str:
        return f"allowed_values({len(self.values)} values)"

    def compare(self, old: Check) -> Comparison:
        if not isinstance(old, AllowedValues):
            return "changed"
        new_set, old_set = set(self.values), set(old.values)
        if new_set == old_set:
            return "same"
        if new_set < old_set:
            return "tightened"
        if new_set > old_set:
            return "loosened"
        return "changed"


@dataclass(frozen=True, slots=True)
class MaxLength(Check):
    """The text is at most ``n`` characters long.

    Examples:
        >>> pl.select(MaxLength(3).failure("state", pl.lit("ABCD"), "string")).item()
        "state: 'ABCD' is longer than 3 characters"

    """

    n: int
    key: ClassVar[str] = "max_length"
    applies_to: ClassVar[frozenset[str]] = frozenset({"string"})

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ConfigError(f"max_length must be a positive integer; got {self.n!r}")

    def violated(self, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        return value.str.len_chars() > self.n

    def accepts(self, value: Any, dtype: ColumnType) -> bool:
        return isinstance(value, str) and len(value) <= self.n

    def message(self, column: str, value: pl.Expr, dtype: ColumnType) -> pl.Expr:
        return _message(column, f"'{{}}' is longer than {self.n} characters", value)

    def to_pandera(self, dtype: ColumnType) -> Any:
        import pandera.polars as pa_pl

        return pa_pl.Check.str_length(max_value=self.n)

    def params(self) -> Any:
        return self.n

    def compare(self, old: Check) -> Comparison:
        if not isinstance(old, MaxLength):
            return "changed"
        if self.n == old.n:
            return "same"
        return "tightened" if self.n < old.n else "loosened"


CHECK_TYPES: dict[str, type[Check]] = {
    c.key: c for c in (AllowedValues, IsEmail, InRange, MatchesRegex, MaxLength)
}


def check_from_params(key: str, params: Any) -> Check:
    """Build a check from its file form (``key: params``); raises ``ConfigError``."""
    if key == "email":
        if params not in (None, True, {}):
            raise ConfigError(f"email takes no parameters; got {params!r}")
        return IsEmail()
    if key == "regex":
        if isinstance(params, dict):
            _only_keys(params, {"pattern"}, key)
            params = params.get("pattern")
        return MatchesRegex(params)
    if key == "range":
        if not isinstance(params, dict):
            raise ConfigError(f"range takes a mapping with min and/or max; got {params!r}")
        _only_keys(params, {"min", "max"}, key)
        return InRange(min=params.get("min"), max=params.get("max"))
    if key == "allowed_values":
        if isinstance(params, dict):
            _only_keys(params, {"values"}, key)
            params = params.get("values")
        if not isinstance(params, list | tuple):
            raise ConfigError(f"allowed_values takes a list; got {params!r}")
        return AllowedValues(tuple(params))
    if key == "max_length":
        if isinstance(params, dict):
            _only_keys(params, {"n"}, key)
            params = params.get("n")
        return MaxLength(params)
    raise ConfigError(f"unknown check {key!r}; expected one of: {', '.join(sorted(CHECK_TYPES))}")


def _only_keys(params: dict[str, Any], allowed: set[str], key: str) -> None:
    extra = set(params) - allowed
    if extra:
        raise ConfigError(
            f"{key} has unknown parameter(s) {', '.join(map(repr, sorted(extra)))}; "
            f"expected {', '.join(sorted(allowed))}"
        )


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _normalise_bound(bound: Any, which: str) -> Bound | None:
    if bound is None or isinstance(bound, dt.date):  # datetime is a date subclass
        return bound  # type: ignore[no-any-return]
    if isinstance(bound, bool):
        raise ConfigError(f"range {which} must be a number, a date or 'today'; got {bound!r}")
    if isinstance(bound, int | float):
        if isinstance(bound, float) and not math.isfinite(bound):
            raise ConfigError(f"range {which} must be finite; got {bound!r}")
        return bound
    if isinstance(bound, str):
        text = bound.strip()
        if text.lower() == TODAY:
            return TODAY
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError as exc:
                raise ConfigError(f"range {which} {bound!r} is not a valid date") from exc
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed
    raise ConfigError(
        f"range {which} must be a number, an ISO date or datetime, or 'today'; got {bound!r}"
    )


def _as_comparable(bound: Bound) -> Any:
    """Dates and datetimes compared on one axis (a date is its midnight)."""
    if isinstance(bound, dt.datetime):
        return bound
    if isinstance(bound, dt.date):
        return dt.datetime.combine(bound, dt.time())
    return bound


def _pandera_bound(bound: int | float | dt.date | dt.datetime, dtype: ColumnType) -> Any:
    if dtype == "datetime" and not isinstance(bound, dt.datetime) and isinstance(bound, dt.date):
        return dt.datetime.combine(bound, dt.time())
    if dtype == "date" and isinstance(bound, dt.datetime):
        return bound.date()
    return bound


def _compare_bound(old: Bound | None, new: Bound | None, *, lower: bool) -> Comparison:
    if old == new:
        return "same"
    if new is None:
        return "loosened"
    if old is None:
        return "tightened"
    if TODAY in (old, new):
        return "changed"
    try:
        raised = _as_comparable(new) > _as_comparable(old)
    except TypeError:
        return "changed"
    if lower:
        return "tightened" if raised else "loosened"
    return "loosened" if raised else "tightened"
