"""Comparisons: how similar two records are on one field, as discrete levels.

Every comparison turns a column of candidate pairs into an ``int8`` level per
pair: ``-1`` when either side is null (a missing value is neither agreement nor
disagreement), ``0`` for "else" (disagreement) and higher levels for closer
agreement, the highest being an exact match. Level labels are given by
[`Comparison.labels`][Comparison.labels].

The work is vectorised: each column is dictionary-encoded once, exact
agreement is an integer comparison, and string metrics are computed with one
``rapidfuzz.process.cpdist`` call over the *distinct* value pairs only.

Examples:
    >>> import polars as pl
    >>> from c360.comparisons import JaroWinklerAtThresholds, compare
    >>> records = pl.DataFrame({"first_name": ["martha", "marhta", "john", None]})
    >>> pairs = pl.DataFrame({"_rid_l": [0, 0, 2], "_rid_r": [1, 2, 3]})
    >>> out = compare(pairs, records, [JaroWinklerAtThresholds("first_name")])
    >>> out["gamma_first_name"].to_list()
    [2, 0, -1]
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from c360._comparison_base import (
    Comparison,
    PairData,
    _cutoff,
    _grade,
    _similarity,
    token_set_may_reach,
)
from c360._encode import Encoded
from c360.exceptions import ConfigError

__all__ = [
    "Comparison",
    "DateComparison",
    "EmailComparison",
    "ExactMatch",
    "JaroWinklerAtThresholds",
    "LevenshteinAtThresholds",
    "LocationComparison",
    "NameComparison",
    "PairData",
    "PhoneComparison",
    "PhoneDigitsComparison",
    "TokenSetAtThresholds",
    "compare",
    "comparison_from_dict",
]

Int8Array = npt.NDArray[np.int8]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class ExactMatch(Comparison):
    """Exact agreement or not.

    Examples:
        >>> ExactMatch("email").labels()
        ('else', 'exact')
    """

    def labels(self) -> tuple[str, ...]:
        """Levels: else, exact."""
        return ("else", "exact")

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        _, cl, cr, lv, null = self._start(data)
        lv[(cl == cr) & ~null] = 1
        return lv


@dataclass(frozen=True, slots=True)
class JaroWinklerAtThresholds(Comparison):
    """Exact, then Jaro-Winkler similarity at descending thresholds, else.

    Examples:
        >>> JaroWinklerAtThresholds("city", (0.92, 0.8)).labels()
        ('else', 'jaro_winkler>=0.8', 'jaro_winkler>=0.92', 'exact')
    """

    thresholds: tuple[float, ...] = (0.92, 0.8)

    def __post_init__(self) -> None:
        Comparison.__post_init__(self)
        if list(self.thresholds) != sorted(self.thresholds, reverse=True) or not all(
            0 < t <= 1 for t in self.thresholds
        ):
            raise ConfigError(
                f"thresholds must be in (0, 1] and descending, got {self.thresholds}",
                column=self.column,
            )

    def labels(self) -> tuple[str, ...]:
        """Levels: else, jw>=lowest ... jw>=highest, exact."""
        return (
            "else",
            *(f"jaro_winkler>={t:g}" for t in reversed(self.thresholds)),
            "exact",
        )

    def _similarities(
        self, enc: Encoded, cl: IntArray, cr: IntArray, mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[Any]:
        """Jaro-Winkler of the pairs in ``mask``; 0 under the loosest threshold."""
        return _similarity(
            enc,
            cl,
            cr,
            mask,
            JaroWinkler.normalized_similarity,
            score_cutoff=_cutoff(self.thresholds),
        )

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        enc, cl, cr, lv, null = self._start(data)
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        sims = self._similarities(enc, cl, cr, rest)
        lv[rest] = _grade(sims, self.thresholds)
        lv[exact] = len(self.thresholds) + 1
        return lv


@dataclass(frozen=True, slots=True)
class NameComparison(JaroWinklerAtThresholds):
    """A person-name comparison: exact, nickname, swapped, initial, Jaro-Winkler, else.

    Args:
        column: the cleaned name column.
        thresholds: Jaro-Winkler thresholds, descending.
        nickname_column: column holding the canonical nickname form; equal
            canonical forms (Bill/William) form their own level.
        swap_column: the other name part; ``first_l == last_r`` and
            ``last_l == first_r`` form the "swapped" level.
        swap_is_null: instead of a "swapped" level, treat a swapped pair as
            missing. Use it on the second name part, so that one swap counts
            once (on the first name), not twice.

    Examples:
        >>> NameComparison("first_name", nickname_column="first_name_nick",
        ...                swap_column="last_name").labels()[3:]
        ('jaro_winkler>=0.92', 'swapped', 'nickname', 'exact')
    """

    nickname_column: str | None = field(default=None, kw_only=True)
    swap_column: str | None = field(default=None, kw_only=True)
    swap_is_null: bool = field(default=False, kw_only=True)

    def labels(self) -> tuple[str, ...]:
        """Levels in order of agreement."""
        mid = [f"jaro_winkler>={t:g}" for t in reversed(self.thresholds)]
        extra = []
        if self.swap_column and not self.swap_is_null:
            extra.append("swapped")
        if self.nickname_column:
            extra.append("nickname")
        return ("else", "initial", *mid, *extra, "exact")

    def columns(self) -> tuple[str, ...]:
        """Columns read."""
        return tuple(c for c in (self.column, self.nickname_column, self.swap_column) if c)

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        enc, cl, cr, lv, null = self._start(data)
        labels = self.labels()
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        # initial: one side is a single letter equal to the other's first letter
        first, single = enc.initials()
        if enc.values.len():
            cl0 = np.where(cl < 0, 0, cl)
            cr0 = np.where(cr < 0, 0, cr)
            initial = rest & (single[cl0] | single[cr0]) & (first[cl0] == first[cr0])
        else:
            initial = np.zeros_like(rest)
        sims = self._similarities(enc, cl, cr, rest)
        lv[rest] = _grade(sims, self.thresholds, first=2)
        lv[initial & (lv < 2)] = 1
        if self.swap_column and self.swap_column in data.records.columns:
            sl, sr = data.codes(self.swap_column)
            both = (sl >= 0) & (sr >= 0)
            swap_enc = data.encoded(self.swap_column)
            if swap_enc.values is enc.values:
                swapped = self._swapped(enc, cl, cr, sl, sr, rest & both)
            else:
                # two dictionaries (a swap column outside NAME_VOCABULARY): the swap
                # column's codes mean nothing in this one until translated
                into = _translation(swap_enc, enc).astype(np.int32)
                tl, tr = into[np.maximum(sl, 0)], into[np.maximum(sr, 0)]
                swapped = self._swapped(enc, cl, cr, tl, tr, rest & both, (swap_enc, sl, sr))
            lv[swapped] = -1 if self.swap_is_null else labels.index("swapped")
        if self.nickname_column and self.nickname_column in data.records.columns:
            nl, nr = data.codes(self.nickname_column)
            nick = rest & (nl == nr) & (nl >= 0)
            lv[nick] = np.maximum(lv[nick], labels.index("nickname"))
        lv[exact] = len(labels) - 1
        return lv

    @staticmethod
    def _swapped(
        enc: Encoded,
        cl: IntArray,
        cr: IntArray,
        sl: IntArray,
        sr: IntArray,
        candidates: npt.NDArray[np.bool_],
        apart: tuple[Encoded, IntArray, IntArray] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Name parts given the other way round, allowing one typo.

        One cross pair must be equal, the other equal or one typo away
        (Jaro-Winkler >= 0.9). Names share one vocabulary, so codes of both
        columns index the same values; ``apart`` is given when they do not
        (the swap column's own encoding and codes; ``sl``, ``sr`` are then
        its codes translated into ``enc``, -2 for a value ``enc`` lacks).
        """
        out = np.zeros(cl.shape[0], dtype=bool)
        a = candidates & (cl == sr)
        b = candidates & (sl == cr)
        either = a | b
        if not either.any():
            return out
        out |= a & b
        one = either & ~(a & b)
        # the cross pair that is not exact: (cl, sr) when b holds, (sl, cr) when a holds
        if one.any() and apart is not None:
            swap_enc, own_l, own_r = apart
            rows = np.flatnonzero(one)
            names, swaps = enc.objects(), swap_enc.objects()
            x = np.where(b[rows], names[cl[rows]], swaps[own_l[rows]])
            y = np.where(b[rows], swaps[own_r[rows]], names[cr[rows]])
            sims = process.cpdist(x, y, scorer=JaroWinkler.normalized_similarity, workers=1)
            out[rows[np.asarray(sims) >= 0.9]] = True
            return out
        if one.any():
            x = np.where(b, cl, sl)
            y = np.where(b, sr, cr)
            sims = _similarity(
                enc, x, y, one, JaroWinkler.normalized_similarity, score_cutoff=_cutoff((0.9,))
            )
            close = np.zeros(cl.shape[0], dtype=bool)
            close[one] = sims >= 0.9
            out |= close
        return out


