"""Phones of the worst-case profile (``c360._synth.worst``).

Every household gets a phone country among ``PHONE_COUNTRIES`` (14, US 40%),
every person a mobile and every household a landline of that country's real
length, from phonenumbers' metadata (half start like the country's example
number, half are random digits and often invalid). A record's phone is the
person's mobile or the household's landline, now and then with a wrong digit,
written in one of the twelve ``PHONE_LAYOUTS``, drawn per record.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import phonenumbers
import polars as pl
from phonenumbers import PhoneNumberType

from c360._synth import tables as T  # noqa: N812
from c360._synth.config import SynthConfig
from c360._synth.text import _digit_typo_expr
from c360._synth.worst_common import _index, _norm, _pick, _rewrite, _Uniform

__all__ = ["PHONE_COUNTRIES", "PHONE_LAYOUTS"]

#: Share of households per phone country.
PHONE_COUNTRIES: Final[dict[str, float]] = {
    "US": 0.40, "GB": 0.06, "DE": 0.06, "FR": 0.05, "ES": 0.05, "IT": 0.05, "NL": 0.04,
    "BR": 0.05, "IN": 0.06, "AU": 0.04, "MX": 0.05, "CH": 0.03, "SE": 0.03, "JP": 0.03,
}  # fmt: skip

#: The phone layouts, each drawn for 1/12 of the records (``a b c``: the national
#: number in groups of 3, 3 and the rest; ``0``: the trunk prefix, if the country has one).
PHONE_LAYOUTS: Final = (
    "+CC a b c",  # +49 151 234 56789
    "+CC-a-b-c",  # +49-151-234-56789
    "00CC NSN",  # 0049 15123456789
    "0NSN",  # 015123456789; US: 2015550123
    "0aa rest",  # 030 1234567; without a trunk prefix: a b c
    "(0aa) rest",  # (030) 1234567; without a trunk prefix: (491) 175-4376
    "0a.b.c",  # 0151.234.56789; US: 951.323.0312
    "... x123",  # +CC a b c or 0NSN, then x123 / ext. 45 / ext 7 / x 12
    "+CC (0) aa rest",  # +44 (0) 20 7946 0958; without a trunk prefix: +1 (491) 175-4376
    "011 CC NSN",  # the US international prefix
    "CCNSN",  # digits only: 4915123456789
    "+CCNSN",  # E.164
)

_MOBILE_SHARE: Final = 0.70  # a record's phone is the mobile, else the household landline
_FOREIGN_MOBILE: Final = 0.10  # a person's mobile is of another country than the household's
_HOME_PHONE: Final = 0.60  # a household outside the US has a phone of its own country
_LIKE_EXAMPLE: Final = 0.50  # a number starts like phonenumbers' example number


@functools.cache
def _phone_table() -> pl.DataFrame:
    """One row per phone country: calling code, trunk prefix, number lengths and prefixes.

    Lengths and leading digits come from phonenumbers' example numbers; a landline
    shorter than nine digits takes the longest fixed-line length up to ten, so that
    numbers of small countries are not all alike.
    """
    rows = []
    for region in PHONE_COUNTRIES:
        md = phonenumbers.PhoneMetadata.metadata_for_region(region)
        assert md is not None, region  # every region of PHONE_COUNTRIES is known
        row: dict[str, object] = {
            "region": region,
            "cc": str(phonenumbers.country_code_for_region(region)),
            "trunk": "0" if md.national_prefix == "0" else "",
        }
        for kind, ptype, desc in (
            ("mob", PhoneNumberType.MOBILE, md.mobile),
            ("fix", PhoneNumberType.FIXED_LINE, md.fixed_line),
        ):
            number = phonenumbers.example_number_for_type(region, ptype)
            assert number is not None, region
            assert desc is not None, region
            example = phonenumbers.national_significant_number(number)
            longer = [n for n in desc.possible_length if len(example) < n <= 10]
            row[f"{kind}_len"] = max(longer) if len(example) < 9 and longer else len(example)
            row[f"{kind}_prefix"] = example[:3]
        rows.append(row)
    return pl.DataFrame(rows)


def _national_numbers(region: np.ndarray, kind: str, rng: np.random.Generator) -> pl.Series:
    """A national significant number per row, of the region's length for ``kind``."""
    tab = _phone_table()
    n = len(region)
    df = pl.DataFrame(
        {
            "r": pl.Series(region, dtype=pl.Int64),
            "like": rng.random(n) < _LIKE_EXAMPLE,
            "first": rng.integers(1, 10, n),
            "tail": rng.integers(0, 10**12, n),
        }
    )
    length = pl.lit(tab[f"{kind}_len"]).gather(pl.col("r")).cast(pl.Int64)
    prefix = pl.lit(tab[f"{kind}_prefix"]).gather(pl.col("r"))
    tail = pl.col("tail").cast(pl.String).str.zfill(12)
    number = (
        pl.when(pl.col("like"))
        .then(pl.concat_str([prefix, tail.str.slice(0, length - prefix.str.len_chars())]))
        .otherwise(pl.concat_str([pl.col("first").cast(pl.String), tail.str.slice(0, length - 1)]))
    )
    return df.select(number.alias("nsn")).to_series()


