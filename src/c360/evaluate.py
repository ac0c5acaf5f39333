"""Evaluation against known truth: pairwise, cluster-level and B-cubed metrics, blocking recall.

All functions take clusterings as frames keyed by ``source`` and ``record_id``
so that users can compare c360's output with their own labels directly.
Pair counts are computed from cluster-size contingency tables, never by
listing pairs, so they scale to millions of records.

Example:
    >>> import polars as pl
    >>> pred = pl.DataFrame({"source": ["a"] * 4, "record_id": ["1", "2", "3", "4"],
    ...                      "cluster": ["x", "x", "y", "y"]})
    >>> truth = pred.with_columns(cluster=pl.Series(["p", "p", "p", "q"]))
    >>> m = pairwise_metrics(pred, truth)
    >>> (m.true_positives, m.predicted_pairs, m.true_pairs)
    (1, 2, 3)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from c360.exceptions import ConfigError

__all__ = [
    "PairwiseMetrics",
    "b_cubed",
    "blocking_recall",
    "cluster_metrics",
    "clusters_from_links",
    "pairwise_metrics",
]

_KEY = ["source", "record_id"]


@dataclass(frozen=True, slots=True)
class PairwiseMetrics:
    """Precision, recall and F1 over record pairs."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted_pairs: int
    true_pairs: int

    def to_dict(self) -> dict[str, float | int]:
        """As a plain dict."""
        return asdict(self)


def _prf(tp: int, pred: int, true: int) -> tuple[float, float, float]:
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _aligned(predicted: pl.DataFrame, truth: pl.DataFrame, cluster: str) -> pl.DataFrame:
    for name, f in (("predicted", predicted), ("truth", truth)):
        missing = [c for c in [*_KEY, cluster] if c not in f.columns]
        if missing:
            raise ConfigError(f"{name} clustering lacks columns {missing}", column=missing[0])
    p = predicted.select(*_KEY, pl.col(cluster).cast(pl.String).alias("p"))
    t = truth.select(*_KEY, pl.col(cluster).cast(pl.String).alias("t"))
    joined = p.join(t, on=_KEY, how="full", coalesce=True)
    # a record known to only one side is a singleton on the other
    return joined.with_columns(
        pl.col("p").fill_null(pl.concat_str([pl.lit("_p:"), *_KEY], separator="|")),
        pl.col("t").fill_null(pl.concat_str([pl.lit("_t:"), *_KEY], separator="|")),
    )


def _pairs(col: pl.Expr) -> pl.Expr:
    return (col * (col - 1) // 2).sum()


def pairwise_metrics(
    predicted: pl.DataFrame, truth: pl.DataFrame, *, cluster: str = "cluster"
) -> PairwiseMetrics:
    """Pairwise precision/recall/F1 of a clustering against true clusters.

    Both frames hold ``source``, ``record_id`` and a cluster column; truth is
    taken as closed transitively (clusters).
    """
    j = _aligned(predicted, truth, cluster)
    tp = int(j.group_by("p", "t").len().select(_pairs(pl.col("len"))).item() or 0)
    pred = int(j.group_by("p").len().select(_pairs(pl.col("len"))).item() or 0)
    true = int(j.group_by("t").len().select(_pairs(pl.col("len"))).item() or 0)
    return PairwiseMetrics(*_prf(tp, pred, true), tp, pred, true)


def b_cubed(
    predicted: pl.DataFrame, truth: pl.DataFrame, *, cluster: str = "cluster"
) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (averaged over records).

    Example:
        >>> f = pl.DataFrame({"source": ["a"] * 2, "record_id": ["1", "2"], "cluster": ["x", "x"]})
        >>> b_cubed(f, f)
        (1.0, 1.0, 1.0)
    """
    j = _aligned(predicted, truth, cluster)
    j = j.with_columns(
        pl.len().over("p", "t").alias("both"),
        pl.len().over("p").alias("np"),
        pl.len().over("t").alias("nt"),
    )
    p = float((j["both"] / j["np"]).mean() or 0.0)
    r = float((j["both"] / j["nt"]).mean() or 0.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def cluster_metrics(
    predicted: pl.DataFrame, truth: pl.DataFrame, *, cluster: str = "cluster"
) -> dict[str, float]:
    """Cluster-level precision/recall/F1: a cluster counts when reproduced exactly.

    Precision is the share of predicted clusters that equal a true cluster,
    recall the share of true clusters found exactly.
    """
    j = _aligned(predicted, truth, cluster)
    both = j.group_by("p", "t").len("both")
    sizes_p = j.group_by("p").len("np")
    sizes_t = j.group_by("t").len("nt")
    exact = both.join(sizes_p, on="p").join(sizes_t, on="t").filter(
        (pl.col("both") == pl.col("np")) & (pl.col("both") == pl.col("nt"))
    ).height
    p = exact / sizes_p.height if sizes_p.height else 1.0
    r = exact / sizes_t.height if sizes_t.height else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "exact_clusters": float(exact)}


def clusters_from_links(records: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Close labelled links transitively into clusters.

    Args:
        records: ``source``, ``record_id`` of every record.
        links: ``source_l, record_id_l, source_r, record_id_r``.

    Returns:
        ``source``, ``record_id``, ``cluster`` (Int64).

    Example:
        >>> recs = pl.DataFrame({"source": ["a"] * 3, "record_id": ["1", "2", "3"]})
        >>> lk = pl.DataFrame({"source_l": ["a"], "record_id_l": ["1"],
        ...                    "source_r": ["a"], "record_id_r": ["3"]})
        >>> clusters_from_links(recs, lk)["cluster"].to_list()
        [0, 1, 0]
    """
    from c360.cluster import components

    keys = records.select(_KEY).unique(maintain_order=True).with_row_index("_i")
    ends = []
    for side in ("l", "r"):
        ends.append(
            links.select(
                pl.col(f"source_{side}").alias("source"), pl.col(f"record_id_{side}").alias("record_id")
            ).join(keys, on=_KEY, how="left", maintain_order="left")["_i"]
        )
    ok = ends[0].is_not_null() & ends[1].is_not_null()
    lab = components(
        keys.height, ends[0].filter(ok).to_numpy().astype("int64"), ends[1].filter(ok).to_numpy().astype("int64")
    )
    return keys.drop("_i").with_columns(cluster=pl.Series(lab, dtype=pl.Int64))


def blocking_recall(candidates: pl.DataFrame, truth: pl.DataFrame, *, cluster: str = "cluster") -> float:
    """Share of true pairs present among candidate pairs.

    Args:
        candidates: ``source_l, record_id_l, source_r, record_id_r`` per candidate pair.
        truth: true clusters (``source``, ``record_id``, cluster column).
    """
    t = truth.select(*_KEY, pl.col(cluster).alias("_c"))
    true_pairs = int(t.group_by("_c").len().select(_pairs(pl.col("len"))).item() or 0)
    if true_pairs == 0:
        return 1.0
    c = candidates.join(
        t.rename({"source": "source_l", "record_id": "record_id_l", "_c": "_cl"}),
        on=["source_l", "record_id_l"],
    ).join(
        t.rename({"source": "source_r", "record_id": "record_id_r", "_c": "_cr"}),
        on=["source_r", "record_id_r"],
    )
    found = c.filter(pl.col("_cl") == pl.col("_cr")).unique(
        ["source_l", "record_id_l", "source_r", "record_id_r"]
    ).height
    return found / true_pairs
