import json

import polars as pl
from typer.testing import CliRunner

from c360.cli import _register, app

_register()
runner = CliRunner()


def test_help_lists_commands():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("demo", "resolve", "contract"):
        assert cmd in res.output


def test_demo_writes_outputs_and_summary(tmp_path):
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "customers out" in res.output and "billing + crm" in res.output
    ids = pl.read_parquet(tmp_path / "out" / "unified_ids.parquet")
    q = pl.read_parquet(tmp_path / "out" / "quarantine.parquet")
    # every input row is in exactly one of the two outputs
    from c360.datasets import load_demo

    rows = sum(f.height for f in load_demo().values())
    assert ids.height + q.height == rows
    assert q.height > 0
    # the summary ends with the report and its incidents: the demo is dated to
    # today, with support late on purpose and the others on time
    tail = res.output.strip().splitlines()[-3:]
    assert tail[0] == f"report: {tmp_path / 'out' / 'report.html'}"
    assert tail[1] == "incidents: 1 (1 error)"
    assert tail[2].split()[:4] == ["error", "support", "is", "stale:"]
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    status = {s["source"]: s["freshness"]["status"] for s in report["sources"]}
    assert status == {"crm": "fresh", "billing": "fresh", "marketing": "fresh", "support": "stale"}
    lag = {s["source"]: s["freshness"]["lag_seconds"] for s in report["sources"]}
    assert 3 * 86400 <= lag["support"] < 3 * 86400 + 600
    assert 1200 <= lag["billing"] < 1200 + 600


def test_demo_sources_dated_relative_to_a_moment() -> None:
    from datetime import datetime, timedelta

    from c360.datasets import DEMO_LAGS, demo_sources
    from c360.sources import load

    as_of = datetime(2031, 5, 6, 7, 8, 9)
    for source in demo_sources(as_of=as_of):
        loaded = load(source)
        newest = loaded.valid["updated_at"].max()
        assert newest == as_of - DEMO_LAGS[source.name], source.name
        # what does not parse is left for the contract: the same rows quarantined as undated
    undated = {s.name: load(s).rows_quarantined for s in demo_sources()}
    dated = {s.name: load(s).rows_quarantined for s in demo_sources(as_of=as_of)}
    assert dated == undated
    assert sum(dated.values()) == 5
    assert timedelta(0) < DEMO_LAGS["billing"] < timedelta(hours=1)


def test_resolve_files_without_config_and_with_previous(tmp_path):
    from c360.datasets import generate_people

    recs = generate_people(200, seed=1).records
    path = tmp_path / "people.parquet"
    recs.write_parquet(path)
    r1 = runner.invoke(app, ["resolve", str(path), "--out", str(tmp_path / "day1")])
    assert r1.exit_code == 0, r1.output
    assert "[blocking]" in r1.output or "blocking" in r1.output
    r2 = runner.invoke(
        app,
        [
            "resolve",
            str(path),
            "--out",
            str(tmp_path / "day2"),
            "--previous",
            str(tmp_path / "day1"),
            "--quiet",
        ],
    )
    assert r2.exit_code == 0, r2.output
    a = pl.read_parquet(tmp_path / "day1" / "unified_ids.parquet")
    b = pl.read_parquet(tmp_path / "day2" / "unified_ids.parquet")
    assert a.equals(b)
    assert pl.read_parquet(tmp_path / "day2" / "id_changes.parquet").height == 0


