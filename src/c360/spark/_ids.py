"""Customer IDs in Spark as ``c360.ids.assign_stable_ids`` gives them, with a previous run or not.

[`customer_ids`][c360.spark._ids.customer_ids] takes the final cluster
labels (``c360.spark._cluster.cluster``'s ``labels``: ``_rid``, ``label``, the
label being the smallest ``_rid`` of the cluster), the records' keys and,
optionally, the previous run's ``unified_ids``; it gives every record's
``customer_id`` and the ``id_changes`` table.

Anchors. A cluster's *anchor* is its smallest ``(source, record_id)``: in
Spark, ``min(struct(source, record_id))`` per label. Spark compares strings
(binary collation, the default) byte by byte as unsigned UTF-8; for valid
UTF-8 that is the order of code points, which is the order of Python's
``str`` comparison and of polars' sort (which ``c360.ids`` uses), non-ASCII
record IDs included (a comparison in UTF-16 units would differ above U+FFFF:
Spark does not make one). Structs compare field by field, so the minimum
struct is the local anchor. A new ID is ``c360.ids.customer_id_for(source,
record_id)`` of the anchor, computed by the local function in a
``mapInArrow`` over the anchors (Spark has no BLAKE2b expression).

Previous IDs. The local rules (``c360.ids.claim_previous_ids``) walk one
overlap table, rows ``(cluster, previous ID, shared records, previous
size)``, greedily in claim order. Most rows cannot be contested: a cluster
with one overlap row whose previous ID has no other row keeps that ID
whatever the order (nothing else claims either). Those are decided in Spark.
Only the *contested* rows (a cluster that overlaps several previous IDs, or
an ID spread over several clusters: the merges and splits since the
previous run) are streamed to the driver in claim order
(``toLocalIterator``) and go through ``claim_previous_ids`` itself; the
greedy walk over them gives what it gives over the whole table, because no
uncontested row shares a cluster or an ID with them. The claim order's last
key, "the smaller cluster", is the smaller label, which is the local one
(both label a cluster by its smallest record key).

A cluster that keeps no previous ID gets a new one. Locally a new ID already
taken (by a previous customer, or by an earlier new cluster of this run, in
anchor order) is salted until it is free (``c360.ids.fresh_id``); that
happens when a split part holds the record that anchored a previous
customer whose ID another part kept. In Spark the plain IDs are computed for
every new cluster and joined against the previous IDs; only the colliding
clusters (few: they come from splits) go to the driver, with the previous
IDs their first salted candidates would hit, and ``fresh_id`` salts them in
anchor order as locally. The other clusters keep their plain IDs. Two new
clusters whose plain IDs collide, or a salted ID equal to another cluster's
plain ID (a 64-bit hash collision), would be salted locally; here they
raise [`C360Error`][c360.exceptions.C360Error] (the distinct IDs are
counted against the clusters, one small Spark job) instead of giving two
customers one ID.

``id_changes`` (only with a previous run): ``merged_into`` for the previous
IDs of contested rows that no cluster kept; ``retired`` for previous IDs
none of whose records remain (an anti-join in Spark); ``split_from`` for a
new cluster holding records of an ID another cluster kept; ``new`` for every
other new cluster.

Limits: the contested rows and the colliding clusters are held on the
driver (a Python set and dict of them); a run whose clustering differs from
the previous one almost everywhere makes most rows contested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from c360.exceptions import C360Error, StateError
from c360.ids import Claims, claim_previous_ids, customer_id_for, fresh_id

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["customer_ids", "read_previous"]

#: Salts tried for a colliding new ID before giving up (each is a 64-bit hash collision).
_MAX_SALT = 8

_CHANGES = "customer_id string, change string, other_customer_id string, run_id string"


def customer_ids(
    labels: DataFrame,
    records: DataFrame,
    previous: DataFrame | None = None,
    *,
    run_id: str = "",
) -> tuple[DataFrame, DataFrame]:
    """Every record's customer ID and the ID changes, as ``c360.ids.assign_stable_ids`` gives them.

    Args:
        labels: ``_rid`` and ``label``, one row per record: records with the
            same label are one customer; the label is the cluster's smallest
            ``_rid`` (which orders ties in the claim order as locally).
        records: ``_rid``, ``source`` and ``record_id`` (other columns are
            ignored); ``_rid`` numbers the records in ``(source, record_id)`` order.
        previous: the previous run's ``unified_ids`` (``source``,
            ``record_id``, ``customer_id``), or ``None``.
        run_id: written into every ``id_changes`` row.

    Returns:
        ``(unified_ids, id_changes)``: ``source``, ``record_id``,
        ``customer_id`` (strings), one row per record of ``labels`` found in
        ``records``, in no particular order; and ``customer_id``, ``change``,
        ``other_customer_id``, ``run_id`` (empty without a previous run).
        The IDs per cluster are computed once (a local checkpoint).

    Raises:
        C360Error: two clusters would get one ID through a hash collision;
            the local engine would salt one of them.
    """
    from pyspark.sql import functions as F  # noqa: N812

    spark = records.sparkSession
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
    anchors = anchors.select("label", "_anchor.source", "_anchor.record_id")
    if previous is None:
        ids = anchors.mapInArrow(_hash, "label long, customer_id string").localCheckpoint()
        _check_unique(ids)
        unified = keyed.join(ids, "label").select("source", "record_id", "customer_id")
        return unified, spark.createDataFrame([], _CHANGES)

    prev = previous.select(
        F.col("source").cast("string").alias("source"),
        F.col("record_id").cast("string").alias("record_id"),
        F.col("customer_id").cast("string").alias("customer_id"),
    ).localCheckpoint()
    chosen, claims, overlap_ids = _claim(keyed, prev)
    fresh = anchors.join(chosen, "label", "left_anti")
    plain = fresh.mapInArrow(_hash, "label long, customer_id string")
    prev_ids = prev.select("customer_id").distinct()
    hit = plain.join(prev_ids, "customer_id", "left_semi").select("label")
    salted = _salt(fresh.join(hit, "label", "left_semi"), prev_ids)
    new = plain.join(salted.select("label"), "label", "left_anti").unionByName(salted)
    ids = chosen.unionByName(new).localCheckpoint()
    _check_unique(ids)
    unified = keyed.join(ids, "label").select("source", "record_id", "customer_id")

    split = spark.createDataFrame(
        [(c, pid) for c, pid in claims.split_of.items()], "label long, other_customer_id string"
    )
    fresh_changes = new.join(split, "label", "left").select(
        "customer_id",
        F.when(F.col("other_customer_id").isNull(), F.lit("new"))
        .otherwise(F.lit("split_from"))
        .alias("change"),
        "other_customer_id",
    )
    retired = prev_ids.join(overlap_ids, "customer_id", "left_anti").select(
        "customer_id",
        F.lit("retired").alias("change"),
        F.lit(None).cast("string").alias("other_customer_id"),
    )
    merged = spark.createDataFrame(
        [(r["customer_id"], r["change"], r["other_customer_id"]) for r in claims.changes()],
        "customer_id string, change string, other_customer_id string",
    )
    changes = (
        merged.unionByName(retired).unionByName(fresh_changes).withColumn("run_id", F.lit(run_id))
    )
    return unified, changes


def _claim(keyed: DataFrame, prev: DataFrame) -> tuple[DataFrame, Claims, DataFrame]:
    """``(chosen, claims, overlap_ids)``: the previous ID each cluster keeps, and more.

    ``chosen`` is ``label, customer_id`` for every cluster that keeps a
    previous ID; ``claims`` holds the driver's walk over the contested rows
    (their splits and merges); ``overlap_ids`` the previous IDs that share a
    record with some cluster (the others are retired).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812

    spark = keyed.sparkSession
    prev_size = prev.groupBy("customer_id").agg(F.count(F.lit(1)).alias("prev_size"))
    overlap = (
        keyed.join(prev, ["source", "record_id"])
        .groupBy("label", "customer_id")
        .agg(F.count(F.lit(1)).alias("shared"))
        .join(prev_size, "customer_id")
        .withColumn("_per_label", F.count(F.lit(1)).over(Window.partitionBy("label")))
        .withColumn("_per_id", F.count(F.lit(1)).over(Window.partitionBy("customer_id")))
        .localCheckpoint()
    )
    alone = (F.col("_per_label") == 1) & (F.col("_per_id") == 1)
    certain = overlap.where(alone).select("label", "customer_id")
    contested = overlap.where(~alone).orderBy(
        F.col("shared").desc(),
        F.col("prev_size").desc(),
        F.col("customer_id").asc(),
        F.col("label").asc(),
    )
    rows = (
        (int(r["label"]), str(r["customer_id"]), int(r["shared"]), int(r["prev_size"]))
        for r in contested.select("label", "customer_id", "shared", "prev_size").toLocalIterator()
    )
    claims = claim_previous_ids(rows)
    walked = spark.createDataFrame(
        [(c, pid) for c, pid in claims.chosen.items()], "label long, customer_id string"
    )
    chosen = certain.unionByName(walked)
    return chosen, claims, overlap.select("customer_id").distinct()


