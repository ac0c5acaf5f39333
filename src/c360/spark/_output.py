"""Golden profiles in Spark, as the local engine gives them.

[`profiles`][c360.spark._output.profiles] takes the records as loaded and
their customer IDs (``c360.spark._ids.customer_ids``), and gives the golden
profiles ``c360.golden.build_profiles`` gives.

The records are joined to their ``customer_id`` and grouped
into buckets of customers by a hash of it (four per shuffle partition:
``groupBy().applyInArrow``); a Python worker runs the local
``build_profiles`` on each bucket's records, many customers in one call.
A customer's profile reads only that customer's records: its summary (count, sources, first and
last seen) and every rule's candidates are per customer; the goodness keys
that are ranked over the whole frame (recency, ``MostRecent(by=...)``) are
dense ranks, which keep the order of values and their ties within any subset;
``MostFrequent`` counts per customer and value; ``Longest`` and
``SourcePriority`` read one record; ties end on the lowest ``(source,
record_id)`` within the customer. One exception: a ``Custom`` rule's score
expression is evaluated over the frame it is given, so an expression that
aggregates over all records (rather than row by row, or ``.over("customer_id")``
as its documentation asks) scores differently per bucket than over the whole
run. The output schema is ``build_profiles``' for the records' columns, found
on the driver by running it on the records' (empty) schema; that call also
raises its configuration errors (unknown rule fields, missing columns) before
any Spark job. A record without a customer ID, or a ``(source, record_id)``
given twice, raises ``build_profiles``' ``ConfigError`` inside a worker (Spark
reports it wrapped in its own exception).

Limit: a bucket's records are held whole in one Python worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from c360.golden import Survivorship, build_profiles
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["profiles"]


def profiles(valid: DataFrame, unified: DataFrame, survivorship: Survivorship | None) -> DataFrame:
    """One golden profile per customer, as ``c360.golden.build_profiles`` gives it.

    Args:
        valid: the accepted records as loaded: ``source``, ``record_id``, the
            fields, and ``updated_at`` when present (a ``customer_id`` column,
            which the local engine ignores, is dropped).
        unified: ``source``, ``record_id``, ``customer_id``, one row per
            record of ``valid``.
        survivorship: the rules (``Survivorship()`` when ``None``), shipped
            with each task's closure.

    Returns:
        The profiles, one row per customer, with ``build_profiles``' columns
        in its order (strings as Spark strings, ``first_seen``/``last_seen``
        as ``timestamp_ntz``), in no particular order.

    Raises:
        ColumnNotFoundError: a rule names a column ``valid`` does not have.
        ConfigError: the survivorship is not a ``Survivorship``.
    """
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    from c360.spark._cluster import buckets

    rules = survivorship or Survivorship()
    columns = [c for c in valid.columns if c != "customer_id"]
    records = valid.select(*(quoted(c) for c in columns))
    # the schema build_profiles gives for these columns, from their empty frame
    empty = pl.from_arrow(records.limit(0).toArrow())
    assert isinstance(empty, pl.DataFrame)
    no_ids = pl.DataFrame(
        schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String}
    )
    spark_schema = from_arrow_schema(build_profiles(empty, no_ids, rules).schema)
    # the Arrow types Spark expects back (plain strings, not polars' large or view ones)
    arrow = to_arrow_schema(spark_schema)
    ids = unified.select("source", "record_id", "customer_id")
    joined = records.join(ids, ["source", "record_id"], "left")

    def run(group: pa.Table) -> pa.Table:
        return _profile(group.drop_columns(["_bucket"]), rules, arrow)

    bucket = F.pmod(F.xxhash64("customer_id"), F.lit(buckets(joined.sparkSession)))
    return joined.withColumn("_bucket", bucket).groupBy("_bucket").applyInArrow(run, spark_schema)


def _profile(group: pa.Table, rules: Survivorship, schema: pa.Schema) -> pa.Table:
    """A bucket of customers' profiles by the local ``build_profiles``, cast to ``schema``."""
    frame = pl.from_arrow(group)
    assert isinstance(frame, pl.DataFrame)
    ids = frame.select("source", "record_id", "customer_id")
    out = build_profiles(frame.drop("customer_id"), ids, rules)
    return out.cast(schema)
