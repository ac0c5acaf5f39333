"""The canonical customer record (contract v1): column names and types.

This module is the single source of truth for canonical column names. The
pandera model in [`c360.contracts`][c360.contracts] is built from it.
"""

from __future__ import annotations

from typing import Final

import polars as pl

CONTRACT_VERSION: Final = "1.0.0"

SOURCE: Final = "source"
RECORD_ID: Final = "record_id"
UPDATED_AT: Final = "updated_at"

#: Canonical columns and their polars types, in the documented order.
CANONICAL_SCHEMA: Final[dict[str, pl.DataType]] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "first_name": pl.String(),
    "middle_name": pl.String(),
    "last_name": pl.String(),
    "full_name": pl.String(),
    "email": pl.String(),
    "phone": pl.String(),
    "date_of_birth": pl.Date(),
    "address_line1": pl.String(),
    "address_line2": pl.String(),
    "city": pl.String(),
    "state": pl.String(),
    "postcode": pl.String(),
    "country": pl.String(),
    "company": pl.String(),
    "national_id": pl.String(),
    "updated_at": pl.Datetime("us"),
}

REQUIRED: Final = ("source", "record_id")

#: Person attribute columns (everything but the keys and event time).
ATTRIBUTES: Final = tuple(
    c for c in CANONICAL_SCHEMA if c not in ("source", "record_id", "updated_at")
)

# Internal bookkeeping columns, never part of public outputs.
RID: Final = "_rid"  # dense 0..n-1 integer surrogate key, assigned after contracts
ROW: Final = "_row"  # 0-based row number inside the source as read

#: Columns of the public quarantine table (DESIGN.md "Outputs").
QUARANTINE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "source": pl.String(),
    "record_id": pl.String(),  # null when unknown
    "row_number": pl.Int64(),  # 0-based data row inside the source as read (header excluded)
    "reason": pl.String(),  # names the column and the check, e.g. "email: not an email address"
    "raw": pl.String(),  # the raw row as a JSON object of the source's own columns
}

ISSUES: Final = "_issues"  # list[str] of per-row notes (e.g. a value nulled by a contract)


def empty_quarantine() -> pl.DataFrame:
    """An empty quarantine frame with the public schema."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