def _translation(source: Encoded, target: Encoded) -> npt.NDArray[np.int64]:
    """Per code of ``source``, the code of the same value in ``target`` (-2 if absent).

    Examples:
        >>> from c360._encode import encode
        >>> _translation(encode(pl.Series(["lee", "ann"])), encode(pl.Series(["ann", "bo"]))).size
        2
    """
    mine = pl.DataFrame({"v": source.values}).with_row_index("i")
    theirs = pl.DataFrame({"v": target.values}).with_row_index("j")
    joined = mine.join(theirs, on="v", how="left").sort("i")
    return joined["j"].cast(pl.Int64).fill_null(-2).to_numpy()


@dataclass(frozen=True, slots=True)
class LevenshteinAtThresholds(Comparison):
    """Exact, then Damerau-Levenshtein distance at ascending thresholds, else.

    Examples:
        >>> LevenshteinAtThresholds("postcode", (1, 2)).labels()
        ('else', 'damerau<=2', 'damerau<=1', 'exact')
    """

    thresholds: tuple[int, ...] = (1, 2)

    def labels(self) -> tuple[str, ...]:
        """Levels: else, largest distance ... smallest distance, exact."""
        return ("else", *(f"damerau<={t}" for t in reversed(self.thresholds)), "exact")

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        enc, cl, cr, lv, null = self._start(data)
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        cutoff = max(self.thresholds)
        dist = _similarity(
            enc, cl, cr, rest, DamerauLevenshtein.distance, dtype=np.int32, score_cutoff=cutoff + 1
        )
        lv[rest] = _grade(dist, self.thresholds, distance=True)
        lv[exact] = len(self.thresholds) + 1
        return lv


