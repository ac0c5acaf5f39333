"""The supervised path: recordlinkage classifiers trained on c360's comparison vectors (FEBRL1)."""

import numpy as np
import pytest

pytest.importorskip("recordlinkage")

from c360.comparisons import compare
from c360.datasets import load_febrl
from c360.evaluate import clusters_from_links
from c360.exceptions import ModelError
from c360.pipeline import prepare
from c360.supervised import fit_classifier


@pytest.fixture(scope="module")
def labelled():
    records, links = load_febrl(1)
    truth = clusters_from_links(records.select("source", "record_id"), links)
    prep = prepare(records)
    cand = prep.candidate_pairs()
    t = truth.rename({"cluster": "c"})
    cand = cand.join(
        t.rename({"source": "source_l", "record_id": "record_id_l", "c": "cl"}),
        on=["source_l", "record_id_l"],
    ).join(
        t.rename({"source": "source_r", "record_id": "record_id_r", "c": "cr"}),
        on=["source_r", "record_id_r"],
    )
    keys = prep.valid.select("source", "record_id").with_row_index("_rid")
    pairs = cand.join(
        keys.rename({"source": "source_l", "record_id": "record_id_l", "_rid": "_rid_l"}),
        on=["source_l", "record_id_l"],
    ).join(
        keys.rename({"source": "source_r", "record_id": "record_id_r", "_rid": "_rid_r"}),
        on=["source_r", "record_id_r"],
    )
    comps = prep.config.comparisons
    out = compare(pairs.select("_rid_l", "_rid_r"), prep.records, comps)
    gamma = out.select([c.output for c in comps]).to_numpy().astype(np.int8)
    y = (pairs["cl"] == pairs["cr"]).to_numpy().astype(int)
    return gamma, y, [len(c.labels()) for c in comps]


@pytest.mark.parametrize("method", ["logistic", "naive_bayes", "svm"])
def test_supervised_classifiers_separate_febrl1(labelled, method):
    gamma, y, n_levels = labelled
    rng = np.random.default_rng(0)
    train = rng.random(y.size) < 0.5
    clf = fit_classifier(gamma[train], y[train], n_levels, method=method)
    _, p = clf.score_levels(gamma[~train])
    pred = p >= 0.5
    tp = int((pred & (y[~train] == 1)).sum())
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / int((y[~train] == 1).sum())
    assert precision > 0.98 and recall > 0.98, (method, precision, recall)


def test_ecm_runs_unsupervised(labelled):
    gamma, y, n_levels = labelled
    clf = fit_classifier(gamma, None, n_levels, method="ecm")
    _, p = clf.score_levels(gamma)
    assert np.isfinite(p).all()
    assert ((p >= 0.5) == (y == 1)).mean() > 0.95


def test_one_class_labels_are_refused(labelled):
    gamma, _, n_levels = labelled
    with pytest.raises(ModelError, match="one class only"):
        fit_classifier(gamma[:10], np.ones(10), n_levels)
