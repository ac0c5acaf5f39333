"""Golden profiles: one row per customer, each field chosen by a survivorship rule.

[`build_profiles`][build_profiles] takes the accepted records (raw values, as loaded) and
``unified_ids`` and returns one profile per ``customer_id``: the golden value
of each field, the ``source`` and ``record_id`` it came from
(``<field>__source``, ``<field>__record_id``), ``record_count``, ``sources``,
``first_seen`` and ``last_seen``. Which value wins is set per field by a
[`Survivorship`][Survivorship]: [`MostRecent`][MostRecent], [`MostFrequent`][MostFrequent],
[`SourcePriority`][SourcePriority], [`Longest`][Longest] or [`Custom`][Custom]. A null never
wins over a value, and every tie ends on the lowest ``(source, record_id)``, so
profiles do not depend on row order. See ``docs/golden.md``.

Examples:
    >>> import polars as pl
    >>> from datetime import datetime
    >>> records = pl.DataFrame({
    ...     "source": ["crm", "billing", "shop"], "record_id": ["1", "7", "a"],
    ...     "first_name": ["Ann", "Anne", "Ann"],
    ...     "email": ["ann@x.io", None, "ann@y.io"],
    ...     "updated_at": [datetime(2024, 1, 1), datetime(2025, 1, 1), datetime(2024, 6, 1)],
    ... })
    >>> ids = pl.DataFrame({"source": ["crm", "billing", "shop"], "record_id": ["1", "7", "a"],
    ...                     "customer_id": ["C-1"] * 3})
    >>> p = build_profiles(records, ids)
    >>> p.select(["first_name", "email", "email__source", "record_count"]).to_pylist()
    [{'first_name': 'Ann', 'email': 'ann@y.io', 'email__source': 'shop', 'record_count': 3}]

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
import pyarrow as pa

from c360._canonical import ATTRIBUTES, CANONICAL_SCHEMA
from c360._golden import engine
from c360._golden.rules import (
    ADDRESS_FIELDS,
    Custom,
    Longest,
    MostFrequent,
    MostRecent,
    Rule,
    SourcePriority,
    Survivorship,
    rule_from_dict,
)
from c360._typing import FrameLike
from c360.exceptions import ConfigError

__all__ = [
    "ADDRESS_FIELDS",
    "Custom",
    "Longest",
    "MostFrequent",
    "MostRecent",
    "Rule",
    "SourcePriority",
    "Survivorship",
    "build_profiles",
    "profile_schema",
    "rule_from_dict",
]


def build_profiles(
    records: FrameLike,
    unified_ids: FrameLike,
    survivorship: Survivorship | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> pa.Table:
    """One golden profile per customer.

    Args:
        records: the accepted records with raw values (``Resolution.records``):
            ``source``, ``record_id``, the fields, and ``updated_at`` (when
            present it drives recency and ``first_seen``/``last_seen``). Other
            columns are ignored unless a field or a rule names them.
        unified_ids: ``source, record_id, customer_id``; every record must
            appear exactly once (customers without records get no profile).
        survivorship: the rules; ``Survivorship()`` by default.
        fields: columns to profile, in output order; by default every
            canonical attribute present in ``records`` (extra columns such
            as ``user_id`` are profiled only when listed here).

    Returns:
        A ``pyarrow.Table`` sorted by ``customer_id`` with ``customer_id,
        record_count, sources, first_seen, last_seen`` then, for each field,
        ``<field>, <field>__source, <field>__record_id`` (lineage is null
        exactly when the value is). Canonical fields have their canonical
        types; see [`profile_schema`][profile_schema].

    Raises:
        ColumnNotFoundError: a required column, a listed field or a column a
            rule uses is missing.
        ConfigError: a record has no customer_id or appears twice, a value
            does not convert to its canonical type, or a Custom score fails.

    Examples:
        >>> import polars as pl
        >>> recs = pl.DataFrame({"source": ["crm", "billing"], "record_id": ["1", "9"],
        ...                      "national_id": ["111", "112"]})
        >>> ids = recs.select("source", "record_id").with_columns(customer_id=pl.lit("C-1"))
        >>> rules = Survivorship(source_priority=("billing", "crm"))
        >>> t = build_profiles(recs, ids, rules)
        >>> t.column("national_id").to_pylist(), t.column("sources").to_pylist()
        (['112'], [['billing', 'crm']])

    """
    return engine.build(records, unified_ids, survivorship or Survivorship(), fields)


def profile_schema(fields: Sequence[str] | Mapping[str, pl.DataType] | None = None) -> pa.Schema:
    """Return the Arrow schema of profiles holding ``fields``.

    Args:
        fields: canonical field names (typed canonically), or a mapping of
            field name to polars type for extra columns; by default every
            canonical attribute.

    Examples:
        >>> profile_schema(["email"]).names[5:]
        ['email', 'email__source', 'email__record_id']

    """
    if fields is None:
        fields = list(ATTRIBUTES)
    if isinstance(fields, Mapping):
        types = dict(fields)
    else:
        unknown = [f for f in fields if f not in CANONICAL_SCHEMA]
        if unknown:
            raise ConfigError(
                f"{unknown} are not canonical fields; give their types",
                column=unknown[0],
                hint="pass a mapping of field name to polars type",
            )
        types = {f: CANONICAL_SCHEMA[f] for f in fields}
    return engine.arrow_schema(engine.profile_polars_schema(types))
