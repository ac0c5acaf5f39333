"""Examples of each standardisation rule, and ``standardize`` on whole frames."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from c360._standardize import _tables
from c360._standardize._build_nicknames import build
from c360.exceptions import C360Error, ConfigError
from c360.standardize import (
    StandardizeConfig,
    canonical_email,
    clean_address,
    clean_company,
    clean_email,
    clean_name,
    clean_national_id,
    clean_postcode,
    clean_text,
    email_is_valid,
    house_number,
    metaphone,
    nickname_canonical,
    nysiis,
    parse_date,
    soundex,
    split_full_name,
    standardize,
    to_e164,
)


def run(func, values, *args, **kwargs):
    df = pl.DataFrame({"x": values}, schema={"x": pl.String})
    return df.select(func(pl.col("x"), *args, **kwargs)).to_series().to_list()


# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "jose"),
        ("ZOË", "zoe"),
        ("Łukasz", "lukasz"),
        ("Søren", "soren"),
        ("Straße", "strasse"),
        ("Дмитрий", "dmitrii"),
        ("O'Brien", "obrien"),
        ("O\u2019Brien", "obrien"),
        ("Mary-Jane", "mary jane"),
        ("  mary   jane  ", "mary jane"),
        ("Dr. John Smith", "john smith"),
        ("Mr Mrs Smith", "smith"),
        ("John Smith Jr.", "john smith"),
        ("John Smith III PhD", "john smith"),
        ("Smith, Jr.", "smith"),
        ("Dr", "dr"),  # the only word is kept
        ("Jr", "jr"),
        ("J.R.R. Tolkien", "j r r tolkien"),
        ("!!!", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_name_examples(raw, expected):
    assert run(clean_name, [raw]) == [expected]


def test_clean_name_keeps_row_order_and_duplicates():
    values = ["Ann", "BOB", "ann", None, "Bob", "Cy"] * 3
    assert run(clean_name, values) == ["ann", "bob", "ann", None, "bob", "cy"] * 3


def test_nickname_canonical_families():
    names = ["bill", "billy", "will", "willy", "william", "bob", "rob", "bobby", "robert"]
    out = run(nickname_canonical, [*names, "peggy", "margaret", "liz", "beth", "elizabeth"])
    assert out[:5] == ["william"] * 5
    assert out[5:9] == ["robert"] * 4
    assert out[9:11] == ["margaret"] * 2
    assert out[11:] == ["elizabeth"] * 3


def test_nickname_canonical_unknown_and_null_pass_through():
    assert run(nickname_canonical, ["qwertyuiop", None, ""]) == ["qwertyuiop", None, ""]


def test_nickname_table_is_idempotent_and_bounded():
    table = _tables.nicknames()
    assert len(table) > 500
    for name, canonical in table.items():
        assert name == name.strip().lower()
        assert name.isascii()
        assert canonical not in table, f"{canonical} (canonical of {name}) maps further"
    sizes: dict[str, int] = {}
    for canonical in table.values():
        sizes[canonical] = sizes.get(canonical, 0) + 1
    assert max(sizes.values()) <= 20
    # distinct families stay apart
    assert table.get("richard") != "frederick"
    assert table.get("robert") != "william"
    assert table.get("william") != "robert"


def test_build_nicknames_is_order_independent_and_bounded():
    edges = [("william", n) for n in ("bill", "will", "billy", "willy")]
    edges += [("robert", n) for n in ("bob", "rob", "bobby", "bill")]
    edges += [("willis", n) for n in ("will", "willy", "bill")]
    edges += [("bill", "billy"), ("will", "willy")]  # diminutives of diminutives
    # a long chain through shared nicknames must not collapse into one group
    edges += [(f"name{i:02d}x", f"nk{i}") for i in range(30)]
    edges += [(f"name{i:02d}x", f"nk{i + 1}") for i in range(29)]
    first = build(edges)
    assert build(list(reversed(edges))) == first
    assert first["bill"] == first["billy"] == first["will"] == "william"
    assert first["bob"] == "robert"
    counts: dict[str, int] = {}
    for canonical in first.values():
        counts[canonical] = counts.get(canonical, 0) + 1
    assert max(counts.values()) <= 8


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John Smith", ("john", None, "smith")),
        ("John Q. Smith", ("john", "q", "smith")),
        ("John Paul George Smith", ("john", "paul george", "smith")),
        ("Smith, John", ("john", None, "smith")),
        ("Smith, John Paul", ("john", "paul", "smith")),
        ("O'Neil, Mary-Kate", ("mary", "kate", "oneil")),
        ("Mrs. Jane Doe-Ray", ("jane", "doe", "ray")),
        ("John Smith, Jr.", ("john", None, "smith")),
        ("Smith, Dr. John", ("john", None, "smith")),
        ("Ludwig van Beethoven", ("ludwig", None, "van beethoven")),
        ("Juan Carlos de la Cruz", ("juan", "carlos", "de la cruz")),
        ("Madonna", ("madonna", None, None)),
        ("Smith,", (None, None, "smith")),
        ("   ", (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_split_full_name(raw, expected):
    df = pl.DataFrame({"x": [raw]}, schema={"x": pl.String})
    out = df.select(split_full_name(pl.col("x")).alias("p")).unnest("p")
    assert out.columns == ["first", "middle", "last"]
    assert out.row(0) == expected


# --- e-mail ------------------------------------------------------------------------


def test_clean_email():
    raw = ["  Ann@Example.COM ", "mailto:BOB@x.org", "\t", None]
    assert run(clean_email, raw) == ["ann@example.com", "bob@x.org", None, None]


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("ann@example.com", True),
        ("ann.lee+tag@mail.example.co.uk", True),
        ("o'brien@example.ie", True),
        ("a@b.c", False),  # one-letter top-level domain
        ("a@localhost", False),
        ("a..b@example.com", False),
        (".a@example.com", False),
        ("a@-example.com", False),
        ("a@example..com", False),
        ("a b@example.com", False),
        ("a@b@example.com", False),
        ("@example.com", False),
        ("ann@", False),
        ("x" * 65 + "@example.com", False),
        ("x" * 64 + "@example.com", True),
        ("ann@xn--bcher-kva.example", True),
        ("jösé@example.com", False),
    ],
)
def test_email_is_valid(raw, valid):
    assert run(email_is_valid, [raw]) == [valid]


def test_canonical_email_provider_rules():
    raw = [
        "J.Smith+news@gmail.com",
        "jsmith@googlemail.com",
        "a.b+x@Outlook.com",
        "a.b+x@hotmail.co.uk",
        "a.b+x@icloud.com",
        "a.b-x@yahoo.com",  # hyphen addresses are not folded
        "a.b+x@example.com",  # unknown providers keep their tags
        "+tag@gmail.com",  # nothing left of the user name
        "not-an-email",
        None,
    ]
    assert run(canonical_email, raw) == [
        "jsmith@gmail.com",
        "jsmith@gmail.com",
        "a.b@outlook.com",
        "a.b@hotmail.co.uk",
        "a.b@icloud.com",
        "a.b-x@yahoo.com",
        "a.b+x@example.com",
        None,
        None,
        None,
    ]
    assert run(canonical_email, raw[:1], provider_rules=False) == ["j.smith+news@gmail.com"]


# --- phones ------------------------------------------------------------------------


def test_to_e164_us_default():
    raw = [
        "(212) 555-0123",
        "212.555.0123",
        "+1 212 555 0123",
        "1-212-555-0123",
        "212-555-0123 ext. 45",
        "+1 (416) 555-0123",  # Canada, through phonenumbers
        "+44 20 7946 0958",
        "555-0123",  # too short
        "(012) 555-0123",  # no such area code
        "phone",
        "",
        None,
    ]
    assert run(to_e164, raw) == [
        "+12125550123",
        "+12125550123",
        "+12125550123",
        "+12125550123",
        "+12125550123",
        "+14165550123",
        "+442079460958",
        None,
        None,
        None,
        None,
        None,
    ]


def test_to_e164_other_region_and_possible():
    assert run(to_e164, ["020 7946 0958", "2125550123"], "GB") == ["+442079460958", None]
    assert run(to_e164, ["+1 212 555 0123"], "DE") == ["+12125550123"]
    # 999 is not an assigned area code: invalid, but of a possible length
    assert run(to_e164, ["999 555 0123"]) == [None]
    assert run(to_e164, ["999 555 0123"], validation="possible") == ["+19995550123"]


def test_to_e164_integer_column():
    df = pl.DataFrame({"x": [2125550123, None]})
    assert df.select(to_e164(pl.col("x"))).to_series().to_list() == ["+12125550123", None]


def test_to_e164_rejects_bad_options():
    with pytest.raises(ConfigError, match="unknown phone region"):
        to_e164(pl.col("x"), "XX")
    with pytest.raises(ConfigError, match="validation"):
        to_e164(pl.col("x"), validation="maybe")  # type: ignore[arg-type]


# --- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1985-03-12", dt.date(1985, 3, 12)),
        ("1985-03-12T10:30:00Z", dt.date(1985, 3, 12)),
        ("1985-03-12 10:30:00", dt.date(1985, 3, 12)),
        ("19850312", dt.date(1985, 3, 12)),
        ("1985/03/12", dt.date(1985, 3, 12)),
        ("03/12/1985", dt.date(1985, 3, 12)),  # month first by default
        ("3/12/1985", dt.date(1985, 3, 12)),
        ("13/03/1985", dt.date(1985, 3, 13)),  # day first when month-first is impossible
        ("12.03.1985", dt.date(1985, 3, 12)),
        ("12 Mar 1985", dt.date(1985, 3, 12)),
        ("12 MARCH 1985", dt.date(1985, 3, 12)),
        ("March 12, 1985", dt.date(1985, 3, 12)),
        ("mar 12 1985", dt.date(1985, 3, 12)),
        ("12-Mar-1985", dt.date(1985, 3, 12)),
        ("  1985-03-12  ", dt.date(1985, 3, 12)),
        ("1985-02-30", None),
        ("1985-13-01", None),
        ("02/30/1985", None),
        ("3/12/85", None),  # two-digit years are not guessed
        ("00000000", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw, expected):
    assert run(parse_date, [raw]) == [expected]


def test_parse_date_custom_formats_and_passthrough():
    assert run(parse_date, ["03/12/1985"], ["%d/%m/%Y"]) == [dt.date(1985, 12, 3)]
    df = pl.DataFrame(
        {
            "d": [dt.date(1985, 3, 12), None],
            "ts": [dt.datetime(1985, 3, 12, 23, 59), None],
            "i": [19850312, None],
        }
    )
    out = df.select(parse_date(pl.col(c)) for c in df.columns)
    assert out.dtypes == [pl.Date] * 3
    assert out.rows() == [(dt.date(1985, 3, 12),) * 3, (None, None, None)]
    # ISO is always tried, whatever the formats: Date columns pass through
    custom = df.select(parse_date(pl.col(c), ["%d/%m/%Y"]) for c in df.columns)
    assert custom.row(0) == (dt.date(1985, 3, 12), dt.date(1985, 3, 12), None)


# --- postcodes, addresses, other text ----------------------------------------------


def test_clean_postcode():
    raw = ["sw1a 1aa", "SW1A-1AA", "12345-6789", "123456789", " 02134 ", "K1A 0B1", "--", None]
    assert run(clean_postcode, raw) == [
        "SW1A1AA",
        "SW1A1AA",
        "12345",
        "12345",
        "02134",
        "K1A0B1",
        None,
        None,
    ]


def test_clean_address():
    raw = [
        "123 North Main Street, Apartment #4B",
        "123 N. Main St. Apt. 4b",
        "55 SW Avenue Road",
        "1 Boulevard Saint-Michel",
        "PO Box 7",
        ",,,",
        None,
    ]
    assert run(clean_address, raw) == [
        "123 n main st apt 4b",
        "123 n main st apt 4b",
        "55 sw ave rd",
        "1 blvd st michel",
        "po box 7",
        None,
        None,
    ]


def test_address_abbreviations_are_idempotent():
    table = _tables.address_abbreviations()
    assert table["street"] == "st"
    assert table["avenue"] == "ave"
    assert table["road"] == "rd"
    assert table["drive"] == "dr"
    assert table["apartment"] == "apt"
    assert table["north"] == "n"
    assert not set(table.values()) & set(table)


def test_house_number():
    raw = ["123 Main St", "123B Elm", "12-14 High St", "1st Avenue", "PO Box 7", "  77  ", None]
    assert run(house_number, raw) == ["123", "123b", "12", None, None, "77", None]


def test_clean_text_company_national_id():
    assert run(clean_text, ["  São  Paulo ", "N.Y.", "-", None]) == ["sao paulo", "n y", None, None]
    assert run(clean_company, ["The ACME Co., Inc.", "Acme", "Müller GmbH & Co. KG", "LLC"]) == [
        "acme",
        "acme",
        "muller",  # every trailing legal form goes
        "llc",
    ]
    assert run(clean_national_id, ["123-45-6789", "ab 12.34/56 c", " - ", None]) == [
        "123456789",
        "AB123456C",
        None,
        None,
    ]


def test_phonetic_keys():
    raw = ["smith", "smyth", "de la cruz", "delacruz", "42", None]
    assert run(metaphone, raw) == ["SM0", "SM0", "TLKRS", "TLKRS", None, None]
    assert run(soundex, raw) == ["S530", "S530", "D426", "D426", None, None]
    assert run(nysiis, ["macintosh", "mcintosh"]) == ["MCANT", "MCANT"]
    assert run(nysiis, raw)[4:] == [None, None]


# --- config ------------------------------------------------------------------------


def test_config_round_trip_through_json():
    cfg = StandardizeConfig(default_region="GB", date_formats=("%d/%m/%Y",), phonetic=False)
    back = StandardizeConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert back.date_formats == ("%d/%m/%Y",)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"default_region": "gb"}, "unknown phone region"),
        ({"phone_validation": "sometimes"}, "phone_validation"),
        ({"date_formats": "%Y"}, "date_formats"),
        ({"nicknames": "yes"}, "nicknames"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        StandardizeConfig(**kwargs)


def test_config_from_dict_names_unknown_keys():
    with pytest.raises(ConfigError, match="nicknamez") as info:
        StandardizeConfig.from_dict({"nicknamez": True})
    assert isinstance(info.value, C360Error)
    assert "did you mean 'nicknames'" in str(info.value)


# --- standardize on frames ---------------------------------------------------------


def test_standardize_frame_missing_most_fields():
    lf = pl.LazyFrame(
        {
            "source": ["crm", "crm"],
            "record_id": ["1", "2"],
            "email": [" Ann.Lee+x@GMAIL.com", "broken@"],
            "user_id": [10, 11],
        }
    )
    out = standardize(lf).collect()
    assert out.columns == [
        "source",
        "record_id",
        "email",
        "user_id",
        "email_user",
        "email_domain",
        "_issues",
    ]
    assert out["email"].to_list() == ["annlee@gmail.com", None]
    assert out["email_user"].to_list() == ["annlee", None]
    assert out["email_domain"].to_list() == ["gmail.com", None]
    assert out["user_id"].to_list() == [10, 11]
    assert out["_issues"].to_list() == [[], ["email: invalid, nulled"]]


def test_standardize_only_keys():
    lf = pl.LazyFrame({"source": ["a"], "record_id": ["1"]})
    out = standardize(lf).collect()
    assert out.columns == ["source", "record_id", "_issues"]
    assert out["_issues"].to_list() == [[]]


def test_standardize_full_frame():
    lf = pl.LazyFrame(
        {
            "source": ["crm", "crm", "crm"],
            "record_id": ["1", "2", "3"],
            "first_name": ["BILLY", None, "  "],
            "last_name": ["O'Neil", None, "Núñez"],
            "full_name": [None, "Smith, Peggy Ann", "Dr. Maria Núñez"],
            "phone": ["(212) 555-0123", "12", None],
            "date_of_birth": ["03/12/1985", "1985-02-30", ""],
            "address_line1": ["12 North Main Street", None, "!!"],
            "city": ["NEW  YORK", None, "São Paulo"],
            "postcode": ["10001-1234", None, "01310-100"],
            "company": ["Acme, Inc.", None, None],
            "national_id": ["123-45-6789", None, None],
            "updated_at": [dt.datetime(2024, 1, 1)] * 3,
        },
        schema_overrides={"updated_at": pl.Datetime("us")},
    )
    out = standardize(lf).collect()
    rows = out.rows(named=True)
    assert rows[0]["first_name"] == "billy"
    assert rows[0]["first_name_nick"] == "william"
    assert rows[0]["full_name"] == "billy oneil"
    assert rows[0]["phone"] == "+12125550123"
    assert rows[0]["date_of_birth"] == dt.date(1985, 3, 12)
    assert rows[0]["dob_year"] == 1985
    assert rows[0]["address_line1"] == "12 n main st"
    assert rows[0]["address_number"] == "12"
    assert rows[0]["city"] == "new york"
    assert rows[0]["postcode"] == "10001"
    assert rows[0]["company"] == "acme"
    assert rows[0]["national_id"] == "123456789"
    assert rows[0]["last_name_soundex"] == "O540"
    assert rows[0]["_issues"] == []
    # parts filled from full_name ("Last, First Middle")
    assert (rows[1]["first_name"], rows[1]["middle_name"], rows[1]["last_name"]) == (
        "peggy",
        "ann",
        "smith",
    )
    assert rows[1]["first_name_nick"] == "margaret"
    assert rows[1]["full_name"] == "peggy ann smith"
    assert rows[1]["phone"] is None
    assert rows[1]["date_of_birth"] is None
    assert sorted(rows[1]["_issues"]) == [
        "date_of_birth: invalid, nulled",
        "phone: invalid, nulled",
    ]
    # a blank first name is filled from full_name; punctuation-only address is noted
    assert rows[2]["first_name"] == "maria"
    assert rows[2]["last_name"] == "nunez"
    assert rows[2]["full_name"] == "maria nunez"
    assert rows[2]["_issues"] == ["address_line1: invalid, nulled"]
    assert rows[2]["city"] == "sao paulo"
    assert rows[2]["postcode"] == "01310100"
    assert out["updated_at"].dtype == pl.Datetime("us")
    assert out["dob_year"].dtype == pl.Int32


def test_standardize_parts_only_builds_full_name_and_keeps_issues():
    lf = pl.LazyFrame(
        {
            "first_name": ["Ann", None],
            "last_name": ["Lee", None],
            "date_of_birth": [dt.date(1990, 1, 2), None],
            "_issues": [["email: not an email address"], None],
        }
    )
    out = standardize(lf, StandardizeConfig(nicknames=False, phonetic=False)).collect()
    assert out["full_name"].to_list() == ["ann lee", None]
    assert "middle_name" not in out.columns
    assert "first_name_nick" not in out.columns
    assert "last_name_metaphone" not in out.columns
    assert out["date_of_birth"].to_list() == [dt.date(1990, 1, 2), None]
    assert out["dob_year"].to_list() == [1990, None]
    assert out["_issues"].to_list() == [["email: not an email address"], []]


def test_standardize_day_first_config():
    lf = pl.LazyFrame({"date_of_birth": ["03/12/1985"], "phone": ["020 7946 0958"]})
    cfg = StandardizeConfig(default_region="GB", date_formats=("%d/%m/%Y",))
    out = standardize(lf, cfg).collect()
    assert out.row(0, named=True)["date_of_birth"] == dt.date(1985, 12, 3)
    assert out.row(0, named=True)["phone"] == "+442079460958"


def test_standardize_is_lazy_and_row_order_independent():
    lf = pl.LazyFrame(
        {
            "record_id": [str(i) for i in range(40)],
            "first_name": ["Bill", "Bob", "Zoë", None] * 10,
            "email": ["a@x.com", "B@X.COM", None, "bad"] * 10,
        }
    )
    out = standardize(lf)
    assert isinstance(out, pl.LazyFrame)
    a = out.collect()
    b = standardize(lf.reverse()).collect().reverse()
    assert a.equals(b)


# --- large columns: cut for the threads, distinct values estimated ----------------


def test_large_columns_take_the_parallel_paths_and_agree_with_small_batches(monkeypatch):
    """A whole frame and the same frame in small batches standardise alike.

    Whole, the worst-profile columns are long enough to be cut into one chunk
    per thread, and e-mails and addresses skip the exact distinct values on the
    estimate; in batches of 700 rows neither happens. The threshold is lowered
    for a second run so that the distinct values of a repetitive column (names,
    cities) are cut too.
    """
    from c360 import _frames
    from c360.datasets import generate_people

    records = generate_people(3_000, seed=5, profile="worst").records
    assert records.height > 6_000
    batches = pl.concat(
        [standardize(records.slice(i, 700).lazy()).collect() for i in range(0, records.height, 700)]
    )
    for min_rows in (records.height - 1, 500):
        monkeypatch.setattr(_frames, "SPREAD_MIN_ROWS", min_rows)
        whole = standardize(records.lazy()).collect()
        assert whole.equals(batches), min_rows
        # every column in one chunk layout (a column cut differently makes every
        # later query copy the frame first)
        assert len({tuple(s.chunk_lengths()) for s in whole.get_columns()}) == 1


def test_distinct_names_in_other_scripts_agree_with_small_batches():
    """Names that are (nearly) all distinct, in several scripts, take the per-row paths.

    Whole, the Python steps (transliteration by distinct character, phonetic
    keys per row without a distinct pass) run on every value; in batches of
    50 rows they run value by value. Both must give the same frame.
    """
    import random

    rng = random.Random(7)
    scripts = ["абвгдежзиклмнопрстуфхцчшщэюя", "αβγδεζηθικλμνξοπρστυφχψω", "حخدذرزسشصضطظعغ",
               "".join(map(chr, range(0x4E00, 0x4E00 + 500))), "abcdeéèöøßłñçxyz"]  # fmt: skip

    def name() -> str:
        letters = rng.choice(scripts)
        return "".join(rng.choice(letters) for _ in range(rng.randint(2, 9))).capitalize()

    records = pl.DataFrame(
        {"record_id": [str(i) for i in range(3_000)], "first_name": [name() for _ in range(3_000)],
         "last_name": [name() for _ in range(3_000)], "city": [name() for _ in range(3_000)]}
    )  # fmt: skip
    assert records["last_name"].n_unique() > 2_900
    whole = standardize(records.lazy()).collect()
    batches = pl.concat(
        [standardize(records.slice(i, 50).lazy()).collect() for i in range(0, records.height, 50)]
    )
    assert whole.equals(batches)
    assert whole["last_name"].str.contains(r"^[a-z ]+$").all()
    assert whole["last_name_soundex"].null_count() < 100


def test_on_distinct_cuts_long_series_and_keeps_the_input_layout(monkeypatch):
    from c360 import _frames
    from c360._standardize._distinct import on_distinct

    monkeypatch.setattr(_frames, "SPREAD_MIN_ROWS", 100)
    seen: list[int] = []

    def upper(s: pl.Series) -> pl.Series:
        seen.append(s.n_chunks())
        return s.str.to_uppercase()

    distinct = pl.Series("x", [f"v{i}" for i in range(1_000)] + [None])
    repeated = pl.Series("x", [f"v{i % 200}" for i in range(1_000)] + [None])
    for s in (distinct, repeated):
        out = on_distinct(s, upper, return_dtype=pl.String())
        assert out.to_list() == [None if v is None else v.upper() for v in s.to_list()]
        assert out.chunk_lengths() == s.chunk_lengths()
    # all distinct: the whole series, cut; repeated: its 200 values, cut
    expected = min(pl.thread_pool_size(), 8)
    assert seen == [expected, expected]


# --- whole frames: every column its own query, side by side -------------------------


def _frames_to_standardize() -> list[tuple[str, pl.DataFrame]]:
    from c360._canonical import ISSUES
    from c360.datasets import generate_people

    out = []
    for profile in ("standard", "worst", "census"):
        out.append((profile, generate_people(600, seed=11, profile=profile).records))
    worst = out[1][1]
    out += [
        ("full name and phone, no country", worst.select("record_id", "full_name", "phone")),
        ("parts only, no full name", worst.drop("full_name", "country")),
        ("issues already listed", worst.with_columns(pl.lit(["read: odd"]).alias(ISSUES))),
        ("dates as dates", worst.with_columns(date_of_birth=pl.date(1980, 1, 2))),
        ("no canonical column", worst.select("record_id", "source")),
    ]
    return out


@pytest.mark.parametrize(
    "cfg",
    [StandardizeConfig(), StandardizeConfig(default_region="GB", phone_validation="possible",
                                            nicknames=False, phonetic=False)],
)  # fmt: skip
def test_standardize_frame_equals_the_lazy_query(cfg):
    """Column by column in threads, the frame is the one query's: values, order, dtypes."""
    from c360._standardize._frame import standardize_frame

    for what, frame in _frames_to_standardize():
        got = standardize_frame(frame, cfg)
        want = standardize(frame.lazy(), cfg).collect()
        assert got.columns == want.columns, what
        assert got.equals(want), what
        assert len({tuple(s.chunk_lengths()) for s in got.get_columns()}) == 1, what


