"""Contract validation in Spark: the local contract code on every Arrow batch, keys across batches.

[`validate_sources`][c360.spark._validate.validate_sources] splits each
source into accepted records and quarantine as ``c360.sources.load`` does
with the same contract (the canonical one unless a source has its own):

1. Each row gets ``source`` and its 0-based row number in its source
   (``_row``, input order: the order of the source's partitions and of the
   rows in each, as ``monotonically_increasing_id`` numbers them; one small
   table of row counts per partition is collected for the offsets).
2. On the driver, the contract is applied to the source's empty frame:
   a missing required column raises ``ColumnNotFoundError`` and the schema
   notices are found and the ``on_schema_change`` policy applied (a warning,
   or ``SchemaChangeError``), before any Spark job; the output schema (the
   contract's types) comes from the same call.
3. In Spark, every Arrow batch (``mapInArrow``) goes through the local
   ``c360._contracts._validate.validate`` with ``unique=False``: text parsed
   to the contract's types, strings stripped, checks applied, values nulled
   with a note in ``_issues`` or rows rejected with the local reason and the
   local ``raw`` (the row as read, JSON). Each row also keeps that ``raw``.
4. Uniqueness needs every batch of a source, so it is checked in Spark
   after the rest, among the rows not otherwise rejected, as locally: per
   ``(source, record_id)`` the row with the smallest ``_row`` is kept; the
   others are quarantined with ``record_id: duplicate value 'X' (first seen
   in row N)``, X cut to 80 characters as ``c360._contracts._checks.show``.

Every input row ends in exactly one of the two outputs.

Not supported (refused with ``ConfigError`` before any job): a pandera
contract, and a contract with ``unique`` columns besides ``record_id``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from c360._canonical import ISSUES, RECORD_ID, ROW
from c360._contracts._checks import _MAX_SHOWN as _SHOWN
from c360._readers import DEFAULT_MAX_BAD_FRACTION
from c360.exceptions import ColumnNotFoundError, ConfigError
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from c360._typing import OnSchemaChange
    from c360.contracts import Contract, SchemaNotice

__all__ = ["CORRUPT", "FILE", "Validation", "validate_sources"]


#: Per text column: (some value space-edged, some date only day-first, some only
#: month-first, the contract type).
Evidence = dict[str, tuple[bool, bool, bool, str]]
_PART_BITS = 33  # monotonically_increasing_id: partition index above bit 33
_RAW, _REASON = "_raw", "_reason"
#: Columns of a CSV source read by the CLI: a ragged line's text, and the row's file.
CORRUPT, FILE = "_corrupt_record", "_file"
#: Ragged lines a source may have (a share of its rows; one is always allowed):
#: ``Source.max_bad_fraction``'s default.
MAX_BAD_FRACTION = DEFAULT_MAX_BAD_FRACTION


@dataclass(frozen=True, slots=True)
class Validation:
    """Accepted records, quarantine, schema notices, contract names, and the frames persisted."""

    valid: DataFrame
    quarantine: DataFrame
    notices: tuple[SchemaNotice, ...]
    contracts: dict[str, str]
    persisted: tuple[DataFrame, ...]


def validate_sources(
    sources: Mapping[str, DataFrame],
    contracts: Mapping[str, Any] | None = None,
    *,
    on_schema_change: OnSchemaChange = "warn",
) -> Validation:
    """Accepted records and quarantine of every source, as the local loader gives them.

    Args:
        sources: source name to its DataFrame in canonical columns.
        contracts: source name to its contract (a ``Contract``, a contract
            file, or ``None``); the canonical contract for the others.
        on_schema_change: the policy for schema notices, as ``ResolveConfig``'s.

    Returns:
        A [`Validation`][c360.spark._validate.Validation]: ``valid`` has the
        local records' columns (``source``, ``record_id``, fields in the
        contract's types, ``_row``, ``_issues``); ``quarantine`` has
        ``source``, ``record_id``, ``row_number``, ``reason``, ``raw``.

    Raises:
        ConfigError: a source name is empty, or a contract the Spark engine
            cannot apply.
        ColumnNotFoundError: a source lacks ``record_id`` or a required column.
        SchemaChangeError: a breaking schema change under ``on_schema_change="fail"``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812

    checked: DataFrame | None = None
    notices: list[SchemaNotice] = []
    names: dict[str, str] = {}
    persisted = []
    for name, frame in sources.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a source needs a non-empty name; got {name!r}")
        if RECORD_ID not in frame.columns:
            raise ColumnNotFoundError([RECORD_ID], list(frame.columns), source=name)
        contract = _contract(name, (contracts or {}).get(name))
        names[name] = f"{contract.name}@{contract.version}"
        fields = [c for c in frame.columns if c != "source"]
        tagged = frame.select(
            F.lit(name).alias("source"),
            *(F.col(quoted(c)) for c in fields),
            F.monotonically_increasing_id().alias("_mono"),
        ).persist()
        persisted.append(tagged)
        numbered = _numbered(tagged, ["source", *(quoted(c) for c in fields)])
        ragged = None
        if CORRUPT in fields:
            numbered = numbered.persist()
            persisted.append(numbered)
            ragged = _ragged(numbered, name, len([f for f in fields if f not in (CORRUPT, FILE)]))
            numbered = numbered.where(F.col(CORRUPT).isNull()).drop(CORRUPT, FILE)
        evidence = _evidence(numbered, contract)
        one, found = _validated(numbered, contract, name, on_schema_change, evidence)
        if ragged is not None:
            one = one.unionByName(ragged, allowMissingColumns=True)
        notices.extend(found)
        checked = one if checked is None else checked.unionByName(one, allowMissingColumns=True)
    assert checked is not None

    ok = checked.where(F.col(_REASON).isNull())
    first = F.min(ROW).over(Window.partitionBy("source", RECORD_ID))
    ok = ok.withColumn("_first", first)
    dup = F.col(ROW) != F.col("_first")
    shown = F.when(
        F.length(RECORD_ID) > _SHOWN,
        F.concat(F.substring(RECORD_ID, 1, _SHOWN - 3), F.lit("...")),
    ).otherwise(F.col(RECORD_ID))
    reason = F.format_string(
        "record_id: duplicate value '%s' (first seen in row %d)", shown, "_first"
    )

    def quarantined(frame: DataFrame, why: Column) -> DataFrame:
        return frame.select(
            "source",
            RECORD_ID,
            F.col(ROW).cast("long").alias("row_number"),
            why.alias("reason"),
            F.col(_RAW).alias("raw"),
        )

    quarantine = quarantined(checked.where(F.col(_REASON).isNotNull()), F.col(_REASON)).unionByName(
        quarantined(ok.where(dup), reason)
    )
    valid = ok.where(~dup).drop("_first", _RAW, _REASON)
    return Validation(valid, quarantine, tuple(notices), names, tuple(persisted))


