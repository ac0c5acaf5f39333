"""``c360 history LOCATION``: runs, incidents and SLO attainment from a run history.

Exit codes: 0 ok; 1 an SLO is breached (so that an orchestrator can alert on
it); 2 usage error (no history there, unreadable, or from a newer c360).
Register with ``app.command("history")(history)``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from c360.exceptions import C360Error, HistoryError

__all__ = ["history", "history_text"]

EXIT_BREACHED = 1


def _existing(location: str) -> str:
    """``location`` when a history is there; a path without one is an error (none is created)."""
    from c360.history._db import sqlite_file

    path = sqlite_file(location)
    if path is not None and not path.is_file():
        raise HistoryError(
            "no run history here",
            path=str(path),
            hint="runs record themselves in history.sqlite in their output directory; "
            "give that directory, the file, or the --history URI the runs used",
        )
    return location


def _when(text: Any) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(str(text)).strftime("%Y-%m-%d %H:%M")


def _share(v: Any, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}%}"


def _count(v: Any) -> str:
    return "-" if v is None else f"{v:,}"


def history_text(doc: dict[str, Any]) -> str:
    """The plain-text view of ``RunHistory.summary()``."""
    from c360.report._model import _duration

    lines = [f"run history: {doc['history']} ({doc['runs_total']:,} runs)", ""]
    runs = doc["runs"]
    if runs:
        lines.append(f"runs (last {len(runs)}):")
        lines.append(
            f"  {'finished':<16}  {'status':<9}  {'seconds':>8}  {'customers':>10}  "
            f"{'records':>10}  {'quarantined':>11}  {'ID churn':>8}  {'precision':>9}"
        )
        for r in runs:
            if r["status"] != "succeeded":
                where = f" in {r['failed_stage']}" if r.get("failed_stage") else ""
                lines.append(
                    f"  {_when(r['finished_at']):<16}  FAILED{where}: {r['error_type']}: "
                    f"{r['error']}"[:160]
                )
                continue
            seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
            lines.append(
                f"  {_when(r['finished_at']):<16}  {'ok':<9}  {seconds:>8}  "
                f"{_count(r['customers']):>10}  {_count(r['records_accepted']):>10}  "
                f"{_count(r['records_quarantined']):>11}  {_share(r['id_churn'], 2):>8}  "
                f"{_share(r['estimated_precision']):>9}"
            )
        lines.append("")
    incidents = doc["incidents"]
    mttr = doc["mean_time_to_resolve_seconds"]
    resolved = len(incidents) - doc["open_incidents"]
    lines.append(
        f"incidents: {doc['open_incidents']} open, {resolved} resolved"
        + (f"; mean time to resolve {_duration(mttr)}" if mttr is not None else "")
    )
    shown = [i for i in incidents if i["open"]] + [i for i in incidents if not i["open"]][-10:]
    for i in shown:
        state = "OPEN" if i["open"] else "resolved"
        span = (
            f"since {_when(i['opened_at'])}"
            if i["open"]
            else f"{_when(i['opened_at'])} -> {_when(i['resolved_at'])} "
            f"({_duration(i['time_to_resolve_seconds'])})"
        )
        lines.append(
            f"  {state:<8}  {i['kind']:<22}  {i['source'] or '-':<12}  {span}  {i['message']}"[:200]
        )
    if doc["incidents_per_week"]:
        weeks = ", ".join(f"{w['week']}: {w['opened']}" for w in doc["incidents_per_week"][-6:])
        lines.append(f"  opened per week (Monday): {weeks}")
    lines.append("")
    slos = doc["slos"]
    if not slos:
        lines.append("SLOs: none declared (add [slo] to c360.toml; see docs/history.md)")
    else:
        lines.append("SLOs:")
        for s in slos:
            name = s["name"] + (f" {s['source']}" if s["source"] else "")
            state = "met" if s["met"] else "BREACHED"
            budget = s["error_budget_remaining"]
            left = "-" if budget is None else f"{budget:.0%}"
            lines.append(
                f"  {name:<28}  {_share(s['attainment'], 2):>8} of {s['runs']:,} runs  "
                f"target {_share(s['target'], 2)}  {state:<8}  error budget left {left}"
            )
    return "\n".join(lines)


def history(
    location: Annotated[
        str,
        typer.Argument(
            help="An output directory, a history.sqlite file, or the --history URI runs used.",
            show_default=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the history as JSON.")] = False,
    last: Annotated[int, typer.Option("--last", help="How many of the latest runs to list.")] = 20,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="A c360.toml whose [slo] to judge by (default: the latest run's objectives).",
        ),
    ] = None,
) -> None:
    """Runs, open and resolved incidents, and SLO attainment; exit 1 when an SLO is breached."""
    from c360._cli_report import usage_error
    from c360.history import RunHistory

    try:
        slo = None
        if config is not None:
            from c360.cli import _read_slo

            slo = _read_slo(config)
        with RunHistory.open(_existing(location)) as h:
            doc = h.summary(last=max(last, 0), slo=slo)
    except C360Error as exc:
        raise usage_error(exc) from None
    if as_json:
        typer.echo(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        typer.echo(history_text(doc))
    if doc["slo_breached"]:
        raise typer.Exit(EXIT_BREACHED)
