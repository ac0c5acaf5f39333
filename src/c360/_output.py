"""The output directory: its layout, atomic replacement, the previous run, the state.

One module owns what a run leaves on disk, so that a full run
([`Resolution.write`][c360.Resolution.write]) and an incremental save
([`ResolutionState.save`][c360.incremental.ResolutionState.save]) write the
same layout the same way, and [`read_previous_ids`][read_previous_ids] reads
it back:

```
OUT/
  unified_ids.parquet  links.parquet  profiles.parquet  quarantine.parquet
  id_changes.parquet   model.json     model_tf.parquet  config.toml
  report.json  report.html  report_tables/
  history.sqlite  metrics.prom  metrics.parquet (with metric definitions)
  state/matching.parquet  state/records.parquet  state/junk.parquet
```
"""

from __future__ import annotations

import glob as globlib
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
import pyarrow as pa

from c360._memory import release_free_memory
from c360.exceptions import StateError

if TYPE_CHECKING:
    from c360._result import Resolution
    from c360.history import HistoryLocation, SloConfig
    from c360.report._pii import PiiMode

__all__ = [
    "CONFIG",
    "JUNK",
    "MATCHING",
    "MODEL",
    "OUTPUT_TABLES",
    "RECORDS",
    "atomic_output",
    "existing",
    "read_previous_ids",
    "read_state",
    "read_state_frame",
    "replace_dir",
    "state_jobs",
    "write_resolution",
]

#: Tables written by [`Resolution.write`][c360.Resolution.write], in order.
OUTPUT_TABLES = ("unified_ids", "links", "profiles", "quarantine", "id_changes")
#: The model, its configuration, and the state incremental runs load.
MODEL = "model.json"
CONFIG = "config.toml"
MATCHING = "state/matching.parquet"
RECORDS = "state/records.parquet"
JUNK = "state/junk.parquet"

_T = TypeVar("_T")

Job = tuple[pa.Table | pl.DataFrame, Path]


def replace_dir(new: Path, out: Path, tag: str) -> None:
    """Put directory ``new`` in the place of ``out`` by renames.

    ``out`` is first renamed to ``<out>.previous-<tag>`` and removed once
    ``new`` is in place: a crash leaves either the old directory or the new one
    (at worst the old one beside it under that name), never a mix.
    """
    backup = out.with_name(f"{out.name}.previous-{tag}")
    if out.exists():
        out.rename(backup)
    new.rename(out)
    if backup.exists():
        shutil.rmtree(backup)


def recover_output(out: Path) -> list[Path]:
    """Clear what a run killed while writing ``out`` left beside it; return what went.

    A run killed while writing leaves ``.<out>.writing-<run>`` (its unfinished
    outputs); one killed between its two renames leaves ``<out>.previous-<run>``
    and no ``out``: the previous outputs, which are put back. Called by the
    next run that writes ``out``; one run writes an output directory at a time.
    """
    parent = out.parent
    if not parent.is_dir():
        return []
    name = globlib.escape(out.name)
    backups = sorted(parent.glob(f"{name}.previous-*"), key=lambda p: p.stat().st_mtime)
    removed: list[Path] = []
    if not out.exists() and backups:
        backups.pop().rename(out)  # the killed run had moved the previous outputs aside
    for debris in [*backups, *parent.glob(f".{name}.writing-*")]:
        shutil.rmtree(debris, ignore_errors=True)
        removed.append(debris)
    return removed


def output_dir(path: Path) -> Path:
    """``path``, or where its outputs are while a killed run left them moved aside.

    For readers: a run killed between its two renames leaves the previous
    outputs as ``<path>.previous-<run>`` (until the next run puts them back).
    """
    if path.exists() or not path.parent.is_dir():
        return path
    backups = sorted(
        path.parent.glob(f"{globlib.escape(path.name)}.previous-*"),
        key=lambda p: p.stat().st_mtime,
    )
    return backups[-1] if backups else path


def atomic_output(
    out_dir: str | Path,
    tag: str,
    write: Callable[[Path], _T],
    *,
    carry: Sequence[Path | None] | None = None,
) -> _T:
    """Run ``write`` into a new sibling of ``out_dir``, then put it in its place.

    A failure removes the sibling and leaves ``out_dir`` as it was; what an
    earlier run killed while writing left behind is cleared first
    ([`recover_output`][recover_output]). The run history (``history.sqlite``)
    of the first directory of ``carry`` that has one (default: ``out_dir``)
    is copied into the sibling first, so that replacing the directory keeps it.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_output(out)
    tmp = out.with_name(f".{out.name}.writing-{tag}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        from c360.history import carry_forward

        carry_forward(tmp, *((out,) if carry is None else carry))
        result = write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, out, tag)
    return result


def state_jobs(
    tmp: Path,
    matching: pl.DataFrame,
    junk: pa.Table | pl.DataFrame | None,
    records: pl.DataFrame | None,
) -> list[Job]:
    """The ``state/`` files: matching frame with customer IDs, junk values, raw records."""
    (tmp / "state").mkdir(exist_ok=True)
    jobs: list[Job] = [(matching, tmp / MATCHING)]
    if junk is not None:
        jobs.append((junk, tmp / JUNK))
    if records is not None:
        raw = records.select(c for c in records.columns if not c.startswith("_"))
        jobs.append((raw, tmp / RECORDS))
    return jobs


def write_resolution(
    res: Resolution,
    out_dir: str | Path,
    *,
    report: bool,
    previous: str | Path | None,
    report_pii: PiiMode = "mask",
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    history_optional: bool = False,
    metrics: Any = None,
) -> list[Path]:
    """Write a full run's outputs into ``out_dir`` atomically (see `Resolution.write`)."""
    if metrics is not None:
        from c360.metrics import MetricResult, compute

        if not isinstance(metrics, MetricResult):  # computed before anything is written
            metrics = compute(metrics, res)
    out = Path(out_dir)
    # the output directory's own history is carried forward (from the previous
    # run's directory when this one has none yet); a shared history is not
    own = history is None or history is True
    carry = [out, Path(previous) if previous is not None else None] if own else []
    names = atomic_output(
        out,
        res.run_id,
        lambda tmp: _write_files(
            res,
            tmp,
            report=report,
            previous=previous,
            report_pii=report_pii,
            history=history,
            slo=slo,
            history_optional=history_optional,
            metrics=metrics,
        ),
        carry=carry,
    )
    return [out / n for n in names]


