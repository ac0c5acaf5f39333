"""What every comparison shares: the pairs being compared and the ``Comparison`` base.

[`PairData`][c360.comparisons.PairData] holds the matching frame, the
candidate pairs' record keys and the column encodings (each column encoded
once, shared by every comparison and by training and scoring);
[`Comparison`][c360.comparisons.Comparison] is the base class of the
comparisons in ``c360.comparisons``, with the helpers they build on: string
similarity over distinct value pairs only (``_similarity``) and grading
scores into levels (``_grade``, ``_cutoff``). Both classes are documented
and imported from ``c360.comparisons``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from rapidfuzz import process

from c360._encode import Encoded, distinct_pairs, encode
from c360.exceptions import ConfigError

__all__ = ["NAME_VOCABULARY", "Comparison", "PairData"]

Int8Array = npt.NDArray[np.int8]
IntArray = npt.NDArray[np.int32]
#: Columns whose values share one dictionary, so that names can be compared across columns.
NAME_VOCABULARY = ("first_name", "middle_name", "last_name", "first_name_nick")


class PairData:
    """Encoded record columns and the candidate pairs being compared.

    Columns are encoded on first use and cached, so several comparisons that
    read the same column pay for it once.

    Args:
        records: the matching frame, row ``i`` being the record with ``_rid == i``.
        rid_l: left record keys of the pairs.
        rid_r: right record keys of the pairs.
        encodings: already-computed encodings to reuse (e.g. across chunks).
    """

    def __init__(
        self,
        records: pl.DataFrame,
        rid_l: npt.NDArray[np.integer[Any]],
        rid_r: npt.NDArray[np.integer[Any]],
        encodings: dict[str, Encoded] | None = None,
    ) -> None:
        self.records = records
        self.rid_l = rid_l
        self.rid_r = rid_r
        self.encodings: dict[str, Encoded] = encodings if encodings is not None else {}

    def __len__(self) -> int:
        return int(self.rid_l.shape[0])

    def slice(self, part: slice) -> PairData:
        """The pairs in ``part``, sharing these records and encodings (views, no copy).

        Examples:
            >>> d = PairData(pl.DataFrame({"a": ["x", "y", "x"]}), np.array([0, 0, 1]),
            ...              np.array([1, 2, 2]))
            >>> len(d.slice(slice(1, 3))), d.slice(slice(1, 3)).encodings is d.encodings
            (2, True)
        """
        return PairData(self.records, self.rid_l[part], self.rid_r[part], self.encodings)

    def encoded(self, column: str) -> Encoded:
        """The encoding of ``column`` (computed once)."""
        enc = self.encodings.get(column)
        if enc is None:
            if column not in self.records.columns:
                raise ConfigError(
                    f"comparison needs column {column!r}, which the records do not have",
                    column=column,
                    hint=f"available: {', '.join(self.records.columns)}",
                )
            if column in NAME_VOCABULARY:
                self._encode_vocabulary(NAME_VOCABULARY)
                enc = self.encodings[column]
            else:
                series = self.records.get_column(column)
                if series.dtype != pl.String:
                    series = series.cast(pl.String)
                enc = encode(series)
                self.encodings[column] = enc
        return enc

    def _encode_vocabulary(self, columns: Sequence[str]) -> None:
        present = [c for c in columns if c in self.records.columns]
        stacked = pl.concat([self.records.get_column(c).cast(pl.String) for c in present])
        enc = encode(stacked)
        n = self.records.height
        for i, c in enumerate(present):
            codes = enc.codes[i * n : (i + 1) * n]
            counts = np.bincount(codes[codes >= 0], minlength=enc.values.len()).astype(np.int64)
            # the columns share one vocabulary, so they share its cached arrays too
            self.encodings[c] = Encoded(codes, enc.values, counts, enc._cache)

    def codes(self, column: str) -> tuple[IntArray, IntArray]:
        """Codes of ``column`` for the left and right side of every pair."""
        enc = self.encoded(column)
        return enc.codes[self.rid_l], enc.codes[self.rid_r]

    def numeric(self, column: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """A numeric or date column (dates as days) for both sides, NaN for null.

        The column's values as numbers are kept with its encoding, when it
        has one: a full run's parts of pairs convert it once, not each.
        """
        enc = self.encodings.get(column)
        key = f"numeric:{column}"  # the name columns share one encoding's cache
        arr = enc._cache.get(key) if enc is not None else None
        if arr is None:
            s = self.records.get_column(column)
            if s.dtype == pl.Date:
                s = s.cast(pl.Int32)
            arr = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
            if enc is not None:
                enc._cache[key] = arr
        return arr[self.rid_l], arr[self.rid_r]


def _similarity(
    enc: Encoded,
    cl: IntArray,
    cr: IntArray,
    mask: npt.NDArray[np.bool_],
    scorer: Callable[..., Any],
    dtype: Any = np.float32,
    may_reach: MayReach | None = None,
    **kwargs: Any,
) -> npt.NDArray[Any]:
    """Score the pairs selected by ``mask``, once per distinct value pair.

    ``may_reach(enc, a, b)``: which distinct value pairs (codes ``a``, ``b``)
    could score at least the ``score_cutoff``; the others score 0, as
    rapidfuzz scores them under the cutoff, without being scored. Asked from
    ``BOUNDED_FROM`` distinct pairs on.
    """
    out = np.zeros(int(mask.sum()), dtype=dtype)
    if out.shape[0] == 0:
        return out
    a, b, inv = distinct_pairs(cl[mask], cr[mask])
    scores = np.zeros(a.shape[0], dtype=dtype)
    hopeful: npt.NDArray[np.bool_] | slice = slice(None)
    if may_reach is not None and a.shape[0] >= BOUNDED_FROM:
        hopeful = may_reach(enc, a, b)
        a, b = a[hopeful], b[hopeful]
    values = enc.objects()
    # rapidfuzz starts its threads on every call: 0.6 ms on a quiet 2-core
    # machine, several when the other core is busy, for pairs it scores in
    # microseconds (a single record's candidates)
    workers = -1 if a.shape[0] >= THREADED_FROM else 1
    scores[hopeful] = process.cpdist(
        values[a], values[b], scorer=scorer, dtype=dtype, workers=workers, **kwargs
    )
    return scores[inv]


#: Distinct value pairs from which [`_similarity`][_similarity] scores on every core.
THREADED_FROM = 5_000


#: Distinct value pairs from which [`_similarity`][_similarity] asks ``may_reach`` which
#: to score: under it (a single record's candidates) setting up the bound costs more.
BOUNDED_FROM = 5_000

#: Which distinct value pairs (codes) of an encoded column could reach a similarity cutoff.
MayReach = Callable[[Encoded, IntArray, IntArray], npt.NDArray[np.bool_]]


def token_set_may_reach(cutoff: float) -> MayReach:
    """Which value pairs may have a RapidFuzz ``token_set_ratio`` of ``cutoff`` (0-100) or more.

    ``token_set_ratio`` compares the two values' distinct words, sorted and
    joined by single spaces (``a'`` and ``b'``): it is the best of the
    indel ratio of those two strings and of the shared words against each
    side. Every one of them is at most ``2m / (m + min(len(a'), len(b')))``,
    ``m`` being the characters ``a'`` and ``b'`` have in common, counted with
    repetition. That bound costs a few integer operations per pair against
    about two microseconds for the ratio, and on addresses it rules out most
    pairs at a cutoff of 90 (92% of the 1.9M distinct address pairs of a
    million worst-profile records). It never rules out a pair that reaches
    the cutoff: characters are counted in 38 classes (letters without case,
    digits, space, the rest), which can only raise ``m``; and values that are
    not printable ASCII words separated by single spaces (where splitting into
    words or counting characters could differ from RapidFuzz's) are always
    scored.

    Examples:
        >>> from c360._encode import encode
        >>> from rapidfuzz import fuzz
        >>> enc = encode(pl.Series(["12 main st", "9 oak road", "main  st", "main st 12 apt 4"]))
        >>> a, b = np.array([0, 0, 0]), np.array([1, 2, 3])
        >>> token_set_may_reach(90.0)(enc, a, b).tolist()
        [False, True, True]
        >>> v = enc.objects()
        >>> [fuzz.token_set_ratio(v[i], v[j]) for i, j in zip(a, b)]
        [30.0, 100.0, 100.0]
    """

    def may_reach(enc: Encoded, a: IntArray, b: IntArray) -> npt.NDArray[np.bool_]:
        counts, length = _word_characters(enc)
        out = np.empty(a.shape[0], dtype=bool)
        step = 1 << 17
        for i in range(0, a.shape[0], step):
            ca, cb = a[i : i + step], b[i : i + step]
            common = np.minimum(counts[ca], counts[cb]).sum(axis=1, dtype=np.int32)
            shorter = np.minimum(length[ca], length[cb])
            # length 0 marks a value that is always scored
            out[i : i + step] = (shorter == 0) | (
                200.0 * common >= (cutoff - 1e-3) * (common + shorter)
            )
        return out

    return may_reach


#: Character classes of [`token_set_may_reach`][token_set_may_reach]: a-z and A-Z
#: share 0-25, digits 26-35, space 36, any other printable ASCII 37.
_CLASS = np.full(256, 37, dtype=np.uint8)
_CLASS[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)] = np.arange(26)
_CLASS[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(26)
_CLASS[np.frombuffer(b"0123456789", np.uint8)] = np.arange(26, 36)
_CLASS[ord(" ")] = 36
_CLASSES = 38


def _word_characters(enc: Encoded) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """Per distinct value: its distinct words' characters per class, and their length.

    The words are joined by single spaces, as ``token_set_ratio`` joins them.
    Length 0 (counts 0) for a value that is empty, longer than 255 bytes, or
    not printable-ASCII words separated by single spaces. Cached on ``enc``.
    """
    cached = enc._cache.get("word_characters")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    values = enc.values
    plain = values.str.contains(r"^[!-~]+( [!-~]+)*$").fill_null(False) & (
        values.str.len_bytes() <= 255
    )
    words = pl.select(
        pl.when(plain)
        .then(values.str.split(" ").list.unique().list.join(" "))
        .otherwise(pl.lit(""))
    ).to_series()
    length = words.str.len_bytes().to_numpy().astype(np.int32)
    counts = np.zeros((values.len(), _CLASSES), dtype=np.uint8)
    step = 1 << 16
    for i in range(0, values.len(), step):
        part = words.slice(i, step)
        data = np.frombuffer("".join(part.to_list()).encode("ascii"), dtype=np.uint8)
        row = np.repeat(np.arange(part.len(), dtype=np.int64), length[i : i + part.len()])
        flat = np.bincount(row * _CLASSES + _CLASS[data], minlength=part.len() * _CLASSES)
        counts[i : i + part.len()] = flat.reshape(part.len(), _CLASSES)
    out = (counts, length)
    enc._cache["word_characters"] = out
    return out


def _cutoff(thresholds: Sequence[float]) -> float:
    """A similarity cutoff that leaves every level of ``thresholds`` as it is.

    Scores under the loosest threshold all grade as "else"; telling rapidfuzz
    so lets it stop early on them (and report 0), which is most pairs.

    Examples:
        >>> _cutoff((0.92, 0.8)) < 0.8, _cutoff(())
        (True, 0.0)
    """
    return max(min(thresholds) - 1e-6, 0.0) if thresholds else 0.0


def _grade(
    scores: npt.NDArray[Any], thresholds: Sequence[float], *, distance: bool = False, first: int = 1
) -> Int8Array:
    """Level per score: ``first`` for the loosest threshold met, one more per stricter one.

    Similarities meet a threshold from above, distances from below; pairs
    meeting none get 0.

    Examples:
        >>> _grade(np.array([0.95, 0.85, 0.5]), (0.92, 0.8)).tolist()
        [2, 1, 0]
        >>> _grade(np.array([0, 2, 3]), (1, 2), distance=True).tolist()
        [2, 1, 0]
    """
    out = np.zeros(scores.shape[0], dtype=np.int8)
    ordered = sorted(thresholds, reverse=True) if distance else sorted(thresholds)
    for i, t in enumerate(ordered):
        met = scores <= t if distance else scores >= t - 1e-6
        out[met] = first + i
    return out


@dataclass(frozen=True, slots=True)
class Comparison:
    """Base of all comparisons. Subclasses define levels and how to compute them.

    Attributes:
        column: the record column compared.
        name: the comparison's name (defaults to ``column``); its levels appear
            as ``gamma_<name>`` in the links table.
        tf_adjust: adjust the exact-match weight by how common the value is.
    """

    column: str
    name: str = field(default="", kw_only=True)
    tf_adjust: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.column)

    @property
    def output(self) -> str:
        """Name of the level column in the links table."""
        return f"gamma_{self.name}"

    def labels(self) -> tuple[str, ...]:
        """Label of each level, index = level (0 is "else"; the last is exact)."""
        raise NotImplementedError

    def columns(self) -> tuple[str, ...]:
        """Record columns this comparison reads."""
        return (self.column,)

    def tf_levels(self) -> tuple[tuple[int, str], ...]:
        """(level, column) pairs whose weight is adjusted by the value's frequency."""
        return ((len(self.labels()) - 1, self.column),) if self.tf_adjust else ()

    def levels(self, data: PairData) -> Int8Array:
        """Level of every pair in ``data``: -1 null, 0 else, ... exact."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON/TOML-able description of this comparison."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    # helpers for subclasses -------------------------------------------------
    def _start(
        self, data: PairData, column: str | None = None
    ) -> tuple[Encoded, IntArray, IntArray, Int8Array, npt.NDArray[np.bool_]]:
        col = column or self.column
        enc = data.encoded(col)
        cl, cr = data.codes(col)
        lv = np.zeros(len(data), dtype=np.int8)
        null = (cl < 0) | (cr < 0)
        lv[null] = -1
        return enc, cl, cr, lv, null