def _salt(colliding: DataFrame, prev_ids: DataFrame) -> DataFrame:
    """``label, customer_id`` for new clusters whose plain ID is taken, salted as ``fresh_id``.

    ``colliding`` is ``label, source, record_id`` (the anchors); they are few,
    collected with the previous IDs their salted candidates would hit.
    """
    from pyspark.sql import functions as F  # noqa: N812

    spark = colliding.sparkSession
    rows = sorted(
        (int(r["label"]), str(r["source"]), str(r["record_id"])) for r in colliding.collect()
    )
    schema = "label long, customer_id string"
    if not rows:
        return spark.createDataFrame([], schema)
    candidates = [
        (customer_id_for(source, rid, salt),)
        for _, source, rid in rows
        for salt in range(_MAX_SALT + 1)
    ]
    wanted = spark.createDataFrame(candidates, "customer_id string")
    taken = {
        str(r["customer_id"])
        for r in wanted.join(prev_ids, "customer_id", "left_semi").select("customer_id").collect()
    }
    checked = {c for (c,) in candidates}
    out: list[tuple[int, str]] = []
    for label, source, rid in rows:  # anchor order: labels are the anchors' record keys
        new = fresh_id(source, rid, taken)
        if new not in checked:
            raise C360Error(
                f"the customer ID of ({source!r}, {rid!r}) is taken for {_MAX_SALT} salts",
                hint="resolve these records with the local engine (c360.resolve)",
            )
        taken.add(new)
        out.append((label, new))
    return spark.createDataFrame(out, schema).select(F.col("label"), F.col("customer_id"))


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
            "their anchors' hashes collide, and the Spark engine does not salt such IDs",
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


