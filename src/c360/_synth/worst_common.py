"""Column helpers of the worst-case profile (``c360._synth.worst``).

Every worst-case step rewrites the present values of one column in place: fresh
uniform columns per step (``_Uniform``), picks from word lists, a uniform index,
keeping the all-upper or all-lower case a source wrote a value in, and writing
the new values back at their rows (``_rewrite``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import polars as pl

_CASE_RATE: Final = 0.10  # e-mails and street lines in unusual case


def _norm(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(weights, dtype=np.float64)
    return a / a.sum()  # type: ignore[no-any-return]


def _pick(values: Sequence[str], idx: pl.Expr) -> pl.Expr:
    """``values[idx]`` for an integer index expression."""
    return pl.lit(pl.Series(list(values), dtype=pl.String)).gather(idx)


def _index(u: pl.Expr, n: int) -> pl.Expr:
    """A uniform index in ``0..n-1`` from a uniform [0, 1) column."""
    return (u * n).floor().cast(pl.Int64).clip(0, n - 1)


def _recase(new: pl.Expr, old: pl.Expr) -> pl.Expr:
    """Upper- or lower-case ``new`` where the source wrote ``old`` all upper or all lower."""
    cased = old.str.contains(r"\p{L}")
    return (
        pl.when(cased & (old == old.str.to_uppercase()))
        .then(new.str.to_uppercase())
        .when(cased & (old == old.str.to_lowercase()))
        .then(new.str.to_lowercase())
        .otherwise(new)
    )


def _rewrite(old: pl.Series, rows: pl.Series, new: pl.Series) -> pl.Series:
    """A text copy of ``old`` with the values at positions ``rows`` replaced by ``new``."""
    out = old.cast(pl.String).clone()
    return out.scatter(rows, new) if rows.len() else out


class _Uniform:
    """Fresh uniform [0, 1) columns of a fixed length, drawn from one generator."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n

    def __call__(self) -> pl.Expr:
        return pl.lit(pl.Series(self.rng.random(self.n)))
