"""``c360 resolve`` keeps the run history; ``c360 history`` reads it; metrics.prom parses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from c360.cli import _register, app
from c360.datasets import generate_people
from c360.history import HISTORY_FILE, PROM_FILE, RunHistory

_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("in")
    generate_people(80, seed=11, sources=("crm", "billing")).records.write_parquet(d / "p.parquet")
    return d / "p.parquet"


def resolve(*args: str) -> object:
    return runner.invoke(app, ["resolve", *args, "--quiet"])


def test_runs_and_a_failure_are_listed_and_a_breached_slo_exits_1(
    tmp_path: Path, inputs: Path
) -> None:
    cfg = tmp_path / "c360.toml"
    cfg.write_text('[slo]\nsuccess_rate = 0.99\nfreshness = { "*" = "3650d" }\n')
    out = tmp_path / "out"
    assert resolve(str(inputs), "--out", str(out), "--config", str(cfg)).exit_code == 0
    res = runner.invoke(app, ["history", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 runs" in res.output and "success_rate" in res.output and "met" in res.output
    # a run that fails: a missing input
    bad = resolve(str(tmp_path / "missing.parquet"), "--out", str(out), "--config", str(cfg))
    assert bad.exit_code == 2
    assert (out / "unified_ids.parquet").is_file()  # the previous outputs stay
    res = runner.invoke(app, ["history", str(out), "--json"])
    assert res.exit_code == 1, res.output  # 1 of 2 runs failed: under 99%
    doc = json.loads(res.output)
    assert [r["status"] for r in doc["runs"]] == ["succeeded", "failed"]
    assert doc["runs"][1]["error_type"] == "SourceReadError"
    (failed,) = [i for i in doc["incidents"] if i["kind"] == "failed_run"]
    assert failed["open"] and failed["resolved_at"] is None
    assert set(failed) >= {"kind", "source", "opened_at", "resolved_at", "time_to_resolve_seconds"}
    rate = next(s for s in doc["slos"] if s["name"] == "success_rate")
    assert rate["attainment"] == 0.5 and not rate["met"]
    # the next good run resolves the incident; the text view says so
    assert resolve(str(inputs), "--out", str(out), "--config", str(cfg)).exit_code == 0
    res = runner.invoke(app, ["history", str(out), "--last", "2"])
    assert "runs (last 2)" in res.output and "0 open, 1 resolved" in res.output
    assert res.exit_code == 1  # still 2 of 3 within the window


def test_the_stage_of_a_failure_is_recorded(tmp_path: Path, inputs: Path) -> None:
    out = tmp_path / "out"
    assert resolve(str(inputs), "--out", str(out)).exit_code == 0
    model = tmp_path / "model.json"
    model.write_text("{not json")
    res = resolve(str(inputs), "--out", str(out), "--model", str(model))
    assert res.exit_code == 2
    with RunHistory.open(out) as h:
        run = h.runs()[-1]
    assert run["status"] == "failed" and run["error_type"] == "ModelError"


def test_a_shared_history_and_no_history(tmp_path: Path, inputs: Path) -> None:
    shared = tmp_path / "shared.sqlite"
    for name in ("a", "b"):
        out = tmp_path / name
        assert resolve(str(inputs), "--out", str(out), "--history", str(shared)).exit_code == 0
        assert not (out / HISTORY_FILE).exists()
    with RunHistory.open(shared) as h:
        assert len(h.runs()) == 2
    assert resolve(str(inputs), "--out", str(tmp_path / "c"), "--no-history").exit_code == 0
    assert not (tmp_path / "c" / HISTORY_FILE).exists()
    both = resolve(str(inputs), "--out", str(tmp_path / "d"), "--no-history", "--history", "x")
    assert both.exit_code == 2


def test_an_unusable_history_fails_the_run_unless_optional(tmp_path: Path, inputs: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 1000)
    out = tmp_path / "out"
    res = resolve(str(inputs), "--out", str(out), "--history", str(bad))
    assert res.exit_code == 2
    assert "cannot open the run history" in res.output
    assert not (out / "unified_ids.parquet").exists()
    res = resolve(str(inputs), "--out", str(out), "--history", str(bad), "--history-optional")
    assert res.exit_code == 0, res.output
    assert "warning: the run history is unavailable" in res.output
    assert (out / "unified_ids.parquet").is_file()


def test_history_of_a_place_without_one_is_a_usage_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["history", str(tmp_path)])
    assert res.exit_code == 2 and "no run history here" in res.output
    assert not (tmp_path / HISTORY_FILE).exists()  # reading creates nothing


def test_metrics_prom_parses_and_carries_the_run(tmp_path: Path, inputs: Path) -> None:
    cfg = tmp_path / "c360.toml"
    cfg.write_text("[slo]\nsuccess_rate = 0.9\nprecision_floor = 0.5\n")
    out = tmp_path / "out"
    assert resolve(str(inputs), "--out", str(out), "--config", str(cfg)).exit_code == 0
    families = {f.name: f for f in text_string_to_metric_families((out / PROM_FILE).read_text())}
    value = {
        f: {tuple(sorted(s.labels.items())): s.value for s in families[f].samples} for f in families
    }
    ids = pl.read_parquet(out / "unified_ids.parquet")
    assert value["c360_run_success"][()] == 1
    assert value["c360_customers"][()] == ids["customer_id"].n_unique()
    recs = pl.read_parquet(inputs).group_by("source").len()
    for src, n in recs.iter_rows():
        assert value["c360_records"][(("source", src),)] == n
    assert value["c360_slo_attainment"][(("slo", "success_rate"),)] == 1.0
    assert (("stage", "golden"),) in value["c360_stage_duration_seconds"]
    assert value["c360_runs"][(("status", "succeeded"),)] == 1  # counter family name
    # a failed run rewrites it in place
    assert resolve(str(tmp_path / "none.parquet"), "--out", str(out)).exit_code == 2
    families = {f.name: f for f in text_string_to_metric_families((out / PROM_FILE).read_text())}
    assert families["c360_run_success"].samples[0].value == 0
    assert families["c360_customers"].samples[0].value == ids["customer_id"].n_unique()


def test_demo_keeps_history(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    for _ in range(2):
        assert runner.invoke(app, ["demo", "--out", str(out), "--quiet"]).exit_code == 0
    with sqlite3.connect(out / HISTORY_FILE) as conn:
        assert conn.execute("SELECT count(*) FROM c360_runs").fetchone()[0] == 2
