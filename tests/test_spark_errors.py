"""Failed Spark jobs surface as c360 errors naming the stage and the source, not a JVM trace."""

import polars as pl
import pytest
from typer.testing import CliRunner

from c360.cli import _register, app
from c360.exceptions import C360Error
from c360.spark._errors import spark_error_summary, spark_stage

_register()
runner = CliRunner()


def _people(n, offset=0):
    return pl.DataFrame(
        {
            "record_id": [str(offset + i) for i in range(n)],
            "first_name": ["Ann", "Bob", "Cy", "Di"] * (n // 4),
            "last_name": ["Lee", "Ng", "Oh", "Poe"] * (n // 4),
        }
    )


def _corrupt(path):
    path.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")


def test_python_worker_failure_names_the_stage(spark):
    frame = spark.createDataFrame(_people(8).to_arrow())

    def boom(batches):
        for _ in batches:
            raise ValueError("cannot parse phone '555'")
        yield

    with pytest.raises(C360Error) as info, spark_stage("standardise"):
        frame.mapInArrow(boom, frame.schema).collect()
    message = str(info.value)
    assert "the Spark job failed in stage standardise: ValueError: cannot parse phone '555'" in (
        message
    )
    assert "Traceback" not in message and "\tat " not in message
    assert spark_error_summary(info.value.__cause__) is not None


def test_unreadable_file_in_a_source_is_named(spark, tmp_path):
    from c360.spark import resolve

    good = tmp_path / "crm.parquet"
    _people(8).write_parquet(good)
    shop = tmp_path / "shop"
    shop.mkdir()
    _people(8, offset=100).write_parquet(shop / "part-0.parquet")
    _corrupt(shop / "part-1.parquet")
    sources = {"crm": spark.read.parquet(str(good)), "shop": spark.read.parquet(str(shop))}
    with pytest.raises(C360Error) as info:
        resolve(sources)
    message = str(info.value)
    assert "failed in stage load_and_standardise reading source 'shop'" in message
    assert "part-1.parquet" in message
    assert "\tat " not in message


def test_cli_names_a_file_spark_cannot_read(spark, tmp_path):
    bad = tmp_path / "crm.parquet"
    _corrupt(bad)
    res = runner.invoke(
        app, ["resolve", str(bad), "--out", str(tmp_path / "o"), "--engine", "spark"]
    )
    assert res.exit_code == 2, res.output
    assert "Spark cannot read the file" in res.output and str(bad) in res.output
    assert "\tat " not in res.output
    assert not (tmp_path / "o").exists()


def test_other_errors_pass_through():
    assert spark_error_summary(KeyError("x")) is None
    with pytest.raises(KeyError), spark_stage("block"):
        raise KeyError("x")


def _csv(path, rows, ragged):
    lines = ["record_id,first_name,last_name"]
    lines += [f"{i},Ann{i},Lee" for i in range(rows)]
    lines[3:3] = [f"{1000 + k},Bob" for k in range(ragged)]  # a field short
    path.write_text("\n".join(lines) + "\n")


def test_ragged_csv_lines_go_to_quarantine(spark, tmp_path):
    path = tmp_path / "crm.csv"
    _csv(path, 40, 1)
    out = tmp_path / "o"
    res = runner.invoke(app, ["resolve", str(path), "--out", str(out), "--engine", "spark"])
    assert res.exit_code == 0, res.output
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    assert quarantine.height == 1
    row = quarantine.row(0, named=True)
    assert row["record_id"] == "1000" and row["row_number"] == 2
    assert row["reason"].startswith("ragged line: ") and "header's 3 field(s)" in row["reason"]
    assert '"line":"1000,Bob"' in row["raw"]
    assert pl.read_parquet(out / "unified_ids.parquet").height == 40  # nothing lost


def test_mostly_ragged_csv_fails_naming_the_source(spark, tmp_path):
    path = tmp_path / "crm.csv"
    _csv(path, 10, 5)
    res = runner.invoke(
        app, ["resolve", str(path), "--out", str(tmp_path / "o"), "--engine", "spark"]
    )
    assert res.exit_code == 2, res.output
    assert "5 of 15 lines do not have the header's 3 fields" in res.output
    assert "crm" in res.output
    assert not (tmp_path / "o").exists()
