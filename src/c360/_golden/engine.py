"""Vectorised golden-profile builder.

Every record gets ``_c`` (dense customer number, in ``customer_id`` order) and
``_i`` (its rank in ``(customer_id, source, record_id)`` order). A rule turns
into one unsigned 64-bit *goodness* per record: the rule's own key, ranked
densely so that higher is better and null is lowest, in the high 32 bits, and
the dense rank of ``updated_at`` (recency, null lowest) in the low 32 bits.
Non-candidates (null values) get goodness 0. With the records in ``_i`` order,
one ``group_by(_c)`` takes the ``arg_max`` of every field's goodness at once;
``arg_max`` returns the first of equal maxima, so every tie ends on the lowest
``(source, record_id)`` and the result does not depend on input row order.
Winners are row numbers, gathered into values and lineage at the end. No sort
of the records is needed beyond one ``arg_sort`` that numbers them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import polars as pl
import pyarrow as pa

from c360._canonical import ATTRIBUTES, CANONICAL_SCHEMA, RECORD_ID, ROW, SOURCE, UPDATED_AT
from c360._frames import to_lazy
from c360._golden.rules import (
    ADDRESS_FIELDS,
    Custom,
    Longest,
    MostFrequent,
    MostRecent,
    Rule,
    SourcePriority,
    Survivorship,
)
from c360.exceptions import ColumnNotFoundError, ConfigError

CUSTOMER_ID: Final = "customer_id"
C: Final = "_c"
I: Final = "_i"  # noqa: E741 - the row-number column
TS: Final = "_ts"
ADDRESS: Final = "_address"
_LEVEL: Final = "_addr_level"
_KEY: Final = "_key"
_ROW_NR: Final = "_row_nr"
#: The streaming engine holds about 3x more memory for the key join at 1M rows.
_ENGINE: Final = "in-memory"
_RECENCY: Final = "_recency"
_SHIFT: Final = 1 << 32
_AKEY: Final = "_addr_key"
#: Which address field decides the address record when a customer has no address_line1.
ADDRESS_KEY_ORDER: Final = (
    "address_line1",
    "postcode",
    "city",
    "state",
    "country",
    "address_line2",
)

SUMMARY_SCHEMA: Final[dict[str, pl.DataType]] = {
    CUSTOMER_ID: pl.String(),
    "record_count": pl.Int64(),
    "sources": pl.List(pl.String()),
    "first_seen": pl.Datetime("us"),
    "last_seen": pl.Datetime("us"),
}
_RESERVED: Final = frozenset({SOURCE, RECORD_ID, CUSTOMER_ID})


def profile_polars_schema(field_types: Mapping[str, pl.DataType]) -> dict[str, pl.DataType]:
    """Return the polars schema of profiles holding ``field_types`` (in that order)."""
    out = dict(SUMMARY_SCHEMA)
    for name, dtype in field_types.items():
        out[name] = dtype
        out[f"{name}__source"] = pl.String()
        out[f"{name}__record_id"] = pl.String()
    return out


def arrow_schema(schema: Mapping[str, pl.DataType]) -> pa.Schema:
    """Return the Arrow schema polars writes for ``schema``."""
    return pl.DataFrame(schema=dict(schema)).to_arrow().schema


@dataclass(slots=True)
class _Plan:
    """Goodness keys shared between outputs, and each output's key and candidate mask."""

    keys: dict[Hashable, pl.Expr] = field(default_factory=dict)
    picks: dict[str, tuple[str, pl.Expr]] = field(default_factory=dict)


