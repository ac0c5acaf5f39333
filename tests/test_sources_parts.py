"""One source read from several files: a list of locations, globs, or CLI files of one name."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import c360
from c360.cli import app
from c360.exceptions import ConfigError, SourceReadError
from c360.sources import Source, load

HEADER = "record_id,first_name,last_name,email\n"

runner = CliRunner()


def _write(path: Path, ids: list[str], *, source: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ("source," if source else "") + HEADER
    body = "".join(
        (f"{source}," if source else "") + f"{i},Ann{i},Lee,{i.lower()}@x.org\n" for i in ids
    )
    path.write_text(head + body, encoding="utf-8")
    return path


def test_a_list_of_files_is_one_source(tmp_path: Path) -> None:
    day1 = _write(tmp_path / "day1.csv", ["C1", "C2", "C3"])
    day2 = _write(tmp_path / "day2.csv", ["C4", "C2"])  # C2 again: a duplicate
    loaded = load(Source(name="crm", location=[str(day1), str(day2)]))
    assert loaded.rows_read == 5
    assert loaded.valid["record_id"].to_list() == ["C1", "C2", "C3", "C4"]
    assert loaded.valid["_row"].to_list() == [0, 1, 2, 3]  # numbered over the files
    q = loaded.quarantine.row(0, named=True)
    assert (q["record_id"], q["row_number"]) == ("C2", 4)
    assert q["reason"] == "record_id: duplicate value 'C2' (first seen in row 1)"


def test_list_declaration_round_trips_and_is_checked(tmp_path: Path) -> None:
    s = Source(name="crm", location=[tmp_path / "a.csv", "b/*.csv"])
    assert s.location == (str(tmp_path / "a.csv"), "b/*.csv")
    assert s.to_dict()["location"] == [str(tmp_path / "a.csv"), "b/*.csv"]
    assert Source.from_dict(s.to_dict()) == s
    assert s.where == f"{tmp_path / 'a.csv'}, b/*.csv"
    assert Source(name="crm", location=["only.csv"]).location == "only.csv"
    with pytest.raises(ConfigError, match="several formats"):
        Source(name="crm", location=["a.csv", "b.parquet"])
    with pytest.raises(ConfigError, match="not SQL URIs"):
        Source(name="crm", location=["sqlite:///x.db"], table="t")
    with pytest.raises(ConfigError, match="file paths or globs"):
        Source(name="crm", location=[])


def test_a_glob_and_a_file_naming_the_same_file_fail(tmp_path: Path) -> None:
    a = _write(tmp_path / "crm" / "a.csv", ["C1"])
    s = Source(name="crm", location=[str(tmp_path / "crm" / "*.csv"), str(a)])
    with pytest.raises(SourceReadError, match="same file twice"):
        load(s)


def test_toml_declares_a_list(tmp_path: Path) -> None:
    _write(tmp_path / "day1.csv", ["C1", "C2"])
    _write(tmp_path / "day2.csv", ["C3"])
    config = tmp_path / "c360.toml"
    config.write_text(
        "[[sources]]\n"
        'name = "crm"\n'
        f'location = ["{(tmp_path / "day1.csv").as_posix()}", '
        f'"{(tmp_path / "day2.csv").as_posix()}"]\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["resolve", "--config", str(config), "--out", str(tmp_path / "o"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "o" / "unified_ids.parquet").height == 3


def test_cli_files_whose_rows_name_the_same_source_are_one_source(tmp_path: Path) -> None:
    # the case: a day-1 and a day-2 export, both with source = crm
    day1 = _write(tmp_path / "day1.csv", ["C1", "C2"], source="crm")
    day2 = _write(tmp_path / "day2.csv", ["C3", "C1"], source="crm")
    shop = _write(tmp_path / "shop.csv", ["S1"])
    out = tmp_path / "out"
    result = runner.invoke(app, ["resolve", str(day1), str(day2), str(shop), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ids = pl.read_parquet(out / "unified_ids.parquet")
    assert sorted(ids["source"].unique().to_list()) == ["crm", "shop"]
    assert ids.filter(pl.col("source") == "crm")["record_id"].sort().to_list() == [
        "C1",
        "C2",
        "C3",
    ]
    q = pl.read_parquet(out / "quarantine.parquet")
    assert q.select("source", "record_id").rows() == [("crm", "C1")]
    assert "duplicate value 'C1'" in q["reason"][0]


def test_cli_files_of_one_name_in_two_folders_are_one_source(tmp_path: Path) -> None:
    a = _write(tmp_path / "day1" / "crm.csv", ["C1", "C2"])
    b = _write(tmp_path / "day2" / "crm.csv", ["C3"])
    res = c360.resolve([str(a), str(b)])
    assert res.sources["source"].to_list() == ["crm"]
    assert res.sources["rows_read"].to_list() == [3]
    assert res.sources["location"].to_list() == [f"{a}, {b}"]
