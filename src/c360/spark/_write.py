"""Write a Spark run's outputs, its report tables and its report, as the local writer lays them out.

[`write_spark`][c360.spark._write.write_spark] writes into a new sibling of
the output directory, then puts it in place (``c360._output.atomic_output``):

* the tables of ``c360.resolve`` (``unified_ids``, ``links``, ``profiles``,
  ``quarantine``, ``id_changes``), each written by Spark as a *directory*
  of Parquet part files (``unified_ids.parquet/part-*.parquet``; polars'
  ``read_parquet`` and pyarrow read such a directory; Hadoop's ``_SUCCESS``
  and ``.crc`` files, which polars refuses, are removed), ``model.json``
  and ``config.toml``;
* ``report_tables/``: ``refused_links``, ``near_misses`` and the lineage
  tables (``lineage_records``, ``lineage_links``, ``lineage_values``, built
  in Spark as the local report builds them), the same way, and the junk
  values;
* ``report.json`` and ``report.html`` (``c360.spark._report``), built from
  the tables as written rather than by running their plans again.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from c360._output import CONFIG, MODEL, OUTPUT_TABLES, atomic_output
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pyspark.sql import DataFrame

    from c360.history import HistoryLocation, SloConfig
    from c360.report import ReportConfig, RunReport
    from c360.report._pii import PiiMode
    from c360.spark._resolve import SparkResolution

__all__ = ["write_spark"]


def write_spark(
    res: SparkResolution,
    out_dir: str | Path,
    *,
    previous: str | Path | None = None,
    report_pii: PiiMode = "mask",
    locations: Mapping[str, str] | None = None,
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    history_optional: bool = False,
) -> RunReport:
    """Write the outputs of ``res`` into ``out_dir``, atomically; return the report written.

    Args:
        res: the run.
        out_dir: the output directory (replaced whole).
        previous: an earlier output directory; its ``report.json``, when
            there is one, is compared with this run's row counts.
        report_pii: ``"mask"`` (default) or ``"show"`` personal values in
            the report (see ``c360.report.ReportConfig``).
        locations: where each source was read from, for the report.
        history: the run history to record the run in (default:
            ``out_dir/history.sqlite``, carried forward; ``False``: none).
        slo: the objectives declared for the run.
        history_optional: a history that cannot be used is a warning, not an error.
    """
    from c360.history import record_written_run
    from c360.report import ReportConfig, write_report
    from c360.report._model import REPORT_JSON, TABLES_DIR
    from c360.spark._errors import spark_stage
    from c360.spark._report import spark_report

    spark = res.unified_ids.sparkSession
    cfg = ReportConfig(pii=report_pii)

    def write(tmp: Path) -> RunReport:
        start = time.perf_counter()
        tables = tmp / TABLES_DIR
        for name in OUTPUT_TABLES:
            _parquet(getattr(res, name), tmp / f"{name}.parquet")
        for name in ("refused_links", "near_misses"):
            _parquet(getattr(res, name), tables / f"{name}.parquet")
        res.model.save(tmp / MODEL)
        res.config.save(tmp / CONFIG)
        read = spark.read.parquet
        written = replace(
            res,
            unified_ids=read(str(tmp / "unified_ids.parquet")),
            links=read(str(tmp / "links.parquet")),
            profiles=read(str(tmp / "profiles.parquet")),
            quarantine=read(str(tmp / "quarantine.parquet")),
            id_changes=read(str(tmp / "id_changes.parquet")),
            refused_links=read(str(tables / "refused_links.parquet")),
            near_misses=read(str(tables / "near_misses.parquet")),
        )
        lineage = _lineage(written, tables, cfg)
        seconds = round(time.perf_counter() - start, 4)
        wrote = {"stage": "write", "rows_in": None, "rows_out": None, "seconds": seconds}
        prior = Path(previous) if previous is not None else None
        report = spark_report(
            written,
            locations=locations,
            previous=prior if prior is not None and (prior / REPORT_JSON).exists() else None,
            extra_metrics=[wrote],
            config=cfg,
            lineage=lineage,
        )
        record_written_run(report, tmp, history=history, slo=slo, optional=history_optional)
        write_report(report, tmp)
        return report

    def guarded(tmp: Path) -> RunReport:
        with spark_stage("write"):
            return write(tmp)

    prior = Path(previous) if previous is not None else None
    carry = [Path(out_dir), prior] if history is None or history is True else []
    return atomic_output(out_dir, res.run_id, guarded, carry=carry)


def _parquet(frame: DataFrame, path: Path) -> None:
    """Write ``frame`` as a directory of Parquet parts that polars and pyarrow read."""
    frame.write.mode("errorifexists").parquet(str(path))
    for marker in [*path.glob(".*.crc"), *path.glob("_SUCCESS")]:
        marker.unlink()


def _lineage(res: SparkResolution, tables: Path, cfg: ReportConfig) -> dict[str, Any]:
    """Write the lineage tables as the local report builds them; return the report's section.

    ``lineage_records``: every record's customer (and ``updated_at`` when the
    records have it); ``lineage_links``: the links whose two records ended
    in one customer, with it; ``lineage_values``: each golden value's origin,
    for every profile field ``f`` with ``f__source`` and ``f__record_id``.
    Small runs (at most ``cfg.inline_lineage_max`` records) also get the
    lineage inlined, by the local code over the tables read back.
    """
    from pyspark.sql import functions as F  # noqa: N812

    from c360.report._lineage import LINK_COLUMNS, _by_customer, inline_lineage
    from c360.report._model import TABLES_DIR

    spark = res.unified_ids.sparkSession
    ids = res.unified_ids.select("customer_id", "source", "record_id")
    recs = ids
    if "updated_at" in res.records.columns:
        recs = ids.join(
            res.records.select("source", "record_id", "updated_at"), ["source", "record_id"], "left"
        ).select("customer_id", "source", "record_id", "updated_at")
    left = ids.select(
        F.col("customer_id").alias("_cl"),
        F.col("source").alias("source_l"),
        F.col("record_id").alias("record_id_l"),
    )
    right = ids.select(
        F.col("customer_id").alias("_cr"),
        F.col("source").alias("source_r"),
        F.col("record_id").alias("record_id_r"),
    )
    joined = (
        res.links.join(left, ["source_l", "record_id_l"])
        .join(right, ["source_r", "record_id_r"])
        .where(F.col("_cl") == F.col("_cr"))
        .withColumnRenamed("_cl", "customer_id")
        .select(*LINK_COLUMNS)
    )
    columns = set(res.profiles.columns)
    fields = sorted(c for c in columns if {f"{c}__source", f"{c}__record_id"} <= columns)
    values = None
    if fields:
        values = _union(
            res.profiles.select(
                F.col("customer_id").cast("string").alias("customer_id"),
                F.lit(f).alias("field"),
                F.col(quoted(f)).cast("string").alias("value"),
                F.col(quoted(f"{f}__source")).cast("string").alias("source"),
                F.col(quoted(f"{f}__record_id")).cast("string").alias("record_id"),
            ).where(F.col("value").isNotNull())
            for f in fields
        )
    built = {"lineage_records": recs, "lineage_links": joined}
    if values is not None:
        built["lineage_values"] = values
    written: dict[str, DataFrame] = {}
    for name, frame in built.items():
        _parquet(frame, tables / f"{name}.parquet")
        written[name] = spark.read.parquet(str(tables / f"{name}.parquet"))
    rows = {name: frame.count() for name, frame in written.items()}
    customers = written["lineage_records"].select("customer_id").distinct().count()
    section: dict[str, Any] = {
        "customers": customers,
        "records": rows["lineage_records"],
        "links": rows["lineage_links"],
        "values": rows.get("lineage_values"),
        "profiles": values is not None,
        "tables": {n: {"rows": rows[n], "path": f"{TABLES_DIR}/{n}.parquet"} for n in built},
        "inline": None,
    }
    if rows["lineage_records"] <= cfg.inline_lineage_max:
        small = {n: _polars(f) for n, f in written.items()}
        section["inline"] = inline_lineage(
            _by_customer(small["lineage_records"], ["source", "record_id"]),
            _by_customer(
                small["lineage_links"], ["source_l", "record_id_l", "source_r", "record_id_r"]
            ),
            _by_field(small["lineage_values"]) if "lineage_values" in small else None,
            cfg,
        )
    return section


def _union(frames: Iterable[DataFrame]) -> DataFrame:
    out: DataFrame | None = None
    for frame in frames:
        out = frame if out is None else out.unionByName(frame)
    assert out is not None
    return out


def _by_field(values: pl.DataFrame) -> pl.DataFrame:
    """``lineage_values`` ordered by customer then field, as the local table comes."""
    return values.sort("customer_id", "field")


def _polars(frame: DataFrame) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out
