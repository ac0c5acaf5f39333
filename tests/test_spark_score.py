"""``c360.spark._score`` against the local engine: same levels, rules, decisions and weights.

The local candidate pairs of a data set are scored by ``c360._engine.score``
and by Spark (pairs split over four partitions, several chunks each); every
pair must come out the same.
"""

import sys
import time

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import c360
from c360._engine import LOCAL, score
from c360.datasets import generate_people


def test_workers_run_this_interpreter(spark):
    """``c360.spark.session`` starts Python workers on the interpreter that imported c360.

    PySpark takes the workers' interpreter from ``PYSPARK_PYTHON``, not from
    the ``spark.pyspark.python`` setting; without it the workers ran the
    ``python3`` on ``PATH``, which need not have c360.
    """
    assert spark.sparkContext.pythonExec == sys.executable
    one = spark.range(1).mapInArrow(_interpreter, "exe string").toArrow()
    assert one.column("exe").to_pylist() == [sys.executable]


def _interpreter(batches):
    for _ in batches:
        yield pa.RecordBatch.from_pydict({"exe": [sys.executable]})


@pytest.fixture(scope="module", params=["febrl1", "people_worst"])
def case(request, case_records):
    res = c360.resolve(case_records(request.param))
    cfg, model, matching = res.config, res.model, res.matching
    pairs = LOCAL.candidate_pairs(matching, cfg, show=False)
    start = time.perf_counter()
    scored = score(model, pairs, cfg)
    local_s = time.perf_counter() - start
    return request.param, matching, cfg, model, pairs, scored, local_s


def _spark_inputs(spark, spark_frame, matching, pairs):
    records = spark_frame(matching.with_columns(pl.col("_rid").cast(pl.Int64)))
    keys = spark.createDataFrame(pa.table({"_rid_l": pairs.left, "_rid_r": pairs.right}))
    return records, keys.repartition(4)


def test_scores_equal_local(spark, case, spark_frame):
    from pyspark.sql.functions import spark_partition_id

    from c360.spark._score import score_pairs

    name, matching, cfg, model, pairs, scored, local_s = case
    records, keys = _spark_inputs(spark, spark_frame, matching, pairs)
    start = time.perf_counter()
    out = score_pairs(keys, records, model, cfg, chunk_pairs=1000)
    got = pl.from_arrow(out.withColumn("_part", spark_partition_id()).toArrow())
    spark_s = time.perf_counter() - start

    assert out.columns == [
        "_rid_l",
        "_rid_r",
        *(c.output for c in cfg.comparisons),
        "match_weight",
        "match_probability",
        "rule",
        "by_rule",
        "accepted",
    ]
    assert got["_part"].n_unique() > 1  # the pairs were split
    got = got.sort("_rid_l", "_rid_r")
    order = np.lexsort((pairs.right, pairs.left))
    assert got.height == len(pairs)
    assert np.array_equal(got["_rid_l"].to_numpy(), pairs.left[order])
    assert np.array_equal(got["_rid_r"].to_numpy(), pairs.right[order])
    for k, comp in enumerate(cfg.comparisons):
        assert got[comp.output].dtype == pl.Int8
        assert np.array_equal(got[comp.output].to_numpy(), pairs.levels[order, k]), comp.name
    assert got["rule"].to_list() == scored.rule.to_series().gather(order).to_list()
    assert np.array_equal(got["by_rule"].to_numpy(), scored.by_rule[order])
    assert np.array_equal(got["accepted"].to_numpy(), scored.accepted[order])
    weight, prob = got["match_weight"].to_numpy(), got["match_probability"].to_numpy()
    np.testing.assert_allclose(weight, scored.weight[order], rtol=0, atol=1e-9)
    np.testing.assert_allclose(prob, scored.probability[order], rtol=0, atol=1e-9)
    identical = np.array_equal(weight, scored.weight[order]) and np.array_equal(
        prob, scored.probability[order]
    )
    print(
        f"{name}: {len(pairs)} pairs, {int(scored.accepted.sum())} accepted; "
        f"bit-identical={identical}; local score {local_s:.3f}s, spark {spark_s:.2f}s"
    )


def test_levels_equal_local(spark, case, spark_frame):
    from c360.spark._score import levels

    _, matching, cfg, _, pairs, _, _ = case
    records, keys = _spark_inputs(spark, spark_frame, matching, pairs)
    out = levels(keys, records, cfg.comparisons)
    assert out.columns == ["_rid_l", "_rid_r", *(c.output for c in cfg.comparisons)]
    got = pl.from_arrow(out.toArrow()).sort("_rid_l", "_rid_r")
    order = np.lexsort((pairs.right, pairs.left))
    want = pairs.levels[order]
    assert got.height == len(pairs)
    for k, comp in enumerate(cfg.comparisons):
        assert np.array_equal(got[comp.output].to_numpy(), want[:, k]), comp.name


def test_no_pairs_and_unknown_keys(spark, spark_frame):
    from c360.spark._score import score_pairs

    res = c360.resolve(generate_people(40, seed=1).records)
    records = spark_frame(res.matching.with_columns(pl.col("_rid").cast(pl.Int64)))
    none = spark.createDataFrame(
        pa.table({"_rid_l": pa.array([], pa.int64()), "_rid_r": pa.array([], pa.int64())})
    )
    assert score_pairs(none, records, res.model, res.config).toArrow().num_rows == 0
    # a pair naming a record key that is not in records is dropped by the joins
    unknown = spark.createDataFrame(pa.table({"_rid_l": [0, 0], "_rid_r": [1, 10_000]}))
    got = score_pairs(unknown, records, res.model, res.config).toArrow()
    assert got.column("_rid_r").to_pylist() == [1]


def test_records_need_rid(spark, spark_frame):
    from c360.spark._score import score_pairs

    res = c360.resolve(generate_people(40, seed=1).records)
    records = spark_frame(res.matching.drop("_rid"))
    keys = spark.createDataFrame(pa.table({"_rid_l": [0], "_rid_r": [1]}))
    with pytest.raises(ValueError, match="_rid"):
        score_pairs(keys, records, res.model, res.config)


def test_model_parsed_once_per_worker():
    import hashlib
    import json

    from c360.spark import _score

    res = c360.resolve(generate_people(40, seed=1).records)
    payload = json.dumps({"model": res.model.to_dict(), "config": res.config.to_dict()}).encode()
    digest = hashlib.sha256(payload).hexdigest()

    class Broadcast:
        reads = 0

        @property
        def value(self):
            Broadcast.reads += 1
            return payload

    try:
        model, cfg = _score._shipped(digest, Broadcast())
        again = _score._shipped(digest, Broadcast())
    finally:
        _score._SHIPPED.pop(digest, None)
    assert Broadcast.reads == 1
    assert again[0] is model
    assert cfg == res.config
    assert model.comparisons == res.model.comparisons
    assert model.lam == res.model.lam
    assert all(np.array_equal(a, b) for a, b in zip(model.m, res.model.m))
    assert set(model.tf) == set(res.model.tf)
