"""The report's lineage tables.

Which records and links make each customer (``lineage_records``), and where
each golden value came from (``lineage_values``, built piece by piece).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from c360.report._pii import mask_field

if TYPE_CHECKING:
    from c360.pipeline import Resolution

from c360.report._model import TABLES_DIR, DeferredTable, ReportConfig, jsonable

__all__ = ["LINK_COLUMNS", "_by_customer", "_customer_links", "_lineage", "inline_lineage"]


#: Columns of ``lineage_links``: a link inside one customer, with that customer.
LINK_COLUMNS = (
    "customer_id",
    "source_l",
    "record_id_l",
    "source_r",
    "record_id_r",
    "rule",
    "match_weight",
    "match_probability",
)


def _customer_links(
    ids: pl.DataFrame, links: pl.DataFrame, rows: tuple[Any, Any] | None = None
) -> pl.DataFrame:
    """Return the links whose two records ended in the same customer, with that customer.

    ``rows``: each link's two rows in ``ids`` when known (a full run's
    ``Resolution.link_rows``); else they are found by joining the keys.
    """
    where, customer = _customer_link_order(ids, links, rows)
    return _links_at(links, where, customer)


def _links_at(links: pl.DataFrame, where: pl.Series, customer: pl.Series) -> pl.DataFrame:
    """Rows ``where`` of ``links`` with their ``customer``, as ``lineage_links`` lists them."""
    cols = list(LINK_COLUMNS)
    if links.height == 0 or where.len() == 0:
        return pl.DataFrame(
            schema={c: (pl.Float64 if c.startswith("match") else pl.String) for c in cols}
        )
    shown = [c for c in cols if c != "customer_id"]
    return links.select(shown)[where].with_columns(customer.alias("customer_id")).select(cols)


def _customer_link_order(
    ids: pl.DataFrame, links: pl.DataFrame, rows: tuple[Any, Any] | None = None
) -> tuple[pl.Series, pl.Series]:
    """Which links are inside one customer, in ``lineage_links`` order, and that customer.

    Only indexes and customer IDs: the columns shown are gathered when the
    table is written (see [`_links_at`][_links_at]), a slice at a time, so
    the report does not hold a copy of the links (10M records: 1.1 GB)
    from when it is built until it is written.
    """
    if links.height == 0 or ids.height == 0:
        return pl.Series("where", [], dtype=pl.UInt32), pl.Series("customer_id", [], pl.String)

    # each side's row in ``ids``, by a left join of the keys alone (joining the
    # whole links frame would copy every column twice); then the two sides'
    # customers are compared as gathered views, with no hash of the customers
    rowed = ids.lazy().select("source", "record_id").with_row_index("_row")

    def row_of(s: str) -> pl.Series:
        if rows is not None:
            return pl.Series("_row", rows[0] if s == "l" else rows[1])
        keys = [f"source_{s}", f"record_id_{s}"]
        on = rowed.rename({"source": keys[0], "record_id": keys[1]})
        joined = links.lazy().select(keys).join(on, on=keys, how="left", maintain_order="left")
        return joined.select("_row").collect().to_series()

    customers = ids.get_column("customer_id")
    left = row_of("l")
    # same customer; a record without one is not inside
    inside = (customers.gather(left) == customers.gather(row_of("r"))).fill_null(False)
    # the order first, on the customers alone, then one gather of the columns
    # shown: filtering the links, then sorting them, copied them twice (and
    # every column once: +357 MB at a million records, the peak of a run's
    # writing, against +185 MB then)
    customer = customers.gather(left.filter(inside))
    where = inside.arg_true()
    del left, inside
    keys = ["source_l", "record_id_l", "source_r", "record_id_r"]
    if _sorted_by(links, keys):  # then so are the links kept
        order = customer.to_frame().select(pl.arg_sort_by("customer_id", maintain_order=True))
    else:
        order = (
            links.select(keys)[where]
            .with_columns(customer)
            .select(pl.arg_sort_by("customer_id", *keys))
        )
    pick = order.to_series()
    return where.gather(pick), customer.gather(pick).alias("customer_id")


def _sorted_by(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether ``frame`` (of two rows or more) is sorted by ``keys``.

    Output tables come sorted by their record keys; a stable sort on the
    customer alone then gives the same order as sorting on the customer and
    all the string keys, at a fraction of the cost on millions of rows.

    Examples:
        >>> f = pl.DataFrame({"k": ["1", "2"]})
        >>> _sorted_by(f, ["k"]), _sorted_by(f.reverse(), ["k"]), _sorted_by(f.head(1), ["k"])
        (True, False, False)
    """
    return frame.height > 1 and bool(frame.select(pl.struct(keys).is_sorted()).item())


