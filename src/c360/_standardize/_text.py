"""Names, free text, companies, addresses, postcodes and identifiers as polars expressions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import polars as pl

from c360._optional import import_optional
from c360._standardize import _distinct, _tables
from c360._standardize._distinct import apply_python, frame_fn, per_distinct, staged_fn

_APOSTROPHES = r"['`]"
#: A run of characters other than ``a-z0-9`` that is not already one space: every
#: such run becomes one space. The same result as replacing every run of
#: ``[^a-z0-9]+``, three times as fast on text whose words are single-spaced,
#: because the single spaces are not matched (and rewritten) one by one.
_NON_ALNUM = r"[^a-z0-9 ][^a-z0-9]*| [^a-z0-9]+"
_NAME_PARTS = pl.Struct({"first": pl.String, "middle": pl.String, "last": pl.String})


def _null_if_empty(expr: pl.Expr) -> pl.Expr:
    # replace rather than when/then: `expr` appears once in the tree, so it is
    # evaluated once
    return expr.replace("", None)


def _alternation(words: tuple[str, ...]) -> str:
    # longest first so that "mrs" is tried before "mr"
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


@functools.cache
def _title_re() -> str:
    return rf"^(?:(?:{_alternation(_tables.name_affixes('title'))}) )+"


@functools.cache
def _suffix_re() -> str:
    return rf"(?: (?:{_alternation(_tables.name_affixes('suffix'))}))+$"


@functools.cache
def _legal_form_re() -> str:
    return rf"(?: (?:{_alternation(_tables.company_legal_forms())}))+$"


@functools.cache
def _anyascii() -> Callable[[str], str]:
    # imported on first use: only values still non-ASCII after NFKD need it
    func: Callable[[str], str] = import_optional("anyascii").anyascii
    return func


def _transliterate(value: str) -> str:
    return _anyascii()(value)


def ascii_fold(expr: pl.Expr) -> pl.Expr:
    """Fold text to ASCII: NFKD, drop combining marks, transliterate what is left.

    Accents and compatibility forms are handled in polars (``é`` → ``e``,
    ``ﬁ`` → ``fi``, full-width digits → digits); values that still hold non-ASCII
    characters (other scripts, ``ø``, ``ß``, ``ł``) are transliterated with
    ``anyascii``, once per distinct value. Case is kept.

    Examples:
        >>> df = pl.DataFrame({"x": ["Zoë Łukasz", "Ærøskøbing", "Дмитрий", None]})
        >>> df.select(ascii_fold(pl.col("x"))).to_series().to_list()
        ['Zoe Lukasz', 'Aeroskobing', 'Dmitrii', None]

    """
    return expr.cast(pl.String).map_batches(_fold_series, return_dtype=pl.String())


def _fold_series(s: pl.Series) -> pl.Series:
    # ASCII text is its own NFKD form and holds no marks: only the rows with a
    # byte beyond ASCII (a few per cent of most columns) are folded, and put
    # back in place; normalising every row cost a tenth of a second per
    # million addresses for nothing
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    rows = _non_ascii_rows(s)
    if rows.len() == 0:
        return s
    part = s.gather(rows).str.normalize("NFKD").str.replace_all(r"\p{M}+", "")
    left = _non_ascii_rows(part)  # other scripts, ø, ß, ł: transliterated
    if left.len():
        part.scatter(left, _transliterate_series(part.gather(left)))
    out = s.clone()
    out.scatter(rows, part)
    return out


def _transliterate_series(s: pl.Series) -> pl.Series:
    """``anyascii`` of every value of ``s`` (no nulls), looked up once per distinct character.

    ``anyascii`` maps each code point on its own and joins the pieces, so the
    same mapping applied to the distinct non-ASCII characters and replaced in
    polars gives the same strings. A column of names in other scripts has a
    few thousand distinct characters and up to a value per row: a Python call
    per value cost about 2 µs each, seconds per million names.
    """
    if s.len() <= _distinct.SMALL:  # read here: tests move it
        return apply_python(s, _transliterate, return_dtype=pl.String())
    chars = s.str.split("").explode().unique().to_list()
    found = [c for c in chars if c and not c.isascii()]
    if not found:
        return s
    return s.str.replace_many(found, [_transliterate(c) for c in found])


def _non_ascii_rows(s: pl.Series) -> pl.Series:
    """Indexes of the values of ``s`` that hold a character beyond ASCII."""
    return (s.str.len_bytes() != s.str.len_chars()).fill_null(False).arg_true()


def _distinct_text(build: Callable[[pl.Expr], pl.Expr], expr: pl.Expr) -> pl.Expr:
    return per_distinct(expr, frame_fn(build), return_dtype=pl.String())


def _words(expr: pl.Expr) -> pl.Expr:
    """ASCII lower-case words separated by single spaces (may be empty)."""
    lowered = ascii_fold(expr).str.to_lowercase().str.replace_all(_APOSTROPHES, "")
    return lowered.str.replace_all(_NON_ALNUM, " ").str.strip_chars(" ")


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Clean short free text (city, state, country).

    ASCII-folded, lower case, apostrophes removed, any other run of punctuation or
    whitespace turned into one space, trimmed; empty → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["  São  Paulo ", "St. John's", "---", None]})
        >>> df.select(clean_text(pl.col("x"))).to_series().to_list()
        ['sao paulo', 'st johns', None, None]

    """
    return _distinct_text(lambda e: _null_if_empty(_words(e)), expr)


