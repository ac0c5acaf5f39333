"""Damaged lines go to quarantine with their file, line and raw bytes; the rest loads.

The cases are the ones exports arrive with: one line of a CRM export that is
not UTF-8, one NDJSON line that is not JSON, a damaged line inside a quoted
multi-line value, damage in the second file of a glob, and a file that is
mostly bad (another encoding), which fails as a whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from c360.cli import app
from c360.exceptions import SourceReadError
from c360.sources import Source, collect_source, load

HEADER = "record_id,first_name,last_name,email\n"


def _line(i: int) -> str:
    return f"C{i:04d},Ann{i},Lee,ann{i}@x.org\n"


def _crm(path: Path, **kw: object) -> Source:
    return Source(name="crm", location=str(path), **kw)  # type: ignore[arg-type]


def test_one_line_not_utf8_is_quarantined_with_line_and_raw(tmp_path: Path) -> None:
    # the export: 408 lines, one with a Latin-1 byte
    lines = [_line(i).encode() for i in range(408)]
    lines[300] = b"C0300,Jos\xe9,Lee,jose@x.org\n"
    path = tmp_path / "crm.csv"
    path.write_bytes(HEADER.encode() + b"".join(lines))
    loaded = load(_crm(path))
    assert (loaded.rows_read, loaded.rows_valid, loaded.rows_quarantined) == (408, 407, 1)
    q = loaded.quarantine.row(0, named=True)
    assert q["record_id"] == "C0300"
    assert q["row_number"] == 300  # rows keep their numbers
    assert q["reason"] == (f"damaged line: {path} line 302: invalid UTF-8 (byte 0xe9 at column 10)")
    assert q["raw"] == "C0300,Jos\\xe9,Lee,jose@x.org"
    # the rows after it are intact and in place
    valid = loaded.valid
    assert valid.filter(pl.col("record_id") == "C0301")["_row"].item() == 301
    assert "C0300" not in valid["record_id"].to_list()
    assert any("not valid UTF-8" in n for n in loaded.read_notes)


def test_damage_inside_a_quoted_multiline_value(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(
        HEADER.encode()
        + _line(0).encode()
        + b'C0001,"Ann\nJos\xe9",Lee,a@x.org\n'
        + _line(2).encode()
        + b"C0003,Bob,Ray\n"  # ragged too: both kinds in one file
        + _line(4).encode()
    )
    loaded = load(_crm(path, max_bad_fraction=0.5))
    assert (loaded.rows_read, loaded.rows_valid) == (5, 3)
    reasons = dict(zip(loaded.quarantine["record_id"], loaded.quarantine["reason"], strict=True))
    assert reasons["C0001"].startswith(f"damaged line: {path} line 4: invalid UTF-8")
    assert reasons["C0003"].startswith("ragged line:")
    assert loaded.valid["record_id"].to_list() == ["C0000", "C0002", "C0004"]


def test_ndjson_line_not_json_is_quarantined(tmp_path: Path) -> None:
    rows = [json.dumps({"record_id": f"N{i}", "email": f"a{i}@x.org"}) for i in range(50)]
    rows[10] = '{"record_id": "N10", "email": '  # cut off
    rows[20] = "[1, 2]"  # JSON, but not an object
    rows.insert(30, "")  # a blank line is no record
    path = tmp_path / "events.ndjson"
    path.write_bytes(("\n".join(rows) + "\n").encode() + b'{"record_id": "N50", "x": "\xff"}\n')
    loaded = load(Source(name="events", location=str(path), max_bad_fraction=0.1))
    assert (loaded.rows_read, loaded.rows_valid, loaded.rows_quarantined) == (51, 48, 3)
    q = loaded.quarantine.sort("row_number")
    assert q["row_number"].to_list() == [10, 20, 50]
    assert q["reason"][0].startswith(f"damaged line: {path} line 11: not valid JSON (")
    assert q["reason"][1].endswith("line 21: not a JSON object (a list)")
    assert "line 52: invalid UTF-8 (byte 0xff" in q["reason"][2]
    assert q["raw"][0] == '{"record_id": "N10", "email": '
    # row numbers are those of a clean file: the damaged lines kept their places
    assert loaded.valid.filter(pl.col("record_id") == "N49")["_row"].item() == 49


def test_damage_in_the_second_file_of_a_glob(tmp_path: Path) -> None:
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "a.csv").write_text(HEADER + _line(0) + _line(1))
    (tmp_path / "crm" / "b.csv").write_bytes(
        HEADER.encode() + _line(2).encode() + b"C0003,\xff,Lee,x@x.org\n"
    )
    loaded = load(Source(name="crm", location=str(tmp_path / "crm" / "*.csv")))
    assert loaded.rows_valid == 3
    q = loaded.quarantine.row(0, named=True)
    assert q["row_number"] == 3  # over both files
    assert f"{tmp_path / 'crm' / 'b.csv'} line 3" in q["reason"]


def test_max_bad_fraction_bounds_the_damage(tmp_path: Path) -> None:
    lines = [_line(i).encode() for i in range(100)]
    for i in range(0, 100, 10):  # 10% of lines
        lines[i] = f"C{i:04d},Ren".encode() + b"\xe9e,Lee,r@x.org\n"
    path = tmp_path / "crm.csv"
    path.write_bytes(HEADER.encode() + b"".join(lines))
    with pytest.raises(SourceReadError) as info:
        load(_crm(path))
    err = info.value
    assert err.source == "crm"
    assert "too many damaged lines" in str(err) and "max_bad_fraction 0.05" in str(err)
    assert err.hint is not None and "encoding" in err.hint
    loaded = load(_crm(path, max_bad_fraction=0.2))
    assert (loaded.rows_valid, loaded.rows_quarantined) == (90, 10)
    # declared like any source field, and checked
    assert Source.from_dict({"name": "crm", "location": "x.csv", "max_bad_fraction": 0.2}) == (
        Source(name="crm", location="x.csv", max_bad_fraction=0.2)
    )
    with pytest.raises(Exception, match="max_bad_fraction must be a number from 0 to 1"):
        Source(name="crm", location="x.csv", max_bad_fraction=2)


def test_ragged_lines_count_against_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(HEADER + _line(0) + "C0001;Ann;Lee;a@x.org\n" + "C0002;Bo;Ray;b@x.org\n")
    with pytest.raises(SourceReadError, match="too many damaged lines: 2 of 3"):
        load(_crm(path))


def test_damaged_header_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(b"record_id,pr\xe9nom\n1,Ann\n")
    with pytest.raises(SourceReadError, match="the header line is not valid UTF-8"):
        load(_crm(path))


def test_reading_without_quarantine_still_refuses_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(HEADER.encode() + b"C1,Jos\xe9,Lee,j@x.org\n")
    with pytest.raises(SourceReadError, match="not valid UTF-8 at byte"):
        collect_source(_crm(path))


def test_cli_resolves_the_rest_of_a_damaged_export(tmp_path: Path) -> None:
    lines = [_line(i).encode() for i in range(408)]
    lines[407] = b"C0407,Jos\xe9,Lee,jose@x.org\n"
    path = tmp_path / "crm.csv"
    path.write_bytes(HEADER.encode() + b"".join(lines))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["resolve", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    ids = pl.read_parquet(out / "unified_ids.parquet")
    q = pl.read_parquet(out / "quarantine.parquet")
    assert ids.height == 407
    assert q["reason"].to_list() == [
        f"damaged line: {path} line 409: invalid UTF-8 (byte 0xe9 at column 10)"
    ]
