"""Run column functions once per distinct value, inside a polars expression."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from c360._frames import cut_into, spread

SeriesFn = Callable[[pl.Series], pl.Series]

#: Up to this many rows, the helpers below skip the distinct-value machinery
#: (unique, replace) and work on the values directly: each polars call on a tiny
#: series costs more than the work, and incremental resolution of one record
#: runs dozens of them. Results are the same either way (tested).
SMALL = 64

#: [`on_distinct`][on_distinct] skips the exact distinct values when the
#: HyperLogLog estimate is above half the rows by this factor (the estimate is
#: within a few per cent); nearer the line it counts them exactly.
_APPROX_MARGIN = 1.1


def frame_fn(build: Callable[[pl.Expr], pl.Expr]) -> SeriesFn:
    """Turn an expression builder into a function of a Series (evaluated eagerly).

    Examples:
        >>> frame_fn(lambda e: e.str.to_uppercase())(pl.Series(["a", None])).to_list()
        ['A', None]

    """
    # polars expressions are immutable: build the (often large) graph once and
    # reuse it on every batch instead of rebuilding it per call
    built: list[pl.Expr] = []

    def run(s: pl.Series) -> pl.Series:
        if not built:
            built.append(build(pl.col("v")).alias("v"))
        return pl.DataFrame({"v": s}).select(built[0]).to_series()

    return run


def staged_fn(build: Callable[[pl.Expr], Sequence[Mapping[str, pl.Expr]]]) -> SeriesFn:
    """As [`frame_fn`][frame_fn], for a builder that returns stages of named columns.

    Each stage is added with one ``with_columns``; the last stage must define
    ``"v"``, the result. Polars evaluates an expression tree without sharing
    repeated sub-trees, so a value used by several later expressions (the
    ASCII-folded name, say) is best computed once in an earlier stage.

    Examples:
        >>> fn = staged_fn(lambda e: [{"u": e.str.to_uppercase()},
        ...                           {"v": pl.col("u") + pl.col("u")}])
        >>> fn(pl.Series(["a", None])).to_list()
        ['AA', None]

    """
    built: list[Sequence[Mapping[str, pl.Expr]]] = []

    def run(s: pl.Series) -> pl.Series:
        if not built:
            built.append(build(pl.col("v")))
        frame = pl.DataFrame({"v": s})
        for stage in built[0]:
            frame = frame.with_columns(**stage)
        return frame.get_column("v")

    return run


def per_distinct(expr: pl.Expr, fn: SeriesFn, *, return_dtype: pl.DataType) -> pl.Expr:
    """Apply a vectorised Series function to the distinct values of a column.

    Within each batch the distinct non-null values are computed; when there are
    fewer than half as many as rows, ``fn`` runs on them only and the results are
    joined back with a hash lookup, else ``fn`` runs on the whole batch. ``fn``
    must be element-wise and map null to null. Columns of names, dates, cities or
    postcodes repeat a lot, so cleaning them costs a fraction of a pass.

    Examples:
        >>> df = pl.DataFrame({"a": ["x", "y", "x", "x", None]})
        >>> up = per_distinct(pl.col("a"), lambda s: s.str.to_uppercase(),
        ...                   return_dtype=pl.String())
        >>> df.select(up)["a"].to_list()
        ['X', 'Y', 'X', 'X', None]

    """
    return expr.map_batches(
        lambda s: on_distinct(s, fn, return_dtype=return_dtype), return_dtype=return_dtype
    )


def on_distinct(s: pl.Series, fn: SeriesFn, *, return_dtype: pl.DataType) -> pl.Series:
    """``fn`` (element-wise, null to null) applied to a Series through its distinct values.

    The eager half of [`per_distinct`][per_distinct]: ``fn`` runs on the distinct
    non-null values when they are fewer than half the rows, else on the whole
    Series (and directly on a few rows).

    Examples:
        >>> on_distinct(pl.Series(["a", "b", "a"] * 30), lambda s: s.str.to_uppercase(),
        ...             return_dtype=pl.String()).head(3).to_list()
        ['A', 'B', 'A']

    """
    if s.len() <= SMALL:
        return fn(s).cast(return_dtype).rename(s.name)
    uniq = _few_distinct(s)
    if uniq is None:
        return _whole(s, fn, return_dtype)
    # the distinct values come back as one chunk, which polars would clean on
    # one core: cut them so that every thread takes a part
    out = fn(spread(uniq)).cast(return_dtype)
    return s.replace_strict(uniq, out, default=None, return_dtype=return_dtype)


def _few_distinct(s: pl.Series) -> pl.Series | None:
    """The distinct non-null values of ``s``, or None when they are over half its rows.

    A column of (nearly) all-distinct values (e-mails, street addresses,
    names in other scripts) would pay for an exact unique and the lookup
    back (1.4 s per million) only to run on every row anyway: a HyperLogLog
    estimate rules it out first.
    """
    if 2 * _estimate(s) > s.len() * _APPROX_MARGIN:
        return None
    uniq = s.drop_nulls().unique()
    return None if 2 * uniq.len() > s.len() else uniq


def _whole(s: pl.Series, fn: SeriesFn, return_dtype: pl.DataType) -> pl.Series:
    # cut for the threads as above, then back into the input's chunks so that
    # the new column lines up with the frame's others
    out = fn(spread(s)).cast(return_dtype).rename(s.name)
    return cut_into(out, s.chunk_lengths())


def apply_python(
    s: pl.Series, func: Callable[[Any], Any], *, return_dtype: pl.DataType
) -> pl.Series:
    """Call a Python function once per distinct non-null value of ``s``; nulls stay null.

    Once per row instead when most values are distinct (or there are few rows).

    Examples:
        >>> s = pl.Series(["a", "b", "a", None])
        >>> apply_python(s, str.upper, return_dtype=pl.String()).to_list()
        ['A', 'B', 'A', None]

    """
    keys = None if s.len() <= SMALL else _few_distinct(s)
    if keys is None:
        return _per_row(s, func, return_dtype)
    if keys.len() == 0:
        return pl.Series(s.name, [None] * s.len(), dtype=return_dtype)
    values = pl.Series([func(k) for k in keys.to_list()], dtype=return_dtype)
    return s.replace_strict(keys, values, default=None, return_dtype=return_dtype)


def _per_row(s: pl.Series, func: Callable[[Any], Any], return_dtype: pl.DataType) -> pl.Series:
    out = [None if v is None else func(v) for v in s.to_list()]
    return pl.Series(s.name, out, dtype=return_dtype)


def map_distinct(
    expr: pl.Expr, func: Callable[[str], Any], *, return_dtype: pl.DataType
) -> pl.Expr:
    """Map a Python function over the distinct non-null values of a string expression.

    Args:
        expr: a string expression.
        func: called with each distinct value; may return ``None``.
        return_dtype: dtype of the result.

    Examples:
        >>> df = pl.DataFrame({"a": ["x", "y", "x", None]})
        >>> df.select(map_distinct(pl.col("a"), str.upper, return_dtype=pl.String()))["a"].to_list()
        ['X', 'Y', 'X', None]

    """

    def _apply(s: pl.Series) -> pl.Series:
        if s.dtype != pl.String:
            s = s.cast(pl.String)
        return apply_python(s, func, return_dtype=return_dtype)

    return expr.map_batches(_apply, return_dtype=return_dtype)


def _estimate(s: pl.Series) -> int:
    """HyperLogLog estimate of the number of distinct values of ``s``."""
    return int(s.to_frame().select(pl.first().approx_n_unique()).item())
