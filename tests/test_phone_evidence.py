"""Phone evidence that cannot be validated is kept (issue 10): regions per record, digits."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from c360.autoconfig import auto_blocking, auto_comparisons
from c360.comparisons import PairData, PhoneDigitsComparison, comparison_from_dict
from c360.rules import detect_junk
from c360.standardize import (
    PHONE_DIGITS_NOTE,
    phone_region,
    standardize,
    to_e164_by_region,
)


def _std(frame: pl.DataFrame) -> pl.DataFrame:
    return standardize(frame.lazy()).collect()


def test_national_numbers_are_read_in_the_records_country():
    out = _std(
        pl.DataFrame(
            {
                "phone": ["020 7946 0958", "0049 30 1234567", "(212) 555-0123", "020 7946 0958"],
                "country": ["GB", "Germany", "GB", None],
            }
        )
    )
    # a US-format number on a GB record is still read in the default region
    assert out["phone"].to_list() == ["+442079460958", "+49301234567", "+12125550123", None]


def test_numbers_phonenumbers_rejects_keep_their_digits():
    # the held-out data of issue 10: invalid in a run whose default region is US
    raw = ["375-360-5928", "+1 999 182 2221", "(999) 182-2221", "1-118-991-3598", "0710 648247"]
    out = _std(pl.DataFrame({"phone": [*raw, "call me", "12-34"]}))
    assert out["phone"].to_list() == [None] * 7
    digits = out["phone_digits"].to_list()
    assert all(d is not None and d.isdigit() for d in digits[:5])
    # the same number written two ways agrees
    assert digits[1] == digits[2] == "19991822221"
    assert digits[5:] == [None, None]
    notes = out["_issues"].to_list()
    assert notes[0] == [PHONE_DIGITS_NOTE]
    assert notes[5] == ["phone: invalid, nulled"]


def test_valid_numbers_have_their_e164_digits():
    out = _std(pl.DataFrame({"phone": ["+44 20 7946 0958", "(212) 555-0123"]}))
    assert out["phone_digits"].to_list() == ["442079460958", "12125550123"]
    assert out["_issues"].to_list() == [[], []]


def test_region_names_and_codes():
    df = pl.DataFrame({"c": ["FR", "france", "UK", "usa", "Narnia", None]})
    got = df.select(phone_region(pl.col("c"), "DE")).to_series().to_list()
    assert got == ["FR", "FR", "GB", "US", "DE", "DE"]


def test_by_region_agrees_with_phonenumbers_on_large_batches():
    import phonenumbers

    rng = np.random.default_rng(4)
    regions = ["GB", "DE", "FR", "US"]
    raws, regs = [], []
    for _ in range(600):
        r = regions[int(rng.integers(0, 4))]
        n = phonenumbers.example_number(r)
        nsn = str(n.national_number)
        nsn = nsn[:-3] + "".join(str(d) for d in rng.integers(0, 10, 3))
        raws.append(("0" if r != "US" else "") + nsn)
        regs.append(r)
    df = pl.DataFrame({"p": raws, "r": regs})
    got = df.select(to_e164_by_region(pl.col("p"), pl.col("r"), "US")).to_series().to_list()

    def reference(value: str, region: str) -> str | None:
        for reg in (region, "US"):
            try:
                num = phonenumbers.parse(value, reg)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(num):
                return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        return None

    want = [reference(v, r) for v, r in zip(raws, regs, strict=True)]
    assert got == want
    # a few rows at a time (incremental calls) take phonenumbers directly: same answers
    small = [
        v
        for k in range(0, 60, 6)
        for v in df.slice(k, 6)
        .select(to_e164_by_region(pl.col("p"), pl.col("r"), "US"))
        .to_series()
        .to_list()
    ]
    assert small == want[:60]


def _digits_levels(records: pl.DataFrame, left: list[int], right: list[int]) -> list[int]:
    c = PhoneDigitsComparison("phone_digits")
    data = PairData(records, np.array(left), np.array(right))
    return c.levels(data).tolist()


def test_digits_comparison_counts_only_what_e164_does_not():
    records = pl.DataFrame(
        {
            "phone": ["+12125550123", "+12125550123", None, None, None],
            "phone_digits": ["12125550123", "12125550123", "19991822221", "19991822221", "1555"],
        }
    )
    # both valid: judged elsewhere (null); unvalidated and equal: exact; different: else
    assert _digits_levels(records, [0, 2, 2, 0], [1, 3, 4, 2]) == [-1, 1, 0, 0]
    c = PhoneDigitsComparison("phone_digits", tf_adjust=True)
    assert comparison_from_dict(c.to_dict()) == c


def _records(n_invalid: int) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    n = 400
    phones = [f"(212) 555-{i:04d}" for i in range(n)]
    for i in range(n_invalid):
        phones[i] = f"+1 999 {i:03d} {int(rng.integers(1000, 9999))}"
    return _std(
        pl.DataFrame(
            {
                "source": ["a"] * n,
                "record_id": [str(i) for i in range(n)],
                "first_name": [f"n{i % 50}" for i in range(n)],
                "last_name": [f"s{i % 37}" for i in range(n)],
                "phone": phones,
            }
        )
    )


def test_autoconfig_adds_digits_comparison_and_blocks_on_digits():
    with_invalid = _records(40)
    comps = auto_comparisons(with_invalid)
    assert any(isinstance(c, PhoneDigitsComparison) for c in comps)
    rules = [r.keys for r in auto_blocking(with_invalid).rules]
    assert ("phone_digits",) in rules
    assert ("phone",) not in rules  # implied by the digits rule
    clean = _records(0)
    assert not any(isinstance(c, PhoneDigitsComparison) for c in auto_comparisons(clean))


@pytest.mark.parametrize("value", ["0000000000", "1234567890"])
def test_placeholder_digits_are_junk(value):
    records = pl.DataFrame({"phone": [None, None], "phone_digits": [value, "4420794609"]})
    junk = detect_junk(records)
    assert junk.filter(pl.col("column") == "phone_digits")["value"].to_list() == [value]


def test_digits_shared_by_many_records_are_junk_by_frequency():
    records = pl.DataFrame({"phone_digits": ["18005550100"] * 30 + ["19991822221"] * 2})
    junk = detect_junk(records)
    got = junk.filter(pl.col("column") == "phone_digits")
    assert got["value"].to_list() == ["18005550100"]
    assert "30 records" in got["reason"][0]


def test_region_name_table_matches_phonenumbers():
    from c360._standardize._region_names import REGION_NAMES, build

    assert build() == REGION_NAMES