def test_usage_errors_exit_2_with_one_line(tmp_path):
    res = runner.invoke(
        app, ["resolve", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "error:" in res.output and "Traceback" not in res.output
    bad = tmp_path / "c360.toml"
    bad.write_text("[resolve]\nnot_a_key = 1\n")
    res = runner.invoke(app, ["resolve", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown configuration keys" in res.output
    res = runner.invoke(app, ["resolve", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "no inputs" in res.output


def test_config_file_declares_sources_rules_comparisons_and_survivorship(tmp_path):
    import tomllib

    import tomli_w

    from c360.config import ResolveConfig
    from c360.contracts import canonical_contract
    from c360.datasets import generate_people
    from c360.sources import Source

    recs = generate_people(150, seed=4).records
    for name in ("crm", "billing"):
        part = recs.filter(pl.col("source") == name).drop("source").rename({"record_id": "id"})
        part.write_parquet(tmp_path / f"{name}.parquet")
    canonical_contract().save(tmp_path / "contract.yaml")
    cfg = {
        "sources": [
            {
                "name": n,
                "location": f"{n}.parquet",
                "owner": f"{n} team",
                "freshness_sla": "24h",
                "record_id": "id",
                "contract": "contract.yaml",
            }
            for n in ("crm", "billing")
        ],
        "resolve": {
            "blocking": {"rules": [{"keys": ["last_name"]}, {"keys": ["email"]}]},
            "comparisons": [
                {
                    "type": "NameComparison",
                    "column": "first_name",
                    "nickname_column": "first_name_nick",
                },
                {"type": "NameComparison", "column": "last_name"},
                {"type": "EmailComparison", "column": "email"},
            ],
            "cluster": {"threshold": 0.8},
            "survivorship": {"source_priority": ["billing", "crm"]},
        },
    }
    path = tmp_path / "c360.toml"
    path.write_text(tomli_w.dumps(cfg))
    res = runner.invoke(
        app, ["resolve", "--config", str(path), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    used = ResolveConfig.load(tmp_path / "out" / "config.toml")
    assert [r.keys for r in used.blocking.rules] == [("last_name",), ("email",)]
    assert [c.name for c in used.comparisons] == ["first_name", "last_name", "email"]
    assert used.cluster.threshold == 0.8
    assert used.survivorship.source_priority == ("billing", "crm")
    assert ResolveConfig.from_dict(used.to_dict()) == used
    src = Source.from_dict({**cfg["sources"][0], "location": str(tmp_path / "crm.parquet")})
    assert Source.from_dict(src.to_dict()) == src
    report = tomllib.loads((tmp_path / "out" / "config.toml").read_text())
    assert report["cluster"]["threshold"] == 0.8
    ids = pl.read_parquet(tmp_path / "out" / "unified_ids.parquet")
    assert set(ids["source"]) == {"crm", "billing"}


def test_a_file_with_its_own_source_column_keeps_its_sources(tmp_path):
    from c360.datasets import generate_people

    recs = generate_people(80, seed=2).records
    for fmt in ("parquet", "csv"):
        path = tmp_path / f"people.{fmt}"
        recs.write_parquet(path) if fmt == "parquet" else recs.with_columns(
            pl.col("date_of_birth").cast(pl.String), pl.col("updated_at").cast(pl.String)
        ).write_csv(path)
        out = tmp_path / f"out-{fmt}"
        res = runner.invoke(app, ["resolve", str(path), "--out", str(out), "--quiet"])
        assert res.exit_code == 0, res.output
        ids = pl.read_parquet(out / "unified_ids.parquet")
        q = pl.read_parquet(out / "quarantine.parquet")
        assert set(ids["source"]) == set(recs["source"])
        assert ids.height + q.height == recs.height
    # without a source column the file name is the source
    plain = tmp_path / "crm_export.parquet"
    recs.drop("source").unique("record_id").write_parquet(plain)
    res = runner.invoke(app, ["resolve", str(plain), "--out", str(tmp_path / "o3"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert set(pl.read_parquet(tmp_path / "o3" / "unified_ids.parquet")["source"]) == {"crm_export"}


def test_resolve_with_a_frozen_model_from_a_previous_run(tmp_path):
    import json

    from c360.datasets import generate_people

    day1 = generate_people(300, seed=1).records
    day2 = generate_people(300, seed=2).records
    day1.write_parquet(tmp_path / "day1.parquet")
    day2.write_parquet(tmp_path / "day2.parquet")
    r1 = runner.invoke(app, ["resolve", str(tmp_path / "day1.parquet"), "-o", str(tmp_path / "a")])
    assert r1.exit_code == 0, r1.output
    args = ["resolve", str(tmp_path / "day2.parquet"), "-o", str(tmp_path / "b"), "-q"]
    r2 = runner.invoke(app, [*args, "--model", str(tmp_path / "a")])
    assert r2.exit_code == 0, r2.output
    first = json.loads((tmp_path / "a" / "model.json").read_text())
    again = json.loads((tmp_path / "b" / "model.json").read_text())
    assert again["comparisons"] == first["comparisons"]  # spec, m and u unchanged
    assert again["lambda"] == first["lambda"]
    stages = json.loads((tmp_path / "b" / "report.json").read_text())["stages"]
    train = next(s for s in stages if s["stage"] == "train")
    assert train["extra"]["reused_model"] is True
    bad = runner.invoke(app, [*args, "--model", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2 and "no model file" in bad.output
