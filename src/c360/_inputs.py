"""What ``resolve`` accepts as input, made into sources, loaded and summarised."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from c360.config import ResolveConfig
from c360.exceptions import ConfigError
from c360.sources import Loaded, Source, load

__all__ = ["SOURCE_SUMMARY_SCHEMA", "source_summary"]


def _split_frame(frame: Any, default_name: str) -> list[Source]:
    """A frame with a ``source`` column becomes one Source per distinct value."""
    from c360._frames import to_lazy

    lf = to_lazy(frame, what=default_name)
    if "source" not in lf.collect_schema().names():
        return [Source(name=default_name, data=frame)]
    df = frame if isinstance(frame, pl.DataFrame) else lf.collect()
    if df.get_column("source").null_count():
        raise ConfigError(
            f"{df.get_column('source').null_count()} rows have a null 'source'",
            source=default_name,
            column="source",
            hint="fill the source column, or drop it and pass a mapping of name to frame",
        )
    if df.height <= _FEW_ROWS and len(names := set(df.get_column("source").to_list())) == 1:
        # one record, or a few of one source: no partitioning query
        return [Source(name=str(names.pop()), data=df.drop("source"))]
    return [
        Source(name=str(name[0]), data=part.drop("source"))
        for name, part in df.partition_by("source", as_dict=True, maintain_order=True).items()
    ]


#: Frames of up to this many rows are checked for a single source in Python.
_FEW_ROWS = 64


def _path_sources(path: str | Path) -> list[Source]:
    """Sources for a file given without a declaration.

    One source named after the file or, when the file has its own ``source``
    column, one source per value in it.
    """
    src = Source(name=Path(path).stem, location=str(path))
    with src.context():
        lazy = src.scan()
        if "source" not in lazy.collect_schema().names():
            return [src]
        raw = lazy.collect()
    return _split_frame(raw, src.name)


def _as_sources(inputs: Any) -> list[Source]:
    if isinstance(inputs, Source):
        return [inputs]
    if isinstance(inputs, Mapping):
        return [
            v if isinstance(v, Source) else Source(name=str(k), data=v) for k, v in inputs.items()
        ]
    if isinstance(inputs, pl.DataFrame | pl.LazyFrame | pa.Table) or type(
        inputs
    ).__module__.startswith("pandas"):
        return _split_frame(inputs, "input0")
    if isinstance(inputs, str | Path):
        return _path_sources(inputs)
    if not isinstance(inputs, Sequence):
        inputs = [inputs]
    out: list[Source] = []
    from_files: list[Source] = []
    for i, item in enumerate(inputs):
        if isinstance(item, Source):
            out.append(item)
        elif isinstance(item, str | Path):
            from_files.extend(_path_sources(item))
        else:
            out.extend(_split_frame(item, f"input{i}"))
    return [*out, *_merge_parts(from_files)]


def _merge_parts(parts: Sequence[Source]) -> list[Source]:
    """Sources from files given without declarations, one per name.

    Several files whose rows name the same source (a ``source`` column), or
    files of one name in several folders (``day1/crm.csv``, ``day2/crm.csv``),
    are parts of one source: read together, in the order given, so that a
    record id repeated across them is a duplicate the contract quarantines.
    """
    by_name: dict[str, list[Source]] = {}
    for s in parts:
        by_name.setdefault(s.name, []).append(s)
    out = []
    for name, group in by_name.items():
        if len(group) == 1:
            out.append(group[0])
        elif all(s.location is not None for s in group):
            out.append(Source(name=name, location=[loc for s in group for loc in s.locations]))
        else:
            from c360._frames import to_lazy

            frames = [to_lazy(s.data, what=name) if s.data is not None else s.scan() for s in group]
            out.append(Source(name=name, data=pl.concat(frames, how="diagonal_relaxed").collect()))
    return out


def _load_all(sources: Sequence[Source], cfg: ResolveConfig) -> list[Loaded]:
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"source names must be unique; repeated: {dup}")
    return [
        load(s, on_schema_change=cfg.on_schema_change, infer_columns=cfg.infer_columns)
        for s in sources
    ]


SOURCE_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "owner": pl.String(),
    "description": pl.String(),
    "freshness_sla_seconds": pl.Float64(),
    "location": pl.String(),
    "contract": pl.String(),
    "rows_read": pl.Int64(),
    "rows_valid": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "oldest_event": pl.Datetime("us"),
    "newest_event": pl.Datetime("us"),
    "read_seconds": pl.Float64(),
    "schema_notices": pl.Int64(),
    "file_format": pl.String(),
}


def source_summary(loaded: Sequence[Loaded]) -> pl.DataFrame:
    """One row per source: declaration (owner, SLA), row counts and event-time range.

    Examples:
        >>> df = pl.DataFrame({"record_id": ["a"], "updated_at": ["2026-01-02T03:04:05"]})
        >>> source_summary([load(Source(name="crm", data=df, owner="sales"))]).select(
        ...     "source", "owner", "rows_valid", "newest_event").row(0)
        ('crm', 'sales', 1, datetime.datetime(2026, 1, 2, 3, 4, 5))
    """
    rows = []
    for x in loaded:
        s = x.source
        events = (
            x.valid.select(
                pl.col("updated_at").min().alias("lo"), pl.col("updated_at").max().alias("hi")
            ).row(0)
            if "updated_at" in x.valid.columns and x.valid.height
            else (None, None)
        )
        contract = getattr(getattr(x, "validated", None), "contract", None)
        rows.append(
            {
                "source": s.name,
                "owner": s.owner,
                "description": s.description,
                "freshness_sla_seconds": s.freshness_sla.total_seconds()
                if s.freshness_sla
                else None,
                "location": s.where if s.location else "(in memory)",
                "contract": str(contract) if contract is not None else None,
                "rows_read": x.rows_read,
                "rows_valid": x.rows_valid,
                "rows_quarantined": x.rows_quarantined,
                "oldest_event": events[0],
                "newest_event": events[1],
                "read_seconds": round(x.seconds, 4),
                "schema_notices": len(x.notices),
                "file_format": json.dumps(x.file_format) if x.file_format else None,
            }
        )
    return pl.DataFrame(rows, schema=SOURCE_SUMMARY_SCHEMA)
