"""EM fitting of the Fellegi-Sunter mixture, on counts of comparison patterns.

A level matrix holds one row per pair (one column per comparison), but few
distinct rows: ``_distinct_rows`` finds them, each row's index among them and
their counts, for EM here and for scoring in [`c360.model`][c360.model].
[`fit_em`][c360.model.fit_em] fits matches, unrelated non-matches and the
extra non-match classes (related persons, namesakes) to those counts, never
to every pair, and returns an [`EMResult`][c360.model.EMResult].

The public names are documented, and imported, from
[`c360.model`][c360.model].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class EMResult:
    """Parameters fitted by [`fit_em`][c360.model.fit_em].

    ``others`` holds the extra non-match classes (name, level probabilities,
    prior), in the order of ``fit_em``'s ``extra_classes``.
    """

    m: list[FloatArray]
    u: list[FloatArray]
    lam: float
    iterations: int
    converged: bool
    log_likelihood: float
    others: list[tuple[str, list[FloatArray], float]] = field(default_factory=list)


#: Up to this many pairs, distinct level patterns are found by sorting (np.unique).
_SORT_PATTERNS_UP_TO = 50_000

#: Largest code range counted directly (a ``np.bincount`` of this many slots).
_DENSE_SPAN = 1 << 22


def _distinct_rows(
    gamma: npt.NDArray[np.integer[Any]], *, with_inverse: bool = True
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Distinct rows of the level matrix, each row's index among them, and counts.

    Without ``with_inverse`` the indexes are not built (an empty array stands
    for them): training needs only the rows and their counts, and at tens of
    millions of pairs the index is the largest array of the call.

    Rows are in lexicographic order of their levels (as ``np.unique(axis=0)``
    gives them). A few rows are packed into one integer and sorted; many are
    given mixed-radix codes, one comparison at a time, counted with
    ``np.bincount`` and renumbered densely whenever the code range would pass
    ``_DENSE_SPAN``: linear in the pairs, with no sort and no hashing, so a
    level matrix of ten million pairs takes a fraction of a second whatever
    the number of patterns.

    Examples:
        >>> rows, inverse, counts = _distinct_rows(np.array([[1, 0], [-1, 2], [1, 0]]))
        >>> rows.tolist(), inverse.tolist(), counts.tolist()
        ([[-1, 2], [1, 0]], [1, 0, 1], [1, 2])
    """
    n, k = gamma.shape
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, k), dtype=np.int16), empty.astype(np.intp), empty
    if k == 0:
        return np.zeros((1, 0), np.int16), np.zeros(n, np.intp), np.array([n], np.int64)
    if n <= _SORT_PATTERNS_UP_TO:
        # a few pairs (incremental runs): one sort, no per-range set-up
        return _sorted_rows(gamma)
    by_column = np.ascontiguousarray(gamma.T)  # one comparison's levels contiguous
    # code = index of the row's prefix among the distinct prefixes seen so far
    # (``prefixes``) in mixed radix with the levels (+1) of the columns since
    # (below _DENSE_SPAN, so 32 bits hold it: half the memory traffic of 64)
    code = np.zeros(n, dtype=np.int32)
    prefixes = np.zeros((1, 0), dtype=np.int16)
    widths: list[int] = []
    level = np.empty(n, dtype=np.int32)
    for j in range(k):
        width = int(by_column[j].max()) + 2  # levels -1 .. max
        span = prefixes.shape[0] * math.prod(widths)
        if widths and span * width > _DENSE_SPAN:
            code, prefixes, _ = _renumber(code, span, prefixes, widths)
            widths = []
        if prefixes.shape[0] * width > _DENSE_SPAN:
            # so many distinct patterns that even one more column would not fit
            # a dense count: sort instead (slower, memory linear in the pairs)
            return _sorted_rows(gamma)
        np.add(by_column[j], 1, out=level, dtype=np.int32, casting="unsafe")
        code *= width
        code += level
        widths.append(width)
    span = prefixes.shape[0] * math.prod(widths)
    inverse, rows, counts = _renumber(code, span, prefixes, widths, codes_too=with_inverse)
    return rows, inverse.astype(np.intp), counts


