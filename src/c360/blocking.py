"""Blocking: which record pairs are worth comparing.

A blocking rule is a tuple of (derived) key columns; two records form a
candidate pair under a rule when all its keys are equal and non-null. The
candidate set is the union over rules, without duplicates: a pair found by rule
``k`` is dropped when an earlier rule already produced it, which is checked on
the pair itself, so no global de-duplication (and no pair set in memory) is
needed.

Pairs are counted per rule *before* any is generated (``sum(c * (c - 1) / 2)``
over key groups); a rule over the ceiling raises [`BlockingError`][c360.exceptions.BlockingError]
with the count. Generation streams chunks of at most ``chunk_pairs`` pairs on
integer record keys.

Examples:
    >>> import polars as pl
    >>> from c360.blocking import BlockingConfig, block_on, generate_pairs
    >>> recs = pl.DataFrame({
    ...     "source": ["a", "a", "b", "b"],
    ...     "last_name": ["lee", "lee", "lee", "kim"],
    ...     "postcode": ["1", "2", "1", "1"],
    ... })
    >>> cfg = BlockingConfig(rules=(block_on("last_name"), block_on("postcode")))
    >>> pairs = pl.concat(generate_pairs(recs, cfg))
    >>> sorted(zip(pairs["_rid_l"], pairs["_rid_r"]))
    [(0, 1), (0, 2), (0, 3), (1, 2), (2, 3)]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._encode import dense_numbers
from c360._progress import progress
from c360._typing import LinkType
from c360.exceptions import BlockingError, ConfigError

__all__ = [
    "BlockingConfig",
    "BlockingRule",
    "block_on",
    "check_ceiling",
    "count_pairs",
    "generate_pairs",
    "is_candidate",
    "rule_keys",
    "rule_pair_count",
    "skipped_blocks",
    "total_pairs",
]


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """Records pair up when all ``keys`` are equal and non-null.

    Examples:
        >>> block_on("last_name", "postcode").name
        'last_name+postcode'
    """

    keys: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError("a blocking rule needs at least one key column")
        if not self.name:
            object.__setattr__(self, "name", "+".join(self.keys))

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {"keys": list(self.keys), "name": self.name}


def block_on(*keys: str, name: str | None = None) -> BlockingRule:
    """A blocking rule on the given key columns.

    Examples:
        >>> block_on("email")
        BlockingRule(keys=('email',), name='email')
    """
    return BlockingRule(tuple(keys), name or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockingConfig:
    """How candidate pairs are generated.

    Attributes:
        rules: blocking rules; a pair qualifies if any rule matches it.
        link_type: ``dedupe_and_link`` (all pairs), ``link`` (only pairs from
            different sources) or ``dedupe`` (only pairs within a source).
        max_pairs_per_rule: ceiling; a rule that would produce more raises
            [`BlockingError`][BlockingError] before generating anything.
        max_block_size: key groups larger than this are skipped (and reported)
            rather than paired; ``None`` keeps every group.
        chunk_pairs: upper bound on pairs generated per chunk (memory bound).
    """

    rules: tuple[BlockingRule, ...]
    link_type: LinkType = "dedupe_and_link"
    max_pairs_per_rule: int = 250_000_000
    max_block_size: int | None = 5_000
    chunk_pairs: int = 4_000_000

    def __post_init__(self) -> None:
        if not self.rules:
            raise ConfigError("BlockingConfig needs at least one rule")
        if self.link_type not in ("dedupe", "link", "dedupe_and_link"):
            raise ConfigError(f"unknown link_type {self.link_type!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {
            "rules": [r.to_dict() for r in self.rules],
            "link_type": self.link_type,
            "max_pairs_per_rule": self.max_pairs_per_rule,
            "max_block_size": self.max_block_size,
            "chunk_pairs": self.chunk_pairs,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlockingConfig:
        """Inverse of [`to_dict`][to_dict]."""
        d = dict(data)
        rules = tuple(
            BlockingRule(tuple(r["keys"]), r.get("name", ""))
            if isinstance(r, Mapping)
            else BlockingRule(tuple(r))
            for r in d.pop("rules")
        )
        return cls(rules=rules, **d)


@dataclass(frozen=True, slots=True)
class _RuleKeys:
    """Per record: the rule's key group (-1 when a key is null) and group sizes."""

    group: npt.NDArray[np.int32]
    sizes: npt.NDArray[np.int64]
    skipped: pl.DataFrame = field(repr=False)


def _key_hash(keys: Sequence[str]) -> pl.Expr:
    """One 64-bit hash of the rule's key values per record; null when a key is null."""
    present = pl.all_horizontal(pl.col(k).is_not_null() for k in keys)
    return pl.when(present).then(pl.struct(list(keys)).hash())


