"""Error classes: the machinery of [`error_breakdown`][c360.evaluate.error_breakdown].

A resolution's errors against labelled truth are record pairs:

* a **false link** is a pair in the same predicted customer but in different
  true clusters;
* a **missed link** is a pair in the same true cluster but in different
  predicted customers.

They are listed without a pairwise self-join. Records are sorted by
(outer cluster, inner cluster); the error partners of the record at position
``i`` that come after it are the contiguous run from the end of its
(outer, inner) block to the end of its outer cluster. A running sum of those
run lengths maps every integer ``k < total`` to exactly one pair, so the total
is exact and a uniform sample without replacement is a sample of integers.

Each listed pair is then compared again with the resolution's own comparisons
and model, and labelled with a cause and a relationship between the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._frames import to_lazy
from c360.exceptions import ConfigError

if TYPE_CHECKING:
    from c360._typing import FrameLike
    from c360.comparisons import Comparison
    from c360.pipeline import Resolution

__all__ = ["FALSE_CAUSES", "MISSED_CAUSES", "RELATIONS", "ErrorBreakdown", "error_breakdown"]

_KEY = ["source", "record_id"]
_PAIR_KEY = ["source_l", "record_id_l", "source_r", "record_id_r"]

#: Causes of a false link: the pair itself is an accepted link, or its two
#: records were joined only through other records.
FALSE_CAUSES = ("direct link", "chain")
#: Causes of a missed link, checked in this order.
MISSED_CAUSES = (
    "not resolved",
    "refused by the clustering guard",
    "not a candidate",
    "scored below threshold",
)
#: Relationship between the two records of a pair, from their comparison levels.
RELATIONS = ("namesake", "household", "other")

_OUTCOMES = np.array(["missing", "disagree", "partial", "agree"])
_IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ErrorBreakdown:
    """The false and missed links of a resolution, with their pattern and cause.

    Attributes:
        false_links: one row per listed false link: ``source_l, record_id_l,
            source_r, record_id_r, match_weight, match_probability, cause,
            relation, pattern`` and the ``gamma_<comparison>`` levels (so that a
            row can be passed to ``c360.report.explain_link``).
        missed_links: one row per listed missed link, same columns.
        false_total: number of false links (exact, even when sampled).
        missed_total: number of missed links (exact, even when sampled).
        sampled: whether either list is a random sample rather than every pair.

    """

    false_links: pl.DataFrame
    missed_links: pl.DataFrame
    false_total: int
    missed_total: int
    sampled: bool

    def summary(
        self, by: str | Sequence[str] = ("cause", "relation", "pattern"), *, top: int = 20
    ) -> pl.DataFrame:
        """Count listed pairs per group, the largest groups of each kind first.

        Args:
            by: columns of ``false_links``/``missed_links`` to group by.
            top: groups kept per kind.

        Returns:
            ``kind`` (``"false"`` or ``"missed"``), the ``by`` columns, ``pairs``
            (listed pairs in the group) and ``share`` (of the listed pairs of
            that kind; an estimate of the share of all of them when sampled).

        Raises:
            ConfigError: a ``by`` column does not exist.

        """
        cols = [by] if isinstance(by, str) else list(by)
        missing = [c for c in cols if c not in self.false_links.columns]
        if missing:
            raise ConfigError(
                f"cannot group error pairs by {missing}: no such column",
                column=missing[0],
                hint=f"available: {', '.join(self.false_links.columns)}",
            )
        parts = []
        for kind, frame in (("false", self.false_links), ("missed", self.missed_links)):
            if not frame.height:
                continue
            counts = (
                frame.group_by(cols)
                .len("pairs")
                .sort(["pairs", *cols], descending=[True] + [False] * len(cols), nulls_last=True)
                .head(top)
            )
            parts.append(
                counts.select(
                    pl.lit(kind).alias("kind"),
                    *cols,
                    pl.col("pairs").cast(pl.Int64),
                    (pl.col("pairs") / frame.height).alias("share"),
                )
            )
        if not parts:
            schema: dict[str, Any] = {"kind": pl.String, **self.false_links.select(cols).schema}
            return pl.DataFrame(schema={**schema, "pairs": pl.Int64, "share": pl.Float64})
        return pl.concat(parts)

    def __str__(self) -> str:
        lines = []
        table = self.summary(top=10)
        for kind, frame, total in (
            ("false", self.false_links, self.false_total),
            ("missed", self.missed_links, self.missed_total),
        ):
            listed = "all listed" if frame.height == total else f"{frame.height:,} sampled"
            lines.append(f"{kind} links: {total:,} ({listed})")
            rows = table.filter(pl.col("kind") == kind)
            if rows.height:
                lines.append(f"  {'pairs':>7}  {'share':>6}  cause | relation | pattern")
            for r in rows.iter_rows(named=True):
                label = " | ".join(str(r[c]) for c in ("cause", "relation", "pattern"))
                lines.append(f"  {r['pairs']:>7,}  {r['share']:>6.1%}  {label}")
        return "\n".join(lines)


def error_breakdown(
    resolution: Resolution,
    truth: FrameLike,
    *,
    cluster: str = "cluster",
    max_pairs: int = 200_000,
    seed: int = 0,
) -> ErrorBreakdown:
    """Group the false and missed links of a resolution by pattern and cause.

    Totals agree with [`pairwise_metrics`][c360.evaluate.pairwise_metrics]:
    ``false_total == predicted_pairs - true_positives`` and ``missed_total ==
    true_pairs - true_positives``. A record known to one side only is a
    singleton on the other, as there.

    Each listed pair is compared again with the resolution's comparisons and
    scored by its model. ``pattern`` names the outcome of every comparison:
    ``agree`` (top level), ``partial`` (a level between), ``disagree`` (level
    0) or ``missing`` (a value is null). ``relation`` is ``namesake`` when first
    and last names agree, ``household`` when the last name agrees or the
    address is shared (the address, else postcode, part of a location
    comparison) but the first name or date of birth disagrees, else ``other``.

    The cause of a false link is ``direct link`` when the pair is itself an
    accepted link (not refused), else ``chain``. The cause of a missed link is
    the first that holds of: ``not resolved`` (a record is not in the
    resolution, e.g. quarantined), ``refused by the clustering guard`` (the pair
    was a refused or accepted link, yet its records ended apart), ``not a
    candidate`` (no blocking rule pairs the records), ``scored below
    threshold`` (model probability under ``config.cluster.threshold``), else
    ``refused by the clustering guard`` (it scored above, yet ended apart).

    Args:
        resolution: the result of [`c360.resolve`][c360.resolve] (it must hold
            its ``matching`` frame).
        truth: ``source``, ``record_id`` and a true cluster column.
        cluster: the cluster column of ``truth``.
        max_pairs: list at most this many pairs of each kind; over it, a
            uniform sample without replacement, and ``sampled`` is true.
        seed: seed of the sample (same seed, same rows).

    Returns:
        An [`ErrorBreakdown`][c360.evaluate.ErrorBreakdown]; ``summary()`` counts
        the groups and ``str()`` prints the largest.

    Raises:
        ConfigError: ``truth`` lacks a column or repeats a record; the
            resolution has no ``matching`` frame; ``max_pairs`` or ``seed`` is
            negative.

    Examples:
        >>> import polars as pl
        >>> import c360
        >>> from c360.evaluate import error_breakdown
        >>> recs = pl.DataFrame({"source": ["a", "a", "b"], "record_id": ["1", "2", "3"],
        ...     "first_name": ["Ann", "Ann", "Ann"], "last_name": ["Lee", "Lee", "Lee"],
        ...     "email": ["ann@x.io", "ann@x.io", "lee@y.io"]})
        >>> res = c360.resolve(recs, progress=False)
        >>> truth = recs.select("source", "record_id", cluster=pl.Series(["p", "q", "q"]))
        >>> eb = error_breakdown(res, truth)
        >>> eb.false_total, eb.missed_total
        (1, 1)
        >>> eb.false_links.select("record_id_l", "record_id_r", "cause", "relation").row(0)
        ('1', '2', 'direct link', 'namesake')

    """
    if max_pairs < 0 or seed < 0:
        raise ConfigError(f"max_pairs and seed must be >= 0; got {max_pairs} and {seed}")
    matching = resolution.matching
    if matching is None:
        raise ConfigError(
            "the resolution holds no matching frame to compare pairs with",
            hint="pass the Resolution returned by c360.resolve",
        )
    ids_frame = pl.from_arrow(resolution.unified_ids)
    assert isinstance(ids_frame, pl.DataFrame)
    ids = ids_frame.select(*_KEY, pl.col("customer_id").cast(pl.String).alias("p"))
    if ids.height != matching.height:
        raise ConfigError(
            f"unified_ids has {ids.height} rows but the matching frame {matching.height}",
            hint="pass a Resolution as c360.resolve returned it",
        )
    ids = ids.with_row_index("_rid").with_columns(pl.col("_rid").cast(pl.Int64))
    j = _aligned(ids, _truth(truth, cluster))
    p = j.get_column("p").to_numpy()
    t = j.get_column("t").to_numpy()
    rid = j.get_column("_rid").fill_null(-1).to_numpy()

    sampled = False
    halves = []
    for kind, (outer, inner) in enumerate(((p, t), (t, p))):
        order = np.lexsort((inner, outer))  # j is in key order, so ties keep it
        starts, later, total = _error_runs(outer[order], inner[order])
        k = np.arange(total, dtype=np.int64)
        if total > max_pairs:
            sampled = True
            rng = np.random.default_rng([seed, kind])
            k = np.sort(rng.choice(total, size=max_pairs, replace=False)).astype(np.int64)
        a, b = _decode(k, starts, later)
        halves.append((order[a], order[b], total))

    left = np.concatenate([h[0] for h in halves])
    right = np.concatenate([h[1] for h in halves])
    # sides in (source, record_id) order: j is sorted by key
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    frame = _score(resolution, matching, j, rid[lo], rid[hi], lo, hi)
    n_false = halves[0][0].shape[0]
    cause = _causes(resolution, ids, matching, rid[lo], rid[hi], frame, n_false)
    cols = [*_PAIR_KEY, "match_weight", "match_probability", "cause", "relation", "pattern"]
    gammas = [c.output for c in resolution.model.comparisons]
    frame = frame.with_columns(cause=cause).select(*cols, *gammas)
    return ErrorBreakdown(
        false_links=frame.head(n_false).sort(_PAIR_KEY),
        missed_links=frame.slice(n_false).sort(_PAIR_KEY),
        false_total=halves[0][2],
        missed_total=halves[1][2],
        sampled=sampled,
    )


def _truth(truth: FrameLike, cluster: str) -> pl.DataFrame:
    frame = to_lazy(truth, what="truth")
    have = frame.collect_schema().names()
    missing = [c for c in [*_KEY, cluster] if c not in have]
    if missing:
        raise ConfigError(
            f"truth lacks columns {missing}; have {have}",
            column=missing[0],
            hint=f"truth needs source, record_id and the cluster column ({cluster!r})",
        )
    out = frame.select(*_KEY, pl.col(cluster).cast(pl.String).alias("t")).collect()
    dup = int(out.select(_KEY).is_duplicated().sum())
    if dup:
        raise ConfigError(f"truth lists {dup} rows whose (source, record_id) is not unique")
    return out


def _aligned(ids: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Every record of either side, in key order, with integer cluster codes ``p`` and ``t``."""
    j = ids.join(truth, on=_KEY, how="full", coalesce=True).sort(_KEY).with_row_index("_row")
    # a record known to only one side is a singleton on the other
    single = pl.format("\x00{}", pl.col("_row"))
    return j.select(
        *_KEY,
        "_rid",
        pl.col("p").fill_null(single).rank("dense").cast(pl.Int64),
        pl.col("t").fill_null(single).rank("dense").cast(pl.Int64),
    )