def _ragged(numbered: DataFrame, name: str, expected: int) -> DataFrame:
    """The source's ragged CSV lines as rejected rows; too many of them fail the source.

    Raises:
        SourceReadError: more than ``MAX_BAD_FRACTION`` of the rows (and more
            than one) are ragged: the file is likely read with the wrong
            separator or is not CSV at all.
    """
    from pyspark.sql import functions as F  # noqa: N812

    from c360.exceptions import SourceReadError

    bad = numbered.where(F.col(CORRUPT).isNotNull())
    counts = numbered.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count(F.col(CORRUPT)).alias("bad"),
        F.min(F.when(F.col(CORRUPT).isNotNull(), F.struct(ROW, FILE))).alias("first"),
    ).first()
    assert counts is not None
    rows, n_bad = int(counts["rows"]), int(counts["bad"])
    if n_bad > max(1, MAX_BAD_FRACTION * rows):
        first = counts["first"]
        raise SourceReadError(
            f"{n_bad} of {rows} lines do not have the header's {expected} fields (more than "
            f"{MAX_BAD_FRACTION:.0%}); the first is data row {first[ROW]} of {first[FILE]}",
            source=name,
            hint="check the separator and the quoting, or use --engine local, which sniffs them",
        )
    reason = F.format_string(
        "ragged line: %s (data row %d) does not have the header's %d field(s)",
        F.col(FILE),
        F.col(ROW),
        F.lit(expected),
    )
    return bad.select(
        "source",
        F.col(RECORD_ID).cast("string").alias(RECORD_ID),
        F.col(ROW).cast("long").alias(ROW),
        F.to_json(F.struct(F.col(CORRUPT).alias("line"))).alias(_RAW),
        reason.alias(_REASON),
    )


