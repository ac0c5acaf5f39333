"""Blocking on Spark: the candidate pairs of [`c360.blocking`][c360.blocking], as a DataFrame.

The input is the matching frame as a Spark DataFrame: an integer ``_rid``
(unique), a ``source`` column (optional: without it every record is of one
source) and the rules' key columns (strings, dates, integers). The semantics
are those of the local engine:

* a record pairs with another under a rule when all the rule's key values are
  equal; a record with a null key value is in no block of that rule;
* a key group (block) with more than ``max_block_size`` records is skipped and
  reported ([`skipped_blocks`][c360.spark._blocking.skipped_blocks]);
* ``link_type`` ``link`` keeps only pairs from different sources, ``dedupe``
  only pairs within a source;
* a pair is ``_rid_l < _rid_r`` and appears once, however many rules find it:
  rule ``k`` drops a pair that an earlier rule also finds (both records in the
  same kept block of that rule), checked on the pair itself, so the pairs are
  never shuffled again to remove duplicates.

Counts first. [`candidate_pairs`][c360.spark._blocking.candidate_pairs] first
runs [`count_pairs`][c360.spark._blocking.count_pairs], which computes every
rule's pair count from key frequencies (``sum(c * (c - 1) / 2)`` over the key
groups; for ``link`` and ``dedupe`` also over key and source groups) and
collects one row per rule. A rule over ``max_pairs_per_rule`` raises
[`BlockingError`][c360.exceptions.BlockingError] before any join is planned:
a careless rule (a key that is mostly one value) would otherwise start a join
whose output grows with the square of its largest block. The counts also tell
which rules find no pair (left out of the join) and which have a skipped block
(the only ones that need the skipping step below).

The counting and pairing stages read the records once and expand them
(``explode``) into one row per record and rule whose key the record has,
tagged with the rule's index ``_i``, so that all rules share one shuffle
instead of having one each. Per stage:

* Counting: a group-by on ``_i`` and the key columns (the columns of other
  rules set to null), a shuffle of partial counts, not of records; for
  ``link``/``dedupe`` first a group-by on key and source, then on the key. The
  per-rule sums are a last, tiny aggregation.
* Skipping (only for the rules with a skipped block): per such rule, a
  group-by on its key columns (again a shuffle of partial counts), filtered to
  the groups over the limit, broadcast and left-joined to the records to flag
  the records of skipped blocks (no shuffle of records; the big groups are
  few, at most ``records / max_block_size``).
* Pairing: one self equi-join of the expanded records on ``_i`` and
  ``_h = xxhash64(the rule's key values)``: one shuffle of (record, rule) rows
  by hash, normally sort-merge joined (both sides are the same plan, so the
  exchange is reused). The join condition then compares the rule's key values themselves,
  so that a hash collision adds no pair, and applies ``_rid_l < _rid_r``, the
  ``link_type`` condition on the sources and the earlier-rule exclusion.

Grouping and joining are on the key values, so two different keys never share
a block (the local engine groups on a 64-bit hash of the key and lets two keys
that hash alike share one, about 1 in 10^8 for a million keys; should that
happen, the local engine has a few more pairs). The records are read once for
the counts, once per rule with a skipped block and once for the pairs: cache or
persist them when they come from an expensive plan. Nothing is collected to the
driver except small tables: one row per rule, and the skipped groups.

Examples:
    >>> from c360.blocking import BlockingConfig, block_on
    >>> from c360.spark import session
    >>> recs = session().createDataFrame(
    ...     [(0, "a", "lee", "1"), (1, "a", "lee", "2"), (2, "b", "lee", "1"),
    ...      (3, "b", "kim", "1")],
    ...     "_rid long, source string, last_name string, postcode string",
    ... )
    >>> cfg = BlockingConfig(rules=(block_on("last_name"), block_on("postcode")))
    >>> sorted(tuple(r) for r in candidate_pairs(recs, cfg).collect())
    [(0, 1), (0, 2), (0, 3), (1, 2), (2, 3)]
    >>> count_pairs(recs, cfg)["pairs"].to_list()
    [3, 3]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import polars as pl
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from c360.blocking import BlockingConfig, check_ceiling
from c360.exceptions import ConfigError
from c360.spark._columns import quoted

__all__ = ["candidate_pairs", "count_pairs", "skipped_blocks"]

_RID = "_rid"
_SRC = "_src"

_COUNT_SCHEMA = {
    "rule": pl.String,
    "pairs": pl.Int64,
    "largest_block": pl.Int64,
    "skipped_blocks": pl.Int64,
}
_SKIPPED_SCHEMA = {"rule": pl.String, "key": pl.String, "records": pl.Int64}


def _check_columns(records: DataFrame, config: BlockingConfig) -> None:
    """Raise [`ConfigError`][c360.exceptions.ConfigError] for a rule on a missing column."""
    if _RID not in records.columns:
        raise ConfigError("the records need a _rid column", column=_RID)
    for rule in config.rules:
        missing = [k for k in rule.keys if k not in records.columns]
        if missing:
            raise ConfigError(
                f"blocking rule {rule.name!r} uses columns not in the records: {missing}",
                column=missing[0],
                hint=f"available: {', '.join(records.columns)}",
            )


def _key_columns(config: BlockingConfig) -> list[str]:
    """Every rule's key columns, each once, in rule order."""
    return list(dict.fromkeys(k for r in config.rules for k in r.keys))


