"""The run history: runs, their figures, and incidents that open and resolve across runs.

Tables (every name prefixed ``c360_``, so a shared database can hold them
beside others): ``history_meta`` (the schema version), ``runs`` (one row per
run, failed ones included), ``run_stages``, ``run_sources`` (rows, quarantine
and freshness per source), ``run_quarantine`` (reasons with their values
removed) and ``incidents``. Nothing personal is stored: figures, source and
column names, and messages built from them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from c360.exceptions import C360Error, HistoryError
from c360.history._db import Database, connect
from c360.history._slo import SloConfig, SloStatus, evaluate_slos

__all__ = ["SCHEMA_VERSION", "RunHistory", "error_message", "incident_weeks", "timestamp"]

#: The history's schema version; a history of a newer version is refused.
SCHEMA_VERSION: Final = 1

_RUN_COLUMNS: Final = (
    ("run_id", "TEXT PRIMARY KEY"),
    ("status", "TEXT NOT NULL"),
    ("started_at", "TEXT"),
    ("finished_at", "TEXT NOT NULL"),
    ("recorded_at", "TEXT NOT NULL"),
    ("seconds", "DOUBLE PRECISION"),
    ("error_type", "TEXT"),
    ("error", "TEXT"),
    ("failed_stage", "TEXT"),
    ("engine", "TEXT"),
    ("c360_version", "TEXT"),
    ("config_hash", "TEXT"),
    ("canonical_contract", "TEXT"),
    ("source_contracts", "TEXT"),
    ("records_in", "BIGINT"),
    ("records_accepted", "BIGINT"),
    ("records_quarantined", "BIGINT"),
    ("customers", "BIGINT"),
    ("links", "BIGINT"),
    ("candidate_pairs", "BIGINT"),
    ("ids_new", "BIGINT"),
    ("ids_merged", "BIGINT"),
    ("ids_split", "BIGINT"),
    ("ids_retired", "BIGINT"),
    ("link_precision", "DOUBLE PRECISION"),
    ("link_recall", "DOUBLE PRECISION"),
    ("cluster_precision", "DOUBLE PRECISION"),
    ("cluster_recall", "DOUBLE PRECISION"),
    ("schema_notices", "BIGINT"),
    ("slo", "TEXT"),
)
_SOURCE_COLUMNS: Final = (
    "run_id",
    "source",
    "rows_read",
    "rows_valid",
    "rows_quarantined",
    "lag_seconds",
    "sla_seconds",
    "freshness_status",
    "contract",
    "schema_notices",
    "breaking_notices",
)
_INCIDENT_COLUMNS: Final = (
    "incident_id",
    "kind",
    "source",
    "severity",
    "message",
    "opened_run_id",
    "opened_at",
    "last_seen_run_id",
    "resolved_run_id",
    "resolved_at",
)

#: Schema migrations: ``(version, statements)``, applied in order to reach ``SCHEMA_VERSION``.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            "CREATE TABLE c360_history_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE c360_runs ("
            + ", ".join(f"{name} {kind}" for name, kind in _RUN_COLUMNS)
            + ")",
            "CREATE INDEX c360_runs_finished ON c360_runs (finished_at)",
            "CREATE TABLE c360_run_stages (run_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "stage TEXT NOT NULL, seconds DOUBLE PRECISION, rows_in BIGINT, rows_out BIGINT)",
            "CREATE INDEX c360_run_stages_run ON c360_run_stages (run_id)",
            "CREATE TABLE c360_run_sources (run_id TEXT NOT NULL, source TEXT NOT NULL, "
            "rows_read BIGINT, rows_valid BIGINT, rows_quarantined BIGINT, "
            "lag_seconds DOUBLE PRECISION, sla_seconds DOUBLE PRECISION, "
            "freshness_status TEXT, contract TEXT, schema_notices BIGINT, "
            "breaking_notices BIGINT)",
            "CREATE INDEX c360_run_sources_run ON c360_run_sources (run_id)",
            "CREATE TABLE c360_run_quarantine (run_id TEXT NOT NULL, source TEXT NOT NULL, "
            "reason TEXT NOT NULL, rows BIGINT NOT NULL)",
            "CREATE TABLE c360_incidents (incident_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "source TEXT NOT NULL, severity TEXT NOT NULL, message TEXT, "
            "opened_run_id TEXT NOT NULL, opened_at TEXT NOT NULL, "
            "last_seen_run_id TEXT NOT NULL, resolved_run_id TEXT, resolved_at TEXT)",
            "CREATE INDEX c360_incidents_open ON c360_incidents (resolved_run_id)",
        ],
    ),
]

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+")


def timestamp(value: datetime | str | None) -> str | None:
    """A UTC time as fixed-width ISO 8601 text, so that text order is time order.

    Examples:
        >>> timestamp("2026-12-05T10:00:00Z")
        '2026-12-05T10:00:00.000000Z'

    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _no_values(text: str) -> str:
    """``text`` with every quoted value replaced by ``…`` (no personal value is kept)."""
    return _QUOTED.sub("'…'", text)


