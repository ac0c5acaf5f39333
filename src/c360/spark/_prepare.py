"""Key, standardise and clear junk from accepted records in Spark, with the local code.

The Spark counterpart of the first stages of ``c360.pipeline.prepare``: record
keys, standardisation, junk detection and junk nulling. Nothing is collected
to the driver but small tables: a sample of record keys, one count per key
range, and the junk values found.

What runs where:

* [`record_keys`][c360.spark._prepare.record_keys] numbers the records in
  ``(source, record_id)`` order without a global sort into one partition. The
  driver collects a sample of the keys (about ``SAMPLE_PER_RANGE`` per range)
  and cuts the key space into ranges at sample quantiles. Each record's range
  is a pure function of its key (a binary search written as nested
  ``CASE WHEN`` expressions), so every job that reads the ranges sees the
  same ones. One job counts the records of each range (a small table, collected);
  the driver turns the counts into offsets, and each record's key is its
  range's offset plus its ``row_number`` within its range (a window
  partitioned by range, so each range is numbered by one task and the ranges
  by many tasks).
* [`standardise`][c360.spark._prepare.standardise] runs ``mapInArrow``: in
  each Python worker, every Arrow batch of a partition becomes a polars
  frame and goes through ``c360._stages.standardise``, the function a local
  run calls. The output schema comes from running that function on the
  driver on an empty frame of the input's schema.
* [`detect_junk`][c360.spark._prepare.detect_junk] counts the values of the
  identifier and location columns in Spark (one shuffle for all of them). A
  ``mapInArrow`` over the count table keeps the values that
  ``c360.rules.judge_counts`` (the rule of ``c360.rules.detect_junk``, the
  same code) flags, and only those reach the driver.
* [`null_junk`][c360.spark._prepare.null_junk] is Spark expressions: a junk
  value becomes null in its column, and the columns derived from that column
  (``c360.rules.DERIVED_FROM``) are nulled where it is null.

Why per-partition standardisation equals the local one: every expression of
``c360.standardize.standardize`` is built from the frame's schema and the
configuration alone, and computes each row's values from that row's own
columns (a name from the name parts or ``full_name``, a phone number from
its text and the row's ``country``...). Some cleaners take a different path
by batch size: the Python functions run once per distinct value (the same
result for each copy of a value), and phone numbers are parsed by a
vectorised reading of the number ranges, except in small batches or small
groups of one region, where ``phonenumbers`` itself runs. These paths are
tested equal locally, and the tests of this module compare the whole
matching frame, split four ways, with the local one. The batches' schema
is the local frame's with Spark's types (``_rid`` is a long, strings are
plain Arrow strings), which standardisation reads the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from c360._canonical import RID
from c360.config import ResolveConfig
from c360.rules import _JUNK_SCHEMA, DERIVED_FROM, JunkConfig, judge_counts
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["detect_junk", "null_junk", "record_keys", "standardise"]

#: Sampled record keys per key range of ``record_keys``.
SAMPLE_PER_RANGE = 100

_KEYS = ("source", "record_id")


# --- record keys -------------------------------------------------------------------


def record_keys(valid: DataFrame, *, ranges: int | None = None) -> DataFrame:
    """``valid`` with ``_rid`` (long): 0 to n - 1 in ``(source, record_id)`` order.

    The numbering of ``c360.pipeline.prepare`` (``(source, record_id)`` pairs
    are unique among accepted records; a null sorts first, as in polars and
    Spark). Runs three small jobs (a count, a sample of keys, a count per key
    range) whose results reach the driver; the numbering itself is lazy.

    Args:
        valid: accepted records with string columns ``source`` and ``record_id``
            and no ``_rid``.
        ranges: key ranges numbered in parallel (default: the session's
            ``spark.sql.shuffle.partitions``, or 200).

    Returns:
        ``valid``'s columns, then ``_rid``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812

    if RID in valid.columns:
        raise ValueError(f"valid already has a {RID} column")
    if ranges is None:
        setting = valid.sparkSession.conf.get("spark.sql.shuffle.partitions", "200")
        ranges = int(setting) if setting and setting.isdigit() else 200
    n = valid.count()
    bounds = _bounds(valid, n, max(1, ranges)) if n else []
    keyed = valid.withColumn("_range", _range_of(bounds, 0, len(bounds)))
    counts = {int(r): int(c) for r, c in keyed.groupBy("_range").count().collect()}
    offsets, total = [], 0
    for r in range(len(bounds) + 1):
        offsets.append(total)
        total += int(counts.get(r, 0))
    order = Window.partitionBy("_range").orderBy(*_KEYS)
    offset = F.array(*(F.lit(o).cast("long") for o in offsets))[F.col("_range")]
    rid = (offset + F.row_number().over(order) - 1).cast("long")
    return keyed.withColumn(RID, rid).drop("_range")


