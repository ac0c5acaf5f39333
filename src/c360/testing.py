"""Helpers for testing code that uses c360, in the manner of ``polars.testing``.

* [`assert_same_clusters`][assert_same_clusters]: two resolutions group the
  same records the same way (customer IDs may differ), with a message that
  shows what differs.
* [`assert_clusters_match_truth`][assert_clusters_match_truth]: a resolution
  recovers known people at least as well as a pairwise F1 floor.
* [`sample_people`][sample_people]: a small multi-source data set with known
  truth, generated (no download), the same for the same seed.

Examples:
    >>> import c360
    >>> from c360.testing import assert_same_clusters, sample_people
    >>> people = sample_people(50)
    >>> res = c360.resolve(people.records)
    >>> assert_same_clusters(res, c360.resolve(people.records.reverse()))
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from c360.datasets import Generated, generate_people
from c360.evaluate import _as_ids, compare_runs, pairwise_metrics

__all__ = ["assert_clusters_match_truth", "assert_same_clusters", "sample_people"]

_KEY = ["source", "record_id"]


def _ids(value: Any, cluster: str, name: str) -> pl.DataFrame:
    """``source, record_id, <cluster>`` from a Resolution, an Arrow table or a polars frame."""
    return _as_ids(getattr(value, "unified_ids", value), cluster, name).rename({"_c": cluster})


def assert_same_clusters(
    left: Any,
    right: Any,
    *,
    cluster: str = "customer_id",
    check_ids: bool = False,
    max_shown: int = 5,
) -> None:
    """Assert that two resolutions group the same records into the same customers.

    Only the grouping is compared unless ``check_ids``: a run that labels its
    customers differently but puts the same records together passes.

    Args:
        left: a [`Resolution`][c360.Resolution], or its ``unified_ids`` (Arrow
            or polars: ``source, record_id`` and the ``cluster`` column).
        right: the same, for the other run.
        cluster: the cluster column of both tables.
        check_ids: also require the same customer ID for every record.
        max_shown: records listed in the message per kind of difference.

    Raises:
        AssertionError: with the records present in one run only, the number
            of merges and splits, and some records whose group differs.
        ConfigError: a table lacks the columns, or lists a record twice.

    Examples:
        >>> import polars as pl
        >>> a = pl.DataFrame({"source": ["s"] * 3, "record_id": ["1", "2", "3"],
        ...                   "customer_id": ["x", "x", "y"]})
        >>> assert_same_clusters(a, a.with_columns(customer_id=pl.Series(["p", "p", "q"])))
        >>> split_and_merged = a.with_columns(customer_id=pl.Series(["p", "q", "q"]))
        >>> try:
        ...     assert_same_clusters(a, split_and_merged)
        ... except AssertionError as err:
        ...     print(err)
        the two resolutions group 3 of 3 records differently (1 merges, 1 splits): s:1, s:2, s:3
    """
    a = _ids(left, cluster, "left")
    b = _ids(right, cluster, "right")
    problems: list[str] = []
    only_a = a.join(b, on=_KEY, how="anti")
    only_b = b.join(a, on=_KEY, how="anti")
    for what, frame in (("left", only_a), ("right", only_b)):
        if frame.height:
            problems.append(
                f"{frame.height} records only in {what}: {_keys(frame.head(max_shown))}"
            )
    runs = compare_runs(a, b, cluster=cluster)
    if runs.changed_records:
        j = a.rename({cluster: "_a"}).join(b.rename({cluster: "_b"}), on=_KEY)
        changed = j.filter(
            (pl.len().over("_a", "_b") != pl.len().over("_a"))
            | (pl.len().over("_a", "_b") != pl.len().over("_b"))
        ).sort(_KEY)
        problems.append(
            f"the two resolutions group {runs.changed_records} of {runs.records} records "
            f"differently ({runs.merges} merges, {runs.splits} splits): "
            f"{_keys(changed.head(max_shown))}"
        )
    if check_ids and not problems:
        j = a.join(b, on=_KEY, suffix="_right")
        other = j.filter(pl.col(cluster) != pl.col(f"{cluster}_right")).sort(_KEY)
        if other.height:
            problems.append(
                f"{other.height} records carry other customer IDs: {_keys(other.head(max_shown))}"
            )
    if problems:
        raise AssertionError("; ".join(problems))


def assert_clusters_match_truth(
    resolution: Any,
    truth: Any,
    *,
    min_f1: float = 0.9,
    cluster: str = "customer_id",
    truth_cluster: str = "person_id",
) -> float:
    """Assert that a resolution recovers known people with pairwise F1 of at least ``min_f1``.

    Args:
        resolution: a [`Resolution`][c360.Resolution] or its ``unified_ids``.
        truth: ``source, record_id`` and the true person (``truth_cluster``),
            as [`sample_people`][sample_people] returns it in ``.truth``.
        min_f1: the floor.
        cluster: the cluster column of the resolution's table.
        truth_cluster: the person column of ``truth``.

    Returns:
        The pairwise F1, for a test to report or compare.

    Examples:
        >>> import c360
        >>> people = sample_people(50)
        >>> f1 = assert_clusters_match_truth(c360.resolve(people.records), people.truth)
    """
    pred = _ids(resolution, cluster, "resolution").rename({cluster: "cluster"})
    true = _ids(truth, truth_cluster, "truth").rename({truth_cluster: "cluster"})
    m = pairwise_metrics(pred, true)
    if m.f1 < min_f1:
        raise AssertionError(
            f"pairwise F1 {m.f1:.4f} is below {min_f1} "
            f"(precision {m.precision:.4f}, recall {m.recall:.4f})"
        )
    return m.f1


def sample_people(
    n_people: int = 200,
    *,
    seed: int = 0,
    profile: Literal["standard", "worst", "census"] = "standard",
) -> Generated:
    """A small multi-source data set with known truth, for tests.

    The records of ``n_people`` people as CRM, billing, marketing and support
    keep them (typos, nicknames, missing fields, shared households), with
    ``.records`` in canonical columns and ``.truth`` (``source, record_id,
    person_id``). Generated, not downloaded; the same seed gives the same
    frames. See [`generate_people`][c360.datasets.generate_people] for every knob.

    Examples:
        >>> people = sample_people(20, seed=1)
        >>> people.records.height == people.truth.height
        True
    """
    return generate_people(n_people, seed=seed, profile=profile)


def _keys(frame: pl.DataFrame) -> str:
    return ", ".join(f"{s}:{r}" for s, r in frame.select(_KEY).iter_rows())
