"""SQL sources through ADBC: a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from c360.exceptions import ColumnNotFoundError, SourceReadError
from c360.sources import Source, collect_source

ROWS = [
    (1, "Ann", "Lee", "ann@x.org", "1980-01-02", "2024-01-01 10:00:00"),
    (2, "Bob", None, "bob@y.org", None, "2024-02-01 11:30:00"),
    (3, "Cy", "Oh", None, "2001-07-04", None),
]
MAPPING = {"given": "first_name", "family": "last_name", "mail": "email", "dob": "date_of_birth"}


def sql_source(location: str, **kw: object) -> Source:
    opts: dict[str, object] = {
        "name": "warehouse",
        "location": location,
        "record_id": "id",
        "event_time": "changed",
        "columns": MAPPING,
    }
    opts.update(kw)
    return Source(**opts)  # type: ignore[arg-type]


def check_rows(out: pl.DataFrame) -> None:
    assert out.columns == [
        "source",
        "record_id",
        "first_name",
        "last_name",
        "email",
        "date_of_birth",
        "updated_at",
        "_row",
    ]
    assert out["source"].unique().to_list() == ["warehouse"]
    assert out["record_id"].to_list() == ["1", "2", "3"]
    assert out["first_name"].to_list() == ["Ann", "Bob", "Cy"]
    assert out["last_name"].to_list() == ["Lee", None, "Oh"]
    assert out["email"].to_list() == ["ann@x.org", "bob@y.org", None]
    assert out["_row"].to_list() == [0, 1, 2]


# ----------------------------------------------------------------- SQLite


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, given TEXT, family TEXT, mail TEXT, "
        "dob TEXT, changed TEXT, secret TEXT)"
    )
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, 'x')", ROWS)
    con.commit()
    con.close()
    return path


def test_sqlite_table(sqlite_db: Path) -> None:
    s = sql_source(f"sqlite:///{sqlite_db}", table="people")  # absolute: four slashes
    assert s.resolved_format == "sql"
    out = collect_source(s)
    check_rows(out)
    assert "secret" not in out.columns


def test_sqlite_relative_path(sqlite_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sqlite_db.parent)
    check_rows(collect_source(sql_source("sqlite:///crm.db", table="people")))


def test_sqlite_query(sqlite_db: Path) -> None:
    s = sql_source(
        f"sqlite:///{sqlite_db}", query="SELECT * FROM people WHERE mail IS NOT NULL ORDER BY id"
    )
    assert collect_source(s)["record_id"].to_list() == ["1", "2"]


def test_sqlite_missing_table(sqlite_db: Path) -> None:
    uri = f"sqlite:///{sqlite_db}"
    with pytest.raises(SourceReadError) as info:
        sql_source(uri, table="customers").read()
    err = info.value
    assert err.source == "warehouse"
    assert err.path == uri
    assert "table 'customers' not found" in str(err)


def test_sqlite_bad_query(sqlite_db: Path) -> None:
    with pytest.raises(SourceReadError, match="the query failed"):
        sql_source(f"sqlite:///{sqlite_db}", query="SELEC nonsense").read()


def test_sqlite_missing_database_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(SourceReadError) as info:
        sql_source(f"sqlite:///{path}", table="people").read()
    assert "no such SQLite database file" in str(info.value)
    assert info.value.source == "warehouse"
    assert not path.exists()


def test_sqlite_uri_without_path() -> None:
    with pytest.raises(SourceReadError, match="needs a file path"):
        sql_source("sqlite://", table="people").read()


def test_sqlite_missing_column(sqlite_db: Path) -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        sql_source(f"sqlite:///{sqlite_db}", table="people", record_id="customer_id").read()
    assert "given" in info.value.available
    assert info.value.source == "warehouse"


def test_server_down_names_source_and_masks_password() -> None:
    uri = "postgresql://c360:hunter2@127.0.0.1:1/nothing"  # nothing listens on port 1
    with pytest.raises(SourceReadError) as info:
        sql_source(uri, table="people").read()
    msg = str(info.value)
    assert "cannot connect" in msg
    assert "warehouse" in msg
    assert "hunter2" not in msg
    assert "c360:***@127.0.0.1:1" in msg


# ----------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_table(postgres_uri: str) -> Iterator[str]:
    """A fresh table (unique name) holding ROWS, dropped afterwards."""
    dbapi = pytest.importorskip("adbc_driver_postgresql.dbapi")
    name = f"people_{uuid.uuid4().hex[:10]}"
    with dbapi.connect(postgres_uri) as con:
        cur = con.cursor()
        cur.execute(
            f"CREATE TABLE {name} (id integer PRIMARY KEY, given text, family text, mail text, "
            "dob date, changed timestamp, balance numeric(10, 2))"
        )
        for row in ROWS:
            cur.execute(
                f"INSERT INTO {name} VALUES ($1, $2, $3, $4, $5::date, $6::timestamp, 12.50)",
                parameters=row,
            )
        con.commit()
        cur.close()
    yield name
    with dbapi.connect(postgres_uri) as con:
        cur = con.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        con.commit()
        cur.close()


@pytest.mark.postgres
def test_postgres_table(postgres_uri: str, pg_table: str) -> None:
    out = collect_source(sql_source(postgres_uri, table=pg_table, keep=["balance"]))
    check_rows(out.drop("balance"))
    assert out["date_of_birth"].dtype == pl.Date
    assert out["updated_at"].dtype == pl.Datetime("us")
    assert out["balance"].to_list() == ["12.50"] * 3  # numeric arrives as exact text


@pytest.mark.postgres
def test_postgres_schema_qualified_table_and_query(postgres_uri: str, pg_table: str) -> None:
    check_rows(collect_source(sql_source(postgres_uri, table=f"public.{pg_table}")))
    s = sql_source(postgres_uri, query=f"SELECT * FROM {pg_table} WHERE id >= 2 ORDER BY id")
    assert collect_source(s)["record_id"].to_list() == ["2", "3"]


@pytest.mark.postgres
def test_postgres_missing_table(postgres_uri: str) -> None:
    with pytest.raises(SourceReadError) as info:
        sql_source(postgres_uri, table="no_such_table_here").read()
    assert "table 'no_such_table_here' not found" in str(info.value)
    assert info.value.source == "warehouse"


@pytest.mark.postgres
def test_postgres_missing_database(postgres_uri: str) -> None:
    uri = postgres_uri.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(SourceReadError, match="cannot connect"):
        sql_source(uri, table="people").read()


@pytest.mark.postgres
def test_postgres_larger_table_arrives_as_arrow(postgres_uri: str) -> None:
    dbapi = pytest.importorskip("adbc_driver_postgresql.dbapi")
    name = f"many_{uuid.uuid4().hex[:10]}"
    n = 20_000
    data = pa.table(
        {"id": pa.array(range(n), pa.int64()), "mail": pa.array([f"u{i}@x.org" for i in range(n)])}
    )
    with dbapi.connect(postgres_uri) as con:
        cur = con.cursor()
        cur.adbc_ingest(name, data, mode="create")
        con.commit()
        cur.close()
    try:
        s = Source(
            name="big", location=postgres_uri, table=name, record_id="id", columns={"mail": "email"}
        )
        out = collect_source(s)
        assert out.height == n
        assert out["record_id"].n_unique() == n
        assert set(out["email"].to_list()) == {f"u{i}@x.org" for i in range(n)}
    finally:
        with dbapi.connect(postgres_uri) as con:
            cur = con.cursor()
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            con.commit()
            cur.close()
