"""Phone numbers to E.164, as a polars expression.

Exactness comes from ``phonenumbers`` (Google's libphonenumber metadata). For
speed, the common North American shapes (``2125551234``, ``(212) 555-1234``,
``+1 212-555-1234``, ``1.212.555.1234``) are decided in polars with the same
metadata regexes phonenumbers uses for the US; every other value — and every
North American number that is not a valid US number, such as Canadian and
Caribbean ones — goes through ``phonenumbers`` once per distinct value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final, Literal, TypeAlias

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

from c360._standardize._distinct import map_distinct
from c360.exceptions import ConfigError

PhoneValidation: TypeAlias = Literal["valid", "possible"]
"""``valid``: the number is assigned in the numbering plan; ``possible``: its length fits."""

PHONE_VALIDATIONS: Final = ("valid", "possible")

# A 10-digit NANP number with optional +1 / 1 prefix and the usual separators.
_NANP_SHAPE: Final = (
    r"^\s*(?:(\+\s?)?1[\s.\-]?)?(?:\(\s*([2-9][0-9]{2})\s*\)|([2-9][0-9]{2}))"
    r"[\s.\-]?([0-9]{3})[\s.\-]?([0-9]{4})\s*$"
)


def check_region(region: str) -> str:
    """Return ``region`` if phonenumbers knows it, else raise :class:`ConfigError`.

    Example:
        >>> check_region("GB")
        'GB'

    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"unknown phone region {region!r}",
            hint="use an upper-case ISO 3166-1 alpha-2 code such as 'US', 'GB' or 'DE'",
        )
    return region


@functools.cache
def _us_valid_pattern() -> tuple[str, str] | None:
    """Regexes (general, any type) equal to phonenumbers' validity test for 10-digit US numbers.

    None when the metadata is not shaped as expected (the fast path is then off).
    """
    if phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(1, ("",))[0] != "US":
        return None
    md = PhoneMetadata.metadata_for_region("US")
    if md is None or md.leading_digits is not None:
        return None

    def fits(desc: object) -> str | None:
        pattern = getattr(desc, "national_number_pattern", None)
        lengths = getattr(desc, "possible_length", ()) or ()
        if not pattern or (lengths and 10 not in lengths):
            return None
        return str(pattern)

    general = fits(md.general_desc)
    types = [
        fits(getattr(md, name))
        for name in (
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
            "fixed_line",
            "mobile",
        )
    ]
    alternatives = [t for t in types if t]
    if general is None or not alternatives:
        return None
    return f"^(?:{general})$", f"^(?:{'|'.join(f'(?:{t})' for t in alternatives)})$"


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

    Example:
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

    Example:
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
    raw = expr.cast(pl.String)
    default_cc = phonenumbers.country_code_for_region(default_region)
    patterns = _us_valid_pattern()

    if patterns is None:
        return map_distinct(raw, _slow(default_region, validation), return_dtype=pl.String())
    general, types = patterns
    shape = raw.str.extract_groups(_NANP_SHAPE)
    plus = shape.struct.field("1")
    national = pl.concat_str(
        pl.coalesce(shape.struct.field("2"), shape.struct.field("3")),
        shape.struct.field("4"),
        shape.struct.field("5"),
    )
    # a bare 10-digit or 1+10-digit number is North American only when the default
    # region dials +1; an explicit "+1" is North American from anywhere
    nanp = national.is_not_null() & ((default_cc == 1) | plus.is_not_null())
    if validation == "valid":
        fast_ok = nanp & national.str.contains(general) & national.str.contains(types)
    else:
        fast_ok = nanp
    fast = pl.when(fast_ok).then(pl.lit("+1") + national)
    # values decided by the fast path are masked out before the slow path runs
    slow_input = pl.when(~fast_ok.fill_null(False)).then(raw)
    slow = map_distinct(slow_input, _slow(default_region, validation), return_dtype=pl.String())
    return pl.coalesce(fast, slow)
