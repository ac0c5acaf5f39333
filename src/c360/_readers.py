"""Readers behind [`c360.sources.Source`][c360.sources.Source]: files, globs, directories and SQL.

Each reader returns a ``pl.LazyFrame`` (SQL returns Arrow, turned into one) of
the source's own columns. Failures are turned into [`SourceReadError`][SourceReadError] /
``EmptySourceError`` by ``source_context``, which names the source and
its file, and where cheap also the line or byte where the file went wrong.
"""

from __future__ import annotations

import codecs
import contextlib
import glob as globlib
import io
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import unquote, urlsplit, urlunsplit

import polars as pl
import pyarrow as pa

from c360._damage import (
    DamagedLine,
    allowed_bad_lines,
    json_damage,
    mark_ndjson,
    replace_bad_utf8,
    utf8_damage,
)
from c360._optional import import_optional
from c360._sniff import TextFormat, sniff_csv
from c360.exceptions import C360Error, EmptySourceError, SourceReadError

SourceFormat: TypeAlias = Literal[
    "auto", "csv", "parquet", "ndjson", "json", "arrow", "sql", "frame"
]
FileFormat: TypeAlias = Literal["csv", "parquet", "ndjson", "json", "arrow"]

FORMATS: Final = ("auto", "csv", "parquet", "ndjson", "json", "arrow", "sql", "frame")

#: File name endings and the format they imply.
SUFFIX_FORMATS: Final[dict[str, FileFormat]] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".feather": "arrow",
}

SQL_SCHEMES: Final = ("sqlite", "postgresql", "postgres")

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


# --------------------------------------------------------------------------- locations


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


def infer_format(location: str) -> FileFormat | Literal["sql"] | None:
    """Return the format a location implies, or ``None`` when its name does not say.

    Examples:
        >>> infer_format("crm/*.parquet"), infer_format("sqlite:///crm.db"), infer_format("dir")
        ('parquet', 'sql', None)

    """
    if is_sql_uri(location):
        return "sql"
    name = location.rstrip("/\\")
    for suffix in (".gz", ".zst", ".zstd"):  # compressed CSV/NDJSON: polars decompresses
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    suffix = Path(name).suffix.lower()
    return SUFFIX_FORMATS.get(suffix)


def has_glob(location: str) -> bool:
    """Whether ``location`` holds glob characters."""
    return any(ch in location for ch in "*?[")


def expand_paths(location: str, fmt: FileFormat, *, source: str) -> list[Path]:
    """Expand a file, glob or directory location into its files, sorted.

    Raises:
        SourceReadError: nothing exists there or the glob matches no file.

    """
    if has_glob(location):
        paths = sorted(Path(p) for p in globlib.glob(location, recursive=True) if Path(p).is_file())
        if not paths:
            raise SourceReadError(
                "the glob matches no file",
                source=source,
                path=location,
                hint="check the pattern and the working directory "
                f"({os.getcwd()}); '**' matches sub-directories",
            )
        return paths
    path = Path(location)
    if path.is_dir():
        suffixes = [s for s, f in SUFFIX_FORMATS.items() if f == fmt]
        paths = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not p.name.startswith((".", "_"))
            and _strip_compression(p) in suffixes
        )
        if not paths:
            raise SourceReadError(
                f"the directory holds no {fmt} file ({', '.join(suffixes)})",
                source=source,
                path=location,
            )
        return paths
    if not path.exists():
        raise SourceReadError(
            "no such file",
            source=source,
            path=location,
            hint=f"paths are relative to the working directory ({os.getcwd()})",
        )
    return [path]


