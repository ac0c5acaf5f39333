import json
import math
from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c360 import _em as em_module
from c360 import model as model_module
from c360.comparisons import ExactMatch, JaroWinklerAtThresholds
from c360.exceptions import ModelError
from c360.model import FellegiSunterModel, _distinct_rows, fit_em, levels_matrix, train


def simulate(n_match, n_non, m, u, rng):
    def draw(p, n):
        return rng.choice(len(p), size=n, p=p)

    g_m = np.column_stack([draw(p, n_match) for p in m])
    g_u = np.column_stack([draw(p, n_non) for p in u])
    return np.vstack([g_m, g_u]).astype(np.int8)


def test_em_recovers_known_parameters_and_prior_without_exact_agreement():
    rng = np.random.default_rng(1)
    # every match has one strongly corrupted field: exact agreement on *all* fields is rare
    m = [np.array([0.3, 0.2, 0.5]), np.array([0.3, 0.2, 0.5]), np.array([0.3, 0.1, 0.6])]
    u = [np.array([0.95, 0.04, 0.01]), np.array([0.9, 0.08, 0.02]), np.array([0.97, 0.02, 0.01])]
    gamma = simulate(5_000, 95_000, m, u, rng)
    res = fit_em(gamma, [3, 3, 3], u_init=[np.array([0.9, 0.05, 0.05])] * 3)
    assert res.converged
    assert abs(res.lam - 0.05) < 0.01
    for est, true in zip(res.m, m):
        assert np.abs(est - true).max() < 0.05


def test_em_on_patterns_equals_em_on_pairs():
    rng = np.random.default_rng(2)
    gamma = simulate(300, 3000, [np.array([0.1, 0.9])] * 2, [np.array([0.9, 0.1])] * 2, rng)
    gamma[::7, 1] = -1  # some nulls
    a = fit_em(gamma, [2, 2], u_init=[np.array([0.8, 0.2])] * 2)
    uniq, counts = np.unique(gamma, axis=0, return_counts=True)
    b = fit_em(uniq, [2, 2], u_init=[np.array([0.8, 0.2])] * 2, counts=counts.astype(float))
    assert math.isclose(a.lam, b.lam, rel_tol=1e-9)


def _toy():
    names = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]
    recs = pl.DataFrame({"first_name": names * 2, "city": ["x", "y"] * 8})
    pairs_l = np.arange(8)
    pairs_r = np.arange(8, 16)
    return recs, pairs_l, pairs_r


def test_train_never_produces_nan_and_saves_round_trip(tmp_path):
    recs, _, _ = _toy()
    comps = [JaroWinklerAtThresholds("first_name", tf_adjust=True), ExactMatch("city")]
    gamma = np.array([[3, 1]] * 8 + [[0, 0]] * 8 + [[0, 1]] * 8, dtype=np.int8)
    model = train(recs, comps, gamma)
    w, p = model.score_levels(gamma)
    assert np.isfinite(w).all() and np.isfinite(p).all()
    path = tmp_path / "model.json"
    written = model.save(path)
    assert model.tf, "the toy model has term frequencies to save"
    assert [p.name for p in written] == ["model.json", "model_tf.parquet"]
    assert "value" not in path.read_text()  # the tables are in Parquet, not in the JSON
    again = FellegiSunterModel.load(path)
    w2, _ = again.score_levels(gamma)
    assert np.allclose(w, w2)
    assert again.comparisons == model.comparisons
    assert again.tf.keys() == model.tf.keys()
    for col, table in model.tf.items():
        assert again.tf[col].equals(table)
    # a model file of an earlier release (tables inline in the JSON) still loads
    old = tmp_path / "old.json"
    old.write_text(json.dumps(model.to_dict()))
    assert FellegiSunterModel.load(old).tf["first_name"].equals(model.tf["first_name"])
    # a missing table file is a ModelError naming it
    (tmp_path / "model_tf.parquet").unlink()
    with pytest.raises(ModelError, match="term-frequency"):
        FellegiSunterModel.load(path)


def test_empty_candidates_fall_back_safely():
    recs, _, _ = _toy()
    model = train(recs, [ExactMatch("city")], np.zeros((0, 1), dtype=np.int8))
    assert model.warnings and "no candidate pairs" in model.warnings[0]
    w, p = model.score_levels(np.array([[1]], dtype=np.int8))
    assert np.isfinite(w).all() and (p < 0.5).all()


def test_useless_comparison_gets_no_weight():
    rng = np.random.default_rng(3)
    recs = pl.DataFrame({c: [f"v{i % 5}" for i in range(40)] for c in ("a", "b", "c", "city")})
    informative_m, informative_u = np.array([0.1, 0.9]), np.array([0.9, 0.1])
    useless = np.array([0.5, 0.5])
    gamma = simulate(
        1_000, 9_000, [informative_m] * 3 + [useless], [informative_u] * 3 + [useless], rng
    )
    model = train(recs, [ExactMatch(c) for c in ("a", "b", "c", "city")], gamma)
    weights = model.level_weights()
    assert abs(weights[3][1]) < 0.3
    assert all(w[1] > 2.5 for w in weights[:3])
    assert abs(model.lam - 0.1) < 0.02


