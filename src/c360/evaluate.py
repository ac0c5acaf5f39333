"""Evaluation against known truth: pairwise, cluster-level and B-cubed metrics, blocking recall.

All functions take clusterings as frames keyed by ``source`` and ``record_id``
so that users can compare c360's output with their own labels directly.
Pair counts are computed from cluster-size contingency tables, never by
listing pairs, so they scale to millions of records. [`error_breakdown`][error_breakdown]
lists the false and missed links of a resolution (sampled past a limit) with
their comparison pattern and cause.

Examples:
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

from c360._error_classes import ErrorBreakdown, error_breakdown
from c360.exceptions import ConfigError

__all__ = [
    "ErrorBreakdown",
    "PairwiseMetrics",
    "RunComparison",
    "b_cubed",
    "blocking_recall",
    "cluster_metrics",
    "clusters_from_links",
    "compare_runs",
    "error_breakdown",
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

    Examples:
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
    p = float(j.select((pl.col("both") / pl.col("np")).mean()).item() or 0.0)
    r = float(j.select((pl.col("both") / pl.col("nt")).mean()).item() or 0.0)
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
    exact = (
        both.join(sizes_p, on="p")
        .join(sizes_t, on="t")
        .filter((pl.col("both") == pl.col("np")) & (pl.col("both") == pl.col("nt")))
        .height
    )
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

    Examples:
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
                pl.col(f"source_{side}").alias("source"),
                pl.col(f"record_id_{side}").alias("record_id"),
            ).join(keys, on=_KEY, how="left", maintain_order="left")["_i"]
        )
    ok = ends[0].is_not_null() & ends[1].is_not_null()
    lab = components(
        keys.height,
        ends[0].filter(ok).to_numpy().astype("int64"),
        ends[1].filter(ok).to_numpy().astype("int64"),
    )
    return keys.drop("_i").with_columns(cluster=pl.Series(lab, dtype=pl.Int64))


def blocking_recall(
    candidates: pl.DataFrame, truth: pl.DataFrame, *, cluster: str = "cluster"
) -> float:
    """Share of true pairs present among candidate pairs.

    Args:
        candidates: ``source_l, record_id_l, source_r, record_id_r`` per candidate pair.
        truth: true clusters (``source``, ``record_id``, cluster column).
        cluster: name of the cluster column in ``truth``.

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
    found = (
        c.filter(pl.col("_cl") == pl.col("_cr"))
        .unique(["source_l", "record_id_l", "source_r", "record_id_r"])
        .height
    )
    return found / true_pairs


# --------------------------------------------------------------------------------------
# parallel runs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunComparison:
    """How two resolutions of the same records differ (see [`compare_runs`][compare_runs]).

    Attributes:
        records: records present in both runs (the ones compared).
        only_in_a: records present only in run A.
        only_in_b: records present only in run B.
        changed_records: common records whose group differs: the set of other
            common records sharing their customer is not the same in both runs.
        changed_share: ``changed_records / records`` — the discrepancy figure
            to hold against an SLO such as "< 1%".
        merges: clusters of B that join records of two or more clusters of A.
        merged_clusters: clusters of A that B merged into a larger one.
        splits: clusters of A whose records B puts in two or more clusters.
        split_clusters: clusters of B that hold a part of a split A cluster.
        clusters_a: clusters in A (over common records).
        clusters_b: clusters in B (over common records).
        pairs_only_a: record pairs together in A but apart in B.
        pairs_only_b: record pairs together in B but apart in A.

    """

    records: int
    only_in_a: int
    only_in_b: int
    changed_records: int
    changed_share: float
    merges: int
    merged_clusters: int
    splits: int
    split_clusters: int
    clusters_a: int
    clusters_b: int
    pairs_only_a: int
    pairs_only_b: int

    def within(self, max_share: float) -> bool:
        """Whether the share of changed records is at most ``max_share`` (e.g. ``0.01``)."""
        return self.changed_share <= max_share

    def to_dict(self) -> dict[str, float | int]:
        """As a plain dict."""
        return asdict(self)


