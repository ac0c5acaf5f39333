"""c360.testing: the helpers a user's own tests need."""

from __future__ import annotations

import polars as pl
import pytest

import c360
from c360.exceptions import ConfigError
from c360.testing import assert_clusters_match_truth, assert_same_clusters, sample_people


def _ids(labels: list[str], source: str = "s") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": [source] * len(labels),
            "record_id": [str(i) for i in range(len(labels))],
            "customer_id": labels,
        }
    )


def test_same_grouping_under_other_labels_passes_and_ids_can_be_required():
    a = _ids(["x", "x", "y", "z"])
    relabelled = _ids(["p", "p", "q", "r"])
    assert_same_clusters(a, relabelled)
    assert_same_clusters(a.to_arrow(), relabelled.lazy())
    with pytest.raises(AssertionError, match="4 records carry other customer IDs: s:0, s:1"):
        assert_same_clusters(a, relabelled, check_ids=True)
    assert_same_clusters(a, a.reverse(), check_ids=True)


def test_a_merge_a_split_and_missing_records_are_named():
    a = _ids(["x", "x", "y", "z"])
    merged = _ids(["x", "x", "x", "z"])
    with pytest.raises(AssertionError, match=r"3 of 4 records differently \(1 merges, 0 splits\)"):
        assert_same_clusters(a, merged)
    fewer = a.head(3)
    with pytest.raises(AssertionError, match="1 records only in left: s:3"):
        assert_same_clusters(a, fewer)
    with pytest.raises(ConfigError, match="lacks columns"):
        assert_same_clusters(a.drop("customer_id"), a)
    with pytest.raises(ConfigError, match="must be a polars frame or an Arrow table"):
        assert_same_clusters(42, a)
    with pytest.raises(ConfigError, match="not unique"):
        assert_same_clusters(pl.concat([a, a]), a)


def test_on_real_resolutions_shuffled_input_gives_the_same_customers():
    people = sample_people(120, seed=4)
    first = c360.resolve(people.records)
    again = c360.resolve(people.records.sample(fraction=1.0, shuffle=True, seed=9))
    assert_same_clusters(first, again, check_ids=True)
    f1 = assert_clusters_match_truth(first, people.truth, min_f1=0.8)
    assert 0.8 <= f1 <= 1.0
    # every record its own customer: far from the truth, and the message says how far
    alone = pl.from_arrow(first.unified_ids).with_columns(
        customer_id=pl.col("record_id") + pl.col("source")
    )
    with pytest.raises(AssertionError, match=r"pairwise F1 0\.0000 is below 0\.8"):
        assert_clusters_match_truth(alone, people.truth, min_f1=0.8)


def test_sample_people_is_reproducible_and_has_truth_for_every_record():
    a, b = sample_people(30, seed=2), sample_people(30, seed=2)
    assert a.records.equals(b.records) and a.truth.equals(b.truth)
    assert a.records.height == a.truth.height > 30
    assert set(a.truth.columns) >= {"source", "record_id", "person_id"}
    assert not sample_people(30, seed=3).records.equals(a.records)
