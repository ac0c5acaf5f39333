"""The run history: runs recorded and carried forward, incidents, failures, privacy, schema."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import c360
from c360.exceptions import HistoryError
from c360.history import (
    HISTORY_FILE,
    PROM_FILE,
    HistoryWarning,
    RunHistory,
    SloConfig,
    failures_recorded,
    record_failure,
)
from c360.history import _store as store
from c360.sources import Source

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def people(n: int = 60, *, updated: datetime = T0) -> pl.DataFrame:
    """Generated records of ``n`` people, every one updated at ``updated``."""
    from c360.datasets import generate_people

    df = generate_people(n, seed=7, sources=("crm", "billing")).records
    return df.with_columns(updated_at=pl.lit(updated.replace(tzinfo=None)))


def run_at(df: pl.DataFrame, when: datetime, *, sla: str | None = None) -> c360.Resolution:
    """Resolve ``df`` as a run that finished at ``when`` (``sla``: the CRM's freshness SLA)."""
    sources = [
        Source(
            name=name,
            data=part.drop("source"),
            freshness_sla=sla if name == "crm" else None,  # type: ignore[arg-type]
        )
        for (name,), part in df.partition_by("source", as_dict=True).items()
    ]
    res = c360.resolve(sources)
    return dataclasses.replace(res, started_at=when - timedelta(seconds=5), finished_at=when)


# ------------------------------------------------------------------ recording and carrying


def test_each_write_records_a_run_and_carries_the_history_forward(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for k in range(3):
        run_at(people(), T0 + timedelta(hours=k)).write(out)
    assert (out / HISTORY_FILE).is_file() and (out / PROM_FILE).is_file()
    with RunHistory.open(out) as h:
        runs = h.runs()
        assert [r["status"] for r in runs] == ["succeeded"] * 3
        assert [r["finished_at"] for r in runs] == [T0 + timedelta(hours=k) for k in range(3)]
        assert len({r["customers"] for r in runs}) == 1
        assert 60 * 0.8 <= runs[0]["customers"] <= 60 * 1.2
        assert runs[0]["records_accepted"] == people().height
        assert [s["stage"] for s in h.stages(runs[0]["run_id"])][:2] == ["load", "standardize"]
        srcs = h.sources()[runs[0]["run_id"]]
        counts = people().group_by("source").len().sort("source").rows()
        assert [(s["source"], s["rows_read"]) for s in srcs] == counts
    # a new dated directory continues the history of --previous
    nxt = tmp_path / "next"
    run_at(people(), T0 + timedelta(hours=5)).write(nxt, previous=out)
    with RunHistory.open(nxt) as h:
        assert len(h.runs()) == 4
    # the earlier directory's history is untouched
    with RunHistory.open(out) as h:
        assert len(h.runs()) == 3


def test_the_same_run_is_recorded_once(tmp_path: Path) -> None:
    res = run_at(people(), T0)
    shared = tmp_path / "shared.sqlite"
    res.write(tmp_path / "a", history=shared)
    res.write(tmp_path / "b", history=shared)
    with RunHistory.open(shared) as h:
        assert len(h.runs()) == 1
    assert not (tmp_path / "a" / HISTORY_FILE).exists()  # a shared history is not copied


def test_no_history_writes_neither_file(tmp_path: Path) -> None:
    run_at(people(), T0).write(tmp_path / "o", history=False)
    assert not (tmp_path / "o" / HISTORY_FILE).exists()
    assert not (tmp_path / "o" / PROM_FILE).exists()


def test_incremental_save_keeps_the_history(tmp_path: Path) -> None:
    from c360.incremental import ResolutionState

    out = tmp_path / "out"
    run_at(people(), T0).write(out)
    state = ResolutionState.load(out)
    one = people().filter(pl.col("source") == "crm").head(1).with_columns(record_id=pl.lit("new1"))
    state.resolve(one)
    state.save(out)
    with RunHistory.open(out) as h:
        assert len(h.runs()) == 1


# ------------------------------------------------------------------ incidents


def test_a_stale_source_opens_one_incident_and_the_first_fresh_run_resolves_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    old = people(updated=T0 - timedelta(days=3))
    run_at(people(updated=T0), T0, sla="1d").write(out)  # fresh
    run_at(old, T0 + timedelta(days=1), sla="1d").write(out)  # stale: opens
    run_at(old, T0 + timedelta(days=2), sla="1d").write(out)  # still stale: same incident
    fresh_at = T0 + timedelta(days=2, hours=6)
    run_at(people(updated=fresh_at), fresh_at, sla="1d").write(out)  # resolves
    with RunHistory.open(out) as h:
        runs = h.runs()
        stale = [i for i in h.incidents() if i["kind"] == "stale_source"]
    assert len(stale) == 1
    (inc,) = stale
    assert inc["source"] == "crm" and not inc["open"]
    assert inc["opened_run_id"] == runs[1]["run_id"]
    assert inc["last_seen_run_id"] == runs[2]["run_id"]
    assert inc["resolved_run_id"] == runs[3]["run_id"]
    assert inc["time_to_resolve_seconds"] == pytest.approx(
        timedelta(days=1, hours=6).total_seconds()
    )
    fresh = h_sources_lag(out)
    assert fresh[1] > 86400 and fresh[3] < 86400


def h_sources_lag(out: Path) -> list[float]:
    with RunHistory.open(out) as h:
        by_run = h.sources()
        return [
            next(s["lag_seconds"] for s in by_run[r["run_id"]] if s["source"] == "crm")
            for r in h.runs()
        ]


def test_a_row_drop_opens_an_incident_that_the_next_steady_run_resolves(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_at(people(80), T0).write(out)
    run_at(people(30), T0 + timedelta(hours=1)).write(out, previous=out)
    run_at(people(30), T0 + timedelta(hours=2)).write(out, previous=out)
    with RunHistory.open(out) as h:
        drops = [i for i in h.incidents() if i["kind"] == "rows_dropped"]
        runs = h.runs()
    assert {i["source"] for i in drops} == {"crm", "billing"}
    assert all(i["opened_run_id"] == runs[1]["run_id"] for i in drops)
    assert all(i["resolved_run_id"] == runs[2]["run_id"] for i in drops)
    assert all(i["time_to_resolve_seconds"] == 3600 for i in drops)


def test_a_failed_run_opens_an_incident_that_only_a_successful_run_resolves(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    run_at(people(updated=T0 - timedelta(days=3)), T0, sla="1d").write(out)  # crm stale
    record_failure(ValueError("x"), out, started_at=T0, run_id="f1")
    record_failure(ValueError("y"), out, run_id="f2")
    with RunHistory.open(out) as h:
        incidents = {i["kind"]: i for i in h.incidents()}
        # the failed runs saw nothing of the sources: the stale incident stays open
        assert incidents["stale_source"]["open"]
        assert incidents["failed_run"]["open"]
        assert incidents["failed_run"]["opened_run_id"] == "f1"
        assert incidents["failed_run"]["last_seen_run_id"] == "f2"
    later = datetime.now(UTC) + timedelta(minutes=1)
    run_at(people(updated=later), later, sla="1d").write(out)
    with RunHistory.open(out) as h:
        assert not any(i["open"] for i in h.incidents())


def test_a_precision_floor_opens_an_incident(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_at(people(), T0).write(out, slo=SloConfig(precision_floor=1.0))
    with RunHistory.open(out) as h:
        kinds = [i["kind"] for i in h.incidents()]
        precision = h.runs()[0]["estimated_precision"]
    assert precision < 1.0
    assert "estimate_below_floor" in kinds


# ------------------------------------------------------------------ failures


def test_the_stage_a_run_failed_in_is_recorded(tmp_path: Path, monkeypatch) -> None:
    import c360.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("the model could not be trained on 'Ann Lindqvist'")

    monkeypatch.setattr(c360.pipeline, "train_model", broken)
    (tmp_path / "out").mkdir()
    with pytest.raises(RuntimeError), failures_recorded(tmp_path / "out"):
        c360.resolve(people())
    with RunHistory.open(tmp_path / "out") as h:
        (run,) = h.runs()
    assert run["status"] == "failed" and run["failed_stage"] == "train"
    assert run["error_type"] == "RuntimeError"
    assert "Ann" not in run["error"] and "'…'" in run["error"]
    prom = (tmp_path / "out" / PROM_FILE).read_text()
    assert "c360_run_success 0" in prom


def test_a_failed_first_run_creates_nothing_unless_the_history_is_shared(tmp_path: Path) -> None:
    assert record_failure(ValueError("x"), tmp_path / "new") is None
    assert not (tmp_path / "new").exists()
    shared = tmp_path / "shared.sqlite"
    assert record_failure(ValueError("x"), tmp_path / "new", history=shared, run_id="f")
    assert not (tmp_path / "new").exists()
    with RunHistory.open(shared) as h:
        assert [r["run_id"] for r in h.runs()] == ["f"]


def test_a_c360_error_keeps_where_but_not_what(tmp_path: Path) -> None:
    from c360.exceptions import ContractError

    err = ContractError("value 'ann@example.org' broke the contract", source="crm", column="email")
    record_failure(err, tmp_path, run_id="r")
    with RunHistory.open(tmp_path) as h:
        (run,) = h.runs()
    assert run["error"] == "value '…' broke the contract [source=crm, column=email]"


# ------------------------------------------------------------------ bad histories


def test_a_file_that_is_not_a_history_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / HISTORY_FILE
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(HistoryError, match="cannot open the run history") as info:
        RunHistory.open(tmp_path)
    assert info.value.path == str(bad)
    # the run's outputs are not replaced when its history cannot be written
    out = tmp_path / "out"
    run_at(people(), T0).write(out)
    before = (out / "unified_ids.parquet").stat().st_mtime_ns
    with pytest.raises(HistoryError):
        run_at(people(), T0 + timedelta(hours=1)).write(out, history=bad)
    assert (out / "unified_ids.parquet").stat().st_mtime_ns == before


def test_an_optional_history_that_fails_is_a_warning_and_the_run_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"x" * 4096)
    out = tmp_path / "out"
    with pytest.warns(HistoryWarning, match="not recorded"):
        run_at(people(), T0).write(out, history=bad, history_optional=True)
    assert (out / "unified_ids.parquet").is_file()
    with pytest.warns(HistoryWarning):
        assert record_failure(ValueError("x"), out, history=bad, optional=True) is None


def test_a_history_from_a_newer_c360_is_refused(tmp_path: Path) -> None:
    with RunHistory.open(tmp_path):
        pass
    with sqlite3.connect(tmp_path / HISTORY_FILE) as conn:
        conn.execute("UPDATE c360_history_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(HistoryError, match="schema version 99, newer than this c360"):
        RunHistory.open(tmp_path)


def test_the_schema_is_migrated_forward(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    run_at(people(), T0).write(out)
    extra = (2, ["ALTER TABLE c360_runs ADD COLUMN note TEXT"])
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, extra])
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    with RunHistory.open(out) as h:
        assert len(h.runs()) == 1  # the run survived the migration
    with sqlite3.connect(out / HISTORY_FILE) as conn:
        version = conn.execute("SELECT value FROM c360_history_meta").fetchone()[0]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(c360_runs)")]
    assert version == "2" and "note" in columns
    with RunHistory.open(out):  # a second open applies nothing again
        pass


# ------------------------------------------------------------------ privacy


def test_the_history_holds_no_personal_value(tmp_path: Path) -> None:
    from c360.datasets import generate_people

    df = generate_people(150, seed=3).records
    bad = df.head(3).with_columns(
        record_id=pl.lit("dup"), email=pl.lit("not-an-address"), date_of_birth=pl.lit(None)
    )
    res = c360.resolve(pl.concat([df, bad], how="diagonal_relaxed"))
    out = tmp_path / "out"
    res.write(out, report_pii="show")
    assert res.quarantine.num_rows > 0
    record_failure(ValueError(f"boom on {df['email'][0]!r}"), out)
    personal = set()
    for col in ("first_name", "last_name", "email", "phone", "address_line1", "postcode"):
        if col in df.columns:
            personal |= {v for v in df[col].drop_nulls().to_list() if len(str(v)) >= 5}
    personal.add("not-an-address")
    with sqlite3.connect(out / HISTORY_FILE) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells = {
            str(v)
            for t in tables
            for row in conn.execute(f"SELECT * FROM {t}")
            for v in row
            if isinstance(v, str)
        }
    leaked = {p for p in personal for c in cells if p in c}
    assert not leaked
    assert any("is not" in c or "duplicate" in c for c in cells)  # reasons are kept, masked