def _source(records: DataFrame) -> Column:
    """The source column, or one constant source when the records have none."""
    return sf.col("source") if "source" in records.columns else sf.lit("")


def _all(conditions: Sequence[Column]) -> Column:
    """The conjunction of the conditions."""
    return functools.reduce(lambda a, b: a & b, conditions)


def _present(keys: Sequence[str]) -> Column:
    """True when every key column is non-null."""
    return _all([sf.col(k).isNotNull() for k in keys])


def _half_pairs(count: Column) -> Column:
    """``c * (c - 1) / 2`` in exact long arithmetic."""
    return sf.shiftright(count * (count - 1), 1)


def _rule_keys(records: DataFrame, config: BlockingConfig) -> DataFrame:
    """One row per record and rule whose key is present: ``_src``, ``_i`` and the key columns.

    In a rule's rows the key columns of other rules are null, so that a
    group-by on ``_i`` and all key columns groups each rule on its own keys,
    by value (with Spark's equality, as a join would).
    """
    columns = _key_columns(config)
    types = {f.name: f.dataType.simpleString() for f in records.schema.fields}
    # each rule's entry is one SQL expression: built from Column calls it would be
    # several py4j round trips per rule and column (seconds for the rule pool)
    entries = [
        sf.expr(
            f"CASE WHEN {' AND '.join(f'{quoted(k)} IS NOT NULL' for k in rule.keys)} "
            f"THEN struct({i} AS _i, "
            + ", ".join(
                (quoted(c) if c in rule.keys else f"CAST(NULL AS {types[c]})") + f" AS {quoted(c)}"
                for c in columns
            )
            + ") END"
        )
        for i, rule in enumerate(config.rules)
    ]
    return (
        records.select(_source(records).alias(_SRC), sf.explode(sf.array(*entries)).alias("_e"))
        .where(sf.col("_e").isNotNull())
        .selectExpr(_SRC, *[f"_e.{quoted(c)} AS {quoted(c)}" for c in ["_i", *columns]])
    )


def _block_sizes(records: DataFrame, config: BlockingConfig) -> DataFrame:
    """Every rule's key groups: ``_i``, the key columns and ``_n`` (records in the group)."""
    return (
        _rule_keys(records, config)
        .groupBy("_i", *_key_columns(config))
        .agg(sf.count(sf.lit(1)).alias("_n"))
    )