def _error_runs(outer: _IntArray, inner: _IntArray) -> tuple[_IntArray, _IntArray, int]:
    """Start and length of each position's run of later error partners, and their total.

    ``outer`` and ``inner`` are sorted lexicographically. The partners of
    position ``i`` are the positions after its (outer, inner) block up to the
    end of its outer group.

    Examples:
        >>> _error_runs(np.array([0, 0, 0, 1]), np.array([5, 5, 6, 7]))
        (array([2, 2, 3, 4]), array([1, 1, 0, 0]), 2)
    """
    n = outer.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, 0
    new_outer = np.flatnonzero(np.diff(outer)) + 1
    new_block = np.flatnonzero((np.diff(outer) != 0) | (np.diff(inner) != 0)) + 1
    outer_end = np.r_[new_outer, n].astype(np.int64)
    block_end = np.r_[new_block, n].astype(np.int64)
    pos = np.arange(n)
    ends = outer_end[np.searchsorted(new_outer, pos, side="right")]
    starts = block_end[np.searchsorted(new_block, pos, side="right")]
    later = ends - starts
    return starts, later, int(later.sum())


def _decode(k: _IntArray, starts: _IntArray, later: _IntArray) -> tuple[_IntArray, _IntArray]:
    """Positions of the pairs numbered ``k`` (0 <= k < total) by [`_error_runs`][_error_runs]."""
    cum = np.cumsum(later)
    a = np.searchsorted(cum, k, side="right")
    b = starts[a] + (k - (cum[a] - later[a]))
    return a.astype(np.int64), b.astype(np.int64)


