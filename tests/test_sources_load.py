"""load(): reading plus contract validation; bad rows end in quarantine, never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from c360.exceptions import ColumnNotFoundError, EmptySourceError, SourceReadError
from c360.sources import Loaded, Source, load

contracts = pytest.importorskip("c360.contracts")

HEADER = "cust_id,First,mail,dob,modified\n"


def crm(path: Path, **kw: object) -> Source:
    opts: dict[str, object] = {
        "name": "crm",
        "location": str(path),
        "record_id": "cust_id",
        "event_time": "modified",
        "columns": {"First": "first_name", "mail": "email", "dob": "date_of_birth"},
    }
    opts.update(kw)
    return Source(**opts)  # type: ignore[arg-type]


def write(tmp_path: Path, body: str, name: str = "crm.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def assert_accounted(loaded: Loaded) -> None:
    """Every row read is in exactly one of valid or quarantine."""
    assert loaded.rows_read == loaded.rows_valid + loaded.rows_quarantined
    rows = loaded.valid["_row"].to_list() + loaded.quarantine["row_number"].to_list()
    assert sorted(rows) == sorted(set(rows))
    assert set(loaded.quarantine.columns) >= {"source", "record_id", "row_number", "reason", "raw"}


def test_clean_csv_is_all_valid_with_canonical_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,Ann,ann@x.org,1980-01-02,2024-01-01 10:00:00\n"
        "2,Bob,bob@y.org,1975-12-31,2024-02-01 11:30:00\n",
    )
    loaded = load(crm(path))
    assert_accounted(loaded)
    assert loaded.rows_read == 2
    assert loaded.rows_quarantined == 0
    assert loaded.valid["date_of_birth"].dtype == pl.Date
    assert loaded.valid["record_id"].to_list() == ["1", "2"]
    assert loaded.seconds >= 0


def test_wrong_types_become_quarantine_rows_naming_the_column(tmp_path: Path) -> None:
    # the canonical contract quarantines an unparseable event time (it drives survivorship)
    path = write(
        tmp_path,
        "1,Ann,ann@x.org,1980-01-02,2024-01-01\n"
        "2,Bob,bob@y.org,1975-12-31,last tuesday\n"
        "3,Cy,cy@z.org,2001-07-04,2024-03-01\n",
    )
    loaded = load(crm(path))
    assert_accounted(loaded)
    q = loaded.quarantine
    assert q["record_id"].to_list() == ["2"]
    assert q["row_number"].to_list() == [1]
    assert "updated_at" in q["reason"].item()
    assert loaded.valid["record_id"].to_list() == ["1", "3"]
    assert loaded.valid["updated_at"].dtype == pl.Datetime("us")


def test_duplicate_record_ids_are_quarantined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,Ann,ann@x.org,1980-01-02,2024-01-01\n"
        "1,Annie,ann@x.org,1980-01-02,2024-01-05\n"
        "2,Bob,bob@y.org,1975-12-31,2024-02-01\n",
    )
    loaded = load(crm(path))
    assert_accounted(loaded)
    assert loaded.valid["record_id"].is_duplicated().sum() == 0
    assert "1" in loaded.quarantine["record_id"].to_list()
    assert "2" in loaded.valid["record_id"].to_list()


def test_missing_record_id_value_is_quarantined(tmp_path: Path) -> None:
    path = write(
        tmp_path, ",Ann,ann@x.org,1980-01-02,2024-01-01\n2,Bob,bob@y.org,1975-12-31,2024-02-01\n"
    )
    loaded = load(crm(path))
    assert_accounted(loaded)
    assert loaded.quarantine["row_number"].to_list() == [0]
    assert loaded.valid["record_id"].to_list() == ["2"]


def test_truncated_last_line_is_a_quarantine_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,Ann,ann@x.org,1980-01-02,2024-01-01\n2,Bob,bob@y.org,1975-12-31,2024-02-01\n3,Cy,cy@z.o",
    )  # the export was cut off here
    loaded = load(crm(path))
    assert_accounted(loaded)
    q = loaded.quarantine
    assert q["row_number"].to_list() == [2]
    assert q["record_id"].to_list() == ["3"]
    reason = q["reason"].item()
    assert "line 4" in reason
    assert "3 field(s)" in reason
    assert "header has 5" in reason
    assert str(path) in reason
    raw = json.loads(q["raw"].item())
    assert raw["cust_id"] == "3"
    assert raw["mail"] == "cy@z.o"
    assert loaded.valid["record_id"].to_list() == ["1", "2"]
    assert any("wrong number of fields" in n for n in loaded.read_notes)


def test_too_many_fields_is_a_quarantine_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,Ann,ann@x.org,1980-01-02,2024-01-01,surprise\n2,Bob,bob@y.org,1975-12-31,2024-02-01\n",
    )
    loaded = load(crm(path))
    assert_accounted(loaded)
    assert loaded.quarantine["record_id"].to_list() == ["1"]
    assert "6 field(s)" in loaded.quarantine["reason"].item()


def test_empty_lines_are_skipped_with_a_note(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,Ann,ann@x.org,1980-01-02,2024-01-01\n\n2,Bob,bob@y.org,1975-12-31,2024-02-01\n\n\n",
    )
    loaded = load(crm(path))
    assert_accounted(loaded)
    assert loaded.rows_read == 2
    assert loaded.rows_quarantined == 0
    assert loaded.valid["_row"].to_list() == [0, 2]
    assert any("3 empty line" in n for n in loaded.read_notes)


def test_ragged_rows_across_a_glob_point_at_their_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(HEADER + "1,Ann,ann@x.org,1980-01-02,2024-01-01\n")
    (tmp_path / "b.csv").write_text(HEADER + "2,Bob\n3,Cy,cy@z.org,2001-07-04,2024-03-01\n")
    loaded = load(crm(tmp_path / "*.csv"))
    assert_accounted(loaded)
    q = loaded.quarantine
    assert q["row_number"].to_list() == [1]
    assert "b.csv line 2" in q["reason"].item()
    assert loaded.valid["record_id"].to_list() == ["1", "3"]


def test_header_only_loads_nothing(tmp_path: Path) -> None:
    loaded = load(crm(write(tmp_path, "")))
    assert loaded.rows_read == loaded.rows_valid == loaded.rows_quarantined == 0


def test_whole_source_failures_propagate_typed(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptySourceError):
        load(crm(empty))
    # one line that is not UTF-8 is quarantined (see test_damaged_lines); a file
    # mostly not UTF-8 is another encoding, and fails as a whole
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        HEADER.encode()
        + b"1,Jos\xe9,a@x.org,1980-01-02,2024-01-01\n"
        + b"2,Ren\xe9e,r@x.org,1980-01-02,2024-01-01\n"
        + b"3,Ann,a@x.org,1980-01-02,2024-01-01\n"
    )
    with pytest.raises(SourceReadError) as info:
        load(crm(bad))
    assert info.value.source == "crm"
    assert "too many damaged lines: 2" in str(info.value)
    assert "line 2: invalid UTF-8 (byte 0xe9" in str(info.value)
    assert info.value.hint is not None and "latin-1" in info.value.hint
    with pytest.raises(ColumnNotFoundError):
        load(crm(write(tmp_path, "1,Ann,a,b,c\n"), record_id="customer"))


def test_latin1_source_loads_with_declared_encoding(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes((HEADER + "1,José,j@x.org,1980-01-02,2024-01-01\n").encode("latin-1"))
    loaded = load(crm(path, read_options={"encoding": "latin-1"}))
    assert loaded.valid["first_name"].to_list() == ["José"]


def test_explicit_contract_object(tmp_path: Path) -> None:
    path = write(tmp_path, "1,Ann,ann@x.org,1980-01-02,2024-01-01\n")
    loaded = load(crm(path), contract=contracts.canonical_contract())
    assert loaded.rows_valid == 1


def test_frame_source_loads(people: pl.DataFrame) -> None:
    s = Source(
        name="crm",
        data=people,
        record_id="cust_id",
        event_time="modified",
        columns={
            "First": "first_name",
            "Last": "last_name",
            "mail": "email",
            "dob": "date_of_birth",
        },
    )
    loaded = load(s)
    assert_accounted(loaded)
    assert loaded.rows_valid == 3
    assert loaded.read_notes == ()


def test_headerless_csv_checks_fields_against_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("1,Ann,2024-01-01\n2,Bob\n3,Cy,2024-03-01\n")
    c0, c1, c2 = pl.read_csv(path, has_header=False, n_rows=1).columns  # polars' own names
    s = Source(
        name="crm",
        location=str(path),
        record_id=c0,
        event_time=c2,
        columns={c1: "first_name"},
        read_options={"has_header": False},
    )
    loaded = load(s)
    assert_accounted(loaded)
    assert loaded.quarantine["row_number"].to_list() == [1]
    assert "line 2 has 2 field(s) where the header has 3" in loaded.quarantine["reason"].item()


def test_line_moving_read_options_skip_the_field_check_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("# exported 2024-05-01\n" + HEADER + "1,Ann,a@x.org,1980-01-02,2024-01-01\n")
    loaded = load(crm(path, read_options={"skip_rows": 1}))
    assert loaded.rows_valid == 1
    assert any("not checked" in n and "skip_rows" in n for n in loaded.read_notes)
