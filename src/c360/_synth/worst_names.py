# ruff: noqa: RUF001  (the transliteration tables hold Cyrillic and Greek letters)
"""Names and e-mails of the worst-case profile (``c360._synth.worst``).

E-mails: one almost always distinct address per person, a name-based local part
with a personal token, at a big provider or a generated company domain (nearly
one per person), with typos and mixed case per record. Names: about 3% of people
are written in Cyrillic, Greek or CJK-looking characters in one of their sources.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

from c360._synth import tables as T  # noqa: N812
from c360._synth.config import SynthConfig
from c360._synth.text import _fold_expr, _slug_expr, _typo_expr
from c360._synth.worst_common import (
    _CASE_RATE,
    _index,
    _norm,
    _pick,
    _recase,
    _rewrite,
    _Uniform,
)

_SCRIPT_RATE: Final = 0.03  # people written in a non-Latin script in one source
_INITIALS: Final = tuple("abcdehjklmnprstw")  # a middle initial for people without a middle name

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
