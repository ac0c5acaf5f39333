"""``c360.spark._components`` against ``c360.cluster.components`` (scipy): the same labels.

Each call in rounds runs a few Spark jobs (about 0.4 s a round in
``local[2]``), so the property test draws few examples. Both ways are
tested: in rounds (``driver_edges=0``) and, for a small graph, on the driver.
"""

import itertools
import logging
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c360.cluster import components as local_components
from c360.exceptions import C360Error
from c360.spark._components import DRIVER_EDGES, components

LOGGER = "c360.spark._components"


def _frames(spark, ids, edges, vertex="_rid", left="_rid_l", right="_rid_r"):
    vertices = spark.createDataFrame([(i,) for i in ids], f"{vertex} long")
    pairs = spark.createDataFrame(list(edges), f"{left} long, {right} long")
    return vertices, pairs


def _labels(result, vertex="_rid"):
    return sorted((row[vertex], row["label"]) for row in result.collect())


def _rounds(caplog):
    rounds = [r.c360_rounds for r in caplog.records if hasattr(r, "c360_rounds")]
    assert len(rounds) == 1
    return rounds[0]


@st.composite
def graphs(draw):
    """A graph on keys 0..n-1 (self-loops, duplicates and both directions allowed), and ids.

    The ids are distinct 64-bit integers (negative ones too) in the keys' order,
    so the smallest key of a component maps to its smallest id.
    """
    n = draw(st.integers(0, 60))
    ids = sorted(draw(st.sets(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)))
    key = st.integers(0, max(n - 1, 0))
    edges = draw(st.lists(st.tuples(key, key), max_size=80)) if n else []
    return ids, edges


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(graph=graphs())
def test_same_labels_as_local(spark, graph):
    ids, edges = graph
    n = len(ids)
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    keys = local_components(n, left, right)
    expected = sorted((ids[k], ids[int(keys[k])]) for k in range(n))
    vertices, pairs = _frames(spark, ids, [(ids[a], ids[b]) for a, b in edges])
    assert _labels(components(vertices, pairs, driver_edges=0)) == expected
    assert _labels(components(vertices, pairs)) == expected  # on the driver


def test_a_graph_over_the_driver_limit_runs_in_rounds(spark, caplog):
    """Edges as prepared are counted against the limit: duplicates, loops and strays are not."""
    ids = list(range(10))
    edges = [(0, 1), (1, 0), (1, 2), (2, 2), (3, 4), (5, 99)] * 3  # 3 prepared edges
    vertices, pairs = _frames(spark, ids, edges)
    expected = sorted([(0, 0), (1, 0), (2, 0), (3, 3), (4, 3)] + [(i, i) for i in range(5, 10)])
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert _labels(components(vertices, pairs, driver_edges=3)) == expected
    assert _rounds(caplog) == 0
    caplog.clear()
    assert _labels(components(vertices, pairs, driver_edges=2)) == expected
    assert _rounds(caplog) >= 1


def test_long_path_takes_few_rounds(spark, caplog):
    """A path of 2,000 shuffled ids: one component, in about log2(2,000) rounds, not 2,000."""
    n = 2000
    ids = list(range(10**12, 10**12 + n))
    random.Random(12).shuffle(ids)
    vertices, pairs = _frames(spark, ids, itertools.pairwise(ids))
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    labels = _labels(components(vertices, pairs, checkpoint_every=3, driver_edges=0))
    assert labels == [(i, 10**12) for i in sorted(ids)]
    rounds = _rounds(caplog)
    assert 3 <= rounds <= 16  # 9 when written; label propagation would need ~2,000


@pytest.mark.parametrize(("driver_edges", "rounds"), [(0, 1), (DRIVER_EDGES, 0)])
def test_no_edges_isolated_vertices_and_ignored_edges(spark, caplog, driver_edges, rounds):
    ids = [7, -3, 2**62, 0]
    caplog.set_level(logging.INFO, logger=LOGGER)
    vertices, pairs = _frames(spark, ids, [])
    got = components(vertices, pairs, driver_edges=driver_edges)
    assert _labels(got) == sorted((i, i) for i in ids)
    assert _rounds(caplog) == rounds  # in rounds, the first round is the first check
    # self-loops, an edge to a non-vertex, a null end: no edge remains
    vertices, pairs = _frames(spark, ids, [(7, 7), (0, 99), (None, 7), (2**62, None), (0, 0)])
    got = components(vertices, pairs, driver_edges=driver_edges)
    assert _labels(got) == sorted((i, i) for i in ids)
    # one real edge, repeated in both directions
    vertices, pairs = _frames(spark, ids, [(7, 2**62), (2**62, 7), (7, 2**62)])
    expected = sorted([(-3, -3), (0, 0), (7, 7), (2**62, 7)])
    assert _labels(components(vertices, pairs, driver_edges=driver_edges)) == expected
    # no vertices at all
    vertices, pairs = _frames(spark, [], [(1, 2)])
    assert _labels(components(vertices, pairs, driver_edges=driver_edges)) == []


@pytest.mark.parametrize("driver_edges", [0, DRIVER_EDGES])
def test_star_and_cliques(spark, driver_edges):
    rng = random.Random(4)
    ids = rng.sample(range(-(10**15), 10**15), 120)
    star, rest = ids[:40], ids[40:]
    centre = star[17]  # not the smallest id of the star
    edges = [(centre, leaf) if rng.random() < 0.5 else (leaf, centre) for leaf in star]
    groups = [star]
    for size in (2, 5, 9, 14):
        clique, rest = rest[:size], rest[size:]
        edges += [(a, b) for a in clique for b in clique if a != b]
        groups.append(clique)
    groups += [[i] for i in rest]  # isolated
    rng.shuffle(edges)
    vertices, pairs = _frames(spark, ids, edges, vertex="id", left="a", right="b")
    result = components(
        vertices, pairs, vertex="id", left="a", right="b", driver_edges=driver_edges
    )
    assert result.columns == ["id", "label"]
    expected = sorted((i, min(group)) for group in groups for i in group)
    assert _labels(result, vertex="id") == expected


def test_too_few_rounds_is_an_error(spark):
    ids = list(range(64))
    vertices, pairs = _frames(spark, ids, itertools.pairwise(ids))
    with pytest.raises(C360Error, match="did not settle in 1 rounds"):
        components(vertices, pairs, max_rounds=1, driver_edges=0)


def test_bad_arguments(spark):
    vertices, pairs = _frames(spark, [1], [])
    with pytest.raises(C360Error, match="'label'"):
        components(vertices.withColumnRenamed("_rid", "label"), pairs, vertex="label")
    with pytest.raises(C360Error, match="at least 1"):
        components(vertices, pairs, checkpoint_every=0)
