"""What metrics are computed over: a run's unified IDs, and the tables of rows."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import polars as pl
import pyarrow as pa

from c360.exceptions import MetricError

__all__ = ["RunData", "TableLike", "load_run", "scan_table"]

TableLike: TypeAlias = str | Path | pl.DataFrame | pl.LazyFrame | pa.Table
#: canonical identifier -> its standardised column in ``state/matching.parquet``
IDENTIFIER_COLUMNS = {"email": "email", "phone": "phone_digits", "national_id": "national_id"}


@dataclass(frozen=True)
class RunData:
    """The unified IDs of one run, and what identifier joins and ``records`` need.

    Attributes:
        ids: ``source``, ``record_id``, ``customer_id`` per record.
        run_id: the run's ID, stamped on results; None when not known.
        matching: standardised records with ``customer_id`` (for identifier joins).
        records: the accepted records as loaded, the built-in table ``records``.
    """

    ids: pl.LazyFrame
    run_id: str | None = None
    matching: pl.LazyFrame | None = None
    records: pl.LazyFrame | None = None


def _lazy(table: Any) -> pl.LazyFrame:
    if isinstance(table, pl.LazyFrame):
        return table
    if isinstance(table, pl.DataFrame):
        return table.lazy()
    if isinstance(table, pa.Table):
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame.lazy()
    raise TypeError(type(table).__name__)


def load_run(run: Any) -> RunData:
    """A run as `RunData`: an output directory, a `Resolution`, or a unified IDs table.

    Raises:
        MetricError: the directory has no ``unified_ids.parquet``, or the
            table lacks ``source``, ``record_id`` or ``customer_id``.
    """
    if isinstance(run, RunData):
        return run
    if isinstance(run, str | Path):
        from c360._output import output_dir

        out = output_dir(Path(run))
        ids_file = out / "unified_ids.parquet"
        if not ids_file.exists():
            raise MetricError(
                "not a c360 output directory: no unified_ids.parquet",
                path=str(out),
                hint="point --run at the --out directory of `c360 resolve` or `c360 demo`",
            )
        run_id = None
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
            run_id = str(report["run"]["run_id"])
        matching_file = out / "state" / "matching.parquet"
        records_file = out / "state" / "records.parquet"
        return RunData(
            ids=pl.scan_parquet(ids_file),
            run_id=run_id,
            matching=pl.scan_parquet(matching_file) if matching_file.exists() else None,
            records=pl.scan_parquet(records_file) if records_file.exists() else None,
        )
    if hasattr(run, "unified_ids") and hasattr(run, "run_id"):  # a Resolution
        ids = _lazy(run.unified_ids)
        matching = None
        if getattr(run, "matching", None) is not None:
            cid = pl.from_arrow(run.unified_ids.column("customer_id"))
            matching = run.matching.with_columns(customer_id=cid).lazy()
        records = run.records.lazy() if getattr(run, "records", None) is not None else None
        return RunData(ids=ids, run_id=run.run_id, matching=matching, records=records)
    try:
        ids = _lazy(run)
    except TypeError:
        raise MetricError(
            "run must be an output directory, a Resolution or a unified IDs table; "
            f"got {type(run).__name__}"
        ) from None
    missing = {"source", "record_id", "customer_id"} - set(ids.collect_schema().names())
    if missing:
        raise MetricError(f"the unified IDs table lacks {sorted(missing)}")
    return RunData(ids=ids)


def scan_table(name: str, table: TableLike) -> pl.LazyFrame:
    """A table given by path (Parquet, CSV, NDJSON, Arrow IPC) or as a frame, lazily."""
    if not isinstance(table, str | Path):
        try:
            return _lazy(table)
        except TypeError:
            raise MetricError(
                f"table {name!r} must be a path or a polars/Arrow table, got {type(table).__name__}"
            ) from None
    path = Path(table)
    if not path.exists():
        raise MetricError(f"table {name!r}: no such file", path=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq") or path.is_dir():
            return pl.scan_parquet(path)
        if suffix == ".csv":
            return pl.scan_csv(path, try_parse_dates=True)
        if suffix in (".ndjson", ".jsonl"):
            return pl.scan_ndjson(path)
        if suffix in (".arrow", ".ipc", ".feather"):
            return pl.scan_ipc(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise MetricError(f"table {name!r} cannot be read: {exc}", path=str(path)) from None
    raise MetricError(
        f"table {name!r}: cannot read {suffix or 'a file without a suffix'}",
        path=str(path),
        hint="use .parquet, .csv, .ndjson or .arrow",
    )


def bind_tables(
    declared: Mapping[str, str], given: Mapping[str, TableLike] | None, run: RunData
) -> dict[str, pl.LazyFrame]:
    """Every table by name: declared in the definitions, given by the caller, ``records``."""
    out: dict[str, pl.LazyFrame] = {}
    if run.records is not None:
        out["records"] = run.records
    for name, loc in {**declared, **(given or {})}.items():
        out[name] = scan_table(name, loc)
    return out