def _score(
    resolution: Resolution,
    matching: pl.DataFrame,
    j: pl.DataFrame,
    rid_l: _IntArray,
    rid_r: _IntArray,
    lo: _IntArray,
    hi: _IntArray,
) -> pl.DataFrame:
    """Keys, weight, probability, relation, pattern and levels of every pair."""
    from c360.comparisons import PairData
    from c360.model import levels_matrix

    comparisons = resolution.model.comparisons
    n = rid_l.shape[0]
    known = (rid_l >= 0) & (rid_r >= 0)
    gamma = np.full((n, len(comparisons)), -1, dtype=np.int8)
    weight = np.full(n, np.nan)
    prob = np.full(n, np.nan)
    if known.any() and comparisons:
        data = PairData(matching, rid_l[known], rid_r[known])
        g = levels_matrix(comparisons, data)
        w, pr = resolution.model.score_levels(g, data)
        gamma[known], weight[known], prob[known] = g, w, pr
    tops = np.array([len(c.labels()) - 1 for c in comparisons], dtype=np.int8)
    outcome = np.where(gamma < 0, 0, np.where(gamma == 0, 1, np.where(gamma >= tops, 3, 2)))
    words = _OUTCOMES[outcome]
    left, right = j[lo.tolist()], j[hi.tolist()]
    frame = pl.DataFrame(
        {
            "source_l": left["source"],
            "record_id_l": left["record_id"],
            "source_r": right["source"],
            "record_id_r": right["record_id"],
            "match_weight": pl.Series(weight, dtype=pl.Float64),
            "match_probability": pl.Series(prob, dtype=pl.Float64),
            "relation": pl.Series(_relations(comparisons, gamma), dtype=pl.String),
            "pattern": _patterns(comparisons, words),
            **{c.output: pl.Series(gamma[:, i], dtype=pl.Int8) for i, c in enumerate(comparisons)},
        }
    )
    unknown = pl.Series(~known)
    return frame.with_columns(
        pl.when(unknown).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("match_weight", "match_probability", "relation", "pattern")
    )


