"""``c360.spark._prepare`` against ``c360.prepare``: same keys, matching frame and junk.

The accepted records of a data set are shuffled over four Spark partitions,
keyed, standardised and cleared of junk in Spark; every record must come out
as in the local matching frame.
"""

import time

import polars as pl
import pyarrow as pa
import pytest

import c360
from c360.config import ResolveConfig


@pytest.fixture(scope="module", params=["febrl1", "people_worst"])
def case(request, spark, case_records):
    from pyspark.sql import functions as F  # noqa: N812

    prep = c360.prepare(case_records(request.param))
    arrow = prep.valid.drop("_rid").to_arrow(compat_level=pl.CompatLevel.oldest())
    valid = spark.createDataFrame(arrow).orderBy(F.rand(seed=7)).repartition(4)
    return request.param, prep, valid


def _local(frame):
    return frame.with_columns(pl.col("_rid").cast(pl.Int64))


def _polars(frame):
    got = pl.from_arrow(frame.toArrow())
    assert isinstance(got, pl.DataFrame)
    return got


def test_record_keys_equal_local(case):
    from pyspark.sql.functions import spark_partition_id

    from c360.spark._prepare import record_keys

    _, prep, valid = case
    keyed = record_keys(valid, ranges=3)
    assert keyed.columns == [*valid.columns, "_rid"]
    assert dict(keyed.dtypes)["_rid"] == "bigint"
    parts = _polars(valid.select(spark_partition_id().alias("p")))
    assert parts["p"].n_unique() == 4  # the records were split
    got = _polars(keyed.select("_rid", "source", "record_id")).sort("_rid")
    want = _local(prep.valid.select("_rid", "source", "record_id"))
    assert got.equals(want)


def test_matching_frame_and_junk_equal_local(case):
    from c360.spark._prepare import detect_junk, null_junk, record_keys, standardise

    name, prep, valid = case
    start = time.perf_counter()
    cfg = ResolveConfig()
    matching = standardise(record_keys(valid), cfg)
    junk = detect_junk(matching, cfg)
    cleared = null_junk(matching, junk)
    got = _polars(cleared.select(*prep.records.columns)).sort("_rid")
    spark_s = time.perf_counter() - start

    assert junk.schema == prep.junk.schema
    assert junk.equals(prep.junk)
    want = _local(prep.records)
    assert got.schema == want.schema
    for column in want.columns:
        assert got[column].equals(want[column]), column
    print(f"{name}: {got.height} records, {junk.height} junk values; spark {spark_s:.2f}s")


def test_standardise_equals_local_on_every_column(case):
    """Not only the matching columns: notes, full names, pass-through columns."""
    from c360._stages import standardise as local
    from c360.spark._prepare import record_keys, standardise

    _, prep, valid = case
    cfg = ResolveConfig()
    want = _local(local(prep.valid, cfg))
    out = standardise(record_keys(valid), cfg)
    assert sorted(out.columns) == sorted(want.columns)
    got = _polars(out.select(*want.columns)).sort("_rid")
    # createDataFrame reads a naive Arrow timestamp as Spark's zoned timestamp:
    # that is the input's conversion, which standardisation passes through
    got = got.with_columns(pl.col(pl.Datetime("us", "UTC")).dt.replace_time_zone(None))
    for column in want.columns:
        assert got[column].equals(want[column]), column


def test_empty_and_no_junk(spark):
    from c360.spark._prepare import detect_junk, null_junk, record_keys

    empty = spark.createDataFrame(
        pa.table({"source": pa.array([], pa.string()), "record_id": pa.array([], pa.string())})
    )
    assert record_keys(empty).toArrow().num_rows == 0
    junk = detect_junk(empty, ResolveConfig())
    assert junk.height == 0
    assert null_junk(empty, junk) is empty


def test_record_keys_refuses_existing_rid(spark):
    from c360.spark._prepare import record_keys

    frame = spark.createDataFrame(pa.table({"source": ["a"], "record_id": ["1"], "_rid": [0]}))
    with pytest.raises(ValueError, match="_rid"):
        record_keys(frame)
