"""``c360.resolve``: the stages wired together.

The pipeline owns no logic of its own: it loads and validates each source,
gives every accepted record an integer key, then runs the stage sequence of
``c360._stages`` (standardise, null junk, configure, block and compare, train
or reuse a model, score and decide, cluster and check coherence) and assigns
customer IDs and golden profiles. Incremental batches run the same stages.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from c360._canonical import QUARANTINE_SCHEMA, RID, empty_quarantine
from c360._engine import LOCAL, Engine
from c360._inputs import _as_sources, _load_all, source_summary
from c360._links import _attach_keys, estimate_quality
from c360._memory import no_hugepage_stalls
from c360._output import read_previous_ids
from c360._progress import resolve_progress
from c360._result import Resolution
from c360._stages import (
    Metrics,
    check_model_columns,
    cluster,
    configure,
    frozen_model,
    link_tables,
    matching_columns,
    new_run_id,
    standardise,
    train_model,
    with_model_comparisons,
)
from c360.blocking import generate_pairs, rule_keys
from c360.config import EffectiveConfig, ResolveConfig
from c360.ids import assign_stable_ids
from c360.model import FellegiSunterModel
from c360.rules import detect_junk, null_junk

__all__ = ["Prepared", "Resolution", "estimate_quality", "prepare", "resolve", "source_summary"]


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
    config: EffectiveConfig
    junk: pl.DataFrame
    notices: list[Any]
    metrics: Metrics
    sources: pl.DataFrame
    inferred: dict[str, Any] = field(default_factory=dict)

    def candidate_pairs(self) -> pl.DataFrame:
        """All candidate pairs, keyed by ``source_l, record_id_l, source_r, record_id_r``."""
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
    metrics = Metrics()
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
        records = standardise(valid, cfg)
        m["rows_out"] = records.height

    with metrics.stage("junk", n) as m:
        junk = detect_junk(records, cfg.junk)
        records = null_junk(records, junk)
        m["rows_out"] = junk.height

    with metrics.stage("autoconfig", n):
        effective = configure(records, cfg)
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
    engine: Engine = LOCAL,
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
        engine: where the heavy stages (block and compare, score, connected
            components) run; this process by default.

    Returns:
        A [`Resolution`][Resolution] with ``unified_ids``, ``links``, ``quarantine``
        and ``id_changes``.
    """
    started = datetime.datetime.now(datetime.UTC)
    show = resolve_progress(progress)
    run = run_id or new_run_id()
    prev_ids = read_previous_ids(previous)
    frozen = frozen_model(model)
    if frozen is not None:
        config = with_model_comparisons(config or ResolveConfig(), frozen)
    prep = prepare(inputs, config=config)
    if frozen is not None:
        check_model_columns(frozen, prep.records)
    cfg = prep.config
    valid, records, metrics = prep.valid, prep.records, prep.metrics
    n = valid.height

    with metrics.stage("block_and_compare", n) as m:
        bkeys = rule_keys(records, cfg.blocking)
        pairs = engine.candidate_pairs(records, cfg, show=show, keys=bkeys)
        m["rows_out"] = len(pairs)
        m["skipped_blocks"] = pairs.skipped_blocks

    with metrics.stage("train", len(pairs)) as m:
        if frozen is not None:
            model = frozen
        else:
            model = train_model(records, cfg, pairs, keys=bkeys, show=show)
        m["reused_model"] = frozen is not None
        m["iterations"] = model.iterations
        m["converged"] = model.converged
        m["rows_out"] = len(model.m)
    del bkeys  # one hash per record and rule: not needed past training

    with metrics.stage("score", len(pairs)) as m:
        scored = engine.score(model, pairs, cfg)
        m["rows_out"] = int(scored.accepted.sum())

    clustered = cluster(scored, model, cfg, metrics=metrics, engine=engine)
    labels = clustered.labels
    # the encodings (and their per-value Python strings for rapidfuzz) are not
    # needed past clustering; at millions of distinct values they are large
    pairs.encodings.clear()
    tables = link_tables(scored, clustered, valid.select("source", "record_id"), cfg)
    # every per-pair array is done with: at millions of pairs they are the
    # largest live values, and golden profiles would otherwise peak on top of them
    del pairs, scored, clustered

    with metrics.stage("ids", n) as m:
        customer_id, id_changes = assign_stable_ids(valid, labels, prev_ids, run_id=run)
        unified = valid.select("source", "record_id").with_columns(customer_id=customer_id)
        m["rows_out"] = unified.height
        m["id_changes"] = id_changes.height

    with metrics.stage("golden", n) as m:
        from c360.golden import build_profiles

        profiles = build_profiles(valid, unified, cfg.survivorship)
        m["rows_out"] = profiles.num_rows

    unified_ids, links = unified.to_arrow(), tables.links.to_arrow()
    # unified_ids is in record-row order: the rows of each link's two records
    rows = tables.link_rows
    return Resolution(
        unified_ids=unified_ids,
        id_changes=id_changes.to_arrow(),
        run_id=run,
        started_at=started,
        finished_at=datetime.datetime.now(datetime.UTC),
        links=links,
        _link_rows=None if rows is None else (links, unified_ids, *rows),
        quarantine=prep.quarantine.to_arrow(),
        config=cfg,
        model=model,
        junk=prep.junk.to_arrow(),
        refused_links=tables.refused.to_arrow(),
        metrics=metrics.rows,
        notices=prep.notices,
        candidate_pairs=tables.candidate_pairs,
        sources=prep.sources,
        profiles=profiles,
        records=valid,
        matching=records,
        weight_histogram=tables.histogram,
        near_misses=tables.near_misses.to_arrow(),
        estimates=tables.estimates,
        inferred_columns=prep.inferred,
    )
