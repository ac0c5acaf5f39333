"""Bootstrap a contract from data (``Contract.infer``)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import polars as pl

from c360._canonical import CANONICAL_SCHEMA
from c360._contracts._model import KEYS, ColumnContract, Contract, canonical_contract
from c360._contracts._parse import Stages, blank_to_null, coerce, contract_type
from c360._contracts._warnings import C360Warning
from c360._frames import to_lazy

if TYPE_CHECKING:
    from c360._contracts._checks import ColumnType
    from c360._typing import FrameLike


def infer_contract(frame: FrameLike, *, name: str, version: str, description: str) -> Contract:
    """Infer a contract from ``frame`` (see [`Contract.infer`][Contract.infer]).

    Examples:
        >>> frame = pl.DataFrame({"n": [1, None]})
        >>> col = infer_contract(frame, name="x", version="1.0.0", description="").columns[0]
        >>> col.name, col.dtype, col.nullable
        ('n', 'int', True)

    """
    lf = to_lazy(frame, what="frame")
    schema = lf.collect_schema()
    canonical = canonical_contract()
    names = [n for n in schema.names() if not n.startswith("_")]
    skipped = [n for n in names if contract_type(schema[n]) is None]
    if skipped:
        warnings.warn(
            f"infer: columns {', '.join(map(repr, skipped))} have nested or binary types that a "
            "contract cannot describe; they are left out",
            C360Warning,
            stacklevel=3,
        )
    names = [n for n in names if n not in skipped]
    # One pass over the data: null counts, and for text columns whether every
    # non-blank value parses as a date / a datetime with a time part.
    aggs: list[pl.Expr] = []
    text_columns = [n for n in names if n not in CANONICAL_SCHEMA and schema[n] == pl.String]
    for n in names:
        aggs.append(blank_to_null(pl.col(n).cast(pl.String)).null_count().alias(f"nulls:{n}"))
    st = Stages()
    for n in text_columns:
        text = blank_to_null(pl.col(n))
        # Parse a renamed copy per target so that the two parsers' temporaries do not collide.
        as_date = coerce(st, 0, n, pl.String(), "date").value
        as_datetime = coerce(st, 0, f"{n}\x00dt", pl.String(), "datetime").value
        present = text.is_not_null()
        aggs.append(((as_date.is_not_null() | ~present).all() & present.any()).alias(f"date:{n}"))
        aggs.append(
            ((as_datetime.is_not_null() | ~present).all() & present.any()).alias(f"datetime:{n}")
        )
        has_time = text.str.contains(r"\d:\d{2}") & present
        aggs.append(has_time.any().alias(f"time:{n}"))
    if text_columns:
        lf = st.apply(lf.with_columns([pl.col(n).alias(f"{n}\x00dt") for n in text_columns]))
    stats = lf.select(aggs).collect().row(0, named=True) if aggs else {}
    columns = []
    for n in names:
        has_nulls = stats[f"nulls:{n}"] > 0
        if n in canonical:
            base = canonical.column(n)
            nullable = base.nullable if n in KEYS else True
            columns.append(
                ColumnContract(
                    name=n,
                    dtype=base.dtype,
                    required=base.required,
                    nullable=nullable,
                    unique=base.unique,
                    checks=base.checks,
                    on_fail=base.on_fail,
                    description=base.description,
                )
            )
            continue
        dtype: ColumnType | None = contract_type(schema[n])
        assert dtype is not None
        if n in text_columns:
            if stats[f"datetime:{n}"] and stats[f"time:{n}"]:
                dtype = "datetime"
            elif stats[f"date:{n}"]:
                dtype = "date"
        columns.append(ColumnContract(name=n, dtype=dtype, nullable=has_nulls))
    return Contract(
        name=name,
        version=version,
        description=description or f"inferred from data with {len(columns)} columns",
        columns=tuple(columns),
        allow_missing=False,
        allow_extra=False,
    )
