"""The report's per-source figures: rows, quarantine, freshness, schema and inferred columns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from c360.report._pii import PiiMode, mask_reason

if TYPE_CHECKING:
    from c360.pipeline import Resolution

from c360.report._model import _INTERNAL, ReportConfig, _duration, _frame, _iso, _utc

__all__ = ["_sources", "source_entries"]


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
    notices_by: dict[str, list[Any]] = {}
    for n in sorted(res.notices):
        notices_by.setdefault(n.source, []).append(n)
    return source_entries(
        res.sources.iter_rows(named=True),
        notices=notices_by,
        columns=_source_columns(res.records),
        reasons=_quarantine_reasons(_frame(res.quarantine), cfg.pii),
        inferred={
            str(r["source"]): _inferred(res, str(r["source"]))
            for r in res.sources.iter_rows(named=True)
        },
        finished=finished,
        prev=prev,
        cfg=cfg,
    )


def source_entries(
    summary: Iterable[Mapping[str, Any]],
    *,
    notices: Mapping[str, list[Any]],
    columns: Mapping[str, list[dict[str, str]]],
    reasons: Mapping[str, list[dict[str, Any]]],
    inferred: Mapping[str, dict[str, Any] | None],
    finished: datetime,
    prev: dict[str, Any] | None,
    cfg: ReportConfig,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The report's ``sources`` entries and the incidents they raise, from figures per source.

    ``summary`` holds the rows of ``source_summary`` (one per source); the other
    mappings are keyed by source name. Both engines call this with their own
    figures, so the entries and incidents are the same.
    """
    incidents: list[dict[str, Any]] = []
    prev_rows = {s["source"]: s.get("rows_read") for s in (prev or {}).get("sources", [])}
    prev_formats = {s["source"]: s.get("file_format") for s in (prev or {}).get("sources", [])}
    out = []
    for row in summary:
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
        mine = notices.get(name, [])
        for n in mine:
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
                "schema_notices": [_notice_dict(n) for n in mine],
                "quarantine_reasons": reasons.get(name, []),
                "columns": columns.get(name, []),
                "inferred_columns": inferred.get(name),
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
