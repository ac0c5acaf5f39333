"""Scoring: a Fellegi-Sunter model trained without labels.

For each comparison level the model holds ``m`` (the probability of the level
among true matches) and ``u`` (among non-matches). A pair's match weight is
``log2(λ/(1-λ)) + Σ log2(m/u)`` over its non-null levels (a missing value adds
nothing), plus a term-frequency adjustment on exact agreement of common or
rare values; its match probability is the logistic of the weight in base 2.

Training ([`train`][train]):

1. ``u_random`` is estimated from uniformly random record pairs, which are
   almost all non-matches. It is kept for reporting, sanity checks and the
   term-frequency adjustment, and it initialises EM.
2. ``m`` and the prior ``λ`` are fitted by EM on the counts of distinct
   comparison patterns (never on every pair): those of the candidate pairs,
   and those of the pairs blocking never proposes (estimated from the random
   sample, counted as strangers only). The prior comes out of EM, so it does
   not depend on exact agreement of any field: a data set where every
   duplicate has one corrupted field still gets the right prior.
3. The learned parameters are checked for sanity (agreement must be more
   likely among matches than non-matches; λ in a plausible range; EM
   converged). A failed check is reported in ``FellegiSunterModel.warnings``;
   a level whose parameters are unusable falls back to neutral weight, so
   weights are never NaN.

Examples:
    >>> import numpy as np
    >>> g = np.array([[2, 2, 2]] * 50 + [[0, 0, 0]] * 900 + [[2, 0, 0]] * 25 + [[0, 2, 0]] * 25,
    ...              dtype=np.int8)
    >>> params = fit_em(g, [3, 3, 3], u_init=[np.array([0.9, 0.05, 0.05])] * 3)
    >>> round(params.lam, 2)
    0.05
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._display import MAX_ROWS, Block, fmt_count, level_bars
from c360._encode import Encoded
from c360._progress import progress
from c360.comparisons import Comparison, PairData, comparison_from_dict
from c360.exceptions import ModelError

if TYPE_CHECKING:
    from c360._typing import LinkType
    from c360.blocking import BlockingConfig

__all__ = [
    "EMResult",
    "FellegiSunterModel",
    "ModelConfig",
    "estimate_u",
    "fit_em",
    "train",
]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-6
#: Columns that identify a person rather than the context they share with relatives.
PERSONAL = frozenset({"first_name", "middle_name", "full_name", "date_of_birth", "national_id"})
#: Columns two namesakes share: the name, and email user parts made from it.
NAMES = frozenset({"first_name", "last_name", "full_name", "email"})


def shares_by_relation(class_name: str, column: str) -> bool:
    """Whether pairs of an extra class share values of ``column`` because of who they are.

    Household members share a surname (or an address, a family mailbox)
    because they are a household, as a person's records share it because they
    are one person: the rarer the surname, the less likely two *strangers*
    share it, but not two relatives. Their first names and birth dates, and
    the names of namesakes, agree only by chance, like strangers'. The
    term-frequency adjustment of a value (see
    [`FellegiSunterModel.tf_adjustment`][c360.model.FellegiSunterModel.tf_adjustment])
    therefore weighs against strangers and chance-alike classes only.

    Examples:
        >>> shares_by_relation("related", "last_name"), shares_by_relation("related", "first_name")
        (True, False)
        >>> shares_by_relation("namesake", "last_name")
        False
    """
    return class_name == "related" and column not in PERSONAL


def _extra_classes(comparisons: Sequence[Comparison]) -> dict[str, list[bool]]:
    """Pinned comparisons of the related-persons and namesakes classes."""
    return {
        "related": [c.column in PERSONAL and c.column != "date_of_birth" for c in comparisons],
        "namesake": [c.column not in NAMES for c in comparisons],
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelConfig:
    """How the model is trained.

    Attributes:
        max_iterations: EM iteration limit.
        tolerance: EM stops when no parameter moves more than this.
        u_sample_pairs: random pairs drawn to estimate ``u_random``.
        seed: random seed for the u sample (results are deterministic).
        smoothing: pseudo-count added to every level in each M-step, so that
            no probability is exactly 0 or 1.
        tf_adjust: apply term-frequency adjustments where comparisons ask for it.
        tf_max_bits: cap on the absolute size of a term-frequency adjustment.
        related_class: model related persons (households, neighbours) and
            namesakes as non-match classes of their own (see [`fit_em`][fit_em]).
    """

    max_iterations: int = 1000
    tolerance: float = 1e-5
    u_sample_pairs: int = 500_000
    seed: int = 42
    smoothing: float = 0.5
    tf_adjust: bool = True
    tf_max_bits: float = 8.0
    related_class: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class EMResult:
    """Parameters fitted by [`fit_em`][fit_em].

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

