"""Conversion of accepted inputs to polars, done once at the public boundary."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
import pyarrow as pa

from c360.exceptions import ConfigError

#: In-memory frames up to this many rows are collected with polars' in-memory
#: engine. The default engine's set-up costs several milliseconds per query,
#: which is most of the time of an incremental run on one record.
SMALL_FRAME = 10_000

Engine = Literal["auto", "in-memory"]


def engine_for(data: Any) -> Engine:
    """The polars engine for a query over ``data``: in-memory for a small DataFrame.

    Examples:
        >>> engine_for(pl.DataFrame({"a": [1]})), engine_for(pl.LazyFrame({"a": [1]}))
        ('in-memory', 'auto')
    """
    if isinstance(data, pl.DataFrame) and data.height <= SMALL_FRAME:
        return "in-memory"
    return "auto"


def to_lazy(data: Any, *, what: str = "data") -> pl.LazyFrame:
    """Convert a polars/pyarrow/pandas frame to a ``pl.LazyFrame``.

    Examples:
        >>> to_lazy(pa.table({"a": [1]})).collect().height
        1
    """
    if isinstance(data, pl.LazyFrame):
        return data
    if isinstance(data, pl.DataFrame):
        return data.lazy()
    if isinstance(data, pa.Table | pa.RecordBatch):
        return pl.from_arrow(data).lazy()  # type: ignore[union-attr]
    mod = type(data).__module__
    if mod.startswith("pandas"):
        return pl.from_pandas(data).lazy()
    raise ConfigError(
        f"{what} must be a polars LazyFrame/DataFrame, a pyarrow Table or a pandas DataFrame; "
        f"got {type(data).__name__}"
    )