@dataclass(frozen=True, slots=True)
class TokenSetAtThresholds(Comparison):
    """Exact, then RapidFuzz token-set ratio at descending thresholds, else.

    For full names and addresses, where words move around.

    Examples:
        >>> TokenSetAtThresholds("address_line1").labels()
        ('else', 'token_set>=0.7', 'token_set>=0.9', 'exact')
    """

    thresholds: tuple[float, ...] = (0.9, 0.7)

    def labels(self) -> tuple[str, ...]:
        """Levels in order of agreement."""
        return ("else", *(f"token_set>={t:g}" for t in reversed(self.thresholds)), "exact")

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        enc, cl, cr, lv, null = self._start(data)
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        cutoff = _cutoff(self.thresholds) * 100.0
        sims = (
            _similarity(
                enc, cl, cr, rest, fuzz.token_set_ratio, score_cutoff=cutoff,
                may_reach=token_set_may_reach(cutoff),
            )
            / 100.0
        )  # fmt: skip
        lv[rest] = _grade(sims, self.thresholds)
        lv[exact] = len(self.thresholds) + 1
        return lv


@dataclass(frozen=True, slots=True)
class DateComparison(Comparison):
    """Dates by their parts: exact, swapped, one typo, one part differs, within a year, else.

    A mistyped birth date is usually wrong in one part only: the year
    (1958 / 1258, 1925 / 2002), the month (12 / 04) or the day (05 / 11), or
    has day and month swapped. Levels, most specific first: ``exact``;
    ``day_month_swapped``; ``one_typo`` (one character substituted or two
    adjacent ones transposed in ``YYYY-MM-DD``, always within one part);
    ``one_part_differs`` (two of year, month and day equal); ``within_1y``;
    ``else``. The model learns each weight: a single typo is rarer among
    strangers than any different day of the same month and year.

    Examples:
        >>> DateComparison("date_of_birth").labels()
        ('else', 'within_1y', 'one_part_differs', 'one_typo', 'day_month_swapped', 'exact')
    """

    def labels(self) -> tuple[str, ...]:
        """Levels in order of agreement."""
        return ("else", "within_1y", "one_part_differs", "one_typo", "day_month_swapped", "exact")

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        enc, cl, cr, lv, null = self._start(data)
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        dl, dr = data.numeric(self.column)
        lv[rest & (np.abs(dl - dr) <= 365)] = 1
        y, m, d = _date_parts(enc)
        if y.shape[0]:
            a = np.where(cl < 0, 0, cl)
            b = np.where(cr < 0, 0, cr)
            ya, yb, ma, mb, da, db = y[a], y[b], m[a], m[b], d[a], d[b]
            same = (ya == yb).astype(np.int8) + (ma == mb) + (da == db)
            part = rest & (same == 2) & (ya >= 0)
            lv[part] = 2
            # one edit is always within one part of an ISO date
            dist = _similarity(
                enc, cl, cr, part, DamerauLevenshtein.distance, dtype=np.int32, score_cutoff=2
            )
            typo = np.zeros(len(data), dtype=bool)
            typo[part] = dist <= 1
            lv[typo] = 3
            lv[rest & (ya == yb) & (ma == db) & (da == mb) & (ma >= 0)] = 4
        lv[exact] = 5
        return lv


