"""c360 contracts and pandera (polars backend) schemas, both ways.

[`contract_to_pandera`][contract_to_pandera] exports a contract as a pandera
schema over typed data; [`contract_from_pandera`][contract_from_pandera] takes
a team's own pandera schema (or ``DataFrameModel``) as a source's contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from c360._canonical import SOURCE
from c360._contracts._parse import polars_type
from c360.exceptions import C360Error

if TYPE_CHECKING:
    import pandera.polars as pa_pl
    import polars as pl

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


# ------------------------------------------------------------------ pandera schemas as contracts


@dataclass(frozen=True, slots=True)
class PanderaContract:
    """A pandera schema used as a source's contract.

    ``contract`` is what c360 checks with its compiled expressions (types
    parsed from text, nullability, uniqueness, and the checks it has an
    equivalent for); ``residual`` holds pandera's own checks that have no
    equivalent (custom functions, strict bounds on floats, dataframe checks),
    run by pandera on the rows that passed. Failure cases of either become
    quarantine rows with reasons.
    """

    contract: Contract
    residual: Any = None
    schema_name: str = "pandera"


def is_pandera(obj: Any) -> bool:
    """Whether ``obj`` is a pandera polars ``DataFrameSchema`` or a ``DataFrameModel`` class."""
    try:
        import pandera.polars as pa_pl
    except ImportError:  # pragma: no cover - pandera is a core dependency
        return False
    return isinstance(obj, pa_pl.DataFrameSchema) or (
        isinstance(obj, type) and issubclass(obj, pa_pl.DataFrameModel)
    )


def contract_from_pandera(
    schema: Any, *, name: str | None = None, version: str = "1.0.0"
) -> PanderaContract:
    """Translate a pandera (polars) schema or model into a c360 contract plus residual checks.

    Raises:
        ConfigError: a column type c360 cannot hold (lists, structs, ...).

    Examples:
        >>> import pandera.polars as pa
        >>> schema = pa.DataFrameSchema({"age": pa.Column(int, pa.Check.ge(0), nullable=True)})
        >>> pc = contract_from_pandera(schema, name="crm")
        >>> col = pc.contract.column("age")
        >>> col.dtype, col.checks, pc.residual is None
        ('int', (InRange(min=0, max=None),), True)
    """
    import pandera.polars as pa_pl

    from c360._contracts._model import ColumnContract, Contract

    if isinstance(schema, type) and issubclass(schema, pa_pl.DataFrameModel):
        schema = schema.to_schema()
    label = name or schema.name or "pandera"
    columns = []
    residual: dict[str, Any] = {}
    for col_name, col in schema.columns.items():
        dtype = _c360_type(col_name, col.dtype)
        checks: list[Any] = []
        rest: list[Any] = []
        for check in col.checks:
            translated = _translate_check(check, dtype)
            if translated is None:
                rest.append(check)
            else:
                checks.append(translated)
        key = col_name in (SOURCE, "record_id")  # c360's key rules apply whatever the schema says
        columns.append(
            ColumnContract(
                name=col_name,
                dtype="string" if key else dtype,
                required=key or bool(col.required),
                nullable=not key and bool(col.nullable),
                unique=col_name == "record_id" or bool(col.unique),
                checks=tuple(c for c in checks if not key or "string" in c.applies_to),
                description=col.description or "",
            )
        )
        if rest:
            residual[col_name] = pa_pl.Column(checks=rest, nullable=True, required=False)
    frame_checks = list(schema.checks or [])
    if schema.unique:
        frame_checks.append(_unique_together(list(schema.unique)))
    rest_schema = (
        pa_pl.DataFrameSchema(residual, checks=frame_checks, strict=False, name=label)
        if residual or frame_checks
        else None
    )
    safe = _NAME_SAFE.sub("_", str(label)).strip("_") or "pandera"
    contract = Contract(
        name=safe,
        version=version,
        description=schema.description or "",
        columns=tuple(columns),
        allow_missing=True,
        allow_extra=not bool(schema.strict),
    )
    return PanderaContract(contract=contract, residual=rest_schema, schema_name=str(label))


_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")

_TYPES = {
    "String": "string",
    "Utf8": "string",
    "Categorical": "string",
    "Enum": "string",
    "Boolean": "bool",
    "Date": "date",
    "Datetime": "datetime",
    "Float32": "float",
    "Float64": "float",
    "Decimal": "float",
}


def _c360_type(column: str, dtype: Any) -> Any:
    """The c360 column type of a pandera polars dtype (``string`` when none is given)."""
    from c360.exceptions import ConfigError

    if dtype is None:
        return "string"
    text = str(dtype)
    base = text.split("(")[0]
    if base in _TYPES:
        return _TYPES[base]
    if re.fullmatch(r"U?Int(8|16|32|64|128)", base):
        return "int"
    raise ConfigError(
        f"pandera type {text} is not one a c360 contract holds "
        "(strings, integers, floats, booleans, dates, datetimes)",
        column=column,
        hint="check nested values in a dataframe-level pandera check, or leave the column out",
    )


def _translate_check(check: Any, dtype: str) -> Any:
    """The c360 check equal to a built-in pandera check, or ``None`` (pandera runs it)."""
    from c360._contracts._checks import AllowedValues, InRange, MatchesRegex, MaxLength

    stats = dict(check.statistics or {})
    name = check.name
    try:
        if name == "greater_than_or_equal_to" and dtype != "bool":
            return InRange(min=stats["min_value"])
        if name == "less_than_or_equal_to" and dtype != "bool":
            return InRange(max=stats["max_value"])
        if name == "greater_than" and dtype == "int":
            return InRange(min=int(stats["min_value"]) + 1)
        if name == "less_than" and dtype == "int":
            return InRange(max=int(stats["max_value"]) - 1)
        if name == "in_range" and stats.get("include_min", True) and stats.get("include_max", True):
            return InRange(min=stats["min_value"], max=stats["max_value"])
        if name == "isin" and dtype in ("string", "int", "float", "bool"):
            return AllowedValues(tuple(stats["allowed_values"]))
        if name == "str_matches" and dtype == "string":
            # pandera matches at the start of the value, c360 the whole value
            return MatchesRegex(f"(?:{stats['pattern']})(?s:.*)")
        if (
            name == "str_length"
            and dtype == "string"
            and stats.get("max_value") is not None
            and stats.get("min_value") in (None, 0)
            and stats.get("exact_value") is None
        ):
            return MaxLength(int(stats["max_value"]))
    except (KeyError, TypeError, ValueError, C360Error):
        return None
    return None


def _unique_together(columns: list[str]) -> Any:
    import pandera.polars as pa_pl
    import polars as pl

    def check(data: Any) -> Any:
        return data.lazyframe.select(~pl.struct(columns).is_duplicated())

    return pa_pl.Check(check, name=f"unique({', '.join(columns)})")


def _scalar(check: Any, valid: pl.DataFrame) -> bool:
    """Whether a dataframe-level check gives one verdict for the batch, not one per row.

    pandera reports a failed one-row verdict as a failure of row 0; c360 fails
    the batch instead.
    """
    import pandera.polars as pa_pl
    import polars as pl

    try:
        out = check._check_fn(pa_pl.PolarsData(valid.lazy(), "*"))
    except Exception:  # a check that needs pandera's own call: take pandera's rows
        return False
    if isinstance(out, bool):
        return True
    if isinstance(out, pl.LazyFrame):
        out = out.collect()
    return isinstance(out, pl.DataFrame) and out.height == 1 and valid.height != 1


def residual_failures(pc: PanderaContract, valid: pl.DataFrame, source: str) -> pl.DataFrame:
    """Quarantine rows for the rows of ``valid`` that fail ``pc.residual``.

    Returns the public quarantine columns plus ``_pos`` (the row's position in
    ``valid``). A check that fails the batch as a whole (no row to blame)
    raises ``ContractError``.
    """
    import pandera.errors as pa_errors
    import polars as pl

    from c360._canonical import QUARANTINE_SCHEMA
    from c360.exceptions import ContractError

    empty = pl.DataFrame(schema={**QUARANTINE_SCHEMA, "_pos": pl.Int64})
    if pc.residual is None or valid.height == 0:
        return empty
    try:
        pc.residual.validate(valid, lazy=True)
        return empty
    except pa_errors.SchemaErrors as err:
        cases = pl.DataFrame(err.failure_cases)
    frame_level = cases.filter(pl.col("schema_context") == "DataFrameSchema")
    scalar = {
        c.name for c in pc.residual.checks if c.name in frame_level["check"] and _scalar(c, valid)
    }
    whole = cases.filter(pl.col("index").is_null() | pl.col("check").is_in(list(scalar)))
    if whole.height:
        first = whole.row(0, named=True)
        raise ContractError(
            f"the batch fails pandera check {first['check']} of {pc.schema_name}"
            + (f" on column {first['column']!r}" if first.get("column") else ""),
            source=source,
            column=first.get("column"),
        )
    reasons = (
        cases.with_columns(
            pl.format(
                "{}: failed pandera check {} ('{}')",
                pl.col("column").fill_null("(row)"),
                pl.col("check"),
                pl.col("failure_case").cast(pl.String).str.slice(0, 80),
            ).alias("reason"),
            pl.col("index").cast(pl.Int64).alias("_pos"),
        )
        .group_by("_pos", maintain_order=True)
        .agg(pl.col("reason").str.join("; "))
        .sort("_pos")
    )
    rows = valid.with_row_index("_pos").with_columns(pl.col("_pos").cast(pl.Int64))
    keep = [c for c in valid.columns if not c.startswith("_")]
    return (
        rows.join(reasons, on="_pos", how="inner")
        .select(
            pl.col(SOURCE).cast(pl.String).fill_null(source).alias("source"),
            pl.col("record_id").cast(pl.String),
            pl.col("_row").cast(pl.Int64).alias("row_number"),
            "reason",
            pl.struct(keep).struct.json_encode().alias("raw"),
            "_pos",
        )
        .cast({**QUARANTINE_SCHEMA, "_pos": pl.Int64()})  # type: ignore[arg-type,dict-item]
    )