def _contract(name: str, spec: Any) -> Contract:
    """The contract of source ``name``, if the Spark engine can apply it."""
    from c360._contracts._pandera import PanderaContract
    from c360._source_contracts import resolve_contract

    resolved = resolve_contract(spec)
    if isinstance(resolved, PanderaContract):
        raise ConfigError(
            f"source {name!r}: a pandera contract is not supported by the Spark engine",
            hint="translate it to a c360 or ODCS contract, or use the local engine",
        )
    others = [c.name for c in resolved.columns if c.unique and c.name != RECORD_ID]
    if others:
        raise ConfigError(
            f"source {name!r}: unique columns besides record_id ({', '.join(others)}) are not "
            "supported by the Spark engine",
            hint="drop unique from those columns, or use the local engine",
        )
    return resolved


def _evidence(numbered: DataFrame, contract: Contract) -> Evidence:
    """Per text column of the contract, the whole-column facts its parsing reads.

    ``c360._contracts._parse.column_evidence`` over the whole source: whether
    some value has a space at either end (a Spark query), whether some date
    reads only day-first and whether some only month-first (the local code on
    every batch, combined; only for text date and datetime columns).
    """
    from pyspark.sql import functions as F  # noqa: N812

    types = dict(numbered.dtypes)
    text = [c.name for c in contract.columns if c.name in types and types[c.name] == "string"]
    if not text:
        return {}
    spaced = numbered.agg(
        *(
            F.max(F.col(quoted(c)).startswith(" ") | F.col(quoted(c)).endswith(" ")).alias(f"_s{i}")
            for i, c in enumerate(text)
        )
    ).first()
    assert spaced is not None
    facts: Evidence = {
        c: (bool(spaced[f"_s{i}"]), False, False, contract.column(c).dtype)
        for i, c in enumerate(text)
    }
    dated = [c for c in text if contract.column(c).dtype in ("date", "datetime")]
    if dated:
        specs = {c: (contract.column(c).dtype, tuple(contract.column(c).formats)) for c in dated}

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            yield _dated_evidence(batches, specs)

        schema = "column string, only_dmy boolean, only_mdy boolean"
        found = (
            numbered.select(*(quoted(c) for c in dated))
            .mapInArrow(run, schema)
            .groupBy("column")
            .agg(F.max("only_dmy").alias("dmy"), F.max("only_mdy").alias("mdy"))
            .collect()
        )
        for r in found:
            spaced_c, _, _, target = facts[r["column"]]
            facts[r["column"]] = (spaced_c, bool(r["dmy"]), bool(r["mdy"]), target)
    return facts


def _dated_evidence(
    batches: Iterator[pa.RecordBatch], specs: dict[str, tuple[Any, tuple[str, ...]]]
) -> pa.RecordBatch:
    """A partition's day-first and month-first facts per text date column (over its batches)."""
    from c360._contracts._parse import column_evidence

    facts = {c: [False, False] for c in specs}
    for batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        for c, (target, formats) in specs.items():
            _, dmy, mdy = column_evidence(frame, c, target, formats)
            facts[c][0] |= dmy
            facts[c][1] |= mdy
    return pa.RecordBatch.from_arrays(
        [
            pa.array(list(facts), pa.string()),
            pa.array([f[0] for f in facts.values()], pa.bool_()),
            pa.array([f[1] for f in facts.values()], pa.bool_()),
        ],
        names=["column", "only_dmy", "only_mdy"],
    )


def _validated(
    numbered: DataFrame,
    contract: Contract,
    name: str,
    on_schema_change: OnSchemaChange,
    evidence: Evidence,
) -> tuple[DataFrame, tuple[SchemaNotice, ...]]:
    """One source's rows through the local validation, batch by batch; and its schema notices.

    The output has the valid rows' columns plus ``_raw`` and ``_reason``;
    a rejected row has ``source``, ``record_id``, ``_row``, ``_raw`` and its
    ``_reason``, and nulls elsewhere.
    """
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    from c360._contracts._validate import validate

    empty = pl.from_arrow(numbered.limit(0).toArrow())
    assert isinstance(empty, pl.DataFrame)
    empty = empty.with_columns(pl.col(ROW).cast(pl.Int64))
    driver = validate(
        empty.lazy(), contract, source=name, on_schema_change=on_schema_change, unique=False
    )
    schema = {**dict(driver.valid.schema), _RAW: pl.String(), _REASON: pl.String()}
    spark_schema = from_arrow_schema(
        pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
    )
    arrow = to_arrow_schema(spark_schema)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from _batch(batch, contract, name, arrow, evidence)

    return numbered.mapInArrow(run, spark_schema), driver.notices