def _sorted_rows(
    gamma: npt.NDArray[np.integer[Any]],
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """[`_distinct_rows`][c360._em._distinct_rows] by ``np.unique`` over rows."""
    uniq, inverse, counts = np.unique(gamma, axis=0, return_inverse=True, return_counts=True)
    return uniq.astype(np.int16), inverse.reshape(-1).astype(np.intp), counts.astype(np.int64)


def _renumber(
    code: npt.NDArray[np.int32],
    span: int,
    prefixes: npt.NDArray[np.int16],
    widths: list[int],
    *,
    codes_too: bool = True,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], npt.NDArray[np.int64]]:
    """Codes in ``[0, span)`` renumbered densely in order; the rows they stand for; counts.

    Without ``codes_too`` only the rows and counts are computed (the codes
    come back empty).
    """
    counts = np.bincount(code, minlength=span)
    present = np.flatnonzero(counts)
    digits = np.empty((present.shape[0], len(widths)), dtype=np.int16)
    rest = present.copy()
    for i in range(len(widths) - 1, -1, -1):
        digits[:, i] = rest % widths[i] - 1
        rest //= widths[i]
    rows = np.hstack([prefixes[rest], digits])
    if not codes_too:
        return np.zeros(0, dtype=np.int32), rows, counts[present].astype(np.int64)
    remap = np.zeros(span, dtype=np.int32)
    remap[present] = np.arange(present.shape[0], dtype=np.int32)
    return remap[code], rows, counts[present].astype(np.int64)


def _patterns(gamma: npt.NDArray[np.integer[Any]]) -> tuple[npt.NDArray[np.int16], FloatArray]:
    """Distinct rows of the level matrix and their counts."""
    patterns, _, counts = _distinct_rows(gamma, with_inverse=False)
    return patterns, counts.astype(np.float64)


def _log_probs(patterns: npt.NDArray[np.int16], probs: Sequence[FloatArray]) -> FloatArray:
    out = np.zeros(patterns.shape[0])
    for k, p in enumerate(probs):
        lv = patterns[:, k]
        ok = lv >= 0
        out[ok] += np.log(p[lv[ok]])
    return out


def _normalise(x: FloatArray) -> FloatArray:
    out: FloatArray = x / x.sum()
    return out


