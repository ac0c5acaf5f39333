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

import functools
from collections.abc import Callable
from typing import Final, Literal, TypeAlias

import phonenumbers
import polars as pl

from c360._standardize import _distinct
from c360._standardize._distinct import SeriesFn, apply_python, per_distinct
from c360._standardize._phone_vec import _EXTENSION as _EXTENSION_TEXT
from c360._standardize._phone_vec import (
    TAG_BOTH,
    TAG_POSSIBLE,
    TAG_VALID,
    Check,
    e164_columns,
    untag,
)
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


def _slow(region: str, validation: Check) -> Callable[[str], str | None]:
    e164 = phonenumbers.PhoneNumberFormat.E164

    def run(value: str) -> str | None:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        if validation == "both":
            valid = phonenumbers.is_valid_number(number)
            possible = phonenumbers.is_possible_number(number)
            if not (valid or possible):
                return None
            tag = TAG_BOTH if valid and possible else TAG_VALID if valid else TAG_POSSIBLE
            return tag + phonenumbers.format_number(number, e164)
        check = (
            phonenumbers.is_valid_number
            if validation == "valid"
            else phonenumbers.is_possible_number
        )
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


def _e164(region: str, validation: Check) -> SeriesFn:
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


@functools.cache
def _region_names() -> dict[str, str]:
    """Upper-case country names and codes (``"GERMANY"``, ``"DE"``, ``"UK"``) to regions."""
    from c360._standardize._region_names import REGION_NAMES

    out: dict[str, str] = {"UK": "GB", "USA": "US", "U.S.A.": "US", "U.S.": "US"}
    for region in phonenumbers.SUPPORTED_REGIONS:
        out[region] = region
    for region, name in REGION_NAMES.items():
        out.setdefault(name.upper(), region)
    return out


def phone_region(country: pl.Expr, default_region: str) -> pl.Expr:
    """The phone region of each record: its country (ISO code or English name), else the default.

    Examples:
        >>> df = pl.DataFrame({"c": ["de", " United Kingdom", "Atlantis", None]})
        >>> df.select(phone_region(pl.col("c"), "US"))["c"].to_list()
        ['DE', 'GB', 'US', 'US']

    """
    check_region(default_region)
    names = _region_names()
    key = country.cast(pl.String).str.strip_chars().str.to_uppercase()
    return key.replace_strict(
        list(names), list(names.values()), default=pl.lit(default_region), return_dtype=pl.String
    )


#: The type of [`e164_readings`][e164_readings].
READINGS_DTYPE: Final = pl.Struct({"valid": pl.String, "possible": pl.String})


@functools.cache
def record_readers(
    default_region: str, validation: Check
) -> tuple[
    Callable[[str | None, str | None], str | None],
    Callable[[str | None, str | None], tuple[str | None, str | None]],
]:
    """One number in its record's region, then the default: ``(one, both)``.

    ``one(value, region)`` is the E.164 form under ``validation``;
    ``both(value, region)`` the ``(valid, possible)`` readings from one parse
    (``validation="both"``). phonenumbers itself, value by value: for a few
    records, and for the single-record path of ``c360._standardize._rows``.
    """
    slow: dict[str, Callable[[str], str | None]] = {}

    def one(value: str | None, region: str | None) -> str | None:
        if value is None:
            return None
        r = region if region in phonenumbers.SUPPORTED_REGIONS else default_region
        got = None
        for reg in (r, default_region) if r != default_region else (r,):
            fn = slow.get(reg) or slow.setdefault(reg, _slow(reg, validation))
            got = fn(value)
            if got is not None:
                break
        return got

    def both(value: str | None, region: str | None) -> tuple[str | None, str | None]:
        if value is None:
            return None, None
        r = region if region in phonenumbers.SUPPORTED_REGIONS else default_region
        valid = possible = None
        for reg in (r, default_region) if r != default_region else (r,):
            fn = slow.get(reg) or slow.setdefault(reg, _slow(reg, validation))
            got = fn(value)
            if got is not None:
                valid = valid or (got[1:] if got[0] in (TAG_BOTH, TAG_VALID) else None)
                possible = possible or (got[1:] if got[0] in (TAG_BOTH, TAG_POSSIBLE) else None)
        return valid, possible

    return one, both


