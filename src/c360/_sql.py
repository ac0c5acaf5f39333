"""SQL sources: their URIs, and reading a table or a query through ADBC.

A SQL source's location is a URI (``sqlite:///crm.db``,
``postgresql://user@host:5432/db``). ``read_sql`` runs the source's query, or
reads its whole table, and returns Arrow record batches as one table;
``mask_uri`` hides the password before a URI reaches a message or a log. The
names are re-exported by ``c360._readers``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

import pyarrow as pa

from c360._optional import import_optional
from c360.exceptions import SourceReadError

SQL_SCHEMES: Final = ("sqlite", "postgresql", "postgres")


def is_sql_uri(location: str) -> bool:
    """Whether ``location`` is a SQL URI (``sqlite:///...``, ``postgresql://...``).

    Examples:
        >>> is_sql_uri("postgresql://me@db:5432/crm"), is_sql_uri("data/crm.csv")
        (True, False)

    """
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower().split("+")[0] in SQL_SCHEMES


def mask_uri(uri: str) -> str:
    """Hide the password in a URI so that it never reaches a message or a log.

    Examples:
        >>> mask_uri("postgresql://me:s3cret@db:5432/crm")
        'postgresql://me:***@db:5432/crm'

    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def quote_identifier(name: str) -> str:
    """Quote a (possibly schema-qualified) table name for SQLite and PostgreSQL.

    Examples:
        >>> print(quote_identifier("public.people"))
        "public"."people"

    """
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def sqlite_path(uri: str) -> Path:
    """Return the file of a ``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` URI.

    Examples:
        >>> sqlite_path("sqlite:////data/crm.db").as_posix()
        '/data/crm.db'

    """
    rest = uri.split("://", 1)[1]
    if not rest.startswith("/") or rest in ("/", ""):
        raise SourceReadError(
            "a SQLite URI needs a file path",
            path=uri,
            hint="sqlite:///relative/path.db or sqlite:////absolute/path.db",
        )
    rest = rest[1:].split("?", 1)[0]
    return Path(unquote(rest))


def read_sql(uri: str, *, table: str | None, query: str | None, source: str) -> pa.Table:
    """Run a query (or read a whole table) through ADBC and return an Arrow table.

    Rows come back as Arrow record batches: no Python object per row.
    """
    sql = query if query is not None else f"SELECT * FROM {quote_identifier(table or '')}"
    scheme = uri.split("://", 1)[0].lower().split("+")[0]
    if scheme == "sqlite":
        dbapi = import_optional("adbc_driver_sqlite.dbapi")
        path = sqlite_path(uri)
        if not path.is_file():
            raise SourceReadError(
                f"no such SQLite database file: {path}",
                source=source,
                path=uri,
                hint="sqlite:///relative/path.db is relative to the working directory "
                f"({os.getcwd()}); use four slashes for an absolute path",
            )
        target = f"file:{path.resolve().as_posix()}?mode=ro"
    else:
        dbapi = import_optional("adbc_driver_postgresql.dbapi")
        target = "postgresql://" + uri.split("://", 1)[1]
    shown = mask_uri(uri)
    try:
        conn = dbapi.connect(target)
    except dbapi.Error as err:
        raise SourceReadError(
            f"cannot connect to the database: {_first_line(err)}",
            source=source,
            path=shown,
            hint="is the server running and reachable? check host, port, user and database",
        ) from err
    try:
        cur = conn.cursor()
        try:
            cur.execute(sql)
            tbl = cur.fetch_record_batch().read_all()
        except dbapi.Error as err:
            text = str(err)
            if table is not None and _looks_like_missing_table(text):
                raise SourceReadError(
                    f"table {table!r} not found: {_first_line(err)}",
                    source=source,
                    path=shown,
                    hint="check the table name and schema (schema.table)",
                ) from err
            raise SourceReadError(
                f"the query failed: {_first_line(err)}",
                source=source,
                path=shown,
            ) from err
        finally:
            cur.close()
    finally:
        conn.close()
    return strip_extension_types(tbl)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _looks_like_missing_table(text: str) -> bool:
    low = text.lower()
    return "no such table" in low or ("relation" in low and "does not exist" in low)


def strip_extension_types(tbl: pa.Table) -> pa.Table:
    """Replace Arrow extension columns (e.g. PostgreSQL ``numeric``) by their storage."""
    columns = []
    changed = False
    for col in tbl.columns:
        if isinstance(col.type, pa.ExtensionType):
            storage = [chunk.storage for chunk in col.chunks]
            columns.append(pa.chunked_array(storage, type=col.type.storage_type))
            changed = True
        else:
            columns.append(col)
    if not changed:
        return tbl
    return pa.Table.from_arrays(columns, names=tbl.column_names)
