"""Automatic configuration: which columns count as present."""

from __future__ import annotations

import datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.autoconfig import present_columns

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
