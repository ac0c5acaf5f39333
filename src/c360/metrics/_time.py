"""Periods: grains, week start, time zone, and the generated time spine."""

from __future__ import annotations

import datetime as dt

import polars as pl

from c360.metrics._spec import WEEKDAYS, Duration

__all__ = ["Spine", "coarser_or_equal", "every", "local_time", "truncate"]

_EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
_ORDER = {"day": 0, "week": 1, "month": 2, "quarter": 3, "year": 4}


def every(grain: str) -> str:
    """The polars interval of one ``grain`` period: ``month`` -> ``1mo``."""
    return _EVERY[grain]


def truncate(expr: pl.Expr, grain: str, week_start: str = "monday") -> pl.Expr:
    """The start of the ``grain`` period holding each (naive, local) timestamp.

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"t": [dt.datetime(2024, 5, 15, 13)]})  # a Wednesday
        >>> df.select(
        ...     mon=truncate(pl.col("t"), "week"),
        ...     sun=truncate(pl.col("t"), "week", "sunday"),
        ...     q=truncate(pl.col("t"), "quarter"),
        ... ).cast(pl.Date).row(0)
        (datetime.date(2024, 5, 13), datetime.date(2024, 5, 12), datetime.date(2024, 4, 1))
    """
    if grain == "week":
        shift = WEEKDAYS.index(week_start)
        if shift:
            return expr.dt.offset_by(f"-{shift}d").dt.truncate("1w").dt.offset_by(f"{shift}d")
    return expr.dt.truncate(_EVERY[grain])


def coarser_or_equal(a: str, b: str) -> bool:
    """Whether grain ``a`` is at least as long as grain ``b``."""
    return _ORDER[a] >= _ORDER[b]


def local_time(expr: pl.Expr, dtype: pl.DataType, zone: str) -> pl.Expr | None:
    """``expr`` as a naive timestamp in ``zone``; None when the type is not a time.

    Dates become midnight; zoned timestamps are converted to ``zone``; naive
    ones are taken to be in ``zone`` already; text is parsed (what does not
    parse becomes null and is counted, never silently used).
    """
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us"))
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            expr = expr.dt.convert_time_zone(zone).dt.replace_time_zone(None)
        return expr.dt.cast_time_unit("us")
    if dtype == pl.String:
        return None  # the caller parses and then converts
    return None


class Spine:
    """The periods of a request: ``n`` periods between ``n + 1`` boundaries.

    Period ``k`` is ``[bounds[k], bounds[k + 1])``; rows find theirs by a
    binary search of the boundaries, so any grain, week start and range work
    the same way. ``first`` is the index of the first period the caller asked
    for (earlier periods exist only to serve offsets).
    """

    def __init__(
        self,
        grain: str,
        start: dt.datetime,
        end: dt.datetime,
        week_start: str,
        back: list[Duration] | None = None,
    ) -> None:
        self.grain = grain
        self.week_start = week_start
        first = self._trunc(start)
        last = self._trunc(end)
        ext = first
        for d in back or []:
            shifted = pl.Series([first]).dt.offset_by(f"-{d.offset(grain)}")[0]
            ext = min(ext, self._trunc(shifted))
        bounds = pl.datetime_range(ext, last, _EVERY[grain], eager=True, time_unit="us").to_list()
        nxt = pl.Series([last]).dt.offset_by(_EVERY[grain])[0]
        self.bounds: list[dt.datetime] = [*bounds, nxt]
        self.n = len(self.bounds) - 1
        self.first = self.bounds.index(first)
        self.series = pl.Series("bounds", self.bounds, dtype=pl.Datetime("us"))

    def _trunc(self, t: dt.datetime) -> dt.datetime:
        value = pl.select(truncate(pl.lit(t, dtype=pl.Datetime("us")), self.grain, self.week_start))
        out = value.item()
        assert isinstance(out, dt.datetime)
        return out

    def period(self, expr: pl.Expr) -> pl.Expr:
        """The index of the period holding each timestamp, by arithmetic (Int64).

        Periods before the first have negative indexes, periods after the last
        indexes ``>= n``: callers clip. Days and weeks count fixed lengths
        from the first boundary; months, quarters and years count calendar
        months, so no timestamp is searched for.
        """
        b0 = self.bounds[0]
        if self.grain in ("day", "week"):
            step = 86_400_000_000 * (7 if self.grain == "week" else 1)
            origin = int(pl.Series([b0], dtype=pl.Datetime("us")).cast(pl.Int64)[0])
            return (expr.dt.cast_time_unit("us").cast(pl.Int64) - origin) // step
        months = (expr.dt.year().cast(pl.Int64) - b0.year) * 12 + (
            expr.dt.month().cast(pl.Int64) - b0.month
        )
        return months // {"month": 1, "quarter": 3, "year": 12}[self.grain]

    def index(self, expr: pl.Expr, side: str = "right") -> pl.Expr:
        """The boundary position of each timestamp, as a sorted search would give it.

        ``side="right"``: the first boundary after ``t`` (so ``- 1`` is the
        period holding ``t``); ``side="left"``: the first at or after it.
        Unclipped: callers clip to ``0..n``.
        """
        if side == "left":
            expr = expr - pl.duration(microseconds=1)
        return self.period(expr) + 1

    def frame(self) -> pl.LazyFrame:
        """``_k`` (period index) and ``period_start`` (a date) for every period."""
        return pl.LazyFrame(
            {
                "_k": pl.Series(range(self.n), dtype=pl.Int64),
                "period_start": self.series[: self.n].dt.date(),
            }
        )

    def shift(self, offset: Duration) -> dict[int, int]:
        """Period index -> the index ``offset`` later, for offsets that land on boundaries.

        Raises:
            ValueError: the offset does not move period starts onto period starts.
        """
        starts = self.series[: self.n]
        moved = starts.dt.offset_by(offset.offset(self.grain)).to_list()
        pos = {b: i for i, b in enumerate(self.bounds)}
        out = {}
        for i, m in enumerate(moved):
            if m in pos:
                if pos[m] < self.n:
                    out[i] = pos[m]
            elif m < self.bounds[-1]:
                raise ValueError(
                    f"offset {offset} does not move one {self.grain}'s start onto another's"
                )
        return out