def _e164_rows(raw: pl.Series, region: pl.Series, validation: Check) -> pl.Series:
    """E.164 of each value read in its own row's region (one reading, no fallback).

    The distinct ``(value, region)`` pairs go through the vectorised path
    together (when they are fewer than half the rows), then what it leaves
    undecided through phonenumbers, once per pair.
    """
    jobs = pl.DataFrame({"p": raw.cast(pl.String), "r": region.cast(pl.String)})
    keys = jobs.filter(pl.col("p").is_not_null()).unique()
    deduped = 2 * keys.height <= jobs.height
    if not deduped:
        keys = jobs
    out, decided = e164_columns(keys["p"], keys["r"], validation)
    rest_idx = (~decided).arg_true()
    if rest_idx.len():
        fns: dict[str, Callable[[str], str | None]] = {}
        rest = keys[rest_idx]
        done: dict[tuple[str, str], str | None] = {}
        values: list[str | None] = []
        # e164_columns decides every null itself: only values reach phonenumbers
        for p, r in zip(rest["p"].to_list(), rest["r"].to_list(), strict=True):
            if (p, r) not in done:
                fn = fns.get(r) or fns.setdefault(r, _slow(r, validation))
                done[p, r] = fn(p)
            values.append(done[p, r])
        out = out.scatter(rest_idx, pl.Series(values, dtype=pl.String))
    if not deduped:
        return out
    found = keys.with_columns(e=out)
    return jobs.join(found, on=["p", "r"], how="left", maintain_order="left").get_column("e")


def _e164_by_region(default_region: str, validation: Check) -> SeriesFn:
    """E.164 of a ``{p: raw, r: region}`` struct: under the record's region, else the default.

    With ``"both"``, a struct ``{valid, possible}`` of the two readings, each
    under the record's region first, from one parse of each number.
    """
    one, one_both = record_readers(default_region, validation)

    def readings(s: pl.Series) -> list[pl.Series]:
        return list(untag(s)) if validation == "both" else [s]

    def run(s: pl.Series) -> pl.Series:
        frame = s.struct.unnest()
        raw = frame.get_column("p").cast(pl.String)
        region = frame.get_column("r").cast(pl.String).fill_null(default_region)
        if s.len() <= _distinct.SMALL:
            # a few records (incremental calls): phonenumbers itself, no frame work
            rows = list(zip(raw.to_list(), region.to_list(), strict=True))
            if validation != "both":
                return pl.Series(s.name, [one(p, r) for p, r in rows], dtype=pl.String)
            pairs = [one_both(p, r) for p, r in rows]
            return pl.Series(
                s.name,
                [{"valid": v, "possible": q} for v, q in pairs],
                dtype=READINGS_DTYPE,
            )
        # every number in the default region, and those of records with another
        # region in that one too: one pass over both sets of readings
        own = (region != default_region) & region.is_in(list(phonenumbers.SUPPORTED_REGIONS))
        idx = own.arg_true()
        n = raw.len()
        tagged = _e164_rows(
            pl.concat([raw, raw.gather(idx)]),
            pl.concat(
                [pl.repeat(default_region, n, dtype=pl.String, eager=True), region.gather(idx)]
            ),
            validation,
        )
        outs = readings(tagged.head(n))
        if idx.len():
            owns = readings(tagged.slice(n))
            outs = [
                out.scatter(idx, pl.select(pl.coalesce(own, out.gather(idx))).to_series())
                for own, out in zip(owns, outs, strict=True)
            ]
        if validation == "both":
            valid, possible = outs
            return pl.select(
                pl.struct(valid.alias("valid"), possible.alias("possible")).alias(s.name)
            ).to_series()
        return outs[0].rename(s.name)

    return run


