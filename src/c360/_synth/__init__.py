"""Machinery behind [`c360.datasets`][c360.datasets]: synthetic people with known truth.

Modules:
    tables: hand-written frequency tables (names, nicknames, streets, cities, ...).
    people: the vectorised generator ([`generate_people`][c360.datasets.generate_people])
        and its public face; the steps it runs are in ``config`` (``SynthConfig``),
        ``common`` (shared helpers, the tables as polars Series), ``text`` (folding,
        typos), ``addresses``, ``persons`` (step 1: drawing people and households)
        and ``records`` (step 2: each source's records of them).
    worst: the worst-case profile (every e-mail, phone and address distinct, many
        formats); its parts are ``worst_common``, ``worst_phones``, ``worst_names``
        and ``worst_addresses``.
    census: the census-like profile (register sources, sparse records).
    make_demo: writes the bundled demo sources (``python -m c360._synth.make_demo``).
"""

from __future__ import annotations