#: Pairs scored at a time by ``score_levels`` (8 MB per float temporary).
_SCORE_SLICE = 1 << 20

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
    """[`_distinct_rows`][c360.model._distinct_rows] by ``np.unique`` over rows."""
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


def _random_pairs(
    records: pl.DataFrame, n_pairs: int, seed: int, link_type: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Uniformly random distinct record pairs (cross-source only for ``link``)."""
    n = records.height
    rng = np.random.default_rng(seed)
    size = int(min(n_pairs, max(n * (n - 1) // 2 * 4, 0)))
    a = rng.integers(0, max(n, 1), size=size, dtype=np.int64)
    b = rng.integers(0, max(n, 1), size=size, dtype=np.int64)
    keep = a != b
    if "source" in records.columns and link_type in ("link", "dedupe"):
        src = records.get_column("source").to_numpy()
        keep &= (src[a] != src[b]) if link_type == "link" else (src[a] == src[b])
    return np.minimum(a, b)[keep], np.maximum(a, b)[keep]


def _level_shares(gamma: npt.NDArray[np.int8], n_levels: Sequence[int]) -> list[FloatArray]:
    out = []
    for k, n in enumerate(n_levels):
        lv = gamma[:, k]
        cnt = np.bincount(lv[lv >= 0], minlength=n).astype(np.float64) + 0.5
        out.append(cnt / cnt.sum())
    return out


def estimate_u(
    records: pl.DataFrame,
    comparisons: Sequence[Comparison],
    *,
    n_pairs: int = 1_000_000,
    seed: int = 42,
    link_type: str = "dedupe_and_link",
    encodings: dict[str, Encoded] | None = None,
) -> list[FloatArray]:
    """Estimate ``u`` per comparison level from uniformly random record pairs.

    Random pairs are non-matches with overwhelming probability, so the share
    of each level among them estimates ``u``. Null levels are excluded.

    Examples:
        >>> from c360.comparisons import ExactMatch
        >>> recs = pl.DataFrame({"city": ["a", "b"] * 50})
        >>> u = estimate_u(recs, [ExactMatch("city")], n_pairs=20_000)
        >>> bool(abs(u[0][1] - 0.5) < 0.05)
        True
    """
    if records.height < 2:
        return [np.full(len(c.labels()), 1 / len(c.labels())) for c in comparisons]
    a, b = _random_pairs(records, n_pairs, seed, link_type)
    data = PairData(records, a, b, encodings)
    gamma = levels_matrix(comparisons, data)
    return _level_shares(gamma, [len(c.labels()) for c in comparisons])


def levels_matrix(comparisons: Sequence[Comparison], data: PairData) -> npt.NDArray[np.int8]:
    """The level of every comparison for every pair of ``data`` (pairs x comparisons)."""
    if not comparisons:
        return np.zeros((len(data), 0), dtype=np.int8)
    return np.column_stack([c.levels(data) for c in comparisons]).astype(np.int8)


#: File name suffix of the term-frequency tables written beside a saved model.
TF_SUFFIX = "_tf.parquet"
#: Seed of the value hashes that index the term-frequency tables (see ``_tf_bits``).
_TF_SEED = 20261203


@dataclass(slots=True, kw_only=True)
class FellegiSunterModel:
    """A trained Fellegi-Sunter model: what was learned, never the user's config.

    Attributes:
        comparisons: the comparisons, in column order of the level matrix.
        m: per comparison, probability of each level among matches.
        u: per comparison, probability of each level among candidate non-matches.
        u_random: per comparison, probability of each level among random pairs.
        lam: prior probability that a pair of the comparison space is a match.
        total_pairs: number of pairs in the comparison space λ refers to.
        iterations: EM iterations run.
        converged: whether EM converged.
        warnings: sanity-check findings, in plain words.
        tf: per column, the term-frequency table (value, frequency) used for
            the adjusted levels of comparisons (see ``Comparison.tf_levels``).
        others: extra non-match classes (name, level probabilities per
            comparison, prior): related persons and namesakes, see [`fit_em`][fit_em].
    """

    comparisons: tuple[Comparison, ...]
    m: list[FloatArray]
    u: list[FloatArray]
    u_random: list[FloatArray]
    lam: float
    total_pairs: int = 0
    iterations: int = 0
    converged: bool = True
    warnings: list[str] = field(default_factory=list)
    tf: dict[str, pl.DataFrame] = field(default_factory=dict)
    tf_max_bits: float = 8.0
    others: list[tuple[str, list[FloatArray], float]] = field(default_factory=list)
    _tf_index: dict[str, tuple[npt.NDArray[np.uint64], FloatArray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    # --- weights -------------------------------------------------------------
    @property
    def prior_weight(self) -> float:
        """``log2(λ / (1 - λ))``."""
        lam = min(max(self.lam, 1e-12), 1 - 1e-12)
        return math.log2(lam / (1 - lam))

    def level_weights(self) -> list[FloatArray]:
        """``log2(m/u)`` per comparison level (0 where a level is unusable)."""
        out = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(np.clip(m, 1e-12, 1) / np.clip(u, 1e-12, 1))
            out.append(np.where(np.isfinite(w), w, 0.0))
        return out

    def _display(self) -> Block:
        weights = self.level_weights()
        rows = [
            ("comparisons", f"{len(self.comparisons)}"),
            (
                "prior",
                f"λ = {self.lam:.3g} ({self.prior_weight:+.1f} bits) over "
                f"{fmt_count(self.total_pairs)} pairs",
            ),
            (
                "training",
                f"{self.iterations} EM iterations, "
                + ("converged" if self.converged else "NOT converged"),
            ),
        ]
        if self.others:
            classes = ", ".join(f"{n} (prior {p:.2g})" for n, _, p in self.others)
            rows.append(("other classes", classes))
        if self.tf:
            rows.append(("term frequencies", ", ".join(sorted(self.tf))))
        header = ["comparison", "levels", "exact agreement", "disagreement"]
        body = [
            [c.name, len(w), f"{w[-1]:+.1f} bits", f"{w[0]:+.1f} bits"]
            for c, w in zip(self.comparisons, weights, strict=True)
        ]
        charts = "".join(
            f"<div style='display:inline-block;margin:.4em 1.2em .4em 0'>"
            f"<div>{html.escape(c.name)}</div>"
            + level_bars(zip(c.labels(), m, u, strict=True))
            + "</div>"
            for c, m, u in list(zip(self.comparisons, self.m, self.u, strict=True))[:MAX_ROWS]
        )
        legend = "<div style='font-size:11px;color:#555'>bars: m (dark), u (light) per level</div>"
        return Block(
            "c360 FellegiSunterModel",
            rows,
            notes=list(self.warnings),
            table=(header, body),
            extra_html=legend + charts,
        )

    def __repr__(self) -> str:
        block = self._display()
        lines = [block.text()]
        for name, levels, exact, other in block.table[1][:MAX_ROWS] if block.table else []:
            lines.append(f"  {name:<14} {levels} levels, exact {exact}, else {other}"[:100])
        if len(self.comparisons) > MAX_ROWS:
            lines.append(f"  … and {len(self.comparisons) - MAX_ROWS} more comparisons")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self._display().html()

    def parameters(self) -> pl.DataFrame:
        """One row per comparison level: m, u, u_random and the weight.

        Examples:
            >>> from c360.comparisons import ExactMatch
            >>> mdl = FellegiSunterModel(comparisons=(ExactMatch("email"),),
            ...     m=[np.array([0.1, 0.9])], u=[np.array([0.99, 0.01])],
            ...     u_random=[np.array([0.999, 0.001])], lam=0.01)
            >>> mdl.parameters()["weight"].round(2).to_list()
            [-3.31, 6.49]
        """
        rows = []
        for k, (c, m, u, ur, w) in enumerate(
            zip(self.comparisons, self.m, self.u, self.u_random, self.level_weights(), strict=True)
        ):
            for lv, label in enumerate(c.labels()):
                rows.append(
                    {
                        "comparison": c.name,
                        "level": lv,
                        "label": label,
                        "m": float(m[lv]),
                        "u": float(u[lv]),
                        "u_random": float(ur[lv]),
                        **{name: float(probs[k][lv]) for name, probs, _ in self.others},
                        "weight": float(w[lv]),
                    }
                )
        return pl.DataFrame(rows)

    # --- scoring -------------------------------------------------------------
    def tf_adjustment(
        self,
        k: int,
        data: PairData,
        levels: npt.NDArray[np.int8],
        *,
        bit_cache: dict[str, FloatArray] | None = None,
    ) -> FloatArray | None:
        """Term-frequency adjustment (bits) of comparison ``k`` on its adjusted levels.

        A pair agreeing on value ``v`` gets ``log2(Σ p² / p_v)``: positive for
        rare values, negative for common ones, capped at ``tf_max_bits``.
        ``bit_cache`` keeps each column's bits per encoded value across calls
        over slices of the same pairs.
        """
        c = self.comparisons[k]
        adj: FloatArray | None = None
        for level, column in c.tf_levels():
            table = self.tf.get(column)
            hit = levels == level
            if table is None or not hit.any() or column not in data.records.columns:
                continue
            enc = data.encoded(column)
            per_value = None if bit_cache is None else bit_cache.get(column)
            if per_value is None:
                per_value = self._tf_bits(column, table, enc.values)
                if bit_cache is not None:
                    bit_cache[column] = per_value
            codes = enc.codes[data.rid_l[hit]]
            bits = per_value[np.maximum(codes, 0)]
            bits[codes < 0] = 0.0
            if adj is None:
                adj = np.zeros(levels.shape[0])
            adj[hit] = bits
        return adj

    def _tf_bits(self, column: str, table: pl.DataFrame, values: pl.Series) -> FloatArray:
        """Term-frequency bits of each of ``values`` (0 for a value not in the table).

        The table becomes, once per column, sorted 64-bit hashes of its values
        with their bits; each call then costs a hash and a binary search per
        value, whether it scores millions of pairs or one new record's few.
        """
        index = self._tf_index.get(column)
        if index is None:
            freq = table.get_column("frequency").to_numpy()
            baseline = float(np.square(freq).sum())
            with np.errstate(divide="ignore", invalid="ignore"):
                bits = np.log2(baseline / freq)
            bits = np.where(np.isfinite(bits), bits, 0.0)
            np.clip(bits, -self.tf_max_bits, self.tf_max_bits, out=bits)
            hashes = table.get_column("value").hash(_TF_SEED).to_numpy()
            order = np.argsort(hashes, kind="stable")
            index = (hashes[order], bits[order])
            self._tf_index[column] = index
        keys, table_bits = index
        if keys.shape[0] == 0 or values.len() == 0:
            return np.zeros(values.len())
        h = values.cast(pl.String).hash(_TF_SEED).to_numpy()
        pos = np.minimum(np.searchsorted(keys, h), keys.shape[0] - 1)
        found = (keys[pos] == h) & values.is_not_null().to_numpy()
        return np.where(found, table_bits[pos], 0.0)

    def score_levels(
        self, gamma: npt.NDArray[np.int8], data: PairData | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Match weight (log2 odds) and probability for a level matrix (pairs x comparisons).

        The odds are ``λ·m(g) / (λ_u·u(g) + Σ λ_c·c(g))`` for a level vector ``g`` over the extra
        non-match classes ``c``. The class likelihoods are computed once per
        distinct level pattern; the term-frequency adjustment, which depends on
        the values, is then applied per pair: a value's ``t`` bits divide
        ``u(g)`` by ``2**t``, and ``c(g)`` too unless the class shares that
        field by relation (see [`shares_by_relation`][c360.model.shares_by_relation]),
        so a rare surname is evidence against strangers, not against a household.
        """
        patterns, inverse, _ = _distinct_rows(gamma)
        terms = self._pattern_terms(patterns)
        n = gamma.shape[0]
        weight = np.empty(n)
        prob = np.empty(n)
        bits: dict[str, FloatArray] = {}  # term-frequency bits per value, once per column
        # a slice of pairs at a time, into the two outputs: every temporary is a
        # few MB that the allocator reuses, where whole-run temporaries (270 MB
        # each at 34M pairs) were fresh memory, faulted in page by page
        for start in range(0, n, _SCORE_SLICE):
            sl = slice(start, min(start + _SCORE_SLICE, n))
            part = None if data is None else data.slice(sl)
            self._score_slice(gamma[sl], inverse[sl], terms, part, bits, weight[sl], prob[sl])
        return weight, prob

    def _score_slice(
        self,
        gamma: npt.NDArray[np.int8],
        inverse: npt.NDArray[np.intp],
        terms: tuple[FloatArray, FloatArray, list[FloatArray | None]],
        data: PairData | None,
        bits: dict[str, FloatArray],
        weight: FloatArray,
        prob: FloatArray,
    ) -> None:
        """``score_levels`` of some pairs, written into ``weight`` and ``prob``."""
        num, den_u, den_o = terms
        # term frequencies: per pair, bits against strangers, and against each
        # extra class for the comparisons it shares only by chance
        tf_all: FloatArray | None = None
        tf_cls: list[FloatArray | None] = [None for _ in self.others]
        if data is not None:
            for k, comp in enumerate(self.comparisons):
                adj = self.tf_adjustment(k, data, gamma[:, k], bit_cache=bits)
                if adj is None:
                    continue
                tf_all = adj if tf_all is None else tf_all + adj
                for i, (name, _, _) in enumerate(self.others):
                    if not shares_by_relation(name, comp.column):
                        cur = tf_cls[i]
                        tf_cls[i] = adj if cur is None else cur + adj
        den = den_u[inverse]
        if tf_all is not None:
            den -= tf_all
        for lo, shift in zip(den_o, tf_cls, strict=True):
            if lo is not None:
                other = lo[inverse]
                if shift is not None:
                    other -= shift
                np.logaddexp2(den, other, out=den)
        np.take(num, inverse, out=weight)
        weight -= den
        weight[~np.isfinite(weight)] = 0.0
        np.clip(weight, -200, 200, out=prob)
        np.negative(prob, out=prob)
        np.exp2(prob, out=prob)
        prob += 1.0
        np.divide(1.0, prob, out=prob)

    def _pattern_terms(
        self, patterns: npt.NDArray[np.int16]
    ) -> tuple[FloatArray, FloatArray, list[FloatArray | None]]:
        """Per level pattern, log2 of ``λ·m``, ``λ_u·u`` and each extra class's ``λ_c·c``.

        A class with prior 0 gives ``None``.
        """
        log_m = np.zeros(patterns.shape[0])
        log_u = np.zeros(patterns.shape[0])
        log_o = [np.zeros(patterns.shape[0]) for _ in self.others]
        for k in range(len(self.comparisons)):
            lv = patterns[:, k]
            ok = lv >= 0
            log_m[ok] += np.log2(np.clip(self.m[k], 1e-300, 1))[lv[ok]]
            log_u[ok] += np.log2(np.clip(self.u[k], 1e-300, 1))[lv[ok]]
            for lo, (_, probs, _) in zip(log_o, self.others, strict=True):
                lo[ok] += np.log2(np.clip(probs[k], 1e-300, 1))[lv[ok]]
        lam = min(max(self.lam, 1e-300), 1.0)
        lam_u = max(1.0 - self.lam - sum(p for _, _, p in self.others), 1e-300)
        classes: list[FloatArray | None] = [
            lo + math.log2(prior) if prior > 0 else None
            for lo, (_, _, prior) in zip(log_o, self.others, strict=True)
        ]
        return log_m + math.log2(lam), log_u + math.log2(lam_u), classes

    # --- persistence ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (no pickle), term-frequency tables included."""
        data = self._describe()
        data["tf"] = {
            col: {"value": t["value"].to_list(), "frequency": t["frequency"].to_list()}
            for col, t in self.tf.items()
        }
        return data

    def _describe(self) -> dict[str, Any]:
        """Everything but the term-frequency tables (which can be millions of values)."""
        return {
            "format": "c360.fellegi_sunter/1",
            "lambda": self.lam,
            "total_pairs": self.total_pairs,
            "iterations": self.iterations,
            "converged": self.converged,
            "warnings": list(self.warnings),
            "tf_max_bits": self.tf_max_bits,
            "classes": [
                {"name": name, "prior": prior, "probabilities": [p.tolist() for p in probs]}
                for name, probs, prior in self.others
            ],
            "comparisons": [
                {
                    "spec": c.to_dict(),
                    "labels": list(c.labels()),
                    "m": m.tolist(),
                    "u": u.tolist(),
                    "u_random": ur.tolist(),
                }
                for c, m, u, ur in zip(self.comparisons, self.m, self.u, self.u_random, strict=True)
            ],
        }

    def save(self, path: str | Path) -> list[Path]:
        """Write the model as JSON, its term-frequency tables beside it as Parquet.

        The tables (one row per distinct value of a name or e-mail column: a
        million rows on large data) go to ``<stem>_tf.parquet`` (``column, value,
        frequency``), which the JSON names; [`load`][load] reads both. Returns
        the paths written.
        """
        p = Path(path)
        data = self._describe()
        written = [p]
        if self.tf:
            tf_path = p.with_name(f"{p.stem}{TF_SUFFIX}")
            pl.concat(
                [
                    t.select(pl.lit(col).alias("column"), "value", "frequency")
                    for col, t in self.tf.items()
                ]
            ).write_parquet(tf_path)
            data["tf"] = {"file": tf_path.name, "columns": list(self.tf)}
            written.append(tf_path)
        p.write_text(json.dumps(data, indent=1), encoding="utf-8")
        return written

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FellegiSunterModel:
        """Inverse of [`to_dict`][to_dict]."""
        try:
            comps = tuple(comparison_from_dict(c["spec"]) for c in data["comparisons"])
            for comp, c in zip(comps, data["comparisons"], strict=True):
                if len(c["m"]) != len(comp.labels()):
                    raise ModelError(
                        f"comparison {comp.name!r} has {len(comp.labels())} levels in this "
                        f"version of c360 but {len(c['m'])} in the saved model",
                        hint="the model was saved by another c360 version; train it again",
                    )
            tables = data.get("tf") or {}
            if "file" in tables:  # written by save(): read by load(), which sets them
                tables = {}
            tf = {
                col: pl.DataFrame(
                    {"value": t["value"], "frequency": t["frequency"]},
                    schema={"value": pl.String, "frequency": pl.Float64},
                )
                for col, t in tables.items()
            }
            return cls(
                comparisons=comps,
                m=[np.asarray(c["m"], dtype=np.float64) for c in data["comparisons"]],
                u=[np.asarray(c["u"], dtype=np.float64) for c in data["comparisons"]],
                u_random=[np.asarray(c["u_random"], dtype=np.float64) for c in data["comparisons"]],
                lam=float(data["lambda"]),
                total_pairs=int(data.get("total_pairs", 0)),
                iterations=int(data.get("iterations", 0)),
                converged=bool(data.get("converged", True)),
                warnings=list(data.get("warnings", [])),
                tf=tf,
                tf_max_bits=float(data.get("tf_max_bits", 8.0)),
                others=[
                    (
                        str(c["name"]),
                        [np.asarray(p, dtype=np.float64) for p in c["probabilities"]],
                        float(c["prior"]),
                    )
                    for c in data.get("classes", [])
                ],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid model description: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> FellegiSunterModel:
        """Read a model written by [`save`][save]."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"cannot read model file: {exc}", path=str(p)) from exc
        model = cls.from_dict(data)
        tables = data.get("tf") if isinstance(data, Mapping) else None
        if isinstance(tables, Mapping) and "file" in tables:
            tf_path = p.with_name(str(tables["file"]))
            try:
                long = pl.read_parquet(tf_path)
                model.tf = {
                    str(col): long.filter(pl.col("column") == col).select(
                        pl.col("value").cast(pl.String), pl.col("frequency").cast(pl.Float64)
                    )
                    for col in tables.get("columns", [])
                }
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise ModelError(
                    f"cannot read the model's term-frequency tables: {exc}", path=str(tf_path)
                ) from exc
        return model


def _tf_table(enc: Encoded) -> pl.DataFrame:
    return pl.DataFrame(
        {"value": enc.values.cast(pl.String), "frequency": enc.frequency()},
        schema={"value": pl.String, "frequency": pl.Float64},
    )


def _sanity(
    comparisons: Sequence[Comparison], em: EMResult, u_random: Sequence[FloatArray]
) -> tuple[list[FloatArray], list[str]]:
    """Check learned parameters; return usable ``m`` and plain-language warnings."""
    warnings: list[str] = []
    if not em.converged:
        warnings.append(
            f"EM did not converge in {em.iterations} iterations; parameters may be imprecise"
        )
    if not (0 < em.lam < 0.95):
        warnings.append(f"estimated share of matching pairs is implausible ({em.lam:.3g})")
    m_out = []
    for c, m, u in zip(comparisons, em.m, em.u, strict=True):
        top = len(m) - 1
        if m[top] <= u[top]:
            warnings.append(
                f"{c.name}: exact agreement is not more likely among matches (m={m[top]:.3g}) "
                f"than among non-matches (u={u[top]:.3g}); the comparison is given no weight"
            )
            m = u.copy()
        elif m[0] > u[0] and m[0] > 0.5:
            warnings.append(
                f"{c.name}: disagreement looks more likely among matches than non-matches "
                f"(m={m[0]:.3g}, u={u[0]:.3g}); check the comparison"
            )
        m_out.append(m)
    return m_out, warnings


#: Columns whose exact agreement all but identifies a person: their pairs start EM's m.
ANCHORS = frozenset({"email", "national_id", "phone", "phone_digits"})
#: Fewest anchored pairs from which a comparison's starting m is taken.
_MIN_ANCHORED = 50


def _anchored_m(
    gamma: npt.NDArray[np.int8], comparisons: Sequence[Comparison], n_levels: Sequence[int]
) -> list[FloatArray] | None:
    """EM's starting ``m``: level shares among pairs that agree exactly on an identifier.

    Pairs with the same e-mail, national ID or phone number are (nearly all)
    one person, so their levels on the *other* comparisons are a fair first
    guess of ``m``, far better than "mostly exact" when namesakes or
    relatives outnumber the duplicates among the candidates, where EM can
    otherwise settle on the wrong class. A comparison's own anchor is left
    out of its shares; without enough anchored pairs the default start is kept.
    """
    exact = [k for k, c in enumerate(comparisons) if c.column in ANCHORS and gamma.shape[0]]
    if not exact:
        return None
    tops = {k: gamma[:, k] == n_levels[k] - 1 for k in exact}

    def anchored_without(column: str) -> npt.NDArray[np.bool_]:
        out = np.zeros(gamma.shape[0], dtype=bool)
        for j, top in tops.items():
            if comparisons[j].column != column:
                out |= top
        return out

    # every identifier's pairs, once; an identifier's own comparison leaves it out
    all_anchored = anchored_without("")
    out: list[FloatArray] = []
    used = False
    for k, n in enumerate(n_levels):
        column = comparisons[k].column
        anchored = anchored_without(column) if column in ANCHORS else all_anchored
        lv = gamma[anchored, k]
        lv = lv[lv >= 0]
        if lv.shape[0] >= _MIN_ANCHORED:
            out.append(_normalise(np.bincount(lv, minlength=n).astype(np.float64) + 0.5))
            used = True
        else:
            out.append(_normalise(np.exp(np.arange(n, dtype=np.float64) * 2.0)))
    return out if used else None


def train(
    records: pl.DataFrame,
    comparisons: Sequence[Comparison],
    gamma: npt.NDArray[np.int8],
    *,
    config: ModelConfig | None = None,
    link_type: LinkType = "dedupe_and_link",
    blocking: BlockingConfig | None = None,
    encodings: dict[str, Encoded] | None = None,
    progress_enabled: bool | None = None,
    blocking_keys: Any = None,
) -> FellegiSunterModel:
    """Train a Fellegi-Sunter model without labels.

    ``u`` comes from uniformly random pairs. ``m`` and the prior come from EM
    over the *whole* comparison space: the candidate pairs' patterns (counted
    exactly) plus the patterns of the non-candidate pairs, estimated from the
    random sample (sampled pairs that blocking would not produce, scaled to
    their true number). Including the complement removes the bias blocking
    puts into the candidate set (non-matches that agree on blocked fields are
    exactly as frequent as ``u`` predicts), so the model does not depend on
    the blocking design, and the prior is the share of matches among all
    pairs, estimated without any exact-agreement rule. The non-candidate
    pairs count as strangers only (each sampled one stands for up to a
    million pairs, so a sampled pair of relatives would otherwise become a
    million matches); EM's ``m`` starts from pairs agreeing exactly on an
    identifier (see ``_anchored_m``).

    Args:
        records: the matching frame (row ``i`` is record ``_rid == i``).
        comparisons: comparisons, in the column order of ``gamma``.
        gamma: level matrix of all candidate pairs.
        config: training options.
        link_type: the comparison space (``link`` excludes same-source pairs).
        blocking: the blocking that produced ``gamma``; without it EM runs on
            the candidates alone with ``u`` re-estimated among them.
        encodings: shared column encodings.
        progress_enabled: show progress.
        blocking_keys: the blocking rules' key groups (``c360.blocking.rule_keys``)
            if already computed.

    Returns:
        The trained model; check its ``warnings``.
    """
    from c360.blocking import is_candidate, total_pairs

    cfg = config or ModelConfig()
    enc = encodings if encodings is not None else {}
    n_levels = [len(c.labels()) for c in comparisons]
    n_total = (
        total_pairs(records, link_type)
        if "source" in records.columns or link_type == "dedupe_and_link"
        else records.height * (records.height - 1) // 2
    )
    with progress("Estimating u from random pairs", enabled=progress_enabled):
        if records.height >= 2:
            a, b = _random_pairs(records, cfg.u_sample_pairs, cfg.seed, link_type)
            sample = levels_matrix(comparisons, PairData(records, a, b, enc))
        else:
            a = b = np.zeros(0, dtype=np.int64)
            sample = np.zeros((0, len(comparisons)), dtype=np.int8)
        u_random = _level_shares(sample, n_levels)
    patterns, counts = _patterns(gamma)
    fix_u = blocking is not None
    lam_init = 0.1
    strangers: npt.NDArray[np.bool_] | None = None
    if blocking is not None and sample.shape[0]:
        cand = is_candidate(records, blocking, a, b, keys=blocking_keys)
        rest = sample[~cand]
        n_rest = max(n_total - gamma.shape[0], 0)
        if rest.shape[0] and n_rest:
            p_rest, c_rest = _patterns(rest)
            # each sampled non-candidate pair stands for n_rest / sample pairs (a
            # million at 1M records): one sampled pair of relatives would count as
            # a million matches, or a million relatives. The pairs blocking never
            # proposes are taken as strangers: they give the space its size.
            strangers = np.r_[np.zeros(patterns.shape[0], bool), np.ones(p_rest.shape[0], bool)]
            patterns = np.vstack([patterns, p_rest])
            counts = np.concatenate([counts, c_rest * (n_rest / rest.shape[0])])
        lam_init = min(0.5, records.height / max(n_total, 1))
    with progress("Training (EM on comparison patterns)", enabled=progress_enabled):
        em = fit_em(
            patterns,
            n_levels,
            u_init=u_random,
            m_init=_anchored_m(gamma, comparisons, n_levels),
            lam_init=lam_init,
            max_iterations=cfg.max_iterations,
            tolerance=cfg.tolerance,
            smoothing=cfg.smoothing,
            counts=counts,
            fix_u=fix_u,
            extra_classes=_extra_classes(comparisons) if cfg.related_class else None,
            strangers=strangers,
        )
    if gamma.shape[0] == 0:
        em = EMResult([np.full(n, 1 / n) for n in n_levels], u_random, 1e-12, 0, False, -math.inf)
    m, warnings = _sanity(comparisons, em, u_random)
    space = n_total if fix_u else gamma.shape[0]
    expected = em.lam * space
    if gamma.shape[0] == 0:
        warnings = ["no candidate pairs: nothing to learn, every record is its own customer"]
    elif expected > 20 * max(records.height, 1):
        warnings.append(
            f"the model expects {expected:,.0f} matching pairs for {records.height:,} records; "
            "that many duplicates is implausible, check the comparisons"
        )
    tf: dict[str, pl.DataFrame] = {}
    if cfg.tf_adjust:
        data = PairData(records, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), enc)
        for c in comparisons:
            for _, column in c.tf_levels():
                if column in records.columns and column not in tf:
                    tf[column] = _tf_table(data.encoded(column))
    return FellegiSunterModel(
        comparisons=tuple(comparisons),
        others=em.others,
        m=m,
        u=em.u,
        u_random=u_random,
        lam=em.lam,
        total_pairs=int(space),
        iterations=em.iterations,
        converged=em.converged,
        warnings=warnings,
        tf=tf,
        tf_max_bits=cfg.tf_max_bits,
    )
