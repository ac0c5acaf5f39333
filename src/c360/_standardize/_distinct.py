"""Apply a Python function once per distinct value of a column, inside a polars expression."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl


def map_distinct(
    expr: pl.Expr,
    func: Callable[[str], Any],
    *,
    return_dtype: pl.DataType,
    only: str | None = None,
) -> pl.Expr:
    """Map ``func`` over the distinct non-null values of a string expression.

    The column is processed batch by batch; within a batch ``func`` runs once per
    distinct value and the results are joined back with a hash lookup, so the cost
    is driven by the number of distinct values, not rows. Nulls stay null.

    Args:
        expr: a string expression.
        func: called with each distinct value; may return ``None``.
        return_dtype: dtype of the result.
        only: a regex; when given, only values matching it are passed to ``func``
            and the others are kept as they are (``return_dtype`` must then be
            ``pl.String``).

    Example:
        >>> df = pl.DataFrame({"a": ["x", "y", "x", None]})
        >>> df.select(map_distinct(pl.col("a"), str.upper, return_dtype=pl.String()))["a"].to_list()
        ['X', 'Y', 'X', None]

    """

    def _apply(s: pl.Series) -> pl.Series:
        s = s.cast(pl.String)
        target = s if only is None else s.filter(s.str.contains(only).fill_null(False))
        keys = target.drop_nulls().unique().to_list()
        if only is not None:
            if not keys:
                return s
            return s.replace(keys, [func(k) for k in keys])
        if not keys:
            return pl.Series(s.name, [None] * s.len(), dtype=return_dtype)
        return s.replace_strict(
            keys, [func(k) for k in keys], default=None, return_dtype=return_dtype
        )

    return expr.map_batches(_apply, return_dtype=return_dtype, is_elementwise=True)
