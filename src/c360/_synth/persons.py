"""The people behind synthetic records: step 1 of the standard generator.

``_make_people`` draws the truth, one row per person: households and roles
(head, spouse, roommate, child), genders, first names distinct within a
household (with juniors and twins on purpose), surnames and maiden names,
dates of birth, the household's current and previous address
(``c360._synth.addresses``), landlines and mobiles valid for the country
(``_national_numbers``), e-mails unique across people (``_emails``),
employers and national ids in each country's shape.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from c360._synth.addresses import _address_frame, _address_parts
from c360._synth.common import _days, _gather, _lit, _norm, _tables, _zipf
from c360._synth.config import SynthConfig


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
