"""Build the run report (``report.json`` content and lineage tables) from a Resolution."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from c360.exceptions import StateError
from c360.report._pii import PERSONAL, PiiMode, mask_column, mask_field, mask_reason

if TYPE_CHECKING:
    from c360.pipeline import Resolution

__all__ = ["SCHEMA", "ReportConfig", "RunReport", "build_report", "config_hash", "load_report"]

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


def _read_previous(
    previous: str | Path | Mapping[str, Any] | RunReport | None,
) -> tuple[dict[str, Any] | None, pl.DataFrame | None, str | None]:
    """Return the previous report's JSON, its unified_ids (when beside it) and its path."""
    if previous is None:
        return None, None, None
    if isinstance(previous, RunReport):
        return previous.data, None, None
    if isinstance(previous, Mapping):
        return dict(previous), None, None
    data, path = _read_report_json(
        previous,
        what="the previous run's report",
        hint="pass the previous output directory or its report.json",
    )
    ids = None
    ids_path = path.parent / "unified_ids.parquet"
    if ids_path.exists():
        ids = pl.read_parquet(ids_path)
    return data, ids, str(path)


def _read_report_json(location: str | Path, *, what: str, hint: str) -> tuple[Any, Path]:
    """Read and schema-check ``report.json`` in ``location`` (a directory or the file)."""
    p = Path(location)
    path = p / REPORT_JSON if p.is_dir() else p
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read {what}: {exc}", path=str(path), hint=hint) from exc
    _check_schema(data, path)
    return data, path


def _check_schema(data: Any, path: Path | str) -> None:
    schema = data.get("schema") if isinstance(data, Mapping) else None
    if not isinstance(schema, str) or not schema.startswith("c360.report/"):
        raise StateError(f"not a c360 run report (schema {schema!r})", path=str(path))
    if schema != SCHEMA:
        raise StateError(
            f"report format {schema!r} is not supported; this c360 reads {SCHEMA!r}",
            path=str(path),
            hint="rebuild the report with this c360 version",
        )


# ------------------------------------------------------------------------------ sections


