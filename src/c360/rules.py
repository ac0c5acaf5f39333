"""Deterministic rules on strong identifiers, and junk-value detection.

Junk values (an email like ``test@test.com`` on hundreds of records, a phone
``0000000000``, a postcode held by most records) make blocking explode and
matching merge strangers. [`detect_junk`][detect_junk] finds them from the data:

* on identifier columns (email, phone, national id), a value held by more
  records than one person plausibly has (``max_records_per_identifier``), or
  one that looks like a placeholder (all one digit, ``1234567890``, local part
  ``test``/``none``/``noemail``, domains such as ``example.com``);
* on location columns (postcode, address line), a value held by a large share
  of all records (``constant_share``) and far more than any typical value;
* on name columns, a placeholder (``Unknown``, ``Test``, ``N/A``, ``FNU``,
  ``xxx``): names are never judged by how often they occur, since a common
  name is still a name;
* on date columns (date of birth), a placeholder date (``1900-01-01``,
  ``9999-12-31``) or one held by far more records than birthdays spread over
  a lifetime allow (``date_share``).

Junk values are nulled in the matching frame (not in the output profiles) and
reported, so they count neither as agreement nor in blocking.

A deterministic rule links two records that agree exactly on a strong
identifier (normalised email, phone, national id, or a configured key such as
``user_id``), unless the pair carries hard contradicting evidence (clearly
different first names, dates of birth or national ids): a shared family email
must not merge a household.

Examples:
    >>> import polars as pl
    >>> recs = pl.DataFrame({"email": ["test@test.com"] * 30 + ["a@b.io", "a@b.io"]})
    >>> detect_junk(recs)["value"].to_list()
    ['test@test.com']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = [
    "DERIVED_FROM",
    "JunkConfig",
    "detect_junk",
    "judge_counts",
    "looks_placeholder",
    "null_junk",
    "placeholder_junk",
]

_PLACEHOLDER_EMAIL_USERS = (
    "test",
    "none",
    "noemail",
    "no-email",
    "no_email",
    "na",
    "n/a",
    "null",
    "unknown",
    "noreply",
    "no-reply",
    "donotreply",
    "email",
    "nobody",
    "xxx",
    "abc",
    "asdf",
)
_PLACEHOLDER_DOMAINS = (
    "example.com",
    "example.org",
    "test.com",
    "email.com",
    "none.com",
    "domain.com",
)
#: Words that fill a name field when the name is not known; a name made only of
#: them is a placeholder. Real names that look like filler (``Guest``, ``Blank``,
#: ``Sample``, ``Nil``, Korean ``Na`` and ``No``) are deliberately absent.
_PLACEHOLDER_NAME_WORDS = frozenset(
    {
        "unknown",
        "unkown",
        "unk",
        "none",
        "null",
        "test",
        "testing",
        "dummy",
        "fnu",
        "lnu",
        "nfn",
        "nln",
        "noname",
        "anonymous",
        "asdf",
        "qwerty",
        "tbd",
        "tba",
        "customer",
    }
)
#: Whole name values that are placeholders (after lower-casing, non-letters as spaces).
_PLACEHOLDER_NAMES = frozenset(
    {
        "n a",
        "no name",
        "not provided",
        "not given",
        "not available",
        "not known",
        "first name",
        "last name",
        "firstname",
        "lastname",
        "fname",
        "lname",
        "name",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
    }
)
#: Dates systems write when the real one is unknown.
_PLACEHOLDER_DATES = (
    "1900-01-01",
    "1901-01-01",
    "1899-12-31",
    "1800-01-01",
    "1111-11-11",
    "0001-01-01",
    "9999-12-31",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class JunkConfig:
    """How junk values are detected.

    Attributes:
        identifier_columns: columns expected to be (nearly) unique per person.
        max_records_per_identifier: an identifier value on more records than
            this is junk.
        location_columns: columns many people share legitimately.
        constant_share: a location value on more than this share of records
            (and at least ``constant_min_records``) is junk.
        constant_min_records: floor for the constant rule.
        placeholders: also flag placeholder-looking values.
        name_columns: columns of names, junk only when a placeholder (needs
            ``placeholders``); how often a name occurs says nothing.
        date_columns: columns of birth dates.
        date_share: a date value on more than this share of records (and at
            least ``constant_min_records``) is junk: birthdays spread over
            tens of thousands of days, so 0.1% is about thirty times the
            share of any real one.
    """

    identifier_columns: tuple[str, ...] = ("email", "phone", "phone_digits", "national_id")
    max_records_per_identifier: int = 25
    location_columns: tuple[str, ...] = ("postcode", "address_line1")
    constant_share: float = 0.05
    constant_min_records: int = 50
    placeholders: bool = True
    name_columns: tuple[str, ...] = ("first_name", "middle_name", "last_name", "full_name")
    date_columns: tuple[str, ...] = ("date_of_birth",)
    date_share: float = 0.001

    def columns(self) -> tuple[str, ...]:
        """Every column judged, identifiers first (the order of ``detect_junk``)."""
        return tuple(
            dict.fromkeys(
                (
                    *self.identifier_columns,
                    *self.location_columns,
                    *self.name_columns,
                    *self.date_columns,
                )
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {
            "identifier_columns": list(self.identifier_columns),
            "max_records_per_identifier": self.max_records_per_identifier,
            "location_columns": list(self.location_columns),
            "constant_share": self.constant_share,
            "constant_min_records": self.constant_min_records,
            "placeholders": self.placeholders,
            "name_columns": list(self.name_columns),
            "date_columns": list(self.date_columns),
            "date_share": self.date_share,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JunkConfig:
        """Inverse of [`to_dict`][to_dict]."""
        d = dict(data)
        for k in ("identifier_columns", "location_columns", "name_columns", "date_columns"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


_DEFAULT = JunkConfig()


_ANY_PLACEHOLDER_WORD = "|".join(re.escape(w) for w in sorted(_PLACEHOLDER_NAME_WORDS))
#: A placeholder name, over ``_name_words``' form (a-z words, single-spaced): a
#: whole placeholder name; every word a placeholder word ("test customer"); or
#: one letter three times or more ("xxx").
_NAME_PLACEHOLDER = "|".join(
    (
        "^(?:" + "|".join(re.escape(w) for w in sorted(_PLACEHOLDER_NAMES)) + ")$",
        f"^(?:{_ANY_PLACEHOLDER_WORD})(?: (?:{_ANY_PLACEHOLDER_WORD}))*$",
        "^(?:" + "|".join(f"{c}{{3,}}" for c in "abcdefghijklmnopqrstuvwxyz") + ")$",
    )
)


def _name_words(v: pl.Expr) -> pl.Expr:
    return v.str.to_lowercase().str.replace_all(r"[^a-z]+", " ").str.strip_chars(" ")


def _placeholder(column: str, cfg: JunkConfig) -> pl.Expr:
    v = pl.col("value")
    if column in cfg.name_columns:
        # one regex over the words (a-z, single-spaced), computed once
        return _name_words(v).str.contains(_NAME_PLACEHOLDER)
    if column in cfg.date_columns:
        return v.str.slice(0, 10).is_in(list(_PLACEHOLDER_DATES))
    if column == "email":
        user = v.str.split("@").list.first()
        domain = v.str.split("@").list.last()
        return user.is_in(list(_PLACEHOLDER_EMAIL_USERS)) | domain.is_in(list(_PLACEHOLDER_DOMAINS))
    if column in ("phone", "phone_digits", "national_id"):
        digits = v.str.replace_all(r"\D", "")
        return (digits.str.len_chars() >= 5) & (
            _one_character(digits) | digits.str.contains("1234567890|0123456789|123456789")
        )
    if column == "postcode":
        return v.str.contains(r"^(0+|9+|x+|X+)$")
    return pl.lit(value=False)


def _one_character(text: pl.Expr) -> pl.Expr:
    """Whether ``text`` is one character over and over (true for ""; callers ask for a length).

    Stripping the first character from both ends leaves nothing: a third of
    the time of splitting every value into its characters.

    Examples:
        >>> text = pl.Series(["aaa", "aab", "ééé", "1211"])
        >>> pl.select(_one_character(text)).to_series().to_list()
        [True, False, True, False]
    """
    return text.str.strip_chars(text.str.slice(0, 1)) == ""


_REPEATED_DIGITS = re.compile(r"\D")
_BLANK_POSTCODE = re.compile(r"^(0+|9+|x+|X+)$")


_NOT_LETTERS = re.compile(r"[^a-z]+")


def looks_placeholder(column: str, value: str, config: JunkConfig | None = None) -> bool:
    """Whether one value has the placeholder shape ``detect_junk`` flags in ``column``.

    The same rule as the frame expression, for a few values at a time (an
    incremental batch of one record) where a query would cost more than the
    check; the two are tested equal. ``config`` says which columns hold
    names and dates (default: ``JunkConfig()``).

    Examples:
        >>> looks_placeholder("email", "noemail@gmail.com"), looks_placeholder("phone", "0000000")
        (True, True)
        >>> looks_placeholder("email", "ann@x.io")
        False
        >>> looks_placeholder("last_name", "N/A"), looks_placeholder("last_name", "Guest")
        (True, False)
    """
    cfg = config or _DEFAULT
    if column in cfg.name_columns:
        words = _NOT_LETTERS.sub(" ", value.lower()).strip(" ")
        return (
            words in _PLACEHOLDER_NAMES
            or (words != "" and all(w in _PLACEHOLDER_NAME_WORDS for w in words.split(" ")))
            or (len(words) >= 3 and len(set(words)) == 1)
        )
    if column in cfg.date_columns:
        return value[:10] in _PLACEHOLDER_DATES
    if column == "email":
        parts = value.split("@")
        return parts[0] in _PLACEHOLDER_EMAIL_USERS or parts[-1] in _PLACEHOLDER_DOMAINS
    if column in ("phone", "phone_digits", "national_id"):
        digits = _REPEATED_DIGITS.sub("", value)
        return len(digits) >= 5 and (len(set(digits)) == 1 or "123456789" in digits)
    if column == "postcode":
        return _BLANK_POSTCODE.match(value) is not None
    return False


def placeholder_junk(records: pl.DataFrame, config: JunkConfig | None = None) -> pl.DataFrame:
    """The placeholder-looking values of ``records`` alone, as ``detect_junk`` rows.

    What an incremental batch can judge by itself: how often a value occurs
    is a full run's business, its shape is not (a batch holding
    ``noemail@noemail.com`` for the first time must not match on it).

    Examples:
        >>> recs = pl.DataFrame({"email": ["ann@x.io", "none@x.io"], "phone": ["1111111", None]})
        >>> placeholder_junk(recs).select("column", "value").rows()
        [('email', 'none@x.io'), ('phone', '1111111')]
    """
    cfg = config or JunkConfig()
    if not cfg.placeholders:
        return pl.DataFrame(schema=_JUNK_SCHEMA)
    if records.height <= _FEW_VALUES:
        cols = [c for c in cfg.columns() if c in records.columns]
        rows = sorted(
            {
                (col, text)
                for row in records.select(pl.col(cols).cast(pl.String)).iter_rows()
                for col, text in zip(cols, row, strict=True)
                if text is not None and looks_placeholder(col, text, cfg)
            }
        )
        return pl.DataFrame(
            {
                "column": [c for c, _ in rows],
                "value": [v for _, v in rows],
                "records": [1] * len(rows),
                "reason": ["placeholder-looking value"] * len(rows),
            },
            schema=_JUNK_SCHEMA,
        )
    never = records.height + 1  # no value is frequent enough to be junk by count
    return detect_junk(
        records,
        JunkConfig(
            identifier_columns=cfg.identifier_columns,
            max_records_per_identifier=never,
            location_columns=cfg.location_columns,
            constant_share=1.0,
            constant_min_records=never,
            name_columns=cfg.name_columns,
            date_columns=cfg.date_columns,
            date_share=1.0,
        ),
    )


#: Up to this many records, ``placeholder_junk`` checks values in Python.
_FEW_VALUES = 64

_JUNK_SCHEMA = {"column": pl.String, "value": pl.String, "records": pl.UInt32, "reason": pl.String}


def detect_junk(records: pl.DataFrame, config: JunkConfig | None = None) -> pl.DataFrame:
    """Find junk values in identifier, location, name and date columns.

    Returns:
        ``column``, ``value``, ``records`` (how many hold it) and ``reason``.
    """
    cfg = config or JunkConfig()
    columns = [col for col in cfg.columns() if col in records.columns]
    # counted on the column's own type (a date is cheaper to group than its text),
    # all columns at once (polars runs the queries side by side)
    counts = pl.collect_all(
        [
            records.lazy()
            .select(pl.col(col).alias("value"))
            .drop_nulls()
            .group_by("value")
            .len("records")
            .with_columns(pl.col("value").cast(pl.String))
            for col in columns
        ]
    )
    frames = [
        judge_counts(col, c, records.height, cfg) for col, c in zip(columns, counts, strict=True)
    ]
    if not frames:
        return pl.DataFrame(schema=_JUNK_SCHEMA)
    return (
        pl.concat(frames)
        .with_columns(pl.col("records").cast(pl.UInt32))
        .sort("column", "records", "value", descending=[False, True, False])
    )


def judge_counts(column: str, counts: pl.DataFrame, n: int, cfg: JunkConfig) -> pl.DataFrame:
    """The junk values of one column from its value counts (``value``, ``records``) over n records.

    The rule of [`detect_junk`][c360.rules.detect_junk], on counts however
    they were made: by polars here, by a group-by in the Spark engine.

    Examples:
        >>> counts = pl.DataFrame({"value": ["a@b.io", "test@x.io", "c@d.io"],
        ...                        "records": [30, 1, 2]})
        >>> junk = judge_counts("email", counts, 100, JunkConfig())
        >>> junk["value"].to_list(), junk["reason"][1]
        (['a@b.io', 'test@x.io'], 'placeholder-looking value')
    """
    if column in cfg.identifier_columns:
        too_many = pl.col("records") > cfg.max_records_per_identifier
        why = pl.format(
            "{} records share this value (more than {} for one person)",
            pl.col("records"),
            pl.lit(cfg.max_records_per_identifier),
        )
    elif column in cfg.location_columns:
        too_many, why = _share_rule(n, cfg.constant_share, cfg, "value", digits=1)
    elif column in cfg.date_columns:
        too_many, why = _share_rule(
            n, cfg.date_share, cfg, "date, far more than share a birthday", digits=2
        )
    elif column in cfg.name_columns:
        too_many, why = pl.lit(value=False), pl.lit("")
    else:
        too_many, why = _share_rule(n, cfg.constant_share, cfg, "value", digits=1)
    placeholder = _placeholder(column, cfg) if cfg.placeholders else pl.lit(value=False)
    return counts.filter(too_many | placeholder).select(
        pl.lit(column).alias("column"),
        "value",
        "records",
        pl.when(too_many).then(why).otherwise(pl.lit("placeholder-looking value")).alias("reason"),
    )


def _share_rule(
    n: int, share: float, cfg: JunkConfig, what: str, *, digits: int
) -> tuple[pl.Expr, pl.Expr]:
    """A value on more than ``share`` of n records (and ``constant_min_records``): rule, reason."""
    limit = max(cfg.constant_min_records, int(share * n))
    why = pl.format(
        f"{{}} records ({{}}% of all) share this {what}",
        pl.col("records"),
        (pl.col("records") * 100 / max(n, 1)).round(digits),
    )
    return pl.col("records") > limit, why


#: Columns standardisation derives from a column, cleared with it when its value is junk.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "email": ("email_user", "email_domain"),
    "address_line1": ("address_number",),
    "first_name": ("first_name_nick", "first_name_metaphone"),
    "last_name": ("last_name_metaphone", "last_name_nysiis", "last_name_soundex"),
    "date_of_birth": ("dob_year",),
}


def _holds(dtype: pl.DataType, name: str, values: pl.Series) -> pl.Expr:
    """Whether column ``name`` holds one of the junk ``values`` (text, as judged).

    A date column is compared as dates when every value reads back as the
    same text (no text made of a million dates).
    """
    text = values.cast(pl.String)
    if dtype == pl.Date:
        typed = text.str.to_date("%Y-%m-%d", strict=False)
        if typed.null_count() == 0 and typed.cast(pl.String).equals(text):
            return pl.col(name).is_in(typed.implode())
    return pl.col(name).cast(pl.String).is_in(text.implode())


def null_junk(records: pl.DataFrame, junk: pl.DataFrame) -> pl.DataFrame:
    """Replace junk values by null in the columns where they were found.

    What standardisation derived from a junk value (``email_user`` and
    ``email_domain`` of an e-mail, ``address_number`` of an address line; see
    ``DERIVED_FROM``) is nulled with it. Columns of ``junk`` that ``records``
    lacks are skipped (a later batch need not have every column of the run
    that found the junk). Full runs, incremental batches and link
    explanations all null junk through this one function.

    Examples:
        >>> recs = pl.DataFrame({"email": ["x@y.z", "test@test.com"],
        ...                      "email_domain": ["y.z", "test.com"]})
        >>> out = null_junk(recs, detect_junk(recs.select("email")))
        >>> out["email"].to_list(), out["email_domain"].to_list()
        (['x@y.z', None], ['y.z', None])
    """
    if junk.height == 0:
        return records
    exprs = []
    cleared: list[tuple[str, str]] = []
    for col, group in junk.group_by("column", maintain_order=True):
        name = str(col[0])
        if name not in records.columns:
            continue
        exprs.append(
            pl.when(_holds(records.schema[name], name, group["value"]))
            .then(None)
            .otherwise(pl.col(name))
            .alias(name)
        )
        cleared.extend((name, d) for d in DERIVED_FROM.get(name, ()) if d in records.columns)
    out = records.with_columns(exprs)
    if cleared:
        out = out.with_columns(
            pl.when(pl.col(base).is_null()).then(None).otherwise(pl.col(d)).alias(d)
            for base, d in cleared
        )
    from c360._frames import aligned_chunks

    return aligned_chunks(out)
