"""Cluster scored pairs in Spark: ``c360._stages.cluster``'s guards and coherence, per component.

[`cluster`][c360.spark._cluster.cluster] takes the scored pairs of
``c360.spark._score.score_pairs`` (or any DataFrame with their columns) and
gives what ``c360._stages.cluster`` gives locally for the same pairs: the
final cluster label of every record (the smallest ``_rid`` of its cluster)
and the links the guards and coherence refused, with their reasons.

What runs where:

* In Spark: the accepted links, each with its probability as clustering
  counts it (a deterministic link at least ``1 - 1e-9``, as
  ``c360._links._rule_certain``), keep those at or above the threshold, as
  ``c360.cluster.cluster_links`` does; their connected components come from
  ``c360.spark._components.components``. A component of one record is its
  own final cluster and skips the Python step. For every other component,
  its records (only the columns the model's comparisons, term frequencies,
  the cannot-link columns and distinct sources read) and its pairs (the
  scored pairs with both ends in it: the accepted ones, and every candidate
  pair when the component is larger than ``coherence_max_size``) are
  co-grouped by a bucket of components (a hash of the component label, four
  buckets per shuffle partition: ``groupBy().cogroup().applyInArrow``), so
  that one Python call handles many components.
* In a Python worker, per bucket: the records are renumbered ``0..k-1`` in
  ``_rid`` order and the pairs' keys with them; the bucket becomes a small
  ``c360._engine.Scored``, and the local code runs on it unchanged:
  ``reliable_cannot_link``, ``cluster_links`` with it, then
  ``c360._stages._cohere`` (the model weighs every pair inside each cluster);
  labels and refused links are mapped back to ``_rid``.

Why the per-bucket results equal the whole-graph ones. A bucket is a union of
whole components, and everything below is per component. The local guard's
components are the Spark components (same links, same threshold; both label
by the smallest key). Everything ``cluster_links`` does after that is per
component: a component is suspect from its own size, weakest link and
records' must-differ values; a suspect component is rebuilt from its own
links, in the order (probability descending, then keys) that a monotone
renumbering keeps, and labelled by its smallest member. Coherence then works
per guarded cluster, which lies inside one component: the pairs it weighs
(``within_pairs``) join members of one cluster; the candidate pairs it reads
for a cluster larger than ``coherence_max_size`` have both ends in that
cluster (they are shipped for every component that large); the
deterministic-rule floor, GAEC (on members in key order) and the refused
crossing links (links inside one old cluster) stay inside a component too.
Accepted links below the threshold (a threshold above ``1 - 1e-9``) join no
component and can only matter to coherence inside one, where they are
shipped. A pair's weight reads only its two records and the model (see
``c360.spark._score``), so weighing in a frame of one component's records
gives the local weights. Every key
comparison survives the renumbering, which keeps the order of the keys.

What is shipped: the model and effective configuration once, as broadcast
JSON bytes, parsed once per Python worker process and cached by digest
(``c360.spark._score._shipped``; the same bytes and digest as
``score_pairs``, so one parse serves both); with each task, the function's
closure (column names and the broadcast's handle and digest).

Limit: a bucket is held whole in one Python worker (its components'
records, their accepted links, and for a component larger than
``coherence_max_size`` all its candidate pairs) and processed in one call.
A giant component (a chain over a common value) must fit one worker's memory
with the rest of its bucket, and its guard and coherence run on one core.

The result of the Python step is computed once (a lazy local checkpoint)
and read by both returned DataFrames.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from c360._engine import Pairs, Scored
from c360._links import RuleLabels
from c360.comparisons import PairData
from c360.config import EffectiveConfig
from c360.model import FellegiSunterModel
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["buckets", "cluster"]

#: Probability a deterministic link counts as, at least (``c360._links._rule_certain``).
_CERTAIN = 1.0 - 1e-9


def cluster(
    scored: DataFrame,
    records: DataFrame,
    model: FellegiSunterModel,
    cfg: EffectiveConfig,
) -> tuple[DataFrame, DataFrame]:
    """Final cluster labels and refused links, as ``c360._stages.cluster`` gives them.

    Args:
        scored: every scored candidate pair: ``_rid_l``, ``_rid_r``,
            ``match_weight``, ``match_probability``, ``by_rule`` and
            ``accepted`` (as ``c360.spark._score.score_pairs`` returns them;
            other columns are ignored).
        records: the matching frame: ``_rid`` and the columns the model's
            comparisons and the cannot-link guard read.
        model: the trained model, broadcast once.
        cfg: the effective configuration (its ``cluster`` options apply, with
            the model's reliable cannot-link columns only).

    Returns:
        ``(labels, refused)``: ``labels`` has one row per record of
        ``records``, ``_rid`` and ``label`` (long; the smallest ``_rid`` of
        its final cluster); ``refused`` has ``_rid_l``, ``_rid_r`` (long),
        ``match_probability`` (double, as clustering counted it) and
        ``reason`` (string). Both are lazy, in no particular order.
    """
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F  # noqa: N812

    from c360._stages import reliable_cannot_link
    from c360.spark._components import components
    from c360.spark._score import _record_columns, _shipped

    ccfg = reliable_cannot_link(cfg.cluster, model)
    columns = _record_columns(records, model.comparisons)
    extra = set(ccfg.cannot_link) | ({"source"} if ccfg.distinct_sources else set())
    columns = [c for c in records.columns if c in set(columns) | extra]
    payload = json.dumps(
        {"model": model.to_dict(), "config": cfg.to_dict()}, separators=(",", ":")
    ).encode()
    digest = hashlib.sha256(payload).hexdigest()
    spark = SparkSession.getActiveSession() or records.sparkSession
    shipped = spark.sparkContext.broadcast(payload)

    pairs = scored.select(
        F.col("_rid_l").cast("long").alias("_rid_l"),
        F.col("_rid_r").cast("long").alias("_rid_r"),
        F.col("match_weight").cast("double").alias("match_weight"),
        F.col("match_probability").cast("double").alias("match_probability"),
        F.col("by_rule").cast("boolean").alias("by_rule"),
        F.col("accepted").cast("boolean").alias("accepted"),
    )
    certain = F.when(
        F.col("by_rule"), F.greatest(F.col("match_probability"), F.lit(_CERTAIN))
    ).otherwise(F.col("match_probability"))
    edges = pairs.where(F.col("accepted") & (certain >= F.lit(ccfg.threshold)))
    ids = records.select(F.col("_rid").cast("long").alias("_rid"))
    labelled = components(ids, edges.select("_rid_l", "_rid_r"))
    size = labelled.groupBy("label").agg(F.count(F.lit(1)).alias("_size"))
    comp = labelled.join(size, "label")
    single = comp.where(F.col("_size") == 1).select("_rid", "label")
    multi = comp.where(F.col("_size") > 1)

    members = multi.select("_rid", "label").join(
        records.select(
            F.col("_rid").cast("long").alias("_rid"),
            *(F.col(quoted(c)).alias(f"_c{i}") for i, c in enumerate(columns)),
        ),
        "_rid",
    )
    ends_l = multi.select(
        F.col("_rid").alias("_rid_l"), F.col("label").alias("_label_l"), F.col("_size")
    )
    ends_r = multi.select(F.col("_rid").alias("_rid_r"), F.col("label").alias("_label_r"))
    inside = (
        pairs.join(ends_l, "_rid_l")
        .join(ends_r, "_rid_r")
        .where(F.col("_label_l") == F.col("_label_r"))
    )
    wanted = F.col("accepted")
    if ccfg.coherence:
        wanted = wanted | (F.col("_size") > F.lit(ccfg.coherence_max_size))
    inside = inside.where(wanted).select(
        F.col("_label_l").alias("label"),
        "_rid_l",
        "_rid_r",
        "match_weight",
        "match_probability",
        "by_rule",
        "accepted",
    )

    def run(recs: pa.Table, links: pa.Table) -> pa.Table:
        mdl, conf = _shipped(digest, shipped)
        return _component(recs, links, columns, mdl, conf)

    bucket = F.pmod(F.xxhash64("label"), F.lit(buckets(spark)))
    out = (
        members.withColumn("_bucket", bucket)
        .groupBy("_bucket")
        .cogroup(inside.withColumn("_bucket", bucket).groupBy("_bucket"))
        .applyInArrow(run, _SCHEMA)
        .localCheckpoint(eager=False)
    )
    labels = out.where(F.col("_rid").isNotNull()).select("_rid", "label").unionByName(single)
    refused = out.where(F.col("_rid").isNull()).select(
        "_rid_l", "_rid_r", "match_probability", "reason"
    )
    return labels, refused


_SCHEMA = "_rid long, label long, _rid_l long, _rid_r long, match_probability double, reason string"


def buckets(spark: SparkSession) -> int:
    """Groups that per-group Python steps use: four per shuffle partition.

    Many small groups (one per component or customer) would cost one Python
    call each (about 5 ms apiece: 45 s for 9,000 customers); a bucket of
    whole groups, picked by a hash of the group's key, is one call.
    """
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
    return max(1, 4 * partitions)


# --- worker side -----------------------------------------------------------------


def _component(
    recs: pa.Table,
    links: pa.Table,
    columns: list[str],
    model: FellegiSunterModel,
    cfg: EffectiveConfig,
) -> pa.Table:
    """A bucket of components' final labels and refused links, by the local code.

    ``recs``: the components' records (``_rid`` and ``_c<i>`` for each of
    ``columns``; other columns are ignored); ``links``: their scored pairs
    (both ends in one component).
    """
    from c360._stages import _cohere, reliable_cannot_link
    from c360.cluster import cluster_links

    frame = pl.from_arrow(recs)
    pairs = pl.from_arrow(links)
    assert isinstance(frame, pl.DataFrame)
    assert isinstance(pairs, pl.DataFrame)
    frame = frame.sort("_rid")
    rids = frame.get_column("_rid").to_numpy().astype(np.int64)
    matching = frame.select(pl.col(f"_c{i}").alias(c) for i, c in enumerate(columns))
    k = rids.shape[0]
    left = np.searchsorted(rids, pairs.get_column("_rid_l").to_numpy()).astype(np.int64)
    right = np.searchsorted(rids, pairs.get_column("_rid_r").to_numpy()).astype(np.int64)
    n_pairs = left.shape[0]
    scored = Scored(
        Pairs(PairData(matching, left, right, {}), np.zeros((n_pairs, 0), dtype=np.int8)),
        pairs.get_column("match_weight").to_numpy().astype(np.float64),
        pairs.get_column("match_probability").to_numpy().astype(np.float64),
        RuleLabels(np.zeros(n_pairs, dtype=np.uint8), ("",)),
        pairs.get_column("by_rule").to_numpy().astype(bool),
        pairs.get_column("accepted").to_numpy().astype(bool),
    )
    # as c360._stages.cluster, without its metrics
    ccfg = reliable_cannot_link(cfg.cluster, model)
    link_l, link_r, certain = scored.links()
    result = cluster_links(k, link_l, link_r, certain, config=ccfg, records=matching)
    labels, refused = result.labels, result.refused
    if ccfg.coherence and k:
        coherent = _cohere(labels, link_l, link_r, certain, scored, model, ccfg)
        labels = coherent.labels
        if coherent.refused.height:
            refused = pl.concat([refused, coherent.refused])
    none_i = pa.nulls(k, pa.int64())
    out_labels = pa.table(
        {
            "_rid": pa.array(rids, pa.int64()),
            "label": pa.array(rids[labels], pa.int64()),
            "_rid_l": none_i,
            "_rid_r": none_i,
            "match_probability": pa.nulls(k, pa.float64()),
            "reason": pa.nulls(k, pa.string()),
        }
    )
    m = refused.height
    out_refused = pa.table(
        {
            "_rid": pa.nulls(m, pa.int64()),
            "label": pa.nulls(m, pa.int64()),
            "_rid_l": pa.array(rids[refused.get_column("_rid_l").to_numpy()], pa.int64()),
            "_rid_r": pa.array(rids[refused.get_column("_rid_r").to_numpy()], pa.int64()),
            "match_probability": pa.array(
                refused.get_column("match_probability").to_numpy(), pa.float64()
            ),
            "reason": pa.array(refused.get_column("reason").to_list(), pa.string()),
        }
    )
    return pa.concat_tables([out_labels, out_refused])
