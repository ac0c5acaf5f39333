"""Machinery behind [`c360.datasets`][c360.datasets]: synthetic people with known truth.

Modules:
    tables: hand-written frequency tables (names, nicknames, streets, cities, ...).
    people: the vectorised generator ([`generate_people`][generate_people]).
    make_demo: writes the bundled demo sources (``python -m c360._synth.make_demo``).
"""

from __future__ import annotations
