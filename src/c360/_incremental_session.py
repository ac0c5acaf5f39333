"""A batch session's results, and the output directory it leaves when saved.

[`BatchResult`][c360.incremental.BatchResult] is what one batch returns;
``_Session`` collects what the batches since ``load`` (or the last save)
added; [`write_session`][write_session] writes the updated output directory
for ``ResolutionState.save``: the current records and IDs, the state files
(laid out by ``c360._output.state_jobs``, as a full run's), golden profiles
rebuilt only for the customers the session touched, and the appended
links, quarantine and ID changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from c360._display import Block, fmt_count, fmt_records
from c360._output import CONFIG, MODEL, RECORDS, existing, read_state, read_state_frame
from c360.exceptions import StateError

__all__ = ["BatchResult", "batch_result", "write_session"]


@dataclass(slots=True, kw_only=True)
class BatchResult:
    """Outcome of resolving one batch incrementally.

    Attributes:
        unified_ids: ``source, record_id, customer_id`` of the batch's accepted records.
        links: accepted links touching the batch (same columns as a full run's).
        quarantine: rejected batch rows.
        id_changes: how customer IDs changed (``new``, ``merged_into``,
            ``split_from``, ``retired``), by the rules of a full run.
        seconds: wall time of the batch.
    """

    unified_ids: pa.Table
    links: pa.Table
    quarantine: pa.Table
    id_changes: pa.Table
    seconds: float

    def _display(self) -> Block:
        import pyarrow.compute as pc

        n, q = self.unified_ids.num_rows, self.quarantine.num_rows
        kinds = pc.value_counts(self.id_changes.column("change")).to_pylist() if n else []
        changes = {str(k["values"]): int(k["counts"]) for k in kinds}
        customers = (
            int(pc.count_distinct(self.unified_ids.column("customer_id")).as_py()) if n else 0
        )
        rows = [
            ("records", fmt_records(n, q)),
            (
                "customers",
                f"{fmt_count(customers)} ({fmt_count(changes.get('new', 0))} new, "
                f"{fmt_count(changes.get('merged_into', 0))} merged into others)",
            ),
            ("links", fmt_count(self.links.num_rows)),
            ("milliseconds", f"{self.seconds * 1000:.1f}"),
        ]
        return Block("c360 BatchResult", rows)

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()


@dataclass(slots=True)
class _Session:
    """What the batches resolved since the state was loaded (or saved) added."""

    records: list[pl.DataFrame] = field(default_factory=list)  # accepted rows, as loaded
    links: list[pa.Table] = field(default_factory=list)
    quarantine: list[pa.Table] = field(default_factory=list)
    id_changes: list[pa.Table] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # customers that gained or lost records
    batches: int = 0
    merged_away: set[str] = field(default_factory=set)

    def add(self, result: BatchResult) -> None:
        """Keep a batch's links, quarantine and ID changes for ``save``."""
        self.batches += 1
        for kept, table in (
            (self.links, result.links),
            (self.quarantine, result.quarantine),
            (self.id_changes, result.id_changes),
        ):
            if table.num_rows:
                kept.append(table)


def batch_result(
    unified: list[pl.DataFrame],
    links: pl.DataFrame | None,
    quarantine: pl.DataFrame | None,
    changes: list[dict[str, Any]],
    seconds: float,
) -> BatchResult:
    """A batch's result tables (empty ones with their columns when the batch had none)."""
    from c360._canonical import QUARANTINE_SCHEMA
    from c360.ids import ID_CHANGES_SCHEMA

    ids = (
        unified[0]
        if unified
        else pl.DataFrame(
            schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String}
        )
    )
    q = (
        quarantine.select(list(QUARANTINE_SCHEMA))
        if quarantine is not None
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    return BatchResult(
        unified_ids=ids.to_arrow(),
        links=(links if links is not None else pl.DataFrame()).to_arrow(),
        quarantine=q.to_arrow(),
        id_changes=pl.DataFrame(changes, schema=ID_CHANGES_SCHEMA).to_arrow(),
        seconds=seconds,
    )


def write_session(
    tmp: Path,
    source_dir: Path | None,
    session: _Session,
    *,
    matching: pl.DataFrame,
    junk: pl.DataFrame | None,
    model: Any,
    config: Any,
    resolve_id: Callable[[str], str],
) -> None:
    """Write every file of the updated output directory into ``tmp`` (new).

    ``source_dir`` is the directory the state came from (its tables are the
    base the session's rows are appended to); ``matching`` the state's
    current records with their customer IDs; ``resolve_id`` maps an ID merged
    away to the customer it was merged into.
    """
    import shutil

    from c360._frames import write_parquet_files
    from c360._output import state_jobs

    ids = matching.select("source", "record_id", "customer_id").sort("source", "record_id")
    raw = current_records(source_dir, session)
    jobs = [
        (ids.to_arrow(), tmp / "unified_ids.parquet"),
        *state_jobs(tmp, matching, junk, raw),
    ]
    model.save(tmp / MODEL)
    config.save(tmp / CONFIG)
    profiles = updated_profiles(source_dir, session, raw, ids, config.survivorship, resolve_id)
    if isinstance(profiles, _ProfileMerge):
        profiles.write(tmp / "profiles.parquet")
    elif profiles is not None:
        jobs.append((profiles, tmp / "profiles.parquet"))
    write_parquet_files(jobs)
    # the appended tables in a second round, once the frames above are written
    # and released: they are not all held at once
    del jobs, raw, profiles, ids
    jobs = []
    for name, added in (
        ("links", session.links),
        ("quarantine", session.quarantine),
        ("id_changes", session.id_changes),
    ):
        earlier = existing(source_dir, f"{name}.parquet")
        tables = list(added)
        if earlier is not None:
            tables.insert(0, read_state(earlier, f"the earlier {name}"))
        if tables:
            merged = pa.concat_tables(tables, promote_options="permissive")
            jobs.append((merged, tmp / f"{name}.parquet"))
    write_parquet_files(jobs)
    for name in ("report.json", "report.html", "report_tables"):
        path = existing(source_dir, name)
        if path is not None:
            copy = shutil.copytree if path.is_dir() else shutil.copy2
            copy(path, tmp / name)


def current_records(source_dir: Path | None, session: _Session) -> pl.DataFrame | None:
    """The accepted records as loaded, latest version of each (``None`` when unknown)."""
    keys = ["source", "record_id"]
    path = existing(source_dir, RECORDS)
    if path is None:
        return None
    old = read_state_frame(path, "the accepted records")
    if not session.records:
        return old
    # each step copies the records only when it has something to drop (a
    # record sent twice, a replaced version): at millions of records every
    # copy is gigabytes
    new = pl.concat(session.records, how="diagonal_relaxed", rechunk=False)
    if new.select(pl.struct(keys).is_duplicated().any()).item():
        new = new.unique(keys, keep="last", maintain_order=True)
    replaced = old.select(keys).join(new.select(keys), on=keys, how="semi")
    if replaced.height:
        old = old.join(new.select(keys), on=keys, how="anti")
    return pl.concat([old, new], how="diagonal_relaxed", rechunk=False)


def updated_profiles(
    source_dir: Path | None,
    session: _Session,
    raw: pl.DataFrame | None,
    ids: pl.DataFrame,
    survivorship: Any,
    resolve_id: Callable[[str], str],
) -> pa.Table | _ProfileMerge | None:
    """Profiles updated for the customers the session changed; the others kept.

    A [`_ProfileMerge`][_ProfileMerge], which writes them as it reads the
    earlier ones, when they can be merged with the new ones.
    """
    import warnings

    import pyarrow.compute as pc

    from c360.golden import build_profiles

    path = existing(source_dir, "profiles.parquet")
    if raw is None:
        if session.touched:
            warnings.warn(
                "state/records.parquet is missing (an output of an older c360): "
                "golden profiles were not updated; run `c360 resolve --previous` to rebuild",
                stacklevel=4,
            )
        return read_state(path, "the earlier profiles") if path is not None else None
    if path is None:
        return build_profiles(raw, ids, survivorship)
    touched = {resolve_id(c) for c in session.touched}
    gone = sorted(touched | session.merged_away)
    sub_ids = ids.filter(pl.col("customer_id").is_in(sorted(touched)))
    fresh = None
    if sub_ids.height:
        sub_raw = raw.join(
            sub_ids.select("source", "record_id"), on=["source", "record_id"], how="semi"
        )
        fresh = build_profiles(sub_raw, sub_ids, survivorship)
    merged = _merged_profiles(path, gone, fresh)
    if merged is not None:
        return merged
    old = read_state(path, "the earlier profiles")
    keep = old.filter(
        pc.invert(pc.is_in(old.column("customer_id"), value_set=pa.array(gone, pa.string())))
    )
    if fresh is None:
        return keep
    both = pa.concat_tables([keep, fresh], promote_options="permissive")
    return both.sort_by("customer_id")


#: Earlier profiles read, filtered and merged per piece by [`_ProfileMerge`][_ProfileMerge].
_PROFILE_PIECE = 100_000


@dataclass(frozen=True, slots=True)
class _ProfileMerge:
    """The earlier profiles but ``gone``, merged by customer with ``fresh`` as they are written.

    Both are sorted by customer: the earlier ones are read a piece at a time,
    and each piece is written with the new profiles that sort before its last
    customer, so the file comes out sorted without holding, filtering and
    sorting every profile in memory (three copies of them: 9 GB more
    resident memory while saving 5.5M records, where this holds one piece).
    """

    path: Path
    gone: pa.Array
    fresh: pa.Table | None

    def write(self, dest: Path) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        source = pq.ParquetFile(self.path)
        fresh = self.fresh
        fresh_ids = pl.Series(fresh.column("customer_id")) if fresh is not None else None
        taken = 0
        with pq.ParquetWriter(dest, source.schema_arrow) as writer:
            for batch in _read_pieces(source, self.path):
                ids = batch.column("customer_id")
                piece = pa.Table.from_batches([batch]).filter(
                    pc.invert(pc.is_in(ids, value_set=self.gone))
                )
                if fresh is not None and fresh_ids is not None and piece.num_rows:
                    last = piece.column("customer_id")[-1].as_py()
                    upto = int(fresh_ids.search_sorted(last, side="right"))
                    if upto > taken:
                        piece = pa.concat_tables([piece, fresh.slice(taken, upto - taken)])
                        piece = piece.sort_by("customer_id")
                        taken = upto
                if piece.num_rows:
                    writer.write_table(piece)
            if fresh is not None and taken < fresh.num_rows:
                writer.write_table(fresh.slice(taken))


def _read_pieces(source: Any, path: Path) -> Iterator[pa.RecordBatch]:
    """``source``'s pieces of ``_PROFILE_PIECE`` rows; a bad file is a StateError."""
    pieces = source.iter_batches(batch_size=_PROFILE_PIECE)
    while True:
        try:
            yield next(pieces)
        except StopIteration:
            return
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise StateError(f"cannot read the earlier profiles: {exc}", path=str(path)) from exc


def _merged_profiles(
    path: Path | None, gone: list[str], fresh: pa.Table | None
) -> _ProfileMerge | None:
    """The way to write the updated profiles without holding the earlier ones.

    ``None`` when it does not apply (an earlier file not sorted by customer,
    or whose columns the new profiles cannot take), for the in-memory way.
    """
    import pyarrow.parquet as pq

    if path is None:
        return None
    try:
        schema = pq.read_schema(path)
        column = pq.read_table(path, columns=["customer_id"]).column("customer_id")
    except Exception:  # a bad file: the in-memory way names it (read_state)
        return None
    if not pl.Series(column).is_sorted():
        return None
    if fresh is not None:
        if set(fresh.column_names) != set(schema.names):
            return None
        try:
            fresh = fresh.select(schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
    return _ProfileMerge(path, pa.array(gone, pa.string()), fresh)
