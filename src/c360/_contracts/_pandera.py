"""A contract as a pandera (polars backend) schema: the reference for typed data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c360._canonical import SOURCE
from c360._contracts._parse import polars_type

if TYPE_CHECKING:
    import pandera.polars as pa_pl

    from c360._contracts._model import Contract


def contract_to_pandera(contract: Contract) -> pa_pl.DataFrameSchema:
    """Translate ``contract`` to a ``pandera.polars.DataFrameSchema`` over typed data.

    Uniqueness is per source (``source`` plus the column), as in ``validate``,
    and ignores nulls; it is expressed as a dataframe-level check.

    Examples:
        >>> from c360._contracts._model import canonical_contract
        >>> contract_to_pandera(canonical_contract()).name
        'canonical@1.0.0'

    """
    import pandera.polars as pa_pl

    columns = {}
    frame_checks = []
    for col in contract.columns:
        columns[col.name] = pa_pl.Column(
            polars_type(col.dtype),
            nullable=col.nullable,
            required=col.required,
            checks=[c.to_pandera(col.dtype) for c in col.checks],
            description=col.description or None,
        )
        if col.unique:
            frame_checks.append(_unique_per_source(col.name))
    return pa_pl.DataFrameSchema(
        columns,
        checks=frame_checks,
        strict=False,
        coerce=False,
        name=f"{contract.name}@{contract.version}",
        description=contract.description or None,
    )


def _unique_per_source(column: str) -> Any:
    import pandera.polars as pa_pl
    import polars as pl

    def check(data: Any) -> Any:
        names = data.lazyframe.collect_schema().names()
        keys = [SOURCE, column] if SOURCE in names and column != SOURCE else [column]
        value = pl.col(column)
        return data.lazyframe.select(value.is_null() | ~pl.struct(keys).is_duplicated())

    return pa_pl.Check(
        check,
        name=f"unique_per_source({column})",
        error=f"{column} is not unique within its source",
    )
