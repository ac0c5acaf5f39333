"""Vectorised generator of synthetic people seen through several source systems.

Everything is computed on whole columns (numpy for random draws, polars for
strings); there is no Python loop per person or per record. The work happens in
two steps:

1. **People** (``_make_people``): households, names, dates of birth, addresses
   (with an older address for people who moved), phones, e-mails, employers and
   national ids. This is the truth.
2. **Records** (``_make_records``): each person is seen 1..k times across the
   sources; every record is a copy of the person's data as the source would hold
   it at the record's ``updated_at``: an old address or maiden name for older
   records, the source's own missing fields and formatting habits, and typos,
   nicknames, swaps, junk values.

Each step draws from its own child random stream (``SeedSequence.spawn``), so the
same seed always gives the same output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal, cast

import numpy as np
import polars as pl

from c360._canonical import CANONICAL_SCHEMA
from c360._synth import tables as T  # noqa: N812
from c360.exceptions import ConfigError

__all__ = ["SOURCES", "Generated", "SynthConfig", "generate_people"]

#: Source systems the generator knows how to imitate.
SOURCES: Final = ("crm", "billing", "marketing", "support")

_F64 = np.float64

# --------------------------------------------------------------------------------------
# Source profiles: which fields a source holds (probability a field is filled), and
# its formatting habits. Documented in docs/datasets.md.
# --------------------------------------------------------------------------------------

_PRESENCE: Final[dict[str, dict[str, float]]] = {
    # name: first/last present; full_only: only full_name; postcode_only: a postcode
    # without an address (sign-up forms); the rest are single fields.
    "crm": {"name": 1.0, "full_only": 0.0, "middle": 0.30, "email": 0.90, "phone": 0.75,
            "dob": 0.60, "address": 0.85, "postcode_only": 0.0, "country": 0.90,
            "company": 0.60, "national_id": 0.0},
    "billing": {"name": 1.0, "full_only": 0.0, "middle": 0.10, "email": 0.95, "phone": 0.80,
                "dob": 0.0, "address": 0.97, "postcode_only": 0.0, "country": 1.0,
                "company": 0.30, "national_id": 0.70},
    "marketing": {"name": 0.85, "full_only": 0.0, "middle": 0.0, "email": 1.0, "phone": 0.30,
                  "dob": 0.0, "address": 0.0, "postcode_only": 0.30, "country": 0.60,
                  "company": 0.05, "national_id": 0.0},
    "support": {"name": 1.0, "full_only": 0.40, "middle": 0.05, "email": 0.85, "phone": 0.70,
                "dob": 0.30, "address": 0.0, "postcode_only": 0.0, "country": 0.40,
                "company": 0.20, "national_id": 0.0},
}  # fmt: skip

_STYLE: Final[dict[str, dict[str, float]]] = {
    # upper/lower: name casing; fold: strip accents; e164: phone written as +CCNSN;
    # work_email: prefer the work address; abbrev: abbreviate street suffix;
    # zip_int: ZIP stored as an integer (leading zero lost); state_full: state spelled out;
    # country_long: country spelled out; tags: +tag/dots on e-mails.
    "crm": {"upper": 0.05, "lower": 0.05, "fold": 0.10, "e164": 0.10, "work_email": 0.50,
            "abbrev": 0.50, "zip_int": 0.50, "state_full": 0.20, "country_long": 0.10,
            "tags": 0.05},
    "billing": {"upper": 0.60, "lower": 0.0, "fold": 0.80, "e164": 0.70, "work_email": 0.20,
                "abbrev": 0.80, "zip_int": 0.0, "state_full": 0.0, "country_long": 0.50,
                "tags": 0.02},
    "marketing": {"upper": 0.05, "lower": 0.25, "fold": 0.30, "e164": 0.30, "work_email": 0.05,
                  "abbrev": 0.50, "zip_int": 0.0, "state_full": 0.0, "country_long": 0.80,
                  "tags": 0.35},
    "support": {"upper": 0.05, "lower": 0.10, "fold": 0.20, "e164": 0.10, "work_email": 0.30,
                "abbrev": 0.50, "zip_int": 0.0, "state_full": 0.0, "country_long": 0.50,
                "tags": 0.05},
}  # fmt: skip

_ID_FORMAT: Final[dict[str, tuple[str, int]]] = {
    "crm": ("C", 7),
    "billing": ("ACC-", 8),
    "marketing": ("M", 7),
    "support": ("U", 7),
}

_COUNTRY_LONG: Final[dict[str, str]] = {
    "US": "United States",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
}


def _default_source_weights() -> dict[str, float]:
    return {"crm": 0.35, "billing": 0.25, "marketing": 0.25, "support": 0.15}


def _default_countries() -> dict[str, float]:
    return {"US": 0.85, "GB": 0.06, "DE": 0.05, "FR": 0.04}


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthConfig:
    """Knobs of [`generate_people`][generate_people]; every one has a documented default.

    Rates are probabilities in ``[0, 1]``. The corruption rates (everything from
    ``nickname_rate`` down) are multiplied by ``noise``, so ``noise=0`` gives clean
    copies (still with missing fields and formatting differences) and ``noise=2``
    doubles every error.

    Attributes:
        records_per_person: probability that a person has 1, 2, ... records in
            total (over all sources). Default mean is 2.42 records per person;
            40% of people are seen once.
        source_weights: relative share of records per source; records are drawn
            with replacement, so a person can appear several times in one source
            (true duplicates).
        household_sizes: probability of a household of 1, 2, ... people.
        roommate_rate: share of second household members who are unrelated
            roommates (own surname) rather than spouses.
        spouse_keeps_surname: share of spouses who keep their own surname.
        maiden_name_rate: share of spouses who took the household surname whose
            records older than the marriage still carry the maiden name.
        twin_rate: share of households with two or more children that have twins
            (same date of birth and surname, different first name).
        junior_rate: share of sons named after their father (same name and
            address, different date of birth).
        shared_email_rate: share of couples who share one mailbox.
        family_domain_rate: share of households with a family e-mail domain.
        move_rate: share of households that moved during the two years; their
            records older than the move carry the old address.
        employed_rate: share of adults with an employer (``company``).
        countries: relative share of people per country (US, GB, DE, FR).
        first_name_zipf: Zipf exponent of first-name popularity.
        surname_zipf: Zipf exponent of surname popularity.
        noise: multiplier of every corruption rate below.
        nickname_rate: a record uses a nickname or variant of the first name.
        initial_rate: a record holds only the first initial.
        swap_rate: first and last names swapped.
        name_typo_rate: a typo (insert, delete, substitute, transpose) per name field.
        surname_variant_rate: a spelling variant or transliteration of the surname.
        dob_error_rate: one part of the date wrong: day and month swapped, a day
            off, a year or ten off, one digit mistyped, another month or day.
        email_typo_rate: a typo in the e-mail's local part.
        phone_typo_rate: one digit wrong.
        address_typo_rate: a typo in the street line.
        national_id_typo_rate: one digit wrong in the national id.
        junk_rate: a placeholder value (``test@test.com``, ``0000000000``,
            ``00000``, ``1900-01-01``) instead of the real one, per field.
        end: last day of the ``updated_at`` window.
        span_days: length of the ``updated_at`` window (two years).

    Examples:
        >>> SynthConfig(noise=0.5).noise
        0.5
        >>> round(SynthConfig().mean_records_per_person, 2)
        2.42

    """

    records_per_person: tuple[float, ...] = (0.40, 0.24, 0.14, 0.09, 0.06, 0.04, 0.02, 0.01)
    source_weights: Mapping[str, float] = field(default_factory=_default_source_weights)
    household_sizes: tuple[float, ...] = (0.50, 0.25, 0.12, 0.08, 0.03, 0.02)
    roommate_rate: float = 0.15
    spouse_keeps_surname: float = 0.20
    maiden_name_rate: float = 0.50
    twin_rate: float = 0.15
    junior_rate: float = 0.03
    shared_email_rate: float = 0.10
    family_domain_rate: float = 0.05
    move_rate: float = 0.15
    employed_rate: float = 0.60
    countries: Mapping[str, float] = field(default_factory=_default_countries)
    first_name_zipf: float = 1.0
    surname_zipf: float = 0.9
    noise: float = 1.0
    nickname_rate: float = 0.15
    initial_rate: float = 0.03
    swap_rate: float = 0.02
    name_typo_rate: float = 0.05
    surname_variant_rate: float = 0.03
    dob_error_rate: float = 0.04
    email_typo_rate: float = 0.02
    phone_typo_rate: float = 0.02
    address_typo_rate: float = 0.04
    national_id_typo_rate: float = 0.03
    junk_rate: float = 0.01
    end: date = date(2024, 12, 31)
    span_days: int = 730

    @property
    def mean_records_per_person(self) -> float:
        """Expected number of records per person under ``records_per_person``."""
        p = np.asarray(self.records_per_person, dtype=_F64)
        return float((p / p.sum() * np.arange(1, len(p) + 1)).sum())

    def rate(self, name: str) -> float:
        """Return a corruption rate after the ``noise`` multiplier, capped at 1."""
        return float(min(1.0, getattr(self, name) * self.noise))


_RATES: Final = (
    "roommate_rate", "spouse_keeps_surname", "maiden_name_rate", "twin_rate", "junior_rate",
    "shared_email_rate", "family_domain_rate", "move_rate", "employed_rate", "nickname_rate",
    "initial_rate", "swap_rate", "name_typo_rate", "surname_variant_rate", "dob_error_rate",
    "email_typo_rate", "phone_typo_rate", "address_typo_rate", "national_id_typo_rate",
    "junk_rate",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Generated:
    """Synthetic records with their known truth.

    Attributes:
        records: one row per record, canonical columns (see
            ``c360._canonical.CANONICAL_SCHEMA``), sorted by source and record_id.
        truth: ``source, record_id, person_id``: the person behind each record.
        people: one row per person: ``person_id, household_id, role, gender`` and
            the true attribute values (current address; ``maiden_name``,
            ``married_at``, ``moved_at`` and the ``old_*`` address where relevant).

    """

    records: pl.DataFrame
    truth: pl.DataFrame
    people: pl.DataFrame

    def by_source(self) -> dict[str, pl.DataFrame]:
        """Split the records per source, in the order the sources were asked for.

        Examples:
            >>> g = generate_people(50, seed=1)
            >>> sorted(g.by_source()) == sorted(g.records["source"].unique().to_list())
            True

        """
        order = list(dict.fromkeys(self.records["source"].to_list()))
        parts = self.records.partition_by("source", as_dict=True, maintain_order=True)
        return {s: parts[(s,)] for s in order}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=_F64) ** s
    return cast("np.ndarray", w / w.sum())


def _norm(p: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(p, dtype=_F64)
    return cast("np.ndarray", a / a.sum())


def _lit(values: Any) -> pl.Expr:
    return pl.lit(pl.Series(values))


def _fold_expr(col: pl.Expr) -> pl.Expr:
    """ASCII-fold: strip accents (NFKD + drop marks) and map letters NFKD keeps."""
    folded = col.str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    return folded.str.replace_many(list(T.FOLD_EXTRA), list(T.FOLD_EXTRA.values()))


def _slug_expr(col: pl.Expr) -> pl.Expr:
    """Lower-case ASCII letters and digits only (for e-mail local parts and domains)."""
    return _fold_expr(col).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _typo_expr(col: pl.Expr, pos: pl.Expr, op: pl.Expr, pick: pl.Expr) -> pl.Expr:
    """One keyboard typo at a random position: delete, double, substitute, transpose.

    ``pos``, ``op`` and ``pick`` are uniform [0, 1) columns. Values shorter than
    three characters are left alone.
    """
    n = col.str.len_chars().cast(pl.Int64)
    p = (pos * n).floor().cast(pl.Int64)
    p = pl.min_horizontal(p, n - 1)
    left = col.str.slice(0, p)
    cur = col.str.slice(p, 1)
    right = col.str.slice(p + 1)
    neigh = cur.str.to_lowercase().replace_strict(T.KEYBOARD_NEIGHBOURS, default="e")
    sub = neigh.str.slice((pick * neigh.str.len_chars()).floor().cast(pl.Int64), 1)
    sub = pl.when(cur != cur.str.to_lowercase()).then(sub.str.to_uppercase()).otherwise(sub)
    pt = pl.min_horizontal(p, n - 2)
    transposed = pl.concat_str(
        [
            col.str.slice(0, pt),
            col.str.slice(pt + 1, 1),
            col.str.slice(pt, 1),
            col.str.slice(pt + 2),
        ]
    )
    out = (
        pl.when(op < 0.25)
        .then(pl.concat_str([left, right]))
        .when(op < 0.45)
        .then(pl.concat_str([left, cur, cur, right]))
        .when(op < 0.75)
        .then(pl.concat_str([left, sub, right]))
        .otherwise(transposed)
    )
    return pl.when(n >= 3).then(out).otherwise(col)


def _typo_column(df: pl.DataFrame, col: str, rate: float, u: Any) -> pl.DataFrame:
    """Apply [`_typo_expr`][_typo_expr] to a materialised column on a ``rate`` share of rows."""
    c = pl.col(col)
    return df.with_columns(
        pl.when(u() < rate).then(_typo_expr(c, u(), u(), u())).otherwise(c).alias(col)
    )


def _digit_typo_expr(col: pl.Expr, pos: pl.Expr, digit: pl.Expr) -> pl.Expr:
    """Replace one digit (the first digit at or after a random position) by another.

    Meant for ASCII identifiers and phone numbers; other characters are kept.
    """
    n = col.str.len_chars().cast(pl.Int64)
    p = (pos * n).floor().cast(pl.Int64)
    off = col.str.slice(p).str.find(r"\d").cast(pl.Int64)
    q = pl.when(off.is_not_null()).then(p + off).otherwise(col.str.find(r"\d").cast(pl.Int64))
    cur = col.str.slice(q, 1).cast(pl.Int64, strict=False)
    new = ((cur + 1 + (digit * 9).floor().cast(pl.Int64)) % 10).cast(pl.String)
    out = pl.concat_str([col.str.slice(0, q), new, col.str.slice(q + 1)])
    return pl.when(q.is_not_null()).then(out).otherwise(col)


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _validate(n_people: int, sources: Sequence[str], cfg: SynthConfig) -> None:
    if not isinstance(n_people, int) or n_people < 1:
        raise ConfigError(f"n_people must be a positive integer; got {n_people!r}")
    if isinstance(sources, str) or not sources:
        raise ConfigError(
            f"sources must be a non-empty sequence of source names; got {sources!r}",
            hint=f"use a subset of {SOURCES}",
        )
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ConfigError(
            f"unknown source(s) {unknown}; the generator imitates {list(SOURCES)}",
            column="sources",
        )
    if len(set(sources)) != len(sources):
        raise ConfigError(f"sources repeat a name: {list(sources)}")
    for name in _RATES:
        v = getattr(cfg, name)
        if not 0.0 <= v <= 1.0:
            raise ConfigError(f"SynthConfig.{name} must be in [0, 1]; got {v!r}", column=name)
    if cfg.noise < 0:
        raise ConfigError(f"SynthConfig.noise must be >= 0; got {cfg.noise!r}", column="noise")
    for name in ("records_per_person", "household_sizes"):
        p = np.asarray(getattr(cfg, name), dtype=_F64)
        if p.ndim != 1 or len(p) == 0 or (p < 0).any() or p.sum() <= 0:
            raise ConfigError(
                f"SynthConfig.{name} must be non-negative probabilities with a positive sum",
                column=name,
            )
    missing_w = [s for s in sources if cfg.source_weights.get(s, 0.0) <= 0]
    if missing_w:
        raise ConfigError(
            f"SynthConfig.source_weights gives no positive weight to {missing_w}",
            column="source_weights",
        )
    bad_c = [c for c in cfg.countries if c not in _COUNTRY_LONG]
    if bad_c or sum(cfg.countries.values()) <= 0:
        raise ConfigError(
            f"SynthConfig.countries must weight some of {list(_COUNTRY_LONG)}; "
            f"got {dict(cfg.countries)}",
            column="countries",
        )
    if cfg.span_days < 1:
        raise ConfigError(f"SynthConfig.span_days must be >= 1; got {cfg.span_days}")


# --------------------------------------------------------------------------------------
# tables as polars Series, built once
# --------------------------------------------------------------------------------------


class _Tables:
    def __init__(self) -> None:
        fn = T.first_names()
        self.first = pl.Series("first", [n for n, _, _ in fn], dtype=pl.String)
        self.first_gender = np.array([g for _, g, _ in fn])
        var_flat: list[str] = []
        offsets = np.zeros(len(fn), dtype=np.int64)
        counts = np.zeros(len(fn), dtype=np.int64)
        for i, (_, _, variants) in enumerate(fn):
            offsets[i] = len(var_flat)
            counts[i] = len(variants)
            var_flat.extend(variants)
        self.first_var = pl.Series("var", var_flat or [""], dtype=pl.String)
        self.first_var_off = offsets
        self.first_var_cnt = counts
        self.first_slug = pl.select(_slug_expr(pl.lit(self.first))).to_series()
        self.male = np.flatnonzero(self.first_gender == "M")
        self.female = np.flatnonzero(self.first_gender == "F")

        sn = T.surnames()
        self.sur = pl.Series("sur", sn, dtype=pl.String)
        sv_flat: list[str] = []
        s_off = np.zeros(len(sn), dtype=np.int64)
        s_cnt = np.zeros(len(sn), dtype=np.int64)
        for i, name in enumerate(sn):
            variants = T.SURNAME_VARIANTS.get(name, ())
            s_off[i] = len(sv_flat)
            s_cnt[i] = len(variants)
            sv_flat.extend(variants)
        self.sur_slug = pl.select(_slug_expr(pl.lit(self.sur))).to_series()
        self.sur_var = pl.Series("svar", sv_flat, dtype=pl.String)
        self.sur_var_off = s_off
        self.sur_var_cnt = s_cnt

        self.streets = pl.Series("street", T.STREET_NAMES, dtype=pl.String)
        self.suffix_full = pl.Series("sfull", [s[0] for s in T.STREET_SUFFIXES], dtype=pl.String)
        self.suffix_abbr = pl.Series("sabbr", [s[1] for s in T.STREET_SUFFIXES], dtype=pl.String)
        self.suffix_w = _norm([s[2] for s in T.STREET_SUFFIXES])

        self.city_country = np.array([c[0] for c in T.CITIES])
        self.city = pl.Series("city", [c[1] for c in T.CITIES], dtype=pl.String)
        self.city_state = pl.Series("state", [c[2] for c in T.CITIES], dtype=pl.String)
        self.city_prefix = pl.Series("prefix", [c[3] for c in T.CITIES], dtype=pl.String)
        self.city_area = pl.Series("area", [c[4] for c in T.CITIES], dtype=pl.String)
        self.city_w = np.array([c[5] for c in T.CITIES], dtype=_F64)

        self.domains = pl.Series("domain", [d[0] for d in T.EMAIL_DOMAINS], dtype=pl.String)
        self.domain_w = np.array([d[1] for d in T.EMAIL_DOMAINS], dtype=_F64)
        self.domain_country = np.array([d[2] for d in T.EMAIL_DOMAINS])

        self.companies = pl.Series("company", T.COMPANIES, dtype=pl.String)
        self.company_slug = pl.select(_slug_expr(pl.lit(self.companies))).to_series()
        self.company_suffix = pl.Series("csuf", T.COMPANY_SUFFIXES, dtype=pl.String)


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


def _gather(series: pl.Series, idx: np.ndarray) -> pl.Series:
    return series.gather(pl.Series(idx, dtype=pl.Int64))


# --------------------------------------------------------------------------------------
# people
# --------------------------------------------------------------------------------------

_DAY0: Final = date(1970, 1, 1)


def _days(d: date) -> int:
    return (d - _DAY0).days


def _households(
    n: int, cfg: SynthConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    p = _norm(cfg.household_sizes)
    mean = float((p * np.arange(1, len(p) + 1)).sum())
    h = int(n / mean * 1.3) + 16
    sizes = rng.choice(len(p), size=h, p=p) + 1
    cs = np.cumsum(sizes)
    k = int(np.searchsorted(cs, n))
    sizes = sizes[: k + 1].copy()
    sizes[-1] -= int(cs[k]) - n
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    hh = np.repeat(np.arange(len(sizes)), sizes)
    member = np.arange(n) - starts[hh]
    return hh, member, sizes[hh], starts[hh], len(sizes)


def _address_parts(
    n: int, country_of: np.ndarray, cfg: SynthConfig, rng: np.random.Generator
) -> dict[str, Any]:
    """Draw an address per row (city within the given country index array)."""
    tb = _tables()
    city_idx = np.empty(n, dtype=np.int64)
    for c in np.unique(country_of):
        rows = np.flatnonzero(country_of == c)
        cand = np.flatnonzero(tb.city_country == c)
        city_idx[rows] = cand[rng.choice(len(cand), size=len(rows), p=_norm(tb.city_w[cand]))]
    us_like = np.isin(country_of, ["US"])
    house = np.where(
        us_like,
        np.clip(np.exp(rng.normal(5.5, 1.3, n)).astype(np.int64), 1, 19999),
        rng.integers(1, 180, n),
    )
    street = rng.integers(0, len(tb.streets), n)
    suffix = rng.choice(len(tb.suffix_w), size=n, p=tb.suffix_w)
    unit_u = rng.random(n)
    unit = np.where(
        (us_like & (unit_u < 0.22)) | ((country_of == "GB") & (unit_u < 0.15)),
        rng.integers(1, 40, n),
        0,
    )
    unit_letter = rng.integers(0, 4, n)
    pc_digits = rng.integers(0, 1000, n)
    pc_letters = rng.integers(0, 26 * 26, n)
    return {
        "city_idx": city_idx,
        "house": house,
        "street": street,
        "suffix": suffix,
        "unit": unit,
        "unit_letter": unit_letter,
        "pc_digits": pc_digits,
        "pc_letters": pc_letters,
    }


def _address_frame(parts: dict[str, Any], country: pl.Series) -> pl.DataFrame:
    """Canonical address strings from drawn parts (full street suffix, canonical form)."""
    tb = _tables()
    ci = parts["city_idx"]
    df = pl.DataFrame(
        {
            "country": country,
            "house": pl.Series(parts["house"], dtype=pl.Int64),
            "street": _gather(tb.streets, parts["street"]),
            "suffix_i": pl.Series(parts["suffix"], dtype=pl.Int64),
            "unit": pl.Series(parts["unit"], dtype=pl.Int64),
            "unit_letter": pl.Series(parts["unit_letter"], dtype=pl.Int64),
            "city": _gather(tb.city, ci),
            "state": _gather(tb.city_state, ci),
            "prefix": _gather(tb.city_prefix, ci),
            "area": _gather(tb.city_area, ci),
            "pc_digits": pl.Series(parts["pc_digits"], dtype=pl.Int64),
            "pc_letters": pl.Series(parts["pc_letters"], dtype=pl.Int64),
        }
    )
    c = pl.col("country")
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    l1 = pl.lit(pl.Series(list(letters))).gather(pl.col("pc_letters") % len(letters))
    l2 = pl.lit(pl.Series(list(letters))).gather((pl.col("pc_letters") // 26) % len(letters))
    postcode = (
        pl.when(c == "US")
        .then(
            pl.concat_str(
                [pl.col("prefix"), (pl.col("pc_digits") % 100).cast(pl.String).str.zfill(2)]
            )
        )
        .when(c == "GB")
        .then(
            pl.concat_str(
                [
                    pl.col("prefix"),
                    (pl.col("pc_digits") % 20 + 1).cast(pl.String),
                    pl.lit(" "),
                    (pl.col("pc_digits") // 100).cast(pl.String),
                    l1,
                    l2,
                ]
            )
        )
        .otherwise(
            pl.concat_str([pl.col("prefix"), pl.col("pc_digits").cast(pl.String).str.zfill(3)])
        )
    )
    line2 = (
        pl.when(pl.col("unit") == 0)
        .then(pl.lit(None, dtype=pl.String))
        .when(c == "GB")
        .then(pl.concat_str([pl.lit("Flat "), pl.col("unit").cast(pl.String)]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit(pl.Series(["Apt ", "Apt ", "Unit ", "Suite "])).gather(
                        pl.col("unit_letter")
                    ),
                    pl.col("unit").cast(pl.String),
                    pl.when(pl.col("unit_letter") == 1).then(pl.lit("B")).otherwise(pl.lit("")),
                ]
            )
        )
    )
    return df.select(
        pl.col("house"),
        pl.col("street"),
        pl.col("suffix_i"),
        line2.alias("address_line2"),
        pl.col("city"),
        pl.when(pl.col("state") == "").then(None).otherwise(pl.col("state")).alias("state"),
        postcode.alias("postcode"),
        pl.col("area"),
    )


def _national_numbers(
    country: np.ndarray, area: pl.Series, rng: np.random.Generator, *, landline: bool
) -> pl.Series:
    """National significant numbers (digits, no trunk prefix) valid for each country."""
    n = len(country)
    ex = rng.integers(200, 1000, n)
    ex = np.where(ex % 100 == 11, ex + 1, ex)  # no N11 exchanges
    line = rng.integers(0, 10000, n)
    d8 = rng.integers(0, 10**8, n)
    d7 = rng.integers(0, 10**7, n)
    mob_gb = rng.integers(400, 1000, n)  # 7400..7999
    mob_de = rng.choice(
        np.array([151, 152, 157, 160, 162, 170, 171, 172, 173, 175, 176, 177, 178, 179]), n
    )
    mob_fr = rng.integers(6, 8, n)
    df = pl.DataFrame(
        {
            "c": country,
            "area": area,
            "ex": ex,
            "line": line,
            "d8": d8,
            "d7": d7,
            "gb": mob_gb,
            "de": mob_de,
            "fr": mob_fr,
        }
    )
    s = pl.col
    us = pl.concat_str([s("area"), s("ex").cast(pl.String), s("line").cast(pl.String).str.zfill(4)])
    if landline:
        gb = pl.concat_str(
            [s("area"), pl.lit("3"), s("d8").cast(pl.String).str.zfill(8)]
        ).str.slice(0, 10)
        de = pl.concat_str([s("area"), pl.lit("5"), s("d7").cast(pl.String).str.zfill(7)])
        fr = pl.concat_str([s("area"), s("d8").cast(pl.String).str.zfill(8)])
    else:
        gb = pl.concat_str(
            [
                pl.lit("7"),
                s("gb").cast(pl.String),
                s("line").cast(pl.String).str.zfill(4),
                (s("ex") % 100).cast(pl.String).str.zfill(2),
            ]
        )
        de = pl.concat_str([s("de").cast(pl.String), s("d7").cast(pl.String).str.zfill(7)])
        fr = pl.concat_str([s("fr").cast(pl.String), s("d8").cast(pl.String).str.zfill(8)])
    out = (
        pl.when(s("c") == "US")
        .then(us)
        .when(s("c") == "GB")
        .then(gb)
        .when(s("c") == "DE")
        .then(de)
        .otherwise(fr)
    )
    return df.select(out.alias("nsn")).to_series()


def _make_people(n: int, cfg: SynthConfig, rng: np.random.Generator) -> pl.DataFrame:
    tb = _tables()
    hh, member, hsize, start, n_hh = _households(n, cfg, rng)

    # roles --------------------------------------------------------------------------
    is_roommate_hh = rng.random(n_hh) < cfg.roommate_rate
    role = np.where(member == 0, "head", np.where(member == 1, "spouse", "child"))
    role = np.where((member == 1) & is_roommate_hh[hh], "roommate", role)

    head_gender = rng.random(n_hh) < 0.5  # True = male
    g_rand = rng.random(n) < 0.5
    male = np.where(
        member == 0,
        head_gender[hh],
        np.where(
            role == "spouse",
            np.where(rng.random(n) < 0.9, ~head_gender[hh], head_gender[hh]),
            g_rand,
        ),
    )

    # first names (distinct within a household, then some juniors) ----------------------
    wm = _zipf(len(tb.male), cfg.first_name_zipf)
    wf = _zipf(len(tb.female), cfg.first_name_zipf)

    def draw_first(mask_male: np.ndarray) -> np.ndarray:
        out = np.empty(len(mask_male), dtype=np.int64)
        k = int(mask_male.sum())
        out[mask_male] = tb.male[rng.choice(len(tb.male), size=k, p=wm)]
        out[~mask_male] = tb.female[rng.choice(len(tb.female), size=len(mask_male) - k, p=wf)]
        return out

    first = draw_first(male)
    for _ in range(3):
        dup = ~(
            pl.DataFrame({"hh": hh, "f": first})
            .select(pl.struct("hh", "f").is_first_distinct())
            .to_series()
            .to_numpy()
        )
        if not dup.any():
            break
        first[dup] = draw_first(male[dup])
    head_first = first[start]
    junior = (role == "child") & male & head_gender[hh] & (rng.random(n) < cfg.junior_rate)
    first = np.where(junior, head_first, first)
    has_middle = rng.random(n) < 0.6
    middle = draw_first(male)

    # surnames, maiden names ---------------------------------------------------------
    ws = _zipf(len(tb.sur), cfg.surname_zipf)
    hh_sur = rng.choice(len(tb.sur), size=n_hh, p=ws)
    own_sur = rng.choice(len(tb.sur), size=n, p=ws)
    keeps = (role == "spouse") & (rng.random(n) < cfg.spouse_keeps_surname)
    sur = np.where((role == "roommate") | keeps, own_sur, hh_sur[hh])
    took = (role == "spouse") & ~keeps
    maiden = np.where(took & (own_sur != hh_sur[hh]), own_sur, -1)
    end_day = _days(cfg.end)
    start_day = end_day - cfg.span_days
    married_at = np.where(
        (maiden >= 0) & (rng.random(n) < cfg.maiden_name_rate),
        rng.integers(start_day + 30, end_day - 30, n),
        np.iinfo(np.int64).min,
    )

    # dates of birth -------------------------------------------------------------------
    lo, hi = _days(date(1940, 1, 1)), _days(date(1986, 12, 31))
    head_dob = rng.integers(lo, hi, n_hh)
    yr = 365.25
    spouse_dob = head_dob[hh] + (rng.normal(0, 3.5, n) * yr).astype(np.int64)
    room_dob = rng.integers(_days(date(1960, 1, 1)), _days(date(2001, 12, 31)), n)
    child_dob = head_dob[hh] + rng.integers(int(20 * yr), int(38 * yr), n)
    child_dob = np.minimum(child_dob, end_day - int(16 * yr) - rng.integers(0, 365, n))
    dob = np.select(
        [role == "head", role == "spouse", role == "roommate"],
        [head_dob[hh], spouse_dob, room_dob],
        child_dob,
    )
    twins_hh = rng.random(n_hh) < cfg.twin_rate
    # member 3 is the twin of member 2 when both are children
    twin = (member == 3) & (role == "child") & twins_hh[hh] & (hsize >= 4)
    twin &= role[np.minimum(start + 2, n - 1)] == "child"
    dob = np.where(twin, dob[np.minimum(start + 2, n - 1)], dob)

    # addresses (household level), moves ------------------------------------------------
    countries = list(cfg.countries)
    cw = _norm([cfg.countries[c] for c in countries])
    hh_country = np.array(countries)[rng.choice(len(countries), size=n_hh, p=cw)]
    cur = _address_parts(n_hh, hh_country, cfg, rng)
    old = _address_parts(n_hh, hh_country, cfg, rng)
    moved = rng.random(n_hh) < cfg.move_rate
    moved_at = np.where(
        moved, rng.integers(start_day + 30, end_day - 30, n_hh), np.iinfo(np.int64).min
    )
    hh_country_s = pl.Series(hh_country, dtype=pl.String)
    cur_f = _address_frame(cur, hh_country_s)
    old_f = _address_frame(old, hh_country_s)

    # phones ---------------------------------------------------------------------------
    hh_land = _national_numbers(hh_country, cur_f["area"], rng, landline=True)
    has_land = rng.random(n_hh) < 0.5
    p_country = hh_country[hh]
    mob_area = cur_f["area"].gather(pl.Series(hh, dtype=pl.Int64))
    # a third of people keep a mobile from another area of their country
    other_city = _address_parts(n, p_country, cfg, rng)["city_idx"]
    mob_area = pl.select(
        pl.when(_lit(rng.random(n) < 0.33))
        .then(_lit(_gather(tb.city_area, other_city)))
        .otherwise(_lit(mob_area))
    ).to_series()
    mobile = _national_numbers(p_country, mob_area, rng, landline=False)

    # employers, national ids -------------------------------------------------------------
    employed = (role != "child") & (rng.random(n) < cfg.employed_rate)
    employed |= (role == "child") & (rng.random(n) < cfg.employed_rate / 2)
    comp = rng.integers(0, len(tb.companies), n)
    comp_suf = rng.integers(0, len(tb.company_suffix), n)
    nid_num = rng.choice(899_000_000, size=n, replace=False) + 1_000_000
    nid_letters = rng.integers(0, 26 * 26 * 4, n)

    base = pl.DataFrame(
        {
            "_i": np.arange(n),
            "household_id": hh,
            "role": role,
            "gender": np.where(male, "M", "F"),
            "country": pl.Series(p_country, dtype=pl.String),
            "first_name": _gather(tb.first, first),
            "_first_idx": first,
            "middle_name": pl.select(
                pl.when(_lit(has_middle)).then(_lit(_gather(tb.first, middle)))
            ).to_series(),
            "last_name": _gather(tb.sur, sur),
            "_sur_idx": sur,
            "_maiden_idx": maiden,
            "maiden_name": pl.select(
                pl.when(_lit(maiden >= 0)).then(_lit(_gather(tb.sur, np.maximum(maiden, 0))))
            ).to_series(),
            "_married_day": married_at,
            "date_of_birth": pl.Series(dob, dtype=pl.Int32).cast(pl.Date),
            "mobile": mobile,
            "landline": pl.select(
                pl.when(_lit(has_land[hh])).then(_lit(hh_land.gather(pl.Series(hh))))
            ).to_series(),
            "_employed": employed,
            "_comp": comp,
            "_company": _gather(tb.companies, comp),
            "_comp_suf": comp_suf,
            "_nid": nid_num,
            "_nid_letters": nid_letters,
            "_moved_day": moved_at[hh],
        }
    )
    hidx = pl.Series(hh, dtype=pl.Int64)
    cur_p = cur_f.drop("area")[hidx]
    old_p = old_f.drop("area")[hidx].rename(lambda c: f"old_{c}")
    df = pl.concat([base, cur_p, old_p], how="horizontal")

    # emails ---------------------------------------------------------------------------
    df = _emails(df, hh, member, start, n_hh, cfg, rng)

    s = pl.col
    nid = (
        pl.when(s("country") == "US")
        .then(
            pl.concat_str(
                [
                    (s("_nid") // 1_000_000 % 899 + 1).cast(pl.String).str.zfill(3),
                    pl.lit("-"),
                    (s("_nid") // 10_000 % 100).cast(pl.String).str.zfill(2),
                    pl.lit("-"),
                    (s("_nid") % 10_000).cast(pl.String).str.zfill(4),
                ]
            )
            .str.replace(r"^666", "667")
            .str.replace(r"-00-", "-01-")
        )
        .when(s("country") == "GB")
        .then(
            pl.concat_str(
                [
                    pl.lit(pl.Series(list("ABCEGHJKLMNOPRSTWXYZ"))).gather(s("_nid_letters") % 20),
                    pl.lit(pl.Series(list("ABCEGHJKLMNPRSTWXYZ"))).gather(
                        s("_nid_letters") // 20 % 19
                    ),
                    (s("_nid") % 1_000_000).cast(pl.String).str.zfill(6),
                    pl.lit(pl.Series(list("ABCD"))).gather(s("_nid_letters") // 400 % 4),
                ]
            )
        )
        .when(s("country") == "DE")
        .then(
            pl.concat_str(
                [
                    pl.lit("4"),
                    s("_nid").cast(pl.String).str.zfill(9),
                    (s("_nid") % 7).cast(pl.String),
                ]
            )
        )
        .otherwise(
            pl.concat_str(
                [
                    pl.when(s("gender") == "M").then(pl.lit("1")).otherwise(pl.lit("2")),
                    s("date_of_birth").dt.strftime("%y%m"),
                    s("_nid").cast(pl.String).str.zfill(9),
                ]
            )
        )
    )
    return df.with_columns(
        national_id=nid,
        company=pl.when(s("_employed")).then(s("_company")),
        married_at=pl.when(s("_married_day") > 0).then(
            s("_married_day").cast(pl.Int32).cast(pl.Date)
        ),
        moved_at=pl.when(s("_moved_day") > 0).then(s("_moved_day").cast(pl.Int32).cast(pl.Date)),
        person_id=pl.concat_str(
            [pl.lit("P"), (s("_i") + 1).cast(pl.String).str.zfill(max(7, len(str(n))))]
        ),
    )


def _emails(
    df: pl.DataFrame,
    hh: np.ndarray,
    member: np.ndarray,
    start: np.ndarray,
    n_hh: int,
    cfg: SynthConfig,
    rng: np.random.Generator,
) -> pl.DataFrame:
    tb = _tables()
    n = df.height
    country = df["country"].to_numpy()
    dom = np.empty(n, dtype=np.int64)
    for c in np.unique(country):
        rows = np.flatnonzero(country == c)
        ok = np.flatnonzero((tb.domain_country == "") | (tb.domain_country == c))
        dom[rows] = ok[rng.choice(len(ok), size=len(rows), p=_norm(tb.domain_w[ok]))]
    pattern = rng.choice(8, size=n, p=_norm([0.30, 0.14, 0.12, 0.12, 0.10, 0.08, 0.07, 0.07]))
    num = rng.integers(1, 100, n)
    fam_hh = rng.random(n_hh) < cfg.family_domain_rate
    family = fam_hh[hh] & (np.bincount(hh)[hh] >= 2) & (df["role"].to_numpy() != "roommate")
    fam_style = rng.integers(0, 3, n_hh)[hh]
    has_email = rng.random(n) < 0.92
    share = (member == 1) & (rng.random(n) < cfg.shared_email_rate)
    suffix_digits = rng.integers(1, 1000, n)
    s = pl.col
    f = s("_fslug")
    last = s("_lslug")
    local = (
        pl.when(s("_pat") == 0).then(pl.concat_str([f, pl.lit("."), last]))
        .when(s("_pat") == 1).then(pl.concat_str([f, last]))
        .when(s("_pat") == 2).then(pl.concat_str([f.str.slice(0, 1), last]))
        .when(s("_pat") == 3).then(pl.concat_str([f, pl.lit("."), last, s("_num").cast(pl.String)]))
        .when(s("_pat") == 4).then(pl.concat_str([f, s("_num").cast(pl.String)]))
        .when(s("_pat") == 5).then(pl.concat_str([f, pl.lit("_"), last]))
        .when(s("_pat") == 6).then(pl.concat_str([last, pl.lit("."), f]))
        .otherwise(pl.concat_str([f, last, s("date_of_birth").dt.strftime("%y")]))
    )  # fmt: skip
    fam_dom = pl.concat_str(
        [
            pl.lit(pl.Series(["", "the", ""])).gather(s("_fam_style")),
            s("_hslug"),
            pl.lit(pl.Series(["family.com", "s.net", "-home.org"])).gather(s("_fam_style")),
        ]
    )
    out = df.with_columns(
        _fslug=_gather(tb.first_slug, df["_first_idx"].to_numpy()),
        _lslug=_gather(tb.sur_slug, df["_sur_idx"].to_numpy()),
        _hslug=_gather(tb.sur_slug, df["_sur_idx"].to_numpy()[start]),
        _cslug=_gather(tb.company_slug, df["_comp"].to_numpy()),
        _pat=pl.Series(pattern),
        _num=pl.Series(num),
        _fam=pl.Series(family),
        _fam_style=pl.Series(fam_style),
        _dom=_gather(tb.domains, dom),
        _sfx=pl.Series(suffix_digits),
    ).with_columns(
        _local=pl.when(s("_fam")).then(f).otherwise(local),
        _domain=pl.when(s("_fam")).then(fam_dom).otherwise(s("_dom")),
    )
    # make addresses unique across people (a real mailbox belongs to one person)
    for _ in range(4):
        out = out.with_columns(_email=pl.concat_str([s("_local"), pl.lit("@"), s("_domain")]))
        dup = out.select(~pl.col("_email").is_first_distinct()).to_series()
        if not dup.any():
            break
        out = out.with_columns(
            _local=pl.when(_lit(dup))
            .then(pl.concat_str([s("_local"), s("_sfx").cast(pl.String)]))
            .otherwise(s("_local")),
            _sfx=s("_sfx") * 7 % 997 + 1,
        )
    email = pl.when(_lit(has_email)).then(s("_email"))
    out = out.with_columns(email=email)
    head_email = out["email"].gather(pl.Series(start, dtype=pl.Int64))
    out = out.with_columns(
        email=pl.when(_lit(share) & _lit(head_email).is_not_null())
        .then(_lit(head_email))
        .otherwise(s("email")),
        work_email=pl.when(s("_employed") & _lit(rng.random(n) < 0.6)).then(
            pl.concat_str(
                [
                    f,
                    pl.lit("."),
                    last,
                    pl.lit("@"),
                    s("_cslug"),
                    pl.lit(".com"),
                ]
            )
        ),
    )
    return out.drop(
        "_fslug",
        "_lslug",
        "_hslug",
        "_cslug",
        "_pat",
        "_num",
        "_fam",
        "_fam_style",
        "_dom",
        "_sfx",
        "_local",
        "_domain",
        "_email",
    )


# --------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------

_PHONE_FORMATS: Final[dict[str, int]] = {"US": 8, "GB": 5, "DE": 5, "FR": 5}


def _phone_format_expr(nsn: pl.Expr, country: pl.Expr, fmt: pl.Expr, e164: pl.Expr) -> pl.Expr:
    """Write a national number in one of the country's usual layouts."""
    d = nsn.str.slice
    us = [
        pl.concat_str([pl.lit("("), d(0, 3), pl.lit(") "), d(3, 3), pl.lit("-"), d(6, 4)]),
        pl.concat_str([d(0, 3), pl.lit("-"), d(3, 3), pl.lit("-"), d(6, 4)]),
        pl.concat_str([d(0, 3), pl.lit("."), d(3, 3), pl.lit("."), d(6, 4)]),
        nsn,
        pl.concat_str([pl.lit("+1 "), d(0, 3), pl.lit(" "), d(3, 3), pl.lit(" "), d(6, 4)]),
        pl.concat_str([pl.lit("1-"), d(0, 3), pl.lit("-"), d(3, 3), pl.lit("-"), d(6, 4)]),
        pl.concat_str([pl.lit("+1 ("), d(0, 3), pl.lit(") "), d(3, 3), pl.lit("-"), d(6, 4)]),
        pl.concat_str([pl.lit("1"), nsn]),
    ]
    gb = [
        pl.concat_str([pl.lit("0"), d(0, 4), pl.lit(" "), d(4)]),
        pl.concat_str([pl.lit("+44 "), d(0, 4), pl.lit(" "), d(4)]),
        pl.concat_str([pl.lit("0"), nsn]),
        pl.concat_str([pl.lit("(0"), d(0, 4), pl.lit(") "), d(4)]),
        pl.concat_str([pl.lit("0044 "), nsn]),
    ]
    de = [
        pl.concat_str([pl.lit("0"), d(0, 3), pl.lit(" "), d(3)]),
        pl.concat_str([pl.lit("+49 "), d(0, 3), pl.lit(" "), d(3)]),
        pl.concat_str([pl.lit("0"), d(0, 3), pl.lit("/"), d(3)]),
        pl.concat_str([pl.lit("0"), nsn]),
        pl.concat_str([pl.lit("0049 "), d(0, 3), pl.lit(" "), d(3)]),
    ]
    pairs = [d(0, 1), d(1, 2), d(3, 2), d(5, 2), d(7, 2)]
    fr = [
        pl.concat_str([pl.lit("0"), *pairs], separator=" ").str.replace(" ", "", literal=True),
        pl.concat_str([pl.lit("+33"), *pairs], separator=" "),
        pl.concat_str([pl.lit("0"), nsn]),
        pl.concat_str([pl.lit("0"), *pairs], separator=".").str.replace(".", "", literal=True),
        pl.concat_str([pl.lit("0033 "), nsn]),
    ]
    cc = {"US": "+1", "GB": "+44", "DE": "+49", "FR": "+33"}
    expr: Any = pl.when(e164).then(pl.concat_str([country.replace_strict(cc, default="+1"), nsn]))
    for code, layouts in (("US", us), ("GB", gb), ("DE", de), ("FR", fr)):
        k = (fmt * len(layouts)).floor().cast(pl.Int64)
        for i, layout in enumerate(layouts):
            expr = expr.when((country == code) & (k == i)).then(layout)
    return expr.otherwise(nsn)  # type: ignore[no-any-return]


