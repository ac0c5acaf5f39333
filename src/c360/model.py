"""Scoring: a Fellegi-Sunter model trained without labels.

For each comparison level the model holds ``m`` (the probability of the level
among true matches) and ``u`` (among non-matches). A pair's match weight is
``log2(λ/(1-λ)) + Σ log2(m/u)`` over its non-null levels (a missing value adds
nothing), plus a term-frequency adjustment on exact agreement of common or
rare values; its match probability is the logistic of the weight in base 2.

Training (:func:`train`):

1. ``u_random`` is estimated from uniformly random record pairs, which are
   almost all non-matches. It is kept for reporting, sanity checks and the
   term-frequency adjustment, and it initialises EM.
2. ``m``, ``u`` and the prior ``λ`` of the *candidate* population are fitted by
   EM on the counts of distinct comparison patterns (never on every pair). The
   prior comes out of EM over all candidate pairs, so it does not depend on
   exact agreement of any field: a data set where every duplicate has one
   corrupted field still gets the right prior.
3. The learned parameters are checked for sanity (agreement must be more
   likely among matches than non-matches; λ in a plausible range; EM
   converged). A failed check is reported in :attr:`FellegiSunterModel.warnings`;
   a level whose parameters are unusable falls back to neutral weight, so
   weights are never NaN.

Example:
    >>> import numpy as np
    >>> g = np.array([[2, 2]] * 50 + [[0, 0]] * 900 + [[2, 0]] * 25 + [[0, 2]] * 25, dtype=np.int8)
    >>> params = fit_em(g, [3, 3], u_init=[np.array([0.9, 0.05, 0.05])] * 2)
    >>> round(params.lam, 2)
    0.05
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._encode import Encoded
from c360._progress import progress
from c360.comparisons import Comparison, PairData, comparison_from_dict
from c360.exceptions import ModelError

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
    """

    max_iterations: int = 200
    tolerance: float = 1e-5
    u_sample_pairs: int = 1_000_000
    seed: int = 42
    smoothing: float = 0.5
    tf_adjust: bool = True
    tf_max_bits: float = 8.0

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class EMResult:
    """Parameters fitted by :func:`fit_em`."""

    m: list[FloatArray]
    u: list[FloatArray]
    lam: float
    iterations: int
    converged: bool
    log_likelihood: float


def _patterns(gamma: npt.NDArray[np.int8]) -> tuple[npt.NDArray[np.int16], FloatArray]:
    """Distinct rows of the level matrix and their counts."""
    if gamma.shape[0] == 0:
        return np.zeros((0, gamma.shape[1]), dtype=np.int16), np.zeros(0)
    uniq, counts = np.unique(gamma, axis=0, return_counts=True)
    return uniq.astype(np.int16), counts.astype(np.float64)


def _log_probs(patterns: npt.NDArray[np.int16], probs: Sequence[FloatArray]) -> FloatArray:
    out = np.zeros(patterns.shape[0])
    for k, p in enumerate(probs):
        lv = patterns[:, k]
        ok = lv >= 0
        out[ok] += np.log(p[lv[ok]])
    return out


