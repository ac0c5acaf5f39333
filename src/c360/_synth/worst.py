"""Worst-case value shapes for synthetic people: the ``"worst"`` profile of the generator.

The standard generator writes values in a handful of tidy shapes: phones of four
countries in their usual layouts, e-mails of common patterns at a few dozen
domains, short street lines, ``Date`` birth dates. A resolver tuned on that can be
fast there and slow on real exports, where almost every value is distinct and
formats are mixed within one source. [`worst_case`][worst_case] re-renders an
existing [`Generated`][c360._synth.people.Generated] set into such shapes, to
benchmark speed on them. It keeps the rows, their keys, the truth and the null
pattern; only the values change:

- **phones**: every household gets a phone country among 14 (US 40%, then GB,
  DE, FR, ES, IT, NL, BR, IN, AU, MX, CH, SE, JP), every person a mobile and
  every household a landline of that country's real length (from phonenumbers'
  metadata; half start like the country's example number, half are random
  digits and often invalid), written per record in one of twelve layouts
  (``PHONE_LAYOUTS``);
- **e-mails**: one (almost always distinct) address per person, a name-based
  local part with a personal token, at a big provider or a generated company
  domain (nearly one per person); typos and mixed case per record;
- **addresses**: long free-text street lines per household and address
  (house number and letter, directions, multi-word street names, building,
  unit), in US/GB, German or French style, abbreviated and cased per record;
  units in ``address_line2``;
- **dates of birth**: text in mixed formats per record (``DOB_FORMATS``);
- **names**: about 3% of people are written in Cyrillic, Greek or CJK-looking
  characters in one of their sources.

Placeholder ("junk") values of the standard generator are kept as they are, as
are ``updated_at``, city, state, postcode, country, company and national id.
Everything is whole-column numpy and polars work.

This module assembles the profile ([`worst_case`][worst_case]) and writes the
dates of birth. The other values are drawn by ``c360._synth.worst_phones``,
``c360._synth.worst_names`` (names and e-mails) and
``c360._synth.worst_addresses``, with the column helpers of
``c360._synth.worst_common``; their names are re-exported here.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

from c360._synth.people import Generated as Generated
from c360._synth.people import SynthConfig as SynthConfig
from c360._synth.text import _digit_typo_expr as _digit_typo_expr
from c360._synth.text import _fold_expr as _fold_expr
from c360._synth.text import _slug_expr as _slug_expr
from c360._synth.text import _typo_expr as _typo_expr
from c360._synth.worst_addresses import _BUILDINGS_EN as _BUILDINGS_EN
from c360._synth.worst_addresses import _DE_TYPES as _DE_TYPES
from c360._synth.worst_addresses import _DE_WORDS as _DE_WORDS
from c360._synth.worst_addresses import _DIRECTIONS as _DIRECTIONS
from c360._synth.worst_addresses import _FR_NAMES as _FR_NAMES
from c360._synth.worst_addresses import _FR_TYPES as _FR_TYPES
from c360._synth.worst_addresses import _STREET_TYPES as _STREET_TYPES
from c360._synth.worst_addresses import _STREET_WORDS as _STREET_WORDS
from c360._synth.worst_addresses import _UNITS_EN as _UNITS_EN
from c360._synth.worst_addresses import _address_keys as _address_keys
from c360._synth.worst_addresses import _address_lines as _address_lines
from c360._synth.worst_addresses import _addresses as _addresses
from c360._synth.worst_addresses import _opt as _opt
from c360._synth.worst_common import _CASE_RATE as _CASE_RATE
from c360._synth.worst_common import _index as _index
from c360._synth.worst_common import _norm as _norm
from c360._synth.worst_common import _pick as _pick
from c360._synth.worst_common import _recase as _recase
from c360._synth.worst_common import _rewrite as _rewrite
from c360._synth.worst_common import _Uniform as _Uniform
from c360._synth.worst_names import _BIG_PROVIDERS as _BIG_PROVIDERS
from c360._synth.worst_names import _CJK as _CJK
from c360._synth.worst_names import _CYRILLIC as _CYRILLIC
from c360._synth.worst_names import _DOMAIN_KINDS as _DOMAIN_KINDS
from c360._synth.worst_names import _DOMAIN_WORDS as _DOMAIN_WORDS
from c360._synth.worst_names import _GREEK as _GREEK
from c360._synth.worst_names import _INITIALS as _INITIALS
from c360._synth.worst_names import _NAME_COLUMNS as _NAME_COLUMNS
from c360._synth.worst_names import _SCRIPT_RATE as _SCRIPT_RATE
from c360._synth.worst_names import _TLDS as _TLDS
from c360._synth.worst_names import _emails as _emails
from c360._synth.worst_names import _names as _names
from c360._synth.worst_names import _person_emails as _person_emails
from c360._synth.worst_names import _to_script as _to_script
from c360._synth.worst_phones import _FOREIGN_MOBILE as _FOREIGN_MOBILE
from c360._synth.worst_phones import _HOME_PHONE as _HOME_PHONE
from c360._synth.worst_phones import _LIKE_EXAMPLE as _LIKE_EXAMPLE
from c360._synth.worst_phones import _MOBILE_SHARE as _MOBILE_SHARE
from c360._synth.worst_phones import PHONE_COUNTRIES, PHONE_LAYOUTS
from c360._synth.worst_phones import _national_numbers as _national_numbers
from c360._synth.worst_phones import _phone_layout as _phone_layout
from c360._synth.worst_phones import _phone_numbers as _phone_numbers
from c360._synth.worst_phones import _phone_table as _phone_table
from c360._synth.worst_phones import _phones as _phones

__all__ = ["DOB_FORMATS", "PHONE_COUNTRIES", "PHONE_LAYOUTS", "worst_case"]

#: Date-of-birth formats (strftime) and the sources that write them. Day-first and
#: month-first numeric dates never meet in one source: c360 decides the day/month
#: order of ``NN/NN/YYYY`` and ``NN.NN.YYYY`` per source column, and nulls the
#: ambiguous values of a column that holds both orders.
DOB_FORMATS: Final[dict[str, str]] = {
    "%Y-%m-%d": "all",  # 1980-01-02
    "%Y/%m/%d": "all",  # 1980/01/02
    "%-d %b %Y": "all",  # 2 Jan 1980
    "%B %-d, %Y": "all",  # January 2, 1980
    "%Y%m%d": "all",  # 19800102
    "%m/%d/%Y": "crm",  # 01/02/1980, US style, crm only
    "%d.%m.%Y": "not crm",  # 02.01.1980, every other source
}


def _dates(rec: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """``date_of_birth`` as text, in a format drawn per record from ``DOB_FORMATS``."""
    old = rec["date_of_birth"]
    rows = old.is_not_null().arg_true()
    common = [f for f, where in DOB_FORMATS.items() if where == "all"]
    crm_only = next(f for f, where in DOB_FORMATS.items() if where == "crm")
    others = next(f for f, where in DOB_FORMATS.items() if where == "not crm")
    dob = pl.col("date_of_birth")
    k = _index(pl.lit(pl.Series(rng.random(rows.len()))), len(common) + 1)
    last = (
        pl.when(pl.col("source") == "crm")
        .then(dob.dt.strftime(crm_only))
        .otherwise(dob.dt.strftime(others))
    )
    texts = [*(dob.dt.strftime(fmt) for fmt in common), last]
    expr = pl.coalesce([pl.when(k == i).then(text) for i, text in enumerate(texts)])
    new = rec.select("source", "date_of_birth")[rows].select(expr).to_series()
    return _rewrite(old, rows, new)


def worst_case(g: Generated, *, seed: int = 0, config: SynthConfig | None = None) -> Generated:
    """Re-render generated records into worst-case value shapes, keeping rows and truth.

    Same rows in the same order, same ``source`` and ``record_id``, same truth
    (the person behind every record) and the same null pattern: a value that
    was null stays null, a value that was present is rewritten (placeholder
    junk values are kept as they are). What changes is described in this
    module's docstring and in ``docs/datasets.md``: phones of 14 countries in 12
    layouts, an almost distinct e-mail per person, long free-text street lines,
    text dates of birth in mixed formats, ~3% of people in a non-Latin script
    in one source. ``date_of_birth`` becomes a text column.

    ``people`` gets the new true values (``email``, ``mobile_nsn``,
    ``landline_nsn``, ``street_address``, ``address_line2``,
    ``old_street_address``; ``work_email`` is null) and two new columns,
    ``mobile_region`` and ``landline_region``.

    Args:
        g: a set made by [`generate_people`][c360.datasets.generate_people]
            with the standard profile.
        seed: random seed; draws come from child stream 2 of
            ``numpy.random.SeedSequence(seed)`` (the standard generator uses
            streams 0 and 1), so ``generate_people(n, seed=s, profile="worst")``
            is ``worst_case(generate_people(n, seed=s), seed=s)``.
        config: the generator's knobs; its typo rates (``phone_typo_rate``,
            ``email_typo_rate``, ``address_typo_rate``, times ``noise``) apply.

    Returns:
        A new [`Generated`][c360.datasets.Generated]; ``g`` is not modified.

    Raises:
        ConfigError: ``g`` is not a standard-profile set (its dates of birth
            are text), or a record has no person in ``g.truth``.

    Examples:
        >>> from c360.datasets import generate_people
        >>> g = generate_people(300, seed=2)
        >>> w = worst_case(g, seed=2)
        >>> w.truth.equals(g.truth)
        True
        >>> w.records.select("source", "record_id").equals(g.records.select("source", "record_id"))
        True
        >>> w.records["date_of_birth"].dtype
        String
        >>> (w.records["phone"].is_null() == g.records["phone"].is_null()).all()
        True

    """
    from c360.exceptions import ConfigError

    if g.records.schema["date_of_birth"] != pl.Date:
        raise ConfigError(
            "worst_case expects a standard-profile set (date_of_birth as a Date column); "
            f"got {g.records.schema['date_of_birth']}"
        )
    cfg = config if config is not None else SynthConfig()
    streams = np.random.SeedSequence(seed, spawn_key=(2,)).spawn(6)
    r_num, r_phone, r_email, r_address, r_name, r_date = (np.random.default_rng(s) for s in streams)
    people = g.people.with_columns(
        _hh=(pl.col("household_id").rank("dense") - 1).cast(pl.Int64),
        _pi=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    persons = people.select("person_id", "_pi", "_hh", pl.col("moved_at").alias("_moved_at"))
    rec = (
        g.records.join(g.truth, on=["source", "record_id"], how="left", maintain_order="left")
        .join(persons, on="person_id", how="left", maintain_order="left")
        .with_columns(
            _old_address=(pl.col("updated_at").dt.date() < pl.col("_moved_at")).fill_null(False)
        )
    )
    if rec["_pi"].null_count():
        raise ConfigError(f"{rec['_pi'].null_count()} record(s) have no person in the truth")

    numbers = _phone_numbers(people, r_num)
    person_email = _person_emails(people, r_email)
    line1, line2, addr_truth = _addresses(people, rec, cfg, r_address)
    records = g.records.with_columns(
        *_names(rec, people.height, r_name),
        email=_emails(rec, person_email, cfg, r_email),
        phone=_phones(rec, numbers, cfg, r_phone),
        date_of_birth=_dates(rec, r_date),
        address_line1=line1,
        address_line2=line2,
    )
    out_people = g.people.with_columns(
        email=person_email,
        work_email=pl.lit(None, dtype=pl.String),
        mobile_nsn=numbers["mobile_nsn"],
        landline_nsn=numbers["landline_nsn"],
        street_address=addr_truth["street_address"],
        address_line2=addr_truth["address_line2"],
        old_street_address=pl.when(pl.col("moved_at").is_not_null()).then(
            addr_truth["old_street_address"]
        ),
        mobile_region=numbers["mobile_region"],
        landline_region=numbers["landline_region"],
    )
    return Generated(records=records, truth=g.truth, people=out_people)
