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

from c360._standardize import _distinct
from c360._standardize._distinct import SeriesFn, apply_python, per_distinct
from c360.exceptions import ConfigError

PhoneValidation: TypeAlias = Literal["valid", "possible"]
"""``valid``: the number is assigned in the numbering plan; ``possible``: its length fits."""

PHONE_VALIDATIONS: Final = ("valid", "possible")

# A trailing extension ("x12", "ext. 12"): dropped by E.164 either way.
_EXTENSION: Final = r"(?i)\s*(?:ext\.?|x)\s*[0-9]{1,6}\s*$"
# A 10-digit NANP number with optional +1 / 1 prefix and the usual separators.
_NANP_SHAPE: Final = (
    r"^\s*(?:(\+\s?)?1[\s.\-]?)?(?:\(\s*([2-9][0-9]{2})\s*\)|([2-9][0-9]{2}))"
    r"[\s.\-]?([0-9]{3})[\s.\-]?([0-9]{4})\s*$"
)


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


@functools.cache
def _nanp_regions() -> tuple[tuple[str | None, str | None, str | None], ...]:
    """Per +1 region, in phonenumbers' order: (leading digits, general, any type) regexes.

    Restricted to 10-digit national numbers; ``None`` where a pattern does not apply.
    """
    out = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(1, ()):
        md = PhoneMetadata.metadata_for_region(region)
        if md is None:
            continue

        def fits(desc: object) -> str | None:
            pattern = getattr(desc, "national_number_pattern", None)
            lengths = getattr(desc, "possible_length", ()) or ()
            if not pattern or (lengths and 10 not in lengths):
                return None
            return str(pattern)

        types = [fits(getattr(md, name, None)) for name in _TYPES]
        alternatives = [t for t in types if t]
        general = fits(md.general_desc)
        out.append(
            (
                f"^(?:{md.leading_digits})" if md.leading_digits else None,
                f"^(?:{general})$" if general else None,
                f"^(?:{'|'.join(f'(?:{t})' for t in alternatives)})$" if alternatives else None,
            )
        )
    return tuple(out)


_TYPES: Final = (
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


def _nanp_valid(national: pl.Series) -> pl.Series:
    """Whether phonenumbers finds each +1 national number (10 digits) valid.

    Mirrors ``is_valid_number``: the first region in the +1 list whose leading
    digits match, or (for regions without leading digits) whose patterns know the
    number, decides; the number is valid when that region's patterns know it.
    """
    pending = pl.DataFrame({"i": pl.int_range(national.len(), eager=True), "nat": national})
    valid: list[pl.Series] = []
    for leading, general, types in _nanp_regions():
        if pending.height == 0:
            break
        known = pl.lit(False)
        if general and types:
            known = pl.col("nat").str.contains(general) & pl.col("nat").str.contains(types)
        chosen = pl.col("nat").str.contains(leading) if leading else known
        step = pending.with_columns(chosen.alias("chosen"), known.alias("known"))
        valid.append(step.filter(pl.col("chosen") & pl.col("known"))["i"])
        pending = step.filter(~pl.col("chosen")).select("i", "nat")
    out = pl.Series([False] * national.len())
    hits = pl.concat(valid) if valid else pl.Series([], dtype=pl.Int64)
    return out.scatter(hits, True) if hits.len() else out


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
    default_is_nanp = phonenumbers.country_code_for_region(region) == 1

    def run(s: pl.Series) -> pl.Series:
        raw = s.cast(pl.String)
        if raw.len() <= _distinct.SMALL:
            # a few values: phonenumbers itself is quicker than the vectorised
            # path, whose set-up (a dozen region patterns) is paid per call
            return apply_python(raw, slow, return_dtype=pl.String()).rename(s.name)
        shape = (
            pl.DataFrame({"raw": raw})
            .select(
                pl.col("raw").str.replace(_EXTENSION, "").str.extract_groups(_NANP_SHAPE).alias("m")
            )
            .unnest("m")
        )
        national = shape.select(
            pl.concat_str(pl.coalesce(pl.col("2"), pl.col("3")), pl.col("4"), pl.col("5"))
        ).to_series()
        # a bare 10-digit or 1+10-digit number is North American only when the
        # default region dials +1; an explicit "+1" is North American from anywhere
        nanp = national.is_not_null() & (shape["1"].is_not_null() | default_is_nanp)
        nanp_idx = nanp.arg_true()
        out = pl.Series(s.name, [None] * s.len(), dtype=pl.String)
        if nanp_idx.len():
            nat = national.gather(nanp_idx)
            ok = _nanp_valid(nat) if validation == "valid" else pl.Series([True] * nat.len())
            good = nanp_idx.filter(ok)
            out = out.scatter(good, ("+1" + nat.filter(ok)).cast(pl.String))
        rest_idx = (~nanp & raw.is_not_null()).arg_true()
        if rest_idx.len():
            rest = apply_python(raw.gather(rest_idx), slow, return_dtype=pl.String())
            out = out.scatter(rest_idx, rest)
        return out

    return run
