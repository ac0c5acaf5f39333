"""The knobs of the synthetic-people generator and their documented defaults.

[`SynthConfig`][c360.datasets.SynthConfig] holds every share, rate and
distribution the generator draws with: records per person and their sources,
the make-up of households, life events, countries, name popularity and the
corruption rates scaled by ``noise``. ``c360._synth.people`` checks a config
before drawing anything; the steps (``persons``, ``addresses``, ``records``)
read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np

from c360._synth.common import _F64

__all__ = ["SynthConfig"]


def _default_source_weights() -> dict[str, float]:
    return {"crm": 0.35, "billing": 0.25, "marketing": 0.25, "support": 0.15}


def _default_countries() -> dict[str, float]:
    return {"US": 0.85, "GB": 0.06, "DE": 0.05, "FR": 0.04}


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthConfig:
    """Knobs of [`generate_people`][c360.datasets.generate_people], each with a default.

    Rates are probabilities in ``[0, 1]``. The corruption rates (everything from
    ``nickname_rate`` down) are multiplied by ``noise``, so ``noise=0`` gives clean
    copies (still with missing fields and formatting differences) and ``noise=2``
    doubles every error.

    Attributes:
        records_per_person: probability that a person has 1, 2, ... records in
            total (over all sources). Default mean is 2.42 records per person;
            40% of people are seen once.
        source_weights: relative share of records per source; records are drawn
            with replacement, so a person can appear several times in one source
            (true duplicates).
        household_sizes: probability of a household of 1, 2, ... people.
        roommate_rate: share of second household members who are unrelated
            roommates (own surname) rather than spouses.
        spouse_keeps_surname: share of spouses who keep their own surname.
        maiden_name_rate: share of spouses who took the household surname whose
            records older than the marriage still carry the maiden name.
        twin_rate: share of households with two or more children that have twins
            (same date of birth and surname, different first name).
        junior_rate: share of sons named after their father (same name and
            address, different date of birth).
        shared_email_rate: share of couples who share one mailbox.
        family_domain_rate: share of households with a family e-mail domain.
        move_rate: share of households that moved during the two years; their
            records older than the move carry the old address.
        employed_rate: share of adults with an employer (``company``).
        countries: relative share of people per country (US, GB, DE, FR).
        first_name_zipf: Zipf exponent of first-name popularity.
        surname_zipf: Zipf exponent of surname popularity.
        noise: multiplier of every corruption rate below.
        nickname_rate: a record uses a nickname or variant of the first name.
        initial_rate: a record holds only the first initial.
        swap_rate: first and last names swapped.
        name_typo_rate: a typo (insert, delete, substitute, transpose) per name field.
        surname_variant_rate: a spelling variant or transliteration of the surname.
        dob_error_rate: one part of the date wrong: day and month swapped, a day
            off, a year or ten off, one digit mistyped, another month or day.
        email_typo_rate: a typo in the e-mail's local part.
        phone_typo_rate: one digit wrong.
        address_typo_rate: a typo in the street line.
        national_id_typo_rate: one digit wrong in the national id.
        junk_rate: a placeholder value (``test@test.com``, ``0000000000``,
            ``00000``, ``1900-01-01``) instead of the real one, per field.
        end: last day of the ``updated_at`` window.
        span_days: length of the ``updated_at`` window (two years).

    Examples:
        >>> SynthConfig(noise=0.5).noise
        0.5
        >>> round(SynthConfig().mean_records_per_person, 2)
        2.42

    """

    records_per_person: tuple[float, ...] = (0.40, 0.24, 0.14, 0.09, 0.06, 0.04, 0.02, 0.01)
    source_weights: Mapping[str, float] = field(default_factory=_default_source_weights)
    household_sizes: tuple[float, ...] = (0.50, 0.25, 0.12, 0.08, 0.03, 0.02)
    roommate_rate: float = 0.15
    spouse_keeps_surname: float = 0.20
    maiden_name_rate: float = 0.50
    twin_rate: float = 0.15
    junior_rate: float = 0.03
    shared_email_rate: float = 0.10
    family_domain_rate: float = 0.05
    move_rate: float = 0.15
    employed_rate: float = 0.60
    countries: Mapping[str, float] = field(default_factory=_default_countries)
    first_name_zipf: float = 1.0
    surname_zipf: float = 0.9
    noise: float = 1.0
    nickname_rate: float = 0.15
    initial_rate: float = 0.03
    swap_rate: float = 0.02
    name_typo_rate: float = 0.05
    surname_variant_rate: float = 0.03
    dob_error_rate: float = 0.04
    email_typo_rate: float = 0.02
    phone_typo_rate: float = 0.02
    address_typo_rate: float = 0.04
    national_id_typo_rate: float = 0.03
    junk_rate: float = 0.01
    end: date = date(2024, 12, 31)
    span_days: int = 730

    @property
    def mean_records_per_person(self) -> float:
        """Expected number of records per person under ``records_per_person``."""
        p = np.asarray(self.records_per_person, dtype=_F64)
        return float((p / p.sum() * np.arange(1, len(p) + 1)).sum())

    def rate(self, name: str) -> float:
        """Return a corruption rate after the ``noise`` multiplier, capped at 1."""
        return float(min(1.0, getattr(self, name) * self.noise))


_RATES: Final = (
    "roommate_rate", "spouse_keeps_surname", "maiden_name_rate", "twin_rate", "junior_rate",
    "shared_email_rate", "family_domain_rate", "move_rate", "employed_rate", "nickname_rate",
    "initial_rate", "swap_rate", "name_typo_rate", "surname_variant_rate", "dob_error_rate",
    "email_typo_rate", "phone_typo_rate", "address_typo_rate", "national_id_typo_rate",
    "junk_rate",
)  # fmt: skip