def _source_rate(sources: Sequence[str], table: dict[str, dict[str, float]], key: str) -> pl.Expr:
    mapping = {s: table[s][key] for s in sources}
    return pl.col("source").replace_strict(mapping, return_dtype=pl.Float64)


def _make_records(
    people: pl.DataFrame, sources: Sequence[str], cfg: SynthConfig, rng: np.random.Generator
) -> pl.DataFrame:
    tb = _tables()
    n = people.height
    rpp = _norm(cfg.records_per_person)
    counts = rng.choice(len(rpp), size=n, p=rpp) + 1
    pidx = np.repeat(np.arange(n), counts)
    r = len(pidx)
    sw = _norm([cfg.source_weights[s] for s in sources])
    src = np.array(list(sources))[rng.choice(len(sources), size=r, p=sw)]

    def u() -> pl.Expr:
        return _lit(rng.random(r, dtype=np.float32).astype(np.float64))

    def flag(rate: float | pl.Expr) -> pl.Expr:
        return u() < rate

    end_us = (_days(cfg.end) + 1) * 86_400_000_000
    upd = end_us - (rng.random(r) * cfg.span_days * 86_400_000_000).astype(np.int64)
    upd_day = upd // 86_400_000_000

    keep = [
        "person_id", "country", "first_name", "_first_idx", "middle_name", "last_name",
        "_sur_idx", "_maiden_idx", "_married_day", "date_of_birth", "mobile", "landline",
        "email", "work_email", "company", "_comp_suf", "national_id", "_moved_day",
        "house", "street", "suffix_i", "address_line2", "city", "state", "postcode",
        "old_house", "old_street", "old_suffix_i", "old_address_line2", "old_city",
        "old_state", "old_postcode",
    ]  # fmt: skip
    df = people.select(keep)[pl.Series(pidx, dtype=pl.Int64)]
    df = df.with_columns(
        source=pl.Series(src, dtype=pl.String),
        updated_at=pl.Series(upd, dtype=pl.Int64).cast(pl.Datetime("us")),
        _upd_day=pl.Series(upd_day, dtype=pl.Int64),
    )
    s = pl.col
    rate = cfg.rate

    def sty(key: str) -> pl.Expr:
        return _source_rate(sources, _STYLE, key)

    def has(key: str) -> pl.Expr:
        return _source_rate(sources, _PRESENCE, key)

    # --- life events: old address before a move, maiden name before a marriage --------
    old = s("_upd_day") < s("_moved_day")
    addr_cols = ("house", "street", "suffix_i", "address_line2", "city", "state", "postcode")
    df = df.with_columns(
        [pl.when(old).then(s(f"old_{c}")).otherwise(s(c)).alias(c) for c in addr_cols]
    ).drop([f"old_{c}" for c in addr_cols])
    maiden = (s("_upd_day") < s("_married_day")) & (s("_maiden_idx") >= 0)
    sur_idx = np.where(
        df.select(maiden).to_series().to_numpy(),
        df["_maiden_idx"].to_numpy(),
        df["_sur_idx"].to_numpy(),
    )

    # --- first name: nicknames and variants; surname: spelling variants ------------------
    fi = df["_first_idx"].to_numpy()
    cnt = tb.first_var_cnt[fi]
    pick = tb.first_var_off[fi] + np.floor(rng.random(r) * np.maximum(cnt, 1)).astype(np.int64)
    use_nick = (cnt > 0) & (rng.random(r) < rate("nickname_rate"))
    first = _gather(tb.first_var, np.where(use_nick, pick, 0))
    scnt = tb.sur_var_cnt[sur_idx]
    spick = tb.sur_var_off[sur_idx] + np.floor(rng.random(r) * np.maximum(scnt, 1)).astype(np.int64)
    use_svar = (scnt > 0) & (rng.random(r) < rate("surname_variant_rate"))
    svar = _gather(tb.sur_var, np.where(use_svar, spick, 0)) if len(tb.sur_var) else None
    df = df.with_columns(
        first_name=pl.when(_lit(use_nick)).then(_lit(first)).otherwise(s("first_name")),
        last_name=_lit(_gather(tb.sur, sur_idx)),
    )
    if svar is not None:
        df = df.with_columns(
            last_name=pl.when(_lit(use_svar)).then(_lit(svar)).otherwise(s("last_name"))
        )

    # --- typos, initials, swaps ------------------------------------------------------------
    df = _typo_column(df, "first_name", rate("name_typo_rate"), u)
    df = _typo_column(df, "last_name", rate("name_typo_rate"), u)
    dot = pl.when(u() < 0.5).then(pl.lit(".")).otherwise(pl.lit(""))
    df = df.with_columns(
        first_name=pl.when(flag(rate("initial_rate")))
        .then(pl.concat_str([s("first_name").str.slice(0, 1), dot]))
        .otherwise(s("first_name")),
        middle_name=pl.when(u() < 0.4)
        .then(s("middle_name").str.slice(0, 1))
        .otherwise(s("middle_name")),
    )
    swap = flag(rate("swap_rate"))
    df = df.with_columns(
        first_name=pl.when(swap).then(s("last_name")).otherwise(s("first_name")),
        last_name=pl.when(swap).then(s("first_name")).otherwise(s("last_name")),
    )

    # --- source habits: accent folding, casing ------------------------------------------
    fold = flag(sty("fold"))
    translit = u() < 0.3
    text_cols = ("first_name", "middle_name", "last_name", "street", "city")
    df = df.with_columns(
        [
            pl.when(fold & translit)
            .then(
                _fold_expr(s(c).str.replace_many(list(T.TRANSLIT_DE), list(T.TRANSLIT_DE.values())))
            )
            .when(fold)
            .then(_fold_expr(s(c)))
            .otherwise(s(c))
            .alias(c)
            for c in text_cols
        ]
    )
    case_u = u()
    upper = case_u < sty("upper")
    lower = (case_u >= sty("upper")) & (case_u < sty("upper") + sty("lower"))
    df = df.with_columns(_upper=upper, _lower=lower)

    # --- full name (support sometimes holds only this) ------------------------------------
    full_u = u()
    full = (
        pl.when(full_u < 0.70)
        .then(pl.concat_str([s("first_name"), s("last_name")], separator=" "))
        .when(full_u < 0.85)
        .then(pl.concat_str([s("last_name"), pl.lit(", "), s("first_name")]))
        .otherwise(
            pl.concat_str(
                [
                    s("first_name"),
                    pl.concat_str([s("middle_name").str.slice(0, 1), pl.lit(".")]),
                    s("last_name"),
                ],
                separator=" ",
                ignore_nulls=True,
            )
        )
    )
    full_only = flag(has("full_only"))
    df = df.with_columns(_full_only=full_only).with_columns(
        full_name=pl.when(s("_full_only")).then(full),
    )

    # --- e-mail ------------------------------------------------------------------------------
    use_work = flag(sty("work_email")) & s("work_email").is_not_null()
    email = pl.when(use_work | s("email").is_null()).then(s("work_email")).otherwise(s("email"))
    df = df.with_columns(email=email).with_columns(
        _local=s("email").str.extract(r"^([^@]*)@", 1), _domain=s("email").str.extract(r"@(.*)$", 1)
    )
    tag = pl.lit(pl.Series(["news", "shop", "promo", "2023", "deals", "nl"])).gather(
        (u() * 6).floor().cast(pl.Int64)
    )
    gmail = s("_domain") == "gmail.com"
    dot_pos = (u() * s("_local").str.len_chars()).floor().cast(pl.Int64).clip(1)
    local = (
        pl.when(flag(sty("tags")))
        .then(pl.concat_str([s("_local"), pl.lit("+"), tag]))
        .when(gmail & flag(0.15 * cfg.noise) & s("_local").str.contains(r"\."))
        .then(s("_local").str.replace_all(".", "", literal=True))
        .when(gmail & flag(0.05 * cfg.noise))
        .then(
            pl.concat_str(
                [s("_local").str.slice(0, dot_pos), pl.lit("."), s("_local").str.slice(dot_pos)]
            )
        )
        .otherwise(s("_local"))
    )
    df = df.with_columns(_local=local)
    df = _typo_column(df, "_local", rate("email_typo_rate"), u)
    local = s("_local")
    email_u = u()
    df = df.with_columns(
        email=pl.when(s("email").is_null())
        .then(None)
        .when(email_u < 0.05 * cfg.noise)
        .then(pl.concat_str([local, pl.lit("@"), s("_domain")]).str.to_uppercase())
        .when(email_u < 0.12 * cfg.noise)
        .then(
            pl.concat_str(
                [
                    local.str.slice(0, 1).str.to_uppercase(),
                    local.str.slice(1),
                    pl.lit("@"),
                    s("_domain"),
                ]
            )
        )
        .otherwise(pl.concat_str([local, pl.lit("@"), s("_domain")]))
    ).drop("_local", "_domain")

    # --- phone -------------------------------------------------------------------------------
    nsn = (
        pl.when(s("landline").is_not_null() & (u() < 0.25))
        .then(s("landline"))
        .otherwise(s("mobile"))
    )
    df = df.with_columns(_nsn=nsn)
    df = df.with_columns(
        _nsn=pl.when(flag(rate("phone_typo_rate")))
        .then(_digit_typo_expr(s("_nsn"), u(), u()))
        .otherwise(s("_nsn"))
    ).with_columns(phone=_phone_format_expr(s("_nsn"), s("country"), u(), flag(sty("e164"))))

    # --- date of birth ------------------------------------------------------------------------
    dob = s("date_of_birth")
    kind = u()
    y, m, d = dob.dt.year(), dob.dt.month(), dob.dt.day()
    swapped = pl.date(y, d, m)
    sign = pl.when(u() < 0.5).then(pl.lit(-1)).otherwise(pl.lit(1))
    # one wrong digit of YYYYMMDD (an impossible date falls back to a day off)
    digits = dob.dt.strftime("%Y%m%d")
    pos = (u() * 8).cast(pl.Int64).clip(0, 7)
    typo = pl.concat_str(
        [
            digits.str.slice(0, pos),
            (u() * 10).cast(pl.Int64).clip(0, 9).cast(pl.String),
            digits.str.slice(pos + 1),
        ]
    ).str.to_date("%Y%m%d", strict=False)
    other_month = ((m - 1 + (u() * 11).cast(pl.Int32).clip(0, 10) + 1) % 12 + 1).cast(pl.Int32)
    other_day = ((d - 1 + (u() * 27).cast(pl.Int32).clip(0, 26) + 1) % 28 + 1).cast(pl.Int32)
    dob_err = (
        pl.when((kind < 0.25) & (d <= 12) & (d != m))
        .then(swapped)
        .when(kind < 0.45)
        .then(dob + pl.duration(days=sign))
        .when(kind < 0.60)
        .then(pl.date(y + sign, m, pl.min_horizontal(d, 28)))
        .when(kind < 0.70)
        .then(pl.date(y + sign * 10, m, pl.min_horizontal(d, 28)))
        .when(kind < 0.85)
        .then(typo.fill_null(dob + pl.duration(days=sign)))
        .when(kind < 0.93)
        .then(pl.date(y, other_month, pl.min_horizontal(d, 28)))
        .otherwise(pl.date(y, m, other_day))
    )
    df = df.with_columns(
        date_of_birth=pl.when(flag(rate("dob_error_rate"))).then(dob_err).otherwise(dob)
    )

    # --- address ---------------------------------------------------------------------------
    abbrev = flag(sty("abbrev"))
    suffix = (
        pl.when(abbrev)
        .then(
            pl.concat_str(
                [
                    pl.lit(tb.suffix_abbr).gather(s("suffix_i")),
                    pl.when(u() < 0.3).then(pl.lit(".")).otherwise(pl.lit("")),
                ]
            )
        )
        .otherwise(pl.lit(tb.suffix_full).gather(s("suffix_i")))
    )
    house = s("house").cast(pl.String)
    line1 = (
        pl.when(s("country") == "DE")
        .then(
            pl.concat_str(
                [
                    s("street"),
                    pl.when(abbrev).then(pl.lit("str. ")).otherwise(pl.lit("straße ")),
                    house,
                ]
            )
        )
        .when(s("country") == "FR")
        .then(
            pl.concat_str(
                [
                    house,
                    pl.when(abbrev).then(pl.lit(", rue ")).otherwise(pl.lit(" rue ")),
                    s("street"),
                ]
            )
        )
        .otherwise(pl.concat_str([house, s("street"), suffix], separator=" "))
    )
    merge_unit = s("address_line2").is_not_null() & flag(0.3)
    line1 = (
        pl.when(merge_unit)
        .then(pl.concat_str([line1, s("address_line2")], separator=" "))
        .otherwise(line1)
    )
    df = df.with_columns(_line1=line1, _merge_unit=merge_unit)
    df = _typo_column(df, "_line1", rate("address_typo_rate"), u)
    line1 = s("_line1")
    merge_unit = s("_merge_unit")
    zip4 = pl.concat_str(
        [
            s("postcode"),
            pl.lit("-"),
            (u() * 10000).floor().cast(pl.Int64).cast(pl.String).str.zfill(4),
        ]
    )
    postcode = (
        pl.when((s("country") == "US") & flag(0.15))
        .then(zip4)
        .when((s("country") == "US") & flag(sty("zip_int")))
        .then(s("postcode").str.strip_chars_start("0"))
        .when((s("country") == "GB") & flag(0.3))
        .then(s("postcode").str.replace(" ", "", literal=True))
        .when((s("country") == "GB") & flag(0.1))
        .then(s("postcode").str.to_lowercase())
        .otherwise(s("postcode"))
    )  # fmt: skip
    city = (
        pl.when(flag(rate("address_typo_rate") / 2))
        .then(_typo_expr(s("city"), u(), u(), u()))
        .otherwise(s("city"))
    )
    state = (
        pl.when((s("country") == "US") & flag(sty("state_full")))
        .then(s("state").replace_strict(T.US_STATE_NAMES, default=s("state")))
        .otherwise(s("state"))
    )
    country = (
        pl.when(flag(sty("country_long")))
        .then(s("country").replace_strict(_COUNTRY_LONG, default=s("country")))
        .when((s("country") == "US") & flag(0.2))
        .then(pl.lit("USA"))
        .when((s("country") == "GB") & flag(0.3))
        .then(pl.lit("UK"))
        .otherwise(s("country"))
    )
    df = df.with_columns(
        address_line1=line1,
        address_line2=pl.when(merge_unit).then(None).otherwise(s("address_line2")),
        postcode=postcode,
        city=city,
        state=state,
        country=country,
    )

    # --- company, national id ----------------------------------------------------------------
    company = (
        pl.when(flag(0.4))
        .then(
            pl.concat_str(
                [s("company"), pl.lit(tb.company_suffix).gather(s("_comp_suf"))], separator=" "
            )
        )
        .otherwise(s("company"))
    )
    nid = (
        pl.when(flag(rate("national_id_typo_rate")))
        .then(_digit_typo_expr(s("national_id"), u(), u()))
        .otherwise(s("national_id"))
    )
    nid = pl.when(flag(0.4)).then(nid.str.replace_all("-", "", literal=True)).otherwise(nid)
    df = df.with_columns(company=company, national_id=nid)

    # --- casing (after every text edit) -------------------------------------------------
    cased = (
        "first_name",
        "middle_name",
        "last_name",
        "full_name",
        "address_line1",
        "address_line2",
        "city",
        "company",
    )
    df = df.with_columns(
        [
            pl.when(s("_upper")).then(s(c).str.to_uppercase()).when(s("_lower")).then(s(c).str.to_lowercase()).otherwise(s(c)).alias(c)
            for c in cased
        ]
    )  # fmt: skip

    # --- what each source holds -------------------------------------------------------------
    no_name = ~flag(has("name")) | s("_full_only")
    addr_present = flag(has("address"))
    pc_only = flag(has("postcode_only"))
    df = df.with_columns(
        first_name=pl.when(no_name | flag(0.02)).then(None).otherwise(s("first_name")),
        last_name=pl.when(no_name).then(None).otherwise(s("last_name")),
        middle_name=pl.when(no_name | ~flag(has("middle"))).then(None).otherwise(s("middle_name")),
        email=pl.when(flag(has("email"))).then(s("email")),
        phone=pl.when(flag(has("phone"))).then(s("phone")),
        date_of_birth=pl.when(flag(has("dob"))).then(s("date_of_birth")),
        address_line1=pl.when(addr_present).then(s("address_line1")),
        address_line2=pl.when(addr_present).then(s("address_line2")),
        city=pl.when(addr_present & ~flag(0.03)).then(s("city")),
        state=pl.when(addr_present & ~flag(0.03)).then(s("state")),
        postcode=pl.when((addr_present & ~flag(0.03)) | (~addr_present & pc_only)).then(
            s("postcode")
        ),
        country=pl.when(flag(has("country"))).then(s("country")),
        company=pl.when(flag(has("company"))).then(s("company")),
        national_id=pl.when(flag(has("national_id"))).then(s("national_id")),
    )

    # --- junk placeholders shared by many unrelated records ---------------------------------
    jr = rate("junk_rate")

    def junk(col: str, values: Sequence[str], present_key: str, factor: float = 1.0) -> pl.Expr:
        pick = pl.lit(pl.Series(list(values))).gather((u() * len(values)).floor().cast(pl.Int64))
        return (
            pl.when(flag(jr * factor) & (has(present_key) > 0))
            .then(pick)
            .otherwise(s(col))
            .alias(col)
        )

    df = df.with_columns(
        junk("email", T.JUNK_EMAILS, "email"),
        junk("phone", T.JUNK_PHONES, "phone"),
        junk("postcode", T.JUNK_POSTCODES, "address"),
        junk("last_name", T.JUNK_NAMES, "name", 0.25),
        pl.when(flag(jr / 2) & (has("dob") > 0))
        .then(
            pl.lit(pl.Series([date(1900, 1, 1), date(1970, 1, 1)])).gather(
                (u() * 2).floor().cast(pl.Int64)
            )
        )
        .otherwise(s("date_of_birth"))
        .alias("date_of_birth"),
    )

    # --- record ids: shuffled within each source ----------------------------------------------
    order = rng.permutation(r)
    df = df.with_columns(_shuffle=pl.Series(order, dtype=pl.Int64))
    df = df.with_columns(_rank=s("_shuffle").rank("ordinal").over("source").cast(pl.Int64))
    rid: Any = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for name in sources:
        pre, width = _ID_FORMAT[name]
        rid = rid.when(s("source") == name).then(
            pl.concat_str([pl.lit(pre), s("_rank").cast(pl.String).str.pad_start(width, "0")])
        )
    df = df.with_columns(record_id=rid)
    src_order = {name: i for i, name in enumerate(sources)}
    return df.with_columns(
        _src_order=s("source").replace_strict(src_order, return_dtype=pl.Int64)
    ).sort("_src_order", "record_id")