def clean_name(expr: pl.Expr) -> pl.Expr:
    """Clean a person's name (or one part of it).

    Steps: ASCII fold (see [`ascii_fold`][ascii_fold]), lower case, apostrophes removed
    (``O'Brien`` → ``obrien``), every other run of punctuation, hyphens or spaces
    becomes one space (``Mary-Jane`` → ``mary jane``), leading titles (``mr``,
    ``dr``, ...) and trailing suffixes (``jr``, ``iii``, ``phd``, ...) removed as
    long as another word remains, empty → null. Idempotent.

    Examples:
        >>> df = pl.DataFrame({"x": ["Dr. José O'Brien-Núñez, Jr.", "MARY-JANE", "Mr", "  ", None]})
        >>> df.select(clean_name(pl.col("x"))).to_series().to_list()
        ['jose obrien nunez', 'mary jane', 'mr', None, None]

    """
    return _distinct_text(_clean_name, expr)


def _clean_name(expr: pl.Expr) -> pl.Expr:
    words = _words(expr).str.replace(_title_re(), "").str.replace(_suffix_re(), "")
    return _null_if_empty(words)


def nickname_canonical(expr: pl.Expr) -> pl.Expr:
    """Map a cleaned first name to its canonical form (``bill`` → ``william``).

    Uses the shipped table ``c360/data/nicknames.csv`` (derived from the
    ``nicknames`` package, Apache-2.0). Names not in the table are returned
    unchanged; the whole value is looked up, so feed it [`clean_name`][clean_name] output.

    Examples:
        >>> df = pl.DataFrame({"x": ["bill", "billy", "will", "william", "peggy", "xavi", None]})
        >>> df.select(nickname_canonical(pl.col("x"))).to_series().to_list()
        ['william', 'william', 'william', 'william', 'margaret', 'xavi', None]

    """
    return expr.cast(pl.String).replace(_tables.nicknames())


@functools.cache
def _split_re() -> str:
    particles = _alternation(_tables.name_affixes("particle"))
    # first word, then the shortest possible middle, then a last name that takes
    # any surname particles in front of the final word ("de la cruz", "van gogh")
    return rf"^(\S+)(?: (.+?))?? ((?:(?:{particles}) )*\S+)$"


def split_full_name(expr: pl.Expr) -> pl.Expr:
    """Split a full name into a ``struct{first, middle, last}`` of cleaned parts.

    * ``"First Last"``, ``"First M. Last"``, ``"First Middle Names Last"``;
      surname particles stay with the last name (``Ludwig van Beethoven`` →
      last ``van beethoven``).
    * ``"Last, First [Middle]"`` when the name holds a comma (a trailing
      ``", Jr."``-style suffix is not taken for that comma).
    * Titles and suffixes are removed as by [`clean_name`][clean_name].
    * A single word is taken as the first name; empty → all null.

    Examples:
        >>> df = pl.DataFrame({"x": ["Dr. John Q. Smith Jr.", "Smith, Mary Ann", "John Smith, Jr.",
        ...                "Juan de la Cruz", "Cher", None]})
        >>> out = df.select(split_full_name(pl.col("x")).alias("p")).unnest("p")
        >>> out.rows()  # doctest: +NORMALIZE_WHITESPACE
        [('john', 'q', 'smith'), ('mary', 'ann', 'smith'), ('john', None, 'smith'),
         ('juan', None, 'de la cruz'), ('cher', None, None), (None, None, None)]

    """
    return per_distinct(expr, staged_fn(_split_full_name), return_dtype=_NAME_PARTS)


def _split_full_name(v: pl.Expr) -> list[dict[str, pl.Expr]]:
    # in stages: the folded name and the cleaned halves are each used by several
    # of the output fields
    suffixes = _alternation(_tables.name_affixes("suffix"))
    folded = ascii_fold(v).str.replace(rf"(?i),[\s.]*(?:{suffixes})[\s.]*$", "")
    f = pl.col("_folded")
    halves = f.str.splitn(",", 2)
    whole = pl.col("_whole")
    rest, parts, has_comma = pl.col("_rest"), pl.col("_parts"), pl.col("_comma")
    first = (
        pl.when(has_comma)
        .then(rest.struct.field("1"))
        .otherwise(pl.coalesce(parts.struct.field("1"), whole))
    )
    middle = pl.when(has_comma).then(rest.struct.field("2")).otherwise(parts.struct.field("2"))
    last = pl.when(has_comma).then(pl.col("_before")).otherwise(parts.struct.field("3"))
    return [
        {"_folded": folded},
        {
            "_comma": f.str.contains(",", literal=True),
            "_before": _clean_name(halves.struct.field("field_0")),
            "_after": _clean_name(halves.struct.field("field_1")),
            "_whole": _clean_name(f),
        },
        {
            "_rest": pl.col("_after").str.extract_groups(r"^(\S+)(?: (.+))?$"),
            "_parts": whole.str.extract_groups(_split_re()),
        },
        {"v": pl.struct(first.alias("first"), middle.alias("middle"), last.alias("last"))},
    ]


