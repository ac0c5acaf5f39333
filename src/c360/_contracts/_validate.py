"""validate(): coerce, check, and split a batch into valid rows and quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from c360._canonical import ISSUES, QUARANTINE_SCHEMA, RECORD_ID, ROW, SOURCE
from c360._contracts._checks import show
from c360._contracts._model import KEYS, ColumnContract, Contract
from c360._contracts._parse import Stages, coerce
from c360._contracts._schema import SchemaNotice, apply_policy, schema_notices
from c360._frames import to_lazy
from c360.exceptions import ColumnNotFoundError, ConfigError, SourceReadError

if TYPE_CHECKING:
    from c360._typing import FrameLike, OnSchemaChange

_KEY_SPECS = {
    SOURCE: ColumnContract(name=SOURCE, required=True, nullable=False),
    RECORD_ID: ColumnContract(name=RECORD_ID, required=True, nullable=False, unique=True),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationCounts:
    """How many rows went where, for run reports.

    Attributes:
        rows_in: rows in the batch.
        valid: rows accepted.
        quarantined: rows sent to quarantine (``rows_in == valid + quarantined``).
        nullified: per ``on_fail="nullify"`` column, how many values were nulled
            in accepted rows.
        failed: per column, how many quarantined rows failed on it (a row that
            fails on two columns counts for both).

    """

    rows_in: int
    valid: int
    quarantined: int
    nullified: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Validated:
    """The outcome of :func:`validate`.

    Attributes:
        source: the source's name.
        contract: ``"<name>@<version>"`` of the contract applied.
        valid: accepted rows with contract types, extra columns as read, ``_row``
            and ``_issues`` (notes about values nulled by ``on_fail="nullify"``).
        quarantine: rejected rows, with the schema of
            ``c360._canonical.QUARANTINE_SCHEMA`` (source, record_id,
            row_number, reason, raw).
        notices: schema notices found before validation, breaking first.
        counts: rows in, valid, quarantined, and per-column failure counts.

    """

    source: str
    contract: str
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    notices: tuple[SchemaNotice, ...]
    counts: ValidationCounts

    def summary(self) -> str:
        """One line for logs and the CLI.

        Example:
            >>> from c360.contracts import canonical_contract
            >>> frame = pl.DataFrame({"source": ["a"], "record_id": ["1"]})
            >>> v = validate(frame, canonical_contract(), source="a")
            >>> v.summary()
            'a: 1 rows, 1 valid, 0 quarantined (0.00%) against canonical@1.0.0'

        """
        c = self.counts
        share = c.quarantined / c.rows_in if c.rows_in else 0.0
        text = (
            f"{self.source}: {c.rows_in} rows, {c.valid} valid, {c.quarantined} quarantined "
            f"({share:.2%}) against {self.contract}"
        )
        nulled = {k: v for k, v in c.nullified.items() if v}
        if nulled:
            text += "; values nulled: " + ", ".join(f"{k} {v}" for k, v in nulled.items())
        return text


def validate(
    data: FrameLike,
    contract: Contract,
    *,
    source: str,
    on_schema_change: OnSchemaChange = "warn",
) -> Validated:
    """Coerce and check a batch against ``contract``; split it into valid rows and quarantine.

    Every input row ends in exactly one of ``valid`` or ``quarantine``. Text is
    parsed to the contract types (see :mod:`c360.contracts` for the accepted
    date formats); a value that cannot be parsed or fails a check quarantines
    its row, or — for ``on_fail="nullify"`` columns — is nulled and noted in
    ``_issues``. Nulls in non-nullable columns quarantine the row. A value of a
    ``unique`` column seen before in the same source (among rows not otherwise
    rejected) fails, naming the row that keeps it. ``source`` and ``record_id``
    are always required, non-null, and ``record_id`` is unique per source.

    Args:
        data: the batch (a source read: ``source``, ``record_id``, mapped
            columns, extra columns, ``_row``). ``_row`` is added (0-based) if absent.
        contract: the contract to apply, e.g. :func:`canonical_contract`.
        source: the source's name, for notices, errors and quarantine rows.
        on_schema_change: policy for schema notices (see :func:`check_schema`).

    Raises:
        ColumnNotFoundError: ``source``, ``record_id`` or a column the contract
            marks ``required`` is missing.
        SchemaChangeError: a breaking schema change and ``on_schema_change="fail"``.
        SourceReadError: the batch cannot be read.

    Example:
        >>> from c360.contracts import canonical_contract
        >>> lf = pl.LazyFrame({
        ...     "source": ["crm"] * 3,
        ...     "record_id": ["1", "2", "2"],
        ...     "email": ["a@b.co", "not-an-email", "c@d.co"],
        ...     "date_of_birth": ["1990-01-02", "31/02/1990", "1985-07-08"],
        ... })
        >>> v = validate(lf, canonical_contract(), source="crm")
        >>> v.valid.select("record_id", "email", "date_of_birth").rows()[1]
        ('2', None, None)
        >>> for issue in v.valid["_issues"][1]:
        ...     print(issue)
        email: 'not-an-email' is not an email address (value nulled)
        date_of_birth: cannot parse '31/02/1990' as a date (value nulled)
        >>> v.quarantine.select("row_number", "reason").rows()
        [(2, "record_id: duplicate value '2' (first seen in row 1)")]

    """
    if not isinstance(contract, Contract):
        raise ConfigError(
            f"contract must be a Contract; got {type(contract).__name__}", source=source
        )
    if not isinstance(source, str) or not source:
        raise ConfigError(f"source must be a non-empty name; got {source!r}")
    lf = to_lazy(data, what="data")
    try:
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SourceReadError(
            f"cannot read the batch's schema: {_one_line(exc)}", source=source
        ) from exc
    available = [n for n in schema.names() if not n.startswith("_")]
    required = list(KEYS) + [c.name for c in contract.columns if c.required and c.name not in KEYS]
    missing = [n for n in required if n not in schema]
    if missing:
        raise ColumnNotFoundError(missing, available, source=source)
    notices = schema_notices(schema, contract, source=source)
    apply_policy(notices, contract, source=source, on_schema_change=on_schema_change, stacklevel=2)

    if ROW not in schema:
        lf = lf.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    elif schema[ROW] != pl.Int64:
        lf = lf.with_columns(pl.col(ROW).cast(pl.Int64))
    specs = [contract.column(n) if n in contract else _KEY_SPECS[n] for n in KEYS]
    specs += [c for c in contract.columns if c.name not in KEYS and c.name in schema]
    extras = [n for n in available if n not in {s.name for s in specs}]

    plan, outputs = _plan(lf, specs, schema)
    try:
        full = plan.collect()
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as exc:
        raise SourceReadError(f"cannot read the batch: {_one_line(exc)}", source=source) from exc
    return _split(full, outputs, specs, extras, available, contract, source, tuple(notices))


@dataclass(frozen=True, slots=True)
class _Outputs:
    """Names of the temporary result columns in the collected frame."""

    values: dict[str, str]  # column -> final value column
    reason: str
    quarantined: str
    issues: str
    nullified_flags: dict[str, str]
    failed_flags: dict[str, str]


def _plan(
    lf: pl.LazyFrame, specs: list[ColumnContract], schema: pl.Schema
) -> tuple[pl.LazyFrame, _Outputs]:
    """Build the lazy plan computing values, failure messages and flags for every row."""
    st = Stages()
    value: dict[str, pl.Expr] = {}
    failure: dict[str, pl.Expr] = {}
    top = 0
    for spec in specs:
        c = coerce(st, 0, spec.name, schema[spec.name], spec.dtype, spec.formats)
        v = st.put(c.level, f"{spec.name}:v", c.value)
        messages = [] if c.failure is None else [c.failure]
        messages += [check.failure(spec.name, v, spec.dtype) for check in spec.checks]
        if not spec.nullable:
            absent = v.is_null() if c.failure is None else v.is_null() & c.failure.is_null()
            messages.append(
                pl.when(absent).then(pl.lit(f"{spec.name}: missing value (not nullable)"))
            )
        if messages:
            failure[spec.name] = st.put(c.level + 1, f"{spec.name}:f", _join(messages))
        value[spec.name] = v
        top = max(top, c.level + 2)

    # Quarantine reasons from every quarantine column; nulled values for nullify columns.
    quarantine_specs = [s for s in specs if s.on_fail == "quarantine"]
    nullify_specs = [s for s in specs if s.on_fail == "nullify"]
    reason = st.put(
        top, "reason", _join([failure[s.name] for s in quarantine_specs if s.name in failure])
    )
    issues: list[pl.Expr] = []
    for s in nullify_specs:
        if s.name in failure:
            f = failure[s.name]
            value[s.name] = st.put(top, f"{s.name}:n", pl.when(f.is_null()).then(value[s.name]))
            issues.append(pl.when(f.is_not_null()).then(f + pl.lit(" (value nulled)")))
    failed_flags = {
        s.name: failure[s.name].is_not_null() for s in quarantine_specs if s.name in failure
    }
    nullified_flags = {
        s.name: failure[s.name].is_not_null() for s in nullify_specs if s.name in failure
    }

    # Uniqueness within a source, among rows not rejected so far; the first row keeps the value.
    level = top + 1
    source_value = value[SOURCE]
    rejected = reason.is_not_null()
    for s in sorted((s for s in specs if s.unique), key=lambda s: s.on_fail != "quarantine"):
        v = value[s.name]
        keys = [source_value, v] if s.name != SOURCE else [v]
        first = st.put(
            level,
            f"{s.name}:first",
            pl.when(~rejected & v.is_not_null()).then(pl.col(ROW)).min().over(keys),
        )
        duplicate = st.put(
            level + 1, f"{s.name}:dup", ~rejected & v.is_not_null() & (pl.col(ROW) != first)
        )
        message = pl.when(duplicate).then(
            pl.format(f"{s.name}: duplicate value '{{}}' (first seen in row {{}})", show(v), first)
        )
        if s.on_fail == "quarantine":
            reason = st.put(level + 2, f"reason:{s.name}", _join([reason, message]))
            rejected = reason.is_not_null()
            failed_flags[s.name] = (
                (failed_flags[s.name] | duplicate) if s.name in failed_flags else duplicate
            )
        else:
            value[s.name] = st.put(level + 2, f"{s.name}:u", pl.when(~duplicate).then(v))
            issues.append(pl.when(duplicate).then(message + pl.lit(" (value nulled)")))
            nullified_flags[s.name] = (
                (nullified_flags[s.name] | duplicate) if s.name in nullified_flags else duplicate
            )
        level += 3

    final: list[pl.Expr] = []
    out_values = {}
    for name, expr in value.items():
        out_values[name] = st.name(f"out:{name}")
        final.append(expr.alias(out_values[name]))
    final.append(reason.alias(st.name("out:reason")))
    final.append(rejected.alias(st.name("out:q")))
    if issues:
        issues_expr = pl.concat_list(issues).list.drop_nulls()
    else:
        issues_expr = pl.lit([], dtype=pl.List(pl.String))
    final.append(issues_expr.alias(st.name("out:issues")))
    nf = {n: st.name(f"out:nf:{n}") for n in nullified_flags}
    ff = {n: st.name(f"out:ff:{n}") for n in failed_flags}
    final += [e.alias(nf[n]) for n, e in nullified_flags.items()]
    final += [e.alias(ff[n]) for n, e in failed_flags.items()]
    raw_columns = [pl.col(n) for n in schema.names() if not n.startswith("_")]
    plan = st.apply(lf).select([*raw_columns, pl.col(ROW), *final])
    outputs = _Outputs(
        values=out_values,
        reason=st.name("out:reason"),
        quarantined=st.name("out:q"),
        issues=st.name("out:issues"),
        nullified_flags=nf,
        failed_flags=ff,
    )
    return plan, outputs


def _split(
    full: pl.DataFrame,
    out: _Outputs,
    specs: list[ColumnContract],
    extras: list[str],
    available: list[str],
    contract: Contract,
    source: str,
    notices: tuple[SchemaNotice, ...],
) -> Validated:
    flags = [*out.nullified_flags.values(), *out.failed_flags.values()]
    kept = ~pl.col(out.quarantined)
    sums = full.select(
        pl.col(out.quarantined).sum(),
        *[(pl.col(f) & kept).sum() for f in out.nullified_flags.values()],
        *[pl.col(f).sum() for f in out.failed_flags.values()],
    ).row(0)
    n_quarantined = int(sums[0] or 0)
    flag_sums = dict(zip(flags, sums[1:], strict=True))
    valid_columns = [pl.col(out.values[s.name]).alias(s.name) for s in specs]
    valid_columns += [pl.col(n) for n in extras]
    valid_columns += [pl.col(ROW), pl.col(out.issues).alias(ISSUES)]
    if n_quarantined == 0:
        valid = full.select(valid_columns)
        quarantine = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    else:
        q = pl.col(out.quarantined)
        valid = full.filter(~q).select(valid_columns)
        rejected = full.filter(q)
        quarantine = rejected.select(
            pl.coalesce(pl.col(out.values[SOURCE]), pl.lit(source)).alias("source"),
            pl.col(out.values[RECORD_ID]).alias("record_id"),
            pl.col(ROW).alias("row_number"),
            pl.col(out.reason).alias("reason"),
            pl.struct([pl.col(n) for n in available]).struct.json_encode().alias("raw"),
        ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
    counts = ValidationCounts(
        rows_in=full.height,
        valid=valid.height,
        quarantined=quarantine.height,
        nullified={n: int(flag_sums[f] or 0) for n, f in out.nullified_flags.items()},
        failed={n: int(flag_sums[f] or 0) for n, f in out.failed_flags.items()},
    )
    return Validated(
        source=source,
        contract=f"{contract.name}@{contract.version}",
        valid=valid,
        quarantine=quarantine,
        notices=notices,
        counts=counts,
    )


def _join(messages: list[pl.Expr]) -> pl.Expr:
    """Messages joined with "; ", skipping nulls; null when every message is null."""
    if len(messages) == 1:
        return messages[0]
    present = pl.any_horizontal([m.is_not_null() for m in messages])
    return pl.when(present).then(pl.concat_str(messages, separator="; ", ignore_nulls=True))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