def test_bad_model_file_is_a_clear_error(tmp_path):
    p = tmp_path / "m.json"
    p.write_text("{not json")
    with pytest.raises(ModelError, match="cannot read model file"):
        FellegiSunterModel.load(p)
    p.write_text('{"comparisons": []}')
    with pytest.raises(ModelError, match="invalid model"):
        FellegiSunterModel.load(p)


def _household_model():
    from c360.comparisons import PairData

    comps = (ExactMatch("first_name", tf_adjust=True), ExactMatch("last_name", tf_adjust=True))
    tf = {
        "first_name": pl.DataFrame({"value": ["ann", "bob"], "frequency": [0.5, 0.5]}),
        "last_name": pl.DataFrame({"value": ["smith", "zzyzx"], "frequency": [0.2, 0.0001]}),
    }
    model = FellegiSunterModel(
        comparisons=comps,
        m=[np.array([0.1, 0.9]), np.array([0.1, 0.9])],
        u=[np.array([0.95, 0.05]), np.array([0.99, 0.01])],
        u_random=[np.array([0.95, 0.05]), np.array([0.99, 0.01])],
        lam=0.001,
        tf=tf,
        others=[("related", [np.array([0.95, 0.05]), np.array([0.1, 0.9])], 0.003)],
    )
    # pairs 0-1 and 2-3: two household members (first names differ, surname
    # agrees), rare and common surname; pairs 4-5 and 6-7: the same person
    recs = pl.DataFrame(
        {
            "first_name": ["ann", "bob", "ann", "bob", "ann", "ann", "ann", "ann"],
            "last_name": ["zzyzx", "zzyzx", "smith", "smith", "zzyzx", "zzyzx", "smith", "smith"],
        }
    )
    data = PairData(recs, np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7]))
    gamma = np.array([[0, 1], [0, 1], [1, 1], [1, 1]], dtype=np.int8)
    return model, data, gamma


def test_a_rare_surname_is_evidence_against_strangers_not_against_a_household():
    model, data, gamma = _household_model()
    weight, _ = model.score_levels(gamma, data)
    rare_household, common_household, rare_person, common_person = weight
    # however rare the surname, a household pair is no likelier a match than
    # the match : household ratio of its levels says
    cap = math.log2((0.001 * 0.1 * 0.9) / (0.003 * 0.95 * 0.9))
    assert rare_household <= cap + 1e-9
    assert rare_household == pytest.approx(cap, abs=0.05)  # strangers are ruled out
    assert common_household < rare_household
    # the same person with a rare surname: stronger evidence than with a common one
    assert rare_person > common_person + 3


@settings(max_examples=120, deadline=None)
@given(
    data=st.data(),
    k=st.integers(1, 13),
    top=st.integers(0, 30),
    span=st.sampled_from([1, 7, 64, 1 << 10, 1 << 22]),
)
def test_distinct_patterns_equal_numpy_unique(data, k, top, span):
    # the counting path (mixed-radix codes, renumbered whenever the range would
    # pass the span; with a span too small for the patterns, the sorting
    # fallback) against np.unique
    rows = data.draw(st.lists(st.lists(st.integers(-1, top), min_size=k, max_size=k), max_size=200))
    gamma = np.array(rows, dtype=np.int8).reshape(-1, k)
    with (
        mock.patch.object(em_module, "_SORT_PATTERNS_UP_TO", 0),
        mock.patch.object(em_module, "_DENSE_SPAN", span),
    ):
        patterns, inverse, counts = _distinct_rows(gamma)
        rows_only, _, counts_only = _distinct_rows(gamma, with_inverse=False)  # training's call
    assert np.array_equal(rows_only, patterns) and np.array_equal(counts_only, counts)
    small = _distinct_rows(gamma)  # the sort path
    assert all(np.array_equal(a, b) for a, b in zip(small, (patterns, inverse, counts)))
    if gamma.shape[0] == 0:
        assert patterns.shape == (0, k) and inverse.size == 0 and counts.size == 0
        return
    ref, ref_inv, ref_counts = np.unique(gamma, axis=0, return_inverse=True, return_counts=True)
    assert patterns.dtype == np.int16 and inverse.dtype == np.intp
    assert patterns.tolist() == ref.tolist()
    assert inverse.tolist() == ref_inv.reshape(-1).tolist()
    assert counts.tolist() == ref_counts.tolist()


def test_saved_model_with_other_level_count_is_refused_clearly():
    from c360.comparisons import DateComparison

    mdl = FellegiSunterModel(
        comparisons=(DateComparison("date_of_birth"),),
        m=[np.array([0.1, 0.2, 0.7])],
        u=[np.array([0.9, 0.05, 0.05])],
        u_random=[np.array([0.9, 0.05, 0.05])],
        lam=0.01,
    )
    with pytest.raises(ModelError, match=r"date_of_birth.*6 levels.*3 in the saved model"):
        FellegiSunterModel.from_dict(mdl.to_dict())


