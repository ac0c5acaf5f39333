"""Machinery behind :mod:`c360.golden`: survivorship rules and the profile builder."""
