"""Street lines of the worst-case profile (``c360._synth.worst``).

Long free-text addresses, one per household and version (the current address
and the one before the household's move): house number and letter, directions,
multi-word street names, building and unit, in US/GB, German or French style.
Each record abbreviates, punctuates, orders and cases the parts its own way,
now and then with a typo; units go to ``address_line2`` or into the street
line. The canonical form of each address is the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import polars as pl

from c360._synth.config import SynthConfig
from c360._synth.text import _typo_expr
from c360._synth.worst_common import _CASE_RATE, _pick, _recase, _rewrite, _Uniform

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
