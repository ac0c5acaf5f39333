"""Separator and encoding detection for CSV exports, and the report noticing a changed format."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import c360
from c360._sniff import SEPARATORS, sniff_encoding, sniff_separator
from c360.exceptions import SourceReadError
from c360.observe import build_report
from c360.sources import Source, load

ROWS = [
    ["record_id", "first_name", "last_name", "city"],
    ["C1", "Zoë", "Lee", "Lyon"],
    ["C2", "Bo; Jr, III", "Ray|Ross", "Metz"],  # other separators inside a quoted value
    ["C3", "Ann", "Dupont", "Saint-Étienne"],
]


def _csv_text(rows: list[list[str]], sep: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("sep", SEPARATORS)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_any_common_separator_and_encoding_loads(tmp_path: Path, sep: str, encoding: str) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(_csv_text(ROWS, sep).encode(encoding))
    loaded = load(Source(name="crm", location=str(path)))
    assert loaded.valid.select("record_id", "first_name", "last_name", "city").rows() == [
        tuple(r) for r in ROWS[1:]
    ]
    assert loaded.file_format == {
        "format": "csv",
        "separator": sep,
        "encoding": {"utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}.get(
            encoding, "utf-16" if encoding == "utf-16" else encoding
        ),
        "detected": ["separator", "encoding"],
    }


def test_declared_options_win_and_are_not_reported_as_detected(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(_csv_text(ROWS, ";"), encoding="utf-8")
    loaded = load(Source(name="crm", location=str(path), read_options={"separator": ";"}))
    assert loaded.file_format is not None and loaded.file_format["detected"] == ["encoding"]
    # a declared separator is trusted: declared wrongly, the file reads as one column
    wrong = Source(name="crm", location=str(path), read_options={"separator": "|"})
    with pytest.raises(c360.C360Error):
        load(wrong)


def test_files_of_one_source_written_differently_fail(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(_csv_text(ROWS, ","), encoding="utf-8")
    b.write_text(_csv_text(ROWS, ";"), encoding="utf-8")
    with pytest.raises(SourceReadError, match="written differently") as info:
        load(Source(name="crm", location=[str(a), str(b)]))
    assert "comma-separated, utf-8" in str(info.value)
    assert "semicolon-separated, utf-8" in str(info.value)
    assert info.value.source == "crm"


def test_a_single_column_file_stays_comma(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("record_id\nC1\nC2\n", encoding="utf-8")
    loaded = load(Source(name="ids", location=str(path)))
    assert loaded.rows_valid == 2
    assert loaded.file_format is not None and loaded.file_format["separator"] == ","


_cell = st.text(alphabet=st.sampled_from('ab ,;|\t"xyz1'), min_size=0, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    sep=st.sampled_from(SEPARATORS),
    columns=st.integers(min_value=2, max_value=6),
    body=st.lists(st.lists(_cell, min_size=6, max_size=6), min_size=1, max_size=12),
)
def test_sniffed_separator_matches_the_writer(
    sep: str, columns: int, body: list[list[str]]
) -> None:
    header = [f"col{i}" for i in range(columns)]
    text = _csv_text([header, *[row[:columns] for row in body]], sep)
    assert sniff_separator(text) == sep


def test_encoding_heuristics_do_not_misfire_on_utf8() -> None:
    assert sniff_encoding("record_id,name\n1,Zoë\n".encode()) == "utf-8"
    assert sniff_encoding(b"") == "utf-8"
    assert sniff_encoding("id,名前\n1,山田\n".encode()) == "utf-8"


def test_report_records_the_format_and_notices_a_change(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(_csv_text(ROWS, ","), encoding="utf-8")
    day1 = c360.resolve(Source(name="crm", location=str(path)))
    day1.write(tmp_path / "day1")
    rep1 = build_report(day1)
    assert rep1.source("crm")["file_format"]["separator"] == ","
    assert not [i for i in rep1.incidents if i["kind"] == "format_change"]

    path.write_bytes(_csv_text(ROWS, ";").encode("utf-16"))
    day2 = c360.resolve(Source(name="crm", location=str(path)))
    rep2 = build_report(day2, previous=tmp_path / "day1")
    changes = [i for i in rep2.incidents if i["kind"] == "format_change"]
    assert len(changes) == 1
    assert changes[0]["severity"] == "warning"
    assert "separator ',' → ';'" in changes[0]["message"]
    assert "encoding 'utf-8' → 'utf-16'" in changes[0]["message"]
    assert day2.unified_ids.num_rows == 3
    html = c360.observe.render_html(rep2)
    assert "semicolon-separated, utf-16 (separator and encoding detected)" in html
    assert pl.from_arrow(day2.unified_ids).height == 3
