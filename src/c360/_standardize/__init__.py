"""Machinery of the standardisation stage; the public API is :mod:`c360.standardize`."""
