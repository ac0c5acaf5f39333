"""Customer IDs and golden profiles in Spark, as the local engine gives them without a previous run.

[`customer_ids`][c360.spark._output.customer_ids] takes the final cluster
labels (``c360.spark._cluster.cluster``'s ``labels``: ``_rid``, ``label``) and
the records' keys, and gives every record's ``customer_id`` as
``c360.ids.assign_stable_ids`` gives it when there is no previous run.
[`profiles`][c360.spark._output.profiles] takes the records as loaded and
those IDs, and gives the golden profiles ``c360.golden.build_profiles`` gives.

Customer IDs. A cluster's *anchor* is its smallest ``(source, record_id)``:
in Spark, ``min(struct(source, record_id))`` per label. Spark compares
strings (binary collation, the default) byte by byte as unsigned UTF-8; for
valid UTF-8 that is the order of code points, which is the order of Python's
``str`` comparison and of polars' sort (which ``c360.ids`` uses), non-ASCII
record IDs included (a comparison in UTF-16 units would differ above U+FFFF:
Spark does not make one). Structs compare field by field, so the minimum
struct is the local anchor. The ID is ``c360.ids.customer_id_for(source,
record_id)`` of the anchor, computed by the local function in a
``mapInArrow`` over the anchors (Spark has no BLAKE2b expression).

Not handled: salting. Locally, a new ID already taken (by an earlier cluster
of the same run, or by a previous run) is salted until it is free
(``c360.ids.fresh_id``). Without a previous run this happens only when two
anchors' 64-bit hashes collide, which is practically impossible; the
collision is detected (the distinct IDs are counted against the clusters, one
small Spark job) and raises [`C360Error`][c360.exceptions.C360Error] instead
of giving two customers one ID. Runs with a previous run (IDs claimed through
``c360.ids.claim_previous_ids``) are not handled here.

Golden profiles. The records are joined to their ``customer_id`` and grouped
by it (``groupBy("customer_id").applyInArrow``); a Python worker runs the
local ``build_profiles`` on each customer's records. A customer's profile
reads only that customer's records: its summary (count, sources, first and
last seen) and every rule's candidates are per customer; the goodness keys
that are ranked over the whole frame (recency, ``MostRecent(by=...)``) are
dense ranks, which keep the order of values and their ties within any subset;
``MostFrequent`` counts per customer and value; ``Longest`` and
``SourcePriority`` read one record; ties end on the lowest ``(source,
record_id)`` within the customer. One exception: a ``Custom`` rule's score
expression is evaluated over the frame it is given, so an expression that
aggregates over all records (rather than row by row, or ``.over("customer_id")``
as its documentation asks) scores differently per customer than over the whole
run. The output schema is ``build_profiles``' for the records' columns, found
on the driver by running it on the records' (empty) schema; that call also
raises its configuration errors (unknown rule fields, missing columns) before
any Spark job. A record without a customer ID, or a ``(source, record_id)``
given twice, raises ``build_profiles``' ``ConfigError`` inside a worker (Spark
reports it wrapped in its own exception).

Limit: one customer's records are one group, held whole in one Python worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from c360.exceptions import C360Error
from c360.golden import Survivorship, build_profiles
from c360.ids import customer_id_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["customer_ids", "profiles"]


def customer_ids(labels: DataFrame, records: DataFrame) -> DataFrame:
    """Every record's customer ID, as ``c360.ids.assign_stable_ids`` gives it with no previous run.

    Args:
        labels: ``_rid`` and ``label``, one row per record: records with the
            same label are one customer (any labelling of the clusters).
        records: ``_rid``, ``source`` and ``record_id`` (other columns are
            ignored).

    Returns:
        ``source``, ``record_id``, ``customer_id`` (strings), one row per
        record of ``labels`` found in ``records``, in no particular order.
        The anchors and their IDs are computed once (a local checkpoint).

    Raises:
        C360Error: two clusters' anchors hash to the same ID; the local
            engine would salt one of them, which this function does not do.
    """
    from pyspark.sql import functions as F  # noqa: N812

    keyed = labels.select(
        F.col("_rid").cast("long").alias("_rid"), F.col("label").cast("long").alias("label")
    ).join(
        records.select(
            F.col("_rid").cast("long").alias("_rid"),
            F.col("source").cast("string").alias("source"),
            F.col("record_id").cast("string").alias("record_id"),
        ),
        "_rid",
    )
    anchors = keyed.groupBy("label").agg(F.min(F.struct("source", "record_id")).alias("_anchor"))
    ids = (
        anchors.select("label", "_anchor.source", "_anchor.record_id")
        .mapInArrow(_hash, "label long, customer_id string")
        .localCheckpoint(eager=True)
    )
    _check_unique(ids)
    return keyed.join(ids, "label").select("source", "record_id", "customer_id")


def _check_unique(ids: DataFrame) -> None:
    """Raise if two clusters of ``ids`` (``label``, ``customer_id``) have one ID."""
    from pyspark.sql import functions as F  # noqa: N812

    row = ids.agg(
        F.count(F.lit(1)).alias("clusters"), F.countDistinct("customer_id").alias("ids")
    ).first()
    assert row is not None
    if row["ids"] != row["clusters"]:
        raise C360Error(
            f"{row['clusters'] - row['ids']} customer ID(s) are shared by two clusters: "
            "their anchors' hashes collide, and the Spark engine does not salt IDs",
            hint="resolve these records with the local engine (c360.resolve)",
        )


def _hash(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``label, source, record_id`` batches to ``label, customer_id``, by ``customer_id_for``."""
    for batch in batches:
        sources = batch.column("source").to_pylist()
        rids = batch.column("record_id").to_pylist()
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("label").cast(pa.int64()),
                pa.array(
                    [customer_id_for(s, r) for s, r in zip(sources, rids, strict=True)], pa.string()
                ),
            ],
            names=["label", "customer_id"],
        )


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
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    rules = survivorship or Survivorship()
    columns = [c for c in valid.columns if c != "customer_id"]
    records = valid.select(*(_quoted(c) for c in columns))
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
        return _profile(group, rules, arrow)

    return joined.groupBy("customer_id").applyInArrow(run, spark_schema)


def _profile(group: pa.Table, rules: Survivorship, schema: pa.Schema) -> pa.Table:
    """One customer's profile by the local ``build_profiles``, cast to ``schema``."""
    frame = pl.from_arrow(group)
    assert isinstance(frame, pl.DataFrame)
    ids = frame.select("source", "record_id", "customer_id")
    out = build_profiles(frame.drop("customer_id"), ids, rules)
    return out.cast(schema)


def _quoted(name: str) -> str:
    """A column name as Spark reads it literally."""
    return "`" + name.replace("`", "``") + "`"