def fit_em(
    gamma: npt.NDArray[np.int8],
    n_levels: Sequence[int],
    *,
    u_init: Sequence[FloatArray],
    m_init: Sequence[FloatArray] | None = None,
    lam_init: float = 0.1,
    max_iterations: int = 200,
    tolerance: float = 1e-5,
    smoothing: float = 0.5,
    counts: FloatArray | None = None,
) -> EMResult:
    """Fit a two-class mixture (match / non-match) by EM on pattern counts.

    Args:
        gamma: level matrix (pairs x comparisons), -1 for null; or, with
            ``counts``, the distinct patterns.
        n_levels: number of levels of each comparison.
        u_init: starting ``u`` per comparison (e.g. from random pairs).
        m_init: starting ``m``; default puts most mass on the top level.
        lam_init: starting share of matches.
        max_iterations: iteration limit.
        tolerance: convergence threshold on parameter change.
        smoothing: pseudo-count per level in each M-step.
        counts: pattern counts when ``gamma`` already holds distinct patterns.

    Returns:
        The fitted parameters.
    """
    if counts is None:
        patterns, counts = _patterns(gamma)
    else:
        patterns = gamma.astype(np.int16)
    k = len(n_levels)
    if m_init is None:
        m = []
        for n in n_levels:
            w = np.exp(np.arange(n, dtype=np.float64) * 2.0)
            m.append(w / w.sum())
    else:
        m = [np.asarray(x, dtype=np.float64).copy() for x in m_init]
    u = [np.clip(np.asarray(x, dtype=np.float64), _EPS, None) for x in u_init]
    u = [x / x.sum() for x in u]
    lam = float(lam_init)
    total = float(counts.sum())
    converged = False
    it = 0
    ll = -math.inf
    if total == 0:
        return EMResult(m, u, lam, 0, False, ll)
    for it in range(1, max_iterations + 1):  # noqa: B007 - iteration count is reported
        lm = _log_probs(patterns, m) + math.log(max(lam, _EPS))
        lu = _log_probs(patterns, u) + math.log(max(1 - lam, _EPS))
        mx = np.maximum(lm, lu)
        denom = mx + np.log(np.exp(lm - mx) + np.exp(lu - mx))
        w = np.exp(lm - denom)
        ll = float((counts * denom).sum())
        cw = counts * w
        cu = counts * (1 - w)
        new_lam = float(cw.sum() / total)
        new_m, new_u = [], []
        for j in range(k):
            lv = patterns[:, j]
            ok = lv >= 0
            am = np.bincount(lv[ok], weights=cw[ok], minlength=n_levels[j]) + smoothing
            au = np.bincount(lv[ok], weights=cu[ok], minlength=n_levels[j]) + smoothing
            new_m.append(am / am.sum())
            new_u.append(au / au.sum())
        delta = max(
            abs(new_lam - lam),
            max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)),
            max(float(np.abs(a - b).max()) for a, b in zip(new_u, u, strict=True)),
        )
        m, u, lam = new_m, new_u, new_lam
        if delta < tolerance:
            converged = True
            break
    return EMResult(m, u, lam, it, converged, ll)


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

    Example:
        >>> from c360.comparisons import ExactMatch
        >>> recs = pl.DataFrame({"city": ["a", "b"] * 50})
        >>> u = estimate_u(recs, [ExactMatch("city")], n_pairs=20_000)
        >>> bool(abs(u[0][1] - 0.5) < 0.05)
        True
    """
    n = records.height
    if n < 2:
        return [np.full(len(c.labels()), 1 / len(c.labels())) for c in comparisons]
    rng = np.random.default_rng(seed)
    size = int(min(n_pairs, n * (n - 1) // 2 * 4))
    a = rng.integers(0, n, size=size, dtype=np.int64)
    b = rng.integers(0, n, size=size, dtype=np.int64)
    keep = a != b
    if link_type == "link" and "source" in records.columns:
        src = records.get_column("source").to_numpy()
        keep &= src[a] != src[b]
    a, b = a[keep], b[keep]
    data = PairData(records, a, b, encodings)
    out = []
    for c in comparisons:
        lv = c.levels(data)
        n_levels = len(c.labels())
        cnt = np.bincount(lv[lv >= 0], minlength=n_levels).astype(np.float64) + 0.5
        out.append(cnt / cnt.sum())
    return out


@dataclass(slots=True, kw_only=True)
class FellegiSunterModel:
    """A trained Fellegi-Sunter model: what was learned, never the user's config.

    Attributes:
        comparisons: the comparisons, in column order of the level matrix.
        m: per comparison, probability of each level among matches.
        u: per comparison, probability of each level among candidate non-matches.
        u_random: per comparison, probability of each level among random pairs.
        lam: share of matches among candidate pairs (the prior).
        iterations: EM iterations run.
        converged: whether EM converged.
        warnings: sanity-check findings, in plain words.
        tf: per comparison name, the term-frequency table (value, frequency)
            used for exact-match adjustments.
    """

    comparisons: tuple[Comparison, ...]
    m: list[FloatArray]
    u: list[FloatArray]
    u_random: list[FloatArray]
    lam: float
    iterations: int = 0
    converged: bool = True
    warnings: list[str] = field(default_factory=list)
    tf: dict[str, pl.DataFrame] = field(default_factory=dict)
    tf_max_bits: float = 8.0

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

    def parameters(self) -> pl.DataFrame:
        """One row per comparison level: m, u, u_random and the weight.

        Example:
            >>> from c360.comparisons import ExactMatch
            >>> mdl = FellegiSunterModel(comparisons=(ExactMatch("email"),),
            ...     m=[np.array([0.1, 0.9])], u=[np.array([0.99, 0.01])],
            ...     u_random=[np.array([0.999, 0.001])], lam=0.01)
            >>> mdl.parameters()["weight"].round(2).to_list()
            [-3.31, 6.49]
        """
        rows = []
        for c, m, u, ur, w in zip(
            self.comparisons, self.m, self.u, self.u_random, self.level_weights(), strict=True
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
                        "weight": float(w[lv]),
                    }
                )
        return pl.DataFrame(rows)

    # --- scoring -------------------------------------------------------------
    def tf_adjustment(
        self, k: int, data: PairData, levels: npt.NDArray[np.int8]
    ) -> FloatArray | None:
        """Term-frequency adjustment (bits) of comparison ``k`` for exact matches."""
        c = self.comparisons[k]
        table = self.tf.get(c.name)
        if table is None:
            return None
        top = len(c.labels()) - 1
        exact = levels == top
        if not exact.any():
            return None
        enc = data.encoded(c.column)
        cl = enc.codes[data.rid_l[exact]]
        values = enc.values.to_frame("value").join(
            table, on="value", how="left", maintain_order="left"
        )
        freq = values.get_column("frequency").to_numpy()
        baseline = float(table.get_column("frequency").pow(2).sum())
        f = freq[cl]
        adj = np.zeros(levels.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            bits = np.log2(baseline / f)
        bits = np.where(np.isfinite(bits), bits, 0.0)
        adj[exact] = np.clip(bits, -self.tf_max_bits, self.tf_max_bits)
        return adj

    def score_levels(
        self, gamma: npt.NDArray[np.int8], data: PairData | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Match weight and probability for a level matrix (pairs x comparisons)."""
        weights = self.level_weights()
        total = np.full(gamma.shape[0], self.prior_weight)
        for k, w in enumerate(weights):
            lv = gamma[:, k]
            ok = lv >= 0
            total[ok] += w[lv[ok]]
            if data is not None:
                adj = self.tf_adjustment(k, data, lv)
                if adj is not None:
                    total += adj
        prob = 1.0 / (1.0 + np.exp2(-np.clip(total, -200, 200)))
        return total, prob

    # --- persistence ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (no pickle)."""
        return {
            "format": "c360.fellegi_sunter/1",
            "lambda": self.lam,
            "iterations": self.iterations,
            "converged": self.converged,
            "warnings": list(self.warnings),
            "tf_max_bits": self.tf_max_bits,
            "comparisons": [
                {
                    "spec": c.to_dict(),
                    "labels": list(c.labels()),
                    "m": m.tolist(),
                    "u": u.tolist(),
                    "u_random": ur.tolist(),
                    "tf": (
                        {"value": self.tf[c.name]["value"].to_list(),
                         "frequency": self.tf[c.name]["frequency"].to_list()}
                        if c.name in self.tf else None
                    ),
                }
                for c, m, u, ur in zip(self.comparisons, self.m, self.u, self.u_random, strict=True)
            ],
        }

    def save(self, path: str | Path) -> None:
        """Write the model as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FellegiSunterModel:
        """Inverse of :meth:`to_dict`."""
        try:
            comps = tuple(comparison_from_dict(c["spec"]) for c in data["comparisons"])
            tf = {
                c.name: pl.DataFrame(
                    {"value": d["tf"]["value"], "frequency": d["tf"]["frequency"]},
                    schema={"value": pl.String, "frequency": pl.Float64},
                )
                for c, d in zip(comps, data["comparisons"], strict=True)
                if d.get("tf")
            }
            return cls(
                comparisons=comps,
                m=[np.asarray(c["m"], dtype=np.float64) for c in data["comparisons"]],
                u=[np.asarray(c["u"], dtype=np.float64) for c in data["comparisons"]],
                u_random=[np.asarray(c["u_random"], dtype=np.float64) for c in data["comparisons"]],
                lam=float(data["lambda"]),
                iterations=int(data.get("iterations", 0)),
                converged=bool(data.get("converged", True)),
                warnings=list(data.get("warnings", [])),
                tf=tf,
                tf_max_bits=float(data.get("tf_max_bits", 8.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid model description: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> FellegiSunterModel:
        """Read a model written by :meth:`save`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"cannot read model file: {exc}", path=str(p)) from exc
        return cls.from_dict(data)


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
    if not (1e-5 < em.lam < 0.95):
        warnings.append(f"estimated share of matches among candidate pairs is implausible ({em.lam:.3g})")
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


