"""Automatic configuration: comparisons and blocking chosen from the data.

Given only canonical columns, c360 picks:

* **comparisons** for every canonical field that is present (non-null on at
  least ``min_coverage`` of records and with two or more distinct values);
  when first and last names exist, ``full_name`` is not compared again (it
  would count the same evidence twice);
* **blocking rules** from a pool ordered from the most to the least
  selective evidence. A rule is kept when the pairs it would produce (counted
  before generation) fit a budget that grows with the data
  (``max(pair_budget_floor, pairs_per_record * n)``); a rule whose keys include
  an already kept rule's keys is skipped (its pairs are a subset), and the
  rules kept must fit ``max(500,000, 15 * n)`` pairs together. On small
  data single fields (date of birth, postcode, surname) fit the budget and
  give very high recall; on millions of records only compound keys do.

The chosen spec is printed by the CLI and can be saved, edited and passed
back as configuration.

Examples:
    >>> import polars as pl
    >>> recs = pl.DataFrame({"source": ["a"] * 4, "email": ["x@y.z", "x@y.z", "p@q.r", None],
    ...                      "email_user": ["x", "x", "p", None]})
    >>> [c.name for c in auto_comparisons(recs)]
    ['email']
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from c360._typing import LinkType
from c360.blocking import BlockingConfig, BlockingRule, block_on, rule_pair_count
from c360.comparisons import (
    Comparison,
    DateComparison,
    EmailComparison,
    JaroWinklerAtThresholds,
    LevenshteinAtThresholds,
    LocationComparison,
    NameComparison,
    PhoneComparison,
    PhoneDigitsComparison,
    TokenSetAtThresholds,
)

__all__ = ["auto_blocking", "auto_comparisons", "present_columns"]

#: Blocking rule pool, most selective evidence first.
#: Records in a block above which automatic blocking skips the block.
MAX_BLOCK_SIZE = 5_000

RULE_POOL: tuple[tuple[str, ...], ...] = (
    ("national_id",),
    ("email",),
    ("phone_digits",),  # every number, validated or not (implies "phone")
    ("phone",),
    ("date_of_birth",),
    ("postcode",),
    ("last_name",),
    ("first_name",),
    ("address_line1",),
    ("city",),
    ("email_user",),
    ("first_name_nick", "last_name"),
    ("first_name_metaphone", "last_name_metaphone"),
    ("last_name_metaphone", "date_of_birth"),
    ("first_name_nick", "date_of_birth"),
    ("date_of_birth", "postcode"),
    ("last_name", "postcode"),
    ("first_name_nick", "postcode"),
    ("address_number", "postcode"),
    ("last_name", "city"),
    ("first_name_nick", "city"),
    ("last_name_metaphone", "dob_year"),
    ("first_name_metaphone", "address_number"),
    ("last_name_soundex", "first_name_nick"),
)


def present_columns(records: pl.DataFrame, *, min_coverage: float = 0.01) -> set[str]:
    """Columns non-null on at least ``min_coverage`` of records with 2+ distinct non-null values.

    On tiny inputs (under 50 records) a constant column still counts: two
    records that agree on everything are evidence, not noise.
    """
    if records.height == 0:
        return set()
    stats = records.select(
        *(pl.col(c).is_not_null().mean().alias(f"{c}\x00cov") for c in records.columns),
        *(_distinct_up_to_two(c, records.schema[c]).alias(f"{c}\x00n") for c in records.columns),
    ).row(0, named=True)
    return {
        c
        for c in records.columns
        if (stats[f"{c}\x00cov"] or 0) >= min_coverage
        and stats[f"{c}\x00n"] >= (1 if records.height < 50 else 2)
    }


def _distinct_up_to_two(column: str, dtype: pl.DataType) -> pl.Expr:
    """The number of distinct non-null values of ``column``, counted up to two.

    Whether any value differs from the first is one comparison per row, not
    a hash of every value: over every column of a million records, 0.07 s
    against 0.9 s for ``n_unique``. Floats are counted by ``n_unique``, as
    NaN differs from itself.

    Examples:
        >>> df = pl.DataFrame({"a": [None, "x", "x"], "b": ["x", None, "y"], "c": [None] * 3})
        >>> df.select(_distinct_up_to_two(c, df.schema[c]) for c in df.columns).row(0)
        (1, 2, 0)
    """
    col = pl.col(column)
    if dtype.is_float():
        return pl.min_horizontal(col.drop_nulls().n_unique(), pl.lit(2)).cast(pl.Int64)
    some = col.is_not_null().any().cast(pl.Int64)
    other = (col != col.drop_nulls().first()).any().cast(pl.Int64)
    return (some + other).alias(column)


def auto_comparisons(
    records: pl.DataFrame, *, min_coverage: float = 0.01, have: set[str] | None = None
) -> tuple[Comparison, ...]:
    """Comparisons for the canonical fields present in ``records``.

    ``have`` is [`present_columns`][present_columns]' answer when the caller has it already.
    """
    if have is None:
        have = present_columns(records, min_coverage=min_coverage)
    out: list[Comparison] = []
    names = {"first_name", "last_name"} <= have
    if "first_name" in have:
        out.append(
            NameComparison(
                "first_name",
                nickname_column="first_name_nick" if "first_name_nick" in records.columns else None,
                swap_column="last_name" if "last_name" in have else None,
                tf_adjust=True,
            )
        )
    if "middle_name" in have:
        out.append(NameComparison("middle_name", (0.9,)))
    if "last_name" in have:
        out.append(
            NameComparison(
                "last_name",
                swap_column="first_name" if "first_name" in have else None,
                swap_is_null=True,
                tf_adjust=True,
            )
        )
    if "full_name" in have and not names:
        out.append(TokenSetAtThresholds("full_name", (0.9, 0.75), tf_adjust=True))
    if "date_of_birth" in have:
        out.append(DateComparison("date_of_birth"))
    if "email" in have:
        out.append(EmailComparison("email", user_column="email_user", tf_adjust=True))
    if "national_id" in have:
        out.append(LevenshteinAtThresholds("national_id", (1,)))
    location = [c for c in ("address_line1", "postcode", "city", "phone") if c in have]
    if len(location) >= 2:
        # correlated among non-matches (households, neighbours): one comparison
        out.append(
            LocationComparison(
                "address_line1" if "address_line1" in have else "",
                postcode_column="postcode" if "postcode" in have else None,
                city_column="city" if "city" in have else None,
                phone_column="phone" if "phone" in have else None,
            )
        )
    elif location == ["phone"]:
        out.append(PhoneComparison("phone"))
    elif location == ["address_line1"]:
        out.append(TokenSetAtThresholds("address_line1", (0.9, 0.7)))
    elif location == ["postcode"]:
        out.append(LevenshteinAtThresholds("postcode", (1,)))
    elif location == ["city"]:
        out.append(JaroWinklerAtThresholds("city", (0.9,), tf_adjust=True))
    if "phone_digits" in have and _unvalidated_share(records) >= min_coverage:
        out.append(PhoneDigitsComparison("phone_digits", tf_adjust=True))
    if "address_line2" in have:
        out.append(JaroWinklerAtThresholds("address_line2", (0.9,)))
    if "company" in have:
        out.append(TokenSetAtThresholds("company", (0.9,)))
    return tuple(out)


def _unvalidated_share(records: pl.DataFrame) -> float:
    """Share of records with phone digits but no valid (E.164) number."""
    if records.height == 0 or "phone_digits" not in records.columns:
        return 0.0
    kept = pl.col("phone_digits").is_not_null()
    if "phone" in records.columns:
        kept = kept & pl.col("phone").is_null()
    return float(records.select(kept.mean()).item() or 0.0)


def auto_blocking(
    records: pl.DataFrame,
    *,
    link_type: LinkType = "dedupe_and_link",
    pairs_per_record: float = 5.0,
    pair_budget_floor: int = 50_000,
    total_pairs_per_record: float = 15.0,
    min_coverage: float = 0.01,
    max_block_size: int | None = MAX_BLOCK_SIZE,
    have: set[str] | None = None,
    pair_count: Callable[[tuple[str, ...]], int] | None = None,
    n_records: int | None = None,
) -> BlockingConfig:
    """Blocking rules that fit a pair budget, chosen from [`RULE_POOL`][RULE_POOL].

    Each candidate rule is judged by the pairs it would produce, counted from
    key frequencies ([`rule_pair_count`][c360.blocking.rule_pair_count]); no
    pair is built. ``have`` is [`present_columns`][present_columns]' answer when
    the caller has it already.

    ``records`` may be a sample of the data (the Spark engine's): then
    ``pair_count`` gives each rule's pairs over all of the data (with
    ``link_type`` and ``max_block_size`` applied) and ``n_records`` its size,
    which sets the budget. Pairs grow with the square of block sizes and the
    budget linearly with records, so judging rules on a sample alone would
    accept rules the whole data cannot afford.

    The rules kept must also fit a budget together:
    ``max(10 * pair_budget_floor, total_pairs_per_record * n)`` pairs, each
    rule counted on its own. A rule that would exceed what is left is
    skipped and cheaper rules after it are still tried. Without it, each
    rule of the pool could take its whole budget: rules over keys with a
    fixed set of values (birth date, postcode, a first name) grow with the
    square of the records. At 3M worst-profile records the ten rules chosen
    counted 18.6 pairs per record (15.5 distinct, against 6.4 at 1M); the
    last of them, 10.9M pairs, held 1,024 true pairs no other rule found.
    """
    if have is None:
        have = present_columns(records, min_coverage=min_coverage)
    size = records.height if n_records is None else n_records
    budget = max(pair_budget_floor, int(pairs_per_record * size))
    left = max(10 * pair_budget_floor, int(total_pairs_per_record * size))
    chosen: list[BlockingRule] = []
    for keys in RULE_POOL:
        if not set(keys) <= have:
            continue
        if any(set(r.keys) <= set(keys) for r in chosen):
            continue
        if keys == ("phone",) and any(r.keys == ("phone_digits",) for r in chosen):
            continue  # equal E.164 numbers have equal digits: already blocked together
        if pair_count is not None:
            pairs = pair_count(keys)
        else:
            pairs = rule_pair_count(
                records, keys, link_type=link_type, max_block_size=max_block_size
            )
        if pairs <= min(budget, left):
            chosen.append(block_on(*keys))
            left -= pairs
    if not chosen:
        # nothing fits: fall back on the most selective rule available
        for keys in RULE_POOL:
            if set(keys) <= have:
                chosen.append(block_on(*keys))
                break
    if not chosen:
        usable = sorted(have - {"source", "record_id", "_rid", "_row", "updated_at"})
        if usable:
            chosen.append(block_on(usable[0]))
        else:
            chosen.append(block_on("record_id"))
    return BlockingConfig(
        rules=tuple(chosen),
        link_type=link_type,
        max_block_size=max_block_size,
        max_pairs_per_rule=max(250_000_000, budget * 4),
    )
