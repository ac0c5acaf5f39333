"""``c360.spark._output`` against the local engine: same customer IDs, same golden profiles.

Each data set is resolved locally; Spark gets the local clusters (labelled by
their smallest ``_rid``) and the records as loaded, and must give
``unified_ids`` and ``profiles`` equal to the local ones.
"""

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import c360
from c360.exceptions import C360Error
from c360.ids import assign_customer_ids, customer_id_for


@pytest.fixture(scope="module", params=["febrl1", "people_worst"])
def case(request, case_records):
    res = c360.resolve(case_records(request.param))
    return request.param, res


def _spark_inputs(spark_frame, res):
    valid = res.records.with_columns(pl.col("_rid").cast(pl.Int64))
    ids = pl.from_arrow(res.unified_ids)
    assert ids.select("source", "record_id").equals(valid.select("source", "record_id"))
    labels = valid.select("_rid").with_columns(
        label=pl.col("_rid").min().over(ids.get_column("customer_id"))
    )
    return spark_frame(valid), spark_frame(labels).repartition(3)


def test_customer_ids_equal_local(spark, case, spark_frame):
    from c360.spark._output import customer_ids

    _, res = case
    valid, labels = _spark_inputs(spark_frame, res)
    got = pl.from_arrow(customer_ids(labels, valid).toArrow())
    want = pl.from_arrow(res.unified_ids)
    assert got.columns == ["source", "record_id", "customer_id"]
    assert_frame_equal(got.sort("source", "record_id"), want.sort("source", "record_id"))


def test_profiles_equal_local(spark, case, spark_frame):
    from c360.spark._output import profiles

    _, res = case
    valid, _ = _spark_inputs(spark_frame, res)
    unified = spark_frame(pl.from_arrow(res.unified_ids))
    out = profiles(valid, unified, res.config.survivorship)
    assert out.columns == res.profiles.column_names
    got = pl.from_arrow(out.toArrow()).sort("customer_id")
    want = pl.from_arrow(res.profiles).sort("customer_id")
    assert got.height == want.height > 0
    assert_frame_equal(got, want)


def test_anchor_order_is_code_point_order(spark, spark_frame):
    """Spark's smallest ``(source, record_id)`` is the local one, non-ASCII IDs included.

    UTF-16 order (Java's ``String.compareTo``) would put U+1F600 before
    U+FB00; code point order (Python's, polars', UTF-8 bytes) puts it after.
    """
    from c360.spark._output import customer_ids

    rids = ["\ufb00", "\U0001f600", "é", "e", "Z", "z", "10", "9", "", "ß", "SS"]
    records = pl.DataFrame(
        {
            "_rid": range(2 * len(rids)),
            "source": ["b"] * len(rids) + ["a"] * len(rids),
            "record_id": rids + [r + "x" for r in rids],
        },
        schema_overrides={"_rid": pl.Int64},
    )
    # clusters of pairs of neighbouring rows, and one of everything in source b
    for labels in ([i // 2 for i in range(records.height)], [0] * len(rids) + [1] * len(rids)):
        want = assign_customer_ids(records, pl.Series(labels).to_numpy())
        frame = records.with_columns(label=pl.Series(labels, dtype=pl.Int64))
        got = pl.from_arrow(customer_ids(spark_frame(frame), spark_frame(records)).toArrow())
        want_frame = records.select("source", "record_id").with_columns(customer_id=want)
        assert_frame_equal(got.sort("source", "record_id"), want_frame.sort("source", "record_id"))
    # the first pair's anchor is U+FB00 (code point order), not U+1F600 (UTF-16 order)
    want = assign_customer_ids(records, np.arange(records.height) // 2)
    assert want[0] == customer_id_for("b", "\ufb00") != customer_id_for("b", "\U0001f600")


def test_colliding_ids_raise(spark, spark_frame):
    """Two clusters whose anchors hash alike raise instead of sharing one ID."""
    from c360.spark._output import _check_unique

    frame = pl.DataFrame({"label": [0, 1, 2], "customer_id": ["C-1", "C-2", "C-1"]})
    _check_unique(spark_frame(frame.head(2)))
    with pytest.raises(C360Error, match="shared by two clusters"):
        _check_unique(spark_frame(frame))


def test_profiles_other_rules_equal_local(spark, case, spark_frame):
    """Every kind of rule, and addresses chosen field by field, give the local profiles."""
    from c360.golden import Custom, Longest, MostFrequent, MostRecent, Survivorship, build_profiles
    from c360.spark._output import profiles

    _, res = case
    sources = sorted(set(res.records.get_column("source").to_list()))
    rules = Survivorship(
        rules={
            "email": MostFrequent(),
            "phone": Longest(),
            "last_name": MostRecent(by="date_of_birth"),
            "first_name": Custom(expr="length(value)"),
            "city": MostFrequent(normalize=False),
        },
        source_priority=tuple(reversed(sources)),
        keep_address_together=False,
    )
    valid, _ = _spark_inputs(spark_frame, res)
    unified = spark_frame(pl.from_arrow(res.unified_ids))
    got = pl.from_arrow(profiles(valid, unified, rules).toArrow()).sort("customer_id")
    want = pl.from_arrow(build_profiles(res.records, res.unified_ids, rules)).sort("customer_id")
    assert_frame_equal(got, want)
