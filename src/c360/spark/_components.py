"""Connected components in Spark: each vertex labelled by the smallest vertex id of its component.

[`components`][c360.spark._components.components] gives, for a DataFrame of
vertices and one of edges, what [`c360.cluster.components`][c360.cluster.components]
gives locally: one row per vertex, labelled by the smallest id in its
connected component (an isolated vertex by itself). Ids are 64-bit integers.
Edges are undirected; self-loops, duplicate edges and edges in both
directions change nothing, and an edge with an end that is not a vertex (or
is null) is dropped. Everything runs as DataFrame operations (window
aggregates, ``explode``, ``distinct``, joins); nothing but one count per
round reaches the driver (or, for a small graph, its edges: see below), and
GraphFrames is not needed.

The algorithm is the alternating one of Kiveris et al. (reference below). It
keeps a set of edges ``(hi, lo)`` with ``hi > lo``, which always has the same
connected components as the input, and rewrites it until every component is
a star whose centre is the component's smallest vertex. One round is two
steps, where ``m(u)`` is the smallest of ``u`` and its neighbours:

* large-star: for every vertex ``u``, each neighbour ``v > u`` is joined to
  ``m(u)`` instead of to ``u`` (edge ``(v, m(u))``);
* small-star: for every vertex ``u``, with ``L`` its neighbours below it and
  ``m`` the smallest of ``L`` and ``u``, ``u`` and every member of ``L`` are
  joined to ``m`` (edges ``(u, m)`` and ``(w, m)`` for ``w`` in ``L``,
  ``w != m``).

Neither step adds an edge between components or disconnects one, and
neither makes more edges than it reads (duplicates are removed). A vertex is
unsettled when it has a neighbour below it and at least one other
neighbour. The edges are stars centred on the smallest vertex of their
components exactly when no vertex is unsettled; a further round would then
rewrite every edge into itself, and the loop stops. Each vertex that is the
``hi`` of an edge is then labelled by its only neighbour (the centre),
every other vertex by itself.

Rounds: Kiveris et al. prove that the alternation converges in O(log² n)
rounds for n vertices and observe about log n in practice; a path of 2,000
vertices with shuffled ids, the worst case of plain label propagation
(which needs about 2,000 rounds), takes about 10. At least one round runs
(its count is the first check; on settled edges it changes nothing); more
than ``max_rounds`` rounds raise [`C360Error`][c360.exceptions.C360Error].
The number of rounds is logged at INFO level on the
``c360.spark._components`` logger, with the record attribute
``c360_rounds``.

Shuffles and jobs: the edges are first prepared: self-loops dropped, edges
kept whose two ends are vertices (two left semi-joins with the vertices),
ends ordered and duplicates removed (one ``distinct``); this runs within
the first round's job. Each round is one Spark job of four shuffles of at
most twice the edges: a window over the edges in both directions
partitioned by vertex (``m(u)``, large-star), a window partitioned by
``hi`` (``m``, small-star), a ``distinct`` of the new edges, and a
group-by on vertex for the count of unsettled vertices. The count computes
the round's edges and keeps them: cached, with the previous round's cache
released after it; every ``checkpoint_every``-th round instead as a local
checkpoint (``localCheckpoint``), which also cuts the query plan (it would
otherwise grow by a few operators a round and take ever longer to plan).
If the last round's edges are only cached, one more short job copies them
into a local checkpoint. The result is the vertices left-joined to the
final edges (one more shuffle, or a broadcast), evaluated when it is used.
Local checkpoints live in the executors' block managers: an executor lost
after the loop loses its part of the edges, and the result can then no
longer be computed (call ``components`` again). Those of earlier rounds are
freed when the JVM collects them.

Small graphs on the driver: when the prepared edges number at most
``driver_edges`` (default a million, 16 bytes each), they are collected
(one job, which also computes the prepared edges) and labelled by
[`c360.cluster.components`][c360.cluster.components] (scipy) on the
driver, with the same labels; no round runs. Each round costs one job and
its planning whatever the size (about 0.5-1 s in ``local[2]``), and a run
of a few thousand records would spend most of its clustering time on them.
The prepared edges are persisted before that check, so that a graph over
the limit does not compute them twice; the first round reads them and
releases them.

Reference: Raimondas Kiveris, Silvio Lattanzi, Vahab Mirrokni, Vibhor
Rastogi and Sergei Vassilvitskii, "Connected Components in MapReduce and
Beyond", ACM Symposium on Cloud Computing (SoCC) 2014,
https://doi.org/10.1145/2670979.2670997.

Examples:
    >>> from c360.spark import session
    >>> spark = session()
    >>> vertices = spark.createDataFrame([(i,) for i in range(6)], "_rid long")
    >>> edges = spark.createDataFrame([(4, 3), (1, 5), (5, 0)], "_rid_l long, _rid_r long")
    >>> labels = components(vertices, edges).orderBy("_rid").collect()
    >>> [(row["_rid"], row["label"]) for row in labels]
    [(0, 0), (1, 0), (2, 2), (3, 3), (4, 3), (5, 0)]
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf

from c360.cluster import components as local_components
from c360.exceptions import C360Error

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["CHECKPOINT_EVERY", "DRIVER_EDGES", "MAX_ROUNDS", "components"]

logger = logging.getLogger(__name__)

#: Rounds between two ``localCheckpoint`` calls (the rounds between only cache their edges).
CHECKPOINT_EVERY = 4
#: Rounds after which ``components`` gives up (about log n are needed; 2,000 vertices take ~10).
MAX_ROUNDS = 100
#: Prepared edges up to which the components are found on the driver (scipy), not in rounds.
DRIVER_EDGES = 1_000_000

# internal column names: the higher and the lower end of an edge
_HI = "_cc_hi"
_LO = "_cc_lo"


def components(
    vertices: DataFrame,
    edges: DataFrame,
    *,
    vertex: str = "_rid",
    left: str = "_rid_l",
    right: str = "_rid_r",
    checkpoint_every: int = CHECKPOINT_EVERY,
    max_rounds: int = MAX_ROUNDS,
    driver_edges: int = DRIVER_EDGES,
) -> DataFrame:
    """Label every vertex with the smallest vertex id of its connected component.

    Args:
        vertices: one row per vertex, its id in column ``vertex`` (64-bit integers; ids are
            expected to be unique, a repeated id gives repeated rows).
        edges: one row per undirected edge, its ends in columns ``left`` and ``right``.
            Self-loops, duplicates and edges with an end that is not a vertex are ignored.
        vertex: the vertex id column of ``vertices``, and of the result.
        left: one end of an edge.
        right: the other end.
        checkpoint_every: rounds between two ``localCheckpoint`` calls that cut the query
            plan (the edges of the rounds between are cached); at least 1.
        max_rounds: the most rounds to run before giving up; at least 1.
        driver_edges: the most prepared edges labelled on the driver instead of in
            rounds (0: always in rounds).

    Returns:
        A lazy DataFrame with columns ``vertex`` and ``label`` (both ``long``), one row per
        row of ``vertices``. The rounds have already run; it reads ``vertices`` and the final
        edges (a local checkpoint).

    Raises:
        C360Error: ``vertex`` is ``"label"``, ``checkpoint_every`` or ``max_rounds`` is below
            1, or the edges did not settle within ``max_rounds`` rounds.
    """
    if vertex == "label":
        raise C360Error(
            "the vertex column cannot be named 'label' (the result's label column)",
            column=vertex,
            hint="rename the vertex column",
        )
    if checkpoint_every < 1 or max_rounds < 1:
        raise C360Error(
            f"checkpoint_every and max_rounds must be at least 1, "
            f"not {checkpoint_every} and {max_rounds}"
        )
    ids = vertices.select(sf.col(vertex).cast("long").alias(vertex))
    ends = ids.select(sf.col(vertex).alias("_cc_id"))
    pairs = edges.select(
        sf.col(left).cast("long").alias("_cc_a"), sf.col(right).cast("long").alias("_cc_b")
    ).where(sf.col("_cc_a") != sf.col("_cc_b"))  # also drops a null end
    pairs = pairs.join(ends, sf.col("_cc_a") == sf.col("_cc_id"), "left_semi")
    pairs = pairs.join(ends, sf.col("_cc_b") == sf.col("_cc_id"), "left_semi")
    current = pairs.select(
        sf.greatest("_cc_a", "_cc_b").alias(_HI), sf.least("_cc_a", "_cc_b").alias(_LO)
    ).distinct()

    # whether `current` is persisted (else a local checkpoint, or unkept)
    cached = driver_edges > 0
    if cached:
        current = current.persist()
        few = current.limit(driver_edges + 1).toArrow()
        if few.num_rows <= driver_edges:
            current.unpersist()
            logger.info("connected components: on the driver", extra={"c360_rounds": 0})
            return _labelled(ids, _driver_parents(ids.sparkSession, few, vertex), vertex)
    # without it, the first round reads the prepared edges once: they are not kept
    rounds = 0
    while True:
        rounds += 1
        following = _small_star(_large_star(current))
        # either way, the count below computes and keeps the new edges in the same job
        checkpoint = rounds % checkpoint_every == 0
        following = following.localCheckpoint(eager=False) if checkpoint else following.persist()
        unsettled = _unsettled(following)
        logger.debug("connected components: round %d, %d vertices unsettled", rounds, unsettled)
        if cached:
            current.unpersist()
        current, cached = following, not checkpoint
        if not unsettled:
            break
        if rounds == max_rounds:
            if cached:
                current.unpersist()
            raise C360Error(
                f"connected components did not settle in {max_rounds} rounds "
                f"({unsettled} vertices still unsettled)",
                hint="raise max_rounds (about log2 of the number of vertices are needed)",
            )
    if cached:
        final = current.localCheckpoint(eager=True)  # reads the cached edges
        current.unpersist()
        current = final
    logger.info("connected components: %d rounds", rounds, extra={"c360_rounds": rounds})
    parents = current.select(sf.col(_HI).alias(vertex), sf.col(_LO).alias("label"))
    return _labelled(ids, parents, vertex)


def _labelled(ids: DataFrame, parents: DataFrame, vertex: str) -> DataFrame:
    """Every vertex with its label: its parent's (``vertex``, ``label``) row, else itself."""
    labelled: DataFrame = ids.join(parents, vertex, "left").select(
        vertex, sf.coalesce(sf.col("label"), sf.col(vertex)).alias("label")
    )
    return labelled


