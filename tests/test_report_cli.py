"""``c360 report DIR``: rebuild report.html from report.json, open it on request."""

from __future__ import annotations

import json

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import c360
from c360._cli_report import report
from c360.observe import load_report, render_html, write_report

app = typer.Typer()
app.command("report")(report)


@app.callback()
def _group() -> None:
    """Make ``report`` a sub-command, as in the c360 CLI."""


runner = CliRunner()


@pytest.fixture
def out(tmp_path):
    df = pl.DataFrame(
        {
            "source": ["crm", "shop", "shop"],
            "record_id": ["1", "a", "b"],
            "first_name": ["Ann", "Ann", "Bob"],
            "last_name": ["Lee", "Lee", "Ray"],
            "email": ["ann@x.io", "ANN@x.io", "bob@y.io"],
        }
    )
    write_report(c360.resolve(df, run_id="cli-run"), tmp_path)
    return tmp_path


def test_rebuilds_html_from_json(out):
    html = out / "report.html"
    html.unlink()
    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    assert html.read_text(encoding="utf-8") == render_html(load_report(out))
    assert "2 customers from 3 records" in res.output
    # the JSON is the source of truth: an edited JSON shows in the rebuilt page
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    data["run"]["run_id"] = "edited-run"
    (out / "report.json").write_text(json.dumps(data), encoding="utf-8")
    assert runner.invoke(app, ["report", str(out / "report.json")]).exit_code == 0
    assert "edited-run" in html.read_text(encoding="utf-8")


def test_open_hands_the_file_to_the_browser(out, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda uri: opened.append(uri) or True)
    res = runner.invoke(app, ["report", str(out), "--open"])
    assert res.exit_code == 0, res.output
    assert opened == [(out / "report.html").resolve().as_uri()]


def test_errors_exit_2_with_one_line(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2
    assert "cannot read the run report" in res.output
    assert "Traceback" not in res.output
    (tmp_path / "report.json").write_text(json.dumps({"schema": "c360.report/7"}))
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2
    assert "not supported" in res.output
    (tmp_path / "report.json").write_text(json.dumps({"schema": "c360.report/1", "run": {}}))
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2
    assert "malformed" in res.output
