"""Conversion of accepted inputs to polars, done once at the public boundary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from c360.exceptions import ConfigError

#: In-memory frames up to this many rows are collected with polars' in-memory
#: engine. The default engine's set-up costs several milliseconds per query,
#: which is most of the time of an incremental run on one record.
SMALL_FRAME = 10_000

Engine = Literal["auto", "in-memory"]


def engine_for(data: Any) -> Engine:
    """The polars engine for a query over ``data``: in-memory for a small DataFrame.

    Examples:
        >>> engine_for(pl.DataFrame({"a": [1]})), engine_for(pl.LazyFrame({"a": [1]}))
        ('in-memory', 'auto')
    """
    if isinstance(data, pl.DataFrame) and data.height <= SMALL_FRAME:
        return "in-memory"
    return "auto"


def to_lazy(data: Any, *, what: str = "data") -> pl.LazyFrame:
    """Convert a polars/pyarrow/pandas frame to a ``pl.LazyFrame``.

    Examples:
        >>> to_lazy(pa.table({"a": [1]})).collect().height
        1
    """
    if isinstance(data, pl.LazyFrame):
        return data
    if isinstance(data, pl.DataFrame):
        return data.lazy()
    if isinstance(data, pa.Table | pa.RecordBatch):
        return pl.from_arrow(data).lazy()  # type: ignore[union-attr]
    mod = type(data).__module__
    if mod.startswith("pandas"):
        frame: pl.DataFrame = pl.from_pandas(data)
        return frame.lazy()
    raise ConfigError(
        f"{what} must be a polars LazyFrame/DataFrame, a pyarrow Table or a pandas DataFrame; "
        f"got {type(data).__name__}"
    )


#: zstd level of the Parquet files polars writes. Level 1 against polars'
#: default (3): a quarter less processor time, had polars written every output
#: of a million records (12.5 → 9.3 CPU-s), for files 5% larger.
ZSTD_LEVEL = 1


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as zstd-compressed Parquet (level [`ZSTD_LEVEL`][ZSTD_LEVEL])."""
    frame.write_parquet(path, compression="zstd", compression_level=ZSTD_LEVEL)


def write_parquet_files(jobs: Sequence[tuple[pa.Table | pl.DataFrame, Path]]) -> list[Path]:
    """Write each ``(table, path)`` as Parquet, two files at a time; return the paths.

    pyarrow and polars encode and compress without holding the GIL, so two
    threads keep both cores of a small machine busy while one large table is
    compressed. An error in any file is raised after the others finish.
    polars frames are written by [`write_parquet`][write_parquet], Arrow
    tables with pyarrow's defaults (Snappy).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     paths = write_parquet_files([(pl.DataFrame({"a": [1]}), Path(d) / "a.parquet"),
        ...                                  (pa.table({"b": [2]}), Path(d) / "b.parquet")])
        ...     [pl.read_parquet(p).columns for p in paths]
        [['a'], ['b']]

    """
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    def write(job: tuple[pa.Table | pl.DataFrame, Path]) -> Path:
        table, path = job
        if isinstance(table, pl.DataFrame):
            write_parquet(table, path)
        else:
            pq.write_table(table, path)
        return path

    if len(jobs) <= 1:
        return [write(j) for j in jobs]
    # largest first, so the two threads finish together
    order = sorted(range(len(jobs)), key=lambda i: -_nbytes(jobs[i][0]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {i: pool.submit(write, jobs[i]) for i in order}
    return [futures[i].result() for i in range(len(jobs))]


def _nbytes(table: pa.Table | pl.DataFrame) -> int:
    return int(table.estimated_size() if isinstance(table, pl.DataFrame) else table.nbytes)


def cut_into(series: pl.Series, lengths: Sequence[int]) -> pl.Series:
    """``series`` as chunks of the given ``lengths`` (which must add up to its length).

    One copy when ``series`` has several chunks (none when it has one); the
    chunks are views of it.

    Examples:
        >>> cut_into(pl.Series([1, 2, 3]), [2, 1]).chunk_lengths()
        [2, 1]
    """
    if list(series.chunk_lengths()) == list(lengths):
        return series
    whole = series.rechunk()
    parts, start = [], 0
    for n in lengths:
        parts.append(whole.slice(start, n))
        start += n
    return pl.concat(parts, rechunk=False) if parts else whole


#: [`spread`][spread] leaves shorter series whole: below this, one thread is as fast.
SPREAD_MIN_ROWS = 50_000


def spread(series: pl.Series) -> pl.Series:
    """``series`` cut into one chunk per polars thread when it is one long chunk.

    Polars runs a string function on a Series one chunk per thread: on one chunk
    (the distinct values of a column, a column just read) it uses one core.
    Cutting costs no copy. Short series, and series already cut, come back as
    they are.

    Examples:
        >>> spread(pl.Series(range(100_000))).n_chunks() == min(pl.thread_pool_size(), 8)
        True
    """
    threads = min(pl.thread_pool_size(), 8)
    if threads < 2 or series.n_chunks() > 1 or series.len() < SPREAD_MIN_ROWS:
        return series
    size = -(-series.len() // threads)
    return cut_into(series, [min(size, series.len() - i) for i in range(0, series.len(), size)])


def aligned_chunks(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column cut into the chunks most of its columns have.

    A ``when/then`` over a chunked numeric column can come back with its
    chunks merged differently from its neighbours'; every later query on a
    frame whose columns disagree on chunk boundaries first copies the frame
    into one layout (measured at 1M records: automatic configuration 1.4 ->
    2.9 s and 0.3 GB more, after one such column). Re-cutting the odd
    columns costs one copy of those columns only; the slices are views.

    Examples:
        >>> df = pl.concat([pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [3]})],
        ...                rechunk=False).with_columns(b=pl.Series([4, 5, 6]))
        >>> out = aligned_chunks(df)
        >>> [out[c].chunk_lengths() for c in out.columns], out["b"].to_list()
        ([[2, 1], [2, 1]], [4, 5, 6])
    """
    from collections import Counter

    layouts = Counter(tuple(s.chunk_lengths()) for s in frame.get_columns())
    if len(layouts) <= 1:
        return frame
    ref = layouts.most_common(1)[0][0]
    out = frame.clone()
    for i, s in enumerate(frame.get_columns()):
        if tuple(s.chunk_lengths()) != ref:
            out.replace_column(i, cut_into(s, ref))
    return out