def join_name_parts(first: pl.Expr, middle: pl.Expr, last: pl.Expr) -> pl.Expr:
    """``"first middle last"`` from cleaned parts, skipping nulls; all null → null.

    Examples:
        >>> pl.select(join_name_parts(pl.lit("ann"), pl.lit(None, pl.String), pl.lit("lee"))).item()
        'ann lee'

    """
    joined = pl.concat_str([first, middle, last], separator=" ", ignore_nulls=True)
    return _null_if_empty(joined)


def clean_company(expr: pl.Expr) -> pl.Expr:
    """Clean a company name.

    As [`clean_text`][clean_text], then a leading ``the`` and trailing legal forms
    (``inc``, ``llc``, ``ltd``, ``gmbh``, ...) are dropped while another word remains.

    Examples:
        >>> df = pl.DataFrame({"x": ["The ACME Co., Inc.", "Müller GmbH", "LLC", None]})
        >>> df.select(clean_company(pl.col("x"))).to_series().to_list()
        ['acme', 'muller', 'llc', None]

    """
    return _distinct_text(_clean_company, expr)


def _clean_company(expr: pl.Expr) -> pl.Expr:
    words = _words(expr).str.replace(r"^the ", "").str.replace(_legal_form_re(), "")
    return _null_if_empty(words)


def clean_address(expr: pl.Expr) -> pl.Expr:
    """Clean an address line.

    As [`clean_text`][clean_text] (``#`` and other punctuation become spaces), then each
    word is replaced by its standard short form from
    ``c360/data/address_abbreviations.csv`` (USPS Publication 28 style:
    ``street``/``str`` → ``st``, ``avenue`` → ``ave``, ``north`` → ``n``,
    ``apartment`` → ``apt``, ``suite`` → ``ste``); short forms are kept. Idempotent.

    Examples:
        >>> df = pl.DataFrame({"x": ["123 North Main Street, Apartment #4B",
        ...                          "9 Rue de l'Église", None]})
        >>> df.select(clean_address(pl.col("x"))).to_series().to_list()
        ['123 n main st apt 4b', '9 rue de leglise', None]

    """
    return _distinct_text(_clean_address, expr)


def _clean_address(expr: pl.Expr) -> pl.Expr:
    words = _words(expr)
    abbreviated = (
        words.str.split(" ")
        .list.eval(pl.element().replace(_tables.address_abbreviations()))
        .list.join(" ")
    )
    return _null_if_empty(abbreviated)


def house_number_from_clean(expr: pl.Expr) -> pl.Expr:
    """Leading house number of an address already cleaned by [`clean_address`][clean_address]."""
    return expr.str.extract(r"^([0-9]+[a-z]?)(?: |$)", 1)


def house_number(expr: pl.Expr) -> pl.Expr:
    """Extract the leading number of an address line (``"123b"`` is one, ``"1st"`` is not).

    The address is cleaned first ([`clean_address`][clean_address]), so ``"12-14 Main St"``
    gives ``"12"``; no leading number → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["123 Main St", "123B Elm Ave", "1st Avenue", "PO Box 7",
        ...                          None]})
        >>> df.select(house_number(pl.col("x"))).to_series().to_list()
        ['123', '123b', None, None, None]

    """
    return house_number_from_clean(clean_address(expr))


def clean_postcode(expr: pl.Expr) -> pl.Expr:
    """Clean a postcode.

    NFKD, upper case, only ``A-Z0-9`` kept; a 9-digit US ZIP+4 becomes its 5-digit
    ZIP; empty → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["sw1a 1aa", "12345-6789", " 02134 ", "-", None]})
        >>> df.select(clean_postcode(pl.col("x"))).to_series().to_list()
        ['SW1A1AA', '12345', '02134', None, None]

    """
    return _distinct_text(_clean_postcode, expr)


def _clean_postcode(expr: pl.Expr) -> pl.Expr:
    code = (
        expr.cast(pl.String)
        .str.normalize("NFKD")
        .str.to_uppercase()
        .str.replace_all(r"[^A-Z0-9]+", "")
    )
    code = pl.when(code.str.contains(r"^[0-9]{9}$")).then(code.str.head(5)).otherwise(code)
    return _null_if_empty(code)


def clean_national_id(expr: pl.Expr) -> pl.Expr:
    """Clean a national identifier.

    Upper case; whitespace, dashes, dots and slashes removed; empty → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["123-45-6789", " ab 12 34 56 c ", "--", None]})
        >>> df.select(clean_national_id(pl.col("x"))).to_series().to_list()
        ['123456789', 'AB123456C', None, None]

    """
    return _distinct_text(_clean_national_id, expr)


def _clean_national_id(expr: pl.Expr) -> pl.Expr:
    code = expr.cast(pl.String).str.to_uppercase().str.replace_all(r"[\s\-./]+", "")
    return _null_if_empty(code)
