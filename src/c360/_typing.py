"""Type aliases shared across c360."""

from __future__ import annotations

from typing import Literal, TypeAlias

import polars as pl
import pyarrow as pa

FrameLike: TypeAlias = "pl.LazyFrame | pl.DataFrame | pa.Table"
"""Any tabular input c360 accepts at its public boundary (pandas is accepted by Source)."""

OnSchemaChange: TypeAlias = Literal["fail", "warn", "accept"]
"""What to do when a batch's schema differs from its contract."""

Severity: TypeAlias = Literal["breaking", "compatible"]
"""How a contract or schema change affects consumers."""

LinkType: TypeAlias = Literal["dedupe", "link", "dedupe_and_link"]
"""Whether pairs are sought within sources, across sources, or both."""

Progress: TypeAlias = Literal["auto", "on", "off"]
"""Show progress bars: ``auto`` shows them in a terminal or notebook when asked by the CLI."""
