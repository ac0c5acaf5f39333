"""Text expressions of the synthetic-people generator: folding, slugs and typos.

Whole-column polars expressions: ASCII folding of accented text, the lower-case
slugs e-mail addresses are made of, a keyboard typo (delete, double, substitute,
transpose) and a wrong digit. The standard records (``c360._synth.records``)
and the worst-case profile (``c360._synth.worst``) write their errors with them.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from c360._synth import tables as T  # noqa: N812


def _fold_expr(col: pl.Expr) -> pl.Expr:
    """ASCII-fold: strip accents (NFKD + drop marks) and map letters NFKD keeps."""
    folded = col.str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    return folded.str.replace_many(list(T.FOLD_EXTRA), list(T.FOLD_EXTRA.values()))


def _slug_expr(col: pl.Expr) -> pl.Expr:
    """Lower-case ASCII letters and digits only (for e-mail local parts and domains)."""
    return _fold_expr(col).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _typo_expr(col: pl.Expr, pos: pl.Expr, op: pl.Expr, pick: pl.Expr) -> pl.Expr:
    """One keyboard typo at a random position: delete, double, substitute, transpose.

    ``pos``, ``op`` and ``pick`` are uniform [0, 1) columns. Values shorter than
    three characters are left alone.
    """
    n = col.str.len_chars().cast(pl.Int64)
    p = (pos * n).floor().cast(pl.Int64)
    p = pl.min_horizontal(p, n - 1)
    left = col.str.slice(0, p)
    cur = col.str.slice(p, 1)
    right = col.str.slice(p + 1)
    neigh = cur.str.to_lowercase().replace_strict(T.KEYBOARD_NEIGHBOURS, default="e")
    sub = neigh.str.slice((pick * neigh.str.len_chars()).floor().cast(pl.Int64), 1)
    sub = pl.when(cur != cur.str.to_lowercase()).then(sub.str.to_uppercase()).otherwise(sub)
    pt = pl.min_horizontal(p, n - 2)
    transposed = pl.concat_str(
        [
            col.str.slice(0, pt),
            col.str.slice(pt + 1, 1),
            col.str.slice(pt, 1),
            col.str.slice(pt + 2),
        ]
    )
    out = (
        pl.when(op < 0.25)
        .then(pl.concat_str([left, right]))
        .when(op < 0.45)
        .then(pl.concat_str([left, cur, cur, right]))
        .when(op < 0.75)
        .then(pl.concat_str([left, sub, right]))
        .otherwise(transposed)
    )
    return pl.when(n >= 3).then(out).otherwise(col)


def _typo_column(df: pl.DataFrame, col: str, rate: float, u: Any) -> pl.DataFrame:
    """Apply [`_typo_expr`][_typo_expr] to a materialised column on a ``rate`` share of rows."""
    c = pl.col(col)
    return df.with_columns(
        pl.when(u() < rate).then(_typo_expr(c, u(), u(), u())).otherwise(c).alias(col)
    )


def _digit_typo_expr(col: pl.Expr, pos: pl.Expr, digit: pl.Expr) -> pl.Expr:
    """Replace one digit (the first digit at or after a random position) by another.

    Meant for ASCII identifiers and phone numbers; other characters are kept.
    """
    n = col.str.len_chars().cast(pl.Int64)
    p = (pos * n).floor().cast(pl.Int64)
    off = col.str.slice(p).str.find(r"\d").cast(pl.Int64)
    q = pl.when(off.is_not_null()).then(p + off).otherwise(col.str.find(r"\d").cast(pl.Int64))
    cur = col.str.slice(q, 1).cast(pl.Int64, strict=False)
    new = ((cur + 1 + (digit * 9).floor().cast(pl.Int64)) % 10).cast(pl.String)
    out = pl.concat_str([col.str.slice(0, q), new, col.str.slice(q + 1)])
    return pl.when(q.is_not_null()).then(out).otherwise(col)
