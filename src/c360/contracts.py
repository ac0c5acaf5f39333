"""Data contracts: what each source must deliver, checked without losing a row.

A [`Contract`][Contract] is a versioned, declarative description of columns
(``ColumnContract``: type, required, nullable, unique, checks, and what a
failing value does: ``on_fail="quarantine"`` the row or ``"nullify"`` the
value). Contracts are saved as YAML or JSON so that they live in git, compared
with [`diff`][diff] (breaking or compatible, and whether the version bump fits),
and applied with ``validate``, which splits a batch into valid rows and a
quarantine table. ``check_schema`` compares a batch's schema with its
contract without reading any data. [`canonical_contract`][canonical_contract] is the canonical
customer record, contract v1; [`Contract.to_pandera`][Contract.to_pandera] gives its pandera
schema.

Checks: [`IsEmail`][IsEmail], ``MatchesRegex``, [`InRange`][InRange],
``AllowedValues``, ``MaxLength``.

Examples:
    >>> import polars as pl
    >>> batch = pl.LazyFrame(
    ...     {"source": ["crm", "crm"], "record_id": ["1", ""], "email": ["a@b.co", "x@y.co"]}
    ... )
    >>> result = validate(batch, canonical_contract(), source="crm")
    >>> result.counts.valid, result.quarantine["reason"].to_list()
    (1, ['record_id: missing value (not nullable)'])

"""

from __future__ import annotations

from c360._contracts._checks import (
    AllowedValues,
    Check,
    ColumnType,
    InRange,
    IsEmail,
    MatchesRegex,
    MaxLength,
)
from c360._contracts._diff import ChangeKind, ContractChange, ContractDiff, diff
from c360._contracts._model import ColumnContract, Contract, OnFail, canonical_contract
from c360._contracts._schema import NoticeKind, SchemaNotice, check_schema
from c360._contracts._validate import Validated, ValidationCounts, validate
from c360._contracts._warnings import C360Warning

__all__ = [
    "AllowedValues",
    "C360Warning",
    "ChangeKind",
    "Check",
    "ColumnContract",
    "ColumnType",
    "Contract",
    "ContractChange",
    "ContractDiff",
    "InRange",
    "IsEmail",
    "MatchesRegex",
    "MaxLength",
    "NoticeKind",
    "OnFail",
    "SchemaNotice",
    "ValidationCounts",
    "Validated",
    "canonical_contract",
    "check_schema",
    "diff",
    "validate",
]
