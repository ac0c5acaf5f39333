"""Standardisation stage: clean and normalise canonical fields with polars expressions.

Every function takes and returns a ``pl.Expr`` and works on whole columns; Python
runs only once per *distinct* value where no vectorised path exists
(transliteration of non-Latin scripts, phonetic codes, phone numbers that are not
plain North American ones). [`standardize`][standardize] applies them to a canonical
frame. See ``docs/standardize.md`` for the rules and the decisions behind them.

Examples:
    >>> import polars as pl
    >>> from c360.standardize import clean_name, nickname_canonical
    >>> df = pl.DataFrame({"first_name": ["  BILLY ", "Peggy"]})
    >>> df.select(nickname_canonical(clean_name(pl.col("first_name"))))["first_name"].to_list()
    ['william', 'margaret']

"""

from __future__ import annotations

from c360._standardize._dates import DEFAULT_DATE_FORMATS, ISO_FORMAT, parse_date
from c360._standardize._email import (
    PLUS_TAG_DOMAINS,
    canonical_email,
    clean_email,
    email_is_valid,
)
from c360._standardize._frame import PHONE_DIGITS_NOTE, StandardizeConfig, standardize
from c360._standardize._phone import (
    MIN_PHONE_DIGITS,
    PhoneValidation,
    phone_digits,
    phone_region,
    to_e164,
    to_e164_by_region,
)
from c360._standardize._phonetic import metaphone, nysiis, soundex
from c360._standardize._text import (
    ascii_fold,
    clean_address,
    clean_company,
    clean_name,
    clean_national_id,
    clean_postcode,
    clean_text,
    house_number,
    nickname_canonical,
    split_full_name,
)

__all__ = [
    "DEFAULT_DATE_FORMATS",
    "ISO_FORMAT",
    "MIN_PHONE_DIGITS",
    "PHONE_DIGITS_NOTE",
    "PLUS_TAG_DOMAINS",
    "PhoneValidation",
    "StandardizeConfig",
    "ascii_fold",
    "canonical_email",
    "clean_address",
    "clean_company",
    "clean_email",
    "clean_name",
    "clean_national_id",
    "clean_postcode",
    "clean_text",
    "email_is_valid",
    "house_number",
    "metaphone",
    "nickname_canonical",
    "nysiis",
    "parse_date",
    "phone_digits",
    "phone_region",
    "soundex",
    "split_full_name",
    "standardize",
    "to_e164",
    "to_e164_by_region",
]