def generate_people(
    n_people: int,
    *,
    sources: Sequence[str] = SOURCES,
    seed: int = 0,
    config: SynthConfig | None = None,
    profile: Literal["standard", "worst", "census"] = "standard",
) -> Generated:
    """Generate ``n_people`` synthetic people as seen by several source systems.

    Args:
        n_people: number of real people (the records are about 2.4 times as many
            with the default ``records_per_person``).
        sources: which source systems to imitate, a subset of
            ``("crm", "billing", "marketing", "support")``. Each has its own
            missing fields and habits (see ``docs/datasets.md``).
        seed: random seed; the same seed and config give identical frames.
        config: every other knob, with documented defaults ([`SynthConfig`][SynthConfig]).
        profile: ``"standard"``, or ``"worst"`` for the same people, records and
            truth re-rendered in worst-case value shapes (phones of 14 countries
            in 12 layouts, almost every e-mail and address distinct, text dates
            of birth in mixed formats, some names in non-Latin scripts), for
            speed benchmarks (see "Worst-case profile" in ``docs/datasets.md``);
            or ``"census"`` for three administrative sources, one without
            address and one without birth date and ID, whose sparse records
            chain households together (see "Census-like profile").

    Returns:
        [`Generated`][Generated] with ``records`` (canonical columns), ``truth``
        (source, record_id, person_id) and ``people`` (the true attributes).

    Raises:
        ConfigError: an unknown source or profile, or a knob out of range.

    Examples:
        >>> g = generate_people(200, seed=7)
        >>> g.records.columns[:3]
        ['source', 'record_id', 'first_name']
        >>> g.truth.height == g.records.height
        True
        >>> generate_people(200, seed=7).records.equals(g.records)
        True

    """
    cfg = config if config is not None else SynthConfig()
    _validate(n_people, sources, cfg)
    if profile not in ("standard", "worst", "census"):
        raise ConfigError(f"profile must be 'standard', 'worst' or 'census'; got {profile!r}")
    ss = np.random.SeedSequence(seed)
    people_seed, record_seed = ss.spawn(2)
    people = _make_people(n_people, cfg, np.random.default_rng(people_seed))
    recs = _make_records(people, sources, cfg, np.random.default_rng(record_seed))
    records = recs.select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])
    truth = recs.select("source", "record_id", "person_id")
    public_people = people.select(
        "person_id",
        pl.concat_str(
            [pl.lit("H"), (pl.col("household_id") + 1).cast(pl.String).str.zfill(7)]
        ).alias("household_id"),
        "role",
        "gender",
        "first_name",
        "middle_name",
        "last_name",
        "maiden_name",
        "married_at",
        "date_of_birth",
        "email",
        "work_email",
        pl.col("mobile").alias("mobile_nsn"),
        pl.col("landline").alias("landline_nsn"),
        (pl.concat_str([pl.col("house").cast(pl.String), pl.col("street")], separator=" ")).alias(
            "street_address"
        ),
        "address_line2",
        "city",
        "state",
        "postcode",
        "country",
        "moved_at",
        pl.concat_str(
            [pl.col("old_house").cast(pl.String), pl.col("old_street")], separator=" "
        ).alias("old_street_address"),
        pl.col("old_city"),
        pl.col("old_postcode"),
        "company",
        "national_id",
    )
    generated = Generated(records=records, truth=truth, people=public_people)
    if profile == "worst":
        from c360._synth.worst import worst_case  # imports this module

        return worst_case(generated, seed=seed, config=cfg)
    if profile == "census":
        from c360._synth.census import census  # imports this module

        return census(generated)
    return generated
