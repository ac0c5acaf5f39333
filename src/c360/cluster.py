"""Clustering: accepted links grouped into customers, with guards against chains.

Plain connected components over-merge: one wrong link joins two real
customers, a few build a cluster of hundreds. c360 first takes connected
components of the accepted links (scipy's sparse graph routines, on integer
record keys), then re-examines only the components that look suspect:

* **must differ**: the component holds two records that cannot be the same
  person: two clearly different values of a ``cannot_link`` column (by default
  ``national_id``; one typo apart is not "different"), or two records of a
  source declared ``distinct`` (its records are known to be different people);
* **weak bridge**: the component has 4 or more records and a link weaker
  than ``bridge_probability``.

A suspect component is rebuilt greedily from its links, strongest first
(Kruskal's order); a link is refused when it would join two groups that must
differ, or when it would join two groups of two or more records through a
single link weaker than ``bridge_probability``. Every refusal is reported.

Examples:
    >>> import numpy as np
    >>> res = cluster_links(4, np.array([0, 2]), np.array([1, 3]), np.array([0.99, 0.9]))
    >>> res.labels.tolist()
    [0, 0, 2, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from rapidfuzz.distance import DamerauLevenshtein

__all__ = ["ClusterConfig", "ClusterResult", "cluster_links", "components"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterConfig:
    """How links become customers.

    Attributes:
        threshold: minimum match probability for a scored link to be accepted.
        guard: re-examine suspect components (see module docs).
        bridge_probability: a single link joining two groups of two or more
            records must be at least this probable.
        cannot_link: columns on which two clearly different values mean two
            different people.
        distinct_sources: sources whose records are known to be distinct people.
        max_match_disagreement: a ``cannot_link`` column is enforced only when
            the trained model finds its values clearly disagree among true
            matches at most this often (m of its "else" level); in data where
            the identifier is often replaced or mistyped it is evidence, not a
            constraint.
        coherence: after the guard, weigh every pair inside each cluster of
            three or more records and split clusters whose members weigh
            against being one person (see "Coherence" in ``docs/matching.md``).
        coherence_max_size: largest cluster whose pairs are all weighed
            (``k (k-1) / 2`` pairs for ``k`` records); larger ones are
            re-clustered over their candidate pairs only.
        coherence_prior: log2 prior odds that two records of one cluster are
            one person, used for the coherence weights; ``None``: half the
            model's candidate prior (see the module docs).
    """

    threshold: float = 0.5
    guard: bool = True
    bridge_probability: float = 0.9
    cannot_link: tuple[str, ...] = ("national_id",)
    distinct_sources: tuple[str, ...] = ()
    max_match_disagreement: float = 0.01
    coherence: bool = True
    coherence_max_size: int = 200
    coherence_prior: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {
            "threshold": self.threshold,
            "guard": self.guard,
            "bridge_probability": self.bridge_probability,
            "cannot_link": list(self.cannot_link),
            "distinct_sources": list(self.distinct_sources),
            "max_match_disagreement": self.max_match_disagreement,
            "coherence": self.coherence,
            "coherence_max_size": self.coherence_max_size,
            "coherence_prior": self.coherence_prior,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterConfig:
        """Inverse of [`to_dict`][to_dict]."""
        d = dict(data)
        for k in ("cannot_link", "distinct_sources"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


@dataclass(frozen=True, slots=True)
class ClusterResult:
    """Cluster label per record (the smallest record key in its cluster) and guard report."""

    labels: IntArray
    refused: pl.DataFrame = field(repr=False)

    def sizes(self) -> pl.DataFrame:
        """Cluster-size distribution: ``size`` and number of ``clusters`` of that size."""
        counts = np.bincount(self.labels)
        counts = counts[counts > 0]
        return pl.DataFrame({"size": counts}).group_by("size").len("clusters").sort("size")


def components(n: int, left: IntArray, right: IntArray) -> IntArray:
    """Connected components; each record labelled by the smallest key in its component.

    Examples:
        >>> components(5, np.array([3, 1]), np.array([4, 0])).tolist()
        [0, 0, 2, 3, 3]
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # imported here: scipy takes a quarter of `import c360` and only clustering needs it
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(left.shape[0], dtype=np.int8), (left, right)), shape=(n, n)).tocsr()
    _, lab = connected_components(graph, directed=False)
    # relabel by the smallest member so labels do not depend on traversal order
    smallest = np.full(int(lab.max()) + 1, n, dtype=np.int64)
    np.minimum.at(smallest, lab, np.arange(n, dtype=np.int64))
    out: IntArray = smallest[lab]
    return out


