"""Dictionary encoding of columns so that pair work happens on integers.

Each compared column is encoded once: ``codes`` (int32, -1 for null, one code
per distinct value) and ``values`` (the distinct values). Pair stages gather
codes by record key, find the distinct value pairs, and call string metrics
only on those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl


@dataclass(frozen=True, slots=True)
class Encoded:
    """A column encoded as integer codes over its distinct values.

    Attributes:
        codes: int32 code per record (-1 for null).
        values: distinct values, as a polars Series indexed by code.
        counts: number of records holding each code.
    """

    codes: npt.NDArray[np.int32]
    values: pl.Series
    counts: npt.NDArray[np.int64]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def objects(self) -> npt.NDArray[Any]:
        """The distinct values as a numpy object array (built once), for rapidfuzz."""
        out = self._cache.get("objects")
        if out is None:
            out = self._cache["objects"] = self.values.to_numpy()
        return out  # type: ignore[no-any-return]

    def initials(self) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
        """First character of each distinct value, and whether the value is that one character."""
        out = self._cache.get("initials")
        if out is None:
            out = self._cache["initials"] = (
                self.values.str.slice(0, 1).to_numpy(),
                (self.values.str.len_chars() == 1).to_numpy(),
            )
        return out  # type: ignore[no-any-return]

    @property
    def n(self) -> int:
        """Number of records."""
        return int(self.codes.shape[0])

    def frequency(self) -> npt.NDArray[np.float64]:
        """Share of non-null records holding each code."""
        total = max(int(self.counts.sum()), 1)
        return self.counts / total


def encode(series: pl.Series) -> Encoded:
    """Encode a series as codes over its sorted distinct values.

    Sorting makes codes independent of row order.

    Examples:
        >>> e = encode(pl.Series(["b", None, "a", "b"]))
        >>> e.codes.tolist(), e.values.to_list(), e.counts.tolist()
        ([1, -1, 0, 1], ['a', 'b'], [1, 2])
    """
    if series.dtype == pl.String and series.len() <= _SMALL:
        return _encode_small(series)
    values = series.drop_nulls().unique().sort()
    if values.len() == 0:
        return Encoded(
            np.full(series.len(), -1, dtype=np.int32), values, np.zeros(0, dtype=np.int64)
        )
    idx = pl.Series("_i", np.arange(values.len(), dtype=np.int32))
    codes = (
        series.to_frame("v")
        .join(pl.DataFrame({"v": values, "_i": idx}), on="v", how="left", maintain_order="left")
        .get_column("_i")
        .fill_null(-1)
        .to_numpy()
        .astype(np.int32, copy=False)
    )
    counts = np.bincount(codes[codes >= 0], minlength=values.len()).astype(np.int64)
    return Encoded(codes, values, counts)


#: Up to this many values, a text column is encoded in plain Python: a handful of
#: polars calls on a tiny series cost more than the work (one-record incremental runs).
_SMALL = 2048


def _encode_small(series: pl.Series) -> Encoded:
    """[`encode`][encode] for a short text series, without polars calls.

    Python orders ``str`` by code point, as polars orders UTF-8 by byte: the
    codes are the same.

    Examples:
        >>> e = _encode_small(pl.Series(["b", None, "a", "b"]))
        >>> e.codes.tolist(), e.values.to_list(), e.counts.tolist()
        ([1, -1, 0, 1], ['a', 'b'], [1, 2])
    """
    items = series.to_list()
    distinct = sorted({v for v in items if v is not None})
    code_of = {v: i for i, v in enumerate(distinct)}
    codes = np.fromiter(
        (-1 if v is None else code_of[v] for v in items), dtype=np.int32, count=len(items)
    )
    counts = np.bincount(codes[codes >= 0], minlength=len(distinct)).astype(np.int64)
    return Encoded(codes, pl.Series(series.name, distinct, dtype=pl.String), counts)


def dense_numbers(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The sorted distinct non-null values, and each value's number among them (null stays null).

    Hashing, not sorting every value: the distinct values are sorted and
    numbered, and every value finds its number by a join. On millions of
    values with far fewer distinct ones this is a fraction of a dense rank
    (5.3M first-name pairs: 0.1 s against 0.37 s for polars' ``rank("dense")``
    and 0.62 s for ``np.unique``).

    Examples:
        >>> distinct, numbers = dense_numbers(pl.Series([30, None, 10, 30]))
        >>> distinct.to_list(), numbers.to_list()
        ([10, 30], [1, None, 0, 1])
    """
    distinct = values.drop_nulls().unique().sort()
    number = pl.DataFrame(
        {"v": distinct, "i": pl.int_range(distinct.len(), eager=True, dtype=pl.Int32)}
    )
    numbers = (
        pl.DataFrame({"v": values})
        .join(number, on="v", how="left", maintain_order="left")
        .get_column("i")
    )
    return distinct, numbers


#: Up to this many pairs, distinct pairs are found by numpy's sort (no polars set-up).
_SORT_PAIRS_UP_TO = 50_000


def distinct_pairs(
    cl: npt.NDArray[np.int32], cr: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.intp]]:
    """Distinct unordered code pairs and, for each input pair, its index among them.

    Examples:
        >>> a, b, inv = distinct_pairs(np.array([1, 2, 1]), np.array([2, 1, 3]))
        >>> a.tolist(), b.tolist(), inv.tolist()
        ([1, 1], [2, 3], [0, 0, 1])
    """
    key = np.minimum(cl, cr).astype(np.int64)
    key <<= 32
    key |= np.maximum(cl, cr).astype(np.int64)
    if key.shape[0] <= _SORT_PAIRS_UP_TO:
        uniq, inv = np.unique(key, return_inverse=True)
    else:
        distinct, numbers = dense_numbers(pl.Series(key))
        del key
        inv = numbers.to_numpy().astype(np.intp)
        uniq = distinct.to_numpy()
    return (uniq >> 32).astype(np.int32), (uniq & 0xFFFFFFFF).astype(np.int32), inv