#: Up to this many distinct values, date parts are read in Python.
_SMALL_VALUES = 64


def _iso_parts(value: str | None) -> tuple[int, int, int]:
    """Year, month, day of an ISO date string; -1s when it is not one.

    Examples:
        >>> _iso_parts("1975-12-01"), _iso_parts("x"), _iso_parts(None)
        ((1975, 12, 1), (-1, -1, -1), (-1, -1, -1))
    """
    if value is None:
        return (-1, -1, -1)
    try:
        d = datetime.date.fromisoformat(value)
    except ValueError:
        return (-1, -1, -1)
    return (d.year, d.month, d.day)


def _date_parts(enc: Encoded) -> tuple[npt.NDArray[np.int64], ...]:
    """Year, month and day of every distinct value (-1 where it is not a date), cached."""
    cached = enc._cache.get("date_parts")
    if cached is None and enc.values.len() <= _SMALL_VALUES:
        # a few values (one new record's pairs): plain Python, no polars query
        parts = [_iso_parts(v) for v in enc.values.cast(pl.String).to_list()]
        cached = tuple(np.array([p[i] for p in parts], dtype=np.int64) for i in range(3))
        enc._cache["date_parts"] = cached
    if cached is None:
        vals = enc.values
        if vals.dtype != pl.Date:
            # values are ISO strings (the column cast from Date); anything else is -1
            vals = vals.cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
        cached = tuple(
            part.fill_null(-1).cast(pl.Int64).to_numpy()
            for part in (vals.dt.year(), vals.dt.month(), vals.dt.day())
        )
        enc._cache["date_parts"] = cached
    return cached  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class EmailComparison(Comparison):
    """Email: exact, same user part at another domain, else.

    The user part often embeds the name ("jsmith", "davis.joseph"), so family
    members' addresses are close in spelling; only an exactly equal user part
    counts as partial agreement.

    Examples:
        >>> EmailComparison("email").labels()
        ('else', 'user_exact', 'exact')
    """

    user_column: str = field(default="email_user", kw_only=True)

    def labels(self) -> tuple[str, ...]:
        """Levels in order of agreement."""
        return ("else", "user_exact", "exact")

    def tf_levels(self) -> tuple[tuple[int, str], ...]:
        """A common user part ("john.smith") at two domains is weak evidence."""
        return ((1, self.user_column),) if self.tf_adjust else ()

    def columns(self) -> tuple[str, ...]:
        """Columns read."""
        return (self.column, self.user_column)

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        _, cl, cr, lv, null = self._start(data)
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        if self.user_column in data.records.columns:
            ul, ur = data.codes(self.user_column)
            lv[rest & (ul >= 0) & (ul == ur)] = 1
        lv[exact] = 2
        return lv


