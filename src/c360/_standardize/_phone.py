"""Phone numbers to E.164, as a polars expression.

Exactness comes from ``phonenumbers`` (Google's libphonenumber metadata). For
speed, numbers of every country in the usual layouts (``+``/``00``/``011``
prefixes, national trunk ``0``, brackets, dots, dashes, extensions) are parsed
and validated on whole columns with phonenumbers' own rules
(``_phone_vec``); only what that path cannot
decide for certain (text around the number, vanity letters, non-ASCII digits,
non-geographic codes) goes through ``phonenumbers`` once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, TypeAlias

import phonenumbers
import polars as pl

from c360._standardize import _distinct
from c360._standardize._distinct import SeriesFn, apply_python, per_distinct
from c360._standardize._phone_vec import e164_columns
from c360.exceptions import ConfigError

PhoneValidation: TypeAlias = Literal["valid", "possible"]
"""``valid``: the number is assigned in the numbering plan; ``possible``: its length fits."""

PHONE_VALIDATIONS: Final = ("valid", "possible")


def check_region(region: str) -> str:
    """Return ``region`` if phonenumbers knows it, else raise [`ConfigError`][ConfigError].

    Examples:
        >>> check_region("GB")
        'GB'

    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"unknown phone region {region!r}",
            hint="use an upper-case ISO 3166-1 alpha-2 code such as 'US', 'GB' or 'DE'",
        )
    return region


def _slow(region: str, validation: PhoneValidation) -> Callable[[str], str | None]:
    check = (
        phonenumbers.is_valid_number if validation == "valid" else phonenumbers.is_possible_number
    )
    e164 = phonenumbers.PhoneNumberFormat.E164

    def run(value: str) -> str | None:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        return phonenumbers.format_number(number, e164) if check(number) else None

    return run


def to_e164_reference(
    value: str | None, default_region: str = "US", validation: PhoneValidation = "valid"
) -> str | None:
    """Phonenumbers alone, one value: the reference the fast path must agree with.

    Examples:
        >>> to_e164_reference("(212) 555-0123")
        '+12125550123'

    """
    if value is None:
        return None
    return _slow(default_region, validation)(value)


def to_e164(
    expr: pl.Expr, default_region: str = "US", *, validation: PhoneValidation = "valid"
) -> pl.Expr:
    """Normalise phone numbers to E.164 (``+14155550123``); invalid → null.

    Numbers without a country code are read as numbers of ``default_region``.
    ``validation="valid"`` keeps only numbers that phonenumbers deems valid
    (assigned ranges); ``"possible"`` keeps those whose length is possible.
    Extensions are dropped. Integer columns are accepted.

    Examples:
        >>> df = pl.DataFrame({"x": ["(212) 555-0123", "+44 20 7946 0958", "020 7946 0958",
        ...                          "555-0123", "not a phone", None]})
        >>> df.select(to_e164(pl.col("x"))).to_series().to_list()
        ['+12125550123', '+442079460958', None, None, None, None]
        >>> df.select(to_e164(pl.col("x"), "GB")).to_series().to_list()[:3]
        [None, '+442079460958', '+442079460958']

    """
    check_region(default_region)
    if validation not in PHONE_VALIDATIONS:
        raise ConfigError(f"validation must be one of {PHONE_VALIDATIONS}; got {validation!r}")
    return per_distinct(expr, _e164(default_region, validation), return_dtype=pl.String())


def _e164(region: str, validation: PhoneValidation) -> SeriesFn:
    slow = _slow(region, validation)

    def run(s: pl.Series) -> pl.Series:
        raw = s.cast(pl.String)
        if raw.len() <= _distinct.SMALL:
            # a few values: phonenumbers itself is quicker than the vectorised
            # path, whose set-up (region patterns) is paid per call
            return apply_python(raw, slow, return_dtype=pl.String()).rename(s.name)
        out, decided = e164_columns(raw, region, validation)
        rest_idx = (~decided).arg_true()
        if rest_idx.len():
            rest = apply_python(raw.gather(rest_idx), slow, return_dtype=pl.String())
            out = out.scatter(rest_idx, rest)
        return out.rename(s.name)

    return run
