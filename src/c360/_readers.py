"""Readers behind [`c360.sources.Source`][c360.sources.Source]: files, globs, directories and SQL.

Each reader returns a ``pl.LazyFrame`` (SQL returns Arrow, turned into one) of
the source's own columns. This module reads files: CSV (every column as text,
with the field count of every line checked), Parquet, NDJSON, JSON and Arrow,
with damaged lines set aside for quarantine. What it builds on lives beside it
and is re-exported here: locations and formats in ``c360._locations``, SQL in
``c360._sql``, and in ``c360._read_errors`` ``source_context``, which turns
failures into [`SourceReadError`][SourceReadError] / ``EmptySourceError``
naming the source and its file, and where cheap also the line or byte where
the file went wrong.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, TypeAlias

import polars as pl

from c360._damage import (
    DamagedLine,
    allowed_bad_lines,
    json_damage,
    mark_ndjson,
    replace_bad_utf8,
    utf8_damage,
)
from c360._locations import (
    FORMATS,
    SUFFIX_FORMATS,
    FileFormat,
    SourceFormat,
    directory_format,
    expand_paths,
    has_glob,
    infer_format,
)
from c360._read_errors import (
    bad_utf8_error,
    describe_failure,
    locate_bad_json_line,
    locate_bad_utf8,
    locate_unclosed_quote,
    malformed_csv_error,
    source_context,
    translate_error,
)
from c360._sniff import TextFormat, sniff_csv
from c360._sql import (
    SQL_SCHEMES,
    is_sql_uri,
    mask_uri,
    quote_identifier,
    read_sql,
    sqlite_path,
    strip_extension_types,
)
from c360.exceptions import SourceReadError

__all__ = [
    # defined here
    "DEFAULT_MAX_BAD_FRACTION",
    "CsvInput",
    "FieldCheck",
    "FileInputs",
    "check_csv_fields",
    "check_damage",
    "csv_alignment_safe",
    "csv_options",
    "file_inputs",
    "repair_ndjson",
    "scan_csv",
    "scan_files",
    "transcode",
    # re-exported from c360._locations
    "FORMATS",
    "SUFFIX_FORMATS",
    "FileFormat",
    "SourceFormat",
    "directory_format",
    "expand_paths",
    "has_glob",
    "infer_format",
    # re-exported from c360._read_errors
    "bad_utf8_error",
    "describe_failure",
    "locate_bad_json_line",
    "locate_bad_utf8",
    "locate_unclosed_quote",
    "malformed_csv_error",
    "source_context",
    "translate_error",
    # re-exported from c360._sql
    "SQL_SCHEMES",
    "is_sql_uri",
    "mask_uri",
    "quote_identifier",
    "read_sql",
    "sqlite_path",
    "strip_extension_types",
]

_UTF8_NAMES: Final = {"utf8", "utf-8", "utf_8", "u8"}

#: Share of a file's lines that may be damaged (quarantined) before the source fails.
DEFAULT_MAX_BAD_FRACTION: Final = 0.05

# CSV read options that do not move rows or lines, so the field-count check
# (which reads the same file line by line) still lines up with the rows read.
_ALIGNMENT_SAFE_CSV_OPTIONS: Final = frozenset(
    {
        "separator",
        "quote_char",
        "encoding",
        "null_values",
        "empty_string_is_null",
        "decimal_comma",
        "low_memory",
        "has_header",
        "infer_schema",
        "infer_schema_length",
        "schema_overrides",
        "try_parse_dates",
        "truncate_ragged_lines",
        "glob",
    }
)


# --------------------------------------------------------------------------- file readers


def _norm_encoding(options: Mapping[str, Any]) -> str:
    enc = str(options.get("encoding", "utf8")).lower()
    if enc in _UTF8_NAMES:
        return "utf8"
    if enc in {"utf8-lossy", "utf-8-lossy"}:
        return "utf8-lossy"
    try:
        codecs.lookup(enc)
    except LookupError:
        raise SourceReadError(
            f"unknown encoding {options.get('encoding')!r}",
            hint="use a Python codec name such as 'latin-1', 'cp1252' or 'utf-16'",
        ) from None
    return enc


def transcode(path: Path, encoding: str) -> bytes:
    """Read ``path`` in ``encoding`` and return it as UTF-8 bytes.

    Raises:
        SourceReadError: the file does not decode with that encoding (names the byte).

    """
    data = path.read_bytes()
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SourceReadError(
            f"the file does not decode as {encoding} at byte {err.start} (line {line})",
            path=str(path),
        ) from None


CsvInput: TypeAlias = "Path | bytes"


@dataclass(frozen=True, slots=True)
class FileInputs:
    """The inputs of a file source, as polars reads them.

    Attributes:
        paths: the files.
        data: per file, its path, or its bytes when they had to change first
            (transcoded to UTF-8; bad UTF-8 bytes replaced; damaged NDJSON
            lines replaced by placeholders).
        damaged: lines set aside, in file then line order (see ``c360._damage``).
        options: the read options used (CSV: the detected separator and
            encoding filled in).
        text_format: a CSV source's separator and encoding, and which were detected.
    """

    paths: tuple[Path, ...]
    data: tuple[Path | bytes, ...]
    damaged: tuple[DamagedLine, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    text_format: TextFormat | None = None


def file_inputs(
    paths: Sequence[Path],
    options: Mapping[str, Any],
    *,
    fmt: FileFormat = "csv",
    max_bad_fraction: float | None = None,
) -> FileInputs:
    """Paths to hand to polars: transcoded when an encoding is declared, repaired when damaged.

    With ``max_bad_fraction``, a UTF-8 CSV file (the default) is checked for
    bytes that are not UTF-8; the lines that hold them are recorded in
    ``damaged`` and read with the bad bytes replaced, so that every other row
    keeps its place. Without it (reading with no quarantine), a bad byte fails
    the read when polars meets it.

    Raises:
        SourceReadError: a file has more damaged lines than ``max_bad_fraction``
            allows (or does not decode in its declared encoding).
    """
    enc = _norm_encoding(options)
    if enc not in ("utf8", "utf8-lossy"):
        return FileInputs(tuple(paths), tuple(transcode(p, enc) for p in paths))
    if enc == "utf8-lossy" or fmt != "csv" or max_bad_fraction is None:
        return FileInputs(tuple(paths), tuple(paths))
    data: list[Path | bytes] = []
    damaged: list[DamagedLine] = []
    for p in paths:
        bad = utf8_damage(p, max_bad_fraction=max_bad_fraction)
        if bad and bad[0].line == 1 and options.get("has_header", True):
            raise SourceReadError(
                f"the header line is not valid UTF-8: {bad[0].reason}",
                path=str(p),
                hint="declare the file's encoding, e.g. read_options={'encoding': 'cp1252'}",
            )
        if bad:
            check_damage(bad, p, max_bad_fraction)
            damaged += bad
            data.append(replace_bad_utf8(p.read_bytes()))
        else:
            data.append(p)
    return FileInputs(tuple(paths), tuple(data), tuple(damaged))


def check_damage(bad: Sequence[DamagedLine], path: Path, max_bad_fraction: float) -> None:
    """Fail when a file has more damaged lines than its source allows."""
    lines = _count_lines(path)
    if len(bad) <= allowed_bad_lines(lines, max_bad_fraction):
        return
    first = bad[0]
    encoding = first.reason.startswith("invalid UTF-8")
    raise SourceReadError(
        f"too many damaged lines: {len(bad)}{'+' if encoding else ''} of {lines:,} "
        f"(max_bad_fraction {max_bad_fraction:g}); the first is line {first.line}: "
        f"{first.reason}",
        path=str(path),
        hint=(
            "a file that is mostly not UTF-8 has another encoding: declare it, e.g. "
            "read_options={'encoding': 'latin-1'} (or 'cp1252'), or raise max_bad_fraction"
            if encoding
            else "check that the file is NDJSON (one JSON object per line), "
            "or raise max_bad_fraction"
        ),
    )


def _count_lines(path: Path) -> int:
    n = 0
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk
    return n + (1 if last and not last.endswith(b"\n") else 0)


def csv_options(options: Mapping[str, Any], paths: Sequence[Path]) -> dict[str, Any]:
    """Polars ``scan_csv`` keyword arguments: every column as text, ragged lines kept."""
    opts: dict[str, Any] = {"infer_schema": False, "truncate_ragged_lines": True}
    if paths and all(p.name.lower().endswith((".tsv", ".tsv.gz")) for p in paths):
        opts["separator"] = "\t"
    opts.update(options)
    enc = _norm_encoding(options)
    opts["encoding"] = "utf8-lossy" if enc == "utf8-lossy" else "utf8"
    return opts


def scan_csv(inputs: FileInputs, options: Mapping[str, Any]) -> pl.LazyFrame:
    """Scan one or more CSV files, every column as ``String``."""
    opts = csv_options(options, inputs.paths)
    data = list(inputs.data)
    if all(isinstance(d, Path) for d in data):
        return pl.scan_csv([str(d) for d in data] if len(data) > 1 else str(data[0]), **opts)
    frames = [pl.scan_csv(io.BytesIO(d) if isinstance(d, bytes) else str(d), **opts) for d in data]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _scan_ndjson(inputs: FileInputs, options: Mapping[str, Any]) -> pl.LazyFrame:
    opts = dict(options)
    opts.pop("encoding", None)
    opts.setdefault("infer_schema_length", None)
    frames = [
        pl.scan_ndjson(io.BytesIO(d) if isinstance(d, bytes) else str(d), **opts)
        for d in inputs.data
    ]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def repair_ndjson(inputs: FileInputs, max_bad_fraction: float) -> FileInputs:
    """The inputs with every line that is not a JSON object replaced by a placeholder.

    Called once polars failed to parse the files. A placeholder row holds only
    ``__c360_damaged`` (the index of its line in ``damaged``): it keeps every
    later row's number, and [`c360.sources.load`][c360.sources.load] turns it
    into a quarantine row.

    Raises:
        SourceReadError: a file has more damaged lines than ``max_bad_fraction`` allows.
    """
    data: list[Path | bytes] = []
    damaged: list[DamagedLine] = []
    for path, d in zip(inputs.paths, inputs.data, strict=True):
        raw = d if isinstance(d, bytes) else path.read_bytes()
        bad = json_damage(raw, str(path), max_bad_fraction=max_bad_fraction)
        if bad:
            check_damage(bad, path, max_bad_fraction)
            data.append(mark_ndjson(raw, bad, len(damaged)))
            damaged += bad
        else:
            data.append(d)
    return replace(inputs, data=tuple(data), damaged=tuple(damaged))


def scan_files(
    fmt: FileFormat,
    location: str | None,
    paths: Sequence[Path],
    options: Mapping[str, Any],
    *,
    max_bad_fraction: float | None = None,
) -> tuple[pl.LazyFrame, FileInputs | None]:
    """Scan file(s) of one format lazily. CSV is read as text; others keep their types.

    Returns the frame and, for CSV and NDJSON, the inputs it reads. With
    ``max_bad_fraction`` damaged lines are set aside in them (see
    [`file_inputs`][file_inputs], [`repair_ndjson`][repair_ndjson]); without, they fail the read.
    """
    opts = dict(options)
    if fmt == "csv":
        text_format = sniff_csv(paths, opts, source=None)
        opts = text_format.read_options(opts)
        inputs = file_inputs(paths, opts, fmt="csv", max_bad_fraction=max_bad_fraction)
        inputs = replace(inputs, options=opts, text_format=text_format)
        return scan_csv(inputs, opts), inputs
    if fmt == "parquet":
        is_dir = location is not None and Path(location).is_dir()
        target: Any = location if is_dir else [str(p) for p in paths]
        return pl.scan_parquet(target, **opts), None
    if fmt == "arrow":
        return pl.scan_ipc([str(p) for p in paths], **opts), None
    if fmt == "ndjson":
        inputs = replace(file_inputs(paths, opts, fmt="ndjson"), options=opts)
        lf = _scan_ndjson(inputs, opts)
        try:
            lf.collect_schema()  # the whole file is parsed for its schema
        except pl.exceptions.ComputeError:
            if max_bad_fraction is None:
                raise
            inputs = repair_ndjson(inputs, max_bad_fraction)
            if not inputs.damaged:
                raise
            lf = _scan_ndjson(inputs, opts)
        return lf, inputs
    if fmt == "json":
        inputs = file_inputs(paths, opts, fmt="json")
        opts.pop("encoding", None)
        frames_eager = [
            pl.read_json(io.BytesIO(d) if isinstance(d, bytes) else d, **opts) for d in inputs.data
        ]
        if len(frames_eager) == 1:
            return frames_eager[0].lazy(), None
        return pl.concat(frames_eager, how="diagonal_relaxed").lazy(), None
    raise AssertionError(fmt)  # pragma: no cover - guarded by Source


# --------------------------------------------------------------------------- CSV field check


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """Rows of a CSV source whose field count differs from the header's.

    Attributes:
        rows: ``_row`` (0-based data row over all files), ``line`` (1-based line in its
            file), ``file``, ``fields`` and ``expected`` of every ragged row.
        blank: ``_row`` of every empty line (skipped: not a record).
        records: number of data rows counted (blank lines included), for alignment checks.
        damaged: ``_row``, ``file`` and ``line`` (1-based, the first damaged line of
            the record) of every row holding a line in ``inputs.damaged``.

    """

    rows: pl.DataFrame
    blank: pl.Series
    records: int
    damaged: pl.DataFrame


def csv_alignment_safe(options: Mapping[str, Any]) -> bool:
    """Whether the field-count check can line up with the rows polars reads."""
    return set(options) <= _ALIGNMENT_SAFE_CSV_OPTIONS


def check_csv_fields(inputs: FileInputs, options: Mapping[str, Any]) -> FieldCheck:
    """Count the fields of every CSV record with whole-column expressions.

    Each file is read line by line (``scan_lines``); a record continues over the
    next line while a quoted value is open (odd running count of quote
    characters). Quoted values are removed before separators are counted, so
    quoted separators and line breaks do not count. Runs as one polars query per
    file; costs about as much as reading the CSV.
    """
    opts = csv_options(options, inputs.paths)
    sep = str(opts.get("separator", ","))
    quote = opts.get("quote_char", '"')
    has_header = bool(opts.get("has_header", True))
    bad_lines: dict[str, list[int]] = {}
    for d in inputs.damaged:
        bad_lines.setdefault(d.file, []).append(d.line - 1)
    # Only the header, empty lines, ragged and damaged records leave each query
    # (plus the count).
    plans = [
        _field_count_plan(d, sep=sep, quote=quote, bad_lines=bad_lines.get(str(path), []))
        .with_columns(
            n_records=pl.len(),
            header_seps=pl.col("seps").filter(pl.col("rec") == 0).first(),
        )
        .filter(
            (pl.col("rec") == 0)
            | pl.col("blank")
            | (pl.col("seps") != pl.col("header_seps"))
            | pl.col("bad").is_not_null()
        )
        .sort("rec")
        for path, d in zip(inputs.paths, inputs.data, strict=True)
    ]
    per_file = pl.collect_all(plans)
    bad_parts: list[pl.DataFrame] = []
    damaged_parts: list[pl.DataFrame] = []
    blank_parts: list[pl.Series] = []
    offset = 0
    skip = 1 if has_header else 0
    for path, recs in zip(inputs.paths, per_file, strict=True):
        if recs.height == 0:
            continue
        expected = int(recs["header_seps"][0]) + 1
        n_data = int(recs["n_records"][0]) - skip
        data = recs.filter(pl.col("rec") >= skip).with_columns(
            (pl.col("rec") - skip + offset).alias("_row")
        )
        blank_parts.append(data.filter(pl.col("blank"))["_row"])
        damaged_parts.append(
            data.filter(pl.col("bad").is_not_null()).select(
                pl.col("_row").cast(pl.Int64),
                pl.lit(str(path)).alias("file"),
                (pl.col("bad") + 1).cast(pl.Int64).alias("line"),
            )
        )
        data = data.filter(pl.col("bad").is_null())
        bad = data.filter(~pl.col("blank") & (pl.col("seps") + 1 != expected)).select(
            pl.col("_row").cast(pl.Int64),
            (pl.col("lineno") + 1).cast(pl.Int64).alias("line"),
            pl.lit(str(path)).alias("file"),
            (pl.col("seps") + 1).cast(pl.Int64).alias("fields"),
            pl.lit(expected, pl.Int64).alias("expected"),
        )
        bad_parts.append(bad)
        offset += n_data
    schema = {
        "_row": pl.Int64,
        "line": pl.Int64,
        "file": pl.String,
        "fields": pl.Int64,
        "expected": pl.Int64,
    }
    rows = pl.concat(bad_parts) if bad_parts else pl.DataFrame(schema=schema)
    blank = (pl.concat(blank_parts) if blank_parts else pl.Series("_row", [], pl.Int64)).cast(
        pl.Int64
    )
    damaged_schema = {"_row": pl.Int64, "file": pl.String, "line": pl.Int64}
    damaged = pl.concat(damaged_parts) if damaged_parts else pl.DataFrame(schema=damaged_schema)
    return FieldCheck(rows=rows, blank=blank, records=offset, damaged=damaged)


def _field_count_plan(
    data: Path | bytes, *, sep: str, quote: str | None, bad_lines: Sequence[int] = ()
) -> pl.LazyFrame:
    """Per record: ``rec`` (0-based, header included), ``seps``, first ``lineno``, ``blank``.

    ``bad``: the first of ``bad_lines`` (0-based) in the record, else null.
    """
    src: Any = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    lines = pl.scan_lines(src, name="text").with_row_index("lineno")
    text = pl.col("text")
    bad = pl.when(pl.col("lineno").is_in(list(bad_lines))).then(pl.col("lineno").cast(pl.Int64))
    out_cols = ["rec", "seps", "lineno", "blank", "bad"]
    if not quote:
        return lines.select(
            pl.col("lineno").cast(pl.Int64).alias("rec"),
            text.str.count_matches(sep, literal=True).alias("seps"),
            "lineno",
            (text.str.len_bytes() == 0).alias("blank"),
            bad.alias("bad"),
        )
    q = re.escape(quote)
    lines = (
        lines.with_columns(nq=text.str.count_matches(quote, literal=True))
        .with_columns(open_after=pl.col("nq").cum_sum() % 2 == 1)
        .with_columns(open_before=pl.col("open_after").shift(1, fill_value=False))
        .with_columns(rec=(~pl.col("open_before")).cast(pl.Int64).cum_sum() - 1)
    )
    # Most lines hold no quote and start outside quotes: each is a record by itself.
    simple = (pl.col("nq") == 0) & ~pl.col("open_before")
    plain = lines.filter(simple).select(
        "rec",
        text.str.count_matches(sep, literal=True).alias("seps"),
        "lineno",
        (text.str.len_bytes() == 0).alias("blank"),
        bad.alias("bad"),
    )
    # The rest: remove quoted values (a line that starts inside one gets its opening
    # quote back), count separators, and add up the lines of each record.
    body = pl.when(pl.col("open_before")).then(pl.lit(quote) + text).otherwise(text)
    quoted_value = rf"{q}(?:[^{q}]|{q}{q})*(?:{q}|$)"
    quoted = (
        lines.filter(~simple)
        .select(
            "rec",
            "lineno",
            body.str.replace_all(quoted_value, "")
            .str.count_matches(sep, literal=True)
            .alias("seps"),
            bad.alias("bad"),
        )
        .group_by("rec")
        .agg(
            pl.col("seps").sum(),
            pl.col("lineno").min(),
            pl.lit(False).alias("blank"),
            pl.col("bad").min(),
        )
    )
    return pl.concat([plain.select(out_cols), quoted.select(out_cols)], how="vertical_relaxed")