def e164_readings(expr: pl.Expr, region: pl.Expr, default_region: str = "US") -> pl.Expr:
    """Both readings of each number, from one parse: a struct ``{valid, possible}``.

    The fields are [`to_e164_by_region`][to_e164_by_region] with
    ``validation="valid"`` and with ``"possible"``.

    Examples:
        >>> df = pl.DataFrame({"p": ["(212) 555-0123", "+1 999 182 2221"], "r": ["US", "US"]})
        >>> out = df.select(e164_readings(pl.col("p"), pl.col("r")).struct.unnest())
        >>> out["valid"].to_list(), out["possible"].to_list()
        (['+12125550123', None], ['+12125550123', '+19991822221'])
    """
    check_region(default_region)
    return pl.struct(expr.cast(pl.String).alias("p"), region.alias("r")).map_batches(
        _e164_by_region(default_region, "both"), return_dtype=READINGS_DTYPE
    )


def to_e164_by_region(
    expr: pl.Expr,
    region: pl.Expr,
    default_region: str = "US",
    *,
    validation: PhoneValidation = "valid",
) -> pl.Expr:
    """As [`to_e164`][to_e164], reading national numbers in each record's own region.

    ``region`` (see [`phone_region`][phone_region]) is tried first; a number
    it does not make valid is read in ``default_region``.

    Examples:
        >>> df = pl.DataFrame({"p": ["020 7946 0958", "(212) 555-0123", "0049 30 1234567"],
        ...                    "r": ["GB", "GB", "DE"]})
        >>> df.select(to_e164_by_region(pl.col("p"), pl.col("r")))["p"].to_list()
        ['+442079460958', '+12125550123', '+49301234567']

    """
    check_region(default_region)
    if validation not in PHONE_VALIDATIONS:
        raise ConfigError(f"validation must be one of {PHONE_VALIDATIONS}; got {validation!r}")
    return pl.struct(expr.cast(pl.String).alias("p"), region.alias("r")).map_batches(
        _e164_by_region(default_region, validation), return_dtype=pl.String()
    )


#: Fewest digits of a phone number kept for comparison when it cannot be validated.
MIN_PHONE_DIGITS: Final = 7


def phone_digits(
    raw: pl.Expr, e164: pl.Expr, region: pl.Expr, default_region: str = "US"
) -> pl.Expr:
    """A canonical digit string for every phone number, validated or not.

    A valid number gives its E.164 digits. One that is not valid still has
    digits worth comparing: if its length is possible in the record's region
    (or the default one), its E.164 digits under that reading (so
    ``+1 999 182 2221`` and ``(999) 182-2221`` agree); otherwise its own
    digits without an international prefix (``00``, ``011``). Fewer than
    ``MIN_PHONE_DIGITS`` digits give null. Extensions are
    dropped. Placeholders are left to junk detection, which judges a value by
    how many records share it.

    Examples:
        >>> df = pl.DataFrame({"raw": ["+1 999 182 2221", "(999) 182-2221", "+44 20 7946 0958",
        ...                            "12-34", "0099 12 345 678 901 234"],
        ...                    "e164": [None, None, "+442079460958", None, None],
        ...                    "r": ["US", "US", "GB", "US", "US"]})
        >>> out = df.select(phone_digits(pl.col("raw"), pl.col("e164"), pl.col("r")))
        >>> out.to_series().to_list()
        ['19991822221', '19991822221', '442079460958', None, '9912345678901234']

    """
    unvalidated = pl.when(e164.is_null()).then(raw.cast(pl.String))
    possible = to_e164_by_region(unvalidated, region, default_region, validation="possible")
    return digits_of(raw, e164, possible)


def digits_of(raw: pl.Expr, e164: pl.Expr, possible: pl.Expr) -> pl.Expr:
    """[`phone_digits`][phone_digits] from readings already made.

    ``e164`` is the phone column as validated, ``possible`` its possible-length
    reading (see [`e164_readings`][e164_readings]).
    """
    unvalidated = pl.when(e164.is_null()).then(raw.cast(pl.String))
    digits = (
        unvalidated.str.replace(_EXTENSION_TEXT, "")
        .str.replace_all(r"[^0-9]", "")
        .str.replace(r"^(?:011|00)", "")
    )
    out = pl.coalesce(e164, possible, digits).str.strip_prefix("+")
    return pl.when(out.str.len_chars() >= MIN_PHONE_DIGITS).then(out)