def count_pairs(records: DataFrame, config: BlockingConfig) -> pl.DataFrame:
    """Count the pairs each rule would produce, from key frequencies, before generating any.

    The same figures as the local [`c360.blocking.count_pairs`][c360.blocking.count_pairs]:
    a rule's pairs on its own (pairs shared with earlier rules are counted
    again), exact for every ``link_type``; blocks over ``max_block_size`` are
    neither counted nor in ``largest_block``. One Spark query for all rules
    (one shuffle of partial counts, two for ``link``/``dedupe``, then a tiny
    one); only one row per rule reaches the driver.

    Args:
        records: the matching frame (``_rid``, ``source``, key columns).
        config: the blocking rules and limits.

    Returns:
        A polars frame with ``rule``, ``pairs``, ``largest_block`` and
        ``skipped_blocks``, one row per rule in the config's order.

    Raises:
        ConfigError: a rule names a column that the records lack.
    """
    _check_columns(records, config)
    by = ["_i", *_key_columns(config)]
    n, m, w = sf.col("_n"), sf.col("_m"), sf.col("_w")
    if config.link_type == "dedupe_and_link":
        blocks = _block_sizes(records, config).select("_i", "_n", _half_pairs(n).alias("_p"))
    else:
        by_source = (
            _rule_keys(records, config).groupBy(*by, _SRC).agg(sf.count(sf.lit(1)).alias("_m"))
        )
        blocks = by_source.groupBy(*by).agg(
            sf.sum(m).alias("_n"), sf.sum(_half_pairs(m)).alias("_w")
        )
        pairs = w if config.link_type == "dedupe" else _half_pairs(n) - w
        blocks = blocks.select("_i", "_n", pairs.alias("_p"))
    kept = sf.lit(True) if config.max_block_size is None else n <= config.max_block_size
    summary = blocks.groupBy("_i").agg(
        sf.sum(sf.when(kept, sf.col("_p"))).alias("pairs"),
        sf.max(sf.when(kept, n)).alias("largest_block"),
        sf.count(sf.when(~kept, sf.lit(1))).alias("skipped_blocks"),
    )
    found = {r["_i"]: r for r in summary.collect()}
    rows = []
    for i, rule in enumerate(config.rules):
        r = found.get(i)
        rows.append(
            {
                "rule": rule.name,
                "pairs": int(r["pairs"] or 0) if r else 0,
                "largest_block": int(r["largest_block"] or 0) if r else 0,
                "skipped_blocks": int(r["skipped_blocks"]) if r else 0,
            }
        )
    return pl.DataFrame(rows, schema=_COUNT_SCHEMA)


def _big_blocks(records: DataFrame, config: BlockingConfig) -> DataFrame:
    """The key groups over ``max_block_size`` (``_i``, key columns, ``_n``); none without one."""
    sizes = _block_sizes(records, config)
    limit = config.max_block_size
    return sizes.where(sf.lit(False) if limit is None else sf.col("_n") > limit)


def skipped_blocks(records: DataFrame, config: BlockingConfig) -> pl.DataFrame:
    """Key groups larger than ``max_block_size``, which blocking skips.

    Like the local [`c360.blocking.skipped_blocks`][c360.blocking.skipped_blocks]:
    the key is shown as the rule's key values cast to strings and joined with
    ``"|"``. Rows are in rule order, then by key.

    Returns:
        A polars frame with ``rule``, ``key`` and ``records``.

    Raises:
        ConfigError: a rule names a column that the records lack.
    """
    _check_columns(records, config)
    if config.max_block_size is None:
        return pl.DataFrame(schema=_SKIPPED_SCHEMA)
    shown: Column | None = None
    for i, rule in enumerate(config.rules):
        text = sf.concat_ws("|", *[sf.col(k).cast("string") for k in rule.keys])
        cond = sf.col("_i") == i
        shown = sf.when(cond, text) if shown is None else shown.when(cond, text)
    assert shown is not None  # config.rules is never empty
    big = _big_blocks(records, config).select("_i", shown.alias("key"), "_n").collect()
    rows = sorted((r["_i"], r["key"], r["_n"]) for r in big)
    return pl.DataFrame(
        [{"rule": config.rules[i].name, "key": key, "records": n} for i, key, n in rows],
        schema=_SKIPPED_SCHEMA,
    )


def _flagged(records: DataFrame, config: BlockingConfig, skipping: Sequence[int]) -> DataFrame:
    """``_rid`` (long), ``_src``, the key columns and ``_in{j}`` for every rule.

    ``_in{j}`` is true when the record is in a kept block of rule ``j``: all its
    key values non-null and the block not over ``max_block_size``. Only the
    rules in ``skipping`` (those with a skipped block, as counted) need the
    broadcast join that flags the records of their big blocks.
    """
    columns = _key_columns(config)
    out = records.select(
        sf.col(_RID).cast("long").alias(_RID), _source(records).alias(_SRC), *columns
    )
    for j, rule in enumerate(config.rules):
        keys = list(rule.keys)
        flag = _present(keys)
        if config.max_block_size is not None and j in skipping:
            mine = (
                records.where(flag)
                .groupBy(*keys)
                .agg(sf.count(sf.lit(1)).alias("_n"))
                .where(sf.col("_n") > config.max_block_size)
                .select(*keys, sf.lit(True).alias(f"_big{j}"))
            )
            out = out.join(sf.broadcast(mine), on=keys, how="left")
            flag = flag & sf.col(f"_big{j}").isNull()
        out = out.withColumn(f"_in{j}", sf.coalesce(flag, sf.lit(False)))
    return out.select(_RID, _SRC, *columns, *[f"_in{j}" for j in range(len(config.rules))])


