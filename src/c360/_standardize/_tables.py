"""Small lookup tables shipped in ``c360/data``, read once per process."""

from __future__ import annotations

import csv
import functools
from importlib import resources


def _rows(filename: str) -> list[list[str]]:
    text = resources.files("c360").joinpath("data", filename).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.reader(lines))


@functools.cache
def nicknames() -> dict[str, str]:
    """Nickname -> canonical first name (``data/nicknames.csv``).

    Examples:
        >>> nicknames()["bill"]
        'william'

    """
    rows = _rows("nicknames.csv")
    return {row[0]: row[1] for row in rows[1:]}


@functools.cache
def name_affixes(kind: str) -> tuple[str, ...]:
    """Words of one ``kind`` (title, suffix, particle) from ``data/name_affixes.csv``.

    Examples:
        >>> "mrs" in name_affixes("title")
        True

    """
    return tuple(word for word, k in _rows("name_affixes.csv")[1:] if k == kind)


@functools.cache
def address_abbreviations() -> dict[str, str]:
    """Address word -> USPS-style short form (``data/address_abbreviations.csv``).

    Examples:
        >>> address_abbreviations()["street"]
        'st'

    """
    return {row[0]: row[1] for row in _rows("address_abbreviations.csv")[1:]}


@functools.cache
def company_legal_forms() -> tuple[str, ...]:
    """Legal-form words stripped from company names (``data/company_legal_forms.txt``).

    Examples:
        >>> "llc" in company_legal_forms()
        True

    """
    return tuple(row[0] for row in _rows("company_legal_forms.txt"))