def _write_files(
    res: Resolution,
    tmp: Path,
    *,
    report: bool,
    previous: str | Path | None,
    report_pii: PiiMode,
    history: HistoryLocation = None,
    slo: SloConfig | None = None,
    history_optional: bool = False,
    metrics: Any = None,
) -> list[str]:
    """Write every output file into ``tmp``; return their paths relative to it.

    With ``report``, the run is recorded in its history first (see
    ``c360.history``), so that the report shows the trends up to this run.
    """
    from concurrent.futures import ThreadPoolExecutor

    from c360._frames import write_parquet_files

    release_free_memory()  # what resolving freed, before the report's tables
    jobs: list[Job] = []
    for name in OUTPUT_TABLES:
        table = getattr(res, name, None)
        if table is not None:
            jobs.append((table, tmp / f"{name}.parquet"))
    names = [path.name for _, path in jobs]
    names += [f.name for f in res.model.save(tmp / MODEL)]
    if metrics is not None:
        from c360.metrics import METRICS_FILE

        names.append(metrics.write(tmp / METRICS_FILE).name)
    res.config.save(tmp / CONFIG)
    names.append(CONFIG)
    # the output tables are encoded while the report is built: building it
    # leaves a core idle part of the time (about 0.5 s of 6 at a million records)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="c360-write")
    try:
        outputs = pool.submit(write_parquet_files, jobs)
        jobs = []
        if report:
            from c360.history import record_written_run
            from c360.report import ReportConfig, build_report, write_report

            built = build_report(
                res,
                run_id=res.run_id,
                previous=previous,
                started_at=res.started_at,
                finished_at=res.finished_at,
                config=ReportConfig(pii=report_pii),
            )
            if metrics is not None:
                from c360.report._metrics import metrics_section

                built.data["customer_metrics"] = metrics_section(metrics)
            recorded = record_written_run(
                built, tmp, history=history, slo=slo, optional=history_optional
            )
            written = write_report(built, tmp)
            names += [str(p.relative_to(tmp)) for p in [*recorded, *written]]
        if res.matching is not None:
            keep = [c for c in res.matching.columns if c not in ("_row", "_issues")]
            matching = res.matching.select(keep).with_columns(
                customer_id=pl.Series(
                    "customer_id", res.unified_ids.column("customer_id"), dtype=pl.String
                )
            )
            state = state_jobs(tmp, matching, res.junk, res.records)
            names += [str(path.relative_to(tmp)) for _, path in state]
            jobs += state
        write_parquet_files(jobs)
    finally:  # never leave a thread writing into a directory being removed
        pool.shutdown(wait=True)
    outputs.result()  # an error writing an output table is raised here
    return names


def read_previous_ids(previous: Any) -> pl.DataFrame | None:
    """A previous run's ``unified_ids`` as a polars frame.

    ``previous`` is a [`Resolution`][c360.Resolution] (anything with
    ``unified_ids``), an output directory, a ``unified_ids.parquet`` file, or
    the table itself (Arrow or polars).
    """
    if previous is None:
        return None
    if isinstance(previous, str | Path):
        path = output_dir(Path(previous))
        file = path / "unified_ids.parquet" if path.is_dir() else path
        if not file.exists():
            raise StateError(
                "previous run has no unified_ids.parquet",
                path=str(path),
                hint="point --previous at the output directory of an earlier `c360 resolve`",
            )
        try:
            table: Any = pl.read_parquet(file)
        except Exception as exc:  # polars raises several types for a bad file
            raise StateError(f"cannot read previous unified_ids: {exc}", path=str(file)) from exc
    else:
        table = getattr(previous, "unified_ids", previous)
    frame = pl.from_arrow(table) if isinstance(table, pa.Table) else table
    if not isinstance(frame, pl.DataFrame):
        raise StateError(
            f"previous must be a run's output directory, a Resolution or its unified_ids; "
            f"got {type(previous).__name__}"
        )
    missing = {"source", "record_id", "customer_id"} - set(frame.columns)
    if missing:
        raise StateError(f"previous unified_ids lacks columns {sorted(missing)}")
    return frame.select("source", "record_id", "customer_id")


def existing(directory: Path | None, name: str) -> Path | None:
    """``directory / name`` if both exist."""
    if directory is None or not (directory / name).exists():
        return None
    return directory / name


def read_state(path: Path, what: str) -> pa.Table:
    """Read one Parquet file of an output directory; a bad file is a StateError."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise StateError(f"cannot read {what}: {exc}", path=str(path)) from exc


def read_state_frame(path: Path, what: str) -> pl.DataFrame:
    """As [`read_state`][read_state], read by polars (no Arrow copy on the way)."""
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a bad file
        raise StateError(f"cannot read {what}: {exc}", path=str(path)) from exc