def _strip_compression(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return Path(name).suffix


def directory_format(location: str) -> FileFormat | None:
    """Return the one file format in a directory, or ``None`` when none or several are."""
    found = {
        SUFFIX_FORMATS[s]
        for p in Path(location).rglob("*")
        if p.is_file()
        and not p.name.startswith((".", "_"))
        and (s := _strip_compression(p)) in SUFFIX_FORMATS
    }
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def source_context(
    source: str | None, path: str | None = None, *, wrap: bool = True
) -> Iterator[None]:
    """Attach ``source`` and ``path`` to errors raised inside; wrap foreign errors.

    A [`C360Error`][C360Error] gets the missing context filled in. polars, pyarrow,
    ADBC and OS errors become [`SourceReadError`][SourceReadError] (or
    [`EmptySourceError`][EmptySourceError] for an empty file) that name the source and the
    file, with the original error chained as ``__cause__``. With ``wrap=False``
    only c360 errors are touched.

    Examples:
        >>> try:
        ...     with source_context("crm", "crm.csv"):
        ...         raise OSError("disk on fire")
        ... except SourceReadError as err:
        ...     print(err.source, err.path)
        crm crm.csv

    """
    shown = mask_uri(path) if path is not None else None
    try:
        yield
    except C360Error as err:
        err.with_context(source=source, path=shown)
        raise
    except Exception as exc:
        if not wrap:
            raise
        translated = translate_error(exc, source=source, path=path)
        if translated is None:
            raise
        raise translated from exc


def translate_error(
    exc: BaseException, *, source: str | None, path: str | None
) -> C360Error | None:
    """Turn a foreign exception raised while reading into a c360 error (``None``: let it be)."""
    shown = mask_uri(path) if path is not None else None
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    kind = type(exc).__name__
    if isinstance(exc, pl.exceptions.NoDataError) or "empty csv" in text.lower():
        return EmptySourceError(
            "the file is empty: no header and no rows",
            source=source,
            path=shown,
            hint="a CSV file needs at least a header line",
        )
    if "invalid utf-8" in text.lower() or "invalid utf8" in text.lower():
        return bad_utf8_error(source=source, path=path)
    if (
        path is not None
        and infer_format(path) == "ndjson"
        and isinstance(exc, pl.exceptions.ComputeError)
    ):
        located = describe_failure("ndjson", _existing_files(path), exc)
        if located is not None:
            return SourceReadError(f"invalid NDJSON: {located}", source=source, path=shown)
    if "csv malformed" in text.lower() or (
        path is not None
        and infer_format(path) == "csv"
        and isinstance(exc, pl.exceptions.ComputeError)
        and any(locate_unclosed_quote(p) for p in _existing_files(path))
    ):
        return malformed_csv_error(source=source, path=path)
    if isinstance(exc, FileNotFoundError):
        return SourceReadError(f"no such file: {first}", source=source, path=shown)
    if isinstance(exc, pl.exceptions.PolarsError | pa.ArrowException | OSError | ValueError):
        return SourceReadError(
            f"cannot read the source ({kind}): {first}", source=source, path=shown
        )
    if type(exc).__module__.startswith("adbc_driver"):
        return SourceReadError(
            f"cannot read the SQL source ({kind}): {first}", source=source, path=shown
        )
    return None


def _existing_files(path: str) -> list[Path]:
    if has_glob(path):
        return sorted(Path(p) for p in globlib.glob(path, recursive=True) if Path(p).is_file())
    if Path(path).is_dir():
        return sorted(p for p in Path(path).rglob("*") if p.is_file())
    return [Path(path)] if Path(path).is_file() else []


def malformed_csv_error(*, source: str | None, path: str | None) -> SourceReadError:
    """Build the error for a CSV file polars cannot split into rows (an unclosed quote)."""
    where = ""
    for candidate in _existing_files(path) if path is not None else []:
        line = locate_unclosed_quote(candidate)
        if line is not None:
            where = f": the quoted value opened on line {line} of {candidate} is never closed"
            break
    return SourceReadError(
        f"malformed CSV{where} (a truncated file, or a stray quote character inside a value)",
        source=source,
        path=path,
        hint="if the file does not quote values, declare read_options={'quote_char': None}",
    )


def locate_unclosed_quote(path: Path, quote: str = '"') -> int | None:
    r"""Return the 1-based line where a quote is opened and never closed, if any.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = Path(d) / "x.csv"
        ...     _ = p.write_text('id,name\n1,a\n2,"Ann\n')
        ...     locate_unclosed_quote(p)
        3

    """
    try:
        return _unclosed_quote(str(path), quote)
    except pl.exceptions.ComputeError:  # not UTF-8: bad bytes do not move quotes
        return _unclosed_quote(io.BytesIO(replace_bad_utf8(path.read_bytes())), quote)


def _unclosed_quote(src: Any, quote: str) -> int | None:
    lines = (
        pl.scan_lines(src, name="text")
        .with_row_index("lineno")
        .with_columns(n=pl.col("text").str.count_matches(quote, literal=True))
        .with_columns(open_after=pl.col("n").cum_sum() % 2 == 1)
        .with_columns(open_before=pl.col("open_after").shift(1, fill_value=False))
        .select(
            pl.col("open_after").last().alias("open"),
            pl.col("lineno").filter(~pl.col("open_before")).last().alias("start"),
        )
        .collect()
    )
    if lines.height == 0 or not lines["open"][0]:
        return None
    return int(lines["start"][0]) + 1


def bad_utf8_error(*, source: str | None, path: str | None) -> SourceReadError:
    """Build the error for a file that is not valid UTF-8, naming the byte and line."""
    where = ""
    located = None
    if path is not None:
        candidates = _existing_files(path)
        for candidate in candidates:
            located = locate_bad_utf8(candidate)
            if located is not None:
                offset, line, byte = located
                where = f" at byte {offset} (line {line}, byte 0x{byte:02x})"
                if candidate != Path(path):
                    path = str(candidate)
                break
    return SourceReadError(
        f"the file is not valid UTF-8{where}",
        source=source,
        path=path,
        hint="if the file is Latin-1 or Windows-1252, declare it: "
        "read_options={'encoding': 'latin-1'} (or 'cp1252')",
    )


def locate_bad_utf8(path: Path, *, chunk_size: int = 1 << 20) -> tuple[int, int, int] | None:
    r"""Find the offset, 1-based line and value of the first byte that is not UTF-8.

    Reads the file in chunks; used only once a read has already failed.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = Path(d) / "x.csv"
        ...     _ = p.write_bytes(b"id,name\n1,Jos\xe9\n")
        ...     locate_bad_utf8(p)
        (13, 2, 233)

    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    lines = 1
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(chunk_size)
            final = not chunk
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError as err:
                # Bytes buffered by the decoder from the previous chunk start the error.
                pending = len(decoder.getstate()[0])
                data = decoder.getstate()[0] + chunk if pending else chunk
                start = err.start
                bad_offset = offset - pending + start
                lines += data[:start].count(b"\n")
                return bad_offset, lines, data[start]
            if final:
                return None
            lines += chunk.count(b"\n")
            offset += len(chunk)


def locate_bad_json_line(path: Path) -> tuple[int, str] | None:
    """Find the first line of an NDJSON file that is not JSON, with the parser's reason.

    Used only once a read has already failed.
    """
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                json.loads(text)
            except ValueError as err:
                return number, str(err)
    return None


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


def describe_failure(fmt: FileFormat, paths: Sequence[Path], exc: BaseException) -> str | None:
    """Locate a failed NDJSON read (file and line), when it can be found."""
    if fmt != "ndjson":
        return None
    for p in paths:
        found = locate_bad_json_line(p)
        if found is not None:
            return f"{p}: line {found[0]} is not valid JSON ({found[1]})"
    return None


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


# --------------------------------------------------------------------------- SQL


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
