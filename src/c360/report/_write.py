"""Write the run report to an output directory."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c360.report._build import build_report
from c360.report._html import render_html
from c360.report._model import (
    REPORT_HTML,
    REPORT_JSON,
    TABLES_DIR,
    DeferredTable,
    ReportConfig,
    RunReport,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from c360.pipeline import Resolution

__all__ = ["write_report"]


def _atomic_write(path: Path, text: str, *, private: bool) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half a file.

    The file gets the process's default mode (0666 less the umask, like the
    Parquet outputs) unless ``private``: a report that shows personal values
    is created owner-only (0600). The kernel applies the umask at creation,
    so no process-wide umask is touched.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def shows_pii(report: RunReport) -> bool:
    """Whether a report may hold personal values in clear (then it is written 0600).

    Reports written before masking existed say nothing, and are taken to.
    """
    return bool(report.data.get("run", {}).get("pii") != "mask")


def write_report(
    resolution_or_report: Resolution | RunReport,
    out_dir: str | Path,
    *,
    run_id: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    previous: Any = None,
    config: ReportConfig | None = None,
) -> list[Path]:
    """Write ``report.json``, ``report.html`` and the report's tables into ``out_dir``.

    Tables (lineage, near misses, refused links) go to ``out_dir/report_tables/``
    as Parquet. Given a [`Resolution`][c360.Resolution], the report is built first
    with [`build_report`][build_report] and the keyword arguments.

    Returns:
        The paths written.

    Examples:
        >>> import tempfile, polars as pl, c360
        >>> df = pl.DataFrame({"source": ["a", "b"], "record_id": ["1", "2"],
        ...                    "email": ["x@y.io"] * 2})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     [p.name for p in write_report(c360.resolve(df), d)][:2]
        ['report.json', 'report.html']

    """
    from c360._frames import write_parquet_files

    if isinstance(resolution_or_report, RunReport):
        report = resolution_or_report
    else:
        report = build_report(
            resolution_or_report,
            run_id=run_id,
            started_at=started_at,
            finished_at=finished_at,
            previous=previous,
            config=config,
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    private = shows_pii(report)
    json_path = out / REPORT_JSON
    _atomic_write(json_path, report.to_json(), private=private)
    written.append(json_path)
    html_path = out / REPORT_HTML
    _atomic_write(html_path, render_html(report), private=private)
    written.append(html_path)
    tables = report.tables_
    if tables:
        tdir = out / TABLES_DIR
        tdir.mkdir(exist_ok=True)
        written += write_parquet_files(
            [
                (table, tdir / f"{name}.parquet")
                for name, table in tables.items()
                if not isinstance(table, DeferredTable)
            ]
        )
        # one at a time, piece by piece: never two large tables in memory at once
        for name, table in tables.items():
            if isinstance(table, DeferredTable):
                written.append(_write_pieces(table, tdir / f"{name}.parquet"))
    return written


def _write_pieces(table: DeferredTable, path: Path) -> Path:
    """Write a deferred table to one Parquet file, a piece (row group) at a time.

    The next piece is built in another thread while this one is encoded:
    polars builds and pyarrow encodes without holding the GIL, so the two
    cores share the work (at a million records, ``lineage_values`` took
    0.7 s to build and 1.5 s to encode one after the other), and at most two
    pieces are in memory at once.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    parts = iter(table.parts())
    writer: pq.ParquetWriter | None = None
    with ThreadPoolExecutor(max_workers=1) as builder:
        ahead = builder.submit(next, parts, None)
        try:
            while (piece := ahead.result()) is not None:
                ahead = builder.submit(next, parts, None)
                if writer is None:
                    writer = pq.ParquetWriter(path, piece.schema, **_encoding(piece))
                writer.write_table(piece)
        finally:
            if writer is not None:
                writer.close()
    return path


def _encoding(piece: pa.Table) -> dict[str, Any]:
    """Parquet options for a lineage table, judged on its first piece.

    Dictionary encoding only for the columns whose values repeat (at most
    one distinct value in ten rows: sources, fields, rules); for record keys
    and values pyarrow builds a dictionary, finds it too large and falls
    back to plain encoding, 15-20% of the write. Statistics only for
    ``customer_id``, the column the lineage tables are sorted by (min and
    max of record keys and values filter nothing): 25% more. Together,
    the three lineage tables of a 1M-record run encode in 1.3 s instead of
    1.8 s, the files within 5% of their size.

    Examples:
        >>> import pyarrow as pa
        >>> t = pa.table({"customer_id": ["a", "b", "c"], "source": ["s", "s", "s"],
        ...               "tags": [["x"], [], ["y"]]})
        >>> _encoding(t)
        {'use_dictionary': ['source', 'tags'], 'write_statistics': ['customer_id']}
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    repeat = [
        name
        for name, column in zip(piece.column_names, piece.columns, strict=True)
        if pa.types.is_nested(column.type)  # as before: pyarrow's own choice
        or pc.count_distinct(column).as_py() * 10 <= max(piece.num_rows, 10)
    ]
    stats: list[str] | bool = ["customer_id"] if "customer_id" in piece.column_names else True
    return {"use_dictionary": repeat, "write_statistics": stats}
