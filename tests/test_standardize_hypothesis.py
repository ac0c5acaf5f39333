"""Hypothesis checks: the vectorised cleaners agree with naive per-value references,
are idempotent, and map null to null."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from unittest import mock

import phonenumbers
import polars as pl
import pytest
from anyascii import anyascii
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c360._standardize import _distinct, _email, _phone_vec, _tables
from c360._standardize._dates import DEFAULT_DATE_FORMATS, ISO_FORMAT
from c360._standardize._phone import to_e164_reference
from c360._standardize._phone_vec import e164_columns
from c360.standardize import (
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
    parse_date,
    split_full_name,
    to_e164,
    to_e164_by_region,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(func, values, *args, dtype=pl.String, **kwargs):
    """``func`` over ``values``, through the vectorised path and the small-batch path.

    Both must give the same result (incremental runs of a few records take the
    small-batch path, full runs the vectorised one).
    """
    df = pl.DataFrame({"x": values}, schema={"x": dtype})
    results = []
    for small in (0, 10**9):
        with mock.patch.object(_distinct, "SMALL", small):
            results.append(df.select(func(pl.col("x"), *args, **kwargs)).to_series().to_list())
    vectorised, per_value = results
    assert per_value == vectorised
    return vectorised


# --- strategies --------------------------------------------------------------------

# characters Python's unicodedata knows (assigned, not surrogates), so that the
# reference and polars' own Unicode tables agree on what they are
assigned = st.characters(exclude_categories=("Cs", "Cn", "Co"))
unicode_text = st.text(assigned, max_size=40)
name_like = st.text(
    st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyzABCXYZ éèöøßłñçÆŒ" + "Дмитрий王Ελένη'\u2019-.,`\u00b4")
    ),
    max_size=30,
)
affix_words = st.sampled_from(
    [*_tables.name_affixes("title"), *_tables.name_affixes("suffix"), "Mr.", "JR.", "Dr", "iii"]
)
name_with_affixes = st.lists(st.one_of(affix_words, name_like), max_size=6).map(" ".join)
long_text = st.text(assigned, min_size=500, max_size=3000)
any_text = st.one_of(unicode_text, name_like, name_with_affixes, long_text, st.none())
text_lists = st.lists(any_text, max_size=25)


# --- naive references --------------------------------------------------------------


def ref_fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.category(c).startswith("M"))
    return s if s.isascii() else anyascii(s)


def ref_words(s: str) -> list[str]:
    s = ref_fold(s).lower().replace("'", "").replace("`", "")
    return re.findall(r"[a-z0-9]+", s)


TITLES = set(_tables.name_affixes("title"))
SUFFIXES = set(_tables.name_affixes("suffix"))
LEGAL = set(_tables.company_legal_forms())
ABBREV = _tables.address_abbreviations()


def ref_clean_name(s: str | None) -> str | None:
    if s is None:
        return None
    words = ref_words(s)
    while len(words) > 1 and words[0] in TITLES:
        words.pop(0)
    while len(words) > 1 and words[-1] in SUFFIXES:
        words.pop()
    return " ".join(words) or None


def ref_clean_text(s: str | None) -> str | None:
    return None if s is None else " ".join(ref_words(s)) or None


def ref_clean_company(s: str | None) -> str | None:
    if s is None:
        return None
    words = ref_words(s)
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    while len(words) > 1 and words[-1] in LEGAL:
        words.pop()
    return " ".join(words) or None


def ref_clean_address(s: str | None) -> str | None:
    if s is None:
        return None
    return " ".join(ABBREV.get(w, w) for w in ref_words(s)) or None


def ref_postcode(s: str | None) -> str | None:
    if s is None:
        return None
    code = "".join(
        c
        for c in unicodedata.normalize("NFKD", s).upper()
        if c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    )
    if len(code) == 9 and code.isdigit():
        code = code[:5]
    return code or None


STRIP = " \t\r\n\x0b\x0c\u00a0"
ATEXT = set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")
LDH = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def ref_clean_email(s: str | None) -> str | None:
    if s is None:
        return None
    e = s.strip(STRIP).lower().removeprefix("mailto:").strip(STRIP)
    return e or None


def ref_valid(e: str | None) -> bool | None:
    if e is None:
        return None
    if e.count("@") != 1 or len(e) > 254:
        return False
    local, domain = e.split("@")
    if not 0 < len(local) <= 64:
        return False
    if any(not part or not set(part) <= ATEXT for part in local.split(".")):
        return False
    labels = domain.split(".")
    if len(labels) < 2:
        return False
    for label in labels[:-1]:
        if not 0 < len(label) <= 63 or not set(label) <= LDH:
            return False
        if label.startswith("-") or label.endswith("-"):
            return False
    tld = labels[-1]
    if tld.startswith("xn--"):
        return 5 <= len(tld) <= 63 and set(tld) <= LDH
    return 2 <= len(tld) <= 63 and tld.isascii() and tld.isalpha()


def ref_canonical(s: str | None) -> str | None:
    e = ref_clean_email(s)
    if not e or not ref_valid(e):
        return None
    local, domain = e.split("@")
    domain = _email.DOMAIN_ALIASES.get(domain, domain)
    if domain in _email.PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _email.DOTLESS_DOMAINS:
        local = local.replace(".", "")
    out = f"{local}@{domain}"
    return out if local and ref_valid(out) else None


# --- names and text ----------------------------------------------------------------


@SETTINGS
@given(st.lists(st.text(assigned, min_size=1, max_size=40), min_size=1, max_size=200))
def test_transliteration_per_character_is_anyascii_per_value(values):
    """Other scripts are transliterated through their distinct characters, as anyascii would."""
    from c360._standardize._text import _transliterate_series

    series = pl.Series(values, dtype=pl.String)
    with mock.patch.object(_distinct, "SMALL", 0):
        assert _transliterate_series(series).to_list() == [anyascii(v) for v in values]


@SETTINGS
@given(text_lists)
def test_clean_name_matches_reference_and_is_idempotent(values):
    out = run(clean_name, values)
    assert out == [ref_clean_name(v) for v in values]
    assert run(clean_name, out) == out


@SETTINGS
@given(text_lists)
def test_clean_text_company_address_match_references(values):
    assert run(clean_text, values) == [ref_clean_text(v) for v in values]
    assert run(clean_company, values) == [ref_clean_company(v) for v in values]
    address = run(clean_address, values)
    assert address == [ref_clean_address(v) for v in values]
    assert run(clean_address, address) == address
    numbers = run(house_number, values)
    for a, n in zip(address, numbers, strict=True):
        assert n is None or (a is not None and a.split(" ")[0] == n)


@SETTINGS
@given(text_lists)
def test_postcode_and_national_id(values):
    codes = run(clean_postcode, values)
    assert codes == [ref_postcode(v) for v in values]
    assert run(clean_postcode, codes) == codes
    ids = run(clean_national_id, values)
    assert all(i is None or not re.search(r"[ \t\n\r\f\v\-./]", i) for i in ids)
    assert run(clean_national_id, ids) == ids
    assert [i is None for i, v in zip(ids, values, strict=True) if v is None] == [
        True for v in values if v is None
    ]


@SETTINGS
@given(st.lists(st.one_of(name_with_affixes, st.none()), max_size=25))
def test_split_full_name_parts_are_clean(values):
    df = pl.DataFrame({"x": values}, schema={"x": pl.String})
    parts = df.select(split_full_name(pl.col("x")).alias("p")).unnest("p")
    for value, (first, middle, last) in zip(values, parts.rows(), strict=True):
        if value is None:
            assert (first, middle, last) == (None, None, None)
        for part in (first, middle, last):
            assert part is None or re.fullmatch(r"[a-z0-9]+(?: [a-z0-9]+)*", part)
        if first is None and middle is None and last is None and value is not None:
            assert ref_clean_name(value.replace(",", " ")) is None or "," in value


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(sorted(_tables.nicknames())), name_like, st.none())))
def test_nickname_canonical_is_idempotent(values):
    once = run(nickname_canonical, values)
    assert run(nickname_canonical, once) == once
    assert [o is None for o in once] == [v is None for v in values]


@SETTINGS
@given(text_lists)
def test_phonetic_null_in_null_out(values):
    codes = run(metaphone, values)
    for value, code in zip(values, codes, strict=True):
        if value is None or not re.search(r"[A-Za-z]", value):
            assert code is None


# --- e-mail ------------------------------------------------------------------------

local_chars = st.sampled_from([*"abcXYZ019._+-'!#", "é", " "])
domains = st.sampled_from(
    [
        "gmail.com",
        "GoogleMail.com",
        "outlook.com",
        "yahoo.com",
        "example.co.uk",
        "xn--bcher-kva.example",
        "a-b.io",
        "-bad.com",
        "x.c",
        "localhost",
        "ex..com",
    ]
)
emails = st.one_of(
    st.builds(
        lambda pre, local, dom, post: f"{pre}{local}@{dom}{post}",
        st.sampled_from(["", " ", "mailto:", "\t"]),
        st.text(local_chars, min_size=0, max_size=70),
        domains,
        st.sampled_from(["", " ", "\n"]),
    ),
    unicode_text,
    st.none(),
)


@SETTINGS
@given(st.lists(emails, max_size=25))
def test_email_functions_match_references(values):
    cleaned = run(clean_email, values)
    assert cleaned == [ref_clean_email(v) for v in values]
    assert run(email_is_valid, values) == [ref_valid(c) for c in cleaned]
    canonical = run(canonical_email, values)
    assert canonical == [ref_canonical(v) for v in values]
    assert run(canonical_email, canonical) == canonical


# --- phones ------------------------------------------------------------------------

separators = st.sampled_from(["", " ", "-", ".", "  "])
phones = st.one_of(
    st.builds(
        lambda prefix, area, s1, exchange, s2, line, ext, paren: (
            f"{prefix}{'(' + area + ')' if paren else area}{s1}{exchange}{s2}{line}{ext}"
        ),
        st.sampled_from(["", "1", "1 ", "+1", "+1 ", "+1-", "1.", "+44 ", "+", "011 ", " "]),
        st.text("0123456789", min_size=3, max_size=3),
        separators,
        st.text("0123456789", min_size=3, max_size=3),
        separators,
        st.text("0123456789", min_size=3, max_size=5),
        st.sampled_from(["", " x12", " ext. 345", " ext 1234567", "#7", " X 9"]),
        st.booleans(),
    ),
    st.text("0123456789 +-().", max_size=16),
    unicode_text,
    st.none(),
)


@SETTINGS
@pytest.mark.parametrize("region", ["US", "CA", "GB"])
@given(values=st.lists(phones, max_size=25))
def test_to_e164_matches_phonenumbers(region, values):
    out = run(to_e164, values, region)
    assert out == [to_e164_reference(v, region) for v in values]
    assert run(to_e164, out, region) == out
    possible = run(to_e164, values, region, validation="possible")
    assert possible == [to_e164_reference(v, region, "possible") for v in values]


def test_to_e164_fast_path_agrees_on_many_north_american_numbers():
    # every area code and a spread of exchanges, through the polars fast path
    values = [
        f"({a:03d}) {e:03d}-{(a * e) % 10000:04d}"
        for a in range(200, 1000)
        for e in (201, 555, 911)
    ]
    out = run(to_e164, values)
    assert out == [to_e164_reference(v) for v in values]
    assert sum(o is not None for o in out) > 1000
    assert phonenumbers.is_valid_number(phonenumbers.parse(next(o for o in out if o)))


# International numbers: every region's example numbers (and one-digit variants of
# them) in the layouts exports use, read with many default regions. The vectorised
# path must give exactly what phonenumbers gives, and leave to it only what it
# cannot decide.
_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _examples(region):
    out = []
    for kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
    ):
        n = phonenumbers.example_number_for_type(region, kind)
        if n is not None:
            out.append((n.country_code, phonenumbers.national_significant_number(n)))
    return out


_EXAMPLES = [(r, cc, nsn) for r in _REGIONS for cc, nsn in _examples(r)]
_TRUNK = {
    r: phonenumbers.PhoneMetadata.metadata_for_region(r).national_prefix or "" for r in _REGIONS
}


def _layout(example, edit, layout, sep):
    region, cc, nsn = example
    pos, digit, kind = edit
    if kind == 1 and nsn:
        nsn = nsn[: pos % len(nsn)] + str(digit) + nsn[pos % len(nsn) + 1 :]
    elif kind == 2:
        nsn = nsn + str(digit)
    elif kind == 3 and len(nsn) > 3:
        nsn = nsn[:-1]
    grouped = sep.join(nsn[i : i + 3] for i in range(0, len(nsn), 3))
    trunk = _TRUNK[region]
    return [
        f"+{cc} {grouped}",
        f"+{cc}-{nsn}",
        f"00{cc} {grouped}",
        f"011 {cc} {nsn}",
        f"0011{cc}{nsn}",
        f"{trunk}{grouped}",
        f"({trunk}{nsn[:3]}) {nsn[3:]}",
        f"+{cc} ({trunk}) {grouped}",
        f"{cc}{nsn}",
        f"{grouped} x{digit + 1}",
        f"+{cc}{nsn} ext. {pos}",
        f"(+{cc}) {grouped}",
        f"{nsn}",
    ][layout]


intl_phones = st.builds(
    _layout,
    st.sampled_from(_EXAMPLES),
    st.tuples(st.integers(0, 20), st.integers(0, 9), st.integers(0, 4)),
    st.integers(0, 12),
    st.sampled_from(["", " ", "-", ".", "/"]),
)


@SETTINGS
@pytest.mark.parametrize("region", ["US", "GB", "DE", "FR", "IT", "AU", "BR", "IN", "JP", "AR"])
@given(values=st.lists(st.one_of(intl_phones, phones), min_size=1, max_size=40))
def test_to_e164_international_matches_phonenumbers(region, values):
    for validation in ("valid", "possible"):
        with mock.patch.object(_phone_vec, "_SMALL_GROUP", 0):  # every group vectorised
            out = run(to_e164, values, region, validation=validation)
        assert out == [to_e164_reference(v, region, validation) for v in values]


@SETTINGS
@given(
    values=st.lists(st.one_of(intl_phones, phones, st.none()), min_size=1, max_size=40),
    regions=st.lists(st.sampled_from(["US", "GB", "DE", "FR", "BR", "JP", None]), min_size=40),
)
def test_both_readings_from_one_parse_match_the_two_readings(values, regions):
    # standardize reads each number once for the phone column (valid) and for its
    # digits (possible); that must give exactly what two separate readings give
    from c360._standardize._phone import e164_readings

    df = pl.DataFrame({"x": values, "r": regions[: len(values)]})
    for small in (0, 10**9):
        with (
            mock.patch.object(_distinct, "SMALL", small),
            mock.patch.object(_phone_vec, "_SMALL_GROUP", 0),
        ):
            got = df.select(
                e164_readings(pl.col("x"), pl.col("r").fill_null("US"), "US").struct.unnest()
            )
            for validation in ("valid", "possible"):
                want = df.select(
                    to_e164_by_region(
                        pl.col("x"), pl.col("r").fill_null("US"), "US", validation=validation
                    )
                ).to_series()
                assert got[validation].to_list() == want.to_list(), (validation, small)


@SETTINGS
@given(
    values=st.lists(st.one_of(intl_phones, phones, st.none()), min_size=1, max_size=40),
    regions=st.lists(
        st.sampled_from(["US", "GB", "DE", "FR", "BR", "JP", "AG", "ZZ", None]), min_size=40
    ),
)
def test_vectorised_phone_path_reads_each_row_in_its_own_region(values, regions):
    # one column, a region per row: the first steps run per region, the last
    # ones once over all rows; every decided row must be what phonenumbers gives
    # in that row's region, and the by-region reading (own region, then the
    # default) must match phonenumbers record by record
    from c360._standardize._phone import record_readers

    regs = regions[: len(values)]
    for validation in ("valid", "possible"):
        with (
            mock.patch.object(_phone_vec, "_SMALL_GROUP", 0),
            mock.patch.object(_phone_vec, "_SMALL_REGION", 0),
        ):
            out, decided = e164_columns(
                pl.Series(values, dtype=pl.String), pl.Series(regs), validation
            )
        for v, r, o, d in zip(values, regs, out.to_list(), decided.to_list(), strict=True):
            if d:
                assert o == (None if v is None else to_e164_reference(v, r, validation)), (v, r)
            else:
                assert v is not None
        one, _ = record_readers("US", validation)
        df = pl.DataFrame({"x": values, "r": regs}, schema={"x": pl.String, "r": pl.String})
        for small in (0, 10**9):
            with (
                mock.patch.object(_distinct, "SMALL", small),
                mock.patch.object(_phone_vec, "_SMALL_GROUP", 0),
                mock.patch.object(_phone_vec, "_SMALL_REGION", 0),
            ):
                got = df.select(
                    to_e164_by_region(pl.col("x"), pl.col("r"), "US", validation=validation)
                ).to_series()
            want = [one(v, r or "US") for v, r in zip(values, regs, strict=True)]
            assert got.to_list() == want, (validation, small)


def test_vectorised_phone_path_decides_every_region_and_layout():
    # all regions x all layouts in one column: exact, and nearly all decided without
    # phonenumbers (only non-geographic codes such as +800 are left to it)
    values = [
        _layout(ex, (k, k % 10, k % 5), layout, " ")
        for k, ex in enumerate(_EXAMPLES)
        for layout in range(13)
    ]
    for region in ("US", "DE", "BR", "AG", "SM"):
        for validation in ("valid", "possible"):
            with mock.patch.object(_phone_vec, "_SMALL_GROUP", 0):
                out, decided = e164_columns(pl.Series(values), region, validation)
            pairs = [(v, o) for v, o, d in zip(values, out.to_list(), decided.to_list()) if d]
            assert [o for _, o in pairs] == [
                to_e164_reference(v, region, validation) for v, _ in pairs
            ]
            assert len(pairs) > 0.97 * len(values)
    assert sum(o is not None for o in out.to_list()) > 0.4 * len(values)


# --- dates -------------------------------------------------------------------------


def ref_parse(s: str | None, formats=DEFAULT_DATE_FORMATS) -> dt.date | None:
    if s is None:
        return None
    text = " ".join(s.replace(",", " ").split())
    m = re.fullmatch(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ].*", text)
    if m:
        text = m.group(1)
    for fmt in dict.fromkeys((ISO_FORMAT, *formats)):
        for variant in {fmt, fmt.replace("%B", "%b")}:
            try:
                return dt.datetime.strptime(text, variant).date()
            except ValueError:
                continue
    return None


date_strings = st.builds(
    lambda d, fmt, upper, pad: pad + (d.strftime(fmt).upper() if upper else d.strftime(fmt)) + pad,
    st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2999, 12, 31)),
    st.sampled_from(
        [ISO_FORMAT, *DEFAULT_DATE_FORMATS, "%d %b %Y", "%b %d, %Y", "%Y-%m-%dT%H:%M:%S"]
    ),
    st.booleans(),
    st.sampled_from(["", " "]),
)


@SETTINGS
@given(st.lists(st.one_of(date_strings, st.none()), max_size=25))
def test_parse_date_matches_reference(values):
    out = run(parse_date, values)
    assert out == [ref_parse(v) for v in values]
    assert all(o is not None for o, v in zip(out, values, strict=True) if v is not None)


@SETTINGS
@given(text_lists)
def test_parse_date_on_junk_is_null_or_date_and_idempotent(values):
    out = run(parse_date, values)
    assert all(o is None or isinstance(o, dt.date) for o in out)
    assert run(parse_date, out, dtype=pl.Date) == out


# --- null in, null out -------------------------------------------------------------


@pytest.mark.parametrize(
    "func",
    [
        clean_name,
        clean_text,
        clean_company,
        clean_address,
        house_number,
        clean_postcode,
        clean_national_id,
        clean_email,
        email_is_valid,
        canonical_email,
        to_e164,
        parse_date,
        metaphone,
        nickname_canonical,
    ],
)
def test_null_in_null_out(func):
    assert run(func, [None, None, None]) == [None, None, None]
    assert run(func, []) == []
