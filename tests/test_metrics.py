"""Metric definitions, errors, diff, CLI and the demo's metrics outputs."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from c360.cli import _register, app
from c360.datasets import demo_dir
from c360.exceptions import MetricError
from c360.metrics import compute, diff_definitions, load_definitions

_register()
runner = CliRunner()

BASE = {
    "semantic_models": [
        {
            "name": "logins",
            "join": {"identifier": "email", "column": "email"},
            "time": "at",
            "measures": [{"name": "users", "agg": "count_distinct", "expr": "customer_id"}],
        }
    ],
    "metrics": [{"name": "mau", "type": "simple", "measure": "users", "version": "1.0.0"}],
}
IDS = pl.DataFrame({"source": ["crm", "shop"], "record_id": ["1", "2"], "customer_id": ["A", "B"]})
MATCHING = pl.DataFrame(
    {"email": ["ann@x.io", "bob@x.io"], "customer_id": ["A", "B"], "source": ["crm", "shop"]}
)


def _run(matching: pl.DataFrame = MATCHING):
    from c360.metrics import RunData

    return RunData(ids=IDS.lazy(), run_id="r1", matching=matching.lazy())


def _with(**metric) -> dict:
    return {**BASE, "metrics": [{"name": "m", "version": "1.0.0", **metric}]}


@pytest.mark.parametrize(
    ("definition", "field", "text"),
    [
        (_with(type="simple", measure="users", version="1"), "version", "semantic version"),
        (_with(type="simple", measure="nope"), "measure", "no measure called 'nope'"),
        (_with(type="simple", measure="users", colour="red"), "colour", "unknown field"),
        (_with(type="simple", measure="users", filter="__import__('os')"), "filter", "not a"),
        (_with(type="derived", expr="a / b", metrics=["mau"]), "expr", "'a' is not one"),
        (_with(type="cumulative", measure="users", window="fortnight"), "window", "duration"),
        (_with(type="churned", activity={"model": "nope"}), "activity.model", "no semantic model"),
    ],
)
def test_invalid_definitions_name_the_metric_and_field(definition, field, text):
    with pytest.raises(MetricError) as err:
        load_definitions(definition)
    assert err.value.field == field
    assert text in str(err.value)


def test_a_window_needs_a_time_column():
    defs = json.loads(json.dumps(BASE))
    del defs["semantic_models"][0]["time"]
    defs["metrics"] = [
        {
            "name": "m",
            "type": "churned",
            "version": "1.0.0",
            "activity": {"model": "logins", "window": "30 days"},
        }
    ]
    with pytest.raises(MetricError, match="no time column"):
        load_definitions(defs)


def test_metric_cycles_are_refused():
    defs = {
        **BASE,
        "metrics": [
            {
                "name": "a",
                "type": "ratio",
                "numerator": "b",
                "denominator": "mau",
                "version": "1.0.0",
            },
            {
                "name": "b",
                "type": "ratio",
                "numerator": "a",
                "denominator": "mau",
                "version": "1.0.0",
            },
            *BASE["metrics"],
        ],
    }
    with pytest.raises(MetricError, match="cycle"):
        load_definitions(defs)


def test_yaml_and_toml_load_the_same_definitions(tmp_path):
    import tomli_w

    (tmp_path / "m.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "m.toml").write_text(tomli_w.dumps(BASE))
    a, b = load_definitions(tmp_path / "m.yaml"), load_definitions(tmp_path / "m.toml")
    assert a.definition_hash("mau") == b.definition_hash("mau")


def test_identifier_join_standardises_and_counts_the_rest():
    logins = pl.DataFrame(
        {
            "email": [" ANN@x.io", "bob@x.io", "who@else.io", None],
            "at": [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 4), None],
        }
    )
    res = compute(BASE, _run(), tables={"logins": logins})
    assert res.table["value"].to_list() == [2.0]
    assert res.table["run_id"].to_list() == ["r1"]
    row = res.unresolved.row(0, named=True)
    assert (row["rows"], row["unresolved"], row["ambiguous"]) == (4, 2, 0)


def test_an_identifier_held_by_two_customers_fans_out():
    shared = MATCHING.with_columns(email=pl.lit("ann@x.io"))
    logins = pl.DataFrame({"email": ["ann@x.io"], "at": [dt.datetime(2024, 1, 2)]})
    with pytest.raises(MetricError) as err:
        compute(BASE, _run(shared), tables={"logins": logins})
    assert err.value.field == "join.identifier"
    assert "fans out" in str(err.value)
    lenient = json.loads(json.dumps(BASE))
    lenient["semantic_models"][0]["join"]["ambiguous"] = "unresolved"
    res = compute(lenient, _run(shared), tables={"logins": logins})
    assert res.unresolved["ambiguous"].to_list() == [1]


def test_missing_table_and_column_are_named():
    with pytest.raises(MetricError, match="no table called 'logins'") as err:
        compute(BASE, _run(), tables={})
    assert err.value.field == "table"
    with pytest.raises(MetricError, match="no column 'at'") as err:
        compute(BASE, _run(), tables={"logins": pl.DataFrame({"email": ["a"]})})
    assert err.value.field == "time"


def test_periods_are_cut_in_the_declared_time_zone():
    logins = pl.DataFrame(
        {
            "email": ["ann@x.io"],
            "at": pl.Series([dt.datetime(2024, 1, 31, 23, 30)]).dt.replace_time_zone("UTC"),
        }
    )
    utc = compute(BASE, _run(), tables={"logins": logins})
    berlin = compute({**BASE, "time_zone": "Europe/Berlin"}, _run(), tables={"logins": logins})
    assert utc.table["period_start"].to_list() == [dt.date(2024, 1, 1)]
    assert berlin.table["period_start"].to_list() == [dt.date(2024, 2, 1)]


def test_diff_tells_breaking_from_metadata_changes():
    old = load_definitions(BASE)
    meta = json.loads(json.dumps(BASE))
    meta["metrics"][0] |= {"description": "monthly users", "version": "1.0.1"}
    assert not diff_definitions(old, load_definitions(meta)).is_breaking
    changed = json.loads(json.dumps(BASE))
    changed["semantic_models"][0]["time"] = "seen_at"
    d = diff_definitions(old, load_definitions(changed))
    assert d.is_breaking
    assert any("model.time" in line for line in d.changes[0].details)
    assert any("needs version 2.0.0" in line for line in d.changes[0].details)
    removed = {**BASE, "metrics": [{**BASE["metrics"][0], "name": "other"}]}
    kinds = {c.metric: c.kind for c in diff_definitions(old, load_definitions(removed)).changes}
    assert kinds == {"mau": "removed", "other": "added"}


def test_cli_diff_exit_codes(tmp_path):
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(BASE))
    changed = json.loads(json.dumps(BASE))
    changed["metrics"][0]["filter"] = "email is not None"
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(changed))
    same = runner.invoke(
        app, ["metrics", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "old.yaml")]
    )
    assert same.exit_code == 0, same.output
    broke = runner.invoke(
        app, ["metrics", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")]
    )
    assert broke.exit_code == 1
    assert "BREAKING" in broke.output
    bad = runner.invoke(app, ["metrics", "list", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 2


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("metrics") / "demo"
    res = runner.invoke(app, ["demo", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "churned_customers 1.0.0" in res.output
    return out


def test_demo_writes_metrics_and_reports_them(demo_out):
    table = pl.read_parquet(demo_out / "metrics.parquet")
    assert table.columns[:5] == ["metric", "version", "definition_hash", "grain", "period_start"]
    assert {"value", "run_id", "cohort"} <= set(table.columns)
    assert table["period_start"].min() == dt.date(2023, 1, 1)
    report = json.loads((demo_out / "report.json").read_text())
    section = report["customer_metrics"]
    assert table["run_id"].unique().to_list() == [report["run"]["run_id"]]
    assert {m["metric"] for m in section["metrics"]} >= {"churned_customers", "churn_rate"}
    html = (demo_out / "report.html").read_text()
    assert "<h2>Customer metrics</h2>" in html
    assert "Unresolved events in logins" in html


def test_cli_compute_and_explain_over_a_run(demo_out, tmp_path):
    defs = str(demo_dir() / "metrics.yaml")
    out = tmp_path / "m.parquet"
    res = runner.invoke(
        app,
        [
            "metrics",
            "compute",
            defs,
            "--run",
            str(demo_out),
            "--out",
            str(out),
            "--metric",
            "revenue",
            "--group-by",
            "plan",
            "--grain",
            "quarter",
            "--as-of",
            "2024-06-30",
        ],
    )
    assert res.exit_code == 0, res.output
    table = pl.read_parquet(out)
    assert set(table["plan"].drop_nulls()) >= {"basic", "pro"}
    assert table["period_start"].max() <= dt.date(2024, 6, 30)
    explained = runner.invoke(
        app, ["metrics", "explain", defs, "churn_rate", "--run", str(demo_out)]
    )
    assert explained.exit_code == 0, explained.output
    assert "query plan" in explained.output and "churned_customers" in explained.output
    wrong = runner.invoke(
        app,
        [
            "metrics",
            "compute",
            defs,
            "--run",
            str(demo_out),
            "--out",
            str(out),
            "--group-by",
            "plan",
            "--metric",
            "churned_customers",
        ],
    )
    assert wrong.exit_code == 2
    assert "group_by" in wrong.output


def test_resolve_with_metrics_writes_them_with_the_run(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "resolve",
            "--config",
            str(demo_dir() / "sources.toml"),
            "--out",
            str(out),
            "--metrics",
            str(demo_dir() / "metrics.yaml"),
            "--quiet",
            "--no-history",
        ],
    )
    assert res.exit_code == 0, res.output
    table = pl.read_parquet(out / "metrics.parquet")
    ids = pl.read_parquet(out / "unified_ids.parquet")
    assert table["run_id"].n_unique() == 1
    assert "customer_metrics" in json.loads((out / "report.json").read_text())
    assert ids.height > 0
    bad = runner.invoke(
        app,
        [
            "resolve",
            "--config",
            str(demo_dir() / "sources.toml"),
            "--out",
            str(tmp_path / "b"),
            "--metrics",
            str(tmp_path / "nope.yaml"),
            "--quiet",
            "--no-history",
        ],
    )
    assert bad.exit_code == 2
    assert not (tmp_path / "b").exists()
