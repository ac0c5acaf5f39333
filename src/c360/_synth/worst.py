# ruff: noqa: RUF001  (the transliteration tables hold Cyrillic and Greek letters)
"""Worst-case value shapes for synthetic people: the ``"worst"`` profile of the generator.

The standard generator writes values in a handful of tidy shapes: phones of four
countries in their usual layouts, e-mails of common patterns at a few dozen
domains, short street lines, ``Date`` birth dates. A resolver tuned on that can be
fast there and slow on real exports, where almost every value is distinct and
formats are mixed within one source. [`worst_case`][worst_case] re-renders an
existing [`Generated`][c360._synth.people.Generated] set into such shapes, to
benchmark speed on them. It keeps the rows, their keys, the truth and the null
pattern; only the values change:

- **phones**: every household gets a phone country among 14 (US 40%, then GB,
  DE, FR, ES, IT, NL, BR, IN, AU, MX, CH, SE, JP), every person a mobile and
  every household a landline of that country's real length (from phonenumbers'
  metadata; half start like the country's example number, half are random
  digits and often invalid), written per record in one of twelve layouts
  (``PHONE_LAYOUTS``);
- **e-mails**: one (almost always distinct) address per person, a name-based
  local part with a personal token, at a big provider or a generated company
  domain (nearly one per person); typos and mixed case per record;
- **addresses**: long free-text street lines per household and address
  (house number and letter, directions, multi-word street names, building,
  unit), in US/GB, German or French style, abbreviated and cased per record;
  units in ``address_line2``;
- **dates of birth**: text in mixed formats per record (``DOB_FORMATS``);
- **names**: about 3% of people are written in Cyrillic, Greek or CJK-looking
  characters in one of their sources.

Placeholder ("junk") values of the standard generator are kept as they are, as
are ``updated_at``, city, state, postcode, country, company and national id.
Everything is whole-column numpy and polars work.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Final

import numpy as np
import phonenumbers
import polars as pl
from phonenumbers import PhoneNumberType

from c360._synth import tables as T  # noqa: N812
from c360._synth.people import (
    Generated,
    SynthConfig,
    _digit_typo_expr,
    _fold_expr,
    _slug_expr,
    _typo_expr,
)

__all__ = ["DOB_FORMATS", "PHONE_COUNTRIES", "PHONE_LAYOUTS", "worst_case"]

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

#: Date-of-birth formats (strftime) and the sources that write them. Day-first and
#: month-first numeric dates never meet in one source: c360 decides the day/month
#: order of ``NN/NN/YYYY`` and ``NN.NN.YYYY`` per source column, and nulls the
#: ambiguous values of a column that holds both orders.
DOB_FORMATS: Final[dict[str, str]] = {
    "%Y-%m-%d": "all",  # 1980-01-02
    "%Y/%m/%d": "all",  # 1980/01/02
    "%-d %b %Y": "all",  # 2 Jan 1980
    "%B %-d, %Y": "all",  # January 2, 1980
    "%Y%m%d": "all",  # 19800102
    "%m/%d/%Y": "crm",  # 01/02/1980, US style, crm only
    "%d.%m.%Y": "not crm",  # 02.01.1980, every other source
}

_MOBILE_SHARE: Final = 0.70  # a record's phone is the mobile, else the household landline
_FOREIGN_MOBILE: Final = 0.10  # a person's mobile is of another country than the household's
_HOME_PHONE: Final = 0.60  # a household outside the US has a phone of its own country
_LIKE_EXAMPLE: Final = 0.50  # a number starts like phonenumbers' example number
_SCRIPT_RATE: Final = 0.03  # people written in a non-Latin script in one source
_CASE_RATE: Final = 0.10  # e-mails and street lines in unusual case
_INITIALS: Final = tuple("abcdehjklmnprstw")  # a middle initial for people without a middle name

# --------------------------------------------------------------------------------------
# word lists
# --------------------------------------------------------------------------------------

_BIG_PROVIDERS: Final = (
    ("gmail.com", 30), ("yahoo.com", 12), ("hotmail.com", 10), ("outlook.com", 9),
    ("icloud.com", 6), ("aol.com", 4), ("gmx.de", 4), ("web.de", 3), ("orange.fr", 3),
    ("yahoo.co.uk", 3), ("btinternet.com", 2), ("libero.it", 2), ("mail.ru", 2),
    ("uol.com.br", 2), ("rediffmail.com", 2), ("protonmail.com", 2), ("live.com", 2),
    ("msn.com", 1), ("comcast.net", 2), ("free.fr", 2), ("t-online.de", 2), ("qq.com", 1),
)  # fmt: skip
_DOMAIN_WORDS: Final = (
    "acme", "apex", "alpine", "atlas", "aurora", "beacon", "blue", "bright", "cedar",
    "central", "clear", "coastal", "crest", "crown", "delta", "eagle", "east", "echo",
    "evergreen", "first", "fusion", "global", "golden", "granite", "green", "harbor",
    "horizon", "iron", "keystone", "lake", "liberty", "lumen", "maple", "meridian",
    "metro", "north", "nova", "oak", "omega", "orbit", "pacific", "peak", "pine",
    "pioneer", "prime", "quantum", "red", "ridge", "river", "rock", "sierra", "silver",
    "south", "spring", "star", "summit", "sun", "union", "valley", "vertex", "west",
)  # fmt: skip
_DOMAIN_KINDS: Final = (
    "", "tech", "labs", "group", "partners", "consulting", "logistics", "media", "health",
    "foods", "systems", "capital", "law", "design", "energy", "motors", "realty", "travel",
    "works", "solutions", "digital", "supply", "bank", "insurance", "studio",
)  # fmt: skip
_TLDS: Final = (
    ".com", ".com", ".com", ".net", ".org", ".io", ".co", ".co.uk", ".de", ".fr", ".biz", ".us",
    ".es", ".it", ".nl", ".com.br", ".in", ".com.au", ".mx", ".ch", ".se", ".jp",
)  # fmt: skip

_STREET_WORDS: Final = (
    "Old", "Mill", "Creek", "Oak", "Maple", "Cedar", "Pine", "Elm", "Willow", "Birch",
    "Hickory", "Walnut", "Chestnut", "Spruce", "Aspen", "Magnolia", "Laurel", "Holly", "Ivy",
    "Rose", "Meadow", "Valley", "Hill", "Ridge", "Lake", "River", "Spring", "Brook", "Forest",
    "Park", "Orchard", "Harbor", "Bay", "Beach", "Sunset", "Sunrise", "Highland", "Stone",
    "Rock", "Iron", "Copper", "Silver", "Golden", "Cherry", "Apple", "Peach", "Fox", "Deer",
    "Eagle", "Hawk", "Falcon", "Bear", "Wolf", "Quail", "Heron", "Church", "School", "Market",
    "Station", "Bridge", "Canal", "Castle", "Abbey", "Manor", "Chapel", "Green", "Common",
    "Field", "Prairie", "Canyon", "Mesa", "Summit", "Pleasant", "Fair", "Liberty", "Union",
    "Franklin", "Jefferson", "Lincoln", "Washington", "Madison", "Jackson", "Cambridge",
    "Oxford", "Windsor", "Victoria", "King", "Queen", "Prince", "Crown", "Hidden", "Misty",
    "Shady", "Quiet", "Windy", "Rolling", "Whispering", "Country", "Saint Andrews",
)  # fmt: skip
_STREET_TYPES: Final = (
    ("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Boulevard", "Blvd"), ("Lane", "Ln"),
    ("Drive", "Dr"), ("Court", "Ct"), ("Place", "Pl"), ("Terrace", "Ter"), ("Parkway", "Pkwy"),
    ("Circle", "Cir"), ("Way", "Wy"), ("Highway", "Hwy"), ("Trail", "Trl"),
    ("Crescent", "Cres"), ("Square", "Sq"), ("Close", "Cl"), ("Grove", "Grv"),
    ("Heights", "Hts"), ("Extension", "Ext"),
)  # fmt: skip
_DIRECTIONS: Final = (
    ("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"), ("Northeast", "NE"),
    ("Northwest", "NW"), ("Southeast", "SE"), ("Southwest", "SW"),
)  # fmt: skip
_UNITS_EN: Final = (("Apartment", "Apt"), ("Suite", "Ste"), ("Unit", "Unit"), ("Flat", "Flt"))
_BUILDINGS_EN: Final = (("Building", "Bldg"), ("Tower", "Twr"), ("Block", "Blk"), ("Wing", "Wing"))
_DE_WORDS: Final = (
    "Linden", "Berg", "Kirch", "Mühlen", "Schiller", "Goethe", "Bahnhof", "Garten", "Wald",
    "Feld", "See", "Rosen", "Birken", "Eichen", "Buchen", "Tannen", "Schul", "Markt",
    "Brunnen", "Burg", "Sonnen", "Wiesen", "Park", "Dorf", "Hafen", "Schloss", "Kloster",
    "Mozart", "Beethoven", "Friedrich", "Wilhelm", "Heide", "Ahorn", "Lerchen", "Amsel",
)  # fmt: skip
_DE_TYPES: Final = (
    ("straße", "str."), ("weg", "weg"), ("allee", "allee"), ("platz", "pl."),
    ("gasse", "gasse"), ("ring", "ring"), ("damm", "damm"),
)  # fmt: skip
_FR_NAMES: Final = (
    "de la Paix", "de la République", "Victor Hugo", "Jean Jaurès", "Pasteur", "Gambetta",
    "de l'Église", "de la Gare", "du Moulin", "de la Fontaine", "du Château", "des Lilas",
    "des Roses", "des Tilleuls", "des Marronniers", "des Pins", "des Chênes", "des Prés",
    "des Vignes", "Carnot", "de la Liberté", "du Commerce", "de la Poste", "de la Mairie",
    "de la Source", "du Pont", "de la Forge", "de Verdun", "Foch", "Voltaire",
    "Émile Zola", "du Général de Gaulle", "des Écoles", "du Stade", "des Acacias",
)  # fmt: skip
_FR_TYPES: Final = (
    ("rue", "rue"), ("avenue", "av."), ("boulevard", "bd"), ("chemin", "ch."),
    ("allée", "allée"), ("impasse", "imp."), ("place", "pl."), ("quai", "quai"),
)  # fmt: skip

# transliteration of (ASCII-folded, lower-case) Latin names; longest patterns first
_CYRILLIC: Final = {
    "shch": "щ", "sh": "ш", "ch": "ч", "zh": "ж", "kh": "х", "ts": "ц", "th": "т", "ya": "я",
    "yu": "ю", "yo": "ё", "ay": "ай", "ey": "ей", "oy": "ой", "a": "а", "b": "б", "c": "к",
    "d": "д", "e": "е", "f": "ф",
    "g": "г", "h": "х", "i": "и", "j": "дж", "k": "к", "l": "л", "m": "м", "n": "н",
    "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в",
    "w": "в", "x": "кс", "y": "и", "z": "з",
}  # fmt: skip
_GREEK: Final = {
    "th": "θ", "ph": "φ", "ch": "χ", "ps": "ψ", "ou": "ου", "a": "α", "b": "β", "c": "κ",
    "d": "δ", "e": "ε", "f": "φ", "g": "γ", "h": "", "i": "ι", "j": "τζ", "k": "κ", "l": "λ",
    "m": "μ", "n": "ν", "o": "ο", "p": "π", "q": "κ", "r": "ρ", "s": "σ", "t": "τ",
    "u": "ου", "v": "β", "w": "ου", "x": "ξ", "y": "υ", "z": "ζ",
}  # fmt: skip
_CJK: Final = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        "安贝克德恩福格赫伊杰凯尔梅纳欧佩丘罗斯特乌维沃克亚兹",
        strict=True,
    )
)

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _norm(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(weights, dtype=np.float64)
    return a / a.sum()  # type: ignore[no-any-return]


def _pick(values: Sequence[str], idx: pl.Expr) -> pl.Expr:
    """``values[idx]`` for an integer index expression."""
    return pl.lit(pl.Series(list(values), dtype=pl.String)).gather(idx)


def _index(u: pl.Expr, n: int) -> pl.Expr:
    """A uniform index in ``0..n-1`` from a uniform [0, 1) column."""
    return (u * n).floor().cast(pl.Int64).clip(0, n - 1)


def _recase(new: pl.Expr, old: pl.Expr) -> pl.Expr:
    """Upper- or lower-case ``new`` where the source wrote ``old`` all upper or all lower."""
    cased = old.str.contains(r"\p{L}")
    return (
        pl.when(cased & (old == old.str.to_uppercase()))
        .then(new.str.to_uppercase())
        .when(cased & (old == old.str.to_lowercase()))
        .then(new.str.to_lowercase())
        .otherwise(new)
    )


def _rewrite(old: pl.Series, rows: pl.Series, new: pl.Series) -> pl.Series:
    """A text copy of ``old`` with the values at positions ``rows`` replaced by ``new``."""
    out = old.cast(pl.String).clone()
    return out.scatter(rows, new) if rows.len() else out


class _Uniform:
    """Fresh uniform [0, 1) columns of a fixed length, drawn from one generator."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n

    def __call__(self) -> pl.Expr:
        return pl.lit(pl.Series(self.rng.random(self.n)))


