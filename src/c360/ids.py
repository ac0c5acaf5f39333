"""Customer IDs: opaque, deterministic, and stable across runs.

A new customer's ID is derived from its *anchor*, the smallest ``(source,
record_id)`` among its records, hashed with BLAKE2b: the same records give the
same ID on any machine and in any row order.

Given the previous run's ``unified_ids``, IDs carry over
([`assign_stable_ids`][assign_stable_ids]):

* a customer whose records are unchanged, or who gained or lost records,
  keeps its ID;
* when customers merge, the ID with the most history (most records in the
  previous run) survives; the others are recorded as ``merged_into`` it;
* when a customer splits, the part holding most of its previous records
  keeps the ID; the other parts get new IDs recorded as ``split_from`` it;
* a previous customer none of whose records remain is ``retired``;
* a customer with no previous records is ``new``.

Formally, every (current cluster, previous ID) pair is scored by the number
of records they share; pairs are taken greedily by that overlap, then by the
previous customer's size, then by ID, and each previous ID goes to at most one
cluster. A cluster identical to a previous customer therefore always keeps
its ID: no other cluster shares any of its records.

Examples:
    >>> customer_id_for("crm", "42")
    'C-ae663e7ab7cf5279'
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "CHANGE_KINDS",
    "ID_CHANGES_SCHEMA",
    "ChangeKind",
    "Claims",
    "assign_customer_ids",
    "assign_stable_ids",
    "claim_previous_ids",
    "customer_id_for",
    "fresh_id",
    "id_change",
]

PREFIX = "C-"


def id_change(
    customer_id: str, change: ChangeKind, other: str | None = None, run_id: str | None = None
) -> dict[str, str | None]:
    """One ``id_changes`` row (``run_id`` left out when not given).

    Examples:
        >>> id_change("C-1", "merged_into", "C-2")
        {'customer_id': 'C-1', 'change': 'merged_into', 'other_customer_id': 'C-2'}
    """
    row: dict[str, str | None] = {
        "customer_id": customer_id,
        "change": change,
        "other_customer_id": other,
    }
    if run_id is not None:
        row["run_id"] = run_id
    return row


#: How a customer ID changed against the previous run: the ``change`` column of ``id_changes``.
ChangeKind = Literal["new", "merged_into", "split_from", "retired"]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)

#: Columns of the public ``id_changes`` table.
ID_CHANGES_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "change": pl.String(),  # one of CHANGE_KINDS
    "other_customer_id": pl.String(),
    "run_id": pl.String(),
}


def customer_id_for(source: str, record_id: str, salt: int = 0) -> str:
    """The ID a new customer anchored on ``(source, record_id)`` gets.

    ``salt`` is only non-zero when the plain ID is already taken by another
    customer of an earlier run.
    """
    key = f"{source}\x1f{record_id}" + (f"\x1f{salt}" if salt else "")
    return PREFIX + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def _anchors(records: pl.DataFrame, labels: npt.NDArray[np.int64]) -> pl.DataFrame:
    """Per cluster label: its anchor (smallest source, record_id) and size."""
    frame = records.select("source", "record_id").with_columns(_c=pl.Series(labels))
    return (
        frame.sort("source", "record_id")
        .group_by("_c", maintain_order=True)
        .agg(pl.col("source").first(), pl.col("record_id").first(), pl.len().alias("size"))
    )


@dataclass(slots=True)
class Claims:
    """Which previous customer ID each cluster keeps (see ``claim_previous_ids``).

    Attributes:
        chosen: cluster → the previous ID it keeps.
        split_of: cluster that keeps no ID but holds records of an ID kept by
            another cluster → that ID (the cluster is ``split_from`` it).
        merged: previous IDs kept by no cluster whose records are now in a
            cluster that kept another ID → that ID (``merged_into``; ``None``
            if the cluster holding most of them kept none).
        retired: previous IDs none of whose records remain.
    """

    chosen: dict[int, str] = field(default_factory=dict)
    split_of: dict[int, str] = field(default_factory=dict)
    merged: dict[str, str | None] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)

    def changes(self) -> list[dict[str, str | None]]:
        """``id_changes`` rows for the merged and retired IDs, by ID."""
        rows = [id_change(pid, "merged_into", into) for pid, into in sorted(self.merged.items())]
        return rows + [id_change(pid, "retired") for pid in sorted(self.retired)]

    def fresh_change(self, cluster: int, new: str) -> dict[str, str | None]:
        """The ``id_changes`` row of a cluster that got the new ID ``new``."""
        if cluster in self.split_of:
            return id_change(new, "split_from", self.split_of[cluster])
        return id_change(new, "new")


def claim_previous_ids(
    overlap: Iterable[tuple[int, str, int, int]],
    *,
    previous: Iterable[str] = (),
    kept: Iterable[str] = (),
) -> Claims:
    """The ID rules of every run, full or incremental, over one overlap table.

    Args:
        overlap: rows ``(cluster, previous ID, records they share, size of
            the previous customer)`` with ``shared > 0``, in claim order: most
            shared records first, then the larger previous customer, then
            the smaller ID, then the smaller cluster.
        previous: every previous ID in play: those with no row are retired.
        kept: previous IDs already kept by records outside these clusters
            (an incremental batch never takes an ID from a customer's
            records it did not touch).

    Each row is taken in order when neither its cluster nor its ID is taken
    yet: a cluster identical to a previous customer always keeps its ID.

    Examples:
        >>> rows = [(0, "X", 3, 3), (1, "X", 1, 3), (0, "Y", 1, 1)]
        >>> c = claim_previous_ids(rows, previous=["X", "Y", "Z"])
        >>> c.chosen, c.split_of, c.merged, c.retired
        ({0: 'X'}, {1: 'X'}, {'Y': 'X'}, ['Z'])
    """
    claims = Claims()
    used = set(kept)
    holder: dict[str, int] = {}
    rows = list(overlap)
    for c, pid, _shared, _size in rows:
        holder.setdefault(pid, c)
        if c in claims.chosen or pid in used:
            continue
        claims.chosen[c] = pid
        used.add(pid)
    # clusters left without an ID that hold records of an ID kept elsewhere: split parts
    for c, pid, _shared, _size in rows:
        if c not in claims.chosen and c not in claims.split_of and pid in used:
            claims.split_of[c] = pid
    # IDs not kept: merged into the cluster holding most of their records
    # (which always kept an ID: it would have claimed this one otherwise), or retired
    for pid in sorted(set(previous) | set(holder)):
        if pid in used:
            continue
        if pid in holder:
            claims.merged[pid] = claims.chosen.get(holder[pid])
        else:
            claims.retired.append(pid)
    return claims


def fresh_id(source: str, record_id: str, taken: Container[str]) -> str:
    """A new customer's ID anchored on ``(source, record_id)``, salted past the IDs ``taken``.

    Examples:
        >>> fresh_id("crm", "42", {customer_id_for("crm", "42")}) == customer_id_for("crm", "42", 1)
        True
    """
    salt = 0
    new = customer_id_for(source, record_id)
    while new in taken:
        salt += 1
        new = customer_id_for(source, record_id, salt)
    return new


def fresh_ids(sources: list[str], record_ids: list[str], taken: set[str]) -> list[str]:
    """[`fresh_id`][fresh_id] of each anchor in turn, each ID taken once given (``taken`` grows).

    Hashed in one pass; only when two IDs collide (a chance of about
    ``n**2 / 2**65``) or one is taken already are they salted one by one,
    as in turn.

    Examples:
        >>> taken = {customer_id_for("crm", "1")}
        >>> fresh_ids(["crm", "crm"], ["1", "2"], taken) == [
        ...     customer_id_for("crm", "1", 1), customer_id_for("crm", "2")]
        True
    """
    ids = [customer_id_for(s, r) for s, r in zip(sources, record_ids, strict=True)]
    if len(set(ids)) == len(ids) and taken.isdisjoint(ids):
        taken.update(ids)
        return ids
    out = []
    for s, r in zip(sources, record_ids, strict=True):
        out.append(fresh_id(s, r, taken))
        taken.add(out[-1])
    return out


def assign_customer_ids(records: pl.DataFrame, labels: npt.NDArray[np.int64]) -> pl.Series:
    """One customer ID per record from cluster labels, with no previous run.

    Args:
        records: frame with ``source`` and ``record_id``; row ``i`` has label ``labels[i]``.
        labels: cluster label per record.

    Returns:
        A String series ``customer_id`` aligned with ``records``.
    """
    ids, _ = assign_stable_ids(records, labels, None)
    return ids


def assign_stable_ids(
    records: pl.DataFrame,
    labels: npt.NDArray[np.int64],
    previous: pl.DataFrame | None,
    *,
    run_id: str = "",
) -> tuple[pl.Series, pl.DataFrame]:
    """Customer IDs that carry over from a previous run, and the changes.

    Args:
        records: ``source``, ``record_id`` of every current record (row ``i``
            has cluster ``labels[i]``).
        labels: cluster label per record.
        previous: the previous run's ``unified_ids`` (``source, record_id,
            customer_id``), or ``None``.
        run_id: written into every ``id_changes`` row.

    Returns:
        The ``customer_id`` series aligned with ``records``, and the
        ``id_changes`` table (see ``ID_CHANGES_SCHEMA``).

    Examples:
        >>> recs = pl.DataFrame({"source": ["a"] * 3, "record_id": ["1", "2", "3"]})
        >>> prev = recs.with_columns(customer_id=pl.Series(["X", "X", "Y"]))
        >>> ids, changes = assign_stable_ids(recs, np.array([0, 0, 0]), prev, run_id="r2")
        >>> ids.to_list(), changes.select("customer_id", "change", "other_customer_id").row(0)
        (['X', 'X', 'X'], ('Y', 'merged_into', 'X'))
    """
    anchors = _anchors(records, labels)
    taken: set[str] = set()
    claims = Claims()
    if previous is not None and previous.height:
        prev = previous.select("source", "record_id", pl.col("customer_id").cast(pl.String))
        taken = set(prev["customer_id"].unique().to_list())
        prev_size = prev.group_by("customer_id").len("prev_size")
        cur = records.select("source", "record_id").with_columns(_c=pl.Series(labels))
        overlap = (
            cur.join(prev, on=["source", "record_id"], how="inner")
            .group_by("_c", "customer_id")
            .len("shared")
            .join(prev_size, on="customer_id")
            .select("_c", "customer_id", "shared", "prev_size")
            .sort(
                ["shared", "prev_size", "customer_id", "_c"], descending=[True, True, False, False]
            )
        )
        claims = claim_previous_ids(overlap.iter_rows(), previous=taken)
    changes = claims.changes()
    clusters = anchors.get_column("_c").to_list()
    customer: list[str | None] = [claims.chosen.get(c) for c in clusters]
    new = [i for i, kept in enumerate(customer) if kept is None]
    sources, record_ids = anchors.get_column("source"), anchors.get_column("record_id")
    fresh = fresh_ids(sources.gather(new).to_list(), record_ids.gather(new).to_list(), taken)
    for i, cid in zip(new, fresh, strict=True):
        customer[i] = cid
        if previous is not None:
            changes.append(claims.fresh_change(clusters[i], cid))
    label_ids = pl.DataFrame(
        {"_c": clusters, "customer_id": customer},
        schema={"_c": pl.Int64, "customer_id": pl.String},
    )
    series = pl.DataFrame({"_c": labels.astype(np.int64)}).join(
        label_ids, on="_c", how="left", maintain_order="left"
    )["customer_id"]
    change_frame = pl.DataFrame(
        [{**ch, "run_id": run_id} for ch in changes], schema=ID_CHANGES_SCHEMA
    ).sort("change", "customer_id")
    return series, change_frame
