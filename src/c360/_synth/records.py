"""Records of synthetic people as each source holds them: step 2 of the standard generator.

``_make_records`` sees each person 1..k times across the sources and writes
every record from the person's data as of its ``updated_at`` (the old address
before a move, the maiden name before a marriage), with the errors of real
systems (nicknames, spelling variants, typos, initials, swaps, wrong dates of
birth, junk placeholders) and the source's profile: which fields it holds
(``_PRESENCE``) and how it writes them (``_STYLE``: casing, accent folding,
phone layouts, e-mail tags, abbreviations). Record ids are numbered per source
(``_ID_FORMAT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final

import numpy as np
import polars as pl

from c360._synth import tables as T  # noqa: N812
from c360._synth.common import _days, _gather, _lit, _norm, _tables
from c360._synth.config import SynthConfig
from c360._synth.text import _digit_typo_expr, _fold_expr, _typo_column, _typo_expr

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
