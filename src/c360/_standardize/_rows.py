r"""Standardisation of a few records in plain Python: the single-record path.

[`standardize`][c360.standardize.standardize] is one polars query of some
three hundred expression nodes. On a million rows that is the fast way; on
one row each node's fixed cost (a few to fifty microseconds) adds up to
about 10 ms, half the time of resolving one record against a saved run.
Here the same cleaning is done value by value in Python (about 0.5 ms a
record), for frames of up to [`MAX_ROWS`][MAX_ROWS] rows.

Every function below mirrors one polars cleaner of this package and takes
its patterns and tables from the same place. The two agree value for value
(property tests run both on generated and random records) within a domain:
names, addresses, cities and companies in any script Python's Unicode
database knows (they are folded to ASCII first, by the same steps), every
other text column in ASCII. Regular expressions and case mappings of Rust
and Python differ outside it (``\s``, newer characters), so a frame
holding any other text, or a column of another type than the one
mirrored, is left to polars: [`standardize_rows`][standardize_rows]
returns ``None``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import jellyfish
import polars as pl

from c360._canonical import ISSUES
from c360._standardize import _email, _phone, _tables, _text
from c360._standardize._frame import _RAW, PHONE_DIGITS_NOTE, _plan, standardize
from c360._standardize._phone_vec import _EXTENSION

__all__ = ["MAX_ROWS", "standardize_rows"]

#: Frames of up to this many rows take the row path.
MAX_ROWS = 16

# Rust's \s over ASCII (Python's str.isspace also takes \x1c-\x1f), and the
# Unicode White_Space property (Rust's \s, char::is_whitespace) in full
_WS = "\t\n\x0b\x0c\r "
_WHITE_SPACE = (
    _WS
    + "\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)


def _py(pattern: str) -> re.Pattern[str]:
    r"""A polars (Rust) pattern for Python, with Rust's meaning of ``\s``, ``\S`` and ``$``.

    ``$`` is the end of the text (Python's also matches before a final
    newline); ``\s`` inside a class and ``\S`` are Rust's ASCII whitespace.
    """
    ws = re.escape(_WS)
    py = pattern.replace(r"[\s", "[" + ws).replace(r"\S", f"[^{ws}]")
    py = re.sub(r"(?<!\\)\$(?=[)|]|\Z)", lambda _: r"\Z", py)  # anchors, not "$" in a class
    if r"\s" in py:
        raise AssertionError(f"unmirrored \\s in {pattern!r}")
    return re.compile(py)


_APOSTROPHES = _py(_text._APOSTROPHES)
_NON_ALNUM = _py(_text._NON_ALNUM)


def _fold(v: str) -> str:
    """As [`ascii_fold`][c360._standardize._text.ascii_fold]: NFKD, marks dropped, anyascii."""
    if v.isascii():
        return v
    v = "".join(c for c in unicodedata.normalize("NFKD", v) if unicodedata.category(c)[0] != "M")
    return v if v.isascii() else _text._transliterate(v)


def _words(v: str) -> str:
    return _NON_ALNUM.sub(" ", _APOSTROPHES.sub("", _fold(v).lower())).strip(" ")


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    suffixes = _text._alternation(_tables.name_affixes("suffix"))
    return {
        "title": _py(_text._title_re()),
        "suffix": _py(_text._suffix_re()),
        "legal": _py(_text._legal_form_re()),
        "comma_suffix": _py(rf"(?i),[\s.]*(?:{suffixes})[\s.]*$"),
        "split": _py(_text._split_re()),
        "rest": _py(r"^(\S+)(?: (.+))?$"),
        "house": _py(r"^([0-9]+[a-z]?)(?: |$)"),
        "email": _py(_email.EMAIL_PATTERN),
        "extension": _py(_EXTENSION),
    }


def _clean_text(v: str | None) -> str | None:
    return (_words(v) or None) if v is not None else None


def _clean_name(v: str | None) -> str | None:
    if v is None:
        return None
    p = _patterns()
    return p["suffix"].sub("", p["title"].sub("", _words(v), count=1), count=1) or None


def _clean_company(v: str | None) -> str | None:
    if v is None:
        return None
    words = _words(v)
    if words.startswith("the "):
        words = words[4:]
    return _patterns()["legal"].sub("", words, count=1) or None


def _clean_address(v: str | None) -> str | None:
    if v is None:
        return None
    abbreviations = _tables.address_abbreviations()
    return " ".join(abbreviations.get(w, w) for w in _words(v).split(" ")) or None


_NOT_POSTCODE = re.compile(r"[^A-Z0-9]+")


def _clean_postcode(v: str | None) -> str | None:
    if v is None:
        return None
    code = _NOT_POSTCODE.sub("", v.upper())
    if len(code) == 9 and code.isdigit():
        code = code[:5]
    return code or None


_ID_PUNCT = _py(r"[\s\-./]+")


def _clean_national_id(v: str | None) -> str | None:
    return (_ID_PUNCT.sub("", v.upper()) or None) if v is not None else None


def _split_full_name(v: str | None) -> tuple[str | None, str | None, str | None]:
    """``(first, middle, last)`` as [`split_full_name`][c360._standardize._text.split_full_name]."""
    if v is None:
        return None, None, None
    p = _patterns()
    folded = p["comma_suffix"].sub("", _fold(v), count=1)
    if "," in folded:
        before, after = folded.split(",", 1)
        rest = _clean_name(after)
        m = p["rest"].search(rest) if rest is not None else None
        first, middle = m.groups() if m else (None, None)
        return first, middle, _clean_name(before)
    whole = _clean_name(folded)
    m = p["split"].search(whole) if whole is not None else None
    if m is None:
        return whole, None, None
    return m.group(1), m.group(2), m.group(3)


def _join(*parts: str | None) -> str | None:
    return " ".join(x for x in parts if x is not None) or None


def _canonical_email(v: str | None, provider_rules: bool) -> str | None:
    if v is None:
        return None
    strip = _email._STRIP
    e = v.strip(strip).lower().removeprefix("mailto:").strip(strip)
    if not e or not _email_valid(e):
        return None
    if not provider_rules:
        return e
    local, domain = e.split("@", 1)
    domain = _email.DOMAIN_ALIASES.get(domain, domain)
    if domain in _email.PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _email.DOTLESS_DOMAINS:
        local = local.replace(".", "")
    out = f"{local}@{domain}"
    return out if local and _email_valid(out) else None


def _email_valid(e: str) -> bool:
    return bool(_patterns()["email"].search(e)) and len(e) <= 254 and e.find("@") <= 64


_NOT_DIGIT = re.compile(r"[^0-9]")
_INTL_PREFIX = re.compile(r"^(?:011|00)")


def _phone_digits(raw: str | None, e164: str | None, possible: str | None) -> str | None:
    """As [`digits_of`][c360._standardize._phone.digits_of]."""
    digits = None
    if e164 is None and raw is not None:
        digits = _patterns()["extension"].sub("", raw, count=1)
        digits = _INTL_PREFIX.sub("", _NOT_DIGIT.sub("", digits), count=1)
    out = next((x for x in (e164, possible, digits) if x is not None), None)
    if out is None:
        return None
    out = out.removeprefix("+")
    return out if len(out) >= _phone.MIN_PHONE_DIGITS else None


_NOT_LETTER = re.compile(r"[^A-Za-z]+")


def _phonetic(func: Callable[[str], str]) -> Callable[[str | None], str | None]:
    def run(v: str | None) -> str | None:
        letters = _NOT_LETTER.sub("", v) if v is not None else ""
        return (func(letters) or None) if letters else None

    return run


def _blank(v: Any) -> bool:
    """Null or only whitespace: what ``_blank_to_null`` nulls."""
    return v is None or not str(v).strip(_WHITE_SPACE)


# Columns read as text by the row path, and the cleaner of each.
_CLEANERS: dict[str, Callable[[str | None], str | None]] = {
    "city": _clean_text,
    "state": _clean_text,
    "country": _clean_text,
    "address_line1": _clean_address,
    "address_line2": _clean_address,
    "postcode": _clean_postcode,
    "company": _clean_company,
    "national_id": _clean_national_id,
}
_NAMES = ("first_name", "middle_name", "last_name")
_TEXT = (*_NAMES, "full_name", "email", "phone", *_CLEANERS)
# Columns folded to ASCII first: any assigned character is mirrored. The
# others are taken in ASCII only (case mappings and \s differ beyond it).
_FOLDED = frozenset(
    (*_NAMES, "full_name", "city", "state", "address_line1", "address_line2", "company")
)


def _mirrored(column: str, v: str) -> bool:
    """Whether the row path gives what polars gives for this value.

    A folded column takes characters assigned in Python's Unicode database:
    their decompositions and categories are the same in Rust's newer one
    (Unicode's stability policy). Python does not know characters assigned
    after its version; those, and non-ASCII values of other columns, go to polars.
    """
    if v.isascii():
        return True
    return column in _FOLDED and all(unicodedata.category(c) != "Cn" for c in v)


@functools.lru_cache(maxsize=32)
def _layout(
    schema_items: tuple[tuple[str, pl.DataType], ...], cfg: Any
) -> tuple[pl.Schema, tuple[str, ...]] | None:
    """Output schema and noted columns of ``standardize`` for this input, or ``None``.

    ``None`` when a column the row path reads has another type than it mirrors.
    """
    schema = dict(schema_items)
    for c in _TEXT:
        if c in schema and schema[c] != pl.String:
            return None
    dob = schema.get("date_of_birth")
    if dob is not None and dob != pl.Date and not isinstance(dob, pl.Datetime):
        return None
    if ISSUES in schema and schema[ISSUES] != pl.List(pl.String):
        return None
    raw = _plan(schema_items, cfg)[0]
    noted = tuple(k[len(_RAW) :] for k in raw if k.startswith(_RAW))
    out = standardize(pl.LazyFrame(schema=pl.Schema(schema_items)), cfg).collect_schema()
    return out, noted


def standardize_rows(frame: pl.DataFrame, cfg: Any) -> pl.DataFrame | None:
    """``standardize(frame.lazy(), cfg).collect()`` for a few rows, in Python; else ``None``.

    ``None`` (take the polars path) for more than [`MAX_ROWS`][MAX_ROWS]
    rows, non-ASCII text, or column types the row path does not mirror.

    Examples:
        >>> from c360.standardize import StandardizeConfig
        >>> df = pl.DataFrame({"record_id": ["1"], "full_name": ["Dr. Bill O'Neil Jr."],
        ...                    "email": ["Bill.ONeil+shop@GMAIL.com"], "phone": ["nope"]})
        >>> row = standardize_rows(df, StandardizeConfig()).row(0, named=True)
        >>> row["first_name"], row["last_name"], row["first_name_nick"], row["email"]
        ('bill', 'oneil', 'william', 'billoneil@gmail.com')
        >>> row["phone"], row["_issues"]
        (None, ['phone: invalid, nulled'])
    """
    if frame.height > MAX_ROWS:
        return None
    layout = _layout(tuple(frame.schema.items()), cfg)
    if layout is None:
        return None
    schema, noted = layout
    text = {c: frame.get_column(c).to_list() for c in _TEXT if c in frame.columns}
    if not all(v is None or _mirrored(c, v) for c, values in text.items() for v in values):
        return None
    cols = _clean_columns(frame, text, cfg)
    n = frame.height
    previous = frame.get_column(ISSUES).to_list() if ISSUES in frame.columns else [None] * n
    issues = []
    for i in range(n):
        notes = list(previous[i] or [])
        for c in noted:
            if cols[c][i] is None and not _blank(text[c][i]):
                phone_note = c == "phone" and cols["phone_digits"][i] is not None
                notes.append(PHONE_DIGITS_NOTE if phone_note else f"{c}: invalid, nulled")
        issues.append(notes)
    cols[ISSUES] = issues
    series = [
        pl.Series(name, cols[name], dtype=dtype) if name in cols else frame.get_column(name)
        for name, dtype in schema.items()
    ]
    return pl.DataFrame(series)


def _clean_columns(
    frame: pl.DataFrame, text: dict[str, list[Any]], cfg: Any
) -> dict[str, Sequence[Any]]:
    """Every column ``standardize`` computes, as Python lists."""
    n = frame.height
    out: dict[str, Sequence[Any]] = {}
    none: list[Any] = [None] * n
    parts: dict[str, list[str | None]] = {}
    if "full_name" in text:
        split = [_split_full_name(v) for v in text["full_name"]]
        for j, c in enumerate(_NAMES):
            from_full = [s[j] for s in split]
            if c in text:
                own = [_clean_name(v) for v in text[c]]
                parts[c] = [a if a is not None else b for a, b in zip(own, from_full, strict=True)]
            else:
                parts[c] = from_full
        joined = [_join(*p) for p in zip(*(parts[c] for c in _NAMES), strict=True)]
        out["full_name"] = [_join(*s) or j for s, j in zip(split, joined, strict=True)]
    elif any(c in text for c in _NAMES):
        for c in _NAMES:
            if c in text:
                parts[c] = [_clean_name(v) for v in text[c]]
        out["full_name"] = [
            _join(*p) for p in zip(*(parts.get(c, none) for c in _NAMES), strict=True)
        ]
    out.update(parts)
    if "email" in text:
        emails = [_canonical_email(v, cfg.email_provider_rules) for v in text["email"]]
        out["email"] = emails
        halves = [e.split("@", 1) if e is not None else (None, None) for e in emails]
        out["email_user"] = [h[0] for h in halves]
        out["email_domain"] = [h[1] for h in halves]
    if "phone" in text:
        regions = _regions(frame, cfg.default_region)
        both = _phone.record_readers(cfg.default_region, "both")[1]
        raw = [None if _blank(v) else v for v in text["phone"]]
        readings = [both(v, r) for v, r in zip(text["phone"], regions, strict=True)]
        pick = 0 if cfg.phone_validation == "valid" else 1
        out["phone"] = [r[pick] for r in readings]
        out["phone_digits"] = [
            _phone_digits(v, e, r[1]) for v, e, r in zip(raw, out["phone"], readings, strict=True)
        ]
    if "date_of_birth" in frame.columns:
        dob = frame.get_column("date_of_birth")
        if dob.dtype != pl.Date:
            dob = dob.dt.date()
        out["date_of_birth"] = dob.to_list()
        out["dob_year"] = [d.year if d is not None else None for d in dob.to_list()]
    for c, clean in _CLEANERS.items():
        if c in text:
            out[c] = [clean(v) for v in text[c]]
    if "address_line1" in out:
        house = _patterns()["house"]
        out["address_number"] = [
            (m.group(1) if (m := house.search(v)) else None) if v is not None else None
            for v in out["address_line1"]
        ]
    if "first_name" in out and cfg.nicknames:
        nicks = _tables.nicknames()
        out["first_name_nick"] = [
            nicks.get(v, v) if v is not None else None for v in out["first_name"]
        ]
    if cfg.phonetic:
        for c, funcs in (
            ("first_name", (("metaphone", jellyfish.metaphone),)),
            (
                "last_name",
                (
                    ("metaphone", jellyfish.metaphone),
                    ("nysiis", jellyfish.nysiis),
                    ("soundex", jellyfish.soundex),
                ),
            ),
        ):
            if c in out:
                for name, func in funcs:
                    code = _phonetic(func)
                    out[f"{c}_{name}"] = [code(v) for v in out[c]]
    return out


def _regions(frame: pl.DataFrame, default_region: str) -> list[str]:
    """As [`phone_region`][c360._standardize._phone.phone_region], row by row."""
    if "country" not in frame.columns:
        return [default_region] * frame.height
    names = _phone._region_names()
    return [
        names.get(v.strip(_WS).upper(), default_region) if v is not None else default_region
        for v in frame.get_column("country").to_list()
    ]
