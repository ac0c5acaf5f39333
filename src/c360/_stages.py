"""The stages of a resolution, shared by full runs and incremental batches.

A full run ([`c360.resolve`][c360.resolve]) is this sequence::

    load → standardise → junk → configure → block + compare → train → score
         → decide → cluster → coherence → IDs → profiles

and an incremental batch ([`ResolutionState.resolve`][c360.incremental.ResolutionState.resolve])
runs the same functions on a batch and its candidates: [`standardise`][standardise],
``c360.rules.null_junk``, ``Pairs.compared``, [`score`][c360._engine.score] (model and
deterministic rules), [`cluster`][cluster]'s guards with the run's reliable
cannot-link columns, and links counted as certain by the same rule. The
heavy stages go through an [`Engine`][c360._engine.Engine].

Each stage here is a function over typed values: the matching frame, an
[`EffectiveConfig`][c360.config.EffectiveConfig] (every choice made),
[`Pairs`][c360._engine.Pairs] and [`Scored`][c360._engine.Scored].
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._canonical import RID
from c360._coherence import CoherenceResult, cohere
from c360._engine import LOCAL, Engine, Pairs, Scored
from c360._events import emit
from c360._memory import release_free_memory
from c360._output import MODEL
from c360.cluster import ClusterConfig, cluster_links
from c360.config import EffectiveConfig, ResolveConfig
from c360.exceptions import ConfigError, tag_stage
from c360.model import FellegiSunterModel

__all__ = [
    "Clustered",
    "LinkTables",
    "Metrics",
    "check_model_columns",
    "cluster",
    "configure",
    "frozen_model",
    "link_tables",
    "matching_columns",
    "new_run_id",
    "reliable_cannot_link",
    "standardise",
    "train_model",
    "with_model_comparisons",
]

IntArray = npt.NDArray[np.int64]


class Metrics:
    """Rows in and out and seconds per stage: ``Resolution.metrics``, and stage events.

    Args:
        processor_time: record ``cpu_seconds`` per stage; off where the work
            runs in other processes (the Spark engine's executors), whose
            time this process cannot see.
    """

    def __init__(self, *, processor_time: bool = True) -> None:
        self.rows: list[dict[str, Any]] = []
        self.processor_time = processor_time

    @contextmanager
    def stage(self, name: str, rows_in: int) -> Iterator[dict[str, Any]]:
        """Time one stage; the caller fills ``rows_out`` and any figures of its own.

        ``seconds`` is wall time; ``cpu_seconds`` the processor time of the
        whole process over it (every thread: polars', RapidFuzz's, ours), so
        ``cpu_seconds / seconds`` is how many cores the stage kept busy.
        """
        entry: dict[str, Any] = {"stage": name, "rows_in": rows_in, "rows_out": None}
        start = time.perf_counter()
        cpu = time.process_time()
        try:
            yield entry
        except BaseException as exc:
            tag_stage(exc, name)  # for the run history: the stage a failed run failed in
            raise
        finally:
            release_free_memory()
            entry["seconds"] = round(time.perf_counter() - start, 4)
            if self.processor_time:
                entry["cpu_seconds"] = round(time.process_time() - cpu, 4)
            self.rows.append(entry)
            emit(name, **{k: v for k, v in entry.items() if k != "stage"})


def new_run_id() -> str:
    """A run identifier: the UTC time to the microsecond (``20261204T171500123456Z``)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def standardise(valid: pl.DataFrame, cfg: ResolveConfig) -> pl.DataFrame:
    """The matching frame of accepted records: every column standardised, keys derived.

    A few records (an incremental call) are standardised value by value in
    Python when their values allow it (see ``c360._standardize._rows``); many
    column by column in parallel (see ``c360._standardize._frame.standardize_frame``).
    """
    from c360._frames import SPREAD_MIN_ROWS, engine_for
    from c360._standardize._frame import standardize_frame
    from c360._standardize._rows import MAX_ROWS, standardize_rows
    from c360.standardize import standardize

    if valid.height <= MAX_ROWS:
        rows = standardize_rows(valid, cfg.standardize)
        if rows is not None:
            return rows
    if valid.height >= SPREAD_MIN_ROWS:
        # large frames: the columns side by side (one query runs its Python
        # cleaners one after another)
        return standardize_frame(valid, cfg.standardize)
    return standardize(valid.lazy(), cfg.standardize).collect(engine=engine_for(valid))


def matching_columns(columns: Sequence[str], cfg: EffectiveConfig) -> list[str]:
    """The columns of a matching frame that a run with ``cfg`` reads, in frame order.

    Standardising derives every key it may need (phonetic codes, e-mail
    domains...); once comparisons and blocking are chosen, the rest only
    takes memory through every later stage (a string column costs at least
    16 bytes a row: 16 MB a million records).
    """
    keep = {RID, "source", "record_id"}
    keep.update(c for comp in cfg.comparisons for c in comp.columns())
    keep.update(k for rule in cfg.blocking.rules for k in rule.keys)
    keep.update(cfg.deterministic)
    keep.update(cfg.cluster.cannot_link)
    keep.update(cfg.junk.identifier_columns)
    keep.update(cfg.junk.location_columns)
    return [c for c in columns if c in keep]


def configure(
    records: pl.DataFrame,
    cfg: ResolveConfig,
    *,
    pair_counts: Callable[[set[str]], Callable[[tuple[str, ...]], int]] | None = None,
    n_records: int | None = None,
) -> EffectiveConfig:
    """``cfg`` with blocking, comparisons and deterministic columns chosen where not given.

    ``records`` may be a sample of ``n_records`` records (the Spark
    engine's); ``pair_counts``, given the columns present, then returns how
    to count a blocking rule's pairs over all of them (see
    ``c360.autoconfig.auto_blocking``). It is only called when blocking is
    chosen here.
    """
    from c360.autoconfig import auto_blocking, auto_comparisons, present_columns

    if isinstance(cfg, EffectiveConfig):
        return cfg
    have = present_columns(records)
    comparisons = (
        cfg.comparisons if cfg.comparisons is not None else auto_comparisons(records, have=have)
    )
    blocking = cfg.blocking or auto_blocking(
        records,
        link_type=cfg.link_type,
        have=have,
        pair_count=None if pair_counts is None else pair_counts(have),
        n_records=n_records,
    )
    deterministic = (
        cfg.deterministic
        if cfg.deterministic is not None
        else tuple(c for c in ("national_id", "email", "phone") if c in have)
    )
    return cfg.with_choices(
        blocking=blocking, comparisons=tuple(comparisons), deterministic=deterministic
    )


def train_model(
    records: pl.DataFrame, cfg: EffectiveConfig, pairs: Pairs, *, keys: Any, show: bool
) -> FellegiSunterModel:
    """A model trained on ``pairs`` of ``records`` with ``cfg``'s options, as a full run trains.

    ``keys``: the blocking rules' key hashes (``c360.blocking.rule_keys``),
    which training reuses to tell candidate pairs from the others.
    """
    from c360.model import train

    return train(
        records,
        cfg.comparisons,
        pairs.levels,
        config=cfg.model,
        link_type=cfg.link_type,
        blocking=cfg.blocking,
        encodings=pairs.encodings,
        progress_enabled=show,
        blocking_keys=keys,
    )


def reliable_cannot_link(cfg: ClusterConfig, model: FellegiSunterModel) -> ClusterConfig:
    """Keep only the cannot-link columns whose values rarely disagree among matches."""
    keep = []
    for col in cfg.cannot_link:
        for c, m in zip(model.comparisons, model.m, strict=True):
            if c.column == col and float(m[0]) <= cfg.max_match_disagreement:
                keep.append(col)
                break
    return replace(cfg, cannot_link=tuple(keep))


@dataclass(frozen=True, slots=True)
class Clustered:
    """Cluster labels per record, the links the guards refused, and what coherence did.

    Attributes:
        labels: per record key, the smallest key of its cluster.
        refused: links refused by the guards and by coherence (``_rid_l``,
            ``_rid_r``, ``probability``, ``reason``).
        coherence: the coherence check's result (``None`` when it is off).
        config: the clustering options as applied (reliable cannot-link columns only).
    """

    labels: IntArray
    refused: pl.DataFrame
    coherence: CoherenceResult | None
    config: ClusterConfig


def cluster(
    scored: Scored,
    model: FellegiSunterModel,
    cfg: EffectiveConfig,
    *,
    metrics: Metrics,
    engine: Engine = LOCAL,
) -> Clustered:
    """Components of the accepted links under the guards, then the coherence check.

    ``cluster`` and ``coherence`` stages are timed into ``metrics``.
    """
    records = scored.pairs.records
    n = records.height
    cluster_cfg = reliable_cannot_link(cfg.cluster, model)
    left, right, certain = scored.links()
    with metrics.stage("cluster", n) as m:
        result = cluster_links(
            n, left, right, certain, config=cluster_cfg, records=records,
            connect=engine.components,
        )  # fmt: skip
        m["rows_out"] = customers(result.labels)
        m["refused_links"] = result.refused.height
        m["cannot_link"] = list(cluster_cfg.cannot_link)
    labels, refused = result.labels, result.refused
    coherent: CoherenceResult | None = None
    if cluster_cfg.coherence and n:
        with metrics.stage("coherence", n) as m:
            coherent = _cohere(labels, left, right, certain, scored, model, cluster_cfg)
            labels = coherent.labels
            if coherent.refused.height:
                refused = pl.concat([refused, coherent.refused])
            m["rows_out"] = customers(labels)
            m["pairs"] = coherent.pairs
            m["split_clusters"] = coherent.split
            m["skipped_clusters"] = coherent.skipped
    return Clustered(labels, refused, coherent, cluster_cfg)


def _cohere(
    labels: IntArray,
    left: IntArray,
    right: IntArray,
    certain: npt.NDArray[np.float64],
    scored: Scored,
    model: FellegiSunterModel,
    cfg: ClusterConfig,
) -> CoherenceResult:
    """Weigh every pair inside each cluster with the model; split what does not hold."""
    data = scored.pairs.data

    def weigh(a: IntArray, b: IntArray) -> npt.NDArray[Any]:
        pairs = Pairs.compared(data.records, a, b, model.comparisons, encodings=data.encodings)
        weight, _ = model.score_levels(pairs.levels, pairs.data)
        return weight

    prior = model.prior_weight
    target = prior / 2 if cfg.coherence_prior is None else cfg.coherence_prior
    pairs = scored.pairs
    return cohere(
        labels,
        left,
        right,
        certain,
        weigh,
        prior_shift=target - prior,
        max_size=cfg.coherence_max_size,
        certain=scored.by_rule[scored.accepted],
        candidates=(pairs.left, pairs.right, scored.weight),
    )


def customers(labels: IntArray) -> int:
    """Distinct cluster labels (record keys, below the number of records), without a sort.

    Examples:
        >>> customers(np.array([0, 0, 2, 3, 3])), customers(np.zeros(0, dtype=np.int64))
        (3, 0)
    """
    return int(np.count_nonzero(np.bincount(labels))) if labels.shape[0] else 0


@dataclass(frozen=True, slots=True)
class LinkTables:
    """What a run keeps of its pairs once they are clustered.

    Attributes:
        links: the accepted pairs (see ``c360._links._links_table``).
        near_misses: up to 1,000 pairs with probability in (0.05, 0.95),
            closest to the threshold first.
        refused: links refused by the guards and coherence, with record keys.
        estimates: label-free precision and recall, link- and customer-level.
        histogram: match weights of all candidate pairs, binned.
        candidate_pairs: number of candidate pairs.
        link_rows: each link's two rows of ``keys``, in the order of ``links``;
            ``None`` where the links were sorted by their string keys instead.
    """

    links: pl.DataFrame
    near_misses: pl.DataFrame
    refused: pl.DataFrame
    estimates: dict[str, Any]
    histogram: pl.DataFrame
    candidate_pairs: int
    link_rows: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]] | None = None