def test_term_frequency_bits_by_hash_equal_the_table_join():
    table = pl.DataFrame(
        {"value": ["smith", "jones", "zyx", "mo"], "frequency": [0.5, 0.3, 0.15, 0.05]}
    )
    mdl = FellegiSunterModel(
        comparisons=(ExactMatch("last_name"),),
        m=[np.array([0.1, 0.9])],
        u=[np.array([0.9, 0.1])],
        u_random=[np.array([0.9, 0.1])],
        lam=0.01,
        tf={"last_name": table},
        tf_max_bits=2.0,
    )
    values = pl.Series(["zyx", None, "unknown", "smith", "mo", "jones"])
    got = mdl._tf_bits("last_name", table, values)
    baseline = float((table["frequency"] ** 2).sum())
    freq = dict(zip(table["value"], table["frequency"], strict=True))
    want = [
        0.0 if v not in freq else float(np.clip(math.log2(baseline / freq[v]), -2.0, 2.0))
        for v in values.to_list()
    ]
    assert got.tolist() == pytest.approx(want)


def test_twins_are_relatives_not_matches():
    """Same surname and birth date but another first name: more often twins than one person."""
    import c360
    from c360.datasets import SynthConfig, generate_people
    from c360.evaluate import pairwise_metrics

    # a register of names and birth dates, 15% of people twice, many twins
    config = SynthConfig(twin_rate=0.5, records_per_person=(0.85, 0.15))
    g = generate_people(6000, seed=12, sources=("crm",), config=config)
    true_dob = g.truth.join(
        g.people.select("person_id", pl.col("date_of_birth").alias("_dob")), on="person_id"
    )
    records = (
        g.records.select("source", "record_id", "first_name", "last_name", "date_of_birth")
        .join(true_dob.select("source", "record_id", "_dob"), on=["source", "record_id"])
        .with_columns(pl.col("date_of_birth").fill_null(pl.col("_dob")))
        .drop("_dob")
    )
    truth = g.truth.rename({"person_id": "cluster"})

    def run():
        res = c360.resolve(records)
        pred = pl.from_arrow(res.unified_ids).rename({"customer_id": "cluster"})
        return res, pairwise_metrics(pred, truth)

    res, learned = run()
    params = res.model.parameters().filter(pl.col("comparison") == "date_of_birth")
    exact = params.filter(pl.col("label") == "exact")
    # relatives' birth dates are learned: twins make "exact" far likelier than by chance
    assert exact["related"][0] > 10 * exact["u"][0]
    # as it was: relatives' birth dates pinned to random, so twins can only be matches
    pinned_classes = {
        "related": [c.column in model_module.PERSONAL for c in res.model.comparisons],
        "namesake": [c.column not in model_module.NAMES for c in res.model.comparisons],
    }
    with mock.patch.object(model_module, "_extra_classes", return_value=pinned_classes):
        res_pinned, pinned = run()
    pinned_exact = res_pinned.model.parameters().filter(
        (pl.col("comparison") == "date_of_birth") & (pl.col("label") == "exact")
    )
    assert pinned_exact["related"][0] == pytest.approx(pinned_exact["u"][0])
    # measured: precision 0.755 -> 0.968, F1 0.833 -> 0.928
    assert learned.precision > pinned.precision + 0.1, (learned, pinned)
    assert learned.f1 > pinned.f1, (learned, pinned)


def test_scores_by_slices_equal_the_whole(monkeypatch):
    # score_levels works a slice of pairs at a time (term-frequency bits kept
    # per column across slices): the same weights and probabilities, bit for bit
    import c360
    from c360.blocking import generate_pairs
    from c360.comparisons import PairData
    from c360.datasets import generate_people

    res = c360.resolve(generate_people(400, seed=3).records, progress=False)
    mdl, records = res.model, res.matching
    assert mdl.tf and mdl.others  # both term frequencies and extra classes in play
    pairs = pl.concat(generate_pairs(records, res.config.blocking))
    left, right = pairs["_rid_l"].to_numpy(), pairs["_rid_r"].to_numpy()
    gamma = levels_matrix(mdl.comparisons, PairData(records, left, right))
    whole = mdl.score_levels(gamma, PairData(records, left, right))
    monkeypatch.setattr(model_module, "_SCORE_SLICE", 7)
    sliced = mdl.score_levels(gamma, PairData(records, left, right))
    assert gamma.shape[0] > 7 * 10
    assert np.array_equal(whole[0], sliced[0]) and np.array_equal(whole[1], sliced[1])
    unadjusted = mdl.score_levels(gamma)  # without the values: no term frequencies
    assert not np.array_equal(whole[0], unadjusted[0])
