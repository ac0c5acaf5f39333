"""Vectorised generator of synthetic people seen through several source systems.

Everything is computed on whole columns (numpy for random draws, polars for
strings); there is no Python loop per person or per record. The work happens in
two steps:

1. **People** (``c360._synth.persons``, ``c360._synth.addresses``): households,
   names, dates of birth, addresses (with an older address for people who
   moved), phones, e-mails, employers and national ids. This is the truth.
2. **Records** (``c360._synth.records``): each person is seen 1..k times across the
   sources; every record is a copy of the person's data as the source would hold
   it at the record's ``updated_at``: an old address or maiden name for older
   records, the source's own missing fields and formatting habits, and typos,
   nicknames, swaps, junk values.

Each step draws from its own child random stream (``SeedSequence.spawn``), so the
same seed always gives the same output.

This module owns the entry point ([`generate_people`][generate_people]), its
result ([`Generated`][Generated]) and the checks of its arguments. The knobs
are in ``c360._synth.config``; helpers shared by the steps in
``c360._synth.common`` (the tables as polars Series) and ``c360._synth.text``
(folding, slugs, typos). The other profiles re-shape a standard result:
``c360._synth.worst`` and ``c360._synth.census``. Names that moved out of this
module are re-exported here, so their old import path still works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import polars as pl

from c360._canonical import CANONICAL_SCHEMA
from c360._synth.addresses import _address_frame as _address_frame
from c360._synth.addresses import _address_parts as _address_parts
from c360._synth.common import _DAY0 as _DAY0
from c360._synth.common import _F64 as _F64
from c360._synth.common import _days as _days
from c360._synth.common import _gather as _gather
from c360._synth.common import _lit as _lit
from c360._synth.common import _norm as _norm
from c360._synth.common import _Tables as _Tables
from c360._synth.common import _tables as _tables
from c360._synth.common import _zipf as _zipf
from c360._synth.config import _RATES as _RATES
from c360._synth.config import SynthConfig
from c360._synth.config import _default_countries as _default_countries
from c360._synth.config import _default_source_weights as _default_source_weights
from c360._synth.persons import _emails as _emails
from c360._synth.persons import _households as _households
from c360._synth.persons import _make_people as _make_people
from c360._synth.persons import _national_numbers as _national_numbers
from c360._synth.records import _COUNTRY_LONG as _COUNTRY_LONG
from c360._synth.records import _ID_FORMAT as _ID_FORMAT
from c360._synth.records import _PHONE_FORMATS as _PHONE_FORMATS
from c360._synth.records import _PRESENCE as _PRESENCE
from c360._synth.records import _STYLE as _STYLE
from c360._synth.records import _make_records as _make_records
from c360._synth.records import _phone_format_expr as _phone_format_expr
from c360._synth.records import _source_rate as _source_rate
from c360._synth.text import _digit_typo_expr as _digit_typo_expr
from c360._synth.text import _fold_expr as _fold_expr
from c360._synth.text import _slug_expr as _slug_expr
from c360._synth.text import _typo_column as _typo_column
from c360._synth.text import _typo_expr as _typo_expr
from c360.exceptions import ConfigError

__all__ = ["SOURCES", "Generated", "SynthConfig", "generate_people"]

#: Source systems the generator knows how to imitate.
SOURCES: Final = ("crm", "billing", "marketing", "support")


@dataclass(frozen=True, slots=True)
class Generated:
    """Synthetic records with their known truth.

    Attributes:
        records: one row per record, canonical columns (see
            ``c360._canonical.CANONICAL_SCHEMA``), sorted by source and record_id.
        truth: ``source, record_id, person_id``: the person behind each record.
        people: one row per person: ``person_id, household_id, role, gender`` and
            the true attribute values (current address; ``maiden_name``,
            ``married_at``, ``moved_at`` and the ``old_*`` address where relevant).

    """

    records: pl.DataFrame
    truth: pl.DataFrame
    people: pl.DataFrame

    def by_source(self) -> dict[str, pl.DataFrame]:
        """Split the records per source, in the order the sources were asked for.

        Examples:
            >>> g = generate_people(50, seed=1)
            >>> sorted(g.by_source()) == sorted(g.records["source"].unique().to_list())
            True

        """
        order = list(dict.fromkeys(self.records["source"].to_list()))
        parts = self.records.partition_by("source", as_dict=True, maintain_order=True)
        return {s: parts[(s,)] for s in order}


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _validate(n_people: int, sources: Sequence[str], cfg: SynthConfig) -> None:
    if not isinstance(n_people, int) or n_people < 1:
        raise ConfigError(f"n_people must be a positive integer; got {n_people!r}")
    if isinstance(sources, str) or not sources:
        raise ConfigError(
            f"sources must be a non-empty sequence of source names; got {sources!r}",
            hint=f"use a subset of {SOURCES}",
        )
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ConfigError(
            f"unknown source(s) {unknown}; the generator imitates {list(SOURCES)}",
            column="sources",
        )
    if len(set(sources)) != len(sources):
        raise ConfigError(f"sources repeat a name: {list(sources)}")
    for name in _RATES:
        v = getattr(cfg, name)
        if not 0.0 <= v <= 1.0:
            raise ConfigError(f"SynthConfig.{name} must be in [0, 1]; got {v!r}", column=name)
    if cfg.noise < 0:
        raise ConfigError(f"SynthConfig.noise must be >= 0; got {cfg.noise!r}", column="noise")
    for name in ("records_per_person", "household_sizes"):
        p = np.asarray(getattr(cfg, name), dtype=_F64)
        if p.ndim != 1 or len(p) == 0 or (p < 0).any() or p.sum() <= 0:
            raise ConfigError(
                f"SynthConfig.{name} must be non-negative probabilities with a positive sum",
                column=name,
            )
    missing_w = [s for s in sources if cfg.source_weights.get(s, 0.0) <= 0]
    if missing_w:
        raise ConfigError(
            f"SynthConfig.source_weights gives no positive weight to {missing_w}",
            column="source_weights",
        )
    bad_c = [c for c in cfg.countries if c not in _COUNTRY_LONG]
    if bad_c or sum(cfg.countries.values()) <= 0:
        raise ConfigError(
            f"SynthConfig.countries must weight some of {list(_COUNTRY_LONG)}; "
            f"got {dict(cfg.countries)}",
            column="countries",
        )
    if cfg.span_days < 1:
        raise ConfigError(f"SynthConfig.span_days must be >= 1; got {cfg.span_days}")


def generate_people(
    n_people: int,
    *,
    sources: Sequence[str] = SOURCES,
    seed: int = 0,
    config: SynthConfig | None = None,
    profile: Literal["standard", "worst", "census"] = "standard",
) -> Generated:
    """Generate ``n_people`` synthetic people as seen by several source systems.

    Args:
        n_people: number of real people (the records are about 2.4 times as many
            with the default ``records_per_person``).
        sources: which source systems to imitate, a subset of
            ``("crm", "billing", "marketing", "support")``. Each has its own
            missing fields and habits (see ``docs/datasets.md``).
        seed: random seed; the same seed and config give identical frames.
        config: every other knob, with documented defaults ([`SynthConfig`][SynthConfig]).
        profile: ``"standard"``, or ``"worst"`` for the same people, records and
            truth re-rendered in worst-case value shapes (phones of 14 countries
            in 12 layouts, almost every e-mail and address distinct, text dates
            of birth in mixed formats, some names in non-Latin scripts), for
            speed benchmarks (see "Worst-case profile" in ``docs/datasets.md``);
            or ``"census"`` for three administrative sources, one without
            address and one without birth date and ID, whose sparse records
            chain households together (see "Census-like profile").

    Returns:
        [`Generated`][Generated] with ``records`` (canonical columns), ``truth``
        (source, record_id, person_id) and ``people`` (the true attributes).

    Raises:
        ConfigError: an unknown source or profile, or a knob out of range.

    Examples:
        >>> g = generate_people(200, seed=7)
        >>> g.records.columns[:3]
        ['source', 'record_id', 'first_name']
        >>> g.truth.height == g.records.height
        True
        >>> generate_people(200, seed=7).records.equals(g.records)
        True

    """
    cfg = config if config is not None else SynthConfig()
    _validate(n_people, sources, cfg)
    if profile not in ("standard", "worst", "census"):
        raise ConfigError(f"profile must be 'standard', 'worst' or 'census'; got {profile!r}")
    ss = np.random.SeedSequence(seed)
    people_seed, record_seed = ss.spawn(2)
    people = _make_people(n_people, cfg, np.random.default_rng(people_seed))
    recs = _make_records(people, sources, cfg, np.random.default_rng(record_seed))
    records = recs.select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])
    truth = recs.select("source", "record_id", "person_id")
    public_people = people.select(
        "person_id",
        pl.concat_str(
            [pl.lit("H"), (pl.col("household_id") + 1).cast(pl.String).str.zfill(7)]
        ).alias("household_id"),
        "role",
        "gender",
        "first_name",
        "middle_name",
        "last_name",
        "maiden_name",
        "married_at",
        "date_of_birth",
        "email",
        "work_email",
        pl.col("mobile").alias("mobile_nsn"),
        pl.col("landline").alias("landline_nsn"),
        (pl.concat_str([pl.col("house").cast(pl.String), pl.col("street")], separator=" ")).alias(
            "street_address"
        ),
        "address_line2",
        "city",
        "state",
        "postcode",
        "country",
        "moved_at",
        pl.concat_str(
            [pl.col("old_house").cast(pl.String), pl.col("old_street")], separator=" "
        ).alias("old_street_address"),
        pl.col("old_city"),
        pl.col("old_postcode"),
        "company",
        "national_id",
    )
    generated = Generated(records=records, truth=truth, people=public_people)
    if profile == "worst":
        from c360._synth.worst import worst_case  # imports this module

        return worst_case(generated, seed=seed, config=cfg)
    if profile == "census":
        from c360._synth.census import census  # imports this module

        return census(generated)
    return generated
