"""Where a source's data is: its format, and the files a location names.

A location is a file, a glob (``crm/*.csv``, ``**`` for sub-directories), a
directory or a SQL URI. ``infer_format`` tells the format from a file name's
ending (compressed ``.gz`` / ``.zst`` files by the ending before it) or from the
URI; ``expand_paths`` lists the files of a file, glob or directory location in
sorted order; ``directory_format`` names the one format a directory holds. The
names are re-exported by ``c360._readers``.
"""

from __future__ import annotations

import glob as globlib
import os
from pathlib import Path
from typing import Final, Literal, TypeAlias

from c360._sql import is_sql_uri
from c360.exceptions import SourceReadError

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