def _batch(
    batch: pa.RecordBatch,
    contract: Contract,
    name: str,
    schema: pa.Schema,
    evidence: Evidence,
) -> Iterator[pa.RecordBatch]:
    """One Arrow batch through ``validate`` (no uniqueness), as the output schema's batches.

    The batch is validated with up to three made-up rows in front (negative
    ``_row``, no ``record_id``, so they are quarantined and dropped): one
    with a space in each text column where some value of the whole source
    has one, and one date that reads only day-first (only month-first) in each
    date column where some value of the source does. The batch then shows the
    whole source's facts (``_evidence``), and every whole-column decision of
    the local parsing comes out as it would over the whole source.
    """
    from c360._contracts._validate import validate

    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    available = [c for c in frame.columns if not c.startswith("_")]
    raw = frame.select(ROW, pl.struct(available).struct.json_encode().alias(_RAW))
    made_up = _made_up_rows(frame.schema, name, evidence)
    if made_up.height:
        frame = pl.concat([made_up, frame])
    out = validate(frame.lazy(), contract, source=name, on_schema_change="accept", unique=False)
    valid = out.valid.join(raw, on=ROW, how="left", maintain_order="left").with_columns(
        pl.lit(None, dtype=pl.String).alias(_REASON)
    )
    rejected = out.quarantine.filter(pl.col("row_number") >= 0).select(
        pl.col("source").cast(pl.String),
        pl.col("record_id").cast(pl.String),
        pl.col("row_number").cast(pl.Int64).alias(ROW),
        pl.col("raw").cast(pl.String).alias(_RAW),
        pl.col("reason").cast(pl.String).alias(_REASON),
    )
    both = pl.concat([valid, rejected], how="diagonal_relaxed")
    if ISSUES in both.columns:
        both = both.with_columns(pl.col(ISSUES).fill_null(pl.lit([], dtype=pl.List(pl.String))))
    table = both.select(schema.names).to_arrow(compat_level=pl.CompatLevel.oldest())
    yield from table.cast(schema).to_batches()


#: Made-up dates that read one way only (day-first, month-first), by column type.
_ONE_WAY = {
    "date": ("31/12/2000", "12/31/2000"),
    "datetime": ("31/12/2000 00:00", "12/31/2000 00:00"),
}


def _made_up_rows(schema: pl.Schema, name: str, evidence: Evidence) -> pl.DataFrame:
    """The rows that make a batch show its source's whole-column facts (see ``_batch``)."""
    rows: list[dict[str, Any]] = []
    spaced = {c: " " for c, f in evidence.items() if f[0] and c in schema}
    if spaced:
        rows.append(spaced)
    for k in (1, 2):
        dates = {c: _ONE_WAY[f[3]][k - 1] for c, f in evidence.items() if f[k] and c in schema}
        if dates:
            rows.append(dates)
    if not rows:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(rows, schema=dict.fromkeys({k for r in rows for k in r}, pl.String))
    frame = frame.with_columns(
        pl.lit(name).alias("source"),
        (-pl.int_range(1, frame.height + 1, dtype=pl.Int64)).alias(ROW),
    )
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in schema.items()
    )


def _numbered(tagged: DataFrame, columns: list[str]) -> DataFrame:
    """``tagged``'s ``columns`` with each row's 0-based number in its source (``_row``).

    ``_mono`` is the partition index (high bits) and the row's index in its
    partition (low bits). One small table of rows per partition is collected,
    each partition's offset worked out on the driver, and the offsets joined
    back by partition (a broadcast join: one row per input partition, so
    thousands of partitions cost a small table, not an expression per
    partition).
    """
    from pyspark.sql import functions as F  # noqa: N812

    spark = tagged.sparkSession
    parted = tagged.withColumn("_part", F.shiftright(F.col("_mono"), _PART_BITS))
    counts = sorted(
        (int(p), int(n))
        for p, n in parted.groupBy("_part").agg(F.count(F.lit(1)).alias("n")).collect()
    )
    offsets, running = [], 0
    for p, n in counts:
        offsets.append((p, running))
        running += n
    table = spark.createDataFrame(offsets or [(0, 0)], "_part long, _offset long")
    low = F.col("_mono").bitwiseAND(F.lit((1 << _PART_BITS) - 1))
    return parted.join(F.broadcast(table), "_part").select(
        *columns, (F.col("_offset") + low).cast("long").alias(ROW)
    )
