"""The run report of a Spark run, from figures aggregated in Spark.

[`spark_report`][c360.spark._report.spark_report] gives the
[`RunReport`][c360.report.RunReport] of a
[`SparkResolution`][c360.spark._resolve.SparkResolution]: the same
``report.json`` document as a local run (``c360.report.build_report``),
rendered to ``report.html`` by the same code. Every figure is a Spark
aggregate collected to the driver: counts per source, rule, cluster size,
weight bin and change kind; the quarantine reasons' top 20 per source; the
1,000 near misses; the largest clusters' first records. Nothing of a size
proportional to the records is collected.

The per-source entries and their incidents come from the local
``source_entries`` with the Spark figures (so the same SLA, drop and
quarantine rules apply); the model's section from the local
``model_figures``.

What the local report has and this one does not (yet):

* ``lineage`` is null unless the lineage tables were written (the writer,
  ``c360.spark._write``, builds them in Spark and passes the section);
* ``estimates`` are link-level only (``precision``, ``recall``,
  ``expected_matching_pairs``, ``accepted_links``); the cluster-level ones
  weigh pairs per cluster, which the local coherence step computes;
* ``changes.grouping`` (how the grouping moved against the previous run) is
  null; the row-count comparison with the previous report is made;
* ``stages`` are the driver's calls: Spark runs work lazily, so a stage's
  seconds include whatever earlier stages only described (see
  ``SparkResolution.metrics``); the CLI adds a ``write`` stage;
* sources have no ``read_seconds``, inferred columns or file format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from c360.report._build import (
    _junk,
    _read_report_json,
    _stages,
    model_figures,
    near_miss_figures,
    previous_changes,
    report_document,
    with_model_warnings,
)
from c360.report._model import _DISPLAY, _INTERNAL, ReportConfig, RunReport, _utc, jsonable
from c360.report._pii import PERSONAL, mask_column, mask_reason
from c360.report._sources import source_entries
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from c360.spark._resolve import SparkResolution

__all__ = ["spark_report"]

#: Quarantine reasons listed per source, as locally.
_REASONS = 20


def spark_report(
    res: SparkResolution,
    *,
    finished_at: datetime | None = None,
    locations: Mapping[str, str] | None = None,
    previous: str | Path | None = None,
    extra_metrics: list[dict[str, Any]] | None = None,
    config: ReportConfig | None = None,
    lineage: dict[str, Any] | None = None,
) -> RunReport:
    """The run report of a Spark run (see the module's description for what differs).

    Args:
        res: the run.
        finished_at: when it ended (default: now).
        locations: where each source was read from (default ``"(spark)"``).
        previous: an earlier run's output directory or its ``report.json``,
            for the row-count comparison.
        extra_metrics: stage rows measured after ``resolve`` (the writer's).
        config: thresholds, sizes and the PII mode.
        lineage: the ``lineage`` section, when the lineage tables were
            written (``c360.spark._write``); ``None`` otherwise.

    Returns:
        The [`RunReport`][c360.report.RunReport]; its one table is ``junk``.
    """
    from pyspark.sql import functions as F  # noqa: N812

    cfg = config or ReportConfig()
    finished = _utc(finished_at) or datetime.now(UTC)
    metrics = [*res.metrics, *(extra_metrics or [])]
    prev, prev_path = None, None
    if previous is not None:  # its report only: its unified_ids may be too large for the driver
        prev, path = _read_report_json(
            previous,
            what="the previous run's report",
            hint="pass the previous output directory or its report.json",
        )
        prev_path = str(path)
    threshold = float(res.config.cluster.threshold)

    sizes = res.unified_ids.groupBy("customer_id").agg(F.count(F.lit(1)).alias("size"))
    cluster_sizes = _rows(
        sizes.groupBy("size").agg(F.count(F.lit(1)).alias("customers")).orderBy("size")
    )
    customers = sum(int(r["customers"]) for r in cluster_sizes)
    accepted = sum(int(r["size"]) * int(r["customers"]) for r in cluster_sizes)
    by_rule = {
        str(r["rule"]): int(r["n"])
        for r in _rows(res.links.groupBy("rule").agg(F.count(F.lit(1)).alias("n")).orderBy("rule"))
    }
    pairs = _pair_figures(res._scored)
    refused = {
        str(r["kind"]): int(r["links"])
        for r in _rows(
            res.refused_links.groupBy(F.split("reason", ":").getItem(0).alias("kind"))
            .agg(F.count(F.lit(1)).alias("links"))
            .orderBy(F.col("links").desc(), "kind")
        )
    }
    id_changes = {
        str(r["change"]): int(r["n"])
        for r in _rows(
            res.id_changes.groupBy("change").agg(F.count(F.lit(1)).alias("n")).orderBy("change")
        )
    }
    junk = pl.from_arrow(res.junk)
    assert isinstance(junk, pl.DataFrame)
    near = _polars(res.near_misses)

    sources, incidents = _sources(res, finished, prev, cfg, locations or {})
    incidents = with_model_warnings(incidents, res.model)
    diagnostics = {
        **model_figures(res.model, threshold),
        "weight_histogram": pairs["histogram"],
        "cluster_sizes": cluster_sizes,
        "largest_clusters": _largest_clusters(res, sizes, cfg),
        "near_misses": near_miss_figures(near, pairs["near_misses"], cfg),
        "estimates": pairs["estimates"],
        "junk": _junk(junk, cfg.pii),
        "refused_links": {"count": sum(refused.values()), "by_reason": refused},
    }
    seconds = float(sum(float(m.get("seconds") or 0.0) for m in metrics))
    data = report_document(
        run_id=res.run_id,
        started=res.started_at,
        finished=finished,
        seconds=seconds,
        config=res.config,
        pii=cfg.pii,
        summary={
            "records_accepted": accepted,
            "records_quarantined": sum(s["rows_quarantined"] for s in sources),
            "customers": customers,
            "candidate_pairs": pairs["candidate_pairs"],
            "links": sum(by_rule.values()),
            "links_by_rule": by_rule,
            "refused_links": sum(refused.values()),
            "junk_values": junk.height,
            "id_changes": id_changes,
        },
        stages=_stages(metrics),
        sources=sources,
        incidents=incidents,
        diagnostics=jsonable(diagnostics),
        lineage=lineage,
        changes=previous_changes(prev, prev_path),
        engine="spark",
    )
    return RunReport(data=jsonable(data), tables_={"junk": res.junk})


def _rows(frame: DataFrame) -> list[dict[str, Any]]:
    """A small Spark result as a list of dicts."""
    return [r.asDict() for r in frame.collect()]


def _polars(frame: DataFrame) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


def _pair_figures(scored: DataFrame) -> dict[str, Any]:
    """Candidate pairs, the near-miss count, the weight histogram and the link estimates.

    As the local ``link_tables``: weights in 1-bit bins clipped to [-60, 60];
    precision and recall as ``c360._links.estimate_quality`` (the sum of the
    accepted pairs' probabilities over their number, and over all pairs').
    """
    from pyspark.sql import functions as F  # noqa: N812

    p = F.col("match_probability")
    accepted = F.col("accepted")
    row = scored.agg(
        F.count(F.lit(1)).alias("pairs"),
        F.coalesce(F.sum(p), F.lit(0.0)).alias("total"),
        F.coalesce(F.sum(F.when(accepted, p)), F.lit(0.0)).alias("kept"),
        F.count(F.when(accepted, 1)).alias("accepted"),
        F.count(F.when((p > 0.05) & (p < 0.95), 1)).alias("near"),
    ).first()
    assert row is not None
    total, kept, n_acc = float(row["total"]), float(row["kept"]), int(row["accepted"])
    weight = F.greatest(F.least(F.col("match_weight"), F.lit(60.0)), F.lit(-60.0))
    histogram = _rows(
        scored.groupBy(F.floor(weight).cast("long").alias("bin"))
        .agg(F.count(F.lit(1)).alias("pairs"))
        .orderBy("bin")
    )
    return {
        "candidate_pairs": int(row["pairs"]),
        "near_misses": int(row["near"]),
        "histogram": histogram,
        "estimates": {
            "precision": kept / n_acc if n_acc else 1.0,
            "recall": kept / total if total else 1.0,
            "expected_matching_pairs": total,
            "accepted_links": float(n_acc),
        },
    }


def _sources(
    res: SparkResolution,
    finished: datetime,
    prev: dict[str, Any] | None,
    cfg: ReportConfig,
    locations: Mapping[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``sources`` entries and their incidents, from counts per source."""
    from pyspark.sql import functions as F  # noqa: N812

    from c360._canonical import CONTRACT_VERSION
    from c360.report._sources import _type_name

    records = res.records
    fields = [c for c in records.columns if c not in _INTERNAL]
    events = "updated_at" in records.columns
    per_source = records.groupBy("source").agg(
        F.count(F.lit(1)).alias("rows_valid"),
        *(
            (F.min("updated_at").alias("oldest"), F.max("updated_at").alias("newest"))
            if events
            else ()
        ),
        *(F.max(F.col(quoted(c)).isNotNull()).alias(f"_has{i}") for i, c in enumerate(fields)),
    )
    valid = {str(r["source"]): r for r in per_source.collect()}
    quarantined = {
        str(r["source"]): int(r["n"])
        for r in res.quarantine.groupBy("source").agg(F.count(F.lit(1)).alias("n")).collect()
    }
    # column types as the local report names them (its polars types)
    empty = pl.from_arrow(records.limit(0).toArrow())
    assert isinstance(empty, pl.DataFrame)
    types = {c: _type_name(empty.schema[c]) for c in fields}
    summary, columns = [], {}
    for name in res.sources:
        row = valid.get(name)
        n_valid = int(row["rows_valid"]) if row is not None else 0
        n_quarantined = quarantined.get(name, 0)
        summary.append(
            {
                "source": name,
                "owner": None,
                "description": None,
                "freshness_sla_seconds": None,
                "location": locations.get(name, "(spark)"),
                "contract": res.contracts.get(name, f"canonical@{CONTRACT_VERSION}"),
                "rows_read": n_valid + n_quarantined,
                "rows_valid": n_valid,
                "rows_quarantined": n_quarantined,
                "oldest_event": row["oldest"] if row is not None and events else None,
                "newest_event": row["newest"] if row is not None and events else None,
                "read_seconds": None,
                "file_format": None,
            }
        )
        if row is not None:
            columns[name] = [
                {"name": c, "type": types[c]} for i, c in enumerate(fields) if row[f"_has{i}"]
            ]
    notices: dict[str, list[Any]] = {}
    for n in sorted(res.notices):
        notices.setdefault(n.source, []).append(n)
    return source_entries(
        summary,
        notices=notices,
        columns=columns,
        reasons=_reasons(res.quarantine, cfg),
        inferred={},
        finished=finished,
        prev=prev,
        cfg=cfg,
    )


def _reasons(quarantine: DataFrame, cfg: ReportConfig) -> dict[str, list[dict[str, Any]]]:
    """The 20 commonest quarantine reasons per source (masked first unless ``pii="show"``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812

    reasons = quarantine.select("source", "reason")
    if cfg.pii == "mask":
        reasons = reasons.mapInArrow(_mask_reasons, "source string, reason string")
    counts = reasons.groupBy("source", "reason").agg(F.count(F.lit(1)).alias("rows"))
    rank = F.row_number().over(
        Window.partitionBy("source").orderBy(F.col("rows").desc(), F.col("reason"))
    )
    top = counts.withColumn("_k", rank).where(F.col("_k") <= _REASONS)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in top.orderBy("source", "_k").collect():
        out.setdefault(str(r["source"]), []).append({"reason": r["reason"], "rows": int(r["rows"])})
    return out


def _mask_reasons(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``source, reason`` batches with each reason masked by ``mask_reason``."""
    for batch in batches:
        reasons = [None if r is None else mask_reason(r) for r in batch.column(1).to_pylist()]
        yield pa.RecordBatch.from_arrays(
            [batch.column(0).cast(pa.string()), pa.array(reasons, pa.string())],
            names=["source", "reason"],
        )


def _largest_clusters(
    res: SparkResolution, sizes: DataFrame, cfg: ReportConfig
) -> list[dict[str, Any]]:
    """The largest customers with their first records, as the local report lists them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812

    top = [
        r.asDict()
        for r in sizes.where(F.col("size") > 1)
        .orderBy(F.col("size").desc(), "customer_id")
        .limit(cfg.largest_clusters)
        .collect()
    ]
    if not top:
        return []
    spark = res.unified_ids.sparkSession
    chosen = spark.createDataFrame([(r["customer_id"],) for r in top], "customer_id string")
    members = res.unified_ids.join(F.broadcast(chosen), "customer_id")
    show = [c for c in _DISPLAY if c in res.records.columns]
    first = F.row_number().over(Window.partitionBy("customer_id").orderBy("source", "record_id"))
    shown = (
        members.withColumn("_k", first)
        .where(F.col("_k") <= cfg.cluster_records)
        .join(res.records.select("source", "record_id", *show), ["source", "record_id"], "left")
        .drop("_k")
    )
    records = _polars(shown).sort("customer_id", "source", "record_id")
    if cfg.pii == "mask":
        records = records.with_columns(mask_column(c, pl.col(c)) for c in show if c in PERSONAL)
    sources = {
        str(r["customer_id"]): sorted(r["sources"])
        for r in members.groupBy("customer_id")
        .agg(F.collect_set("source").alias("sources"))
        .collect()
    }
    left = members.select(
        "customer_id", F.col("source").alias("source_l"), F.col("record_id").alias("record_id_l")
    )
    by_rule: dict[str, dict[str, int]] = {}
    for r in (
        res.links.join(left, ["source_l", "record_id_l"])
        .groupBy("customer_id", "rule")
        .agg(F.count(F.lit(1)).alias("links"))
        .collect()
    ):
        by_rule.setdefault(str(r["customer_id"]), {})[str(r["rule"])] = int(r["links"])
    groups = records.partition_by("customer_id", as_dict=True)
    return [
        {
            "customer_id": r["customer_id"],
            "size": int(r["size"]),
            "sources": sources.get(r["customer_id"], []),
            "links_by_rule": dict(sorted(by_rule.get(r["customer_id"], {}).items())),
            "records": jsonable(groups[(r["customer_id"],)].drop("customer_id").to_dicts()),
            "records_not_shown": max(int(r["size"]) - cfg.cluster_records, 0),
        }
        for r in top
    ]