@dataclass(frozen=True, slots=True)
class PhoneComparison(Comparison):
    """Phone numbers (E.164): exact, one digit typo or transposition, else.

    Examples:
        >>> PhoneComparison("phone").labels()
        ('else', 'damerau<=1', 'exact')
    """

    def labels(self) -> tuple[str, ...]:
        """Levels in order of agreement."""
        return ("else", "damerau<=1", "exact")

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        enc, cl, cr, lv, null = self._start(data)
        exact = (cl == cr) & ~null
        rest = ~null & ~exact
        dist = _similarity(
            enc, cl, cr, rest, DamerauLevenshtein.distance, dtype=np.int32, score_cutoff=2
        )
        lv[rest] = _grade(dist, (1,), distance=True)
        lv[exact] = 2
        return lv


@dataclass(frozen=True, slots=True)
class PhoneDigitsComparison(Comparison):
    """Phone numbers that could not be validated, compared by their digits: exact, else.

    ``phone_digits`` (see ``c360.standardize``) keeps a canonical digit string
    of every number, valid or not. Two records with the same digits in a
    number ``phonenumbers`` rejects (an unassigned area code, a national
    number read in the wrong country) still share evidence; its weight is
    learned apart from validated E.164 agreement, which the phone or location
    comparison already judges: a pair whose numbers are *both* valid is
    null here, so nothing is counted twice.

    Examples:
        >>> PhoneDigitsComparison("phone_digits").labels()
        ('else', 'exact')
    """

    validated_column: str = field(default="phone", kw_only=True)

    def labels(self) -> tuple[str, ...]:
        """Levels in order of agreement."""
        return ("else", "exact")

    def columns(self) -> tuple[str, ...]:
        """Columns read."""
        return (self.column, self.validated_column)

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels."""
        _, cl, cr, lv, null = self._start(data)
        if self.validated_column in data.records.columns:
            vl, vr = data.codes(self.validated_column)
            both = (vl >= 0) & (vr >= 0)
            null = null | both
            lv[both] = -1
        lv[~null & (cl == cr)] = 1
        return lv


@dataclass(frozen=True, slots=True)
class LocationComparison(Comparison):
    """Where a person lives and answers the phone, as *one* comparison.

    Address, postcode, city and phone are strongly correlated among
    non-matches: family members and neighbours share them. Compared
    separately, their agreements multiply into overwhelming evidence and
    merge whole households; compared as one variable, the model learns how
    often each *combination* agrees among non-matches. Levels, weakest first:
    one per combination of agreeing parts (city, postcode, phone, address), so
    that ``u`` learned from random pairs captures how correlated the parts
    are in the data at hand (nested in real addresses, independent in FEBRL).

    Args:
        column: the street-address column (``address_line1``), or ``None``-like
            when absent from the data (then only the other columns are used).
        postcode_column: the postcode column, or ``None``.
        city_column: the city column, or ``None``.
        phone_column: the phone column, or ``None``.

    Examples:
        >>> LocationComparison("address_line1").labels()[:4]
        ('else', 'city', 'postcode', 'city+postcode')
    """

    postcode_column: str | None = field(default="postcode", kw_only=True)
    city_column: str | None = field(default="city", kw_only=True)
    phone_column: str | None = field(default="phone", kw_only=True)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", "location")

    _PARTS: ClassVar[tuple[str, ...]] = ("city", "postcode", "phone", "address")

    def labels(self) -> tuple[str, ...]:
        """One level per combination of agreeing parts (0 = none agree)."""
        out = []
        for mask in range(16):
            parts = [p for i, p in enumerate(self._PARTS) if mask >> i & 1]
            out.append("+".join(parts) if parts else "else")
        return tuple(out)

    def columns(self) -> tuple[str, ...]:
        """Columns read."""
        return tuple(
            c for c in (self.column, self.postcode_column, self.city_column, self.phone_column) if c
        )

    def levels(self, data: PairData) -> Int8Array:
        """Compute levels: a bit per agreeing part (city 1, postcode 2, phone 4, address 8)."""
        n = len(data)
        comparable = np.zeros(n, dtype=bool)
        mask = np.zeros(n, dtype=np.int8)
        parts: list[tuple[str | None, Comparison]] = [
            (self.city_column, JaroWinklerAtThresholds(self.city_column or "city", (0.9,))),
            (self.postcode_column, ExactMatch(self.postcode_column or "postcode")),
            (self.phone_column, PhoneComparison(self.phone_column or "phone")),
            (self.column, TokenSetAtThresholds(self.column or "address_line1", (0.9,))),
        ]
        for bit, (col, cmp) in enumerate(parts):
            if not col or col not in data.records.columns:
                continue
            lv = cmp.levels(data)
            comparable |= lv >= 0
            mask[lv >= 1] |= np.int8(1 << bit)
        return np.where(comparable, mask, np.int8(-1)).astype(np.int8)


_TYPES: dict[str, type[Comparison]] = {
    c.__name__: c
    for c in (
        ExactMatch,
        JaroWinklerAtThresholds,
        NameComparison,
        LevenshteinAtThresholds,
        TokenSetAtThresholds,
        DateComparison,
        EmailComparison,
        PhoneComparison,
        PhoneDigitsComparison,
        LocationComparison,
    )
}


def comparison_from_dict(spec: Mapping[str, Any]) -> Comparison:
    """Rebuild a comparison from [`Comparison.to_dict`][Comparison.to_dict] output.

    Examples:
        >>> c = JaroWinklerAtThresholds("city", (0.9,))
        >>> comparison_from_dict(c.to_dict()) == c
        True
    """
    spec = dict(spec)
    kind = spec.pop("type", None)
    cls = _TYPES.get(str(kind))
    if cls is None:
        raise ConfigError(
            f"unknown comparison type {kind!r}", hint=f"one of: {', '.join(sorted(_TYPES))}"
        )
    column = spec.pop("column")
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
    return cls(column, **kwargs)


def compare(
    pairs: pl.DataFrame,
    records: pl.DataFrame,
    comparisons: Sequence[Comparison],
    *,
    encodings: dict[str, Encoded] | None = None,
) -> pl.DataFrame:
    """Compute the level of every comparison for every pair.

    Args:
        pairs: frame with integer ``_rid_l`` and ``_rid_r`` columns.
        records: matching frame whose row ``i`` is the record with ``_rid == i``.
        comparisons: the comparisons to compute.
        encodings: a cache of column encodings shared across calls.

    Returns:
        ``pairs`` with one ``gamma_<name>`` Int8 column per comparison.
    """
    rid_l = pairs.get_column("_rid_l").to_numpy()
    rid_r = pairs.get_column("_rid_r").to_numpy()
    data = PairData(records, rid_l, rid_r, encodings)
    cols = [pl.Series(c.output, c.levels(data), dtype=pl.Int8) for c in comparisons]
    return pairs.with_columns(cols)