def _reason_kind(reason: str) -> str:
    """A quarantine reason without its values and row numbers: its first clause, generalised.

    Examples:
        >>> _reason_kind("email: 'ann@x' is not an email address; phone: 'x' is not a phone")
        "email: '…' is not an email address"
        >>> _reason_kind("record_id: duplicate value 'C1' (first seen in row 4)")
        "record_id: duplicate value '…' (first seen in row N)"

    """
    first = reason.split("; ")[0]
    return _NUMBER.sub("N", _no_values(first))[:200]


def error_message(exc: BaseException) -> str:
    """What went wrong, without the values an error may quote (kept in the history).

    Examples:
        >>> from c360.exceptions import ConfigError
        >>> error_message(ConfigError("bad value 'Ann'", source="crm", column="first_name"))
        "bad value '…' [source=crm, column=first_name]"

    """
    if isinstance(exc, C360Error):
        where = [
            f"{k}={v}"
            for k, v in (("source", exc.source), ("column", exc.column), ("row", exc.row))
            if v is not None
        ]
        text = _no_values(exc.reason) + (f" [{', '.join(where)}]" if where else "")
    else:
        text = _no_values(str(exc).splitlines()[0] if str(exc) else "")
    return text[:1000]


def _get(mapping: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(k)
    return mapping


class RunHistory:
    """The run history, in SQLite (``history.sqlite`` in the output directory) or PostgreSQL.

    Open it with [`RunHistory.open`][c360.history.RunHistory.open]; use it as
    a context manager to close it.

    Examples:
        >>> import tempfile, polars as pl, c360
        >>> from c360.report import build_report
        >>> df = pl.DataFrame({"source": ["a", "b"], "record_id": ["1", "2"],
        ...                    "email": ["x@y.io", "x@y.io"]})
        >>> with tempfile.TemporaryDirectory() as d, RunHistory.open(d) as h:
        ...     recorded = h.record(build_report(c360.resolve(df), run_id="r1"))
        ...     [(r["run_id"], r["status"], r["customers"]) for r in h.runs()]
        [('r1', 'succeeded', 1)]

    """

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ open / close

    @classmethod
    def open(cls, location: str | Path) -> RunHistory:
        """Open (and create or migrate) the history at ``location``.

        ``location``: an output directory (its ``history.sqlite``), a SQLite
        file, a ``sqlite:///`` URI or a ``postgresql://`` URI.

        Raises:
            HistoryError: it cannot be opened, is not a c360 history, or was
                written by a newer c360 (schema version above ``SCHEMA_VERSION``).
        """
        db = connect(location)
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def location(self) -> str:
        """Where the history is (a path, or a URI with its password hidden)."""
        return self._db.where

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> RunHistory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ recording

    def record(self, report: Any, *, slo: SloConfig | None = None) -> bool:
        """Record a successful run from its report; return False when the run is already there.

        Args:
            report: the run's [`RunReport`][c360.report.RunReport] or its ``report.json`` content.
            slo: the objectives declared for the run (kept with it; a
                ``precision_floor`` opens an incident when the estimate is below it).
        """
        d: Mapping[str, Any] = getattr(report, "data", report)
        run, summary = d["run"], d["summary"]
        changes = summary.get("id_changes") or {}
        est = _get(d, "diagnostics", "estimates") or {}
        row: dict[str, Any] = {
            "run_id": str(run["run_id"]),
            "status": "succeeded",
            "started_at": timestamp(run.get("started_at")),
            "finished_at": timestamp(run["finished_at"]),
            "seconds": run.get("seconds"),
            "engine": run.get("engine"),
            "c360_version": run.get("c360_version"),
            "config_hash": run.get("config_hash"),
            "canonical_contract": _get(d, "contracts", "canonical"),
            "source_contracts": json.dumps(_get(d, "contracts", "sources") or {}, sort_keys=True),
            "records_in": summary.get("records_in"),
            "records_accepted": summary.get("records_accepted"),
            "records_quarantined": summary.get("records_quarantined"),
            "customers": summary.get("customers"),
            "links": summary.get("links"),
            "candidate_pairs": summary.get("candidate_pairs"),
            "ids_new": int(changes.get("new", 0)),
            "ids_merged": int(changes.get("merged_into", 0)),
            "ids_split": int(changes.get("split_from", 0)),
            "ids_retired": int(changes.get("retired", 0)),
            "link_precision": est.get("precision"),
            "link_recall": est.get("recall"),
            "cluster_precision": est.get("cluster_precision"),
            "cluster_recall": est.get("cluster_recall"),
            "schema_notices": sum(len(s.get("schema_notices") or []) for s in d["sources"]),
            "slo": (slo or SloConfig()).to_json(),
        }
        stages = [
            (row["run_id"], i, s["stage"], s.get("seconds"), s.get("rows_in"), s.get("rows_out"))
            for i, s in enumerate(d.get("stages", []))
        ]
        sources, reasons = [], []
        for s in d["sources"]:
            fresh = s.get("freshness") or {}
            notices = s.get("schema_notices") or []
            sources.append(
                (
                    row["run_id"],
                    s["source"],
                    s.get("rows_read"),
                    s.get("rows_valid"),
                    s.get("rows_quarantined"),
                    fresh.get("lag_seconds"),
                    fresh.get("sla_seconds"),
                    fresh.get("status"),
                    s.get("contract"),
                    len(notices),
                    sum(1 for n in notices if n.get("severity") == "breaking"),
                )
            )
            kinds: dict[str, int] = {}
            for r in s.get("quarantine_reasons") or []:
                kind = _reason_kind(str(r["reason"]))
                kinds[kind] = kinds.get(kind, 0) + int(r["rows"])
            reasons += [(row["run_id"], s["source"], k, n) for k, n in sorted(kinds.items())]
        seen: dict[tuple[str, str], tuple[str, str]] = {}
        for i in d.get("incidents", []):
            key = (str(i["kind"]), str(i.get("source") or ""))
            if key not in seen or i.get("severity") == "error":
                seen[key] = (str(i.get("severity") or "warning"), _no_values(str(i["message"])))
        precision = row["cluster_precision"]
        if precision is None:
            precision = row["link_precision"]
        floor = slo.precision_floor if slo is not None else None
        if floor is not None and precision is not None and precision < floor:
            seen[("estimate_below_floor", "")] = (
                "error",
                f"estimated precision {precision:.2%} is below the floor {floor:.2%}",
            )
        with self._db.write():
            if self._db.query("SELECT 1 FROM c360_runs WHERE run_id = ?", (row["run_id"],)):
                return False
            self._insert_run(row)
            for st in stages:
                self._db.execute(
                    "INSERT INTO c360_run_stages (run_id, position, stage, seconds, rows_in, "
                    "rows_out) VALUES (?, ?, ?, ?, ?, ?)",
                    st,
                )
            marks = ", ".join("?" for _ in _SOURCE_COLUMNS)
            for src in sources:
                self._db.execute(
                    f"INSERT INTO c360_run_sources ({', '.join(_SOURCE_COLUMNS)}) VALUES ({marks})",
                    src,
                )
            for rr in reasons:
                self._db.execute(
                    "INSERT INTO c360_run_quarantine (run_id, source, reason, rows) "
                    "VALUES (?, ?, ?, ?)",
                    rr,
                )
            self._update_incidents(row["run_id"], row["finished_at"], seen, every_kind=True)
        return True

    def record_failure(
        self,
        error: BaseException,
        *,
        run_id: str | None = None,
        stage: str | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        engine: str = "local",
        slo: SloConfig | None = None,
    ) -> str:
        """Record a failed run: its error (without quoted values) and the stage it failed in.

        Opens (or keeps open) a ``failed_run`` incident, which the next
        successful run resolves. Returns the run id.
        """
        import c360

        finished = finished_at or datetime.now(UTC)
        run = run_id or f"failed-{uuid.uuid4().hex[:12]}"
        row = {
            "run_id": run,
            "status": "failed",
            "started_at": timestamp(started_at),
            "finished_at": timestamp(finished),
            "seconds": (finished - started_at).total_seconds() if started_at else None,
            "error_type": type(error).__name__,
            "error": error_message(error),
            "failed_stage": stage or getattr(error, "c360_stage", None),
            "engine": engine,
            "c360_version": c360.__version__,
            # objectives unknown (a config that could not be read): the last ones stay
            "slo": slo.to_json() if slo is not None else None,
        }
        where = f" in stage {row['failed_stage']}" if row["failed_stage"] else ""
        message = f"run {run} failed{where}: {row['error_type']}: {row['error']}"[:1000]
        with self._db.write():
            if self._db.query("SELECT 1 FROM c360_runs WHERE run_id = ?", (run,)):
                return run
            self._insert_run(row)
            self._update_incidents(
                run,
                str(row["finished_at"]),
                {("failed_run", ""): ("error", message)},
                every_kind=False,
            )
        return run

    def _insert_run(self, row: Mapping[str, Any]) -> None:
        full = {name: row.get(name) for name, _ in _RUN_COLUMNS}
        full["recorded_at"] = timestamp(datetime.now(UTC))
        names = list(full)
        self._db.execute(
            f"INSERT INTO c360_runs ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
            [full[n] for n in names],
        )

    def _update_incidents(
        self,
        run_id: str,
        at: str,
        now: Mapping[tuple[str, str], tuple[str, str]],
        *,
        every_kind: bool,
    ) -> None:
        """Open what ``now`` shows for the first time, resolve what it no longer shows.

        A failed run (``every_kind=False``) sees only whether runs fail: the
        other open incidents stay open until a successful run looks again.
        """
        open_rows = self._db.query(
            "SELECT incident_id, kind, source FROM c360_incidents WHERE resolved_run_id IS NULL"
        )
        still: set[tuple[str, str]] = set()
        for incident_id, kind, source in open_rows:
            key = (str(kind), str(source))
            if key in now:
                still.add(key)
                self._db.execute(
                    "UPDATE c360_incidents SET last_seen_run_id = ? WHERE incident_id = ?",
                    (run_id, incident_id),
                )
            elif every_kind:
                self._db.execute(
                    "UPDATE c360_incidents SET resolved_run_id = ?, resolved_at = ? "
                    "WHERE incident_id = ?",
                    (run_id, at, incident_id),
                )
        for (kind, source), (severity, message) in sorted(now.items()):
            if (kind, source) in still:
                continue
            self._db.execute(
                f"INSERT INTO c360_incidents ({', '.join(_INCIDENT_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _INCIDENT_COLUMNS)})",
                (uuid.uuid4().hex, kind, source, severity, message, run_id, at, run_id, None, None),
            )

    # ------------------------------------------------------------------ reading

    def runs(self, last: int | None = None) -> list[dict[str, Any]]:
        """Runs, oldest first (the ``last`` N only, when given), as dicts of their figures.

        Times are aware datetimes; ``id_churn`` (merged, split and retired IDs
        over customers) and ``estimated_precision`` (customer-level when
        known) are derived.
        """
        names = [n for n, _ in _RUN_COLUMNS]
        sql = f"SELECT {', '.join(names)} FROM c360_runs ORDER BY finished_at, run_id"
        rows = self._db.query(sql)
        self._db.read_done()
        if last is not None:
            rows = rows[-last:] if last > 0 else []
        out = []
        for r in rows:
            run = dict(zip(names, r, strict=True))
            for key in ("started_at", "finished_at", "recorded_at"):
                run[key] = _when(run[key])
            changed = sum(run[k] or 0 for k in ("ids_merged", "ids_split", "ids_retired"))
            run["id_churn"] = (
                changed / run["customers"]
                if run["status"] == "succeeded" and run["customers"]
                else None
            )
            precision = run["cluster_precision"]
            run["estimated_precision"] = (
                precision if precision is not None else run["link_precision"]
            )
            run["source_contracts"] = json.loads(run["source_contracts"] or "{}")
            run["slo"] = json.loads(run["slo"]) if run["slo"] else None
            out.append(run)
        return out

    def sources(self, run_ids: Sequence[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """Per run id, its sources' figures (rows, quarantine, freshness lag and SLA)."""
        rows = self._db.query(
            f"SELECT {', '.join(_SOURCE_COLUMNS)} FROM c360_run_sources ORDER BY run_id, source"
        )
        self._db.read_done()
        wanted = None if run_ids is None else set(run_ids)
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            item = dict(zip(_SOURCE_COLUMNS, r, strict=True))
            if wanted is None or item["run_id"] in wanted:
                out.setdefault(str(item["run_id"]), []).append(item)
        return out

    def stages(self, run_id: str) -> list[dict[str, Any]]:
        """The stages of one run, in order."""
        rows = self._db.query(
            "SELECT stage, seconds, rows_in, rows_out FROM c360_run_stages WHERE run_id = ? "
            "ORDER BY position",
            (run_id,),
        )
        self._db.read_done()
        return [
            dict(zip(("stage", "seconds", "rows_in", "rows_out"), r, strict=True)) for r in rows
        ]

    def quarantine_reasons(self, run_id: str) -> list[dict[str, Any]]:
        """The quarantine reasons of one run (values removed), with their row counts."""
        rows = self._db.query(
            "SELECT source, reason, rows FROM c360_run_quarantine WHERE run_id = ? "
            "ORDER BY source, rows DESC, reason",
            (run_id,),
        )
        self._db.read_done()
        return [dict(zip(("source", "reason", "rows"), r, strict=True)) for r in rows]

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, oldest first, with ``time_to_resolve_seconds`` once resolved."""
        rows = self._db.query(
            f"SELECT {', '.join(_INCIDENT_COLUMNS)} FROM c360_incidents "
            "ORDER BY opened_at, kind, source"
        )
        self._db.read_done()
        out = []
        for r in rows:
            item = dict(zip(_INCIDENT_COLUMNS, r, strict=True))
            item["source"] = item["source"] or None
            opened, resolved = _when(item["opened_at"]), _when(item["resolved_at"])
            item["opened_at"], item["resolved_at"] = opened, resolved
            item["open"] = resolved is None
            item["time_to_resolve_seconds"] = (
                (resolved - opened).total_seconds() if resolved and opened else None
            )
            out.append(item)
        return out

    def declared_slo(self) -> SloConfig:
        """The objectives kept with the most recent run (none declared: an empty ``SloConfig``)."""
        rows = self._db.query(
            "SELECT slo FROM c360_runs WHERE slo IS NOT NULL "
            "ORDER BY finished_at DESC, run_id DESC LIMIT 1"
        )
        self._db.read_done()
        if not rows or not rows[0][0]:
            return SloConfig()
        return SloConfig.from_dict(json.loads(rows[0][0]))

    def slos(self, slo: SloConfig | None = None, *, now: datetime | None = None) -> list[SloStatus]:
        """Every declared objective over its window (``slo``: default, the latest run's)."""
        slo = slo if slo is not None else self.declared_slo()
        runs = self.runs()
        when = now or datetime.now(UTC)
        return evaluate_slos(slo, runs, self.sources(), now=when)

    def summary(
        self, *, last: int | None = 20, slo: SloConfig | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """``c360 history --json``: runs (the ``last`` N), every incident, SLOs, and totals.

        ``incidents_per_week`` and ``mean_time_to_resolve_seconds`` are those
        of ``incident_weeks``: per week opened, resolved and their mean time to
        resolve; over all resolved incidents, the mean time to resolve.
        """
        from c360.report._model import jsonable

        runs = self.runs()
        incidents = self.incidents()
        statuses = self.slos(slo, now=now)
        per_week, mttr = incident_weeks(incidents)
        shown = runs[-last:] if last is not None and last > 0 else ([] if last == 0 else runs)
        doc: dict[str, Any] = jsonable(
            {
                "history": self.location,
                "schema_version": SCHEMA_VERSION,
                "runs": [
                    {k: v for k, v in r.items() if k not in ("slo", "source_contracts")}
                    for r in shown
                ],
                "runs_total": len(runs),
                "incidents": incidents,
                "open_incidents": sum(1 for i in incidents if i["open"]),
                "mean_time_to_resolve_seconds": mttr,
                "incidents_per_week": per_week,
                "slos": [s.to_dict() for s in statuses],
                "slo_breached": any(not s.met for s in statuses),
            }
        )
        return doc


def incident_weeks(
    incidents: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], float | None]:
    """Incidents per week, and the mean time to resolve over every resolved one.

    Per week (``week``: its Monday, UTC): ``opened`` and ``resolved`` count
    the incidents opened and resolved in it; ``mean_time_to_resolve_seconds``
    is over those resolved in it (``None`` when none).
    """
    weeks: dict[str, dict[str, Any]] = {}

    def week(when: datetime) -> dict[str, Any]:
        day = when.date()
        key = (day - timedelta(days=day.weekday())).isoformat()
        return weeks.setdefault(key, {"week": key, "opened": 0, "resolved": 0, "_ttr": []})

    for i in incidents:
        week(i["opened_at"])["opened"] += 1
        if i["resolved_at"] is not None:
            w = week(i["resolved_at"])
            w["resolved"] += 1
            w["_ttr"].append(i["time_to_resolve_seconds"])
    per_week = []
    for key in sorted(weeks):
        w = weeks[key]
        ttr = w.pop("_ttr")
        w["mean_time_to_resolve_seconds"] = sum(ttr) / len(ttr) if ttr else None
        per_week.append(w)
    resolved = [i["time_to_resolve_seconds"] for i in incidents if not i["open"]]
    return per_week, sum(resolved) / len(resolved) if resolved else None


def migrate(db: Database) -> int:
    """Bring the history's schema to ``SCHEMA_VERSION``; return the version found."""
    with db.write():
        found = _version(db)
        if found > SCHEMA_VERSION:
            raise HistoryError(
                f"the run history has schema version {found}, newer than this c360 reads "
                f"({SCHEMA_VERSION})",
                path=db.where,
                hint="upgrade c360, or give another history location",
            )
        for version, statements in MIGRATIONS:
            if version <= found:
                continue
            for sql in statements:
                db.execute(sql)
            if version == 1:
                db.execute(
                    "INSERT INTO c360_history_meta (key, value) VALUES ('schema_version', ?)",
                    (str(version),),
                )
            else:
                db.execute(
                    "UPDATE c360_history_meta SET value = ? WHERE key = 'schema_version'",
                    (str(version),),
                )
    return found


def _version(db: Database) -> int:
    if db.dialect == "sqlite":
        tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    else:
        tables = {
            r[0]
            for r in db.query(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
    if "c360_history_meta" not in tables:
        if "c360_runs" in tables:
            raise HistoryError("the run history has no schema version", path=db.where)
        return 0
    rows = db.query("SELECT value FROM c360_history_meta WHERE key = 'schema_version'")
    try:
        return int(rows[0][0])
    except (IndexError, TypeError, ValueError):
        raise HistoryError(
            f"the run history's schema version is unreadable: {rows!r}", path=db.where
        ) from None
