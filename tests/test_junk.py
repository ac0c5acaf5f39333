"""Junk values: one rule for full runs and batches, whatever the batch size."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.rules import DERIVED_FROM, JunkConfig, detect_junk, null_junk, placeholder_junk

COLUMNS = (
    "email", "phone", "phone_digits", "national_id", "postcode", "address_line1",
    "first_name", "full_name", "date_of_birth",
)  # fmt: skip

# Arabic-Indic digits: polars and Python must agree on what a digit is; dotted
# and Turkish capitals: and on what lower case is
values = st.one_of(
    st.text(alphabet="0123456789xX9-@. abnoemailtsx\u0661\u0662\u0663", max_size=14),
    st.text(alphabet="unkowUNKOWtesTfdAa/ .-\u0130\u00e9", max_size=18),
    st.sampled_from(
        ["noemail@noemail.com", "ann@example.com", "0000000", "1234567890", "99999", "XXXX",
         "ann@x.io", "+1 212 555 0147", "\u0660" * 5, "Unknown", "N/A", "FNU", "Test Test",
         "Guest", "Na", "xxx", "Mr", "no name", "1900-01-01", "9999-12-31", "1980-05-05"]
    ),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(COLUMNS), st.lists(values, min_size=1, max_size=80))
def test_the_few_records_path_flags_what_the_frame_rule_flags(column, vals):
    """Batches of up to 64 records are checked in Python; larger ones by query: same result."""
    frame = pl.DataFrame({column: vals}, schema={column: pl.String})
    got = placeholder_junk(frame).select("column", "value").sort("value")
    never = len(vals) + 1
    shape_only = JunkConfig(
        max_records_per_identifier=never,
        constant_share=1.0,
        constant_min_records=never,
        date_share=1.0,
    )
    want = detect_junk(frame, shape_only).select("column", "value").sort("value")
    assert got.rows() == want.rows()


def test_a_batch_finds_placeholders_a_full_run_would_find():
    batch = pl.DataFrame(
        {
            "email": ["noemail@noemail.com", "ann@x.io"],
            "email_domain": ["noemail.com", "x.io"],
            "phone": ["0000000000", "+1 212 555 0147"],
        }
    )
    junk = placeholder_junk(batch)
    assert junk.select("column", "value").rows() == [
        ("email", "noemail@noemail.com"),
        ("phone", "0000000000"),
    ]
    assert set(junk.select("column", "value").rows()) <= set(
        detect_junk(batch).select("column", "value").rows()
    )
    cleaned = null_junk(batch, junk)
    assert cleaned["email"].to_list() == [None, "ann@x.io"]
    # what standardisation derived from the junk e-mail goes with it
    assert DERIVED_FROM["email"] == ("email_user", "email_domain")
    assert cleaned["email_domain"].to_list() == [None, "x.io"]
    assert cleaned["phone"].to_list() == [None, "+1 212 555 0147"]
    assert placeholder_junk(batch, JunkConfig(placeholders=False)).height == 0


def test_placeholder_names_are_junk_and_common_names_are_not():
    # a placeholder name is junk however rare; a real name however common is not:
    # "Mohammed" on 40% of records, and names that only look like filler
    real = ["Mohammed"] * 40 + ["Guest", "Na", "No", "Blank", "Sample", "Nil", "Li", "Oo"]
    fake = ["Unknown", "UNKNOWN", "N/A", "n.a.", "FNU", "Test", "xxx", "Mr", "Not Provided"]
    names = real + fake
    frame = pl.DataFrame(
        {
            "first_name": names,
            "last_name": ["Unknown Unknown", "Test"] + ["Smith"] * (len(names) - 2),
            "first_name_nick": names,
            "last_name_soundex": ["U525", "T230"] + ["S530"] * (len(names) - 2),
        }
    )
    junk = detect_junk(frame)
    flagged = junk.filter(pl.col("column") == "first_name")["value"].to_list()
    assert sorted(flagged) == sorted(fake)
    assert set(junk["reason"]) == {"placeholder-looking value"}
    assert junk.filter(pl.col("column") == "last_name")["value"].sort().to_list() == [
        "Test",
        "Unknown Unknown",
    ]
    cleaned = null_junk(frame, junk)
    assert cleaned["first_name"].to_list() == real + [None] * len(fake)
    # what standardisation derived from a junk name goes with it
    assert cleaned["first_name_nick"].to_list() == real + [None] * len(fake)
    assert cleaned["last_name_soundex"].to_list()[:3] == [None, None, "S530"]
    assert detect_junk(frame, JunkConfig(placeholders=False)).height == 0


def test_a_birth_date_on_far_too_many_records_is_junk():
    # 60 of 20,000 records (0.3%) on one date: a default, not a birthday; 0.1% of
    # records and at least 50 is the line; a placeholder date is junk on any count
    import datetime as dt

    rng = np.random.default_rng(0)
    days = rng.integers(0, 365 * 80, 20_000 - 60 - 45 - 1)
    dates = [dt.date(1930, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    dates += [dt.date(1970, 1, 1)] * 60 + [dt.date(1985, 6, 15)] * 45 + [dt.date(1900, 1, 1)]
    frame = pl.DataFrame({"date_of_birth": dates, "dob_year": [d.year for d in dates]})
    junk = detect_junk(frame)
    assert junk.select("value", "records").rows() == [("1970-01-01", 60), ("1900-01-01", 1)]
    assert "share this date" in junk["reason"][0]
    cleaned = null_junk(frame, junk)
    assert cleaned["date_of_birth"].null_count() == 61
    assert cleaned["dob_year"].null_count() == 61
    # the share is configurable; the floor of 50 records holds in small data
    assert detect_junk(frame, JunkConfig(date_share=0.01)).height == 1
    assert detect_junk(frame.head(200)).height == 0


def test_placeholder_names_do_not_merge_strangers():
    # a fifth of the records carry "Unknown Unknown" as their name: read as a
    # name, it links strangers (pairwise precision fell to 0.82 on 100k
    # worst-case records); as junk it is missing evidence, as a null would be
    import c360
    from c360.datasets import generate_people
    from c360.evaluate import pairwise_metrics

    g = generate_people(2_500, seed=3, profile="worst")
    marked = (
        g.records.with_row_index("_k")
        .with_columns(
            [
                pl.when(pl.col("_k") % 5 == 0).then(pl.lit(value)).otherwise(pl.col(c)).alias(c)
                for c, value in (("first_name", "UNKNOWN"), ("last_name", "UNKNOWN"))
            ]
            + [
                pl.when(pl.col("_k") % 5 == 0)
                .then(None)
                .otherwise(pl.col("full_name"))
                .alias("full_name")
            ]
        )
        .drop("_k")
    )
    nulled = marked.with_columns(
        pl.when(pl.col(c) == "UNKNOWN").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("first_name", "last_name")
    )
    truth = g.truth.rename({"person_id": "cluster"})

    def precision(records: pl.DataFrame) -> float:
        ids = pl.from_arrow(c360.resolve(records).unified_ids)
        pred = ids.select("source", "record_id", pl.col("customer_id").alias("cluster"))
        return pairwise_metrics(pred, truth).precision

    as_junk, as_null = precision(marked), precision(nulled)
    assert as_junk >= as_null - 0.005, (as_junk, as_null)
    assert as_junk > 0.95


name_words = st.sampled_from(
    ["test", "unknown", "customer", "fnu", "no", "name", "ann", "xxx", "a"]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(name_words, min_size=0, max_size=3).map(" ".join), min_size=1, max_size=30)
)
def test_placeholder_names_by_regex_follow_the_rule_written_out(names):
    """The name rule runs as one regex over the words; the Python rule says the same."""
    from c360.rules import looks_placeholder

    frame = pl.DataFrame({"full_name": names}, schema={"full_name": pl.String})
    never = len(names) + 1
    shape_only = JunkConfig(max_records_per_identifier=never, constant_min_records=never)
    flagged = set(detect_junk(frame, shape_only)["value"].to_list())
    assert flagged == {n for n in names if looks_placeholder("full_name", n)}