def link_tables(
    scored: Scored, clustered: Clustered, keys: pl.DataFrame, cfg: EffectiveConfig
) -> LinkTables:
    """The links, near misses, refused links, estimates and weight histogram of a run.

    The last use of the pair arrays: ``scored.probability`` is overwritten in
    place (deterministic links counted certain) rather than copied, which
    would be another array as long as the pairs (270 MB at 34M pairs).
    """
    from c360._coherence import cluster_estimates
    from c360._links import (
        _attach_keys,
        _histogram,
        _links_table,
        _rule_certain,
        estimate_quality,
        keys_in_row_order,
        row_order,
    )

    pairs = scored.pairs
    left, right, levels = pairs.left, pairs.right, pairs.levels
    prob, weight, rule = scored.probability, scored.weight, scored.rule

    # the keys sorted by record row (a full run's): pairs in key order by their rows
    by_rows = keys_in_row_order(keys)

    def ordered(rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        return rows[row_order(left[rows], right[rows])] if by_rows else rows

    def table(rows: npt.NDArray[np.intp]) -> pl.DataFrame:
        return _links_table(
            keys, left[rows], right[rows], weight[rows], prob[rows], rule[rows], levels[rows],
            cfg.comparisons, ordered=by_rows,
        )  # fmt: skip

    accepted = ordered(np.flatnonzero(scored.accepted))
    links = table(accepted)
    link_rows = None
    if by_rows:
        link_rows = (left[accepted].astype(np.uint32), right[accepted].astype(np.uint32))
    del accepted
    unsure = np.flatnonzero((prob > 0.05) & (prob < 0.95))
    if unsure.size > 1000:
        closest = np.argsort(np.abs(prob[unsure] - cfg.cluster.threshold), kind="stable")[:1000]
        unsure = unsure[closest]
    near = table(ordered(unsure))
    refused = clustered.refused
    if refused.height:
        refused = _attach_keys(refused, keys)
    link_quality = estimate_quality(prob, scored.accepted)
    certain = _rule_certain(prob, scored.by_rule, in_place=True)
    cluster_quality = cluster_estimates(clustered.labels, left, right, certain, clustered.coherence)
    return LinkTables(
        links=links,
        near_misses=near,
        refused=refused,
        estimates={**link_quality, **cluster_quality},
        histogram=_histogram(weight),
        candidate_pairs=len(pairs),
        link_rows=link_rows,
    )


def frozen_model(model: str | Path | FellegiSunterModel | None) -> FellegiSunterModel | None:
    """The model ``resolve(model=...)`` names: an object, a ``model.json`` or a run directory."""
    if model is None or isinstance(model, FellegiSunterModel):
        return model
    if not isinstance(model, str | Path):
        raise ConfigError(
            f"model must be a FellegiSunterModel or a path; got {type(model).__name__}",
            hint="pass a previous run's model.json, its output directory, or res.model",
        )
    path = Path(model)
    if path.is_dir():
        path = path / MODEL
    if not path.is_file():
        raise ConfigError(
            f"no model file at {path}",
            hint="pass a previous run's model.json or its output directory",
        )
    return FellegiSunterModel.load(path)


def with_model_comparisons(cfg: ResolveConfig, model: FellegiSunterModel) -> ResolveConfig:
    """``cfg`` with the model's comparisons; other comparisons in ``cfg`` are an error."""
    mine = tuple(model.comparisons)
    if cfg.comparisons is not None and tuple(cfg.comparisons) != mine:
        raise ConfigError(
            "the configuration's comparisons differ from the model's "
            f"({[c.name for c in cfg.comparisons]} against {[c.name for c in mine]})",
            hint="drop [[comparisons]] from the configuration: a reused model brings its own",
        )
    return replace(cfg, comparisons=mine)


def check_model_columns(model: FellegiSunterModel, records: pl.DataFrame) -> None:
    """A reused model's comparisons must find their columns in the records."""
    missing = sorted(
        {c for comp in model.comparisons for c in comp.columns()} - set(records.columns)
    )
    if missing:
        raise ConfigError(
            f"the model compares columns these records do not have: {', '.join(missing)}",
            column=missing[0],
            hint="resolve records with the columns the model was trained on, or train a new model",
        )