def _patterns(comparisons: Sequence[Comparison], words: npt.NDArray[np.str_]) -> pl.Series:
    """``"first_name=agree last_name=partial ..."`` per row of outcome words."""
    if not comparisons:
        return pl.Series("pattern", [""] * words.shape[0], dtype=pl.String)
    cols = pl.DataFrame({str(k): words[:, k] for k in range(len(comparisons))})
    parts: list[pl.Expr] = []
    for k, c in enumerate(comparisons):
        parts += [pl.lit(f"{' ' if k else ''}{c.name}="), pl.col(str(k))]
    return cols.select(pl.concat_str(parts).alias("pattern")).to_series()


def _relations(comparisons: Sequence[Comparison], gamma: npt.NDArray[np.int8]) -> npt.NDArray[Any]:
    """``namesake``, ``household`` or ``other`` per pair (see ``error_breakdown``)."""
    from c360.comparisons import LocationComparison

    n = gamma.shape[0]
    no = np.zeros(n, dtype=bool)

    def top(column: str) -> npt.NDArray[np.bool_]:
        for k, c in enumerate(comparisons):
            if c.column == column and not isinstance(c, LocationComparison):
                out: npt.NDArray[np.bool_] = gamma[:, k] == len(c.labels()) - 1
                return out
        return no

    def zero(column: str) -> npt.NDArray[np.bool_]:
        for k, c in enumerate(comparisons):
            if c.column == column:
                out: npt.NDArray[np.bool_] = gamma[:, k] == 0
                return out
        return no

    place = no.copy()
    for k, c in enumerate(comparisons):
        lv = gamma[:, k]
        if isinstance(c, LocationComparison):
            bit = 8 if c.column else 2  # address, else postcode
            place |= (lv > 0) & ((lv & bit) != 0)
        elif c.column in ("address_line1", "postcode"):
            place |= lv == len(c.labels()) - 1
    namesake = top("first_name") & top("last_name")
    household = (top("last_name") | place) & (zero("first_name") | zero("date_of_birth"))
    return np.where(namesake, "namesake", np.where(household, "household", "other"))


