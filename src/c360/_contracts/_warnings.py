"""Warnings emitted by c360 (re-exported from [`c360.contracts`][c360.contracts])."""

from __future__ import annotations

__all__ = ["C360Warning"]


class C360Warning(UserWarning):
    """A problem worth a look that does not stop the run (e.g. a schema change under ``warn``).

    Examples:
        >>> issubclass(C360Warning, UserWarning)
        True

    """

    __module__ = "c360.contracts"
