"""Write the run report to an output directory."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c360.report._build import (
    REPORT_HTML,
    REPORT_JSON,
    TABLES_DIR,
    DeferredTable,
    ReportConfig,
    RunReport,
    build_report,
)
from c360.report._html import render_html

if TYPE_CHECKING:
    from c360.pipeline import Resolution

__all__ = ["write_report"]


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    json_path = out / REPORT_JSON
    _atomic_write(json_path, report.to_json())
    written.append(json_path)
    html_path = out / REPORT_HTML
    _atomic_write(html_path, render_html(report))
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
    """Write a deferred table to one Parquet file, a piece (row group) at a time."""
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    try:
        for piece in table.parts():
            if writer is None:
                writer = pq.ParquetWriter(path, piece.schema)
            writer.write_table(piece)
    finally:
        if writer is not None:
            writer.close()
    return path
