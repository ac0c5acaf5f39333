"""Machinery behind :mod:`c360.contracts`; import from there, not from here."""
