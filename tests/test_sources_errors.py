"""Whole-source failures on real malformed files: typed errors that name source, file, column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

from c360 import _readers
from c360.exceptions import (
    C360Error,
    ColumnNotFoundError,
    ConfigError,
    EmptySourceError,
    SourceReadError,
)
from c360.sources import Source, collect_source, source_context


def csv_source(path: Path, **kw: object) -> Source:
    opts: dict[str, object] = {"name": "crm", "location": str(path), "event_time": None}
    opts.update(kw)
    return Source(**opts)  # type: ignore[arg-type]


def assert_names(err: C360Error, *, source: str, path: Path | str) -> None:
    assert err.source == source
    assert err.path == str(path)
    assert f"source={source!r}" in str(err)
    assert str(path) in str(err)


# ----------------------------------------------------------------- missing input


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(SourceReadError) as info:
        csv_source(path).read()
    assert "no such file" in str(info.value)
    assert_names(info.value, source="crm", path=path)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    pattern = str(tmp_path / "exports" / "*.parquet")
    with pytest.raises(SourceReadError) as info:
        Source(name="billing", location=pattern).read()
    assert "matches no file" in str(info.value)
    assert_names(info.value, source="billing", path=pattern)


def test_directory_without_files_of_the_format(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceReadError) as info:
        Source(name="s", location=str(tmp_path), format="parquet").read()
    assert "no parquet file" in str(info.value)


def test_unknown_read_option_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("record_id\n1\n")
    with pytest.raises(ConfigError) as info:
        csv_source(path, read_options={"sepparator": ";"}).read()
    assert info.value.source == "crm"
    assert info.value.column == "read_options"


# ----------------------------------------------------------------- encodings


def test_bad_utf8_names_byte_line_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    body = "record_id,first_name\n" + "".join(f"{i},Ann\n" for i in range(1000))
    bad_line = body.encode() + b"1000,Jos\xe9\n"
    path.write_bytes(bad_line + b"1001,Bob\n")
    with pytest.raises(SourceReadError) as info:
        collect_source(csv_source(path))
    err = info.value
    assert_names(err, source="crm", path=path)
    offset = len(body.encode()) + len(b"1000,Jos")
    assert f"at byte {offset}" in str(err)
    assert "line 1002" in str(err)
    assert err.hint is not None
    assert "latin-1" in err.hint
    # the advice works
    fixed = collect_source(csv_source(path, read_options={"encoding": "latin-1"}))
    assert fixed.filter(pl.col("record_id") == "1000")["first_name"].item() == "José"


def test_declared_encoding_that_does_not_fit(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes("record_id,name\n1,Zoë\n".encode("latin-1"))
    with pytest.raises(SourceReadError) as info:
        csv_source(path, read_options={"encoding": "ascii"}).read()
    assert_names(info.value, source="crm", path=path)
    assert "does not decode as ascii at byte 19 (line 2)" in str(info.value)


def test_unknown_encoding(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("record_id\n1\n")
    with pytest.raises(SourceReadError, match="unknown encoding 'klingon'"):
        csv_source(path, read_options={"encoding": "klingon"}).read()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.sampled_from("ab,\né€😀"), max_size=60),
    bad=st.sampled_from([b"\xff", b"\xe9", b"\xc3", b"\x80"]),
    where=st.integers(min_value=0, max_value=60),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_locate_bad_utf8_agrees_with_python(
    tmp_path: Path, text: str, bad: bytes, where: int, chunk: int
) -> None:
    raw = text.encode()
    cut = min(where, len(raw))
    data = raw[:cut] + bad + raw[cut:]
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    try:
        data.decode("utf-8")
        expected = None
    except UnicodeDecodeError as err:
        expected = (err.start, data[: err.start].count(b"\n") + 1, data[err.start])
    assert _readers.locate_bad_utf8(path, chunk_size=chunk) == expected


# ----------------------------------------------------------------- empty and header-only


def test_empty_file_is_an_empty_source_error(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(b"")
    with pytest.raises(EmptySourceError) as info:
        csv_source(path).read()
    assert_names(info.value, source="crm", path=path)


def test_header_only_file_has_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("record_id,email\n")
    out = collect_source(csv_source(path))
    assert out.height == 0
    assert out.columns == ["source", "record_id", "email", "_row"]


# ----------------------------------------------------------------- missing columns


def test_missing_id_column_names_source_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("customer,email\n1,a@x.org\n")
    with pytest.raises(ColumnNotFoundError) as info:
        csv_source(path).read()
    err = info.value
    assert_names(err, source="crm", path=path)
    assert err.column == "record_id"
    assert err.missing == ["record_id"]
    assert err.available == ["customer", "email"]
    assert "'customer'" in str(err)


def test_missing_mapped_column_in_parquet(tmp_path: Path) -> None:
    path = tmp_path / "crm.parquet"
    pl.DataFrame({"id": [1], "mail": ["a@x.org"]}).write_parquet(path)
    with pytest.raises(ColumnNotFoundError) as info:
        Source(
            name="crm", location=str(path), record_id="id", columns={"email_address": "email"}
        ).read()
    assert info.value.missing == ["email_address"]
    assert info.value.path == str(path)


# ----------------------------------------------------------------- malformed content


def test_truncated_inside_a_quoted_value(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text('record_id,full_name,city\n1,"Lee, Ann",Oslo\n2,"Ng, Bo')
    with pytest.raises(SourceReadError) as info:
        collect_source(csv_source(path))
    assert_names(info.value, source="crm", path=path)
    assert "line 3" in str(info.value)
    assert "never closed" in str(info.value)


def test_stray_quote_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text('record_id,last_name\n1,Lee\n2,O"Brien\n3,Ng\n')
    with pytest.raises(SourceReadError) as info:
        collect_source(csv_source(path))
    assert "line 3" in str(info.value)
    # and declaring that the file has no quoting reads it
    out = collect_source(csv_source(path, read_options={"quote_char": None}))
    assert out["last_name"].to_list() == ["Lee", 'O"Brien', "Ng"]


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "crm.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(SourceReadError) as info:
        Source(name="crm", location=str(path)).read()
    assert_names(info.value, source="crm", path=path)
    assert isinstance(info.value.__cause__, Exception)


def test_bad_ndjson_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text('{"record_id": 1}\n{"record_id": 2}\n{"record_id": 3,\n{"record_id": 4}\n')
    with pytest.raises(SourceReadError) as info:
        collect_source(Source(name="events", location=str(path), event_time=None))
    assert_names(info.value, source="events", path=path)
    assert "line 3" in str(info.value)


def test_json_that_is_not_an_array_of_objects(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    path.write_text("[1, 2,")
    with pytest.raises(SourceReadError) as info:
        Source(name="crm", location=str(path)).read()
    assert_names(info.value, source="crm", path=path)


def test_source_context_wraps_foreign_errors_at_collect_time(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("record_id,n\n1,x\n")
    s = csv_source(path)
    lf = s.read().with_columns(pl.col("n").cast(pl.Int64))
    with pytest.raises(SourceReadError) as info, source_context(s):
        lf.collect()
    assert_names(info.value, source="crm", path=path)
    assert isinstance(info.value.__cause__, pl.exceptions.PolarsError)


def test_source_context_leaves_unrelated_errors_alone() -> None:
    with pytest.raises(KeyError), source_context("crm", "crm.csv"):
        raise KeyError("not a reading problem")


# ----------------------------------------------------------------- field counts


def test_field_check_finds_ragged_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        'record_id,name,city\n1,Ann,Oslo\n2,Bob\n3,"Lee, Cy","New\nYork"\n\n4,a,b,c\n5,"x",y\n'
    )
    inputs = _readers.file_inputs([path], {})
    check = _readers.check_csv_fields(inputs, {})
    assert check.records == 6
    assert check.blank.to_list() == [3]
    assert check.rows.select("_row", "line", "fields", "expected").rows() == [
        (1, 3, 2, 3),
        (4, 7, 4, 3),
    ]
    assert pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True).height == 6


csv_value = st.text(alphabet=st.sampled_from('ab ,"\n;'), max_size=6)


@settings(
    max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    width=st.integers(min_value=1, max_value=4),
    rows=st.lists(st.lists(csv_value, min_size=1, max_size=6), max_size=12),
    sep=st.sampled_from([",", ";"]),
)
def test_field_check_agrees_with_the_csv_module(
    tmp_path: Path, width: int, rows: list[list[str]], sep: str
) -> None:
    """The vectorised field count against Python's csv module, on quoted random rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([f"c{i}" for i in range(width)])
    writer.writerows(rows)
    path = tmp_path / "r.csv"
    path.write_text(buf.getvalue())
    parsed = list(csv.reader(io.StringIO(buf.getvalue()), delimiter=sep))[1:]
    check = _readers.check_csv_fields(_readers.file_inputs([path], {}), {"separator": sep})
    assert check.records == len(parsed)
    assert check.blank.to_list() == [i for i, r in enumerate(parsed) if r == []]
    expected = [(i, len(r)) for i, r in enumerate(parsed) if r and len(r) != width]
    assert check.rows.select("_row", "fields").rows() == expected
