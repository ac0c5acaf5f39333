"""The single-record path of standardisation agrees with the polars query, value for value."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from c360._contracts._validate import validate
from c360._standardize import _rows, _tables
from c360.contracts import canonical_contract
from c360.datasets import generate_people
from c360.standardize import StandardizeConfig, standardize

CONFIGS = (
    StandardizeConfig(),
    StandardizeConfig(
        default_region="GB",
        phone_validation="possible",
        email_provider_rules=False,
        nicknames=False,
        phonetic=False,
    ),
)


def _both(frame: pl.DataFrame, cfg: StandardizeConfig) -> pl.DataFrame | None:
    """The row path's frame after checking it against polars' (None: polars' path taken)."""
    got = _rows.standardize_rows(frame, cfg)
    if got is not None:
        assert_frame_equal(got, standardize(frame.lazy(), cfg).collect())
    return got


@pytest.mark.parametrize("profile", ["standard", "worst", "census"])
def test_generated_records_take_the_row_path_and_agree(profile: str) -> None:
    recs = generate_people(800, seed=3, profile=profile).records
    for source in recs["source"].unique().sort():
        part = recs.filter(pl.col("source") == source)
        valid = validate(part.lazy(), canonical_contract(), source=source).valid
        for cfg in CONFIGS:
            # polars once over the source (row-wise cleaning: slices of it are
            # what polars gives for each slice, the small-batch paths are tested apart)
            whole = standardize(valid.lazy(), cfg).collect()
            for i in range(0, valid.height, 3):
                n = 1 + i % 4
                got = _rows.standardize_rows(valid.slice(i, n), cfg)
                # validated records (dates parsed, text as text) never need polars' path
                assert got is not None
                assert_frame_equal(got, whole.slice(i, n))


# characters both sides know, the ASCII punctuation and whitespace the cleaners
# treat apart, and characters Python's Unicode database does not know
assigned = st.characters(exclude_categories=("Cs", "Cn", "Co"))
tricky = st.sampled_from(
    [
        *" \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u2003\u3000,.'`-+@/#()$",
        *("\U000323af", "\u1e9e", "ß", "ﬁ", "é", "Ω", "İ", "\u0131", "Д", "王"),
    ]
)
words = st.sampled_from(
    [
        *_tables.name_affixes("title"),
        *_tables.name_affixes("suffix"),
        *_tables.name_affixes("particle"),
        *list(_tables.address_abbreviations())[:20],
        *_tables.company_legal_forms()[:10],
        "the", "Mary", "O'Neil", "Дмитрий", "de la", "Jr.", "12b", "x 12", "ext. 7", "gmail.com",
    ]
)  # fmt: skip
text = st.one_of(
    st.none(),
    st.text(st.one_of(assigned, tricky), max_size=25),
    st.lists(st.one_of(words, tricky, st.text(assigned, max_size=6)), max_size=6).map(" ".join),
    st.lists(st.one_of(words, st.sampled_from([",", " ", ", "])), max_size=6).map("".join),
)
emails = st.one_of(
    text,
    st.builds(
        "{}{}@{}".format,
        st.sampled_from(["a.b", "A.B+tag", "mailto:x", " x ", "a.+x", "+x", "ann"]),
        st.sampled_from(["", ".c", "-d"]),
        st.sampled_from(["gmail.com", "GoogleMail.com", "outlook.com", "yahoo.com", "x", "b.co"]),
    ),
)
phones = st.one_of(
    text,
    st.sampled_from(
        [
            "(212) 555-0123", "+44 20 7946 0958", "020 7946 0958", "0049 30 1234567",
            "+1 999 182 2221", "555-0123 ext. 12", "011 49 30 1234567", "   ", "0000000",
        ]
    ),
)  # fmt: skip
countries = st.one_of(st.none(), st.sampled_from(["US", " gb ", "Germany", "Atlantis", "de"]), text)
COLUMNS = {
    "first_name": text,
    "middle_name": text,
    "last_name": text,
    "full_name": text,
    "email": emails,
    "phone": phones,
    "address_line1": text,
    "address_line2": text,
    "city": text,
    "state": text,
    "postcode": st.one_of(
        text, st.sampled_from(["12345-6789", "123456789", "sw1a 1aa", " 02134 ", "1234567890"])
    ),
    "country": countries,
    "company": text,
    "national_id": text,
}


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 3))
    present = draw(st.lists(st.sampled_from(list(COLUMNS)), unique=True, min_size=1))
    data: dict[str, list[object]] = {"record_id": [str(i) for i in range(n)]}
    schema: dict[str, pl.DataType] = {"record_id": pl.String()}
    for c in present:
        data[c] = [draw(COLUMNS[c]) for _ in range(n)]
        schema[c] = pl.String()
    if draw(st.booleans()):
        data["date_of_birth"] = [draw(st.none() | st.dates()) for _ in range(n)]
        schema["date_of_birth"] = pl.Date()
    if draw(st.booleans()):
        data["_issues"] = [
            draw(st.none() | st.lists(st.sampled_from(["x", "y"]))) for _ in range(n)
        ]
        schema["_issues"] = pl.List(pl.String)
    return pl.DataFrame(data, schema=schema)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), cfg=st.sampled_from(CONFIGS))
def test_row_path_agrees_with_polars_on_any_text(
    frame: pl.DataFrame, cfg: StandardizeConfig
) -> None:
    _both(frame, cfg)


def test_row_path_declines_what_it_does_not_mirror() -> None:
    cfg = StandardizeConfig()
    one = {"record_id": ["1"], "full_name": ["Ann Lee"]}
    assert _rows.standardize_rows(pl.DataFrame(one), cfg) is not None
    # accented names are folded like polars does
    assert _rows.standardize_rows(pl.DataFrame({**one, "last_name": ["Núñez"]}), cfg) is not None
    # text the row path leaves to polars: non-ASCII e-mails, characters newer than
    # Python's Unicode database, dates as text, too many rows
    declined = [
        pl.DataFrame({**one, "email": ["jos\u00e9@example.com"]}),
        pl.DataFrame({**one, "last_name": ["\U000323af"]}),
        pl.DataFrame({**one, "date_of_birth": ["1990-01-02"]}),
        pl.DataFrame({"record_id": [str(i) for i in range(_rows.MAX_ROWS + 1)]}),
    ]
    for frame in declined:
        assert _rows.standardize_rows(frame, cfg) is None
    # a Datetime birth date is taken, as its date
    stamped = pl.DataFrame({**one, "date_of_birth": [dt.datetime(1990, 1, 2, 3, 4)]})
    assert _both(stamped, cfg)["date_of_birth"].to_list() == [dt.date(1990, 1, 2)]