def train(
    records: pl.DataFrame,
    comparisons: Sequence[Comparison],
    gamma: npt.NDArray[np.int8],
    *,
    config: ModelConfig | None = None,
    link_type: str = "dedupe_and_link",
    encodings: dict[str, Encoded] | None = None,
    progress_enabled: bool | None = None,
) -> FellegiSunterModel:
    """Train a Fellegi-Sunter model without labels.

    Args:
        records: the matching frame (row ``i`` is record ``_rid == i``).
        comparisons: comparisons, in the column order of ``gamma``.
        gamma: level matrix of all candidate pairs.
        config: training options.
        link_type: which random pairs are valid for ``u`` (``link`` excludes
            same-source pairs).
        encodings: shared column encodings.
        progress_enabled: show progress.

    Returns:
        The trained model; check its ``warnings``.
    """
    cfg = config or ModelConfig()
    enc = encodings if encodings is not None else {}
    with progress("Estimating u from random pairs", enabled=progress_enabled):
        u_random = estimate_u(
            records, comparisons, n_pairs=cfg.u_sample_pairs, seed=cfg.seed,
            link_type=link_type, encodings=enc,
        )
    n_levels = [len(c.labels()) for c in comparisons]
    with progress("Training (EM on comparison patterns)", enabled=progress_enabled):
        em = fit_em(
            gamma,
            n_levels,
            u_init=u_random,
            max_iterations=cfg.max_iterations,
            tolerance=cfg.tolerance,
            smoothing=cfg.smoothing,
        )
    if gamma.shape[0] == 0:
        em = EMResult(
            [np.full(n, 1 / n) for n in n_levels], u_random, 1e-6, 0, False, -math.inf
        )
    m, warnings = _sanity(comparisons, em, u_random)
    if gamma.shape[0] == 0:
        warnings = ["no candidate pairs: nothing to learn, every record is its own customer"]
    tf: dict[str, pl.DataFrame] = {}
    if cfg.tf_adjust:
        data = PairData(records, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), enc)
        for c in comparisons:
            if c.tf_adjust:
                tf[c.name] = _tf_table(data.encoded(c.column))
    return FellegiSunterModel(
        comparisons=tuple(comparisons),
        m=m,
        u=em.u,
        u_random=u_random,
        lam=em.lam,
        iterations=em.iterations,
        converged=em.converged,
        warnings=warnings,
        tf=tf,
        tf_max_bits=cfg.tf_max_bits,
    )
