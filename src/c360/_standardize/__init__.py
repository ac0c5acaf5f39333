"""Machinery of the standardisation stage; the public API is ``c360.standardize``."""