def _pair_codes(rid_l: _IntArray, rid_r: _IntArray, n: int) -> _IntArray:
    lo, hi = np.minimum(rid_l, rid_r), np.maximum(rid_l, rid_r)
    return lo.astype(np.int64) * (n + 1) + hi


def _rids(table: Any, ids: pl.DataFrame) -> tuple[_IntArray, _IntArray]:
    """Record keys of both sides of a links-like table (by key columns or ``_rid_*``)."""
    frame = pl.from_arrow(table) if not isinstance(table, pl.DataFrame) else table
    assert isinstance(frame, pl.DataFrame)
    if not frame.height:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if "_rid_l" in frame.columns:
        return frame["_rid_l"].to_numpy(), frame["_rid_r"].to_numpy()
    out = []
    keys = ids.select(*_KEY, "_rid")
    for side in ("l", "r"):
        sel = frame.select(
            pl.col(f"source_{side}").alias("source"), pl.col(f"record_id_{side}").alias("record_id")
        )
        out.append(
            sel.join(keys, on=_KEY, how="left", maintain_order="left")["_rid"]
            .fill_null(-1)
            .to_numpy()
        )
    return out[0], out[1]


def _causes(
    resolution: Resolution,
    ids: pl.DataFrame,
    matching: pl.DataFrame,
    rid_l: _IntArray,
    rid_r: _IntArray,
    scored: pl.DataFrame,
    n_false: int,
) -> pl.Series:
    """The cause of every pair: the first ``n_false`` are false links, the rest missed."""
    from c360.blocking import is_candidate, rule_keys

    n = ids.height
    codes = _pair_codes(rid_l, rid_r, n)
    linked = np.isin(codes, _pair_codes(*_rids(resolution.links, ids), n))
    refused = np.isin(codes, _pair_codes(*_rids(resolution.refused_links, ids), n))
    known = (rid_l >= 0) & (rid_r >= 0)
    false = np.arange(codes.shape[0]) < n_false
    candidate = np.ones(codes.shape[0], dtype=bool)
    blocking = resolution.config.blocking
    ask = known & ~false
    if blocking is not None and ask.any():
        keys = rule_keys(matching, blocking)
        candidate[ask] = is_candidate(matching, blocking, rid_l[ask], rid_r[ask], keys=keys)
    prob = scored["match_probability"].fill_null(np.nan).to_numpy()
    below = prob < resolution.config.cluster.threshold
    direct, chain = FALSE_CAUSES
    unresolved, guard, no_candidate, low = MISSED_CAUSES
    cause = np.select(
        [false & linked & ~refused, false, ~known, linked | refused, ~candidate, below],
        [direct, chain, unresolved, guard, no_candidate, low],
        default=guard,
    )
    return pl.Series("cause", cause, dtype=pl.String)