def test_standardize_frame_in_slices_is_the_frame_in_one_piece(monkeypatch):
    """A large frame is standardised a slice of rows at a time: the same frame."""
    from c360._standardize import _frame

    for what, frame in _frames_to_standardize():
        whole = _frame.standardize_frame(frame)
        monkeypatch.setattr(_frame, "SLICE_ROWS", 97)  # slices of 97 rows, the last shorter
        sliced = _frame.standardize_frame(frame)
        monkeypatch.undo()
        assert sliced.columns == whole.columns, what
        assert sliced.equals(whole), what
        assert len({tuple(s.chunk_lengths()) for s in sliced.get_columns()}) == 1, what
        if frame.height > 97:
            assert sliced.get_column(sliced.columns[0]).n_chunks() > 1, what  # it did slice


def test_standardize_frame_starts_a_column_only_once_what_it_reads_is_cleaned(monkeypatch):
    """Derived columns read the cleaned columns, never the input's (one worker, then two)."""
    from c360._standardize import _frame

    frame = pl.DataFrame(
        {"first_name": ["  BILLY ", "Peggy", None], "last_name": ["O'Neil", " smith", "x"],
         "phone": ["(212) 555-0123", "nope", None]}
    )  # fmt: skip
    want = standardize(frame.lazy()).collect()
    for workers in (1, 2, 4):
        monkeypatch.setattr(pl, "thread_pool_size", lambda w=workers: w)
        got = _frame.standardize_frame(frame)
        assert got.equals(want), workers
    assert got["first_name_nick"].to_list() == ["william", "margaret", None]


def test_standardise_stage_takes_the_column_path_for_large_frames(monkeypatch):
    from c360 import _frames, _stages
    from c360._standardize import _frame
    from c360.config import ResolveConfig
    from c360.datasets import generate_people

    calls: list[int] = []
    real = _frame.standardize_frame

    def spy(frame, cfg=None):
        calls.append(frame.height)
        return real(frame, cfg)

    monkeypatch.setattr(_frame, "standardize_frame", spy)
    records = generate_people(300, seed=2).records
    cfg = ResolveConfig()
    small = _stages.standardise(records, cfg)
    assert calls == []
    monkeypatch.setattr(_frames, "SPREAD_MIN_ROWS", 100)
    assert _stages.standardise(records, cfg).equals(small)
    assert calls == [records.height]