def build(
    records: Any,
    unified_ids: Any,
    survivorship: Survivorship,
    fields: Sequence[str] | None,
) -> pa.Table:
    """See [`c360.golden.build_profiles`][c360.golden.build_profiles]."""
    if not isinstance(survivorship, Survivorship):
        raise ConfigError(f"survivorship must be a Survivorship; got {type(survivorship).__name__}")
    lf = to_lazy(records, what="records")
    ids = to_lazy(unified_ids, what="unified_ids")
    names = lf.collect_schema().names()
    rschema = lf.collect_schema()
    _require(names, (SOURCE, RECORD_ID), "records column")
    _require(ids.collect_schema().names(), (SOURCE, RECORD_ID, CUSTOMER_ID), "unified_ids column")

    chosen = _chosen_fields(names, fields)
    _check_rule_names(survivorship, names)
    address = (
        [f for f in ADDRESS_FIELDS if f in names] if survivorship.keep_address_together else []
    )
    out_address = [f for f in chosen if f in address]
    if not out_address:
        address = []
    rules = {f: survivorship.rule_for(f) for f in chosen if f not in address}
    address_rule = survivorship.rule_for("address_line1") if address else None

    extra: set[str] = set()
    for rule in [*rules.values(), *([address_rule] if address_rule else [])]:
        extra |= _columns_used(rule, names)
    ts_col = UPDATED_AT if UPDATED_AT in names else None
    keep = [SOURCE, RECORD_ID, *dict.fromkeys([*chosen, *address, *sorted(extra)])]
    keep = [c for c in dict.fromkeys(keep) if c not in (CUSTOMER_ID,)]
    if ts_col and ts_col not in keep:
        keep.append(ts_col)
    if ROW in names and ROW not in keep:
        keep.append(ROW)

    field_types = {f: _field_type(f, rschema[f]) for f in chosen}
    schema = profile_polars_schema(field_types)
    df = _join(lf.select(keep), ids, field_types)
    if df.height == 0:
        return pl.DataFrame(schema=schema).to_arrow().cast(arrow_schema(schema))

    df = df.with_columns(_timestamp(df, ts_col))
    if address:
        order = [f for f in ADDRESS_KEY_ORDER if f in address]
        level = pl.coalesce(
            *[
                pl.when(pl.col(f).is_not_null()).then(pl.lit(k, pl.UInt8))
                for k, f in enumerate(order)
            ]
        )
        df = df.with_columns(
            level.alias(_LEVEL),
            pl.coalesce(*[pl.col(f).cast(pl.String) for f in order]).alias(_AKEY),
        )

    plan = _Plan()
    for f, rule in rules.items():
        _add(plan, df, f, pl.col(f), pl.col(f).is_not_null(), rule)
    if address_rule is not None:
        cand = pl.col(_LEVEL).is_not_null() & (pl.col(_LEVEL) == pl.col(_LEVEL).min().over(C))
        _add(plan, df, ADDRESS, pl.col(_AKEY), cand, address_rule)
    picked = _winners(df, plan)
    summary = (
        df.lazy()
        .group_by(C)
        .agg(
            pl.col(CUSTOMER_ID).first(),
            pl.len().cast(pl.Int64).alias("record_count"),
            pl.col(SOURCE).unique().sort().alias("sources"),
            pl.col(TS).min().alias("first_seen"),
            pl.col(TS).max().alias("last_seen"),
        )
        .sort(C)
        .collect(engine=_ENGINE)
    )
    columns: list[pl.Series] = [summary.get_column(c) for c in SUMMARY_SCHEMA]
    src, rid = df.get_column(SOURCE), df.get_column(RECORD_ID)
    for f in chosen:
        idx = picked.get_column(ADDRESS if f in address else f)
        value = df.get_column(f).gather(idx)
        if f in address:
            idx = pl.select(pl.when(value.is_not_null()).then(idx)).to_series()
        columns += [
            value.alias(f),
            src.gather(idx).alias(f"{f}__source"),
            rid.gather(idx).alias(f"{f}__record_id"),
        ]
    del df, picked, summary, src, rid
    # to Arrow a column at a time, each polars column freed once converted:
    # the whole polars frame beside its Arrow copy set a run's peak (0.3 GB at 1M)
    target = arrow_schema(schema)
    by_name = {c.name: c for c in columns}
    del columns
    arrays = []
    for name in target.names:
        col = by_name.pop(name).cast(schema[name])  # type: ignore[index]
        arrays.append(col.to_arrow().cast(target.field(name).type))
        del col
    return pa.Table.from_arrays(arrays, schema=target)


def _require(names: Sequence[str], required: Sequence[str], what: str) -> None:
    missing = [c for c in required if c not in names]
    if missing:
        raise ColumnNotFoundError(missing, list(names), what=what)


def _chosen_fields(names: Sequence[str], fields: Sequence[str] | None) -> list[str]:
    if fields is None:
        return [f for f in ATTRIBUTES if f in names]
    if isinstance(fields, str):
        raise ConfigError(
            f"fields must be a sequence of column names; got the string {fields!r}",
            hint=f"write fields=[{fields!r}]",
        )
    chosen = list(dict.fromkeys(fields))
    bad = [f for f in chosen if f in _RESERVED or f.startswith("_")]
    if bad:
        raise ConfigError(
            f"{bad} cannot be profile fields: keys and internal columns are not profiled",
            column=bad[0],
        )
    _require(names, chosen, "field")
    return chosen


