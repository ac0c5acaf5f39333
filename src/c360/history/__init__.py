"""Run history, incidents and SLOs: what "trusted data" looks like over weeks, not one run.

Every run that writes its outputs records itself in a run history: by default
``history.sqlite`` in the output directory (carried forward each time the
directory is replaced), or a shared SQLite file or PostgreSQL database given
as ``history=`` / ``--history``. A failed run is recorded too, with its error
(quoted values removed) and the stage it failed in.

From the history come:

* **incidents with a life**: a stale source, a row-count drop, a schema
  change, quarantine over threshold, a failed run or an estimate below the
  precision floor opens an incident in the run that first shows it; the first
  later run that no longer shows it resolves it;
* **SLOs** declared under ``[slo]`` in ``c360.toml``
  ([`SloConfig`][c360.history.SloConfig]), with attainment over a window and
  the error budget left;
* **trends** in ``report.html`` once two runs are recorded, and
  ``metrics.prom`` (Prometheus text format) beside every run's outputs;
* ``c360 history DIR``, which prints all of it and exits 1 when an SLO is breached.

The history never holds personal values: figures, source and column names,
and messages built from them. See ``docs/history.md``.

Examples:
    >>> import tempfile, polars as pl, c360
    >>> df = pl.DataFrame({"source": ["a", "b"], "record_id": ["1", "2"],
    ...                    "email": ["x@y.io", "x@y.io"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = c360.resolve(df).write(d)
    ...     _ = c360.resolve(df).write(d)
    ...     with RunHistory.open(d) as h:
    ...         [r["status"] for r in h.runs()]
    ['succeeded', 'succeeded']

"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from c360.exceptions import HistoryError
from c360.history._db import HISTORY_FILE
from c360.history._prom import PROM_FILE, prometheus_text, run_samples, write_prometheus
from c360.history._slo import SloConfig, SloStatus, evaluate_slos
from c360.history._store import SCHEMA_VERSION, RunHistory, error_message, incident_weeks

__all__ = [
    "HISTORY_FILE",
    "PROM_FILE",
    "SCHEMA_VERSION",
    "HistoryLocation",
    "HistoryWarning",
    "RunHistory",
    "SloConfig",
    "SloStatus",
    "error_message",
    "evaluate_slos",
    "failures_recorded",
    "prometheus_text",
    "record_failure",
    "trends",
]

#: Where a run's history is: ``None`` (the output directory's ``history.sqlite``),
#: ``False`` (no history), a directory, a SQLite file or a ``sqlite://`` /
#: ``postgresql://`` URI, or an open [`RunHistory`][c360.history.RunHistory].
HistoryLocation = str | Path | RunHistory | bool | None

_log = logging.getLogger("c360")


class HistoryWarning(UserWarning):
    """The run history could not be used and the run went on without it (``history_optional``)."""


def _unavailable(exc: HistoryError) -> None:
    message = f"the run history is unavailable, this run is not recorded: {exc}"
    _log.warning(message)
    warnings.warn(message, HistoryWarning, stacklevel=3)


@contextmanager
def _opened(location: str | Path | RunHistory) -> Iterator[RunHistory]:
    if isinstance(location, RunHistory):
        yield location
        return
    with RunHistory.open(location) as h:
        yield h


def carry_forward(tmp: Path, *earlier: Path | None) -> None:
    """Copy the history of the first of ``earlier`` (output directories) that has one into ``tmp``.

    SQLite's backup API copies a consistent snapshot even while another
    process writes to it.
    """
    import sqlite3

    if (tmp / HISTORY_FILE).exists():
        return
    for directory in earlier:
        if directory is None:
            continue
        src = directory / HISTORY_FILE
        if not src.is_file():
            continue
        a = b = None
        try:
            a = sqlite3.connect(src)
            b = sqlite3.connect(tmp / HISTORY_FILE)
            a.backup(b)
        except sqlite3.Error as exc:
            if b is not None:
                b.close()
                b = None
            (tmp / HISTORY_FILE).unlink(missing_ok=True)
            raise HistoryError(
                f"cannot carry the run history forward: {exc}", path=str(src)
            ) from exc
        finally:
            for conn in (a, b):
                if conn is not None:
                    conn.close()
        return


def trends(
    history: RunHistory, *, limit: int = 1000, now: datetime | None = None
) -> dict[str, Any]:
    """The report's ``history`` section: figures per run (the ``limit`` latest), incidents, SLOs.

    Keys: ``runs`` (per run: ``run_id``, ``finished_at``, ``status``,
    ``seconds``, ``customers``, ``records_accepted``, ``records_quarantined``,
    ``quarantine_rate``, ``id_churn``, ``estimated_precision``), ``sources``
    (per source, its points: ``finished_at``, ``rows_read``,
    ``rows_quarantined``, ``lag_seconds``, ``sla_seconds``, ``slo_seconds``),
    ``incidents_per_week`` (``week``, ``opened``, ``resolved``,
    ``mean_time_to_resolve_seconds`` of those resolved that week), ``open_incidents``,
    ``mean_time_to_resolve_seconds``, ``slos`` and ``runs_total``.
    """
    from c360.report._model import jsonable

    runs = history.runs()
    total = len(runs)
    runs = runs[-limit:]
    kept = {r["run_id"] for r in runs}
    slo = history.declared_slo()
    per_source: dict[str, list[dict[str, Any]]] = {}
    by_run = history.sources(list(kept))
    for r in runs:
        for s in by_run.get(r["run_id"], []):
            per_source.setdefault(s["source"], []).append(
                {
                    "run_id": r["run_id"],
                    "finished_at": r["finished_at"],
                    "rows_read": s["rows_read"],
                    "rows_quarantined": s["rows_quarantined"],
                    "lag_seconds": s["lag_seconds"],
                    "sla_seconds": s["sla_seconds"],
                    "slo_seconds": slo.freshness_for(s["source"]),
                }
            )
    incidents = history.incidents()
    per_week, mttr = incident_weeks(incidents)
    doc: dict[str, Any] = jsonable(
        {
            "runs_total": total,
            "runs": [
                {
                    "run_id": r["run_id"],
                    "finished_at": r["finished_at"],
                    "status": r["status"],
                    "seconds": r["seconds"],
                    "customers": r["customers"],
                    "records_accepted": r["records_accepted"],
                    "records_quarantined": r["records_quarantined"],
                    "quarantine_rate": (
                        r["records_quarantined"] / r["records_in"] if r["records_in"] else None
                    ),
                    "id_churn": r["id_churn"],
                    "estimated_precision": r["estimated_precision"],
                    "failed_stage": r["failed_stage"],
                }
                for r in runs
            ],
            "sources": [{"source": k, "points": v} for k, v in sorted(per_source.items())],
            "incidents_per_week": per_week,
            "open_incidents": [
                {
                    "kind": i["kind"],
                    "source": i["source"],
                    "opened_at": i["opened_at"],
                    "severity": i["severity"],
                    "message": i["message"],
                }
                for i in incidents
                if i["open"]
            ],
            "mean_time_to_resolve_seconds": mttr,
            "slos": [s.to_dict() for s in history.slos(slo, now=now)],
        }
    )
    return doc


def _write_prom(history: RunHistory, directory: Path) -> Path:
    runs = history.runs()
    stages = history.stages(runs[-1]["run_id"]) if runs else []
    text = prometheus_text(
        run_samples(runs, history.sources(), stages, history.incidents(), history.slos())
    )
    return write_prometheus(directory / PROM_FILE, text)


def record_written_run(
    report: Any,
    tmp: Path,
    *,
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    optional: bool = False,
) -> list[Path]:
    """Record a run whose outputs are being written into ``tmp``; return the files written.

    Adds the ``history`` section (see [`trends`][trends]) to the report when
    the history holds two runs or more, and writes ``metrics.prom`` into ``tmp``.
    """
    if history is False:
        return []
    location: str | Path | RunHistory = tmp if history is None or history is True else history
    try:
        with _opened(location) as h:
            h.record(report, slo=slo)
            if len(h.runs(last=2)) >= 2:
                report.data["history"] = trends(h)
            prom = _write_prom(h, tmp)
    except HistoryError as exc:
        if not optional:
            raise
        _unavailable(exc)
        return []
    written = [prom]
    if location is tmp:
        written.append(tmp / HISTORY_FILE)
    return written


def record_failure(
    error: BaseException,
    out_dir: str | Path,
    *,
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    optional: bool = False,
    run_id: str | None = None,
    stage: str | None = None,
    started_at: datetime | None = None,
    engine: str = "local",
) -> str | None:
    """Record a failed run in the history (default: ``out_dir/history.sqlite``); return its id.

    ``out_dir``'s ``metrics.prom`` is rewritten with ``c360_run_success 0``.
    A failed run creates nothing: with the default history, a run that fails
    before any run wrote ``out_dir`` has no history to join and ``None`` is
    returned (give a shared ``history`` to record those too). With
    ``optional``, a history that cannot be used is a
    [`HistoryWarning`][HistoryWarning] and ``None`` is returned.
    """
    if history is False:
        return None
    out = Path(out_dir)
    own = history is None or history is True
    if own and not out.is_dir():
        return None
    try:
        location: str | Path | RunHistory = out if own else history  # type: ignore[assignment]
        with _opened(location) as h:
            run = h.record_failure(
                error, run_id=run_id, stage=stage, started_at=started_at, engine=engine, slo=slo
            )
            if out.is_dir():
                _write_prom(h, out)
    except OSError as exc:
        err = HistoryError(f"cannot record the failed run: {exc}", path=str(out))
        if not optional:
            raise err from exc
        _unavailable(err)
        return None
    except HistoryError as exc:
        if not optional:
            raise
        _unavailable(exc)
        return None
    return run


@contextmanager
def failures_recorded(
    out_dir: str | Path,
    *,
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    optional: bool = False,
    engine: str = "local",
) -> Iterator[None]:
    """Record a failure of the block in the run history, then let the error go on.

    For jobs that call the library: successful runs record themselves when
    [`Resolution.write`][c360.Resolution.write] writes them; a run that
    fails before that is recorded here, with the stage it failed in.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     try:
        ...         with failures_recorded(d):
        ...             raise ValueError("the CRM export is missing")
        ...     except ValueError:
        ...         pass
        ...     with RunHistory.open(d) as h:
        ...         [(r["status"], r["error_type"]) for r in h.runs()]
        [('failed', 'ValueError')]

    """
    started = datetime.now(UTC)
    try:
        yield
    except Exception as exc:
        record_failure(
            exc,
            out_dir,
            history=history,
            slo=slo,
            optional=optional,
            started_at=started,
            engine=engine,
        )
        raise


def slo_from_toml(data: Mapping[str, Any]) -> SloConfig:
    """The ``[slo]`` table of a parsed ``c360.toml`` (none: an empty ``SloConfig``)."""
    return SloConfig.from_dict(data.get("slo"))