def _phone_layout(nsn: pl.Expr, cc: pl.Expr, trunk: pl.Expr, u: _Uniform) -> pl.Expr:
    """Write each national number in one of ``PHONE_LAYOUTS``, drawn per row."""
    d = nsn.str.slice
    a, b, c = d(0, 3), d(3, 3), d(6)
    has_trunk = trunk != ""
    plus = pl.concat_str([pl.lit("+"), cc])
    spaced = pl.concat_str([plus, a, b, c], separator=" ")
    national = pl.concat_str([trunk, nsn])
    area = pl.concat_str([trunk, d(0, 2)])
    ext_word = _pick([" x", " ext. ", " ext ", " x ", " Ext."], _index(u(), 5))
    ext_number = (pl.lit(10.0).pow(u() * 4)).floor().cast(pl.Int64).cast(pl.String)
    layouts = [
        spaced,
        pl.concat_str([plus, a, b, c], separator="-"),
        pl.concat_str([pl.lit("00"), cc, pl.lit(" "), nsn]),
        national,
        pl.when(has_trunk)
        .then(pl.concat_str([area, d(2)], separator=" "))
        .otherwise(pl.concat_str([a, b, c], separator=" ")),
        pl.when(has_trunk)
        .then(pl.concat_str([pl.lit("("), area, pl.lit(") "), d(2)]))
        .otherwise(pl.concat_str([pl.lit("("), a, pl.lit(") "), b, pl.lit("-"), c])),
        pl.concat_str([pl.concat_str([trunk, a]), b, c], separator="."),
        pl.concat_str([pl.when(u() < 0.5).then(spaced).otherwise(national), ext_word, ext_number]),
        pl.when(has_trunk)
        .then(pl.concat_str([plus, pl.lit("(0)"), d(0, 2), d(2)], separator=" "))
        .otherwise(pl.concat_str([plus, pl.lit(" ("), a, pl.lit(") "), b, pl.lit("-"), c])),
        pl.concat_str([pl.lit("011"), cc, nsn], separator=" "),
        pl.concat_str([cc, nsn]),
        pl.concat_str([plus, nsn]),
    ]
    k = _index(u(), len(layouts))
    return pl.coalesce([pl.when(k == i).then(layout) for i, layout in enumerate(layouts)])


def _phone_numbers(people: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Per person: ``mobile_nsn, mobile_region, landline_nsn, landline_region`` (+ indices).

    A phone country per household (most households outside the US have one of their
    own country), one landline per household, one mobile per person (10% of them of
    another country than the household's).
    """
    regions = list(PHONE_COUNTRIES)
    weights = _norm(list(PHONE_COUNTRIES.values()))
    n_h = int(people["_hh"].max()) + 1  # type: ignore[arg-type]
    hh_country = people.group_by("_hh").agg(pl.col("country").first()).sort("_hh")["country"]
    hh_region = rng.choice(len(regions), size=n_h, p=weights)
    own = hh_country.replace_strict(
        {c: i for i, c in enumerate(regions)}, default=-1, return_dtype=pl.Int64
    ).to_numpy()
    home = (own >= 0) & (hh_country != "US").to_numpy() & (rng.random(n_h) < _HOME_PHONE)
    hh_region = np.where(home, own, hh_region)
    landline = _national_numbers(hh_region, "fix", rng)
    hh = people["_hh"].to_numpy()
    n_p = people.height
    mob_region = np.where(
        rng.random(n_p) < _FOREIGN_MOBILE,
        rng.choice(len(regions), size=n_p, p=weights),
        hh_region[hh],
    )
    names = np.array(regions)
    return pl.DataFrame(
        {
            "mobile_nsn": _national_numbers(mob_region, "mob", rng),
            "mobile_region": pl.Series(names[mob_region], dtype=pl.String),
            "landline_nsn": landline.gather(pl.Series(hh, dtype=pl.Int64)),
            "landline_region": pl.Series(names[hh_region[hh]], dtype=pl.String),
            "_mob_r": pl.Series(mob_region, dtype=pl.Int64),
            "_fix_r": pl.Series(hh_region[hh], dtype=pl.Int64),
        }
    )


def _phones(
    rec: pl.DataFrame, numbers: pl.DataFrame, cfg: SynthConfig, rng: np.random.Generator
) -> pl.Series:
    """The records' phones: the mobile or the landline, a digit typo, a layout per record."""
    old = rec["phone"]
    rows = (old.is_not_null() & ~old.is_in(T.JUNK_PHONES)).arg_true()
    u = _Uniform(rng, rows.len())
    tab = _phone_table()
    mobile = u() < _MOBILE_SHARE
    pick = numbers.select(
        pl.col("mobile_nsn", "landline_nsn", "_mob_r", "_fix_r").gather(rec["_pi"].gather(rows))
    )
    step = pick.select(
        pl.when(mobile).then(pl.col("mobile_nsn")).otherwise(pl.col("landline_nsn")).alias("n"),
        pl.when(mobile).then(pl.col("_mob_r")).otherwise(pl.col("_fix_r")).alias("r"),
    ).with_columns(
        n=pl.when(u() < cfg.rate("phone_typo_rate"))
        .then(_digit_typo_expr(pl.col("n"), u(), u()))
        .otherwise(pl.col("n")),
        cc=pl.lit(tab["cc"]).gather(pl.col("r")),
        trunk=pl.lit(tab["trunk"]).gather(pl.col("r")),
    )
    phone = step.select(_phone_layout(pl.col("n"), pl.col("cc"), pl.col("trunk"), u)).to_series()
    return _rewrite(old, rows, phone)
