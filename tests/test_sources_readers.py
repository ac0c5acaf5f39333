"""Every file reader on real files: CSV, Parquet (file, glob, directory), NDJSON, JSON, Arrow."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from c360.sources import Source, collect_source

MAPPING = {"First": "first_name", "Last": "last_name", "mail": "email", "dob": "date_of_birth"}


def source(location: Path | str, **kw: object) -> Source:
    opts: dict[str, object] = {
        "name": "crm",
        "location": str(location),
        "record_id": "cust_id",
        "event_time": "modified",
        "columns": MAPPING,
        "keep": ["tier"],
    }
    opts.update(kw)
    return Source(**opts)  # type: ignore[arg-type]


def as_text(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.all().cast(pl.String))


def assert_reads_people(out: pl.DataFrame, people: pl.DataFrame) -> None:
    assert out["_row"].dtype == pl.Int64
    assert_frame_equal(as_text(out), expected(people))


def expected(people: pl.DataFrame) -> pl.DataFrame:
    """What any reader must give for ``people``, compared as text."""
    return as_text(
        people.select(
            pl.lit("crm").alias("source"),
            pl.col("cust_id").cast(pl.String).alias("record_id"),
            pl.col("First").alias("first_name"),
            pl.col("Last").alias("last_name"),
            pl.col("mail").alias("email"),
            pl.col("dob").alias("date_of_birth"),
            pl.col("modified").alias("updated_at"),
            pl.col("tier"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        )
    )


def test_csv(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.csv"
    people.write_csv(path)
    lf = source(path).read()
    assert isinstance(lf, pl.LazyFrame)
    out = lf.collect()
    # every CSV column is text, so bad values are the contract's business
    assert all(dt == pl.String for c, dt in out.schema.items() if c != "_row")
    assert_reads_people(out, people)


def test_csv_is_scanned_lazily(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.csv"
    people.write_csv(path)
    plan = source(path).read().explain()
    assert "csv" in plan.lower()


def test_csv_read_options_separator_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("cust_id;mail\n1;a@x.org\n2;NA\n")
    s = Source(
        name="crm",
        location=str(path),
        record_id="cust_id",
        columns={"mail": "email"},
        read_options={"separator": ";", "null_values": ["NA"]},
    )
    assert collect_source(s)["email"].to_list() == ["a@x.org", None]


def test_tsv_suffix_means_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "crm.tsv"
    path.write_text("record_id\temail\n1\ta@x.org\n")
    assert collect_source(Source(name="s", location=str(path)))["email"].to_list() == ["a@x.org"]


def test_csv_quoted_separators_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text('record_id,full_name,city\n1,"Lee, Ann","New\nYork"\n2,"Say ""hi""",Rome\n')
    out = collect_source(Source(name="s", location=str(path)))
    assert out["full_name"].to_list() == ["Lee, Ann", 'Say "hi"']
    assert out["city"].to_list() == ["New\nYork", "Rome"]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_csv_in_a_declared_single_byte_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes("record_id,first_name\n1,José\n2,Zoë\n".encode(encoding))
    s = Source(name="s", location=str(path), read_options={"encoding": encoding})
    assert collect_source(s)["first_name"].to_list() == ["José", "Zoë"]


def test_csv_glob_numbers_rows_across_files_in_sorted_order(
    tmp_path: Path, people: pl.DataFrame
) -> None:
    (tmp_path / "part").mkdir()
    people.slice(1, 2).write_csv(tmp_path / "part" / "b.csv")
    people.slice(0, 1).write_csv(tmp_path / "part" / "a.csv")
    out = collect_source(source(tmp_path / "part" / "*.csv"))
    assert_reads_people(out, people)


def test_parquet_keeps_types(tmp_path: Path, people: pl.DataFrame) -> None:
    typed = people.with_columns(pl.col("dob").str.to_date())
    path = tmp_path / "crm.parquet"
    typed.write_parquet(path)
    out = collect_source(source(path))
    assert out["date_of_birth"].dtype == pl.Date
    assert_reads_people(out, people)


def test_parquet_glob(tmp_path: Path, people: pl.DataFrame) -> None:
    for i in range(3):
        people.slice(i, 1).write_parquet(tmp_path / f"part-{i}.parquet")
    out = collect_source(source(tmp_path / "part-*.parquet"))
    assert_reads_people(out, people)


def test_parquet_directory(tmp_path: Path, people: pl.DataFrame) -> None:
    d = tmp_path / "crm"
    d.mkdir()
    people.slice(0, 2).write_parquet(d / "0.parquet")
    people.slice(2, 1).write_parquet(d / "1.parquet")
    s = source(d)
    assert s.resolved_format == "parquet"
    assert_reads_people(collect_source(s), people)


def test_csv_directory(tmp_path: Path, people: pl.DataFrame) -> None:
    d = tmp_path / "crm"
    d.mkdir()
    people.slice(0, 2).write_csv(d / "0.csv")
    people.slice(2, 1).write_csv(d / "1.csv")
    (d / "README.md").write_text("not data")
    assert_reads_people(collect_source(source(d, format="csv")), people)


def test_ndjson(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.ndjson"
    people.write_ndjson(path)
    out = collect_source(source(path))
    assert out["record_id"].dtype == pl.String
    assert_reads_people(out, people)


def test_ndjson_with_mixed_id_types(tmp_path: Path) -> None:
    path = tmp_path / "crm.jsonl"
    path.write_text('{"record_id": 1}\n{"record_id": "B-2"}\n{"record_id": 3}\n')
    assert collect_source(Source(name="s", location=str(path)))["record_id"].to_list() == [
        "1",
        "B-2",
        "3",
    ]


def test_json_array(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.json"
    people.write_json(path)
    assert_reads_people(collect_source(source(path)), people)


def test_arrow_ipc(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.arrow"
    people.write_ipc(path)
    assert_reads_people(collect_source(source(path)), people)


def test_format_given_explicitly_for_odd_suffix(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.dat"
    people.write_csv(path)
    assert_reads_people(collect_source(source(path, format="csv")), people)


def test_scan_gives_raw_columns(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.csv"
    people.write_csv(path)
    raw = source(path).scan().collect()
    assert raw.columns == people.columns
    assert raw.height == 3


def test_parquet_hive_directory_gives_partition_columns(tmp_path: Path) -> None:
    for year, rid in (("2023", "a"), ("2024", "b")):
        part = tmp_path / "lake" / f"year={year}"
        part.mkdir(parents=True)
        pl.DataFrame({"record_id": [rid]}).write_parquet(part / "0.parquet")
    s = Source(name="lake", location=str(tmp_path / "lake"), keep=["year"], event_time=None)
    out = collect_source(s).sort("record_id")
    assert out["record_id"].to_list() == ["a", "b"]
    assert out["year"].cast(pl.String).to_list() == ["2023", "2024"]


def test_gzipped_csv(tmp_path: Path, people: pl.DataFrame) -> None:
    path = tmp_path / "crm.csv.gz"
    path.write_bytes(gzip.compress(people.write_csv().encode()))
    assert_reads_people(collect_source(source(path)), people)


@pytest.mark.parametrize("suffix", ["ndjson", "json"])
def test_json_formats_in_a_declared_encoding(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"crm.{suffix}"
    line = '{"record_id": "1", "first_name": "José"}'
    path.write_bytes((line if suffix == "ndjson" else f"[{line}]").encode("latin-1"))
    s = Source(name="s", location=str(path), read_options={"encoding": "latin-1"})
    assert collect_source(s)["first_name"].to_list() == ["José"]