def read_previous(spark: SparkSession, previous: DataFrame | str | Path | None) -> DataFrame | None:
    """A previous run's ``unified_ids`` as a Spark DataFrame (``source, record_id, customer_id``).

    ``previous`` is the DataFrame itself, an output directory (of either
    engine: its ``unified_ids.parquet``, a file or a directory of part
    files), or a ``unified_ids.parquet`` path; a URI with a scheme
    (``s3://...``) is read by Spark as such.

    Raises:
        StateError: no such run, or the table lacks a column.
    """
    from c360._output import output_dir
    from c360.spark._errors import spark_error_summary

    if previous is None:
        return None
    if isinstance(previous, str) and "://" in previous:  # s3://, abfss://, gs://, file://
        uri = previous.rstrip("/")
        where = uri if uri.endswith(".parquet") else f"{uri}/unified_ids.parquet"
        try:
            frame = spark.read.parquet(where)
        except Exception as exc:
            summary = spark_error_summary(exc)
            if summary is None:
                raise
            raise StateError(
                f"cannot read the previous run's unified_ids: {summary}",
                path=where,
                hint="point previous at the output directory of an earlier run",
            ) from exc
    elif isinstance(previous, str | Path):
        path = output_dir(Path(previous))
        table = path / "unified_ids.parquet" if (path / "unified_ids.parquet").exists() else path
        if not table.exists() or (table.is_dir() and not any(table.glob("*.parquet"))):
            raise StateError(
                "previous run has no unified_ids.parquet",
                path=str(path),
                hint="point --previous at the output directory of an earlier `c360 resolve`",
            )
        frame = spark.read.parquet(str(table))
    else:
        frame = previous
    missing = {"source", "record_id", "customer_id"} - set(frame.columns)
    if missing:
        raise StateError(f"previous unified_ids lacks columns {sorted(missing)}")
    return frame.select("source", "record_id", "customer_id")
