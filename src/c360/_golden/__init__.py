"""Machinery behind [`c360.golden`][c360.golden]: survivorship rules and the profile builder."""
