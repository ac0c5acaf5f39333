"""``c360.resolve``: the stages wired together.

The pipeline owns no logic of its own: it loads and validates each source,
gives every accepted record an integer key, standardises, detects junk values,
chooses blocking and comparisons when not configured, generates and compares
pairs in chunks, trains the model, scores, clusters and assigns customer IDs.
Each stage reports rows in and out and its duration in ``Resolution.metrics``.

Examples:
    >>> import polars as pl
    >>> import c360
    >>> crm = pl.DataFrame({"record_id": ["1", "2"], "first_name": ["Ann", "Bob"],
    ...                     "last_name": ["Lee", "Ray"], "email": ["ann@x.io", "bob@y.io"]})
    >>> shop = pl.DataFrame({"record_id": ["a"], "first_name": ["Anne"],
    ...                      "last_name": ["Lee"], "email": ["ANN@x.io"]})
    >>> res = c360.resolve({"crm": crm, "shop": shop})
    >>> res.unified_ids.num_rows, res.customers
    (3, 2)
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from c360._canonical import QUARANTINE_SCHEMA, RID, empty_quarantine
from c360._coherence import CoherenceResult, cluster_estimates, cohere
from c360._encode import Encoded
from c360._events import emit
from c360._inputs import _as_sources, _load_all, source_summary
from c360._links import (
    _attach_keys,
    _histogram,
    _links_table,
    _rule_certain,
    decide_links,
    estimate_quality,
)
from c360._memory import no_hugepage_stalls, release_free_memory
from c360._output import MODEL, read_previous_ids
from c360._progress import progress, resolve_progress
from c360._result import Resolution
from c360.autoconfig import auto_blocking, auto_comparisons, present_columns
from c360.blocking import generate_pairs, rule_keys, skipped_blocks
from c360.cluster import ClusterConfig, cluster_links
from c360.comparisons import PairData, compare
from c360.config import ResolveConfig
from c360.exceptions import ConfigError
from c360.ids import assign_stable_ids
from c360.model import FellegiSunterModel, levels_matrix, train
from c360.rules import detect_junk, null_junk

__all__ = ["Prepared", "Resolution", "estimate_quality", "prepare", "resolve", "source_summary"]


#: Derived columns to clear when their base value is junk.
_DERIVED = {
    "email": ("email_user", "email_domain"),
    "address_line1": ("address_number",),
    "phone": (),  # phone_digits is judged on its own (invalid numbers have no phone)
    "national_id": (),
    "postcode": (),
}


class _Metrics:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str, rows_in: int) -> Iterator[dict[str, Any]]:
        entry: dict[str, Any] = {"stage": name, "rows_in": rows_in, "rows_out": None}
        start = time.perf_counter()
        try:
            yield entry
        finally:
            release_free_memory()
            entry["seconds"] = round(time.perf_counter() - start, 4)
            self.rows.append(entry)
            emit(name, **{k: v for k, v in entry.items() if k != "stage"})


def _matching_frame(valid: pl.DataFrame, cfg: ResolveConfig) -> pl.DataFrame:
    from c360._frames import engine_for
    from c360.standardize import standardize

    return standardize(valid.lazy(), cfg.standardize).collect(engine=engine_for(valid))


def matching_columns(columns: Sequence[str], cfg: ResolveConfig) -> list[str]:
    """The columns of a matching frame that a run with ``cfg`` reads, in frame order.

    Standardising derives every key it may need (phonetic codes, e-mail
    domains...); once comparisons and blocking are chosen, the rest only
    takes memory through every later stage (a string column costs at least
    16 bytes a row: 16 MB a million records).
    """
    keep = {RID, "source", "record_id"}
    keep.update(c for comp in cfg.comparisons or () for c in comp.columns())
    if cfg.blocking is not None:
        keep.update(k for rule in cfg.blocking.rules for k in rule.keys)
    keep.update(cfg.deterministic or ())
    keep.update(cfg.cluster.cannot_link)
    keep.update(cfg.junk.identifier_columns)
    keep.update(cfg.junk.location_columns)
    return [c for c in columns if c in keep]


def _deterministic_columns(cfg: ResolveConfig, have: set[str]) -> tuple[str, ...]:
    if cfg.deterministic is not None:
        return cfg.deterministic
    return tuple(c for c in ("national_id", "email", "phone") if c in have)


@dataclass(slots=True, kw_only=True)
class Prepared:
    """Records loaded, validated, keyed and standardised, with the effective configuration.

    Attributes:
        valid: accepted records as loaded (row ``i`` has ``_rid == i``).
        records: the matching frame (standardised, junk nulled), aligned with
            ``valid``: the keys and the columns that comparisons, blocking,
            deterministic rules and guards read (see ``matching_columns``).
        quarantine: rejected rows.
        config: the effective configuration (data-driven choices filled in).
        junk: junk values found.
        notices: schema-change notices.
        sources: one row per source (see ``source_summary``).
        inferred: per source whose columns were inferred, the inference.
    """

    valid: pl.DataFrame
    records: pl.DataFrame
    quarantine: pl.DataFrame
    config: ResolveConfig
    junk: pl.DataFrame
    notices: list[Any]
    metrics: _Metrics
    sources: pl.DataFrame
    inferred: dict[str, Any] = field(default_factory=dict)

    def candidate_pairs(self) -> pl.DataFrame:
        """All candidate pairs, keyed by ``source_l, record_id_l, source_r, record_id_r``."""
        assert self.config.blocking is not None
        chunks = list(generate_pairs(self.records, self.config.blocking))
        if not chunks:
            return _attach_keys(
                pl.DataFrame(schema={"_rid_l": pl.Int64, "_rid_r": pl.Int64}),
                self.valid.select("source", "record_id"),
            )
        pairs = pl.concat(chunks).select("_rid_l", "_rid_r")
        return _attach_keys(pairs, self.valid.select("source", "record_id"))


def prepare(inputs: Any, *, config: ResolveConfig | None = None) -> Prepared:
    """Load, validate, key and standardise inputs, and choose blocking and comparisons.

    This is the first half of [`resolve`][resolve]; use it to see what c360 would
    choose for your data (``prepare(...).config.to_toml()``).
    """
    cfg = config or ResolveConfig()
    metrics = _Metrics()
    sources = _as_sources(inputs)

    with metrics.stage("load", 0) as m:
        loaded = _load_all(sources, cfg)
        m["rows_in"] = sum(x.rows_read for x in loaded)
        frames = [x.valid for x in loaded if x.valid.height]
        quarantine = pl.concat(
            [empty_quarantine(), *(x.quarantine.select(list(QUARANTINE_SCHEMA)) for x in loaded)],
            how="vertical_relaxed",
        )
        m["rows_out"] = sum(f.height for f in frames)
        m["quarantined"] = quarantine.height
    notices = [n for x in loaded for n in x.notices]

    if frames:
        valid = pl.concat(frames, how="diagonal_relaxed")
    else:
        valid = pl.DataFrame(schema={"source": pl.String, "record_id": pl.String})
    valid = valid.sort("source", "record_id").with_row_index(RID)
    n = valid.height

    with metrics.stage("standardize", n) as m:
        records = _matching_frame(valid, cfg)
        m["rows_out"] = records.height

    with metrics.stage("junk", n) as m:
        junk = detect_junk(records, cfg.junk)
        records = null_junk(records, junk)
        for col in junk["column"].unique().to_list():
            derived = [d for d in _DERIVED.get(col, ()) if d in records.columns]
            if derived:
                records = records.with_columns(
                    pl.when(pl.col(col).is_null()).then(None).otherwise(pl.col(d)).alias(d)
                    for d in derived
                )
        m["rows_out"] = junk.height

    with metrics.stage("autoconfig", n):
        have = present_columns(records)
        comparisons = (
            cfg.comparisons if cfg.comparisons is not None else auto_comparisons(records, have=have)
        )
        blocking = cfg.blocking or auto_blocking(records, link_type=cfg.link_type, have=have)
        deterministic = _deterministic_columns(cfg, have)
    effective = cfg.with_choices(
        blocking=blocking, comparisons=tuple(comparisons), deterministic=deterministic
    )
    records = records.select(matching_columns(records.columns, effective))
    return Prepared(
        valid=valid,
        records=records,
        quarantine=quarantine,
        config=effective,
        junk=junk,
        notices=notices,
        metrics=metrics,
        sources=source_summary(loaded),
        inferred={x.source.name: x.inference for x in loaded if x.inference is not None},
    )


@no_hugepage_stalls()
def resolve(
    inputs: Any,
    *,
    config: ResolveConfig | None = None,
    previous: str | Path | Resolution | pa.Table | pl.DataFrame | None = None,
    run_id: str | None = None,
    progress: bool | str | None = None,
    model: str | Path | FellegiSunterModel | None = None,
) -> Resolution:
    """Resolve records from one or more sources into unified customers.

    Args:
        inputs: a [`Source`][c360.sources.Source], a frame (polars, pyarrow or
            pandas) in canonical columns (a ``source`` column splits it into
            sources), a path, a list of these, or a mapping of source name to
            frame or Source.
        config: options; by default everything is chosen from the data.
        previous: an earlier run (its output directory, its Resolution, or its
            ``unified_ids``) whose customer IDs carry over (see [`c360.ids`][c360.ids]).
        run_id: identifier of this run (default: a timestamp).
        progress: show progress bars (``None``: on from the CLI or a notebook).
        model: a trained model to score with instead of training one: a
            [`FellegiSunterModel`][c360.model.FellegiSunterModel], a previous
            run's ``model.json`` or its output directory. Its comparisons are
            used (a ``config`` that names other comparisons is an error), its
            parameters and term frequencies are not re-estimated: production
            can freeze a model and re-resolve without retraining drift.

    Returns:
        A [`Resolution`][Resolution] with ``unified_ids``, ``links``, ``quarantine``
        and ``id_changes``.
    """
    started = datetime.datetime.now(datetime.UTC)
    show = resolve_progress(progress)
    run = run_id or _new_run_id()
    prev_ids = read_previous_ids(previous)
    frozen = _frozen_model(model)
    if frozen is not None:
        config = _with_model_comparisons(config or ResolveConfig(), frozen)
    prep = prepare(inputs, config=config)
    if frozen is not None:
        _check_columns(frozen, prep.records)
    cfg = prep.config
    assert cfg.blocking is not None
    assert cfg.comparisons is not None
    valid, records, metrics = prep.valid, prep.records, prep.metrics
    blocking, comparisons = cfg.blocking, cfg.comparisons
    deterministic = cfg.deterministic or ()
    n = valid.height

    encodings: dict[str, Encoded] = {}
    rid_l_parts: list[npt.NDArray[np.int64]] = []
    rid_r_parts: list[npt.NDArray[np.int64]] = []
    gamma_parts: list[npt.NDArray[np.int8]] = []
    with metrics.stage("block_and_compare", n) as m:
        bkeys = rule_keys(records, blocking)
        if n >= 2 and comparisons:
            with progress_bar("Comparing pairs", show) as bar:
                for chunk in generate_pairs(records, blocking, progress_enabled=show, keys=bkeys):
                    cmp = compare(chunk, records, comparisons, encodings=encodings)
                    rid_l_parts.append(chunk["_rid_l"].to_numpy())
                    rid_r_parts.append(chunk["_rid_r"].to_numpy())
                    gamma_parts.append(
                        cmp.select([c.output for c in comparisons]).to_numpy().astype(np.int8)
                    )
                    bar.advance(chunk.height)
        rid_l = _joined(rid_l_parts, np.zeros(0, dtype=np.int64))
        rid_r = _joined(rid_r_parts, np.zeros(0, dtype=np.int64))
        gamma = _joined(gamma_parts, np.zeros((0, len(comparisons)), dtype=np.int8))
        m["rows_out"] = int(rid_l.shape[0])
        m["skipped_blocks"] = skipped_blocks(records, blocking, keys=bkeys).height if n else 0

    with metrics.stage("train", int(rid_l.shape[0])) as m:
        if frozen is not None:
            model = frozen
        else:
            model = train(
                records,
                comparisons,
                gamma,
                config=cfg.model,
                link_type=cfg.link_type,
                blocking=blocking,
                encodings=encodings,
                progress_enabled=show,
                blocking_keys=bkeys,
            )
        m["reused_model"] = frozen is not None
        m["iterations"] = model.iterations
        m["converged"] = model.converged
        m["rows_out"] = len(model.m)
    del bkeys  # one hash per record and rule: not needed past training

    with metrics.stage("score", int(rid_l.shape[0])) as m:
        data = PairData(records, rid_l, rid_r, encodings)
        weight, prob = model.score_levels(gamma, data)
        rule, by_rule, accepted = decide_links(
            data, gamma, prob, comparisons, deterministic, cfg.cluster.threshold
        )
        m["rows_out"] = int(accepted.sum())

    cluster_cfg = _reliable_cannot_link(cfg.cluster, model)
    with metrics.stage("cluster", n) as m:
        eff_prob = _rule_certain(prob[accepted], by_rule[accepted])
        clusters = cluster_links(
            n,
            rid_l[accepted],
            rid_r[accepted],
            eff_prob,
            config=cluster_cfg,
            records=records,
        )
        m["rows_out"] = _customers(clusters.labels)
        m["refused_links"] = clusters.refused.height
        m["cannot_link"] = list(cluster_cfg.cannot_link)

    refused = clusters.refused
    labels = clusters.labels
    coherent: CoherenceResult | None = None
    if cluster_cfg.coherence and n:
        with metrics.stage("coherence", n) as m:
            coherent = _cohere(
                labels, rid_l[accepted], rid_r[accepted], eff_prob, by_rule[accepted],
                model, data, cluster_cfg, candidates=(rid_l, rid_r, weight),
            )  # fmt: skip
            labels = coherent.labels
            if coherent.refused.height:
                refused = pl.concat([refused, coherent.refused])
            m["rows_out"] = _customers(labels)
            m["pairs"] = coherent.pairs
            m["split_clusters"] = coherent.split
            m["skipped_clusters"] = coherent.skipped
    # the encodings (and their per-value Python strings for rapidfuzz) are not
    # needed past clustering; at millions of distinct values they are large
    del data
    encodings.clear()

    keys = valid.select("source", "record_id")
    links = _links_table(
        keys,
        rid_l[accepted],
        rid_r[accepted],
        weight[accepted],
        prob[accepted],
        rule[accepted],
        gamma[accepted],
        comparisons,
    )
    unsure = np.flatnonzero((prob > 0.05) & (prob < 0.95))
    if unsure.size > 1000:
        closest = np.argsort(np.abs(prob[unsure] - cfg.cluster.threshold), kind="stable")[:1000]
        unsure = unsure[closest]
    near = _links_table(
        keys,
        rid_l[unsure],
        rid_r[unsure],
        weight[unsure],
        prob[unsure],
        rule[unsure],
        gamma[unsure],
        comparisons,
    )
    if refused.height:
        refused = _attach_keys(refused, keys)
    link_quality = estimate_quality(prob, accepted)
    # prob's last use: in place, not another whole-run array (270 MB at 34M pairs)
    certain = _rule_certain(prob, by_rule, in_place=True)
    estimates = {**link_quality, **cluster_estimates(labels, rid_l, rid_r, certain, coherent)}
    histogram = _histogram(weight)
    candidate_pairs = int(rid_l.shape[0])
    # every per-pair array is done with: at millions of pairs they are the
    # largest live values, and golden profiles would otherwise peak on top of them
    del rid_l, rid_r, gamma, weight, prob, certain, rule, by_rule, accepted, eff_prob

    with metrics.stage("ids", n) as m:
        customer_id, id_changes = assign_stable_ids(valid, labels, prev_ids, run_id=run)
        unified = valid.select("source", "record_id").with_columns(customer_id=customer_id)
        m["rows_out"] = unified.height
        m["id_changes"] = id_changes.height

    with metrics.stage("golden", n) as m:
        from c360.golden import build_profiles

        profiles = build_profiles(valid, unified, cfg.survivorship)
        m["rows_out"] = profiles.num_rows

    return Resolution(
        unified_ids=unified.to_arrow(),
        id_changes=id_changes.to_arrow(),
        run_id=run,
        started_at=started,
        finished_at=datetime.datetime.now(datetime.UTC),
        links=links.to_arrow(),
        quarantine=prep.quarantine.to_arrow(),
        config=cfg,
        model=model,
        junk=prep.junk.to_arrow(),
        refused_links=refused.to_arrow(),
        metrics=metrics.rows,
        notices=prep.notices,
        candidate_pairs=candidate_pairs,
        sources=prep.sources,
        profiles=profiles,
        records=valid,
        matching=records,
        weight_histogram=histogram,
        near_misses=near.to_arrow(),
        estimates=estimates,
        inferred_columns=prep.inferred,
    )


def _joined(parts: list[npt.NDArray[Any]], empty: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The parts end to end, each freed from ``parts`` once copied.

    ``np.concatenate`` holds every part and the result at once: twice the
    pair arrays (26 bytes a pair, 2 GB at 76M pairs) at the end of comparing.
    Here the peak is the result and one part.

    Examples:
        >>> parts = [np.array([1, 2]), np.array([3])]
        >>> _joined(parts, np.zeros(0)).tolist(), parts
        ([1, 2, 3], [])
    """
    if not parts:
        return empty
    out = np.empty((sum(p.shape[0] for p in parts), *parts[0].shape[1:]), dtype=parts[0].dtype)
    parts.reverse()
    pos = 0
    while parts:
        part = parts.pop()
        out[pos : pos + part.shape[0]] = part
        pos += part.shape[0]
    return out


