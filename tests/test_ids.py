import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.cluster import components
from c360.ids import CHANGE_KINDS, assign_stable_ids, customer_id_for


def recs(n):
    return pl.DataFrame({"source": ["s"] * n, "record_id": [f"r{i:03d}" for i in range(n)]})


def prev_of(records, ids):
    return records.with_columns(customer_id=pl.Series(ids))


def test_new_ids_are_anchor_hashes_and_row_order_free():
    r = recs(4)
    ids, changes = assign_stable_ids(r, np.array([0, 0, 2, 3]), None)
    assert ids[0] == ids[1] == customer_id_for("s", "r000")
    assert ids[2] == customer_id_for("s", "r002")
    assert changes.height == 0
    perm = [3, 1, 0, 2]
    ids2, _ = assign_stable_ids(r[perm], np.array([3, 0, 0, 2]), None)
    assert dict(zip(r[perm]["record_id"], ids2)) == dict(zip(r["record_id"], ids))


def test_gain_and_lose_records_keep_the_id():
    r = recs(4)
    prev = prev_of(r.head(3), ["A", "A", "B"])
    # r002 left B (B now empty) ... r001 removed from input, r003 new joins A
    cur = r.filter(pl.col("record_id") != "r001")
    ids, changes = assign_stable_ids(cur, np.array([0, 1, 0]), prev, run_id="run2")
    got = dict(zip(cur["record_id"], ids))
    assert got["r000"] == got["r003"] == "A"
    assert got["r002"] == "B"
    assert changes.height == 0


def test_merge_keeps_the_id_with_most_history():
    r = recs(5)
    prev = prev_of(r, ["A", "A", "A", "B", "B"])
    ids, changes = assign_stable_ids(r, np.zeros(5, dtype=np.int64), prev, run_id="run2")
    assert set(ids) == {"A"}
    assert changes.to_dicts() == [
        {"customer_id": "B", "change": "merged_into", "other_customer_id": "A", "run_id": "run2"}
    ]


def test_split_largest_part_keeps_the_id():
    r = recs(5)
    prev = prev_of(r, ["A"] * 5)
    ids, changes = assign_stable_ids(r, np.array([0, 0, 0, 3, 3]), prev, run_id="run2")
    assert list(ids[:3]) == ["A"] * 3
    assert ids[3] == ids[4] != "A"
    assert changes.to_dicts() == [
        {"customer_id": ids[3], "change": "split_from", "other_customer_id": "A", "run_id": "run2"}
    ]


def test_retired_and_new():
    r = recs(3)
    prev = prev_of(recs(2), ["A", "B"])
    cur = r.filter(pl.col("record_id") != "r001")  # B's only record is gone
    ids, changes = assign_stable_ids(cur, np.array([0, 1]), prev, run_id="x")
    kinds = {(c["customer_id"], c["change"]) for c in changes.to_dicts()}
    assert ("B", "retired") in kinds
    assert (ids[1], "new") in kinds and ids[0] == "A"
    assert {c for _, c in kinds} <= set(CHANGE_KINDS)
    assert CHANGE_KINDS == ("new", "merged_into", "split_from", "retired")


def test_new_id_never_reuses_a_previous_id():
    r = recs(2)
    # previous run gave the anchor-derived ID of r001 to another customer
    clash = customer_id_for("s", "r001")
    prev = pl.DataFrame({"source": ["s"], "record_id": ["other"], "customer_id": [clash]})
    ids, _ = assign_stable_ids(r, np.array([0, 1]), prev)
    assert ids[1] != clash and ids[1].startswith("C-")


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 30),
    edges=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=40),
    new_edges=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=6),
    dropped=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=6),
)
def test_unchanged_clusters_never_change_id(n, edges, new_edges, dropped):
    """Random edits to the links: every record whose cluster is identical keeps its ID."""
    r = recs(n)
    e1 = [(a % n, b % n) for a, b in edges]
    lab1 = components(
        n,
        np.array([a for a, _ in e1], dtype=np.int64),
        np.array([b for _, b in e1], dtype=np.int64),
    )
    ids1, _ = assign_stable_ids(r, lab1, None)
    e2 = [x for x in e1 if x not in {(a % n, b % n) for a, b in dropped}] + [
        (a % n, b % n) for a, b in new_edges
    ]
    lab2 = components(
        n,
        np.array([a for a, _ in e2], dtype=np.int64),
        np.array([b for _, b in e2], dtype=np.int64),
    )
    ids2, changes = assign_stable_ids(r, lab2, prev_of(r, ids1))
    members1 = {}
    members2 = {}
    for i in range(n):
        members1.setdefault(lab1[i], set()).add(i)
        members2.setdefault(lab2[i], set()).add(i)
    for i in range(n):
        if members1[lab1[i]] == members2[lab2[i]]:
            assert ids1[i] == ids2[i]
    # every previous ID is either still used or explained in id_changes
    explained = set(
        changes.filter(pl.col("change").is_in(["merged_into", "retired"]))["customer_id"]
    )
    assert set(ids1) <= set(ids2) | explained
    # one ID per cluster
    assert (
        pl.DataFrame({"c": lab2, "id": ids2}).group_by("c").agg(pl.col("id").n_unique())["id"].max()
        == 1
    )


class _LookUpOnly(dict):
    """A customer history that may be looked up but not copied or scanned."""

    def __iter__(self):
        raise AssertionError("the history was scanned")

    def keys(self):
        raise AssertionError("the history was scanned")

    def items(self):
        raise AssertionError("the history was scanned")

    def values(self):
        raise AssertionError("the history was scanned")


def test_batch_ids_look_the_history_up_without_copying_it():
    # a call must not cost time in the size of the saved state: copying a
    # 456k-customer history into a set cost ~35 ms per single-record call
    from c360._incremental_ids import assign_batch_ids

    clash = customer_id_for("web", "1")
    history = _LookUpOnly({clash: 2, "C-a": 3, **{f"C-{i}": 1 for i in range(1000)}})
    ids, changes, merged = assign_batch_ids(
        np.array([0, 1, 1]),
        ["C-a"],
        ["web", "web"],
        ["1", "2"],
        replaced={},
        members={"C-a": 3},
        history=history,
        run="r",
    )
    # a new customer salted past the ID already taken, one joining C-a
    assert ids[0] == customer_id_for("web", "1", 1) and ids[1] == "C-a"
    assert [c["change"] for c in changes] == ["new"] and merged == {}
