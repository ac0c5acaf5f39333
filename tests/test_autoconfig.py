"""Automatic configuration: which columns count as present, which blocking rules are kept."""

from __future__ import annotations

import datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.autoconfig import auto_blocking, present_columns

texts = st.one_of(st.none(), st.sampled_from(["a", "b", "", "é"]))
numbers = st.one_of(st.none(), st.integers(-2, 2))
floats = st.one_of(st.none(), st.sampled_from([0.5, -0.0, 0.0, float("nan")]))
dates = st.one_of(
    st.none(), st.sampled_from([datetime.date(1970, 1, 1), datetime.date(2001, 5, 9)])
)
lists = st.one_of(st.none(), st.sampled_from([[], ["x"], ["x", "y"]]))


def column(values: st.SearchStrategy, n: int) -> st.SearchStrategy:
    """``n`` values drawn from a pool of one to three (constant columns are common)."""
    pools = st.lists(values, min_size=1, max_size=3, unique_by=repr)
    return pools.flatmap(lambda pool: st.lists(st.sampled_from(pool), min_size=n, max_size=n))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 70).flatmap(
        lambda n: st.tuples(*(column(s, n) for s in (texts, numbers, floats, dates, lists)))
    ),
    st.sampled_from([0.01, 0.5]),
)
def test_present_columns_follow_the_rule_written_out(columns, coverage):
    """Non-null on ``coverage`` of the records, and 2+ distinct values (1 under 50 records)."""
    names = ["t", "i", "f", "d", "l"]
    schema = {
        "t": pl.String, "i": pl.Int64, "f": pl.Float64, "d": pl.Date, "l": pl.List(pl.String),
    }  # fmt: skip
    frame = pl.DataFrame(dict(zip(names, columns, strict=True)), schema=schema)
    want = set()
    for name in names:
        values = frame.get_column(name)
        covered = values.is_not_null().mean() >= coverage
        distinct = values.drop_nulls().n_unique()
        if covered and distinct >= (1 if frame.height < 50 else 2):
            want.add(name)
    assert present_columns(frame, min_coverage=coverage) == want


def test_blocking_rules_fit_a_budget_together_and_cheaper_ones_still_come_in():
    """Each rule fits 5 pairs per record; together they fit 15, in pool order."""
    n = 1_000_000
    counts = {
        ("email",): 4_000_000,
        ("date_of_birth",): 4_900_000,
        ("postcode",): 4_500_000,  # 13.4M so far
        ("last_name",): 3_000_000,  # 16.4M: over the 15M left for all rules, skipped
        ("first_name",): 5_100_000,  # over its own 5M
        ("city",): 100_000,  # cheap, after both: still kept (13.5M)
    }
    have = {"source", *(k for keys in counts for k in keys)}

    def kept(total: float) -> list[tuple[str, ...]]:
        cfg = auto_blocking(
            pl.DataFrame({"source": ["a"]}),
            have=have,
            pair_count=lambda keys: counts.get(keys, 10**12),
            n_records=n,
            total_pairs_per_record=total,
        )
        return [r.keys for r in cfg.rules]

    assert kept(15.0) == [("email",), ("date_of_birth",), ("postcode",), ("city",)]
    # with room for every rule, each is judged on its own budget alone
    assert kept(50.0) == [("email",), ("date_of_birth",), ("postcode",), ("last_name",), ("city",)]
    # the total never drops below ten times the per-rule floor: small data keeps its rules
    small = auto_blocking(
        pl.DataFrame({"source": ["a"]}),
        have=have,
        pair_count=lambda keys: 49_000 if keys in counts else 10**12,
        n_records=1_000,
    )
    assert len(small.rules) == len(counts)