def _driver_parents(spark: SparkSession, edges: pa.Table, vertex: str) -> DataFrame:
    """``vertex`` and ``label`` for every vertex of ``edges`` that is not its component's smallest.

    ``edges``: prepared edges (``_cc_hi``, ``_cc_lo``), collected; labelled by
    ``c360.cluster.components`` over their ends renumbered in id order, so that
    the smallest key of a component is its smallest id.
    """
    hi = edges.column(_HI).to_numpy()
    lo = edges.column(_LO).to_numpy()
    ends, keys = np.unique(np.concatenate([hi, lo]), return_inverse=True)
    smallest = local_components(ends.shape[0], keys[: hi.shape[0]], keys[hi.shape[0] :])
    moved = smallest != np.arange(ends.shape[0])
    table = pa.table(
        {
            vertex: pa.array(ends[moved], pa.int64()),
            "label": pa.array(ends[smallest[moved]], pa.int64()),
        }
    )
    out: DataFrame = spark.createDataFrame(table)
    return out


def _large_star(edges: DataFrame) -> DataFrame:
    """One large-star step: each neighbour ``v > u`` of ``u`` joined to ``m(u)``."""
    both = _both_directions(edges)
    smallest = sf.least(sf.col("u"), sf.min("v").over(Window.partitionBy("u")))
    out: DataFrame = (
        both.withColumn("m", smallest)
        .where(sf.col("v") > sf.col("u"))
        .select(sf.col("v").alias(_HI), sf.col("m").alias(_LO))
    )
    return out