def _check_rule_names(survivorship: Survivorship, names: Sequence[str]) -> None:
    known = set(names) | set(CANONICAL_SCHEMA)
    unknown = [f for f in survivorship.rules if f not in known]
    if unknown:
        raise ColumnNotFoundError(
            unknown, sorted(set(names) - {ROW, "_rid", "_issues"}), what="survivorship rule field"
        )


def _columns_used(rule: Rule, names: Sequence[str]) -> set[str]:
    """Record columns a rule reads besides the field itself."""
    if isinstance(rule, MostRecent):
        if rule.by not in names and rule.by != UPDATED_AT:
            raise ColumnNotFoundError([rule.by], list(names), what="MostRecent(by=...) column")
        return {rule.by} if rule.by in names else set()
    if isinstance(rule, Custom):
        roots = set(rule.compiled().meta.root_names()) - {"value", CUSTOMER_ID}
        missing = sorted(roots - set(names))
        if missing:
            raise ColumnNotFoundError(
                missing,
                [*names, "value", CUSTOMER_ID],
                what=f"column used by Custom({rule.expr!s})",
            )
        return roots
    return set()


def _field_type(name: str, dtype: pl.DataType) -> pl.DataType:
    return CANONICAL_SCHEMA.get(name, dtype)


def _key(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_key``, one string per ``(source, record_id)`` (length-prefixed, so injective).

    A single string key joins in a fraction of the memory of a two-column join.
    """
    return lf.with_columns(
        pl.col(SOURCE).cast(pl.String), pl.col(RECORD_ID).cast(pl.String)
    ).with_columns(
        pl.concat_str(
            pl.col(SOURCE).str.len_bytes().cast(pl.String), pl.lit(":"), SOURCE, RECORD_ID
        ).alias(_KEY)
    )


def _join(
    lf: pl.LazyFrame, ids: pl.LazyFrame, field_types: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """Join records to their customer, with canonical types, numbered by ``_c`` and ``_i``.

    Records with their customer and canonical types, numbered by ``_c`` and ``_i``.

    Rows keep their input order; ``_c`` numbers customers in ``customer_id``
    order and ``_i`` numbers records in ``(customer_id, source, record_id)``
    order, so only two integer columns are ever sorted.
    """
    schema = lf.collect_schema()
    casts = [pl.col(f).cast(t) for f, t in field_types.items() if schema[f] != t]
    keys = _key(ids.select(SOURCE, RECORD_ID, pl.col(CUSTOMER_ID).cast(pl.String)))
    lf = _key(lf.with_columns(*casts))
    try:
        df = lf.join(
            keys.select(_KEY, CUSTOMER_ID),
            on=_KEY,
            how="left",
            validate="1:1",
            maintain_order="left",
        ).collect(engine=_ENGINE)
    except pl.exceptions.ComputeError as exc:
        if "valid" not in str(exc):
            raise
        _raise_duplicates(lf, "records")
        _raise_duplicates(keys, "unified_ids")
        raise
    except pl.exceptions.InvalidOperationError as exc:
        bad = next((f for f in field_types if f in str(exc)), None)
        raise ConfigError(
            f"records hold values that do not convert to the canonical type: {exc}",
            column=bad,
            hint="pass the records through c360.load so that the contract types them",
        ) from None
    df = df.drop(_KEY)
    orphans = df.filter(pl.col(CUSTOMER_ID).is_null())
    if orphans.height:
        first = orphans.sort(SOURCE, RECORD_ID).row(0, named=True)
        raise ConfigError(
            f"{orphans.height} record(s) have no customer_id in unified_ids, e.g. "
            f"({first[SOURCE]!r}, {first[RECORD_ID]!r})",
            source=first[SOURCE],
            column=CUSTOMER_ID,
            row=first.get(ROW),
            hint="build profiles from the records and unified_ids of the same resolution",
        )
    order = df.select(pl.arg_sort_by(CUSTOMER_ID, SOURCE, RECORD_ID)).to_series()
    rank = np.empty(df.height, dtype=np.uint32)
    rank[order.to_numpy()] = np.arange(df.height, dtype=np.uint32)
    rank_s = pl.Series(I, rank)
    customer = df.get_column(CUSTOMER_ID).gather(order).rle_id().gather(rank_s)
    return df.with_columns(customer.alias(C), rank_s)


def _raise_duplicates(lf: pl.LazyFrame, what: str) -> None:
    dup = (
        lf.group_by(SOURCE, RECORD_ID)
        .agg(pl.len(), *([pl.col(ROW).first()] if ROW in lf.collect_schema().names() else []))
        .filter(pl.col("len") > 1)
        .sort(SOURCE, RECORD_ID)
        .head(1)
        .collect(engine=_ENGINE)
    )
    if dup.height:
        row = dup.row(0, named=True)
        raise ConfigError(
            f"{what} hold (source, record_id) ({row[SOURCE]!r}, {row[RECORD_ID]!r}) "
            f"{row['len']} times; each record must appear once",
            source=row[SOURCE],
            column=RECORD_ID,
            row=row.get(ROW),
        )


def _timestamp(df: pl.DataFrame, ts_col: str | None) -> pl.Expr:
    if ts_col is None:
        return pl.lit(None, pl.Datetime("us")).alias(TS)
    dtype = df.schema[ts_col]
    col = pl.col(ts_col)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return col.cast(pl.Datetime("us")).alias(TS)
    if isinstance(dtype, pl.Date) or dtype == pl.Null:
        return col.cast(pl.Datetime("us")).alias(TS)
    raise ConfigError(
        f"updated_at must be a datetime to rank records by recency; got {dtype}",
        column=ts_col,
        hint="pass the records through c360.load so that the contract types them",
    )


def _normalized(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return value.str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
    return value


def _goodness(key: pl.Expr, *, descending: bool = True) -> pl.Expr:
    """Dense rank of ``key`` as u64, best highest, null 0."""
    return key.rank("dense", descending=not descending).fill_null(0).cast(pl.UInt64)


def _add(
    plan: _Plan, df: pl.DataFrame, out: str, value: pl.Expr, cand: pl.Expr, rule: Rule
) -> None:
    """Register output ``out`` chosen by ``rule`` among rows where ``cand`` holds."""
    primary: pl.Expr | None
    key: Hashable
    if isinstance(rule, MostRecent):
        primary = None if rule.by == UPDATED_AT else _goodness(pl.col(rule.by))
        key = rule
    elif isinstance(rule, SourcePriority):
        n = len(rule.order)
        primary = pl.col(SOURCE).replace_strict(
            list(rule.order), list(range(n, 0, -1)), default=0, return_dtype=pl.UInt64
        )
        key = rule
    else:
        key = ("field", out)
        if isinstance(rule, MostFrequent):
            dtype = df.select(value).dtypes[0]
            by_value = _normalized(value, dtype) if rule.normalize else value
            primary = pl.len().over(C, by_value).cast(pl.UInt64)
        elif isinstance(rule, Longest):
            primary = value.cast(pl.String).str.len_chars().fill_null(0).cast(pl.UInt64)
        else:
            primary = _goodness(_score(df, value, rule))
    if key not in plan.keys:
        recency = pl.col(_RECENCY)
        plan.keys[key] = (recency if primary is None else primary * _SHIFT + recency).alias(
            f"_key{len(plan.keys)}"
        )
    plan.picks[out] = (plan.keys[key].meta.output_name(), cand)


def _score(df: pl.DataFrame, value: pl.Expr, rule: Custom) -> pl.Expr:
    """Compute the Custom score per row, as a literal column aligned with ``df``."""
    expr = rule.compiled()
    try:
        score = (
            df.lazy()
            .with_columns(value.alias("value"))
            .select(expr)
            .collect(engine=_ENGINE)
            .to_series()
        )
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"Custom({rule.expr!s}) cannot be evaluated: {exc}") from None
    if score.len() == 1:
        score = score.extend_constant(score[0], df.height - 1)
    if score.len() != df.height:
        raise ConfigError(
            f"Custom({rule.expr!s}) must give one score per record; it gave {score.len()} "
            f"for {df.height} records",
            hint="use a row-wise expression; aggregate with .over('customer_id') if needed",
        )
    return pl.lit(score)


def _winners(df: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """Row number of the best candidate per customer (``_c`` order), one column per pick."""
    masks = {out: f"_cand{k}" for k, out in enumerate(plan.picks)}
    narrow = (
        df.lazy()
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW_NR),
            _goodness(pl.col(TS)).alias(_RECENCY),
        )
        .select(
            C,
            I,
            _ROW_NR,
            *plan.keys.values(),
            *(c.alias(masks[o]) for o, (_, c) in plan.picks.items()),
        )
        .sort(I)
    )
    aggs = []
    for out, (key, _) in plan.picks.items():
        good = pl.when(pl.col(masks[out])).then(pl.col(key) + 1).otherwise(0)
        aggs.append(pl.when(good.max() > 0).then(pl.col(_ROW_NR).get(good.arg_max())).alias(out))
    return narrow.group_by(C, maintain_order=True).agg(aggs).collect(engine=_ENGINE)
