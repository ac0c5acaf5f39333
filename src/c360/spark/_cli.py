"""``c360 resolve --engine spark``: read the input files with Spark, resolve, write the outputs.

Each input file (Parquet, or CSV read as strings with a header) is one source
named after the file's stem. The output directory gets the local run's table
names, each written by Spark as a *directory* of Parquet part files
(``unified_ids.parquet/part-*.parquet``; polars' ``read_parquet`` and pyarrow
read such a directory, so Hadoop's ``_SUCCESS`` and ``.crc`` files, which polars
refuses, are removed), plus ``model.json`` and ``config.toml``, atomically
(``c360._output.atomic_output``). No report yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from c360._output import CONFIG, MODEL, OUTPUT_TABLES, atomic_output
from c360.exceptions import C360Error

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkSummary", "run_spark"]


@dataclass(frozen=True, slots=True)
class SparkSummary:
    """The counts the CLI prints after a Spark run."""

    records_in: int
    customers: int
    links: int
    quarantined: int

    def __str__(self) -> str:
        return (
            f"records in: {self.records_in:,}   customers: {self.customers:,}   "
            f"links: {self.links:,}   quarantined: {self.quarantined:,}"
        )


def read_inputs(spark: SparkSession, inputs: list[str]) -> dict[str, DataFrame]:
    """One Spark DataFrame per input file, keyed by the file's stem."""
    sources: dict[str, DataFrame] = {}
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise C360Error("input file not found", path=item)
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            frame = spark.read.parquet(str(path))
        elif suffix == ".csv":
            frame = spark.read.csv(str(path), header=True, inferSchema=False)
        else:
            raise C360Error(
                f"the Spark engine reads .parquet and .csv files; got {path.suffix or 'no suffix'}",
                path=item,
                hint="convert the file, or use --engine local",
            )
        name = path.stem
        if name in sources:
            raise C360Error(
                f"two inputs are both named {name!r} (the Spark engine names a source by its "
                "file's stem)",
                path=item,
                hint="rename one of the files",
            )
        if "source" in frame.columns:
            raise C360Error(
                "the file has a 'source' column; the Spark engine does not split a file by it "
                "(each file is one source, named after the file)",
                path=item,
                hint="write one file per source without the column, or use --engine local",
            )
        sources[name] = frame
    return sources


def _drop_markers(table: Path) -> None:
    """Remove Hadoop's ``_SUCCESS`` and ``.*.crc`` files (polars refuses a directory with them)."""
    for marker in [*table.glob(".*.crc"), *table.glob("_SUCCESS")]:
        marker.unlink()


def run_spark(inputs: list[str], out: Path, *, master: str | None = None) -> SparkSummary:
    """Resolve ``inputs`` with ``c360.spark.resolve`` and write the outputs into ``out``."""
    from c360._stages import new_run_id
    from c360.spark import resolve, session

    spark = session(master)
    res = resolve(read_inputs(spark, inputs), spark=spark)

    def write(tmp: Path) -> SparkSummary:
        for name in OUTPUT_TABLES:
            table = tmp / f"{name}.parquet"
            getattr(res, name).write.mode("errorifexists").parquet(str(table))
            _drop_markers(table)
        res.model.save(tmp / MODEL)
        res.config.save(tmp / CONFIG)
        # counted from what was written, not by running the lazy plans again
        read = spark.read.parquet
        ids = read(str(tmp / "unified_ids.parquet"))
        quarantined = read(str(tmp / "quarantine.parquet")).count()
        valid = ids.count()
        return SparkSummary(
            records_in=valid + quarantined,
            customers=ids.select("customer_id").distinct().count(),
            links=read(str(tmp / "links.parquet")).count(),
            quarantined=quarantined,
        )

    return atomic_output(out, new_run_id(), write)