def _pairs(flagged: DataFrame, config: BlockingConfig, active: Sequence[int]) -> DataFrame:
    """The pairs of the ``active`` rules, each once: ``_rid_l``, ``_rid_r``.

    One row per record and active rule in a kept block (``_i``, ``_h`` the
    hash of the rule's key values); one self-join on ``_i`` and ``_h``.
    """
    entries = [
        sf.when(
            sf.col(f"_in{k}"),
            sf.struct(sf.lit(k).alias("_i"), sf.xxhash64(*config.rules[k].keys).alias("_h")),
        )
        for k in active
    ]
    side = (
        flagged.withColumn("_e", sf.explode(sf.array(*entries)))
        .where(sf.col("_e").isNotNull())
        .withColumn("_i", sf.col("_e").getField("_i"))
        .withColumn("_h", sf.col("_e").getField("_h"))
        .drop("_e")
    )

    def left(c: str) -> Column:
        return sf.col(f"l.{c}")

    def right(c: str) -> Column:
        return sf.col(f"r.{c}")

    def same(keys: Sequence[str]) -> Column:
        return _all([left(c) == right(c) for c in keys])

    # the rule's key values themselves: a hash collision adds no pair
    values: Column | None = None
    for k in active:
        cond, eq = left("_i") == k, same(config.rules[k].keys)
        values = sf.when(cond, eq) if values is None else values.when(cond, eq)
    assert values is not None  # active is never empty
    condition = [
        left("_i") == right("_i"),
        left("_h") == right("_h"),
        left(_RID) < right(_RID),
        sf.coalesce(values, sf.lit(False)),
    ]
    same_source = left(_SRC).eqNullSafe(right(_SRC))
    if config.link_type == "link":
        condition.append(~same_source)
    elif config.link_type == "dedupe":
        condition.append(same_source)
    # a pair that an earlier rule also finds belongs to that rule
    for j in active[:-1]:
        found = left(f"_in{j}") & right(f"_in{j}") & same(config.rules[j].keys)
        condition.append(~((left("_i") > j) & sf.coalesce(found, sf.lit(False))))
    return (
        side.alias("l")
        .join(side.alias("r"), on=_all(condition), how="inner")
        .select(left(_RID).alias("_rid_l"), right(_RID).alias("_rid_r"))
    )


def candidate_pairs(records: DataFrame, config: BlockingConfig) -> DataFrame:
    """The candidate pairs under ``config``, as a Spark DataFrame (lazy, not collected).

    Runs [`count_pairs`][c360.spark._blocking.count_pairs] first (one query) and
    raises before planning any join when a rule is over the ceiling; the pairs
    themselves are computed when the result is used.

    Args:
        records: the matching frame: an integer ``_rid`` (unique), ``source``
            and the rules' key columns.
        config: the blocking rules, ``link_type`` and limits.

    Returns:
        A DataFrame with ``_rid_l`` and ``_rid_r`` (longs, ``_rid_l < _rid_r``),
        each candidate pair once.

    Raises:
        BlockingError: a rule would produce more than ``max_pairs_per_rule`` pairs.
        ConfigError: a rule names a column that the records lack.
    """
    counts = count_pairs(records, config)
    check_ceiling(counts, config)
    # a rule that finds no pair needs no rows in the join and cannot have found
    # a later rule's pair; only a rule with a skipped block needs flagging
    active = [i for i, n in enumerate(counts["pairs"].to_list()) if n > 0]
    skipped = counts["skipped_blocks"].to_list()
    skipping = [i for i in active if skipped[i] > 0]
    if not active:
        return records.sparkSession.createDataFrame([], "_rid_l long, _rid_r long")
    return _pairs(_flagged(records, config, skipping), config, active)
