"""Loading a source: read, checked against its contract, split into valid and quarantine rows.

[`load`][c360.sources.load] reads a [`Source`][c360.sources.Source], infers
its column mapping when asked and none is declared, validates the rows
against the source's contract and returns a [`Loaded`][c360.sources.Loaded].
Damaged lines go to quarantine with their line: CSV lines that are not UTF-8
or whose number of fields differs from the header's, NDJSON lines that are not
JSON (``c360._damage``); empty CSV lines are skipped with a note. Every row
read ends in exactly one of ``valid`` or ``quarantine``. The public names are
documented and imported from ``c360.sources``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import TYPE_CHECKING, Any

import polars as pl

from c360 import _readers
from c360._canonical import ATTRIBUTES, QUARANTINE_SCHEMA, RECORD_ID, ROW, SOURCE
from c360._contracts._pandera import PanderaContract, residual_failures
from c360._damage import DAMAGED_MARK, DamagedLine, allowed_bad_lines
from c360._frames import engine_for
from c360._infer import ROW_HASH, row_hash
from c360._source_contracts import resolve_contract
from c360._source_spec import _DEFAULT_EVENT_TIME
from c360._typing import OnSchemaChange
from c360.exceptions import ConfigError, SourceReadError

if TYPE_CHECKING:
    from c360.contracts import Contract
    from c360.sources import Source


@contextlib.contextmanager
def source_context(source: Source | str, path: str | None = None) -> Iterator[None]:
    """Attach a source's name and file to any error raised inside; wrap foreign errors.

    Polars, pyarrow, ADBC and OS errors become
    [`SourceReadError`][c360.exceptions.SourceReadError] naming the source and
    file (the original error is chained); c360 errors get the missing
    source/path filled in. Use it around code that collects a source's frame.

    Examples:
        >>> try:
        ...     with source_context("crm", "crm.csv"):
        ...         pl.LazyFrame({"a": ["x"]}).select(pl.col("a").cast(pl.Int64)).collect()
        ... except SourceReadError as err:
        ...     print(err.source, err.path, type(err.__cause__).__name__)
        crm crm.csv InvalidOperationError

    """
    from c360.sources import Source

    if isinstance(source, Source):
        with source.context():
            yield
        return
    with _readers.source_context(source, path):
        yield


def collect_source(source: Source) -> pl.DataFrame:
    """``source.read().collect()``, with errors raised while collecting attributed to it.

    polars reads lazily, so bad bytes in the middle of a file surface only when
    the rows are collected; this names the source and file in that error.

    Raises:
        SourceReadError: the data cannot be read (names source, file, and the byte or
            line where cheap to find).
        ColumnNotFoundError: a declared column is missing.

    Examples:
        >>> from c360.sources import Source
        >>> collect_source(Source(name="s", data=pl.DataFrame({"record_id": [1]}))).rows()
        [('s', '1', 0)]

    """
    with source.context():
        return source.read().collect()


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """A source read and checked against its contract.

    Attributes:
        source: the source.
        valid: rows that passed, in canonical types, with ``_row`` (and ``_issues``).
        quarantine: rows that did not, with the public quarantine columns
            (``source, record_id, row_number, reason, raw``).
        notices: the contract's schema notices (drift between data and contract).
        read_notes: notes from reading (empty lines skipped, ragged lines quarantined).
        rows_read: data rows read (empty CSV lines are not rows);
            ``rows_read == rows_valid + rows_quarantined``.
        seconds: wall time of read plus validation.
        validated: the contract's full result object.
        inference: the inferred mapping, when the source declared none and
            its columns were not canonical (``source`` then carries it).
        file_format: how the files were read: ``{"format": "csv", "separator",
            "encoding", "detected": [...]}`` for CSV (see ``c360._sniff``),
            ``{"format": ...}`` for other files, ``None`` for frames and SQL.

    """

    source: Source
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    notices: tuple[Any, ...] = ()
    read_notes: tuple[str, ...] = ()
    rows_read: int = 0
    seconds: float = 0.0
    validated: Any = field(default=None, repr=False, compare=False)
    inference: Any = field(default=None, repr=False, compare=False)
    file_format: Mapping[str, Any] | None = None

    @property
    def rows_valid(self) -> int:
        """Number of valid rows."""
        return self.valid.height

    @property
    def rows_quarantined(self) -> int:
        """Number of quarantined rows."""
        return self.quarantine.height


def load(
    source: Source,
    *,
    contract: Contract | str | PathLike[str] | None = None,
    on_schema_change: OnSchemaChange = "warn",
    infer_columns: bool = False,
) -> Loaded:
    """Read a source and validate it against its contract.

    With ``infer_columns`` (as [`c360.resolve`][c360.resolve] loads by
    default), a source that declares no column mapping and whose columns are
    not all canonical gets one inferred from its headers and values (see
    [`infer_source`][c360.sources.infer_source]); without it, as here by
    default, a missing ``record_id`` column is an error.
    ``record_id="_row_hash"`` keys records by a hash of their content.

    The contract is ``contract`` if given (an object or a file path), else the
    file named by ``source.contract``, else the canonical contract. Rows the
    contract rejects (wrong types, bad values, duplicate ids, missing ids) go to
    quarantine; so do CSV lines whose number of fields differs from the header's
    (truncated or ragged lines). Empty CSV lines are skipped with a notice. Every
    row read ends in exactly one of ``valid`` or ``quarantine``.

    Raises:
        SourceReadError, EmptySourceError: the source as a whole cannot be read.
        ColumnNotFoundError: a declared column is missing.
        SchemaChangeError: a breaking schema change with ``on_schema_change="fail"``.

    Examples:
        >>> from c360.sources import Source
        >>> df = pl.DataFrame({"record_id": ["a", "b"], "email": ["a@x.org", "b@x.org"]})
        >>> loaded = load(Source(name="crm", data=df))
        >>> loaded.rows_valid, loaded.rows_quarantined
        (2, 0)

    """
    from c360 import contracts as _contracts
    from c360.sources import Source

    if not isinstance(source, Source):
        raise ConfigError(f"load() takes a Source; got {type(source).__name__}")
    start = time.perf_counter()
    inference = None
    with source.context():
        lf, inputs = source._scan_inputs()
        names = lf.collect_schema().names()
        marked = DAMAGED_MARK in names
        if marked:
            names = [n for n in names if n != DAMAGED_MARK]
        if infer_columns:
            source, inference = _with_inferred_columns(source, lf.select(names), names)
        if source.record_id == ROW_HASH and ROW_HASH not in names:
            lf = row_hash(lf, [n for n in names if n != ROW])
            names = [*names, ROW_HASH]
        pairs = source.output_columns(names)
        frame = source._canonicalise(lf, names, carry=(DAMAGED_MARK,) if marked else ()).collect(
            engine=engine_for(source.data)
        )
        line_q, frame, read_notes = _line_problems(source, frame, pairs, inputs)
    rows_read = frame.height + line_q.height

    spec = contract if contract is not None else source.contract
    with _readers.source_context(
        source.name, source.where if source.location else None, wrap=False
    ):
        resolved = resolve_contract(spec)
        checked = resolved.contract if isinstance(resolved, PanderaContract) else resolved
        validated = _contracts.validate(
            frame, checked, source=source.name, on_schema_change=on_schema_change
        )
        valid, quarantine = validated.valid, validated.quarantine
        if isinstance(resolved, PanderaContract):
            failed = residual_failures(resolved, valid, source.name)
            if failed.height:
                valid = (
                    valid.with_row_index("_pos")
                    .join(failed.select(pl.col("_pos").cast(pl.UInt32)), on="_pos", how="anti")
                    .drop("_pos")
                )
                quarantine = pl.concat(
                    [quarantine.select(list(QUARANTINE_SCHEMA)), failed.drop("_pos")],
                    how="vertical_relaxed",
                )
    if line_q.height:
        quarantine = pl.concat(
            [line_q, quarantine.select(list(QUARANTINE_SCHEMA))], how="vertical_relaxed"
        )
    return Loaded(
        source=source,
        valid=valid,
        quarantine=quarantine,
        notices=tuple(validated.notices),
        read_notes=tuple(read_notes),
        rows_read=rows_read,
        seconds=time.perf_counter() - start,
        validated=validated,
        inference=inference,
        file_format=_file_format(inputs, source),
    )


def _file_format(inputs: _readers.FileInputs | None, source: Source) -> dict[str, Any] | None:
    if inputs is not None and inputs.text_format is not None:
        return inputs.text_format.to_dict()
    fmt = source.resolved_format
    return None if fmt in ("frame", "sql") else {"format": fmt}


def _needs_inference(source: Source, names: Sequence[str]) -> bool:
    """No declared mapping, and the columns are not already the canonical ones."""
    if source.columns:
        return False
    have = set(names) - {ROW}
    if source.record_id not in have and source.record_id != ROW_HASH:
        return True
    known = set(ATTRIBUTES) | {source.record_id, *source.keep}
    if source.event_time:
        known.add(source.event_time)
    return bool(have - known)


def _with_inferred_columns(
    source: Source, lf: pl.LazyFrame, names: Sequence[str]
) -> tuple[Source, Any]:
    """``source`` with the mapping inferred from a sample, and the inference (or ``None``)."""
    from c360._infer import SAMPLE_ROWS, infer_columns

    if not _needs_inference(source, names):
        return source, None
    inference = infer_columns(
        lf.head(SAMPLE_ROWS).collect(engine=engine_for(source.data)), source=source.name
    )
    changes: dict[str, Any] = {"columns": dict(inference.columns)}
    if source.record_id == RECORD_ID and RECORD_ID not in names:
        changes["record_id"] = inference.record_id
    default_event = source.event_time == _DEFAULT_EVENT_TIME and _DEFAULT_EVENT_TIME not in names
    if default_event and inference.event_time is not None:
        changes["event_time"] = inference.event_time
    return replace(source, **changes), inference


def _line_problems(
    source: Source,
    frame: pl.DataFrame,
    pairs: Sequence[tuple[str, str]],
    inputs: _readers.FileInputs | None,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Split damaged and ragged lines (to quarantine) and empty lines (dropped) from ``frame``.

    Raises:
        SourceReadError: more damaged lines than the source's ``max_bad_fraction`` allows.
    """
    if inputs is None:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA), frame, []
    if DAMAGED_MARK in frame.columns:
        damaged_q, frame = _marked_rows(source, frame, inputs)
        notes = [f"source {source.name!r}: {damaged_q.height} damaged line(s) sent to quarantine"]
        frame = frame.drop(DAMAGED_MARK)
    elif source.resolved_format == "csv":
        damaged_q, frame, notes = _csv_row_problems(source, frame, pairs, inputs)
    else:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA), frame, []
    bad = damaged_q.height
    lines = frame.height + bad
    if bad > allowed_bad_lines(lines, source.max_bad_fraction):
        first = damaged_q.sort("row_number").row(0, named=True)
        raise SourceReadError(
            f"too many damaged lines: {bad:,} of {lines:,} "
            f"(max_bad_fraction {source.max_bad_fraction:g}); the first: {first['reason']}",
            source=source.name,
            path=source.where,
            hint="a file that is mostly damaged has another separator or encoding: "
            "declare read_options (separator=, encoding=), or raise max_bad_fraction",
        )
    return damaged_q, frame, notes