def _customers(labels: npt.NDArray[np.int64]) -> int:
    """Distinct cluster labels (record keys, below the number of records), without a sort.

    Examples:
        >>> _customers(np.array([0, 0, 2, 3, 3])), _customers(np.zeros(0, dtype=np.int64))
        (3, 0)
    """
    return int(np.count_nonzero(np.bincount(labels))) if labels.shape[0] else 0


def _frozen_model(model: str | Path | FellegiSunterModel | None) -> FellegiSunterModel | None:
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


def _with_model_comparisons(cfg: ResolveConfig, model: FellegiSunterModel) -> ResolveConfig:
    """``cfg`` with the model's comparisons; other comparisons in ``cfg`` are an error."""
    mine = tuple(model.comparisons)
    if cfg.comparisons is not None and tuple(cfg.comparisons) != mine:
        raise ConfigError(
            "the configuration's comparisons differ from the model's "
            f"({[c.name for c in cfg.comparisons]} against {[c.name for c in mine]})",
            hint="drop [[comparisons]] from the configuration: a reused model brings its own",
        )
    return replace(cfg, comparisons=mine)


def _check_columns(model: FellegiSunterModel, records: pl.DataFrame) -> None:
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


def _cohere(
    labels: npt.NDArray[np.int64],
    link_l: npt.NDArray[np.int64],
    link_r: npt.NDArray[np.int64],
    probability: npt.NDArray[np.float64],
    certain: npt.NDArray[np.bool_],
    model: FellegiSunterModel,
    data: PairData,
    cfg: ClusterConfig,
    *,
    candidates: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]],
) -> CoherenceResult:
    """Weigh every pair inside each cluster with the model; split what does not hold."""
    comparisons = model.comparisons

    def weigh(left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        pairs = PairData(data.records, left, right, data.encodings)
        weight, _ = model.score_levels(levels_matrix(comparisons, pairs), pairs)
        return weight

    prior = model.prior_weight
    target = prior / 2 if cfg.coherence_prior is None else cfg.coherence_prior
    return cohere(
        labels,
        link_l,
        link_r,
        probability,
        weigh,
        prior_shift=target - prior,
        max_size=cfg.coherence_max_size,
        certain=certain,
        candidates=candidates,
    )


def _new_run_id() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _reliable_cannot_link(cfg: ClusterConfig, model: FellegiSunterModel) -> ClusterConfig:
    """Keep only the cannot-link columns whose values rarely disagree among matches."""
    keep = []
    for col in cfg.cannot_link:
        for c, m in zip(model.comparisons, model.m, strict=True):
            if c.column == col and float(m[0]) <= cfg.max_match_disagreement:
                keep.append(col)
                break
    return replace(cfg, cannot_link=tuple(keep))


@contextmanager
def progress_bar(description: str, enabled: bool) -> Iterator[Any]:
    """A progress bar shown only when ``enabled``."""
    with progress(description, enabled=enabled) as bar:
        yield bar