def _stages(metrics: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in metrics:
        seconds = m.get("seconds")
        rows_in = m.get("rows_in")
        extra = {
            k: v
            for k, v in m.items()
            if k not in ("stage", "rows_in", "rows_out", "quarantined", "seconds")
        }
        out.append(
            {
                "stage": m.get("stage"),
                "rows_in": rows_in,
                "rows_out": m.get("rows_out"),
                "quarantined": m.get("quarantined"),
                "seconds": seconds,
                "rows_per_second": (rows_in / seconds) if rows_in and seconds else None,
                "extra": extra,
            }
        )
    return out


def _notice_dict(n: Any) -> dict[str, Any]:
    return {"kind": n.kind, "column": n.column, "detail": n.detail, "severity": n.severity}


def _source_columns(records: pl.DataFrame | None) -> dict[str, list[dict[str, str]]]:
    """Return, per source, the columns holding at least one value, with their types."""
    if records is None or records.height == 0 or "source" not in records.columns:
        return {}
    cols = [c for c in records.columns if c not in _INTERNAL]
    has = records.group_by("source").agg(pl.col(c).is_not_null().any() for c in cols)
    out: dict[str, list[dict[str, str]]] = {}
    for row in has.iter_rows(named=True):
        out[str(row["source"])] = [
            {"name": c, "type": _type_name(records.schema[c])} for c in cols if row[c]
        ]
    return out


def _type_name(dtype: pl.DataType) -> str:
    """Return a plain type name: ``string``, ``date``, ``timestamp``, ``int64``, ``double``..."""
    if dtype == pl.String:
        return "string"
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if dtype == pl.Float64:
        return "double"
    if dtype == pl.Float32:
        return "float"
    return str(dtype).lower()


def _quarantine_reasons(
    quarantine: pl.DataFrame, pii: PiiMode, limit: int = 20
) -> dict[str, list[dict[str, Any]]]:
    if quarantine.height == 0:
        return {}
    if pii == "mask":
        reasons = quarantine.get_column("reason").unique().drop_nulls()
        masked = {r: mask_reason(r) for r in reasons.to_list()}
        quarantine = quarantine.with_columns(pl.col("reason").replace_strict(masked, default=None))
    counts = (
        quarantine.group_by("source", "reason")
        .len("rows")
        .sort(["source", "rows", "reason"], descending=[False, True, False])
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for (src,), part in counts.partition_by("source", as_dict=True, maintain_order=True).items():
        out[str(src)] = part.head(limit).select("reason", "rows").to_dicts()
    return out


def _format_change(before: Any, now: Any) -> str | None:
    """How a source's file format changed between runs (``None``: it did not, or unknown).

    Examples:
        >>> _format_change({"format": "csv", "separator": ","}, {"format": "csv", "separator": ";"})
        "separator ',' → ';'"
    """
    if not isinstance(before, Mapping) or not isinstance(now, Mapping):
        return None
    keys = ("format", "separator", "encoding")
    diffs = [f"{k} {before.get(k)!r} → {now.get(k)!r}" for k in keys if before.get(k) != now.get(k)]
    return ", ".join(diffs) or None


def _inferred(res: Resolution, source: str) -> dict[str, Any] | None:
    """The source's inferred column mapping with confidences, if it was inferred."""
    inference = getattr(res, "inferred_columns", {}).get(source)
    return None if inference is None else dict(inference.to_dict())


def _sources(
    res: Resolution, finished: datetime, prev: dict[str, Any] | None, cfg: ReportConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    incidents: list[dict[str, Any]] = []
    notices_by: dict[str, list[Any]] = {}
    for n in sorted(res.notices):
        notices_by.setdefault(n.source, []).append(n)
    columns = _source_columns(res.records)
    reasons = _quarantine_reasons(_frame(res.quarantine), cfg.pii)
    prev_rows = {s["source"]: s.get("rows_read") for s in (prev or {}).get("sources", [])}
    prev_formats = {s["source"]: s.get("file_format") for s in (prev or {}).get("sources", [])}
    out = []
    for row in res.sources.iter_rows(named=True):
        name = str(row["source"])
        file_format = json.loads(row["file_format"]) if row.get("file_format") else None
        changed = _format_change(prev_formats.get(name), file_format)
        if changed:
            incidents.append(
                {
                    "kind": "format_change",
                    "severity": "warning",
                    "source": name,
                    "message": f"{name}: the export is written differently since the previous "
                    f"run: {changed}",
                }
            )
        newest = _utc(row["newest_event"])
        sla = row["freshness_sla_seconds"]
        lag = (finished - newest).total_seconds() if newest is not None else None
        if sla is None or lag is None:
            meets, status = None, "unknown"
            why = "no freshness SLA declared" if sla is None else "the source has no event time"
        else:
            meets = lag <= sla
            status = "fresh" if meets else "stale"
            why = f"newest record is {_duration(lag)} old; SLA {_duration(sla)}"
        if meets is False:
            incidents.append(
                {
                    "kind": "stale_source",
                    "severity": "error",
                    "source": name,
                    "message": f"{name} is stale: newest record is {_duration(lag or 0)} old, "
                    f"SLA is {_duration(sla or 0)}",
                }
            )
        rows = int(row["rows_read"] or 0)
        change: dict[str, Any] | None = None
        if prev is not None:
            before = prev_rows.get(name)
            if before is None:
                change = {
                    "previous_rows": None,
                    "rows": rows,
                    "change": None,
                    "change_share": None,
                    "dropped": False,
                    "new_source": True,
                }
            else:
                share = (rows - before) / before if before else None
                dropped = share is not None and share < -cfg.drop_threshold
                change = {
                    "previous_rows": before,
                    "rows": rows,
                    "change": rows - before,
                    "change_share": share,
                    "dropped": dropped,
                    "new_source": False,
                }
                if dropped:
                    incidents.append(
                        {
                            "kind": "rows_dropped",
                            "severity": "error",
                            "source": name,
                            "message": f"{name} delivered {rows:,} rows, "
                            f"{-(share or 0):.0%} fewer than "
                            f"the previous run's {before:,} (threshold "
                            f"{cfg.drop_threshold:.0%})",
                        }
                    )
        notices = notices_by.get(name, [])
        for n in notices:
            if n.severity == "breaking":
                incidents.append(
                    {
                        "kind": "breaking_schema_change",
                        "severity": "error",
                        "source": name,
                        "message": f"{name}: {n.kind.replace('_', ' ')} {n.column!r}: {n.detail}",
                    }
                )
        quarantined = int(row["rows_quarantined"] or 0)
        q_share = quarantined / rows if rows else 0.0
        if q_share > cfg.quarantine_threshold:
            incidents.append(
                {
                    "kind": "quarantine",
                    "severity": "warning",
                    "source": name,
                    "message": f"{name}: {quarantined:,} of {rows:,} rows "
                    f"({q_share:.1%}) quarantined",
                }
            )
        out.append(
            {
                "source": name,
                "owner": row["owner"],
                "description": row["description"],
                "location": row["location"],
                "contract": row["contract"],
                "rows_read": rows,
                "rows_valid": row["rows_valid"],
                "rows_quarantined": quarantined,
                "quarantined_share": q_share,
                "read_seconds": row["read_seconds"],
                "oldest_event": _iso(row["oldest_event"]),
                "newest_event": _iso(newest),
                "freshness": {
                    "sla_seconds": sla,
                    "lag_seconds": lag,
                    "meets_sla": meets,
                    "status": status,
                    "explanation": why,
                },
                "row_change": change,
                "schema_notices": [_notice_dict(n) for n in notices],
                "quarantine_reasons": reasons.get(name, []),
                "columns": columns.get(name, []),
                "inferred_columns": _inferred(res, name),
                "file_format": file_format,
            }
        )
        if out[-1]["inferred_columns"] and out[-1]["inferred_columns"]["hashed_key"]:
            incidents.append(
                {
                    "kind": "hashed_key",
                    "severity": "warning",
                    "source": name,
                    "message": f"{name}: no column looks like a record key; records are keyed "
                    "by a hash of their content, so an edited row gets a new ID",
                }
            )
    if prev is not None:
        now = {s["source"] for s in out}
        for s in prev.get("sources", []):
            if s["source"] not in now and s.get("rows_read"):
                incidents.append(
                    {
                        "kind": "rows_dropped",
                        "severity": "error",
                        "source": s["source"],
                        "message": f"{s['source']} delivered nothing this run "
                        f"({s['rows_read']:,} rows in the previous run)",
                    }
                )
    return out, incidents


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


def _largest_clusters(
    res: Resolution, ids: pl.DataFrame, links: pl.DataFrame, cfg: ReportConfig
) -> list[dict[str, Any]]:
    if ids.height == 0:
        return []
    sizes = (
        ids.group_by("customer_id")
        .len("size")
        .sort(["size", "customer_id"], descending=[True, False])
        .head(cfg.largest_clusters)
    )
    sizes = sizes.filter(pl.col("size") > 1)
    if sizes.height == 0:
        return []
    members = ids.join(sizes.select("customer_id"), on="customer_id")
    if res.records is not None:
        show = [c for c in _DISPLAY if c in res.records.columns]
        # the few shown records first, then masked: masking every record cost 0.5 s at 1M
        shown = res.records.select("source", "record_id", *show).join(
            members.select("source", "record_id"), on=["source", "record_id"], how="semi"
        )
        if cfg.pii == "mask":
            shown = shown.with_columns(mask_column(c, pl.col(c)) for c in show if c in PERSONAL)
        members = members.join(shown, on=["source", "record_id"], how="left")
    members = members.sort("customer_id", "source", "record_id")
    # only the links of the largest clusters: a link inside a cluster has its left
    # record in that cluster
    keys = members.select(source_l="source", record_id_l="record_id")
    inside = links.join(keys, on=["source_l", "record_id_l"], how="semi") if links.height else links
    rules = _customer_links(members.select(ids.columns), inside)
    by_rule: dict[str, dict[str, int]] = {}
    if rules.height:
        counts = (
            rules.join(sizes.select("customer_id"), on="customer_id")
            .group_by("customer_id", "rule")
            .len("links")
        )
        for row in counts.iter_rows(named=True):
            by_rule.setdefault(row["customer_id"], {})[row["rule"]] = row["links"]
    out = []
    groups = members.partition_by("customer_id", as_dict=True)
    for row in sizes.iter_rows(named=True):
        part = groups[(row["customer_id"],)]
        recs = part.drop("customer_id").head(cfg.cluster_records).to_dicts()
        out.append(
            {
                "customer_id": row["customer_id"],
                "size": row["size"],
                "sources": sorted(set(part["source"].to_list())),
                "links_by_rule": by_rule.get(row["customer_id"], {}),
                "records": jsonable(recs),
                "records_not_shown": max(part.height - cfg.cluster_records, 0),
            }
        )
    return out


def _customer_links(ids: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Return the links whose two records ended in the same customer, with that customer."""
    cols = [
        "customer_id",
        "source_l",
        "record_id_l",
        "source_r",
        "record_id_r",
        "rule",
        "match_weight",
        "match_probability",
    ]
    if links.height == 0 or ids.height == 0:
        return pl.DataFrame(
            schema={c: (pl.Float64 if c.startswith("match") else pl.String) for c in cols}
        )
    left = ids.rename({"source": "source_l", "record_id": "record_id_l", "customer_id": "_cl"})
    right = ids.rename({"source": "source_r", "record_id": "record_id_r", "customer_id": "_cr"})
    j = links.join(left, on=["source_l", "record_id_l"]).join(right, on=["source_r", "record_id_r"])
    inside = j.filter(pl.col("_cl") == pl.col("_cr")).rename({"_cl": "customer_id"}).select(cols)
    return _by_customer(inside, ["source_l", "record_id_l", "source_r", "record_id_r"])


def _by_customer(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``frame`` sorted by ``customer_id`` then ``keys``.

    Output tables come sorted by their record keys; a stable sort on the
    customer alone then gives the same order as sorting on all the string keys,
    at a fraction of the cost on millions of rows.

    Examples:
        >>> f = pl.DataFrame({"customer_id": ["b", "a", "b"], "k": ["1", "2", "3"]})
        >>> _by_customer(f, ["k"])["k"].to_list(), _by_customer(f[::-1], ["k"])["k"].to_list()
        (['2', '1', '3'], ['2', '1', '3'])
    """
    if frame.height > 1 and frame.select(pl.struct(keys).is_sorted()).item():
        return frame.sort("customer_id", maintain_order=True)
    return frame.sort("customer_id", *keys)


_VALUE_SCHEMA = {
    "customer_id": pl.String,
    "field": pl.String,
    "value": pl.String,
    "source": pl.String,
    "record_id": pl.String,
}

#: Customers per piece of ``lineage_values`` (about a dozen rows each): a tenth
#: of the customers, within these bounds. Small pieces keep small runs' memory
#: low; at a million records, pieces of 10,000 took twice as long to build and
#: write (46 pieces: 5.3 s) as pieces of 50,000 (2.5 s).
_VALUE_CHUNK = 10_000
_VALUE_CHUNK_MAX = 50_000


def _lineage_values(profiles: pl.DataFrame | None) -> DeferredTable | None:
    """Each golden value's origin: ``customer_id, field, value, source, record_id``.

    A profile field ``f`` is traced when the profiles hold ``f__source`` and
    ``f__record_id`` beside it (as ``c360.golden.build_profiles`` writes them).
    Rows come ordered by customer, then field; the table is built
    a tenth of the customers at a time (within [`_VALUE_CHUNK`][_VALUE_CHUNK]
    and ``_VALUE_CHUNK_MAX``) when written.
    """
    if profiles is None or "customer_id" not in profiles.columns:
        return None
    fields = sorted(
        c
        for c in profiles.columns
        if f"{c}__source" in profiles.columns and f"{c}__record_id" in profiles.columns
    )
    if not fields:
        return DeferredTable(0, lambda: iter([pl.DataFrame(schema=_VALUE_SCHEMA).to_arrow()]))
    if not profiles.get_column("customer_id").cast(pl.String).is_sorted():
        profiles = profiles.sort(pl.col("customer_id").cast(pl.String))
    rows = int(sum(profiles.height - profiles.get_column(f).null_count() for f in fields))

    chunk = min(max(_VALUE_CHUNK, profiles.height // 10), max(_VALUE_CHUNK, _VALUE_CHUNK_MAX))

    def parts() -> Iterator[pa.Table]:
        for start in range(0, max(profiles.height, 1), chunk):
            yield _values_piece(profiles.slice(start, chunk), fields)

    return DeferredTable(rows, parts)


def _values_piece(profiles: pl.DataFrame, fields: list[str]) -> pa.Table:
    """``lineage_values`` rows of some profiles, ordered by customer then field."""
    # field by field, then gathered row-major: rows come out ordered by customer
    # and field without sorting strings (one profile row per customer)
    long = pl.concat(
        [
            profiles.select(
                pl.col("customer_id").cast(pl.String),
                pl.lit(f).alias("field"),
                pl.col(f).cast(pl.String).alias("value"),
                pl.col(f"{f}__source").cast(pl.String).alias("source"),
                pl.col(f"{f}__record_id").cast(pl.String).alias("record_id"),
            )
            for f in fields
        ]
    )
    rows = profiles.height
    order = (np.arange(len(fields))[None, :] * rows + np.arange(rows)[:, None]).ravel()
    return long[order].filter(pl.col("value").is_not_null()).to_arrow()


def _lineage(
    res: Resolution, ids: pl.DataFrame, links: pl.DataFrame, cfg: ReportConfig
) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    def lineage_records() -> pl.DataFrame:
        recs = ids.select("customer_id", "source", "record_id")
        if res.records is not None and "updated_at" in res.records.columns:
            recs = recs.join(
                res.records.select("source", "record_id", "updated_at"),
                on=["source", "record_id"],
                how="left",
            )
        return _by_customer(recs, ["source", "record_id"])

    joined = _customer_links(ids, links)
    profiles = getattr(res, "profiles", None)
    values = _lineage_values(_frame(profiles) if profiles is not None else None)
    tables: dict[str, pa.Table | DeferredTable] = {
        # one row per record (a left join on unique keys): built when written
        "lineage_records": DeferredTable(ids.height, lambda: iter([lineage_records().to_arrow()])),
        "lineage_links": joined.to_arrow(),
    }
    if values is not None:
        tables["lineage_values"] = values
    section: dict[str, Any] = {
        "customers": int(ids["customer_id"].n_unique()) if ids.height else 0,
        "records": ids.height,
        "links": joined.height,
        "values": values.num_rows if values is not None else None,
        "profiles": values is not None,
        "tables": {
            name: {"rows": t.num_rows, "path": f"{TABLES_DIR}/{name}.parquet"}
            for name, t in tables.items()
        },
        "inline": None,
    }
    if ids.height <= cfg.inline_lineage_max:
        recs = lineage_records()
        value_frame = pl.from_arrow(values.materialize()) if values is not None else None
        assert value_frame is None or isinstance(value_frame, pl.DataFrame)
        if value_frame is not None and cfg.pii == "mask":
            value_frame = value_frame.with_columns(
                mask_field(pl.col("field"), pl.col("value")).alias("value")
            )
        link_groups = joined.partition_by("customer_id", as_dict=True) if joined.height else {}
        value_groups = (
            value_frame.partition_by("customer_id", as_dict=True)
            if value_frame is not None and value_frame.height
            else {}
        )
        inline = []
        for (cid,), part in recs.partition_by(
            "customer_id", as_dict=True, maintain_order=True
        ).items():
            entry: dict[str, Any] = {
                "customer_id": cid,
                "records": part.select("source", "record_id").to_dicts(),
                "links": (
                    link_groups[(cid,)].drop("customer_id").to_dicts()
                    if (cid,) in link_groups
                    else []
                ),
            }
            if value_frame is not None:
                entry["values"] = (
                    value_groups[(cid,)].drop("customer_id").to_dicts()
                    if (cid,) in value_groups
                    else []
                )
            inline.append(entry)
        section["inline"] = jsonable(inline)
    return section, tables


def _diagnostics(
    res: Resolution, ids: pl.DataFrame, links: pl.DataFrame, cfg: ReportConfig
) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    model = res.model
    threshold = float(res.config.cluster.threshold)
    near = _frame(res.near_misses)
    if near.height:
        near = (
            near.with_columns((pl.col("match_probability") - threshold).abs().alias("_d"))
            .sort("_d", "source_l", "record_id_l", "source_r", "record_id_r")
            .drop("_d")
        )
    refused = _frame(res.refused_links)
    refused_kinds: dict[str, int] = {}
    if refused.height and "reason" in refused.columns:
        kinds = (
            refused.select(pl.col("reason").str.split(":").list.first().alias("kind"))
            .group_by("kind")
            .len("links")
            .sort(["links", "kind"], descending=[True, False])
        )
        refused_kinds = {str(r["kind"]): int(r["links"]) for r in kinds.iter_rows(named=True)}
    gamma_cols = [c for c in near.columns if c.startswith("gamma_")]
    params = model.parameters()
    diag = {
        "threshold": threshold,
        "threshold_weight": math.log2(threshold / (1 - threshold)) if 0 < threshold < 1 else None,
        "weight_histogram": res.weight_histogram.to_dicts() if res.weight_histogram.height else [],
        "prior": {
            "lambda": model.lam,
            "prior_weight": model.prior_weight,
            "total_pairs": model.total_pairs,
            "iterations": model.iterations,
            "converged": model.converged,
            "classes": [{"name": n, "prior": p} for n, _, p in model.others],
        },
        "parameters": params.to_dicts() if params.height else [],
        "cluster_sizes": res.cluster_sizes().to_dicts() if ids.height else [],
        "largest_clusters": _largest_clusters(res, ids, links, cfg),
        "near_misses": {
            "count": near.height,
            "shown": min(near.height, cfg.near_misses),
            "comparisons": [c.removeprefix("gamma_") for c in gamma_cols],
            "rows": near.head(cfg.near_misses).to_dicts(),
        },
        "estimates": dict(res.estimates),
        "model_warnings": list(model.warnings),
        "junk": _junk(_frame(res.junk), cfg.pii),
        "refused_links": {"count": refused.height, "by_reason": refused_kinds},
    }
    tables = {
        "near_misses": near.to_arrow(),
        "refused_links": refused.to_arrow(),
        "junk": _frame(res.junk).to_arrow(),
    }
    return jsonable(diag), tables


def _junk(junk: pl.DataFrame, pii: PiiMode) -> list[dict[str, Any]]:
    """Junk values for the report: values of personal columns masked like any other."""
    if pii == "mask" and junk.height and {"column", "value"} <= set(junk.columns):
        junk = junk.with_columns(mask_field(pl.col("column"), pl.col("value")).alias("value"))
    return junk.to_dicts()


def build_report(
    resolution: Resolution,
    *,
    run_id: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    previous: str | Path | Mapping[str, Any] | RunReport | None = None,
    config: ReportConfig | None = None,
) -> RunReport:
    """Build the run report of a resolution.

    Args:
        resolution: the result of [`c360.resolve`][c360.resolve].
        run_id: the run's id (default: the resolution's ``run_id``, else a new UUID4).
        started_at: when the run started (default: ``finished_at`` minus the
            stages' summed seconds). Naive datetimes are taken as UTC.
        finished_at: when the run ended (default: now); freshness lags are
            measured to this moment.
        previous: an earlier run's output directory, its ``report.json``, or
            its report: row counts are compared with it, and with its
            ``unified_ids.parquet`` (when beside it) the groupings too.
        config: thresholds and sizes ([`ReportConfig`][ReportConfig]).

    Returns:
        The [`RunReport`][RunReport].

    Examples:
        >>> import polars as pl
        >>> import c360
        >>> df = pl.DataFrame({"source": ["crm", "shop"], "record_id": ["1", "a"],
        ...                    "first_name": ["Ann", "Ann"], "last_name": ["Lee", "Lee"],
        ...                    "email": ["ann@x.io", "ANN@x.io"]})
        >>> rep = build_report(c360.resolve(df), run_id="r1")
        >>> summary = rep.data["summary"]
        >>> rep.data["schema"], summary["customers"], summary["duplicates_removed"]
        ('c360.report/1', 1, 1)

    """
    import c360
    from c360._canonical import CONTRACT_VERSION
    from c360.evaluate import compare_runs

    cfg = config or ReportConfig()
    finished = _utc(finished_at) or datetime.now(UTC)
    seconds = float(sum(float(m.get("seconds") or 0.0) for m in resolution.metrics))
    started = _utc(started_at) or finished - timedelta(seconds=seconds)
    prev, prev_ids, prev_path = _read_previous(previous)
    ids = _frame(resolution.unified_ids)
    links = _frame(resolution.links)
    quarantined = resolution.quarantine.num_rows
    customers = int(ids["customer_id"].n_unique()) if ids.height else 0

    sources, incidents = _sources(resolution, finished, prev, cfg)
    for w in resolution.model.warnings:
        incidents.append(
            {"kind": "model_warning", "severity": "warning", "source": None, "message": w}
        )
    incidents.sort(key=lambda i: (i["severity"] != "error", i["kind"], i["source"] or ""))
    diagnostics, detail_tables = _diagnostics(resolution, ids, links, cfg)
    lineage, lineage_tables = _lineage(resolution, ids, links, cfg)
    by_rule: dict[str, int] = {}
    if links.height:
        for r in links.group_by("rule").len("n").sort("rule").iter_rows(named=True):
            by_rule[str(r["rule"])] = int(r["n"])

    id_changes: dict[str, int] = {}
    id_table = getattr(resolution, "id_changes", None)
    if id_table is not None and id_table.num_rows and "change" in id_table.column_names:
        counts = _frame(id_table).group_by("change").len("n").sort("change")
        id_changes = {str(r["change"]): int(r["n"]) for r in counts.iter_rows(named=True)}
    changes = None
    if prev is not None:
        changes = {
            "previous_run_id": prev.get("run", {}).get("run_id"),
            "previous_report": prev_path,
            "grouping": None,
        }
        if prev_ids is not None and ids.height:
            changes["grouping"] = compare_runs(prev_ids, ids).to_dict()

    data: dict[str, Any] = {
        "schema": SCHEMA,
        "run": {
            "run_id": run_id or getattr(resolution, "run_id", None) or str(uuid.uuid4()),
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "seconds": seconds,
            "c360_version": c360.__version__,
            "config_hash": config_hash(resolution.config),
            "link_type": resolution.config.link_type,
            "pii": cfg.pii,
        },
        "contracts": {
            "canonical": CONTRACT_VERSION,
            "sources": {s["source"]: s["contract"] for s in sources},
        },
        "summary": {
            "records_in": ids.height + quarantined,
            "records_accepted": ids.height,
            "records_quarantined": quarantined,
            "customers": customers,
            "duplicates_removed": ids.height - customers,
            "candidate_pairs": resolution.candidate_pairs,
            "links": links.height,
            "links_by_rule": by_rule,
            "refused_links": resolution.refused_links.num_rows,
            "junk_values": resolution.junk.num_rows,
            "id_changes": id_changes,
            "sources": len(sources),
            "stale_sources": sum(1 for s in sources if s["freshness"]["status"] == "stale"),
            "incidents": len(incidents),
            "errors": sum(1 for i in incidents if i["severity"] == "error"),
        },
        "stages": _stages(resolution.metrics),
        "sources": sources,
        "incidents": incidents,
        "diagnostics": diagnostics,
        "lineage": lineage,
        "changes": changes,
        "config": resolution.config.to_dict(),
    }
    return RunReport(data=jsonable(data), tables_={**lineage_tables, **detail_tables})


def load_report(path: str | Path) -> RunReport:
    """Read a report written by ``write_report`` (a directory or its report.json).

    Tables are read from ``report_tables/`` beside the JSON when present.
    """
    data, file = _read_report_json(
        path, what="the run report", hint="pass an output directory written by c360 resolve"
    )
    tables = {}
    tdir = file.parent / TABLES_DIR
    if tdir.is_dir():
        import pyarrow.parquet as pq

        for f in sorted(tdir.glob("*.parquet")):
            tables[f.stem] = pq.read_table(f)
    return RunReport(data=data, tables_=tables)
