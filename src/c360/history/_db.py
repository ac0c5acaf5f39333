"""The history's database: one small interface over SQLite (stdlib) and PostgreSQL (ADBC).

SQL is written once with ``?`` placeholders and types both databases take
(``TEXT``, ``BIGINT``, ``DOUBLE PRECISION``). A write runs in one transaction
that holds the database's writer lock from its first statement: SQLite's
``BEGIN IMMEDIATE`` (other writers wait up to ``timeout``), PostgreSQL's
transaction-scoped advisory lock. Two runs recording at once therefore take
turns; neither sees the other half done.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from c360._sql import mask_uri, sqlite_path
from c360.exceptions import HistoryError

__all__ = ["HISTORY_FILE", "Database", "connect", "describe_location", "sqlite_file"]

#: The history file kept in an output directory by default.
HISTORY_FILE: Final = "history.sqlite"
#: The key of PostgreSQL's advisory lock that serialises history writers.
_PG_LOCK: Final = 360_360_015
_PLACEHOLDER = re.compile(r"\?")


class Database:
    """A connection to the history's database; ``dialect`` is ``sqlite`` or ``postgresql``."""

    def __init__(self, conn: Any, dialect: str, where: str) -> None:
        self._conn = conn
        self.dialect = dialect
        self.where = where

    def _sql(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        count = iter(range(1, 1_000_000))
        return _PLACEHOLDER.sub(lambda _: f"${next(count)}", sql)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement."""
        try:
            cur = self._conn.cursor()
            try:
                cur.execute(self._sql(sql), tuple(params))
                rows = cur.fetchall() if cur.description else []
            finally:
                cur.close()
        except Exception as exc:  # both drivers raise their own types
            raise HistoryError(f"history query failed: {exc}", path=self.where) from exc
        return [tuple(r) for r in rows]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self.query(sql, params)

    @contextmanager
    def write(self) -> Iterator[None]:
        """One transaction holding the writer lock; committed on success, rolled back on error."""
        try:
            if self.dialect == "sqlite":
                self._conn.execute("BEGIN IMMEDIATE")
            else:
                cur = self._conn.cursor()
                cur.execute(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
                cur.close()
        except Exception as exc:
            raise HistoryError(f"cannot lock the history: {exc}", path=self.where) from exc
        try:
            yield
        except BaseException:
            self._conn.rollback()
            raise
        try:
            self._conn.commit()
        except Exception as exc:
            raise HistoryError(f"cannot commit to the history: {exc}", path=self.where) from exc

    def read_done(self) -> None:
        """End the read transaction PostgreSQL opened implicitly (a no-op for SQLite)."""
        if self.dialect == "postgresql":
            self._conn.rollback()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def describe_location(location: str | Path) -> str:
    """The location for messages: a path, or a URI with its password hidden."""
    return mask_uri(str(location))


def sqlite_file(location: str | Path) -> Path | None:
    """The SQLite file a history location names (``None``: a PostgreSQL URI).

    ``location`` is a directory (its ``history.sqlite``), a SQLite file path,
    a ``sqlite:///`` URI or a ``postgresql://`` URI.

    Examples:
        >>> sqlite_file("sqlite:////runs/h.db").as_posix(), sqlite_file("postgresql://db/x")
        ('/runs/h.db', None)

    """
    text = str(location)
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        return None
    if scheme == "sqlite":
        return sqlite_path(text)
    if scheme:
        raise HistoryError(
            f"a history location is a directory, a SQLite file or a sqlite:// or "
            f"postgresql:// URI; got scheme {scheme!r}",
            path=describe_location(text),
        )
    path = Path(text)
    return path / HISTORY_FILE if path.is_dir() else path


def connect(location: str | Path, *, timeout: float = 30.0) -> Database:
    """Open the history at ``location`` (see [`sqlite_file`][sqlite_file] for the forms)."""
    path = sqlite_file(location)
    if path is None:
        return _postgres(str(location))
    return _sqlite(path, timeout)


def _sqlite(path: Path, timeout: float) -> Database:
    if not path.parent.is_dir():
        raise HistoryError("the history's directory does not exist", path=str(path))
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        # a quick check that the file is a database (sqlite opens lazily)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise HistoryError(
            f"cannot open the run history: {exc}",
            path=str(path),
            hint="point history at a SQLite file written by c360, or a new path",
        ) from exc
    return Database(conn, "sqlite", str(path))


def _postgres(uri: str) -> Database:
    from c360._optional import import_optional

    dbapi = import_optional("adbc_driver_postgresql.dbapi")
    clean = uri.replace("postgres://", "postgresql://", 1)
    if clean.startswith("postgresql+"):
        clean = "postgresql://" + clean.split("://", 1)[1]
    try:
        conn = dbapi.connect(clean)
    except Exception as exc:  # the driver raises its own types
        raise HistoryError(
            f"cannot connect to the run history: {exc}", path=describe_location(uri)
        ) from exc
    return Database(conn, "postgresql", describe_location(uri))
