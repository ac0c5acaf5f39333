"""Phonetic keys (jellyfish), computed once per distinct value."""

from __future__ import annotations

from collections.abc import Callable

import jellyfish
import polars as pl

from c360._standardize._distinct import map_distinct


def _letters(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.replace_all(r"[^A-Za-z]+", "")


def _code(func: Callable[[str], str]) -> Callable[[str], str | None]:
    def run(value: str) -> str | None:
        return (func(value) or None) if value else None

    return run


def _phonetic(expr: pl.Expr, func: Callable[[str], str]) -> pl.Expr:
    return map_distinct(_letters(expr), _code(func), return_dtype=pl.String())


def metaphone(expr: pl.Expr) -> pl.Expr:
    """Metaphone code of a (cleaned) name; non-letters are ignored, no letters → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["smith", "smyth", "mary jane", "123", None]})
        >>> df.select(metaphone(pl.col("x"))).to_series().to_list()
        ['SM0', 'SM0', 'MRJN', None, None]

    """
    return _phonetic(expr, jellyfish.metaphone)


def nysiis(expr: pl.Expr) -> pl.Expr:
    """NYSIIS code of a (cleaned) name; non-letters are ignored, no letters → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["macintosh", "mcintosh", None]})
        >>> df.select(nysiis(pl.col("x"))).to_series().to_list()
        ['MCANT', 'MCANT', None]

    """
    return _phonetic(expr, jellyfish.nysiis)


def soundex(expr: pl.Expr) -> pl.Expr:
    """American Soundex code of a (cleaned) name; non-letters are ignored, no letters → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["robert", "rupert", None]})
        >>> df.select(soundex(pl.col("x"))).to_series().to_list()
        ['R163', 'R163', None]

    """
    return _phonetic(expr, jellyfish.soundex)
