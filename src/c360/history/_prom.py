"""A run's figures in the Prometheus text exposition format (``metrics.prom``).

The file is meant for node-exporter's textfile collector (copy or link it into
the collector's directory): no server is needed. It is written atomically
(temporary file, then rename), as the collector requires.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

__all__ = ["PROM_FILE", "prometheus_text", "write_prometheus"]

#: The file each run writes in its output directory.
PROM_FILE: Final = "metrics.prom"

_HELP: Final = {
    "c360_run_success": ("gauge", "1 when the latest run succeeded, 0 when it failed."),
    "c360_run_timestamp_seconds": ("gauge", "When the latest run finished (Unix time)."),
    "c360_last_success_timestamp_seconds": (
        "gauge",
        "When the latest successful run finished (Unix time).",
    ),
    "c360_run_duration_seconds": ("gauge", "Duration of the latest run."),
    "c360_stage_duration_seconds": ("gauge", "Duration of each stage of the latest run."),
    "c360_records": ("gauge", "Records read per source in the latest successful run."),
    "c360_records_quarantined": ("gauge", "Records quarantined per source."),
    "c360_source_freshness_lag_seconds": ("gauge", "Age of each source's newest record."),
    "c360_source_freshness_sla_seconds": ("gauge", "Freshness SLA declared per source."),
    "c360_customers": ("gauge", "Unified customers in the latest successful run."),
    "c360_links": ("gauge", "Links accepted in the latest successful run."),
    "c360_id_changes": ("gauge", "Customer ID changes of the latest successful run, by kind."),
    "c360_estimated_precision": ("gauge", "Label-free precision estimate (customer-level)."),
    "c360_estimated_recall": ("gauge", "Label-free recall estimate (customer-level)."),
    "c360_incidents_open": ("gauge", "Open incidents by kind."),
    "c360_runs_total": ("counter", "Runs in the history, by status."),
    "c360_slo_attainment": ("gauge", "Share of runs in the SLO window that met the objective."),
    "c360_slo_target": ("gauge", "Target share of each objective."),
    "c360_slo_error_budget_remaining": (
        "gauge",
        "Share of the error budget left (negative once overspent).",
    ),
}


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def prometheus_text(samples: Iterable[tuple[str, Mapping[str, Any], float | None]]) -> str:
    """Samples ``(metric, labels, value)`` as exposition text, grouped by metric with HELP/TYPE.

    ``None`` values are left out.

    Examples:
        >>> samples = [("c360_customers", {}, 3), ("c360_records", {"source": "crm"}, 2)]
        >>> print(prometheus_text(samples))
        # HELP c360_customers Unified customers in the latest successful run.
        # TYPE c360_customers gauge
        c360_customers 3
        # HELP c360_records Records read per source in the latest successful run.
        # TYPE c360_records gauge
        c360_records{source="crm"} 2
        <BLANKLINE>

    """
    by: dict[str, list[str]] = {}
    for name, labels, value in samples:
        if value is None:
            continue
        text = ",".join(f'{k}="{_label(v)}"' for k, v in sorted(labels.items()))
        by.setdefault(name, []).append(
            f"{name}{{{text}}} {_value(value)}" if text else f"{name} {_value(value)}"
        )
    lines = []
    for name, rows in by.items():
        kind, helptext = _HELP.get(name, ("gauge", name))
        lines += [f"# HELP {name} {helptext}", f"# TYPE {name} {kind}", *rows]
    return "\n".join(lines) + "\n"


def _unix(when: Any) -> float | None:
    return None if when is None else float(when.timestamp())


def run_samples(
    runs: Sequence[Mapping[str, Any]],
    sources: Mapping[str, Sequence[Mapping[str, Any]]],
    stages: Sequence[Mapping[str, Any]],
    incidents: Sequence[Mapping[str, Any]],
    slos: Sequence[Any],
) -> list[tuple[str, dict[str, Any], float | None]]:
    """The samples of the latest run (and the latest successful one) from the history."""
    if not runs:
        return []
    last = runs[-1]
    ok = [r for r in runs if r["status"] == "succeeded"]
    good = ok[-1] if ok else None
    out: list[tuple[str, dict[str, Any], float | None]] = [
        ("c360_run_success", {}, 1.0 if last["status"] == "succeeded" else 0.0),
        ("c360_run_timestamp_seconds", {}, _unix(last["finished_at"])),
        ("c360_run_duration_seconds", {}, last["seconds"]),
    ]
    if good is not None:
        out.append(("c360_last_success_timestamp_seconds", {}, _unix(good["finished_at"])))
    out += [("c360_stage_duration_seconds", {"stage": s["stage"]}, s["seconds"]) for s in stages]
    if good is not None:
        for s in sources.get(good["run_id"], []):
            src = {"source": s["source"]}
            out += [
                ("c360_records", src, s["rows_read"]),
                ("c360_records_quarantined", src, s["rows_quarantined"]),
                ("c360_source_freshness_lag_seconds", src, s["lag_seconds"]),
                ("c360_source_freshness_sla_seconds", src, s["sla_seconds"]),
            ]
        out += [
            ("c360_customers", {}, good["customers"]),
            ("c360_links", {}, good["links"]),
            ("c360_id_changes", {"change": "new"}, good["ids_new"]),
            ("c360_id_changes", {"change": "merged_into"}, good["ids_merged"]),
            ("c360_id_changes", {"change": "split_from"}, good["ids_split"]),
            ("c360_id_changes", {"change": "retired"}, good["ids_retired"]),
            ("c360_estimated_precision", {}, good["estimated_precision"]),
            (
                "c360_estimated_recall",
                {},
                good["cluster_recall"]
                if good["cluster_recall"] is not None
                else good["link_recall"],
            ),
        ]
    kinds: dict[str, int] = {}
    for i in incidents:
        if i["open"]:
            kinds[i["kind"]] = kinds.get(i["kind"], 0) + 1
    out += [("c360_incidents_open", {"kind": k}, n) for k, n in sorted(kinds.items())]
    for status in ("succeeded", "failed"):
        out.append(
            ("c360_runs_total", {"status": status}, sum(r["status"] == status for r in runs))
        )
    for s in slos:
        labels = {"slo": s.name} | ({"source": s.source} if s.source else {})
        out += [
            ("c360_slo_attainment", labels, s.attainment),
            ("c360_slo_target", labels, s.target),
            ("c360_slo_error_budget_remaining", labels, s.error_budget_remaining),
        ]
    return out


def write_prometheus(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
