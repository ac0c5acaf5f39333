"""``c360.spark._ids.customer_ids`` against ``c360.ids.assign_stable_ids``: same IDs, same changes.

Spark gets the local clusters (labelled by their smallest ``_rid``), the
records' keys and, for the runs with history, a previous run's
``unified_ids``; it must give the local ``unified_ids`` and ``id_changes``.
The previous runs are built to hit every rule: customers kept whole, grown,
merged, split (with the part holding the old anchor losing the ID, so its
new ID must be salted), retired, and new.
"""

import random

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import c360
from c360.exceptions import C360Error
from c360.ids import assign_customer_ids, assign_stable_ids, customer_id_for


def _ids(spark_frame, records, labels, previous=None, run_id="r2"):
    from c360.spark._ids import customer_ids

    frame = records.with_columns(label=pl.Series(labels, dtype=pl.Int64))
    prev = None if previous is None else spark_frame(previous).repartition(3)
    unified, changes = customer_ids(
        spark_frame(frame.select("_rid", "label")).repartition(3),
        spark_frame(records),
        prev,
        run_id=run_id,
    )
    return pl.from_arrow(unified.toArrow()), pl.from_arrow(changes.toArrow())


def _by_key(frame):
    return frame.sort("source", "record_id")


def _by_change(frame):
    return frame.sort("change", "customer_id", "other_customer_id", nulls_last=True)


@pytest.fixture(scope="module", params=["febrl1", "people_worst"])
def case(request, case_records):
    res = c360.resolve(case_records(request.param))
    return request.param, res


def test_customer_ids_equal_local(spark, case, spark_frame):
    _, res = case
    valid = res.records.with_columns(pl.col("_rid").cast(pl.Int64))
    ids = pl.from_arrow(res.unified_ids)
    labels = valid.select(pl.col("_rid").min().over(ids.get_column("customer_id")))
    got, changes = _ids(spark_frame, valid.select("_rid", "source", "record_id"), labels)
    assert got.columns == ["source", "record_id", "customer_id"]
    assert_frame_equal(_by_key(got), _by_key(ids))
    assert changes.height == 0
    assert changes.columns == list(pl.from_arrow(res.id_changes).columns)


