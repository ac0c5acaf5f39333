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
