"""Read failures: turned into c360 errors that name the source, the file and the place.

``source_context`` wraps the reading of a source: polars, pyarrow, ADBC and OS
errors raised inside become ``SourceReadError`` (``EmptySourceError`` for an
empty file) naming the source and its file, with the original error chained.
Where it is cheap, the error also says where the file went wrong: the first
byte that is not UTF-8 (``locate_bad_utf8``), the line of an NDJSON file that
is not JSON (``locate_bad_json_line``) or the line that opens a quoted value
never closed (``locate_unclosed_quote``). These run only once a read has
failed. The names are re-exported by ``c360._readers``.
"""

from __future__ import annotations

import codecs
import contextlib
import glob as globlib
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from c360._damage import replace_bad_utf8
from c360._locations import FileFormat, has_glob, infer_format
from c360._sql import mask_uri
from c360.exceptions import C360Error, EmptySourceError, SourceReadError


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


def describe_failure(fmt: FileFormat, paths: Sequence[Path], exc: BaseException) -> str | None:
    """Locate a failed NDJSON read (file and line), when it can be found."""
    if fmt != "ndjson":
        return None
    for p in paths:
        found = locate_bad_json_line(p)
        if found is not None:
            return f"{p}: line {found[0]} is not valid JSON ({found[1]})"
    return None
