"""Which column is which: canonical roles inferred from headers and values.

A raw export names its columns its own way (``E-mail Address``, ``Tel.``,
``PLZ``, ``Geburtsdatum``). For a source without a declared mapping, each of
its columns is scored against every canonical role twice:

* **by its header**: lower-cased, accents and punctuation removed, camel case
  split (``EmailAddr`` → ``email addr``), against synonyms in English,
  German, French, Spanish, Dutch and Portuguese. A qualifier that points at
  someone else (``Created By Email``, ``Company Phone``, ``Manager Name``)
  or at a flag (``Email Opt In``) discounts the match; a number other than 1
  (``Phone 2``) marks a second, lesser column;
* **by its values**, on a bounded sample: the share that parse as an e-mail
  address, a phone number, a date (of birth: between 1900 and today), a
  postcode, a person's name, a country, a national ID; for the key, the share
  of distinct non-null values.

The two combine into a confidence per (column, role); roles are assigned
greedily from the most confident, each column and role once. A role whose
two best columns are within [`TIE`][TIE] of each other, and any column
whose best confidence is under [`THRESHOLD`][THRESHOLD], is left unmapped
and reported, never guessed. With no column that looks like a key, records
are keyed by a hash of their content (stable under reordering; an edited row
gets a new ID).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from c360._infer_words import QUALIFIERS, SYNONYMS

__all__ = [
    "ROW_HASH",
    "THRESHOLD",
    "TIE",
    "ColumnGuess",
    "Inference",
    "infer_columns",
    "normalise_header",
]

#: Lowest confidence at which a column is mapped to a role.
THRESHOLD = 0.6
#: Two columns whose confidences for one role differ by less than this tie.
TIE = 0.03
#: Rows read to judge values.
SAMPLE_ROWS = 10_000
#: The name of the content-hash key column added when no column is a key.
ROW_HASH = "_row_hash"


#: Value tests exist for these roles: header and values both count.
_VALUE_ONLY = {"email": 0.8, "phone": 0.7, "date_of_birth": 0.62}

_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_PHONE_CHARS = r"^[\d\s()+\-./]+((ext|x|#)\.?\s*\d+)?$"
_DATE_LIKE = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$"
_NAME = r"^[^\W\d_]+([ '\-.\u2019][^\W\d_]+)*\.?$"
_POSTCODE = r"^[A-Z0-9][A-Z0-9 \-]{1,8}[A-Z0-9]$"
#: An identity number of any country: letters and digits (at least five digits,
#: so not a word), optionally grouped by spaces, dots, dashes or slashes.
_NATIONAL_ID = r"^[A-Z0-9][A-Z0-9 .\-/]{4,18}[A-Z0-9]$"
_ADDRESS = r"(^\d+[A-Za-z]?[ ,]+[^\d\W]|[^\d\W][^\d]*\s\d+[A-Za-z]?\b)"
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%d %B %Y",
    "%B %d %Y",
    "%d %b %Y",
    "%b %d %Y",
)


@dataclass(frozen=True, slots=True)
class ColumnGuess:
    """One column's role, or why it has none.

    Attributes:
        column: the source's column.
        role: the canonical column it maps to (``record_id`` for the key,
            ``updated_at`` for the event time), or ``None``.
        confidence: 0..1, the combined evidence for ``role`` (or for the best
            role when unmapped).
        header: the header's evidence (0 when the header names no role).
        values: the values' evidence (``None`` when the role has no value test).
        reason: how the role was chosen, or why the column is left unmapped.
    """

    column: str
    role: str | None
    confidence: float
    header: float
    values: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {
            "column": self.column,
            "role": self.role,
            "confidence": round(self.confidence, 3),
            "header": round(self.header, 3),
            "values": None if self.values is None else round(self.values, 3),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Inference:
    """The inferred mapping of one source.

    Attributes:
        source: the source's name.
        columns: ``source column -> canonical column`` for the attributes
            (what ``Source(columns=...)`` takes).
        record_id: the key column, or [`ROW_HASH`][ROW_HASH] when none looks like one.
        event_time: the event-time column, or ``None``.
        guesses: every column of the source, mapped or not, with its evidence.
    """

    source: str
    columns: Mapping[str, str]
    record_id: str
    event_time: str | None
    guesses: tuple[ColumnGuess, ...] = field(default=())

    @property
    def unmapped(self) -> tuple[ColumnGuess, ...]:
        """The columns left unmapped, with the reason."""
        return tuple(g for g in self.guesses if g.role is None)

    @property
    def hashed_key(self) -> bool:
        """Whether records are keyed by a hash of their content."""
        return self.record_id == ROW_HASH

    def to_dict(self) -> dict[str, Any]:
        """As plain data (for the report)."""
        return {
            "source": self.source,
            "record_id": self.record_id,
            "event_time": self.event_time,
            "columns": dict(self.columns),
            "hashed_key": self.hashed_key,
            "guesses": [g.to_dict() for g in self.guesses],
        }


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalise_header(header: str) -> list[str]:
    """Header words: accents and punctuation gone, camel case split, lower case.

    Examples:
        >>> normalise_header("E-mail Address"), normalise_header("EmailAddr")
        (['e', 'mail', 'address'], ['email', 'addr'])
        >>> normalise_header("Straße / Hausnr."), normalise_header("Téléphone_2")
        (['strasse', 'hausnr'], ['telephone', '2'])
    """
    text = str(header).replace("ß", "ss").replace("ẞ", "SS")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _CAMEL.sub(" ", text)
    text = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    return re.findall(r"[a-z0-9]+", text.lower())


def header_score(role: str, header: str) -> tuple[float, str]:
    """How strongly ``header`` names ``role`` (0..1), and how.

    Examples:
        >>> header_score("email", "E-mail Address")
        (1.0, 'header "E-mail Address" is a name for email')
        >>> round(header_score("email", "Created By Email")[0], 2)
        0.26
        >>> round(header_score("phone", "Phone 2")[0], 2)
        0.6
    """
    if header == role:
        return 1.0, f'header "{header}" is the canonical name'
    words = normalise_header(header)
    if not words:
        return 0.0, ""
    numbers = [w for w in words if w.isdigit()]
    plain = [w for w in words if not w.isdigit()]
    text = " ".join(words)
    joined = "".join(plain)
    best, how, matched = 0.0, "", ""
    for phrase, weight in SYNONYMS.get(role, {}).items():
        p_words = phrase.split()
        if text == phrase or " ".join(plain) == phrase or joined == phrase.replace(" ", ""):
            score, kind = weight, "is a name for"
            extra: list[str] = []
        elif _contains(words, p_words) or _contains(plain, p_words):
            extra = [w for w in plain if w not in p_words]
            score, kind = 0.85 * weight, "contains a name for"
        else:
            continue
        if any(w in QUALIFIERS for w in extra):
            score *= 0.3
            kind = "names someone or something else than"
        if score > best:
            best, how, matched = score, f'header "{header}" {kind} {role}', phrase
    if best and any(n != "1" and n not in matched.split() for n in numbers):
        best *= 0.6
        how += " (a second column of it)"
    return best, how


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(words[i : i + n]) == list(phrase) for i in range(len(words) - n + 1))


def _mean(flags: pl.Series) -> float:
    """The share of true values (0 for an empty series)."""
    m = flags.mean()
    return float(m) if isinstance(m, int | float) else 0.0


def _share(values: pl.Series, pattern: str) -> float:
    if values.len() == 0:
        return 0.0
    return _mean(values.str.contains(pattern))


def _date_share(values: pl.Series, *, birth: bool) -> float:
    """Share of values that parse as a date in any of the usual formats, within range.

    Any format counts: one column often mixes them (``1980-01-02``, ``02.01.1980``).
    """
    if values.len() == 0:
        return 0.0
    text = values.str.strip_chars()
    head = text.str.slice(0, 10)
    parsed = pl.select(
        pl.coalesce(
            *(
                (head if "%B" not in fmt and "%b" not in fmt else text).str.to_date(
                    fmt, strict=False
                )
                for fmt in _DATE_FORMATS
            )
        )
    ).to_series()
    today = date.today()
    if birth:
        ok = parsed.is_between(date(1900, 1, 1), date(today.year - 5, 12, 31))
    else:
        ok = parsed.is_between(date(1970, 1, 1), date(today.year + 1, 12, 31))
    return _mean(ok.fill_null(False))


def value_score(role: str, values: pl.Series, *, countries: frozenset[str]) -> float | None:
    """Share of the sampled non-null values that fit ``role`` (``None``: no such test)."""
    v = values.drop_nulls().cast(pl.String).str.strip_chars()
    v = v.filter(v != "")
    if v.len() == 0:
        return None
    if role == "email":
        return _share(v, _EMAIL)
    if role == "phone":
        digits = v.str.count_matches(r"\d")
        dated = v.str.contains(_DATE_LIKE)  # 1975-03-04 has the digits of a phone
        ok = v.str.contains(_PHONE_CHARS) & digits.is_between(7, 16) & ~dated
        return _mean(ok)
    if role == "date_of_birth":
        return _date_share(v, birth=True)
    if role == "updated_at":
        if values.dtype in (pl.Date, pl.Datetime):
            return 1.0
        return _date_share(v, birth=False)
    if role in ("first_name", "last_name", "middle_name", "city"):
        return _share(v, _NAME)
    if role == "full_name":
        two = v.str.contains(_NAME) & v.str.contains(r"\S\s+\S")
        return _mean(two)
    if role == "postcode":
        upper = v.str.to_uppercase()
        return _mean(upper.str.contains(_POSTCODE) & upper.str.contains(r"\d"))
    if role == "country":
        return _mean(v.str.to_lowercase().is_in(list(countries)))
    if role == "national_id":
        upper = v.str.to_uppercase()
        ok = upper.str.contains(_NATIONAL_ID) & (upper.str.count_matches(r"\d") >= 5)
        return _mean(ok)
    if role == "address_line1":
        return _share(v, _ADDRESS)
    if role == "record_id":
        return float(v.n_unique() / v.len()) * float(v.len() / values.len())
    return None


def _countries() -> frozenset[str]:
    import phonenumbers

    from c360._standardize._phone import _region_names

    names = {r.lower() for r in phonenumbers.SUPPORTED_REGIONS}
    names |= {str(n).lower() for n in _region_names().values()}
    names |= {"usa", "uk", "deutschland", "espana", "españa", "nederland", "brasil", "schweiz"}
    return frozenset(names)


#: Header words of an identifier: such a column is never a phone or a date by its values.
_ID_WORDS = frozenset({"id", "no", "nr", "number", "num", "code", "key", "ref", "nummer", "numero"})


def _confidence(role: str, header: float, values: float | None, words: Sequence[str]) -> float:
    if header > 0:
        if values is None:
            return header * 0.95
        return header * (0.55 + 0.45 * values)
    floor = _VALUE_ONLY.get(role)
    if floor is None or values is None or values < 0.9:
        return 0.0
    if role != "email" and _ID_WORDS & set(words):
        return 0.0
    return floor * values


def infer_columns(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    source: str = "source",
    sample_rows: int = SAMPLE_ROWS,
) -> Inference:
    """Infer each column's canonical role from its header and a sample of its values.

    Args:
        frame: the source in its own column names.
        source: its name (for the report).
        sample_rows: rows read to judge values.

    Examples:
        >>> df = pl.DataFrame({"Contact ID": ["1", "2"], "E-mail Address": ["a@x.io", "b@y.io"],
        ...                    "Zip": ["10001", "94103"], "Notes": ["vip", ""]})
        >>> inf = infer_columns(df, source="crm")
        >>> inf.record_id, dict(inf.columns)
        ('Contact ID', {'E-mail Address': 'email', 'Zip': 'postcode'})
        >>> [g.column for g in inf.unmapped]
        ['Notes']
    """
    sample = (frame.head(sample_rows).collect() if isinstance(frame, pl.LazyFrame)
              else frame.head(sample_rows))  # fmt: skip
    countries = _countries()
    roles = list(SYNONYMS)
    scored: dict[str, list[tuple[float, str, float, float | None, str]]] = {}
    for col in sample.columns:
        if col.startswith("_"):
            continue
        series = sample.get_column(col)
        options = []
        for role in roles:
            h, how = header_score(role, col)
            if h == 0 and role not in _VALUE_ONLY and role != "record_id":
                continue
            text = series if series.dtype in (pl.Date, pl.Datetime) else series.cast(pl.String)
            v = value_score(role, text, countries=countries)
            if role == "record_id" and h == 0:
                conf = 0.0
            elif role == "record_id":
                conf = h * (0.3 + 0.7 * (v or 0.0)) if (v or 0.0) >= 0.95 else 0.2 * h
            else:
                conf = _confidence(role, h, v, normalise_header(col))
            if conf > 0:
                why = how or f"values look like {role} ({v:.0%})"
                options.append((conf, role, h, v, why))
        scored[col] = sorted(options, reverse=True)
    return _assign(source, sample, scored)


def _assign(
    source: str,
    sample: pl.DataFrame,
    scored: Mapping[str, list[tuple[float, str, float, float | None, str]]],
) -> Inference:
    """Roles to columns, most confident first; ties and weak evidence left unmapped."""
    cands = sorted(
        (
            (conf, col, role, h, v, why)
            for col, opts in scored.items()
            for conf, role, h, v, why in opts
        ),
        # a column already named canonically keeps its role, before any other
        key=lambda c: (c[1] != c[2], -c[0], c[1], c[2]),
    )
    taken_cols: dict[str, ColumnGuess] = {}
    taken_roles: set[str] = set()
    refused: dict[str, str] = {}
    for conf, col, role, h, v, why in cands:
        if conf < THRESHOLD or col in taken_cols or role in taken_roles or col in refused:
            continue
        if col == role:
            taken_cols[col] = ColumnGuess(col, role, conf, h, v, why)
            taken_roles.add(role)
            continue
        rivals = [
            (c2, col2)
            for c2, col2, r2, *_ in cands
            if r2 == role and col2 != col and col2 not in taken_cols and col2 not in refused
            and c2 >= THRESHOLD and conf - c2 < TIE
        ]  # fmt: skip
        if rivals:
            names = ", ".join(f'"{c}"' for _, c in [(conf, col), *rivals])
            for _, c in [(conf, col), *rivals]:
                refused[c] = f"tie for {role} between {names}: left unmapped"
            taken_roles.add(role)
            continue
        taken_cols[col] = ColumnGuess(col, role, conf, h, v, why)
        taken_roles.add(role)
    _bare_name_is_surname(sample, taken_cols, taken_roles)
    guesses = []
    for col in sample.columns:
        if col.startswith("_"):
            continue
        if col in taken_cols:
            guesses.append(taken_cols[col])
            continue
        opts = scored.get(col, [])
        best = opts[0] if opts else None
        if col in refused:
            reason = refused[col]
        elif best is None:
            reason = "no header or value evidence for any role"
        elif best[0] < THRESHOLD:
            reason = f"weak evidence for {best[1]} ({best[0]:.2f} < {THRESHOLD})"
        else:
            holder = next((g.column for g in taken_cols.values() if g.role == best[1]), "?")
            reason = f'{best[1]} went to "{holder}", more likely'
        guesses.append(
            ColumnGuess(
                col,
                None,
                best[0] if best else 0.0,
                best[2] if best else 0.0,
                best[3] if best else None,
                reason,
            )
        )
    special = (None, "record_id", "updated_at")
    mapping = {g.column: str(g.role) for g in guesses if g.role not in special}
    key = next((g.column for g in guesses if g.role == "record_id"), ROW_HASH)
    event = next((g.column for g in guesses if g.role == "updated_at"), None)
    return Inference(source, mapping, key, event, tuple(guesses))


#: Headers that say just "name": beside a first-name column they mean the surname
#: (German "Vorname" / "Name", French "Prénom" / "Nom", Dutch, Portuguese).
_BARE_NAME = frozenset({"name", "nom", "naam", "nome", "nombre"})


def _bare_name_is_surname(
    sample: pl.DataFrame, taken: dict[str, ColumnGuess], roles: set[str]
) -> None:
    """A bare "Name" of one-word values, beside a first-name column, is the last name."""
    if "first_name" not in roles or "last_name" in roles:
        return
    for col in sample.columns:
        guess = taken.get(col)
        if " ".join(normalise_header(col)) not in _BARE_NAME:
            continue
        if guess is not None and guess.role != "full_name":
            continue
        values = sample.get_column(col).drop_nulls().cast(pl.String).str.strip_chars()
        if values.len() == 0:
            continue
        one_word = _mean(values.str.contains(_NAME) & ~values.str.contains(r"\s"))
        if one_word >= 0.8:
            taken[col] = ColumnGuess(
                col, "last_name", 0.7, 0.7, one_word,
                f'header "{col}" beside a first-name column, one-word values: the last name',
            )  # fmt: skip
            if guess is not None:
                roles.discard("full_name")
            roles.add("last_name")
            return


def row_hash(frame: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    """``frame`` with [`ROW_HASH`][ROW_HASH]: a stable digest of each row's values.

    The same values give the same key in any row order, on any machine and
    with any polars version (SHA-1 of the values joined, not polars' hash).
    """
    import hashlib

    joined = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("\x00") for c in columns], separator="\x1f"
    )

    def digest(s: pl.Series) -> pl.Series:
        return pl.Series(
            [hashlib.sha1(v.encode("utf-8")).hexdigest()[:20] for v in s.to_list()],
            dtype=pl.String,
        )

    return frame.with_columns(joined.map_batches(digest, return_dtype=pl.String).alias(ROW_HASH))
