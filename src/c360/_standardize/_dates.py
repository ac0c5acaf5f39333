"""Dates from strings in several formats, as a polars expression."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from c360._standardize._distinct import per_distinct, staged_fn

#: Always tried first: ISO 8601 (``1985-03-12``; a time part is ignored).
ISO_FORMAT: Final = "%Y-%m-%d"

#: Tried after ISO, in this order. Month-first before day-first: ``03/12/1985`` is
#: 12 March; ``13/03/1985`` falls through to the day-first format. Put the
#: day-first formats first for sources that write dates that way.
DEFAULT_DATE_FORMATS: Final = (
    "%Y%m%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %B %Y",
    "%B %d %Y",
    "%d-%B-%Y",
    "%Y %B %d",
)


def parse_date(
    expr: pl.Expr,
    formats: Sequence[str] | None = None,
    *,
    min_year: int = 1000,
    max_year: int = 9999,
) -> pl.Expr:
    """Parse dates written in any of several formats; impossible dates → null.

    The value is cast to text (so ``Date`` and ``Datetime`` columns pass through
    as their ISO form, and integers such as ``19850312`` work), trimmed, commas
    removed and whitespace collapsed (``"Mar 12, 1985"`` → ``"Mar 12 1985"``).
    ISO 8601 is tried first — a trailing time part is dropped — then ``formats``
    (default ``DEFAULT_DATE_FORMATS``) in order; the first that parses wins.
    Month names may be full or abbreviated, any case (``%B`` accepts both).
    Dates that do not exist (``1985-02-30``) and years outside
    ``[min_year, max_year]`` give null.

    Examples:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"x": ["1985-03-12", "19850312", "03/12/1985", "13/03/1985",
        ...                          "12 Mar 1985", "March 12, 1985", "1985-02-30", "junk", None]})
        >>> [d.isoformat() if d else None for d in df.select(parse_date(pl.col("x")))["x"]]
        ... # doctest: +NORMALIZE_WHITESPACE
        ['1985-03-12', '1985-03-12', '1985-03-12', '1985-03-13', '1985-03-12',
         '1985-03-12', None, None, None]

    """
    fmts = tuple(DEFAULT_DATE_FORMATS if formats is None else formats)

    def build(e: pl.Expr) -> list[dict[str, pl.Expr]]:
        # staged: polars does not share repeated sub-trees, so with the cleaned
        # text inline each format would clean it again (three times the cost)
        text = (
            e.cast(pl.String)
            .str.replace_all(r"[,\s]+", " ")
            .str.strip_chars(" ")
            .str.replace(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ].*$", "${1}")
        )
        parsed = pl.coalesce(
            [pl.col("t").str.to_date(f, strict=False) for f in dict.fromkeys((ISO_FORMAT, *fmts))]
        )
        year = pl.col("d").dt.year()
        return [
            {"t": text},
            {"d": parsed},
            {"v": pl.when((year >= min_year) & (year <= max_year)).then(pl.col("d"))},
        ]

    return per_distinct(expr, staged_fn(build), return_dtype=pl.Date())