def _key_groups(records: pl.DataFrame, keys: Sequence[str]) -> npt.NDArray[np.int32]:
    """Dense group number (0..g-1) of the rule's key per record; -1 when a key is null.

    Groups are numbered in the order of the hash of the key values (by
    [`dense_numbers`][c360._encode.dense_numbers], no sort of every record):
    the same numbers whatever the row order. Two different keys that hash alike
    (about 1 in 10^8 for a million keys) share a group; that only adds
    candidate pairs, which the comparisons then score.

    Examples:
        >>> recs = pl.DataFrame({"k": ["b", None, "a", "b"]})
        >>> g = _key_groups(recs, ["k"])
        >>> g[1], g[0] == g[3], sorted(set(g.tolist()))
        (np.int32(-1), np.True_, [-1, 0, 1])
    """
    _, groups = dense_numbers(records.select(_key_hash(keys).alias("h")).to_series())
    return groups.fill_null(-1).to_numpy()


def _rule_keys(records: pl.DataFrame, rule: BlockingRule, max_block_size: int | None) -> _RuleKeys:
    missing = [k for k in rule.keys if k not in records.columns]
    if missing:
        raise ConfigError(
            f"blocking rule {rule.name!r} uses columns not in the records: {missing}",
            column=missing[0],
            hint=f"available: {', '.join(records.columns)}",
        )
    keys = list(rule.keys)
    # int32: half the memory traffic of the gathers that drop pairs found by an
    # earlier rule (group numbers are dense, fewer than the records)
    group = _key_groups(records, keys)
    n_groups = int(group.max()) + 1 if group.size else 0
    sizes = np.bincount(group[group >= 0], minlength=n_groups).astype(np.int64)
    skipped = pl.DataFrame(schema={"rule": pl.String, "key": pl.String, "records": pl.Int64})
    if max_block_size is not None and (sizes > max_block_size).any():
        big = np.flatnonzero(sizes > max_block_size)
        first_row = np.full(n_groups, -1, dtype=np.int64)
        valid = np.flatnonzero(group >= 0)
        first_row[group[valid][::-1]] = valid[::-1]
        rows = first_row[big]
        shown = records[rows.tolist()].select(
            pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator="|").alias("key")
        )
        skipped = pl.DataFrame(
            {"rule": [rule.name] * big.size, "key": shown["key"], "records": sizes[big]}
        )
        drop = np.zeros(n_groups, dtype=bool)
        drop[big] = True
        group = np.where((group >= 0) & drop[np.maximum(group, 0)], -1, group)
        sizes = np.where(drop, 0, sizes)
    return _RuleKeys(group, sizes, skipped)


def _source_codes(records: pl.DataFrame) -> npt.NDArray[np.int64]:
    if "source" not in records.columns:
        return np.zeros(records.height, dtype=np.int64)
    return (
        records.get_column("source").cast(pl.String).rank("dense").cast(pl.Int64) - 1
    ).to_numpy()


def rule_keys(records: pl.DataFrame, config: BlockingConfig) -> list[_RuleKeys]:
    """Key groups of every rule, computed once and passed to the other functions.

    Examples:
        >>> recs = pl.DataFrame({"k": ["a", "a", "b"]})
        >>> sorted(rule_keys(recs, BlockingConfig(rules=(block_on("k"),)))[0].sizes.tolist())
        [1, 2]
    """
    return [_rule_keys(records, r, config.max_block_size) for r in config.rules]


