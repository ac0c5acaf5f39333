"""Training a Fellegi-Sunter model without labels: [`train`][c360.model.train].

The steps (``u`` from random pairs, EM over the whole comparison space,
sanity checks) are described in [`c360.model`][c360.model]. This module owns
their parts outside EM: the random pairs and the ``u`` they estimate
([`estimate_u`][c360.model.estimate_u]), the level matrix of a set of pairs,
EM's starting ``m`` from pairs that agree exactly on an identifier, the
sanity checks, and the term-frequency tables the model keeps.

[`c360.model`][c360.model] imports this module and re-exports its names; the
model class and its configuration are imported from there when ``train``
runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._em import EMResult, FloatArray, _normalise, _patterns, fit_em
from c360._encode import Encoded
from c360._progress import progress
from c360.comparisons import Comparison, PairData

if TYPE_CHECKING:
    from c360._typing import LinkType
    from c360.blocking import BlockingConfig
    from c360.model import FellegiSunterModel, ModelConfig


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
    """The level of every comparison for every pair of ``data`` (pairs x comparisons).

    The levels ``c360._engine.Pairs.compared`` computes (the one place they
    are), for callers that hold a ``PairData``; its encodings are shared.
    """
    from c360._engine import Pairs

    pairs = Pairs.compared(
        data.records, data.rid_l, data.rid_r, comparisons, encodings=data.encodings
    )
    return pairs.levels


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

    # c360.model imports this module: its names are looked up when training runs
    from c360.model import FellegiSunterModel, ModelConfig, _extra_classes

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