def _small_star(edges: DataFrame) -> DataFrame:
    """One small-star step: ``u`` and its lower neighbours joined to the smallest of them."""
    m = sf.min(_LO).over(Window.partitionBy(_HI))
    with_m = edges.withColumn("m", m)
    # per edge (hi, lo): (hi, m) and (lo, m); the latter is a self-loop when lo is m
    moved = with_m.select(
        sf.explode(
            sf.array(
                sf.struct(sf.col(_HI).alias(_HI), sf.col("m").alias(_LO)),
                sf.struct(sf.col(_LO).alias(_HI), sf.col("m").alias(_LO)),
            )
        ).alias("e")
    ).select(sf.col(f"e.{_HI}").alias(_HI), sf.col(f"e.{_LO}").alias(_LO))
    out: DataFrame = moved.where(sf.col(_HI) != sf.col(_LO)).distinct()
    return out


def _both_directions(edges: DataFrame) -> DataFrame:
    """Each edge ``(hi, lo)`` as the rows ``(u=hi, v=lo)`` and ``(u=lo, v=hi)``."""
    out: DataFrame = edges.select(
        sf.explode(
            sf.array(
                sf.struct(sf.col(_HI).alias("u"), sf.col(_LO).alias("v")),
                sf.struct(sf.col(_LO).alias("u"), sf.col(_HI).alias("v")),
            )
        ).alias("e")
    ).select("e.u", "e.v")
    return out


def _unsettled(edges: DataFrame) -> int:
    """The number of vertices with a lower neighbour and at least one other neighbour.

    Zero exactly when the edges are stars, each centred on its smallest vertex.
    """
    both = _both_directions(edges)
    per_vertex: Any = both.groupBy("u").agg(
        sf.max((sf.col("v") < sf.col("u")).cast("int")).alias("has_lower"),
        sf.count(sf.lit(1)).alias("degree"),
    )
    return int(per_vertex.where((sf.col("has_lower") == 1) & (sf.col("degree") >= 2)).count())
