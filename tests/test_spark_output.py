"""``c360.spark._output`` against the local engine: the same golden profiles.

Each data set is resolved locally; Spark gets the records as loaded and the
local customer IDs, and must give ``profiles`` equal to the local ones.
"""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import c360


@pytest.fixture(scope="module", params=["febrl1", "people_worst"])
def case(request, case_records):
    res = c360.resolve(case_records(request.param))
    return request.param, res


def _valid(spark_frame, res):
    return spark_frame(res.records.with_columns(pl.col("_rid").cast(pl.Int64)))


def test_profiles_equal_local(spark, case, spark_frame):
    from c360.spark._output import profiles

    _, res = case
    valid = _valid(spark_frame, res)
    unified = spark_frame(pl.from_arrow(res.unified_ids))
    out = profiles(valid, unified, res.config.survivorship)
    assert out.columns == res.profiles.column_names
    got = pl.from_arrow(out.toArrow()).sort("customer_id")
    want = pl.from_arrow(res.profiles).sort("customer_id")
    assert got.height == want.height > 0
    assert_frame_equal(got, want)


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
    valid = _valid(spark_frame, res)
    unified = spark_frame(pl.from_arrow(res.unified_ids))
    got = pl.from_arrow(profiles(valid, unified, rules).toArrow()).sort("customer_id")
    want = pl.from_arrow(build_profiles(res.records, res.unified_ids, rules)).sort("customer_id")
    assert_frame_equal(got, want)
