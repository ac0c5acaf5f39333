"""Junk values: one rule for full runs and batches, whatever the batch size."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.rules import DERIVED_FROM, JunkConfig, detect_junk, null_junk, placeholder_junk

COLUMNS = ("email", "phone", "phone_digits", "national_id", "postcode", "address_line1")

# Arabic-Indic digits: polars and Python must agree on what a digit is
values = st.one_of(
    st.text(alphabet="0123456789xX9-@. abnoemailtsx\u0661\u0662\u0663", max_size=14),
    st.sampled_from(
        ["noemail@noemail.com", "ann@example.com", "0000000", "1234567890", "99999", "XXXX",
         "ann@x.io", "+1 212 555 0147", "\u0660" * 5]
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
        max_records_per_identifier=never, constant_share=1.0, constant_min_records=never
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