def _as_ids(frame: object, cluster: str, name: str) -> pl.DataFrame:
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        frame = pl.from_arrow(frame)
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise ConfigError(
            f"{name} must be a polars frame or an Arrow table; got {type(frame).__name__}"
        )
    missing = [c for c in [*_KEY, cluster] if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{name} lacks columns {missing}; have {frame.columns}",
            column=missing[0],
            hint="pass the unified_ids table of each run (source, record_id, customer_id)",
        )
    out = frame.select(*_KEY, pl.col(cluster).cast(pl.String).alias("_c"))
    dup = out.select(_KEY).is_duplicated().sum()
    if dup:
        raise ConfigError(f"{name} lists {dup} rows whose (source, record_id) is not unique")
    return out


def compare_runs(
    a_unified_ids: object, b_unified_ids: object, *, cluster: str = "customer_id"
) -> RunComparison:
    """Compare two resolutions of the same records (a parallel run, or today vs yesterday).

    Cluster labels need not match between runs: only the grouping is compared.
    Records present in one run only are counted apart and left out of the
    comparison. All figures come from cluster-size contingency tables.

    Args:
        a_unified_ids: run A's ``source, record_id, customer_id`` (polars or Arrow).
        b_unified_ids: run B's, in the same form.
        cluster: the cluster column of both.

    Returns:
        A [`RunComparison`][RunComparison]; ``changed_share`` is the discrepancy figure.

    Examples:
        >>> a = pl.DataFrame({"source": ["s"] * 5, "record_id": list("12345"),
        ...                   "customer_id": ["x", "x", "y", "y", "z"]})
        >>> b = a.with_columns(customer_id=pl.Series(["p", "p", "p", "q", "r"]))
        >>> c = compare_runs(a, b)
        >>> c.changed_records, c.merges, c.splits, c.pairs_only_a, c.pairs_only_b
        (4, 1, 1, 1, 2)

    """
    a = _as_ids(a_unified_ids, cluster, "a_unified_ids")
    b = _as_ids(b_unified_ids, cluster, "b_unified_ids")
    j = a.rename({"_c": "a"}).join(b.rename({"_c": "b"}), on=_KEY, how="inner")
    only_a = a.height - j.height
    only_b = b.height - j.height
    j = j.with_columns(
        pl.len().over("a", "b").alias("n_ab"),
        pl.len().over("a").alias("n_a"),
        pl.len().over("b").alias("n_b"),
    )
    changed = j.filter((pl.col("n_ab") != pl.col("n_a")) | (pl.col("n_ab") != pl.col("n_b"))).height
    cells = j.group_by("a", "b").len("n")
    a_spread = cells.group_by("a").len("parts")  # B clusters per A cluster
    b_spread = cells.group_by("b").len("parts")  # A clusters per B cluster
    merged_b = b_spread.filter(pl.col("parts") > 1)
    split_a = a_spread.filter(pl.col("parts") > 1)
    merged_a = cells.join(merged_b.select("b"), on="b").select("a").unique().height
    split_b = cells.join(split_a.select("a"), on="a").select("b").unique().height
    both = int(cells.select(_pairs(pl.col("n"))).item() or 0)
    pairs_a = int(j.group_by("a").len().select(_pairs(pl.col("len"))).item() or 0)
    pairs_b = int(j.group_by("b").len().select(_pairs(pl.col("len"))).item() or 0)
    n = j.height
    return RunComparison(
        records=n,
        only_in_a=only_a,
        only_in_b=only_b,
        changed_records=changed,
        changed_share=changed / n if n else 0.0,
        merges=merged_b.height,
        merged_clusters=merged_a,
        splits=split_a.height,
        split_clusters=split_b,
        clusters_a=a_spread.height,
        clusters_b=b_spread.height,
        pairs_only_a=pairs_a - both,
        pairs_only_b=pairs_b - both,
    )