class _Groups:
    """Union-find over a component's records with per-group must-differ values."""

    def __init__(
        self,
        members: Sequence[int],
        values: Mapping[str, Mapping[int, str]],
        distinct: Mapping[int, bool],
    ) -> None:
        self.parent = {m: m for m in members}
        self.size = dict.fromkeys(members, 1)
        self.values = {
            m: {c: ({v[m]} if m in v else set()) for c, v in values.items()} for m in members
        }
        self.distinct = {m: int(distinct.get(m, False)) for m in members}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def conflict(self, a: int, b: int) -> str | None:
        if self.distinct[a] and self.distinct[b]:
            return "both groups hold a record of a source declared distinct"
        for col, va in self.values[a].items():
            vb = self.values[b][col]
            # sorted: a set's order follows string hashing, which Python
            # randomises per process, and the reason names the first clash found
            for x in sorted(va):
                for y in sorted(vb):
                    if x != y and DamerauLevenshtein.distance(x, y, score_cutoff=2) > 1:
                        return f"{col}: {x!r} != {y!r}"
        return None

    def union(self, a: int, b: int) -> None:
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.distinct[a] += self.distinct[b]
        for col in self.values[a]:
            self.values[a][col] |= self.values[b][col]


def cluster_links(
    n: int,
    left: IntArray,
    right: IntArray,
    probability: npt.NDArray[np.float64],
    *,
    config: ClusterConfig | None = None,
    records: pl.DataFrame | None = None,
    connect: Callable[[int, IntArray, IntArray], IntArray] | None = None,
) -> ClusterResult:
    """Group accepted links into clusters, splitting suspect components.

    Args:
        n: number of records (keys ``0..n-1``).
        left: left record key of each link.
        right: right record key of each link.
        probability: match probability of each link (links below the
            threshold are ignored).
        config: clustering options.
        records: matching frame (row ``i`` is record ``i``), needed for the
            ``cannot_link`` columns and ``distinct_sources``.
        connect: how connected components are labelled (an engine's; by
            default [`components`][components], with scipy).

    Returns:
        Labels per record and a frame of refused links with reasons.
    """
    cfg = config or ClusterConfig()
    acc = probability >= cfg.threshold
    left, right, probability = left[acc], right[acc], probability[acc]
    labels = (connect or components)(n, left, right)
    refused_rows: list[dict[str, Any]] = []
    if not cfg.guard or left.shape[0] == 0:
        return ClusterResult(labels, _refused_frame(refused_rows))
    sizes = np.bincount(labels, minlength=n)
    # a weak bridge needs a link under bridge_probability that joins two groups
    # of two or more records: components of 4+ records with such a link (in
    # one of 3, every link joins a single record: 2,712 of the 14,742
    # rebuilt for a weak link at 1M worst-profile records, all unchanged)
    weakest = np.ones(n)
    np.minimum.at(weakest, labels[left], probability)
    suspect = (sizes[labels] >= 4) & (weakest[labels] < cfg.bridge_probability)
    values: dict[str, npt.NDArray[Any]] = {}
    value_series: dict[str, pl.Series] = {}
    distinct = np.zeros(n, dtype=bool)
    if records is not None:
        for col in cfg.cannot_link:
            if col in records.columns:
                value_series[col] = records.get_column(col).cast(pl.String)
                values[col] = value_series[col].to_numpy()
        if cfg.distinct_sources and "source" in records.columns:
            sources = records.get_column("source")
            distinct = sources.is_in(list(cfg.distinct_sources)).fill_null(False).to_numpy()
    if records is not None and (values or distinct.any()):
        # components holding clearly different must-differ values, even of size 2
        frame = pl.DataFrame({"c": labels, "_d": distinct}).with_columns(
            v.alias(k) for k, v in value_series.items()
        )
        checks = [pl.col(k).drop_nulls().n_unique().alias(k) for k in values]
        agg = frame.group_by("c").agg(*checks, pl.col("_d").sum().alias("_d"))
        bad = agg.filter(
            pl.any_horizontal(*(pl.col(k) > 1 for k in values), pl.col("_d") > 1)
            if values
            else pl.col("_d") > 1
        )["c"].to_numpy()
        suspect |= np.isin(labels, bad)
    link_suspect = suspect[left]
    if not link_suspect.any():
        return ClusterResult(labels, _refused_frame(refused_rows))
    sl, sr, sp = left[link_suspect], right[link_suspect], probability[link_suspect]
    comp = labels[sl]
    order = np.lexsort((sr, sl, -sp, comp))
    new_labels = labels.copy()
    start = 0
    comp_sorted = comp[order]
    bounds = np.flatnonzero(np.diff(comp_sorted)) + 1
    by_label = np.argsort(labels, kind="stable")
    label_start = np.searchsorted(labels[by_label], np.arange(n))
    for end in [*bounds.tolist(), order.shape[0]]:
        idx = order[start:end]
        start = end
        c = int(comp[idx[0]])
        members = by_label[label_start[c] : label_start[c] + sizes[c]]
        mvals = {c: {int(m): v[m] for m in members if v[m] is not None} for c, v in values.items()}
        groups = _Groups(members.tolist(), mvals, {int(m): bool(distinct[m]) for m in members})
        for i in idx.tolist():
            a, b = groups.find(int(sl[i])), groups.find(int(sr[i]))
            if a == b:
                continue
            reason = groups.conflict(a, b)
            if (
                reason is None
                and groups.size[a] >= 2
                and groups.size[b] >= 2
                and sp[i] < cfg.bridge_probability
                and _cross_links(groups, sl[idx], sr[idx], a, b) < 2
            ):
                reason = (
                    f"weak bridge: a single link of probability {sp[i]:.3f} would join "
                    f"groups of {groups.size[a]} and {groups.size[b]} records"
                )
            if reason is not None:
                refused_rows.append(
                    {
                        "_rid_l": int(sl[i]),
                        "_rid_r": int(sr[i]),
                        "match_probability": float(sp[i]),
                        "reason": reason,
                    }
                )
                continue
            groups.union(a, b)
        roots = {m: groups.find(m) for m in members.tolist()}
        smallest: dict[int, int] = {}
        for m, r in roots.items():
            smallest[r] = min(smallest.get(r, m), m)
        for m, r in roots.items():
            new_labels[m] = smallest[r]
    return ClusterResult(new_labels, _refused_frame(refused_rows))


def _cross_links(groups: _Groups, ls: IntArray, rs: IntArray, a: int, b: int) -> int:
    """Number of links between the groups rooted at ``a`` and ``b``."""
    count = 0
    for x, y in zip(ls.tolist(), rs.tolist(), strict=True):
        fx, fy = groups.find(x), groups.find(y)
        if (fx == a and fy == b) or (fx == b and fy == a):
            count += 1
    return count


def _refused_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "_rid_l": pl.Int64,
            "_rid_r": pl.Int64,
            "match_probability": pl.Float64,
            "reason": pl.String,
        },
    )