def _records(n):
    return pl.DataFrame(
        {
            "_rid": range(n),
            "source": ["a"] * (n // 2) + ["b"] * (n - n // 2),
            "record_id": [f"{i:03d}" for i in range(n)],
        },
        schema_overrides={"_rid": pl.Int64},
    )


def _min_labels(groups):
    """Labels as the cluster stage gives them: the smallest key of each group."""
    groups = np.asarray(groups)
    smallest = {}
    for i, g in enumerate(groups):
        smallest.setdefault(int(g), i)
    return np.array([smallest[int(g)] for g in groups], dtype=np.int64)


@pytest.mark.parametrize("seed", range(4))
def test_ids_with_a_previous_run_equal_local(spark, spark_frame, seed):
    """Merges, splits (salted IDs), retirements and new customers as the local rules give them."""
    rng = random.Random(seed)
    records = _records(120)
    # the previous run: clusters of 1-5 consecutive records over the first 100
    # records (the last 20 are new), IDs from their anchors as a real run gives
    # them; 10 of its records are gone from this run
    old = []
    group = 0
    while len(old) < 100:
        old += [group] * rng.randint(1, 5)
        group += 1
    old = old[:100]
    prev_records = records.head(100)
    prev_ids = assign_customer_ids(prev_records, _min_labels(old))
    previous = prev_records.select("source", "record_id").with_columns(customer_id=prev_ids)
    # a customer of the previous run whose records are all gone, besides the deleted ones
    previous = pl.concat(
        [previous, pl.DataFrame({"source": ["z"], "record_id": ["gone"], "customer_id": ["C-x"]})]
    )
    gone = set(rng.sample(range(100), 10))
    keep = [i for i in range(120) if i not in gone]
    current = records[keep].with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_rid"))
    # this run: previous groups, each randomly merged with the next or split in two,
    # plus new records in clusters of 1-3
    groups = [old[i] if i < 100 else 1000 + (i - 100) // rng.randint(1, 3) for i in keep]
    for g in set(groups):
        roll = rng.random()
        if roll < 0.2:
            groups = [g + 1 if x == g else x for x in groups]  # merge into the next
        elif roll < 0.4:
            members = [j for j, x in enumerate(groups) if x == g]
            for j in members[: len(members) // 2]:
                groups[j] = 5000 + g  # split off the first half (the old anchor)
    labels = _min_labels(groups)
    want_ids, want_changes = assign_stable_ids(current, labels, previous, run_id="r2")
    want = current.select("source", "record_id").with_columns(customer_id=want_ids)
    kinds = set(want_changes.get_column("change").to_list())
    assert {"merged_into", "split_from", "retired", "new"} <= kinds
    got, changes = _ids(spark_frame, current, labels, previous)
    assert_frame_equal(_by_key(got), _by_key(want))
    assert_frame_equal(_by_change(changes), _by_change(want_changes))


def test_split_part_with_the_old_anchor_gets_a_salted_id(spark, spark_frame):
    """The part that loses the ID but holds the old anchor gets the anchor's ID salted."""
    records = _records(5)
    previous = records.select("source", "record_id").with_columns(
        customer_id=pl.lit(customer_id_for("a", "000"))
    )
    labels = np.array([0, 1, 1, 1, 1])  # record 000 alone; the rest keep the ID
    got, changes = _ids(spark_frame, records, labels, previous)
    ids = dict(zip(got["record_id"], got["customer_id"], strict=True))
    assert ids["001"] == customer_id_for("a", "000")
    assert ids["000"] == customer_id_for("a", "000", 1)
    assert changes.select("customer_id", "change", "other_customer_id").rows() == [
        (customer_id_for("a", "000", 1), "split_from", customer_id_for("a", "000"))
    ]


def test_empty_previous_makes_every_customer_new(spark, spark_frame):
    records = _records(6)
    previous = pl.DataFrame(
        schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String}
    )
    labels = _min_labels([0, 0, 1, 2, 2, 2])
    want_ids, want_changes = assign_stable_ids(records, labels, previous, run_id="r2")
    got, changes = _ids(spark_frame, records, labels, previous)
    assert_frame_equal(
        _by_key(got),
        _by_key(records.select("source", "record_id").with_columns(customer_id=want_ids)),
    )
    assert_frame_equal(_by_change(changes), _by_change(want_changes))
    assert set(changes["change"]) == {"new"}


def test_anchor_order_is_code_point_order(spark, spark_frame):
    """Spark's smallest ``(source, record_id)`` is the local one, non-ASCII IDs included.

    UTF-16 order (Java's ``String.compareTo``) would put U+1F600 before
    U+FB00; code point order (Python's, polars', UTF-8 bytes) puts it after.
    """
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
        want = assign_customer_ids(records, np.array(labels))
        got, _ = _ids(spark_frame, records, labels)
        want_frame = records.select("source", "record_id").with_columns(customer_id=want)
        assert_frame_equal(_by_key(got), _by_key(want_frame))
    # the first pair's anchor is U+FB00 (code point order), not U+1F600 (UTF-16 order)
    want = assign_customer_ids(records, np.arange(records.height) // 2)
    assert want[0] == customer_id_for("b", "\ufb00") != customer_id_for("b", "\U0001f600")


def test_colliding_ids_raise(spark, spark_frame):
    """Two clusters whose IDs collide raise instead of sharing one ID."""
    from c360.spark._ids import _check_unique

    frame = pl.DataFrame({"label": [0, 1, 2], "customer_id": ["C-1", "C-2", "C-1"]})
    _check_unique(spark_frame(frame.head(2)))
    with pytest.raises(C360Error, match="shared by two clusters"):
        _check_unique(spark_frame(frame))


def test_previous_read_from_a_uri(spark, tmp_path):
    """A previous run given as a URI (``s3://...`` on a cluster; ``file://`` here) is read by Spark."""
    from c360.exceptions import StateError
    from c360.spark._ids import read_previous

    run = tmp_path / "run1"
    run.mkdir()
    ids = pl.DataFrame({"source": ["a"], "record_id": ["1"], "customer_id": ["C-1"], "x": [1]})
    ids.write_parquet(run / "unified_ids.parquet")
    got = read_previous(spark, f"file://{run}/")
    assert got is not None and got.columns == ["source", "record_id", "customer_id"]
    assert got.collect()[0]["customer_id"] == "C-1"
    with pytest.raises(StateError, match="cannot read the previous run's unified_ids"):
        read_previous(spark, f"file://{tmp_path}/nothing")
