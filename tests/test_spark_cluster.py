"""``c360.spark._cluster`` against ``c360._stages.cluster``: same final labels, same refusals.

The local candidate pairs of a data set are scored locally and clustered by
``c360._stages.cluster``; the same scored pairs, fed to Spark, must give
every record the same final label and refuse the same links.
"""

import dataclasses
import time

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import c360
from c360._engine import LOCAL, score
from c360._stages import Metrics
from c360._stages import cluster as local_cluster


@pytest.fixture(scope="module", params=["febrl1", "people_worst", "people_census"])
def case(request, case_records):
    res = c360.resolve(case_records(request.param))
    cfg, model, matching = res.config, res.model, res.matching
    pairs = LOCAL.candidate_pairs(matching, cfg, show=False)
    scored = score(model, pairs, cfg)
    return request.param, matching, cfg, model, scored


def _spark_inputs(spark, spark_frame, matching, scored):
    frame = matching.with_columns(pl.col("_rid").cast(pl.Int64))
    records = spark_frame(frame)
    pairs = spark.createDataFrame(
        pa.table(
            {
                "_rid_l": scored.pairs.left,
                "_rid_r": scored.pairs.right,
                "match_weight": scored.weight,
                "match_probability": scored.probability,
                "rule": scored.rule.to_series().to_arrow().cast(pa.string()),
                "by_rule": scored.by_rule,
                "accepted": scored.accepted,
            }
        )
    )
    return records, pairs.repartition(3)


def _check(spark, spark_frame, name, matching, cfg, model, scored):
    from c360.spark._cluster import cluster

    start = time.perf_counter()
    want = local_cluster(scored, model, cfg, metrics=Metrics())
    local_s = time.perf_counter() - start
    records, pairs = _spark_inputs(spark, spark_frame, matching, scored)
    start = time.perf_counter()
    labels, refused = cluster(pairs, records, model, cfg)
    got = pl.from_arrow(labels.toArrow()).sort("_rid")
    got_refused = pl.from_arrow(refused.toArrow())
    spark_s = time.perf_counter() - start

    assert labels.columns == ["_rid", "label"]
    assert refused.columns == ["_rid_l", "_rid_r", "match_probability", "reason"]
    n = matching.height
    assert got["_rid"].to_list() == list(range(n))
    assert np.array_equal(got["label"].to_numpy(), want.labels)

    def rows(frame):
        return sorted(
            zip(
                frame["_rid_l"].to_list(),
                frame["_rid_r"].to_list(),
                frame["match_probability"].to_list(),
                frame["reason"].to_list(),
                strict=True,
            )
        )

    assert rows(got_refused) == rows(want.refused)
    clusters = int(np.unique(want.labels).shape[0])
    coherence = int(want.refused["reason"].str.starts_with("coherence").sum())
    print(
        f"{name}: {n} records, {len(scored.pairs)} pairs, {clusters} clusters, "
        f"{want.refused.height} refused ({coherence} by coherence); local {local_s:.3f}s, spark {spark_s:.2f}s"
    )
    return want


def test_cluster_equal_local(spark, case, spark_frame):
    name, matching, cfg, model, scored = case
    _check(spark, spark_frame, name, matching, cfg, model, scored)


def test_large_clusters_use_candidate_pairs(spark, case, spark_frame):
    """Clusters above ``coherence_max_size`` are re-clustered over their candidate pairs."""
    name, matching, cfg, model, scored = case
    small = dataclasses.replace(cfg, cluster=dataclasses.replace(cfg.cluster, coherence_max_size=3))
    want = _check(spark, spark_frame, f"{name} max_size=3", matching, small, model, scored)
    assert (np.bincount(want.labels) > 3).any() or name == "febrl1"