def _damage_rows(source: Source, rows: pl.DataFrame, damage: Sequence[DamagedLine]) -> pl.DataFrame:
    """Quarantine rows for ``rows`` (``_row``, ``record_id``, ``damage``: index into ``damage``)."""
    idx = rows.get_column("damage").to_list()
    return pl.DataFrame(
        {
            SOURCE: [source.name] * rows.height,
            RECORD_ID: rows.get_column(RECORD_ID),
            "row_number": rows.get_column(ROW).cast(pl.Int64),
            "reason": [
                f"damaged line: {damage[i].file} line {damage[i].line}: {damage[i].reason}"
                for i in idx
            ],
            "raw": [damage[i].raw for i in idx],
        },
        schema=QUARANTINE_SCHEMA,
    )


def _marked_rows(
    source: Source, frame: pl.DataFrame, inputs: _readers.FileInputs
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """NDJSON: the placeholder rows of damaged lines, and the rest."""
    mark = pl.col(DAMAGED_MARK)
    rows = frame.filter(mark.is_not_null()).select(
        ROW, pl.lit(None, pl.String).alias(RECORD_ID), mark.cast(pl.Int64).alias("damage")
    )
    return _damage_rows(source, rows, inputs.damaged), frame.filter(mark.is_null())


def _csv_row_problems(
    source: Source,
    frame: pl.DataFrame,
    pairs: Sequence[tuple[str, str]],
    inputs: _readers.FileInputs,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Split damaged and ragged CSV lines (to quarantine) and empty lines (dropped)."""
    empty_q = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if not _readers.csv_alignment_safe(inputs.options):
        odd = sorted(set(inputs.options) - _readers._ALIGNMENT_SAFE_CSV_OPTIONS)
        if inputs.damaged:
            raise SourceReadError(
                f"{len(inputs.damaged)} line(s) are not valid UTF-8 (the first: line "
                f"{inputs.damaged[0].line}), and with read_options {', '.join(odd)} they "
                "cannot be matched to rows",
                source=source.name,
                path=inputs.damaged[0].file,
            )
        return (
            empty_q,
            frame,
            [
                f"source {source.name!r}: field counts per line not checked because of "
                f"read_options {', '.join(odd)}"
            ],
        )
    check = _readers.check_csv_fields(inputs, inputs.options)
    if check.records != frame.height:
        if inputs.damaged:
            raise SourceReadError(
                f"{len(inputs.damaged)} line(s) are not valid UTF-8 (the first: line "
                f"{inputs.damaged[0].line}), and the lines could not be matched to rows",
                source=source.name,
                path=inputs.damaged[0].file,
            )
        return (
            empty_q,
            frame,
            [
                f"source {source.name!r}: field counts per line not checked: counted "
                f"{check.records} records but read {frame.height} rows"
            ],
        )
    notes: list[str] = []
    parts: list[pl.DataFrame] = []
    if check.damaged.height:
        index = {(d.file, d.line): i for i, d in enumerate(inputs.damaged)}
        found = check.damaged.with_columns(
            pl.struct("file", "line")
            .map_elements(lambda r: index.get((r["file"], r["line"])), return_dtype=pl.Int64)
            .alias("damage")
        )
        rows = frame.join(found.select(ROW, "damage"), on=ROW, how="inner").sort(ROW)
        parts.append(_damage_rows(source, rows, inputs.damaged))
        frame = frame.join(found.select(ROW), on=ROW, how="anti")
        notes.append(
            f"source {source.name!r}: {rows.height} line(s) that are not valid UTF-8 "
            "sent to quarantine"
        )
    if check.blank.len():
        frame = frame.filter(~pl.col(ROW).is_in(check.blank.implode()))
        notes.append(f"source {source.name!r}: skipped {check.blank.len()} empty line(s)")
    if check.rows.height:
        bad = frame.join(check.rows, on=ROW, how="inner").sort(ROW)
        frame = frame.join(check.rows.select(ROW), on=ROW, how="anti")
        seen: set[str] = set()
        raw_fields = []
        for src, out in pairs:
            if src not in seen:
                seen.add(src)
                raw_fields.append(pl.col(out).alias(src))
        ragged = bad.select(
            pl.col(SOURCE),
            pl.col(RECORD_ID),
            pl.col(ROW).alias("row_number"),
            pl.format(
                "ragged line: {} line {} has {} field(s) where the header has {}",
                pl.col("file"),
                pl.col("line"),
                pl.col("fields"),
                pl.col("expected"),
            ).alias("reason"),
            pl.struct(raw_fields).struct.json_encode().alias("raw"),
        )
        parts.append(ragged.cast(QUARANTINE_SCHEMA))  # type: ignore[arg-type]
        notes.append(
            f"source {source.name!r}: {ragged.height} line(s) with the wrong number of fields "
            "sent to quarantine"
        )
    quarantine = pl.concat(parts) if parts else empty_q
    return quarantine, frame, notes
