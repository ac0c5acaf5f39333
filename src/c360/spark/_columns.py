"""Column names as Spark's ``col`` reads them literally."""

from __future__ import annotations

__all__ = ["quoted"]


def quoted(column: str) -> str:
    """A column name for ``pyspark.sql.functions.col``, dots and backticks taken literally.

    Examples:
        >>> quoted("a.b"), quoted("x`y")
        ('`a.b`', '`x``y`')
    """
    return "`" + column.replace("`", "``") + "`"
