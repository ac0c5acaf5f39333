"""``c360 resolve --engine spark``: same customer IDs as the local engine, clear errors."""

import json
import shutil
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from c360.cli import _register, app
from c360.datasets import generate_people

_register()
runner = CliRunner()


def _inputs(tmp_path, people=200):
    records = generate_people(people, seed=3).records
    parts = records.partition_by("source", maintain_order=True)
    assert len(parts) >= 2
    # two files, each one source without a source column (named after the file)
    a = tmp_path / "a.parquet"
    b = tmp_path / "b.parquet"
    parts[0].drop("source").write_parquet(a)
    pl.concat(parts[1:]).drop("source").write_parquet(b)
    return [str(a), str(b)]


@pytest.fixture(scope="module")
def first_runs(spark, tmp_path_factory):
    """One local and one Spark CLI run on the same two files: ``(files, output, dir)``.

    Shared by the tests that check the first run and the one that runs a
    second with ``--previous`` (a Spark run of a few hundred records costs
    most of a minute on a 2-core machine). Read-only for its users: they copy
    what they change.
    """
    tmp_path = tmp_path_factory.mktemp("first_runs")
    files = _inputs(tmp_path)
    local_out, spark_out = tmp_path / "local", tmp_path / "spark"
    start = time.perf_counter()
    res = runner.invoke(app, ["resolve", *files, "--out", str(local_out), "--quiet"])
    assert res.exit_code == 0, res.output
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    res = runner.invoke(app, ["resolve", *files, "--out", str(spark_out), "--engine", "spark"])
    assert res.exit_code == 0, res.output
    print(f"local {local_s:.2f}s, spark {time.perf_counter() - start:.2f}s")
    return files, res.output, tmp_path


def test_spark_engine_gives_the_local_customer_ids(first_runs):
    files, output, tmp_path = first_runs
    local_out, spark_out = tmp_path / "local", tmp_path / "spark"
    assert "customers:" in output and f"report: {spark_out / 'report.html'}" in output
    for name in ("unified_ids", "links", "profiles", "quarantine", "id_changes"):
        assert (spark_out / f"{name}.parquet").is_dir(), name
    assert (spark_out / "model.json").is_file() and (spark_out / "config.toml").is_file()
    # the report, with the local run's figures
    report = json.loads((spark_out / "report.json").read_text())
    local_report = json.loads((local_out / "report.json").read_text())
    assert report["run"]["engine"] == "spark"
    assert report["summary"] == local_report["summary"]
    assert [s["location"] for s in report["sources"]] == files
    assert [s["stage"] for s in report["stages"]][-1] == "write"
    assert (spark_out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert report["lineage"] == local_report["lineage"]
    for name in ("lineage_records", "lineage_links", "lineage_values"):
        table = pl.read_parquet(spark_out / "report_tables" / f"{name}.parquet")
        assert table.height == report["lineage"]["tables"][name]["rows"] > 0, name
    refused = pl.read_parquet(spark_out / "report_tables" / "refused_links.parquet")
    assert refused.height == report["summary"]["refused_links"]
    near = pl.read_parquet(spark_out / "report_tables" / "near_misses.parquet")
    assert near.height == min(1000, report["diagnostics"]["near_misses"]["count"])
    keys = ["source", "record_id"]
    got = pl.read_parquet(spark_out / "unified_ids.parquet").sort(keys)
    want = pl.read_parquet(local_out / "unified_ids.parquet").sort(keys)
    assert_frame_equal(got.select(*keys, "customer_id"), want.select(*keys, "customer_id"))
    assert got["customer_id"].n_unique() < got.height  # some records were merged
    links = pl.read_parquet(spark_out / "links.parquet")
    assert links.height == pl.read_parquet(local_out / "links.parquet").height
    # nothing left beside the output directory
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.parquet",
        "b.parquet",
        "local",
        "spark",
    ]


def _ids(out):
    keys = ["source", "record_id"]
    return pl.read_parquet(out / "unified_ids.parquet").select(*keys, "customer_id").sort(keys)


def _changes(out):
    order = ["change", "customer_id", "other_customer_id"]
    frame = pl.read_parquet(out / "id_changes.parquet")
    return frame.select(order).sort(order, nulls_last=True)


def _resolve(*args):
    res = runner.invoke(app, ["resolve", *map(str, args), "--quiet"])
    assert res.exit_code == 0, res.output
    return res