def _by_customer(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``frame`` sorted by ``customer_id`` then ``keys`` (see [`_sorted_by`][_sorted_by]).

    Examples:
        >>> f = pl.DataFrame({"customer_id": ["b", "a", "b"], "k": ["1", "2", "3"]})
        >>> _by_customer(f, ["k"])["k"].to_list(), _by_customer(f[::-1], ["k"])["k"].to_list()
        (['2', '1', '3'], ['2', '1', '3'])
    """
    if _sorted_by(frame, keys):
        return frame.sort("customer_id", maintain_order=True)
    return frame.sort("customer_id", *keys)


_VALUE_SCHEMA = {
    "customer_id": pl.String,
    "field": pl.String,
    "value": pl.String,
    "source": pl.String,
    "record_id": pl.String,
}

#: Customers per piece of ``lineage_values`` (about a dozen rows each): a tenth
#: of the customers, within these bounds. Small pieces keep small runs' memory
#: low; at a million records, pieces of 10,000 took twice as long to build and
#: write (46 pieces: 5.3 s) as pieces of 50,000 (2.5 s).
_VALUE_CHUNK = 10_000
_VALUE_CHUNK_MAX = 50_000


def _lineage_values(profiles: pa.Table | pl.DataFrame | None) -> DeferredTable | None:
    """Each golden value's origin: ``customer_id, field, value, source, record_id``.

    A profile field ``f`` is traced when the profiles hold ``f__source`` and
    ``f__record_id`` beside it (as ``c360.golden.build_profiles`` writes them).
    Rows come ordered by customer, then field; the table is built
    a tenth of the customers at a time (within [`_VALUE_CHUNK`][_VALUE_CHUNK]
    and ``_VALUE_CHUNK_MAX``) when written. Arrow profiles are read a piece at
    a time: a polars copy of the whole table (300 MB at a million records)
    would live until the last piece is written.
    """
    if profiles is None:
        return None
    columns = profiles.column_names if isinstance(profiles, pa.Table) else profiles.columns
    if "customer_id" not in columns:
        return None
    fields = sorted(
        c for c in columns if f"{c}__source" in columns and f"{c}__record_id" in columns
    )
    if not fields:
        return DeferredTable(0, lambda: iter([pl.DataFrame(schema=_VALUE_SCHEMA).to_arrow()]))
    traced = ["customer_id", *(f"{f}{s}" for f in fields for s in ("", "__source", "__record_id"))]
    table: pa.Table = (
        profiles.select(traced).to_arrow()
        if isinstance(profiles, pl.DataFrame)
        else profiles.select(traced)
    )
    customer = pl.Series(table.column("customer_id")).cast(pl.String)
    if not customer.is_sorted():
        table = table.take(customer.arg_sort().to_numpy())
    del customer
    height = table.num_rows
    rows = int(sum(height - table.column(f).null_count for f in fields))
    chunk = min(max(_VALUE_CHUNK, height // 10), max(_VALUE_CHUNK, _VALUE_CHUNK_MAX))

    def parts() -> Iterator[pa.Table]:
        for start in range(0, max(height, 1), chunk):
            piece = pl.from_arrow(table.slice(start, chunk))
            assert isinstance(piece, pl.DataFrame)
            yield _values_piece(piece, fields)

    return DeferredTable(rows, parts)


def _values_piece(profiles: pl.DataFrame, fields: list[str]) -> pa.Table:
    """``lineage_values`` rows of some profiles, ordered by customer then field."""
    # field by field, then gathered row-major: rows come out ordered by customer
    # and field without sorting strings (one profile row per customer)
    long = pl.concat(
        [
            profiles.select(
                pl.col("customer_id").cast(pl.String),
                pl.lit(f).alias("field"),
                pl.col(f).cast(pl.String).alias("value"),
                pl.col(f"{f}__source").cast(pl.String).alias("source"),
                pl.col(f"{f}__record_id").cast(pl.String).alias("record_id"),
            )
            for f in fields
        ]
    )
    rows = profiles.height
    order = (np.arange(len(fields))[None, :] * rows + np.arange(rows)[:, None]).ravel()
    return long[order].filter(pl.col("value").is_not_null()).to_arrow()


def _lineage(
    res: Resolution,
    ids: pl.DataFrame,
    links: pl.DataFrame,
    cfg: ReportConfig,
    customers: int | None = None,
) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """The lineage section and tables; ``customers``: their number, when counted already."""

    def lineage_records() -> pl.DataFrame:
        recs = ids.select("customer_id", "source", "record_id")
        if res.records is not None and "updated_at" in res.records.columns:
            recs = _with_updated_at(recs, res.records)
        return _by_customer(recs, ["source", "record_id"])

    where, customer = _customer_link_order(
        ids, links, res.link_rows() if hasattr(res, "link_rows") else None
    )

    def lineage_links() -> Iterator[pa.Table]:
        for start in range(0, max(where.len(), 1), _SLICE_ROWS):
            part = slice(start, start + _SLICE_ROWS)
            yield _links_at(links, where[part], customer[part]).to_arrow()

    profiles = getattr(res, "profiles", None)
    values = _lineage_values(profiles)
    tables: dict[str, pa.Table | DeferredTable] = {
        # built when written, and handed to the writer a slice at a time: an
        # Arrow copy of the whole frame would sit beside it
        "lineage_records": DeferredTable(ids.height, lambda: _slices(lineage_records())),
        "lineage_links": DeferredTable(where.len(), lineage_links),
    }
    if values is not None:
        tables["lineage_values"] = values
    section: dict[str, Any] = {
        "customers": customers
        if customers is not None
        else (int(ids["customer_id"].n_unique()) if ids.height else 0),
        "records": ids.height,
        "links": where.len(),
        "values": values.num_rows if values is not None else None,
        "profiles": values is not None,
        "tables": {
            name: {"rows": t.num_rows, "path": f"{TABLES_DIR}/{name}.parquet"}
            for name, t in tables.items()
        },
        "inline": None,
    }
    if ids.height <= cfg.inline_lineage_max:
        value_frame = pl.from_arrow(values.materialize()) if values is not None else None
        assert value_frame is None or isinstance(value_frame, pl.DataFrame)
        joined = _links_at(links, where, customer)
        section["inline"] = inline_lineage(lineage_records(), joined, value_frame, cfg)
    return section, tables


def _with_updated_at(recs: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """``recs`` (``source, record_id``, ...) with each record's ``updated_at``.

    A run's customer IDs come in the order of its records: then the column is
    taken as it is, without a join on two string keys.

    Examples:
        >>> recs = pl.DataFrame({"source": ["a", "a"], "record_id": ["1", "2"]})
        >>> rows = recs.with_columns(updated_at=pl.Series([10, 20]))
        >>> _with_updated_at(recs, rows)["updated_at"].to_list()
        [10, 20]
        >>> _with_updated_at(recs, rows.reverse())["updated_at"].to_list()
        [10, 20]
    """
    keys = ["source", "record_id"]
    if records.height == recs.height and records.select(keys).equals(recs.select(keys)):
        return recs.with_columns(records.get_column("updated_at"))
    return recs.join(records.select(*keys, "updated_at"), on=keys, how="left")


#: Rows per Arrow slice of a lineage table handed to the Parquet writer.
_SLICE_ROWS = 250_000


def _slices(frame: pl.DataFrame) -> Iterator[pa.Table]:
    """``frame`` as Arrow tables of at most ``_SLICE_ROWS`` rows (at least one).

    Examples:
        >>> [t.num_rows for t in _slices(pl.DataFrame({"a": range(600_000)}))]
        [250000, 250000, 100000]
        >>> [t.num_rows for t in _slices(pl.DataFrame({"a": []}))]
        [0]
    """
    for start in range(0, max(frame.height, 1), _SLICE_ROWS):
        yield frame.slice(start, _SLICE_ROWS).to_arrow()


def inline_lineage(
    recs: pl.DataFrame, joined: pl.DataFrame, values: pl.DataFrame | None, cfg: ReportConfig
) -> list[dict[str, Any]]:
    """The lineage of a small run inlined in ``report.json``: per customer, records, links, values.

    ``recs``, ``joined`` and ``values`` are the ``lineage_records``,
    ``lineage_links`` and ``lineage_values`` tables (``None`` without
    profiles), ``recs`` sorted by customer.
    """
    if values is not None and cfg.pii == "mask":
        values = values.with_columns(mask_field(pl.col("field"), pl.col("value")).alias("value"))
    link_groups = joined.partition_by("customer_id", as_dict=True) if joined.height else {}
    value_groups = (
        values.partition_by("customer_id", as_dict=True)
        if values is not None and values.height
        else {}
    )
    inline = []
    for (cid,), part in recs.partition_by("customer_id", as_dict=True, maintain_order=True).items():
        entry: dict[str, Any] = {
            "customer_id": cid,
            "records": part.select("source", "record_id").to_dicts(),
            "links": (
                link_groups[(cid,)].drop("customer_id").to_dicts() if (cid,) in link_groups else []
            ),
        }
        if values is not None:
            entry["values"] = (
                value_groups[(cid,)].drop("customer_id").to_dicts()
                if (cid,) in value_groups
                else []
            )
        inline.append(entry)
    out: list[dict[str, Any]] = jsonable(inline)
    return out
