"""``resolve`` on Spark: the building blocks of ``c360.spark`` wired together.

[`resolve`][c360.spark._resolve.resolve] takes one Spark DataFrame per
source, in canonical columns, and gives the tables of ``c360.resolve``
(``unified_ids``, ``links``, ``profiles``, ``quarantine``, ``id_changes``) as
lazy Spark DataFrames, with the trained model and the effective configuration.

Steps and where they run:

1. Validation (``c360.spark._validate``): the local contract code on every
   Arrow batch, ``record_id`` uniqueness across batches in Spark; the same
   accepted records, quarantine rows and reasons as the local loader.
2. ``record_keys``, ``standardise``, ``detect_junk``, ``null_junk`` (Spark;
   see ``c360.spark._prepare``).
3. Configuration and training (driver): at most ``sample_records`` rows of
   the matching frame are collected, renumbered ``0..k-1`` in ``_rid``
   order, and go through the local ``configure``, blocking and comparison
   (``LOCAL.candidate_pairs``) and ``c360.model.train``, as
   ``c360.pipeline.resolve`` runs them. When the data has at most
   ``sample_records`` records the sample is all of it, in the local order,
   and the configuration and model are exactly the local ones.
4. Blocking, scoring, clustering, customer IDs and profiles (Spark:
   ``candidate_pairs``, ``score_pairs``, ``cluster``, ``customer_ids``,
   ``profiles``); the links are the accepted scored pairs with their keys.

Why a sample is enough to train. The Fellegi-Sunter model is a few dozen
numbers (``m`` and ``u`` per comparison level and the prior), fitted by EM
from the counts of the pairs' level patterns; a sample of 200,000 records
gives millions of candidate pairs, enough to estimate each level's share
closely. Automatic configuration reads the columns' fill rates and
cardinalities, which a uniform sample estimates well too. What a sample
changes beyond the precision of those estimates:

* term frequencies (the model's per-value adjustment) are counted in the
  sample: approximate for common values, and a value absent from the sample
  gets no adjustment (the model's default);
* the prior (the share of matches among candidate pairs) is that of the
  sample's pairs; blocking a sample finds a smaller share of each record's
  matches than blocking all records, which the EM estimate absorbs;
* blocking rules are chosen from the sample's key frequencies, so a rule's
  largest block is that of the sample (the full run's ceiling check still
  applies, in ``candidate_pairs``).

Not done (the local engine does it): reading files (the CLI reads Parquet
and CSV with Spark's readers, without the local sniffing or column
inference; ragged CSV lines are quarantined), pandera contracts, unique columns besides
``record_id``, cluster-level estimates in the report.

Nothing is collected to the driver but small tables (counts, junk values,
the building blocks' own small tables) and the bounded training sample. The
inputs as tagged for validation, the keyed records, the standardised frame,
the matching frame and the scored pairs are persisted (Spark's default
level, memory and disk): later stages read each of them more than once (the
connected components iterate over the scored pairs), and persisting keeps
the Python stages (standardisation, scoring) from running again each time.
They stay persisted until ``SparkResolution.unpersist()`` (the CLI calls it
once the tables are written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import pyarrow as pa

from c360._canonical import RID
from c360.config import EffectiveConfig, ResolveConfig
from c360.exceptions import ConfigError
from c360.model import FellegiSunterModel
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from c360._stages import Metrics
    from c360._typing import LinkType
    from c360.contracts import SchemaNotice
    from c360.report import RunReport

__all__ = ["SparkResolution", "resolve"]

#: Records collected to the driver to configure and train, at most.
SAMPLE_RECORDS = 200_000
#: Near misses kept, as the local run keeps them.
NEAR_MISSES = 1_000

_MISSING = "record_id: missing value (not nullable)"
_EMAIL = r"(?U)^[^@\s]+@[^@\s]+\.[^@\s.]+$"  # c360._contracts._checks.EMAIL_PATTERN


@dataclass(frozen=True, slots=True)
class SparkResolution:
    """What a Spark run gives: the local run's tables as lazy Spark DataFrames.

    Attributes:
        unified_ids: ``source``, ``record_id``, ``customer_id``, one row per valid record.
        links: the accepted pairs, with the local links' columns in their order.
        profiles: one golden profile per customer.
        quarantine: rejected rows (``source``, ``record_id``, ``row_number``,
            ``reason``, ``raw``).
        id_changes: how customer IDs changed against the previous run
            (empty without one), with the local schema.
        model: the model trained on the driver's sample (or the one given).
        config: the effective configuration.
        run_id: this run's identifier.
        records: the accepted records as loaded (``source``, ``record_id``, fields).
        refused_links: links the guards and coherence refused (both records'
            keys, ``match_probability``, ``reason``).
        near_misses: up to 1,000 pairs with probability in (0.05, 0.95),
            closest to the threshold first (ties by record keys).
        junk: the values treated as missing (``column``, ``value``,
            ``records``, ``reason``), collected.
        metrics: seconds per stage of the driver's calls. Spark is lazy:
            work a stage only describes runs in the stage that first
            needs it (scoring runs in ``score_cluster_and_ids``, profiles
            and the tables when they are written).
        started_at: when the run started (UTC).
        sources: the source names, in the order given.
        notices: schema notices of the sources against their contracts.
        contracts: the contract (``name@version``) each source was checked against.
    """

    unified_ids: DataFrame
    links: DataFrame
    profiles: DataFrame
    quarantine: DataFrame
    id_changes: DataFrame
    model: FellegiSunterModel
    config: EffectiveConfig
    run_id: str
    records: DataFrame
    refused_links: DataFrame
    near_misses: DataFrame
    junk: pa.Table
    metrics: list[dict[str, Any]]
    started_at: dt.datetime
    sources: tuple[str, ...]
    notices: tuple[SchemaNotice, ...]
    contracts: dict[str, str]
    _scored: DataFrame = field(repr=False, compare=False)
    _cached: tuple[DataFrame, ...] = field(default=(), repr=False, compare=False)

    def unpersist(self) -> None:
        """Free the frames the run persisted (the tables read them until then).

        Call it once the tables are written. Until then Spark's cache also
        answers a query whose plan matches a persisted one: reading a source
        path again in the same session, after the file changed, would give
        the cached rows (``spark.catalog.clearCache()`` frees everything).
        """
        for frame in self._cached:
            frame.unpersist()

    def write(
        self,
        out_dir: str | Path,
        *,
        previous: str | Path | None = None,
        report_pii: Literal["mask", "show"] = "mask",
    ) -> RunReport:
        """Write the tables, ``model.json``, ``config.toml`` and the report into ``out_dir``.

        As ``Resolution.write`` lays them out (tables as directories of
        Parquet parts, see ``c360.spark._write``), atomically. ``previous``
        (an earlier output directory) lets the report compare row counts.
        Returns the report written.
        """
        from c360.spark._write import write_spark

        return write_spark(self, out_dir, previous=previous, report_pii=report_pii)


def resolve(
    sources: Mapping[str, DataFrame | str | Path],
    *,
    config: ResolveConfig | None = None,
    contracts: Mapping[str, Any] | None = None,
    previous: DataFrame | str | Path | None = None,
    model: str | Path | FellegiSunterModel | None = None,
    run_id: str | None = None,
    spark: SparkSession | None = None,
    sample_records: int = SAMPLE_RECORDS,
) -> SparkResolution:
    """Resolve records from Spark DataFrames into unified customers.

    Args:
        sources: source name to a DataFrame in canonical columns
            (``record_id`` and fields such as ``first_name``, ``email``...),
            or to a path Spark reads (a Parquet or CSV file, or a directory
            of Parquet files).
        config: options; by default everything is chosen from the data.
        contracts: source name to its contract (a ``Contract`` or a contract
            file); the canonical contract for the others.
        previous: an earlier run whose customer IDs carry over: its
            ``unified_ids`` as a Spark DataFrame, or its output directory
            (of either engine).
        model: a trained model to score with instead of training one (a
            [`FellegiSunterModel`][c360.model.FellegiSunterModel], a
            ``model.json`` or a run directory), as in ``c360.resolve``; the
            sample then only configures blocking.
        run_id: identifier of this run, written into ``id_changes`` (default:
            a timestamp).
        spark: the session (default: the sources' own).
        sample_records: records collected to the driver to configure and
            train, at most (all of them when there are fewer).

    Returns:
        A [`SparkResolution`][c360.spark._resolve.SparkResolution].

    Raises:
        ConfigError: no sources, a source name is empty, or ``sample_records`` < 1.
        ColumnNotFoundError: a source has no ``record_id`` column.
    """
    from pyspark.sql import functions as F  # noqa: N812

    from c360._engine import LOCAL
    from c360._stages import (
        Metrics,
        check_model_columns,
        configure,
        frozen_model,
        matching_columns,
        new_run_id,
        train_model,
        with_model_comparisons,
    )
    from c360.blocking import rule_keys
    from c360.spark._blocking import candidate_pairs
    from c360.spark._cluster import cluster
    from c360.spark._errors import spark_stage
    from c360.spark._ids import customer_ids, read_previous
    from c360.spark._output import profiles
    from c360.spark._prepare import detect_junk, null_junk, record_keys, standardise
    from c360.spark._score import score_pairs
    from c360.spark._validate import validate_sources

    if not sources:
        raise ConfigError("resolve needs at least one source")
    if sample_records < 1:
        raise ConfigError(f"sample_records must be at least 1; got {sample_records}")
    started = dt.datetime.now(dt.UTC)
    cfg = config or ResolveConfig()
    session, frames = _frames(sources, spark)
    run = run_id or new_run_id()
    with spark_stage("read_previous"):
        prev_ids = read_previous(session, previous)
    frozen = frozen_model(model)
    if frozen is not None:
        cfg = with_model_comparisons(cfg, frozen)

    metrics = Metrics(processor_time=False)  # the work is the executors', not the driver's
    with _stage(metrics, "load_and_standardise", frames) as m:
        checked = validate_sources(frames, contracts, on_schema_change=cfg.on_schema_change)
        keyed = record_keys(checked.valid).persist()
        matching = standardise(keyed, cfg).persist()
        junk = detect_junk(matching, cfg)
        cleared = null_junk(matching, junk)
        m["junk_values"] = junk.height

    with _stage(metrics, "train") as m:
        sample, n_records = _sample(cleared, sample_records)
        m["rows_in"] = sample.height
        effective = configure(
            sample,
            cfg,
            pair_counts=lambda have: _pair_counts(cleared, have, cfg.link_type),
            n_records=n_records,
        )
        local = sample.select(matching_columns(sample.columns, effective))
        if frozen is not None:
            check_model_columns(frozen, local)
            trained = frozen
        else:
            bkeys = rule_keys(local, effective.blocking)
            pairs = LOCAL.candidate_pairs(local, effective, show=False, keys=bkeys)
            trained = train_model(local, effective, pairs, keys=bkeys, show=False)
            del pairs, bkeys
        m["reused_model"] = frozen is not None
        m["iterations"] = trained.iterations
        m["converged"] = trained.converged
        del local, sample

    with _stage(metrics, "block"):
        records = cleared.select(
            *(quoted(c) for c in matching_columns(cleared.columns, effective))
        ).persist()
        candidates = candidate_pairs(records, effective.blocking)
        scored = score_pairs(candidates, records, trained, effective).persist()

    with _stage(metrics, "score_cluster_and_ids"):
        labels, refused = cluster(scored, records, trained, effective)
        unified, id_changes = customer_ids(labels, keyed, prev_ids, run_id=run)
    golden = profiles(keyed.drop(RID), unified, effective.survivorship)
    return SparkResolution(
        unified_ids=unified,
        links=_with_keys(scored.where(F.col("accepted")), keyed, _pair_columns(effective)),
        profiles=golden,
        quarantine=checked.quarantine,
        id_changes=id_changes,
        model=trained,
        config=effective,
        run_id=run,
        records=keyed.drop(RID),
        refused_links=_with_keys(refused, keyed, ["match_probability", "reason"]),
        near_misses=_near_misses(scored, keyed, effective),
        junk=junk.to_arrow(),
        metrics=metrics.rows,
        started_at=started,
        sources=tuple(frames),
        _scored=scored,
        notices=checked.notices,
        contracts=checked.contracts,
        _cached=(*checked.persisted, keyed, matching, records, scored),
    )


def _frames(
    sources: Mapping[str, DataFrame | str | Path], spark: SparkSession | None
) -> tuple[SparkSession, dict[str, DataFrame]]:
    """The session, and every source as a DataFrame (paths read by Spark)."""
    from c360.spark._cli import read_path

    given = [v for v in sources.values() if not isinstance(v, str | Path)]
    session = spark or (given[0].sparkSession if given else None)
    if session is None:
        from c360.spark import session as new_session

        session = new_session()
    frames = {
        k: read_path(session, v) if isinstance(v, str | Path) else v for k, v in sources.items()
    }
    return session, frames


@contextmanager
def _stage(
    metrics: Metrics, name: str, sources: Mapping[str, DataFrame] | None = None
) -> Iterator[dict[str, Any]]:
    """Time a stage and turn a Spark failure in it into a ``C360Error`` naming it."""
    from c360.spark._errors import spark_stage

    with metrics.stage(name, 0) as entry, spark_stage(name, sources):
        yield entry


# --- training sample ---------------------------------------------------------------


def _sample(cleared: DataFrame, limit: int) -> tuple[pl.DataFrame, int]:
    """At most ``limit`` records of the matching frame, and the number of records.

    The sample's ``_rid`` is renumbered ``0..k-1`` in the records' order.
    """
    n = cleared.count()
    picked = cleared
    if n > limit:
        picked = cleared.sample(withReplacement=False, fraction=min(1.0, 1.1 * limit / n), seed=0)
        picked = picked.orderBy(RID).limit(limit)
    frame = pl.from_arrow(picked.toArrow())
    assert isinstance(frame, pl.DataFrame)
    frame = frame.sort(RID)
    return frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(RID)), n


def _pair_counts(
    cleared: DataFrame, have: set[str], link_type: LinkType
) -> Callable[[tuple[str, ...]], int]:
    """Every automatic blocking rule's pairs over all records, counted in one Spark query.

    Automatic configuration judges rules on the driver's sample, but a
    rule's pairs grow with the square of its blocks: a sample would make
    broad rules look affordable. So the rules it may consider (those whose
    columns are present) are counted here, on the whole matching frame, with
    the local rule's ``link_type`` and block-size cap.
    """
    from c360.autoconfig import MAX_BLOCK_SIZE, RULE_POOL
    from c360.blocking import BlockingConfig, block_on
    from c360.spark._blocking import count_pairs

    candidates = [keys for keys in RULE_POOL if set(keys) <= have]
    if not candidates:
        return lambda keys: 0
    config = BlockingConfig(
        rules=tuple(block_on(*keys) for keys in candidates),
        link_type=link_type,
        max_block_size=MAX_BLOCK_SIZE,
    )
    pairs = count_pairs(cleared, config).get_column("pairs").to_list()
    table = {keys: int(p) for keys, p in zip(candidates, pairs, strict=True)}
    return lambda keys: table[tuple(keys)]


# --- links -------------------------------------------------------------------------


def _with_keys(pairs: DataFrame, keyed: DataFrame, columns: list[str]) -> DataFrame:
    """``pairs`` (``_rid_l``, ``_rid_r``, ...) with both records' keys, then ``columns``."""
    from pyspark.sql import functions as F  # noqa: N812

    keys = keyed.select(RID, "source", "record_id")
    left = keys.select(
        F.col(RID).alias("_rid_l"),
        F.col("source").alias("source_l"),
        F.col("record_id").alias("record_id_l"),
    )
    right = keys.select(
        F.col(RID).alias("_rid_r"),
        F.col("source").alias("source_r"),
        F.col("record_id").alias("record_id_r"),
    )
    return (
        pairs.join(left, "_rid_l")
        .join(right, "_rid_r")
        .select("source_l", "record_id_l", "source_r", "record_id_r", *columns)
    )


def _pair_columns(cfg: EffectiveConfig) -> list[str]:
    """The columns of the links table after the keys."""
    gammas = [quoted(c.output) for c in cfg.comparisons]
    return ["match_weight", "match_probability", "rule", *gammas]


def _near_misses(scored: DataFrame, keyed: DataFrame, cfg: EffectiveConfig) -> DataFrame:
    """Up to 1,000 pairs with probability in (0.05, 0.95), closest to the threshold first.

    As the local ``link_tables``; among pairs equally close, the local run
    keeps the first in its pair order and this the smallest keys.
    """
    from pyspark.sql import functions as F  # noqa: N812

    p = F.col("match_probability")
    unsure = scored.where((p > 0.05) & (p < 0.95))
    closest = unsure.orderBy(F.abs(p - F.lit(cfg.cluster.threshold)), "_rid_l", "_rid_r").limit(
        NEAR_MISSES
    )
    return _with_keys(closest, keyed, _pair_columns(cfg))