def test_spark_engine_with_previous_and_model_gives_the_local_ids(first_runs, tmp_path):
    """A second run with ``--previous`` and ``--model``: the same IDs and changes as locally.

    The Spark run writes over a copy of the first Spark run's directory, so
    the run history it holds carries on (and a failed third run joins it):
    one full Spark run checks both, as each costs most of a minute here.
    """
    from c360.history import RunHistory

    given, _, first_dir = first_runs
    # the second run: the first file loses a third of its rows (in a copy)
    files = [str(tmp_path / Path(f).name) for f in given]
    first = pl.read_parquet(given[0])
    first.filter(pl.int_range(pl.len()) % 3 != 0).write_parquet(files[0])
    shutil.copy(given[1], files[1])
    shutil.copytree(first_dir / "spark", tmp_path / "spark2")
    for engine in ("local", "spark"):
        run1 = first_dir / engine
        _resolve(*files, "--out", tmp_path / f"{engine}2", "--engine", engine,
                 "--previous", run1, "--model", run1)  # fmt: skip
    out = tmp_path / "spark2"
    assert_frame_equal(_ids(out), _ids(tmp_path / "local2"))
    changes = _changes(out)
    assert_frame_equal(changes, _changes(tmp_path / "local2"))
    assert changes.height > 0
    model1 = (first_dir / "spark" / "model.json").read_text()
    assert (out / "model.json").read_text() == model1

    # a run that fails writes nothing but is recorded in the history
    bad = runner.invoke(
        app, ["resolve", str(tmp_path / "gone.parquet"), "--out", str(out), "--engine", "spark"]
    )
    assert bad.exit_code == 2
    with RunHistory.open(out) as h:
        runs = h.runs()
    assert [(r["status"], r["engine"]) for r in runs] == [
        ("succeeded", "spark"),
        ("succeeded", "spark"),
        ("failed", "spark"),
    ]
    report = json.loads((out / "report.json").read_text())
    assert report["history"]["runs_total"] == 2
    assert runs[1]["customers"] == report["summary"]["customers"]
    assert (out / "metrics.prom").read_text().count("c360_run_success 0") == 1
    assert_frame_equal(_ids(out), _ids(tmp_path / "local2"))


def test_spark_engine_reads_a_config_with_declared_sources(spark, tmp_path):
    """``--config``: ``[resolve]`` options and ``[[sources]]`` with renamed columns, as locally."""
    a, _ = _inputs(tmp_path)
    pl.read_parquet(a).rename({"first_name": "fname", "record_id": "id"}).write_parquet(a)
    (tmp_path / "c360.toml").write_text(
        '[resolve]\nlink_type = "link"\n\n'
        '[[sources]]\nname = "crm"\nlocation = "a.parquet"\nrecord_id = "id"\n'
        'columns = { fname = "first_name" }\n\n'
        '[[sources]]\nname = "shop"\nlocation = "b.parquet"\n'
    )
    for engine in ("local", "spark"):
        _resolve("--config", tmp_path / "c360.toml", "--out", tmp_path / engine,
                 "--engine", engine)  # fmt: skip
    got = _ids(tmp_path / "spark")
    assert_frame_equal(got, _ids(tmp_path / "local"))
    assert set(got["source"]) == {"crm", "shop"}
    assert 'link_type = "link"' in (tmp_path / "spark" / "config.toml").read_text()
    # link: no link joins two records of one source
    links = pl.read_parquet(tmp_path / "spark" / "links.parquet")
    assert links.height > 0 and (links["source_l"] != links["source_r"]).all()


def test_library_reads_paths_and_writes_like_the_cli(spark, tmp_path):
    """``c360.spark.resolve`` takes paths; ``SparkResolution.write`` lays out the CLI's outputs."""
    from c360.spark import resolve

    a, b = _inputs(tmp_path, people=100)
    _resolve(a, b, "--out", tmp_path / "local")
    res = resolve({"a": a, "b": b})
    report = res.write(tmp_path / "lib")
    res.unpersist()
    assert_frame_equal(_ids(tmp_path / "lib"), _ids(tmp_path / "local"))
    assert report.data["run"]["engine"] == "spark"
    # a small run: the lineage is inlined, as locally
    local_report = json.loads((tmp_path / "local" / "report.json").read_text())
    assert report.data["lineage"]["inline"]
    assert report.data["lineage"] == local_report["lineage"]
    assert (tmp_path / "lib" / "report.html").is_file()
    assert (tmp_path / "lib" / "model.json").is_file()


def test_spark_engine_refuses_what_it_does_not_read(spark, tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "c360.toml").write_text(
        '[[sources]]\nname = "crm"\nlocation = "a.parquet"\nkeep = ["notes"]\n'
    )
    res = runner.invoke(
        app,
        ["resolve", "--config", str(tmp_path / "c360.toml"), "--out", str(tmp_path / "o"),
         "--engine", "spark"],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "source 'crm': keep is not supported by the Spark engine" in res.output
    res = runner.invoke(app, ["resolve", "--out", str(tmp_path / "o"), "--engine", "spark"])
    assert res.exit_code == 2, res.output
    assert "no inputs" in res.output
    assert not (tmp_path / "o").exists()


def test_spark_engine_refuses_a_source_column(spark, tmp_path):
    path = tmp_path / "people.parquet"
    generate_people(20, seed=1).records.write_parquet(path)
    res = runner.invoke(
        app, ["resolve", str(path), "--out", str(tmp_path / "o"), "--engine", "spark"]
    )
    assert res.exit_code == 2, res.output
    assert "'source' column" in res.output


def test_unknown_engine_fails(tmp_path):
    res = runner.invoke(
        app, ["resolve", "x.parquet", "--out", str(tmp_path / "o"), "--engine", "dask"]
    )
    assert res.exit_code == 2, res.output
    assert "--engine must be 'local' or 'spark'" in res.output
