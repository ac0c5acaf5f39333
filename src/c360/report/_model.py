"""The run report's types and the small helpers every part of it uses.

[`RunReport`][c360.observe.RunReport] (the ``report.json`` content and its
tables), [`ReportConfig`][c360.observe.ReportConfig], ``DeferredTable`` (a
table built and written piece by piece), the file names, and conversion
helpers (``jsonable``, ``config_hash``, times, durations). The parts that fill
a report are ``_build`` (the whole), ``_sources`` (per-source figures) and
``_lineage`` (lineage tables).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from c360.report._pii import PiiMode

__all__ = ["SCHEMA", "DeferredTable", "ReportConfig", "RunReport", "config_hash", "jsonable"]

#: Name and major version of the report format; bumped on any incompatible change.
SCHEMA = "c360.report/1"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
TABLES_DIR = "report_tables"

#: Record columns shown for the largest clusters (national ids are never shown).
_DISPLAY = (
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "address_line1",
    "city",
    "postcode",
    "company",
    "updated_at",
)
_INTERNAL = ("_rid", "_row", "_issues", "source")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportConfig:
    """What the report flags and how much it shows.

    Attributes:
        drop_threshold: a source whose row count fell by more than this share
            since the previous run is flagged (``0.2`` = 20%).
        quarantine_threshold: a source with more than this share of its rows
            quarantined is flagged.
        largest_clusters: how many of the largest clusters to list with their records.
        cluster_records: records shown per listed cluster (the rest are counted).
        near_misses: near misses listed in the JSON (all are in the tables).
        inline_lineage_max: lineage is inlined in the JSON when the run has at
            most this many accepted records; it is always in the tables.
        pii: ``"mask"`` (default) shows no personal value in ``report.json`` and
            ``report.html`` (names as initials, e-mail as its first letter and
            top-level domain, phones as their last two digits, birth dates as
            the year, addresses and national IDs withheld, quoted values in
            quarantine reasons replaced by ``…``); ``"show"`` shows them. The
            report's tables keep full values either way.

    """

    drop_threshold: float = 0.2
    quarantine_threshold: float = 0.05
    largest_clusters: int = 10
    cluster_records: int = 50
    near_misses: int = 100
    inline_lineage_max: int = 500
    pii: PiiMode = "mask"

    def __post_init__(self) -> None:
        if self.pii not in ("mask", "show"):
            raise ValueError(f"pii must be 'mask' or 'show', got {self.pii!r}")


@dataclass(frozen=True, slots=True)
class DeferredTable:
    """A report table built piece by piece when it is written, not held beside the others.

    At a million records the lineage tables are several times the size of
    the outputs they trace; built all at once, they set the run's peak memory.
    ``parts`` yields Arrow tables (at least one, possibly empty, which carries
    the schema); ``num_rows`` is known without building them.
    """

    num_rows: int
    parts: Callable[[], Iterator[pa.Table]]

    def materialize(self) -> pa.Table:
        """The whole table in memory."""
        return pa.concat_tables(list(self.parts()))


@dataclass(slots=True)
class RunReport:
    """The run report: the content of ``report.json`` plus its tables.

    Attributes:
        data: the JSON document (``data["schema"] == "c360.report/1"``),
            documented in ``docs/report-schema.md``.
        tables_: lineage and detail tables, as Arrow tables or
            ``DeferredTable``s built when
            written (see [`tables`][tables]).

    """

    data: dict[str, Any]
    tables_: dict[str, pa.Table | DeferredTable] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """Return the run's id."""
        return str(self.data["run"]["run_id"])

    @property
    def incidents(self) -> list[dict[str, Any]]:
        """Return the problems found: stale sources, dropped rows, breaking changes..."""
        return list(self.data.get("incidents", []))

    def source(self, name: str) -> dict[str, Any]:
        """Return the report's entry for source ``name``."""
        for s in self.data.get("sources", []):
            if s["source"] == name:
                return dict(s)
        raise KeyError(name)

    def to_json(self, *, indent: int | None = 1) -> str:
        """``report.json``'s text."""
        return json.dumps(self.data, indent=indent, ensure_ascii=False, allow_nan=False)

    def __repr__(self) -> str:
        summary = self.data.get("summary", {})
        incidents = self.incidents
        lines = [
            f"c360 RunReport · run {self.data.get('run', {}).get('run_id')}",
            f"  customers  {summary.get('customers', 0):,} of "
            f"{summary.get('records_accepted', 0):,} accepted records",
            f"  incidents  {len(incidents)}"
            + (f" ({summary.get('errors', 0)} errors)" if incidents else ""),
        ]
        lines += [f"  {i['severity']}: {i['message']}"[:100] for i in incidents[:3]]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The report inline: a sandboxed frame (no scripts, no network) holding ``report.html``."""
        import html

        from c360.report._html import render_html

        page = render_html(self).replace(
            "<head>",
            "<head><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">",
            1,
        )
        return (
            f'<iframe sandbox="" srcdoc="{html.escape(page, quote=True)}" '
            'style="width:100%;height:720px;border:1px solid #ddd" '
            f'title="c360 run report {html.escape(self.run_id)}"></iframe>'
        )

    def tables(self) -> dict[str, pa.Table]:
        """Lineage and detail tables by name.

        ``lineage_records`` (customer_id, source, record_id, updated_at),
        ``lineage_links`` (the links that joined each customer's records),
        ``lineage_values`` (each golden value's origin, when profiles exist),
        ``near_misses`` and ``refused_links``. Tables deferred until
        written are built here, in memory.
        """
        return {
            name: t.materialize() if isinstance(t, DeferredTable) else t
            for name, t in self.tables_.items()
        }


# ------------------------------------------------------------------------------ helpers


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    v = _utc(value)
    return None if v is None else v.isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """Return ``value`` with datetimes as ISO 8601 text and NaN/inf as ``None``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if hasattr(value, "item"):
        return jsonable(value.item())
    return str(value)


def config_hash(config: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of ``config.to_dict()``.

    Examples:
        >>> from c360.config import ResolveConfig
        >>> config_hash(ResolveConfig()) == config_hash(ResolveConfig())
        True
        >>> len(config_hash(ResolveConfig()))
        64

    """
    text = json.dumps(
        jsonable(config.to_dict()), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _frame(table: pa.Table | pl.DataFrame | None) -> pl.DataFrame:
    if table is None:
        return pl.DataFrame()
    if isinstance(table, pl.DataFrame):
        return table
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out


def _duration(seconds: float) -> str:
    """Format a duration in seconds for people.

    Examples:
        >>> _duration(90), _duration(7200), _duration(3 * 86400 + 60)
        ('1.5 min', '2.0 h', '3.0 d')

    """
    s = abs(seconds)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    if s < 86400 * 2:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"