def count_pairs(
    records: pl.DataFrame, config: BlockingConfig, *, keys: Sequence[_RuleKeys] | None = None
) -> pl.DataFrame:
    """Count the pairs each rule would produce, before generating any.

    The count for a rule is the number of pairs it finds on its own (pairs
    shared with earlier rules are counted again); ``link``/``dedupe`` link types
    are counted exactly.

    Returns:
        A frame with ``rule``, ``pairs``, ``largest_block`` and ``skipped_blocks``.

    Examples:
        >>> recs = pl.DataFrame({"source": ["a"] * 3, "city": ["x", "x", "x"]})
        >>> count_pairs(recs, BlockingConfig(rules=(block_on("city"),)))["pairs"].to_list()
        [3]
    """
    rows = []
    src = _source_codes(records)
    keys = keys if keys is not None else rule_keys(records, config)
    for rule, rk in zip(config.rules, keys, strict=True):
        total = int((rk.sizes * (rk.sizes - 1) // 2).sum())
        if config.link_type != "dedupe_and_link" and rk.sizes.size:
            valid = rk.group >= 0
            within = (
                pl.DataFrame({"g": rk.group[valid], "s": src[valid]})
                .group_by("g", "s")
                .len()
                .select((pl.col("len") * (pl.col("len") - 1) // 2).sum())
                .item()
            )
            within = int(within or 0)
            total = total - within if config.link_type == "link" else within
        rows.append(
            {
                "rule": rule.name,
                "pairs": total,
                "largest_block": int(rk.sizes.max()) if rk.sizes.size else 0,
                "skipped_blocks": rk.skipped.height,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "rule": pl.String,
            "pairs": pl.Int64,
            "largest_block": pl.Int64,
            "skipped_blocks": pl.Int64,
        },
    )


def rule_pair_count(
    records: pl.DataFrame,
    keys: Sequence[str],
    *,
    link_type: LinkType = "dedupe_and_link",
    max_block_size: int | None = None,
) -> int:
    """Pairs that ``block_on(*keys)`` would produce, from key frequencies alone.

    The same figure as [`count_pairs`][count_pairs] for a one-rule config, at a
    fraction of the cost (one hash and one group-by, no group numbering): this is
    what automatic configuration calls for every rule it considers.

    Examples:
        >>> recs = pl.DataFrame({"source": ["a", "a", "b"], "city": ["x", "x", "x"]})
        >>> rule_pair_count(recs, ["city"]), rule_pair_count(recs, ["city"], link_type="link")
        (3, 2)
    """
    by = ["h"] if link_type == "dedupe_and_link" else ["h", "source"]
    # without a source column every record is of one source (as in count_pairs)
    source = pl.col("source") if "source" in records.columns else pl.lit("")
    frame = records.select(
        _key_hash(keys).alias("h"), *([source.alias("source")] if len(by) == 2 else [])
    )
    counts = frame.drop_nulls("h").group_by(by).len()
    if max_block_size is not None:
        sizes = counts.group_by("h").agg(pl.col("len").sum().alias("size"))
        big = sizes.filter(pl.col("size") > max_block_size).select("h")
        counts = counts.join(big, on="h", how="anti")
    pairs = pl.col("len") * (pl.col("len") - 1) // 2
    if len(by) == 1:
        return int(counts.select(pairs.sum()).item() or 0)
    within = int(counts.select(pairs.sum()).item() or 0)
    if link_type == "dedupe":
        return within
    per_key = counts.group_by("h").agg(pl.col("len").sum())
    total = int(per_key.select(pairs.sum()).item() or 0)
    return total - within


def skipped_blocks(
    records: pl.DataFrame, config: BlockingConfig, *, keys: Sequence[_RuleKeys] | None = None
) -> pl.DataFrame:
    """Key groups larger than ``max_block_size``, which blocking skips (rule, key, records)."""
    keys = keys if keys is not None else rule_keys(records, config)
    return pl.concat([k.skipped for k in keys])


def is_candidate(
    records: pl.DataFrame,
    config: BlockingConfig,
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    *,
    keys: Sequence[_RuleKeys] | None = None,
) -> npt.NDArray[np.bool_]:
    """Whether each pair ``(left[i], right[i])`` is a candidate under ``config``.

    Examples:
        >>> recs = pl.DataFrame({"k": ["a", "a", "b"]})
        >>> cfg = BlockingConfig(rules=(block_on("k"),))
        >>> is_candidate(recs, cfg, np.array([0, 0]), np.array([1, 2])).tolist()
        [True, False]
    """
    out = np.zeros(left.shape[0], dtype=bool)
    for rk in keys if keys is not None else rule_keys(records, config):
        gl = rk.group[left]
        out |= (gl >= 0) & (gl == rk.group[right])
    src = _source_codes(records)
    if config.link_type == "link":
        out &= src[left] != src[right]
    elif config.link_type == "dedupe":
        out &= src[left] == src[right]
    result: npt.NDArray[np.bool_] = out & (left != right)
    return result


def total_pairs(records: pl.DataFrame, link_type: LinkType) -> int:
    """Number of record pairs in the comparison space (before blocking).

    Examples:
        >>> total_pairs(pl.DataFrame({"source": ["a", "a", "b"]}), "link")
        2
    """
    n = records.height
    every = n * (n - 1) // 2
    if link_type == "dedupe_and_link":
        return every
    sizes = np.bincount(_source_codes(records)).astype(np.int64) if n else np.zeros(0, np.int64)
    within = int((sizes * (sizes - 1) // 2).sum())
    return within if link_type == "dedupe" else every - within


def _pairs_in_groups(
    order: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All pairs (i < j by position) inside each group, vectorised.

    ``order`` lists record keys sorted by group; group ``g`` occupies
    ``order[starts[g] : starts[g] + sizes[g]]``.
    """
    per = sizes * (sizes - 1) // 2
    total = int(per.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    # for each record position p inside a group of size c at offset i, it pairs with
    # the c - i - 1 records after it.
    c = np.repeat(sizes, sizes)
    base = np.repeat(starts, sizes)
    pos = np.arange(c.size, dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    after = c - pos - 1
    left_pos = np.repeat(base + pos, after)
    # offset of each pair inside its run of partners
    run_start = np.repeat(np.cumsum(after) - after, after)
    k = np.arange(total, dtype=np.int64) - run_start
    right_pos = left_pos + 1 + k
    return order[left_pos], order[right_pos]


def generate_pairs(
    records: pl.DataFrame,
    config: BlockingConfig,
    *,
    progress_enabled: bool | None = None,
    keys: Sequence[_RuleKeys] | None = None,
    counts: pl.DataFrame | None = None,
) -> Iterator[pl.DataFrame]:
    """Generate candidate pairs in chunks.

    Args:
        records: matching frame, row ``i`` being record ``_rid == i``.
        config: the blocking rules and limits.
        progress_enabled: show a progress bar (default: as the caller set up).
        keys: the rules' key groups from [`rule_keys`][rule_keys], if already computed.
        counts: [`count_pairs`][count_pairs] of these keys, if already computed.

    Yields:
        Frames with ``_rid_l < _rid_r`` (Int64) and ``_rule`` (Int16, index of
        the first rule that found the pair), each with at most about
        ``config.chunk_pairs`` rows.

    Raises:
        BlockingError: a rule would exceed ``max_pairs_per_rule``.
    """
    keys = keys if keys is not None else rule_keys(records, config)
    counts = count_pairs(records, config, keys=keys) if counts is None else counts
    check_ceiling(counts, config)
    src = _source_codes(records)
    total = int(counts["pairs"].sum())
    with progress("Generating pairs", total=total, enabled=progress_enabled) as bar:
        for ri, rk in enumerate(keys):
            yield from _rule_chunks(ri, rk, keys[:ri], src, config, bar)


def check_ceiling(counts: pl.DataFrame, config: BlockingConfig) -> None:
    """Raise [`BlockingError`][BlockingError] for the first rule of ``counts`` over the ceiling.

    ``counts`` is [`count_pairs`][count_pairs]' table (or the Spark engine's,
    with the same columns): the check runs before any pair is generated.

    Examples:
        >>> cfg = BlockingConfig(rules=(block_on("k"),), max_pairs_per_rule=2)
        >>> counts = count_pairs(pl.DataFrame({"k": ["a"] * 3}), cfg)
        >>> check_ceiling(counts, cfg)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        c360.exceptions.BlockingError: blocking rule 'k' would generate 3 pairs, over ...
    """
    for row in counts.iter_rows(named=True):
        if row["pairs"] > config.max_pairs_per_rule:
            raise BlockingError(
                f"blocking rule {row['rule']!r} would generate {row['pairs']:,} pairs, over the "
                f"ceiling of {config.max_pairs_per_rule:,} (largest block: "
                f"{row['largest_block']:,} records)",
                hint="add a key to the rule, or raise BlockingConfig.max_pairs_per_rule",
            )


def _rule_chunks(
    ri: int,
    rk: _RuleKeys,
    earlier: Sequence[_RuleKeys],
    src: npt.NDArray[np.int64],
    config: BlockingConfig,
    bar: Any,
) -> Iterator[pl.DataFrame]:
    valid = np.flatnonzero(rk.group >= 0)
    if valid.size == 0:
        return
    order = valid[np.argsort(rk.group[valid], kind="stable")]
    n_groups = rk.sizes.size
    starts = np.cumsum(rk.sizes) - rk.sizes
    per = rk.sizes * (rk.sizes - 1) // 2
    # cut the groups into chunks of about chunk_pairs pairs
    cum = np.cumsum(per)
    bounds = np.searchsorted(
        cum, np.arange(config.chunk_pairs, int(cum[-1]) + 1, config.chunk_pairs)
    )
    cuts = np.unique(np.concatenate([[0], bounds + 1, [n_groups]]))
    for a, b in itertools.pairwise(cuts):
        sl = slice(int(a), int(b))
        left, right = _pairs_in_groups(order, starts[sl], rk.sizes[sl])
        bar.advance(left.size)
        if left.size == 0:
            continue
        lo = np.minimum(left, right)
        hi = np.maximum(left, right)
        keep = np.ones(lo.size, dtype=bool)
        if config.link_type == "link":
            keep &= src[lo] != src[hi]
        elif config.link_type == "dedupe":
            keep &= src[lo] == src[hi]
        for prev in earlier:
            gl = prev.group[lo]
            keep &= ~((gl >= 0) & (gl == prev.group[hi]))
        if not keep.all():
            lo, hi = lo[keep], hi[keep]
        if lo.size:
            yield pl.DataFrame(
                {
                    "_rid_l": lo,
                    "_rid_r": hi,
                    "_rule": np.full(lo.size, ri, dtype=np.int16),
                }
            )
