"""Machinery behind [`c360.contracts`][c360.contracts]; import from there, not from here."""