def _bounds(valid: DataFrame, n: int, ranges: int) -> list[tuple[str, str]]:
    """Keys that cut ``valid`` into about ``ranges`` ranges of equal size (a sample's quantiles)."""
    want = ranges * SAMPLE_PER_RANGE
    sample = valid.select(*_KEYS)
    if n > want:
        sample = sample.sample(withReplacement=False, fraction=want / n, seed=0)
    keys = [(str(a), str(b)) for a, b in sample.collect() if a is not None and b is not None]
    return _cuts(keys, ranges)


def _cuts(keys: list[tuple[str, str]], ranges: int) -> list[tuple[str, str]]:
    """``ranges - 1`` quantiles of ``keys`` (fewer when keys repeat), ascending, distinct.

    Examples:
        >>> _cuts([("a", str(i)) for i in range(10)], 3)
        [('a', '3'), ('a', '6')]
        >>> _cuts([], 4), _cuts([("a", "1")], 4)
        ([], [])
    """
    keys = sorted(keys)  # Python orders str by code point: Spark's and polars' byte order
    cuts = {keys[len(keys) * k // ranges] for k in range(1, ranges) if keys}
    return sorted(cuts - {keys[0]} if keys else cuts)


def _range_of(bounds: Sequence[tuple[str, str]], lo: int, hi: int) -> Column:
    """The range (``lo`` to ``hi``) of a record: how many of ``bounds`` its key reaches.

    A binary search as nested ``CASE WHEN``: ``bounds[i]`` starts range ``i + 1``.
    """
    from pyspark.sql import functions as F  # noqa: N812

    if lo == hi:
        return F.lit(lo)
    mid = (lo + hi + 1) // 2
    source, record_id = bounds[mid - 1]
    at_or_after = (F.col("source") > F.lit(source)) | (
        (F.col("source") == F.lit(source)) & (F.col("record_id") >= F.lit(record_id))
    )
    return F.when(at_or_after, _range_of(bounds, mid, hi)).otherwise(_range_of(bounds, lo, mid - 1))


# --- standardisation ---------------------------------------------------------------


def standardise(valid: DataFrame, cfg: ResolveConfig) -> DataFrame:
    """The matching frame of ``valid``: ``c360._stages.standardise`` on every Arrow batch.

    Args:
        valid: accepted records (usually keyed by ``record_keys``).
        cfg: options; only ``cfg.standardize`` is read.

    Returns:
        A lazy DataFrame with the columns and rows of the local matching
        frame (before junk is nulled). Columns standardisation leaves as they
        are keep their Spark types.
    """
    from pyspark.sql.pandas.types import from_arrow_type, to_arrow_schema
    from pyspark.sql.types import StructField, StructType

    from c360._stages import standardise as local

    zone = valid.sparkSession.conf.get("spark.sql.session.timeZone")
    before = pl.from_arrow(to_arrow_schema(valid.schema, timezone=zone).empty_table())
    assert isinstance(before, pl.DataFrame)
    after = local(before, cfg)
    arrow = after.to_arrow(compat_level=pl.CompatLevel.oldest()).schema
    fields = []
    for name in after.columns:
        same = name in before.columns and before.schema[name] == after.schema[name]
        dtype = valid.schema[name].dataType if same else from_arrow_type(arrow.field(name).type)
        fields.append(StructField(name, dtype, nullable=True))
    schema = StructType(fields)
    target = to_arrow_schema(schema, timezone=zone)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if not batch.num_rows:
                continue
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            out = local(frame, cfg).to_arrow(compat_level=pl.CompatLevel.oldest())
            yield from out.cast(target).to_batches()

    return valid.mapInArrow(run, schema)


# --- junk ----------------------------------------------------------------------------


def detect_junk(matching: DataFrame, cfg: ResolveConfig | JunkConfig) -> pl.DataFrame:
    """The junk values of ``matching``, as ``c360.rules.detect_junk`` finds them locally.

    Args:
        matching: the standardised records.
        cfg: options (or their ``junk`` part).

    Returns:
        ``column``, ``value``, ``records`` and ``reason``, sorted as locally.
        Values are counted as Spark casts them to strings, which is the
        polars text for string and date columns (the default junk columns
        all are one or the other).
    """
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    junk = cfg if isinstance(cfg, JunkConfig) else cfg.junk
    columns = [c for c in junk.columns() if c in matching.columns]
    if not columns:
        return pl.DataFrame(schema=_JUNK_SCHEMA)
    n = matching.count()
    cells = F.explode(
        F.array(
            *(
                F.struct(F.lit(c).alias("column"), F.col(quoted(c)).cast("string").alias("value"))
                for c in columns
            )
        )
    ).alias("cell")
    counts = (
        matching.select(cells)
        .select("cell.column", "cell.value")
        .where(F.col("value").isNotNull())
        .groupBy("column", "value")
        .count()
        .withColumnRenamed("count", "records")
    )
    schema = StructType(
        [
            StructField("column", StringType()),
            StructField("value", StringType()),
            StructField("records", LongType()),
            StructField("reason", StringType()),
        ]
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            found = _judge(frame, n, junk)
            if found.height:
                table = found.with_columns(pl.col("records").cast(pl.Int64)).to_arrow(
                    compat_level=pl.CompatLevel.oldest()
                )
                yield from table.cast(_ARROW_JUNK).to_batches()

    rows = counts.mapInArrow(run, schema).toArrow()
    found = pl.from_arrow(rows)
    assert isinstance(found, pl.DataFrame)
    if found.height == 0:
        return pl.DataFrame(schema=_JUNK_SCHEMA)
    return found.with_columns(pl.col("records").cast(pl.UInt32)).sort(
        "column", "records", "value", descending=[False, True, False]
    )


_ARROW_JUNK = pa.schema(
    [
        pa.field("column", pa.string()),
        pa.field("value", pa.string()),
        pa.field("records", pa.int64()),
        pa.field("reason", pa.string()),
    ]
)


def _judge(counts: pl.DataFrame, n: int, cfg: JunkConfig) -> pl.DataFrame:
    """The junk rows of a value-count table (``column``, ``value``, ``records``) of n records.

    ``c360.rules.judge_counts``, the rule of ``detect_junk``, per column.

    Examples:
        >>> counts = pl.DataFrame({"column": ["email", "email", "postcode"],
        ...                        "value": ["a@b.io", "test@x.io", "00000"],
        ...                        "records": [30, 1, 1]})
        >>> _judge(counts, 100, JunkConfig()).select("value", "records").rows()
        [('a@b.io', 30), ('test@x.io', 1), ('00000', 1)]
    """
    frames = [
        judge_counts(str(col), group.drop("column"), n, cfg)
        for (col,), group in counts.partition_by("column", as_dict=True).items()
    ]
    if not frames:
        return pl.DataFrame(schema={**_JUNK_SCHEMA, "records": pl.Int64})
    return pl.concat(frames)


def null_junk(matching: DataFrame, junk: pl.DataFrame) -> DataFrame:
    """Replace junk values by null in the columns where they were found, as locally.

    The columns ``c360.rules.DERIVED_FROM`` lists for a column with junk are
    nulled where that column is null afterwards; columns of ``junk`` that
    ``matching`` lacks are skipped (``c360.rules.null_junk``).

    Returns:
        ``matching`` with the same columns, in the same order.
    """
    from pyspark.sql import functions as F  # noqa: N812

    if junk.height == 0:
        return matching
    nulled: dict[str, Column] = {}
    cleared: list[tuple[str, str]] = []
    for (col,), group in junk.group_by("column", maintain_order=True):
        name = str(col)
        if name not in matching.columns:
            continue
        values = group["value"].to_list()
        column = F.col(quoted(name))
        nulled[name] = F.when(column.cast("string").isin(values), F.lit(None)).otherwise(column)
        cleared.extend((name, d) for d in DERIVED_FROM.get(name, ()) if d in matching.columns)
    out = matching.withColumns(nulled)
    if cleared:
        out = out.withColumns(
            {
                d: F.when(F.col(quoted(base)).isNull(), F.lit(None)).otherwise(F.col(quoted(d)))
                for base, d in cleared
            }
        )
    return out