def fit_em(
    gamma: npt.NDArray[np.integer[Any]],
    n_levels: Sequence[int],
    *,
    u_init: Sequence[FloatArray],
    m_init: Sequence[FloatArray] | None = None,
    lam_init: float = 0.1,
    max_iterations: int = 200,
    tolerance: float = 1e-5,
    smoothing: float = 0.5,
    counts: FloatArray | None = None,
    fix_u: bool = False,
    extra_classes: Mapping[str, Sequence[bool]] | None = None,
    strangers: npt.NDArray[np.bool_] | None = None,
) -> EMResult:
    """Fit a mixture of matches and non-matches by EM on pattern counts.

    Besides matches (``m``, all free) and unrelated pairs (``u``), extra
    non-match classes can be given as ``{name: pinned}``: ``pinned[k]`` true
    pins the class's distribution of comparison ``k`` to ``u``, the others
    are learned. They model pairs of *different* people who are alike for a
    known reason, which EM would otherwise take for matches:

    * related persons (households, neighbours) share surname, address, phone
      and email domain, but their first names are as unrelated as
      strangers': pin the personal identifiers, except the birth date
      (twins share one, spouses are of an age);
    * namesakes share a (common) name and a name-derived email user part,
      but nothing of their lives: pin everything but the name fields.

    Args:
        gamma: level matrix (pairs x comparisons), -1 for null; or, with
            ``counts``, the distinct patterns.
        n_levels: number of levels of each comparison.
        u_init: starting ``u`` per comparison (e.g. from random pairs).
        m_init: starting ``m``; default puts most mass on the top level.
        lam_init: starting share of matches (and of each extra class).
        max_iterations: iteration limit.
        tolerance: convergence threshold on parameter change; EM also stops
            when the log-likelihood changes by less than one part in 10⁹.
        smoothing: pseudo-count per level in each M-step.
        counts: pattern counts when ``gamma`` already holds distinct patterns.
        fix_u: keep ``u`` at ``u_init`` (estimate only ``m`` and the prior).
        extra_classes: extra non-match classes and their pinned comparisons.
        strangers: per pattern, whether its pairs are taken as unrelated
            strangers (they then count only towards the ``u`` class).

    Returns:
        The fitted parameters.
    """
    if counts is None:
        patterns, counts = _patterns(gamma)
    else:
        patterns = gamma.astype(np.int16)
    k = len(n_levels)
    if m_init is None:
        m = [_normalise(np.exp(np.arange(n, dtype=np.float64) * 2.0)) for n in n_levels]
    else:
        m = [np.asarray(x, dtype=np.float64).copy() for x in m_init]
    u = [_normalise(np.clip(np.asarray(x, dtype=np.float64), _EPS, None)) for x in u_init]
    pins = {
        name: list(p)
        for name, p in (extra_classes or {}).items()
        if len(p) == k and any(p) and not all(p)
    }
    names = list(pins)
    other = [[u[j].copy() if pins[c][j] else m[j].copy() for j in range(k)] for c in names]
    lam = float(lam_init)
    lam_o = [float(lam_init)] * len(names)
    total = float(counts.sum())
    converged = False
    it = 0
    ll = -math.inf

    def result() -> EMResult:
        return EMResult(
            m, u, lam, it, converged, ll, [(c, other[i], lam_o[i]) for i, c in enumerate(names)]
        )

    if total == 0:
        return result()
    tiny = 1e-300
    previous_ll = -math.inf
    for it in range(1, max_iterations + 1):  # noqa: B007 - iteration count is reported
        logs = [
            _log_probs(patterns, m) + math.log(max(lam, tiny)),
            _log_probs(patterns, u) + math.log(max(1 - lam - sum(lam_o), tiny)),
            *(
                _log_probs(patterns, o) + math.log(max(lo, tiny))
                for o, lo in zip(other, lam_o, strict=True)
            ),
        ]
        if strangers is not None:
            for i in (0, *range(2, len(logs))):
                logs[i][strangers] = -np.inf
        stack = np.vstack(logs)
        mx = stack.max(axis=0)
        denom = mx + np.log(np.exp(stack - mx).sum(axis=0))
        weights = counts * np.exp(stack - denom)
        ll = float((counts * denom).sum())
        new_lam = float(weights[0].sum() / total)
        new_lam_o = [float(weights[2 + i].sum() / total) for i in range(len(names))]

        def fit(level_weights: FloatArray, j: int) -> FloatArray:
            lv = patterns[:, j]
            ok = lv >= 0
            a = np.bincount(lv[ok], weights=level_weights[ok], minlength=n_levels[j]) + smoothing
            out: FloatArray = a / a.sum()
            return out

        new_m = [fit(weights[0], j) for j in range(k)]
        new_u = u if fix_u else [fit(weights[1], j) for j in range(k)]
        new_other = [
            [new_u[j] if pins[c][j] else fit(weights[2 + i], j) for j in range(k)]
            for i, c in enumerate(names)
        ]
        delta = max(
            abs(new_lam - lam),
            *(abs(a - b) for a, b in zip(new_lam_o, lam_o, strict=True)),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)),
            *(float(np.abs(a - b).max()) for a, b in zip(new_u, u, strict=True)),
            *(
                float(np.abs(a - b).max())
                for no, o in zip(new_other, other, strict=True)
                for a, b in zip(no, o, strict=True)
            ),
        )
        m, u, lam, lam_o, other = new_m, new_u, new_lam, new_lam_o, new_other
        # parameters of rare levels creep long after the fit has settled: also
        # stop when the log-likelihood no longer moves
        if delta < tolerance or abs(ll - previous_ll) <= 1e-9 * abs(ll):
            converged = True
            break
        previous_ll = ll
    return result()