# --------------------------------------------------------------------------------------
# phones
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# e-mails
# --------------------------------------------------------------------------------------


def _person_emails(people: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """One address per person: name-based local part with a personal token, many domains."""
    n = people.height
    u = _Uniform(rng, n)
    s = pl.col
    step = people.select(
        _slug_expr(s("first_name")).alias("f"),
        _slug_expr(s("last_name")).alias("l"),
        _slug_expr(s("middle_name").fill_null("")).str.slice(0, 1).alias("m"),
    ).with_columns(
        m=pl.when(s("m") != "").then(s("m")).otherwise(_pick(_INITIALS, _index(u(), 16))),
        sep=_pick([".", "_", "", "."], _index(u(), 4)),
        kind=_index(u(), 7),
    )
    f, last, m, sep, kind = s("f"), s("l"), s("m"), s("sep"), s("kind")
    stem = (
        pl.when(kind == 0).then(pl.concat_str([f, sep, last]))
        .when(kind == 1).then(pl.concat_str([f.str.slice(0, 1), sep, last]))
        .when(kind == 2).then(pl.concat_str([last, sep, f]))
        .when(kind == 3).then(pl.concat_str([f, sep, last.str.slice(0, 1)]))
        .when(kind == 4).then(pl.concat_str([f, sep, m, sep, last]))
        .when(kind == 5).then(pl.concat_str([f, last.str.slice(0, 3)]))
        .otherwise(pl.concat_str([last, f.str.slice(0, 1)]))
    )  # fmt: skip
    width = _index(u(), 4) + 1  # 1..4 digits
    digits = (u() * pl.lit(10).pow(width)).floor().cast(pl.Int64).cast(pl.String)
    token_u = u()
    token = (
        pl.when(token_u < 0.08)
        .then(pl.lit(""))
        .when(token_u < 0.25)
        .then(pl.concat_str([m, digits]))
        .otherwise(pl.concat_str([sep, digits]).str.strip_chars_start("_"))
    )
    provider = rng.choice(len(_BIG_PROVIDERS), size=n, p=_norm([w for _, w in _BIG_PROVIDERS]))
    big = _pick([d for d, _ in _BIG_PROVIDERS], pl.lit(pl.Series(provider)))
    words = _DOMAIN_WORDS
    popular = rng.choice(len(words), size=n, p=_norm(1.0 / np.arange(1, len(words) + 1) ** 0.6))
    company = pl.concat_str(
        [
            _pick(words, pl.lit(pl.Series(popular))),
            pl.when(u() < 0.2).then(pl.lit("-")).otherwise(pl.lit("")),
            _pick(words, _index(u(), len(words))),
            _pick(_DOMAIN_KINDS, _index(u(), len(_DOMAIN_KINDS))),
            _pick(_TLDS, _index(u(), len(_TLDS))),
        ]
    )
    domain = pl.when(u() < 0.5).then(big).otherwise(company)
    local = pl.concat_str([stem, token])
    local = pl.when(local.str.len_chars() > 0).then(local).otherwise(pl.lit("user"))
    return step.select(pl.concat_str([local, pl.lit("@"), domain]).alias("email")).to_series()


def _emails(
    rec: pl.DataFrame, emails: pl.Series, cfg: SynthConfig, rng: np.random.Generator
) -> pl.Series:
    """The person's address on every record that had one, with typos and mixed case."""
    old = rec["email"]
    rows = (old.is_not_null() & ~old.is_in(T.JUNK_EMAILS)).arg_true()
    u = _Uniform(rng, rows.len())
    s = pl.col
    step = (
        pl.DataFrame({"e": emails.gather(rec["_pi"].gather(rows))})
        .select(
            s("e").str.extract(r"^([^@]*)@", 1).alias("local"),
            s("e").str.extract(r"@(.*)$", 1).alias("domain"),
        )
        .with_columns(
            local=pl.when(u() < cfg.rate("email_typo_rate"))
            .then(_typo_expr(s("local"), u(), u(), u()))
            .otherwise(s("local"))
        )
    )
    plain = pl.concat_str([s("local"), pl.lit("@"), s("domain")])
    case = u()
    local = s("local")
    capital = pl.concat_str(
        [local.str.slice(0, 1).str.to_uppercase(), local.str.slice(1), pl.lit("@"), s("domain")]
    )
    new = (
        pl.when(case < _CASE_RATE * 0.4)
        .then(plain.str.to_uppercase())
        .when(case < _CASE_RATE * 0.8)
        .then(capital)
        .when(case < _CASE_RATE)
        .then(plain.str.to_titlecase())
        .otherwise(plain)
    )
    return _rewrite(old, rows, step.select(new).to_series())


# --------------------------------------------------------------------------------------
# addresses
# --------------------------------------------------------------------------------------


def _address_keys(n: int, country: pl.Series, rng: np.random.Generator) -> pl.DataFrame:
    """Draw the parts of ``n`` addresses (one per household and address version)."""
    house = np.clip(np.exp(rng.normal(6.0, 1.5, n)).astype(np.int64), 1, 29999)

    def some(p: float, k: int) -> np.ndarray:
        """An index below ``k`` for a share ``p`` of the rows, else -1 (absent)."""
        return np.where(rng.random(n) < p, rng.integers(0, k, n), -1)

    return pl.DataFrame(
        {
            "country": country,
            "house": house,
            "house_fr": rng.integers(1, 250, n),
            "letter": some(0.12, 4),
            "pre": some(0.35, len(_DIRECTIONS)),
            "post": some(0.06, len(_DIRECTIONS)),
            "w1": rng.integers(0, len(_STREET_WORDS), n),
            "w2": some(0.75, len(_STREET_WORDS)),
            "w3": some(0.30, len(_STREET_WORDS)),
            "stype": rng.integers(0, len(_STREET_TYPES), n),
            "de1": rng.integers(0, len(_DE_WORDS), n),
            "de2": some(0.6, len(_DE_WORDS)),
            "detype": rng.integers(0, len(_DE_TYPES), n),
            "fr1": rng.integers(0, len(_FR_NAMES), n),
            "fr2": some(0.4, len(_FR_NAMES)),
            "frtype": rng.integers(0, len(_FR_TYPES), n),
            "unit_kind": rng.integers(0, len(_UNITS_EN), n),
            "unit_no": rng.integers(1, 1200, n),
            "unit_letter": some(0.3, 8),
            "unit_in_line1": rng.random(n) < 0.35,
            "building": some(0.15, len(_BUILDINGS_EN)),
            "building_no": rng.integers(0, 12, n),
        }
    )


def _opt(values: Sequence[str], idx: pl.Expr, *, before: str = "") -> pl.Expr:
    """``before + values[idx]`` where ``idx >= 0``, else the empty string."""
    safe = pl.when(idx >= 0).then(idx).otherwise(0)
    text = pl.concat_str([pl.lit(before), _pick(values, safe)])
    return pl.when(idx >= 0).then(text).otherwise(pl.lit(""))


def _address_lines(keys: pl.DataFrame, u: _Uniform | None) -> pl.DataFrame:
    """``line1`` (street and building), ``line1_unit`` (with the unit) and ``line2`` (unit).

    ``keys`` holds the drawn parts, one row per output row. With ``u`` each row
    abbreviates, punctuates and orders the parts its own way; without it the
    canonical form is written (full words; ``line1`` and ``line2`` only).
    """
    s = pl.col

    def draw(p: float) -> pl.Expr:
        return pl.lit(False) if u is None else u() < p

    short = draw(0.5)  # abbreviate types, directions, units
    dot = pl.when(draw(0.3)).then(pl.lit(".")).otherwise(pl.lit(""))

    def word(values: Sequence[tuple[str, str]], idx: pl.Expr) -> pl.Expr:
        full = _opt([f for f, _ in values], idx)
        abbr = _opt([a for _, a in values], idx)
        return pl.when(short).then(pl.concat_str([abbr, dot])).otherwise(full)

    def either(values: Sequence[tuple[str, str]], idx: pl.Expr) -> pl.Expr:
        full = _opt([f for f, _ in values], idx)
        return pl.when(short).then(_opt([a for _, a in values], idx)).otherwise(full)

    def spaced(values: Sequence[tuple[str, str]], idx: pl.Expr) -> pl.Expr:
        return pl.when(idx >= 0).then(pl.concat_str([pl.lit(" "), word(values, idx)]))

    letters = "ABCDEFGH"
    tag = _pick(list("ABCDEF123456"), s("building_no"))
    words = pl.concat_str([_opt(_STREET_WORDS, s("w1"))] + [
        _opt(_STREET_WORDS, s(c), before=" ") for c in ("w2", "w3")
    ])  # fmt: skip
    street_en = pl.concat_str(
        [
            s("house").cast(pl.String),
            _opt(list(letters), s("letter")),
            spaced(_DIRECTIONS, s("pre")),
            pl.lit(" "),
            words,
            pl.lit(" "),
            word(_STREET_TYPES, s("stype")),
            spaced(_DIRECTIONS, s("post")),
        ],
        ignore_nulls=True,
    )
    street_de = pl.concat_str(
        [
            _opt(_DE_WORDS, s("de1")),
            _opt(_DE_WORDS, s("de2")).str.to_lowercase(),
            either(_DE_TYPES, s("detype")),
            pl.lit(" "),
            s("house_fr").cast(pl.String),
            _opt(list("abcd"), s("letter")),
        ]
    )
    street_fr = pl.concat_str(
        [
            s("house_fr").cast(pl.String),
            _opt([" bis", " ter", " bis", " B"], s("letter")),
            pl.when(draw(0.3)).then(pl.lit(", ")).otherwise(pl.lit(" ")),
            either(_FR_TYPES, s("frtype")),
            pl.lit(" "),
            _opt(_FR_NAMES, s("fr1")),
            _opt(_FR_NAMES, s("fr2"), before=" "),
        ]
    )
    unit_no = pl.concat_str([s("unit_no").cast(pl.String), _opt(list(letters), s("unit_letter"))])
    hash_sign = short & (s("unit_kind") == 0) & draw(0.4)
    unit_en = pl.concat_str(
        [
            pl.when(hash_sign)
            .then(pl.lit("#"))
            .otherwise(pl.concat_str([word(_UNITS_EN, s("unit_kind")), pl.lit(" ")])),
            unit_no,
        ]
    )
    unit_de = pl.concat_str([either((("Wohnung ", "Whg. "),), pl.lit(0)), unit_no])
    unit_fr = pl.concat_str([either((("Appartement ", "Appt "),), pl.lit(0)), unit_no])
    building_en = pl.concat_str([word(_BUILDINGS_EN, s("building")), pl.lit(" "), tag])
    building_de = pl.concat_str([pl.lit("Aufgang "), tag])
    building_fr = pl.concat_str([either((("Bâtiment ", "Bât. "),), pl.lit(0)), tag])
    de, fr = s("country") == "DE", s("country") == "FR"
    street = pl.when(de).then(street_de).when(fr).then(street_fr).otherwise(street_en)
    unit = pl.when(de).then(unit_de).when(fr).then(unit_fr).otherwise(unit_en)
    building = (
        pl.when(s("building") < 0).then(pl.lit(None, dtype=pl.String))
        .when(de).then(building_de)
        .when(fr).then(building_fr)
        .otherwise(building_en)
    )  # fmt: skip
    line1 = pl.concat_str([street, building], separator=", ", ignore_nulls=True)
    parts = keys.select(line1.alias("line1"), unit.alias("line2"), "unit_in_line1")
    if u is None:
        return parts
    with_unit = (
        pl.when(draw(0.5))
        .then(pl.concat_str([s("line2"), s("line1")], separator=", "))
        .otherwise(pl.concat_str([s("line1"), s("line2")], separator=" "))
    )
    return parts.with_columns(with_unit.alias("line1_unit"))


def _addresses(
    people: pl.DataFrame, rec: pl.DataFrame, cfg: SynthConfig, rng: np.random.Generator
) -> tuple[pl.Series, pl.Series, pl.DataFrame]:
    """The records' ``address_line1`` and ``address_line2``, and the true lines per person.

    One address is drawn per household and version (key ``2h``: the current
    address, ``2h + 1``: the one before the household's move), so every record
    of one household at one time shows the same address, written its own way.
    """
    n_h = int(people["_hh"].max()) + 1  # type: ignore[arg-type]
    hh_country = people.group_by("_hh").agg(pl.col("country").first()).sort("_hh")["country"]
    keys = _address_keys(2 * n_h, hh_country.gather(np.repeat(np.arange(n_h), 2)), rng)
    old1, old2 = rec["address_line1"], rec["address_line2"]
    rows = (old1.is_not_null() | old2.is_not_null()).arg_true()
    u = _Uniform(rng, rows.len())
    key = rec.select(pl.col("_hh") * 2 + pl.col("_old_address").cast(pl.Int64)).to_series()
    lines = _address_lines(keys[key.gather(rows)], u).with_columns(
        _old1=old1.gather(rows), _old2=old2.gather(rows)
    )
    s = pl.col
    lines = lines.with_columns(
        line1=pl.when(s("_old2").is_null() & s("unit_in_line1"))
        .then(s("line1_unit"))
        .otherwise(s("line1"))
    ).with_columns(
        line1=pl.when(u() < cfg.rate("address_typo_rate"))
        .then(_typo_expr(s("line1"), u(), u(), u()))
        .otherwise(s("line1"))
    )
    case = u()

    def cased(new: str, old: str) -> pl.Expr:
        return (
            pl.when(s(old).is_null()).then(pl.lit(None, dtype=pl.String))
            .when(case < _CASE_RATE / 2).then(s(new).str.to_uppercase())
            .when(case < _CASE_RATE).then(s(new).str.to_lowercase())
            .otherwise(_recase(s(new), s(old)))
            .alias(new)
        )  # fmt: skip

    out = lines.select(cased("line1", "_old1"), cased("line2", "_old2"))
    line1 = _rewrite(old1, rows, out["line1"])
    line2 = _rewrite(old2, rows, out["line2"])
    canon = _address_lines(keys, None)
    current = canon[people["_hh"] * 2]
    had_unit = people["address_line2"].is_not_null()
    truth = pl.DataFrame(
        {
            "street_address": current["line1"],
            "address_line2": current.select(
                pl.when(had_unit | s("unit_in_line1")).then(s("line2"))
            ).to_series(),
            "old_street_address": canon[people["_hh"] * 2 + 1]["line1"],
        }
    )
    return line1, line2, truth


# --------------------------------------------------------------------------------------
# names and dates
# --------------------------------------------------------------------------------------

_NAME_COLUMNS: Final = ("first_name", "middle_name", "last_name", "full_name")


def _to_script(col: pl.Expr, table: dict[str, str]) -> pl.Expr:
    """Transliterate a Latin name letter by letter (longest pattern first).

    Examples:
        >>> pl.select(_to_script(pl.lit("Sasha"), _CYRILLIC).str.to_titlecase()).item()
        'Саша'

    """
    low = _fold_expr(col).str.to_lowercase()
    return low.str.replace_many(list(table), list(table.values()), leftmost=True)


def _names(rec: pl.DataFrame, n_people: int, rng: np.random.Generator) -> list[pl.Series]:
    """The name columns, with ~3% of people in a non-Latin script in one of their sources."""
    chosen = rng.random(n_people) < _SCRIPT_RATE
    script = rng.choice(3, size=n_people, p=[0.55, 0.35, 0.10])
    rank = pl.Series(rng.random(rec.height))
    pi = pl.col("_pi")
    picked = rec.select(pi, "source", _rank=rank).filter(pl.lit(pl.Series(chosen)).gather(pi))
    where = picked.group_by("_pi").agg(pl.col("source").sort_by("_rank").first().alias("_in"))
    on = (
        rec.select(pi, "source")
        .join(where, on="_pi", how="left", maintain_order="left")
        .select((pl.col("source") == pl.col("_in")).fill_null(False))
        .to_series()
    )
    rows = on.arg_true()
    step = rec.select(*_NAME_COLUMNS, _script=pl.lit(pl.Series(script)).gather(pi))[rows]

    def render(c: str) -> pl.Expr:
        old = pl.col(c)
        new = (
            pl.when(pl.col("_script") == 0)
            .then(_to_script(old, _CYRILLIC).str.to_titlecase())
            .when(pl.col("_script") == 1)
            .then(_to_script(old, _GREEK).str.replace_all(r"σ\b", "ς").str.to_titlecase())
            .otherwise(_to_script(old, _CJK))
        )
        return pl.when(old.is_in(T.JUNK_NAMES)).then(None).otherwise(new).alias(f"_new_{c}")

    def keep_case(c: str) -> pl.Expr:
        new, old = pl.col(f"_new_{c}"), pl.col(c)
        return pl.when(new.str.contains(r"\p{L}")).then(_recase(new, old)).otherwise(old).alias(c)

    step = step.with_columns([render(c) for c in _NAME_COLUMNS])
    new = step.select([keep_case(c) for c in _NAME_COLUMNS])
    return [_rewrite(rec[c], rows, new[c]) for c in _NAME_COLUMNS]


def _dates(rec: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """``date_of_birth`` as text, in a format drawn per record from ``DOB_FORMATS``."""
    old = rec["date_of_birth"]
    rows = old.is_not_null().arg_true()
    common = [f for f, where in DOB_FORMATS.items() if where == "all"]
    crm_only = next(f for f, where in DOB_FORMATS.items() if where == "crm")
    others = next(f for f, where in DOB_FORMATS.items() if where == "not crm")
    dob = pl.col("date_of_birth")
    k = _index(pl.lit(pl.Series(rng.random(rows.len()))), len(common) + 1)
    last = (
        pl.when(pl.col("source") == "crm")
        .then(dob.dt.strftime(crm_only))
        .otherwise(dob.dt.strftime(others))
    )
    texts = [*(dob.dt.strftime(fmt) for fmt in common), last]
    expr = pl.coalesce([pl.when(k == i).then(text) for i, text in enumerate(texts)])
    new = rec.select("source", "date_of_birth")[rows].select(expr).to_series()
    return _rewrite(old, rows, new)


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------


def worst_case(g: Generated, *, seed: int = 0, config: SynthConfig | None = None) -> Generated:
    """Re-render generated records into worst-case value shapes, keeping rows and truth.

    Same rows in the same order, same ``source`` and ``record_id``, same truth
    (the person behind every record) and the same null pattern: a value that
    was null stays null, a value that was present is rewritten (placeholder
    junk values are kept as they are). What changes is described in this
    module's docstring and in ``docs/datasets.md``: phones of 14 countries in 12
    layouts, an almost distinct e-mail per person, long free-text street lines,
    text dates of birth in mixed formats, ~3% of people in a non-Latin script
    in one source. ``date_of_birth`` becomes a text column.

    ``people`` gets the new true values (``email``, ``mobile_nsn``,
    ``landline_nsn``, ``street_address``, ``address_line2``,
    ``old_street_address``; ``work_email`` is null) and two new columns,
    ``mobile_region`` and ``landline_region``.

    Args:
        g: a set made by [`generate_people`][c360.datasets.generate_people]
            with the standard profile.
        seed: random seed; draws come from child stream 2 of
            ``numpy.random.SeedSequence(seed)`` (the standard generator uses
            streams 0 and 1), so ``generate_people(n, seed=s, profile="worst")``
            is ``worst_case(generate_people(n, seed=s), seed=s)``.
        config: the generator's knobs; its typo rates (``phone_typo_rate``,
            ``email_typo_rate``, ``address_typo_rate``, times ``noise``) apply.

    Returns:
        A new [`Generated`][c360.datasets.Generated]; ``g`` is not modified.

    Raises:
        ConfigError: ``g`` is not a standard-profile set (its dates of birth
            are text), or a record has no person in ``g.truth``.

    Examples:
        >>> from c360.datasets import generate_people
        >>> g = generate_people(300, seed=2)
        >>> w = worst_case(g, seed=2)
        >>> w.truth.equals(g.truth)
        True
        >>> w.records.select("source", "record_id").equals(g.records.select("source", "record_id"))
        True
        >>> w.records["date_of_birth"].dtype
        String
        >>> (w.records["phone"].is_null() == g.records["phone"].is_null()).all()
        True

    """
    from c360.exceptions import ConfigError

    if g.records.schema["date_of_birth"] != pl.Date:
        raise ConfigError(
            "worst_case expects a standard-profile set (date_of_birth as a Date column); "
            f"got {g.records.schema['date_of_birth']}"
        )
    cfg = config if config is not None else SynthConfig()
    streams = np.random.SeedSequence(seed, spawn_key=(2,)).spawn(6)
    r_num, r_phone, r_email, r_address, r_name, r_date = (np.random.default_rng(s) for s in streams)
    people = g.people.with_columns(
        _hh=(pl.col("household_id").rank("dense") - 1).cast(pl.Int64),
        _pi=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    persons = people.select("person_id", "_pi", "_hh", pl.col("moved_at").alias("_moved_at"))
    rec = (
        g.records.join(g.truth, on=["source", "record_id"], how="left", maintain_order="left")
        .join(persons, on="person_id", how="left", maintain_order="left")
        .with_columns(
            _old_address=(pl.col("updated_at").dt.date() < pl.col("_moved_at")).fill_null(False)
        )
    )
    if rec["_pi"].null_count():
        raise ConfigError(f"{rec['_pi'].null_count()} record(s) have no person in the truth")

    numbers = _phone_numbers(people, r_num)
    person_email = _person_emails(people, r_email)
    line1, line2, addr_truth = _addresses(people, rec, cfg, r_address)
    records = g.records.with_columns(
        *_names(rec, people.height, r_name),
        email=_emails(rec, person_email, cfg, r_email),
        phone=_phones(rec, numbers, cfg, r_phone),
        date_of_birth=_dates(rec, r_date),
        address_line1=line1,
        address_line2=line2,
    )
    out_people = g.people.with_columns(
        email=person_email,
        work_email=pl.lit(None, dtype=pl.String),
        mobile_nsn=numbers["mobile_nsn"],
        landline_nsn=numbers["landline_nsn"],
        street_address=addr_truth["street_address"],
        address_line2=addr_truth["address_line2"],
        old_street_address=pl.when(pl.col("moved_at").is_not_null()).then(
            addr_truth["old_street_address"]
        ),
        mobile_region=numbers["mobile_region"],
        landline_region=numbers["landline_region"],
    )
    return Generated(records=records, truth=g.truth, people=out_people)
