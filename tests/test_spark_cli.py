"""``c360 resolve --engine spark``: same customer IDs as the local engine, clear errors."""

import time

import polars as pl
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from c360.cli import _register, app
from c360.datasets import generate_people

_register()
runner = CliRunner()


def _inputs(tmp_path):
    records = generate_people(200, seed=3).records
    parts = records.partition_by("source", maintain_order=True)
    assert len(parts) >= 2
    # two files, each one source without a source column (named after the file)
    a = tmp_path / "a.parquet"
    b = tmp_path / "b.parquet"
    parts[0].drop("source").write_parquet(a)
    pl.concat(parts[1:]).drop("source").write_parquet(b)
    return [str(a), str(b)]


def test_spark_engine_gives_the_local_customer_ids(spark, tmp_path):
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
    assert "customers:" in res.output and "no report" in res.output
    for name in ("unified_ids", "links", "profiles", "quarantine", "id_changes"):
        assert (spark_out / f"{name}.parquet").is_dir(), name
    assert (spark_out / "model.json").is_file() and (spark_out / "config.toml").is_file()
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


def test_spark_engine_refuses_unsupported_options(spark, tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"")
    for flag in ("--previous", "--model", "--config"):
        res = runner.invoke(
            app,
            [
                "resolve",
                str(tmp_path / "a.parquet"),
                "--out",
                str(tmp_path / "o"),
                "--engine",
                "spark",
                flag,
                str(tmp_path),
            ],
        )
        assert res.exit_code == 2, res.output
        assert f"{flag} is not supported by the Spark engine yet" in res.output
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
