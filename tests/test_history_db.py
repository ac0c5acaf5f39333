"""The run history under concurrent writers, in SQLite and in a real PostgreSQL server."""

from __future__ import annotations

import copy
import json
import multiprocessing
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

import c360
from c360.history import RunHistory, record_failure
from c360.report import build_report

WRITERS, RUNS = 4, 25


@pytest.fixture(scope="module")
def report_doc() -> dict[str, Any]:
    from c360.datasets import generate_people

    df = generate_people(40, seed=5, sources=("crm", "billing")).records
    return build_report(c360.resolve(df), run_id="template").data


def _writer(location: str, doc: dict[str, Any], tag: str, n: int, go: float = 0.0) -> int:
    """Record ``n`` runs from time ``go`` on; every other one shows a stale CRM.

    Every run opens or resolves the one incident, so writers that did not
    take turns would open it twice or resolve it with a run that opened another.
    """
    import time

    start = datetime(2026, 11, 1, tzinfo=UTC)
    done = 0
    with RunHistory.open(location) as h:
        time.sleep(max(0.0, go - time.time()))  # every writer starts at once
        for k in range(n):
            d = copy.deepcopy(doc)
            d["run"]["run_id"] = f"{tag}-{k:03d}"
            d["run"]["finished_at"] = (
                start + timedelta(minutes=k, seconds=int(tag[1:]))
            ).isoformat()
            d["incidents"] = (
                [{"kind": "stale_source", "severity": "error", "source": "crm", "message": "stale"}]
                if k % 2
                else []
            )
            done += bool(h.record(d))
    return done


def _check_consistent(location: str) -> None:
    """The incidents are exactly what the runs give, replayed in the order they were recorded."""
    with RunHistory.open(location) as h:
        runs = h.runs()
        incidents = h.incidents()
    assert len(runs) == WRITERS * RUNS
    assert len({r["run_id"] for r in runs}) == len(runs)
    expected, open_by = [], None
    for r in sorted(runs, key=lambda r: r["recorded_at"]):
        stale = int(r["run_id"].split("-")[1]) % 2 == 1
        if stale and open_by is None:
            open_by = r["run_id"]
        elif not stale and open_by is not None:
            expected.append((open_by, r["run_id"]))
            open_by = None
    if open_by is not None:
        expected.append((open_by, None))
    got = sorted(
        (i["opened_run_id"], i["resolved_run_id"]) for i in incidents if i["kind"] == "stale_source"
    )
    assert got == sorted(expected, key=lambda p: (p[0], p[1] or ""))


def _hammer(location: str, doc: dict[str, Any]) -> None:
    import time

    ctx = multiprocessing.get_context("spawn")
    go = time.time() + 4.0  # past the workers' start-up
    with ProcessPoolExecutor(WRITERS, mp_context=ctx) as pool:
        futures = [pool.submit(_writer, location, doc, f"w{i}", RUNS, go) for i in range(WRITERS)]
        assert sum(f.result() for f in futures) == WRITERS * RUNS


def test_concurrent_writers_share_one_sqlite_history(tmp_path: Path, report_doc) -> None:
    location = str(tmp_path / "shared.sqlite")
    _hammer(location, report_doc)
    _check_consistent(location)


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_history(postgres_uri: str) -> Iterator[str]:
    """A PostgreSQL URI whose tables go to a schema of their own, dropped afterwards."""
    import adbc_driver_postgresql.dbapi as pg

    schema = f"c360_hist_{uuid.uuid4().hex[:8]}"
    with pg.connect(postgres_uri) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
        conn.commit()
    sep = "&" if "?" in postgres_uri else "?"
    yield f"{postgres_uri}{sep}options=-csearch_path%3D{schema}"
    with pg.connect(postgres_uri) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.commit()


@pytest.mark.postgres
def test_runs_and_failures_in_postgresql(tmp_path: Path, pg_history: str) -> None:
    from c360.cli import _register, app
    from c360.datasets import generate_people

    df = generate_people(50, seed=9, sources=("crm", "billing")).records
    c360.resolve(df).write(tmp_path / "a", history=pg_history)
    record_failure(ValueError("boom"), tmp_path / "a", history=pg_history, stage="load")
    c360.resolve(df.head(df.height // 2)).write(
        tmp_path / "a", history=pg_history, previous=tmp_path / "a"
    )
    with RunHistory.open(pg_history) as h:
        runs = h.runs()
        kinds = {(i["kind"], i["source"]): i for i in h.incidents()}
    assert [r["status"] for r in runs] == ["succeeded", "failed", "succeeded"]
    assert runs[1]["failed_stage"] == "load"
    assert runs[2]["records_accepted"] == df.head(df.height // 2).height
    assert not kinds[("failed_run", None)]["open"]
    assert any(k[0] == "rows_dropped" and i["open"] for k, i in kinds.items())
    assert (tmp_path / "a" / "metrics.prom").is_file()
    _register()
    res = CliRunner().invoke(app, ["history", pg_history, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["runs_total"] == 3 and doc["history"] == pg_history  # no password to hide


@pytest.mark.postgres
def test_concurrent_writers_share_one_postgresql_history(pg_history: str, report_doc) -> None:
    _hammer(pg_history, report_doc)
    _check_consistent(pg_history)


def test_a_postgresql_history_that_cannot_be_reached_is_a_clear_error() -> None:
    from c360.exceptions import HistoryError

    with pytest.raises(HistoryError, match="cannot connect") as info:
        RunHistory.open("postgresql://me:s3cret@127.0.0.1:1/nowhere")
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


def test_polars_frames_of_history_are_easy(tmp_path: Path, report_doc) -> None:
    """``runs()`` rows become a polars frame as they are (a notebook's first step)."""
    _writer(str(tmp_path), report_doc, "w1", 3)
    with RunHistory.open(tmp_path) as h:
        frame = pl.DataFrame(h.runs())
    assert frame.height == 3 and frame["finished_at"].dtype == pl.Datetime("us", "UTC")
