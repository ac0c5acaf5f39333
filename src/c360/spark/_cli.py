"""``c360 resolve --engine spark``: read the input files with Spark, resolve, write the outputs.

Each input file (Parquet, or CSV read as strings with a header) is one source
named after the file's stem. A ``c360.toml`` (``--config``) gives the options
of its ``[resolve]`` table and may declare ``[[sources]]`` with ``name``,
``location`` (one or more Parquet or CSV paths, which Spark reads as one
DataFrame), ``record_id``, ``columns`` (renamed to their canonical names) and
``contract``; a declaration that needs the local readers (``format`` other
than Parquet or CSV, ``table``/``query``, ``read_options``, ``keep``, a custom
``event_time``) is refused by name rather than half honoured. ``--previous``
(an output directory of either engine) carries customer IDs over and
``--model`` reuses a trained model, as with the local engine.

The outputs are written by ``c360.spark._write.write_spark``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from c360._source_spec import _DEFAULT_EVENT_TIME
from c360.exceptions import C360Error, ConfigError
from c360.spark._columns import quoted
from c360.spark._errors import spark_error_summary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from c360.config import ResolveConfig
    from c360.history import HistoryLocation, SloConfig
    from c360.report._pii import PiiMode
    from c360.sources import Source

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


def _read(spark: SparkSession, items: list[str]) -> DataFrame:
    """One DataFrame from Parquet or CSV files (all of one format)."""
    suffixes = set()
    for item in items:
        path = Path(item)
        if not path.exists():
            raise C360Error("input file not found", path=item)
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise C360Error(
                f"the Spark engine reads .parquet and .csv files; got {path.suffix or 'no suffix'}",
                path=item,
                hint="convert the file, or use --engine local",
            )
        suffixes.add(suffix)
    if len(suffixes) > 1:
        raise C360Error("one source's files mix Parquet and CSV", path=items[0])
    try:
        if suffixes == {".parquet"}:
            return spark.read.parquet(*items)
        return _read_csv(spark, items)
    except Exception as exc:
        summary = spark_error_summary(exc)
        if summary is None:
            raise
        raise C360Error(f"Spark cannot read the file: {summary}", path=items[0]) from exc


def _read_csv(spark: SparkSession, items: list[str]) -> DataFrame:
    """CSV files as text columns; a line whose fields do not match the header is kept whole.

    Spark reads such a line as it can (missing fields null, extra ones
    dropped); with ``columnNameOfCorruptRecord`` it also keeps the line's
    text, and ``c360.spark._validate`` sends the row to quarantine, as the
    local reader does with ragged lines. ``_file`` names the row's file.
    """
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import StringType, StructField, StructType

    from c360.spark._validate import CORRUPT, FILE

    header = spark.read.csv(items, header=True, inferSchema=False).columns
    schema = StructType(
        [StructField(c, StringType()) for c in header] + [StructField(CORRUPT, StringType())]
    )
    frame = spark.read.csv(
        items, header=True, schema=schema, mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT
    )
    return frame.withColumn(FILE, F.input_file_name())


def read_path(spark: SparkSession, path: str | Path) -> DataFrame:
    """A source given as a path: a Parquet or CSV file, or a directory of Parquet files."""
    where = Path(path)
    if where.is_dir():
        try:
            return spark.read.parquet(str(where))
        except Exception as exc:
            summary = spark_error_summary(exc)
            if summary is None:
                raise
            raise C360Error(f"Spark cannot read the directory: {summary}", path=str(where)) from exc
    return _read(spark, [str(where)])


def read_inputs(
    spark: SparkSession, inputs: list[str], declared: Sequence[Source] = ()
) -> dict[str, DataFrame]:
    """One Spark DataFrame per input file (keyed by the file's stem) and per declared source."""
    sources: dict[str, DataFrame] = {}
    for source in declared:
        sources[source.name] = _declared(spark, source)
    for item in inputs:
        path = Path(item)
        frame = _read(spark, [item])
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


#: ``Source`` fields the Spark engine does not read, with the value that means "not used".
_UNSUPPORTED: dict[str, object] = {
    "table": None,
    "query": None,
    "read_options": {},
    "keep": (),
    "event_time": _DEFAULT_EVENT_TIME,
}


def _declared(spark: SparkSession, source: Source) -> DataFrame:
    """A declared source read by Spark, its columns renamed to canonical names."""
    from pyspark.sql import functions as F  # noqa: N812

    for name, unused in _UNSUPPORTED.items():
        value = getattr(source, name)
        if value is not None and value != unused:
            raise ConfigError(
                f"source {source.name!r}: {name} is not supported by the Spark engine",
                hint="drop it from [[sources]], or use --engine local",
            )
    if source.format not in ("auto", "parquet", "csv"):
        raise ConfigError(
            f"source {source.name!r}: format {source.format!r} is not supported by the Spark "
            "engine (Parquet and CSV are)",
            hint="use --engine local",
        )
    if not source.location:
        raise ConfigError(f"source {source.name!r} has no location", hint="give a file path")
    items = [source.location] if isinstance(source.location, str) else list(source.location)
    frame = _read(spark, [str(i) for i in items])
    renames = {**dict(source.columns), source.record_id: "record_id"}
    missing = [c for c in renames if c not in frame.columns]
    if missing:
        raise C360Error(
            f"source {source.name!r} has no column {missing[0]!r}",
            path=str(items[0]),
            hint=f"its columns: {', '.join(frame.columns)}",
        )
    return frame.select(
        *(F.col(quoted(c)).alias(renames.get(c, c)) for c in frame.columns if c != "source")
    )


def _where(source: Source) -> str:
    """A declared source's location as the report shows it."""
    where = source.location
    return where if isinstance(where, str) else ", ".join(map(str, where or ()))


def run_spark(
    inputs: list[str],
    out: Path,
    *,
    master: str | None = None,
    config: ResolveConfig | None = None,
    declared: Sequence[Source] = (),
    previous: Path | None = None,
    model: Path | None = None,
    report_pii: PiiMode = "mask",
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    history_optional: bool = False,
) -> SparkSummary:
    """Resolve ``inputs`` with ``c360.spark.resolve`` and write the outputs and the report.

    The run is recorded in its run history (see ``c360.history``) as a local run's is.
    """
    from c360.spark import resolve, session
    from c360.spark._write import write_spark

    spark = session(master)
    sources = read_inputs(spark, inputs, declared)
    locations = {s.name: _where(s) for s in declared}
    locations.update({Path(i).stem: i for i in inputs})
    if not sources:
        raise C360Error("no inputs: give .parquet or .csv files, or [[sources]] in --config")
    contracts = {s.name: s.contract for s in declared if s.contract is not None}
    res = resolve(
        sources, config=config, contracts=contracts, previous=previous, model=model, spark=spark
    )

    try:
        report = write_spark(
            res,
            out,
            previous=previous,
            report_pii=report_pii,
            locations=locations,
            history=history,
            slo=slo,
            history_optional=history_optional,
        )
    finally:
        res.unpersist()
    totals = report.data["summary"]
    return SparkSummary(
        records_in=totals["records_in"],
        customers=totals["customers"],
        links=totals["links"],
        quarantined=totals["records_quarantined"],
    )
