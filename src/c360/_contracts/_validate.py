"""validate(): coerce, check, and split a batch into valid rows and quarantine."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from c360._canonical import ISSUES, QUARANTINE_SCHEMA, RECORD_ID, ROW, SOURCE
from c360._contracts._checks import show
from c360._contracts._model import KEYS, ColumnContract, Contract
from c360._contracts._parse import Stages, coerce
from c360._contracts._rows import MAX_ROWS, validate_rows
from c360._contracts._schema import SchemaNotice, apply_policy, schema_notices
from c360._frames import Engine, engine_for, to_lazy
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
    """The outcome of ``validate``.

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

        Examples:
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
    unique: bool = True,
) -> Validated:
    """Coerce and check a batch against ``contract``; split it into valid rows and quarantine.

    Every input row ends in exactly one of ``valid`` or ``quarantine``. Text is
    parsed to the contract types (see [`c360.contracts`][c360.contracts] for the accepted
    date formats); a value that cannot be parsed or fails a check quarantines
    its row, or — for ``on_fail="nullify"`` columns — is nulled and noted in
    ``_issues``. Nulls in non-nullable columns quarantine the row. A value of a
    ``unique`` column seen before in the same source (among rows not otherwise
    rejected) fails, naming the row that keeps it. ``source`` and ``record_id``
    are always required, non-null, and ``record_id`` is unique per source.

    Args:
        data: the batch (a source read: ``source``, ``record_id``, mapped
            columns, extra columns, ``_row``). ``_row`` is added (0-based) if absent.
        contract: the contract to apply, e.g. [`canonical_contract`][canonical_contract].
        source: the source's name, for notices, errors and quarantine rows.
        on_schema_change: policy for schema notices (see ``check_schema``).
        unique: check ``unique`` columns within the batch. ``False`` leaves
            that to a caller that sees every batch of the source (the Spark
            engine checks ``record_id`` across partitions after the rest).

    Raises:
        ColumnNotFoundError: ``source``, ``record_id`` or a column the contract
            marks ``required`` is missing.
        SchemaChangeError: a breaking schema change and ``on_schema_change="fail"``.
        SourceReadError: the batch cannot be read.

    Examples:
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

    specs = [contract.column(n) if n in contract else _KEY_SPECS[n] for n in KEYS]
    specs += [c for c in contract.columns if c.name not in KEYS and c.name in schema]
    extras = [n for n in available if n not in {s.name for s in specs}]
    if isinstance(data, pl.DataFrame) and data.height <= MAX_ROWS:
        flags = _plan_exprs(tuple(specs), tuple(schema.items()), False, unique)[2].flags
        nullify, quarantine = _count_columns(_flags_by_column(flags))
        clean = validate_rows(
            data,
            specs,
            extras,
            contract,
            source,
            tuple(notices),
            unique=unique,
            nullify_columns=nullify,
            quarantine_columns=quarantine,
        )
        if clean is not None:
            return clean

    if ROW not in schema:
        lf = lf.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    elif schema[ROW] != pl.Int64:
        lf = lf.with_columns(pl.col(ROW).cast(pl.Int64))

    # Uniqueness is per source. A batch normally holds one source, where a key alone
    # is enough (and half the memory); a batch found to hold several is planned again.
    plan, outputs = _plan(lf, specs, schema, several_sources=False, unique=unique)
    engine = engine_for(data)
    frames = [_collect(plan, source, engine)]
    if frames[0].get_column(outputs.values[SOURCE]).drop_nulls().n_unique() > 1:
        frames.clear()
        plan, outputs = _plan(lf, specs, schema, several_sources=True, unique=unique)
        frames.append(_collect(plan, source, engine))
    # The collected frame is handed over without a local name: _split releases it early.
    return _split(frames.pop(), outputs, specs, extras, available, contract, source, tuple(notices))


def _collect(plan: pl.LazyFrame, source: str, engine: Engine) -> pl.DataFrame:
    try:
        return plan.collect(engine=engine)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as exc:
        raise SourceReadError(f"cannot read the batch: {_one_line(exc)}", source=source) from exc


@dataclass(frozen=True, slots=True)
class _Flag:
    """One way a row can fail: a boolean column, and the message for the rows it marks."""

    column: str  # the contract column
    flag: str  # name of the boolean column in the collected frame
    message: pl.Expr  # evaluated on flagged rows only
    quarantine: bool  # True: the row goes to quarantine; False: the value is nulled
    # For duplicates: (key column, source column, name given to the first row's number),
    # looked up after collection for the flagged rows only.
    first: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class _Outputs:
    """Names of the result columns in the collected frame, and the failure flags."""

    values: dict[str, str]  # contract column -> final value column
    flags: list[_Flag]
    quarantined: str  # boolean: the row goes to quarantine
    flagged: str  # boolean: any flag is set (the row needs a message)
    keep: list[str]  # columns the messages read


def _plan(
    lf: pl.LazyFrame,
    specs: list[ColumnContract],
    schema: pl.Schema,
    *,
    several_sources: bool,
    unique: bool = True,
) -> tuple[pl.LazyFrame, _Outputs]:
    """Build the lazy plan: typed values and one boolean flag per way a row can fail.

    Messages are not built here: polars would format one for every row. They
    are built after collection, for the flagged rows only (see [`_split`][_split]).
    """
    stages, select, outputs = _plan_exprs(
        tuple(specs), tuple(schema.items()), several_sources, unique
    )
    return stages.apply(lf).select(select), outputs


@functools.lru_cache(maxsize=64)
def _plan_exprs(
    specs: tuple[ColumnContract, ...],
    schema_items: tuple[tuple[str, pl.DataType], ...],
    several_sources: bool,
    unique: bool = True,
) -> tuple[Stages, list[pl.Expr], _Outputs]:
    """The expressions of [`_plan`][_plan], which depend only on the contract and the schema.

    Cached: building them is a few milliseconds of Python, repeated for every
    batch of an incremental run otherwise. Expressions are immutable.
    """
    schema = pl.Schema(schema_items)
    st = Stages()
    value: dict[str, pl.Expr] = {}
    flags: list[_Flag] = []
    failed_column: dict[str, pl.Expr] = {}
    top = 0
    for spec in specs:
        c = coerce(st, 0, spec.name, schema[spec.name], spec.dtype, spec.formats)
        v = st.put(c.level, f"{spec.name}:v", c.value)
        quarantine = spec.on_fail == "quarantine"
        column_flags: list[pl.Expr] = []

        def add(tag: str, when: pl.Expr, message: pl.Expr, level: int, *, q: bool) -> pl.Expr:
            flag = st.put(level, f"{spec.name}:flag:{tag}", when.fill_null(False))  # noqa: B023
            flags.append(_Flag(spec.name, st.name(f"{spec.name}:flag:{tag}"), message, q))  # noqa: B023
            return flag

        if c.failed is not None and c.message is not None:
            column_flags.append(add("parse", c.failed, c.message, c.level, q=quarantine))
        for i, check in enumerate(spec.checks):
            when = check.violated(v, spec.dtype)
            message = check.message(spec.name, v, spec.dtype)
            column_flags.append(add(f"{check.key}{i}", when, message, c.level + 1, q=quarantine))
        if not spec.nullable:
            absent = v.is_null() if c.failed is None else v.is_null() & ~c.failed.fill_null(False)
            message = pl.lit(f"{spec.name}: missing value (not nullable)")
            column_flags.append(add("null", absent, message, c.level + 1, q=True))
        if column_flags:
            failed_column[spec.name] = st.put(
                c.level + 2, f"{spec.name}:failed", pl.any_horizontal(column_flags)
            )
        value[spec.name] = v
        top = max(top, c.level + 3)

    # Values of nullify columns are nulled where they failed; quarantine flags reject the row.
    for spec in specs:
        if spec.on_fail == "nullify" and spec.name in failed_column:
            nulled = pl.when(~failed_column[spec.name]).then(value[spec.name])
            value[spec.name] = st.put(top, f"{spec.name}:n", nulled)
    q_flags = [st.col(f.flag) for f in flags if f.quarantine]
    rejected = st.put(top, "q", pl.any_horizontal(q_flags) if q_flags else pl.lit(False))

    # Uniqueness within a source, among rows not rejected so far; the first row keeps the value.
    # `is_first_distinct` on the key alone (when the batch holds one source, the usual
    # case) needs half the memory of a window; polars evaluates the scalar test first.
    level = top + 1
    source_value = value[SOURCE]
    checked = (s for s in specs if s.unique and unique)
    for spec in sorted(checked, key=lambda s: s.on_fail != "quarantine"):
        v = value[spec.name]
        key = st.put(level, f"{spec.name}:key", pl.when(~rejected & v.is_not_null()).then(v))
        if spec.name == SOURCE or not several_sources:
            first_seen = key.is_first_distinct()
        else:
            first_seen = pl.struct(source_value, key).is_first_distinct()
        dup_tag = f"{spec.name}:flag:unique"
        duplicate = st.put(level + 1, dup_tag, key.is_not_null() & ~first_seen)
        first_name = st.name(f"{spec.name}:first")
        message = pl.format(
            f"{spec.name}: duplicate value '{{}}' (first seen in row {{}})",
            show(key),
            pl.col(first_name),
        )
        quarantine = spec.on_fail == "quarantine"
        source_name = st.name(f"out:{SOURCE}")
        first = (st.name(f"{spec.name}:key"), source_name, first_name)
        flags.append(_Flag(spec.name, st.name(dup_tag), message, quarantine, first))
        if quarantine:
            rejected = st.put(level + 2, f"q:{spec.name}", rejected | duplicate)
        else:
            value[spec.name] = st.put(level + 2, f"{spec.name}:u", pl.when(~duplicate).then(v))
        level += 3

    flagged = st.put(
        level,
        "flagged",
        pl.any_horizontal([st.col(f.flag) for f in flags]) if flags else pl.lit(False),
    )
    out_values = {name: st.name(f"out:{name}") for name in value}
    final = [expr.alias(out_values[name]) for name, expr in value.items()]
    final += [rejected.alias(st.name("out:q")), flagged.alias(st.name("out:flagged"))]
    final += [st.col(f.flag) for f in flags]
    raw_columns = [n for n in schema.names() if not n.startswith("_")]
    have = {*raw_columns, ROW, *out_values.values(), *(f.flag for f in flags)}
    keep: list[str] = []
    looked_up = {f.first[2] for f in flags if f.first is not None}
    for f in flags:
        needed = list(f.message.meta.root_names()) + ([f.first[0]] if f.first else [])
        for name in needed:
            if name not in have and name not in looked_up:
                have.add(name)
                keep.append(name)
    select = [*map(pl.col, raw_columns), pl.col(ROW), *final, *map(pl.col, keep)]
    outputs = _Outputs(
        values=out_values,
        flags=flags,
        quarantined=st.name("out:q"),
        flagged=st.name("out:flagged"),
        keep=keep,
    )
    return st, select, outputs


def _flags_by_column(flags: list[_Flag]) -> dict[str, list[_Flag]]:
    by_column: dict[str, list[_Flag]] = {}
    for f in flags:
        by_column.setdefault(f.column, []).append(f)
    return by_column


def _count_columns(by_column: dict[str, list[_Flag]]) -> tuple[list[str], list[str]]:
    """The columns counted as nulled (every flag nullifies) and as failed (some quarantines)."""
    nullify = [c for c, fs in by_column.items() if not any(f.quarantine for f in fs)]
    quarantine = [c for c, fs in by_column.items() if any(f.quarantine for f in fs)]
    return nullify, quarantine


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
    """Split the collected frame into valid rows and quarantine.

    Messages are built for the flagged rows only. The raw columns are released
    before the valid rows are copied out, so that peak memory stays near two
    copies of the batch. The caller must not keep a reference to ``full``.
    """
    q = pl.col(out.quarantined)
    by_column = _flags_by_column(out.flags)
    nullify_columns, quarantine_columns = _count_columns(by_column)

    def any_of(flags: list[_Flag]) -> pl.Expr:
        return pl.any_horizontal([pl.col(f.flag) for f in flags])

    sums = full.select(
        q.sum().alias("q"),
        pl.col(out.flagged).sum().alias("flagged"),
        *[(any_of(by_column[c]) & ~q).sum().alias(f"n:{c}") for c in nullify_columns],
        *[
            any_of([f for f in by_column[c] if f.quarantine]).sum().alias(f"f:{c}")
            for c in quarantine_columns
        ],
    ).row(0, named=True)
    n_quarantined = int(sums["q"] or 0)

    # Flagged rows (few): messages, the quarantine table, and the issues of kept rows.
    quarantine = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    issues: pl.DataFrame | None = None
    if sums["flagged"]:
        q_int = q.cast(pl.Int64)
        problems = (
            full.with_row_index("__c360_pos")
            .filter(pl.col(out.flagged))
            # Small frame; one chunk also sidesteps a polars panic when string
            # functions run over many-chunk string views (polars 2.1).
            .rechunk()
            # Position among kept rows: position in the batch minus quarantined rows before it
            # (every quarantined row is flagged, so they are all in this frame).
            .with_columns(
                (pl.col("__c360_pos").cast(pl.Int64) - (q_int.cum_sum() - q_int)).alias(
                    "__c360_vpos"
                )
            )
        )
        problems = _look_up_first_rows(full, problems, out.flags)
        if n_quarantined:
            reason = _join(
                [pl.when(pl.col(f.flag)).then(f.message) for f in out.flags if f.quarantine]
            )
            quarantine = (
                problems.filter(q)
                .select(
                    pl.coalesce(pl.col(out.values[SOURCE]), pl.lit(source)).alias("source"),
                    pl.col(out.values[RECORD_ID]).alias("record_id"),
                    pl.col(ROW).alias("row_number"),
                    reason.alias("reason"),
                    pl.struct([pl.col(n) for n in available]).struct.json_encode().alias("raw"),
                )
                .cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
            )
        parts = [
            pl.when(pl.col(f.flag)).then(f.message + pl.lit(" (value nulled)"))
            for f in out.flags
            if not f.quarantine
        ]
        if parts:
            issues = (
                problems.filter(~q)
                .select("__c360_vpos", pl.concat_list(parts).list.drop_nulls().alias(ISSUES))
                .filter(pl.col(ISSUES).list.len() > 0)
            )
        del problems

    # Series-level selection: zero-copy even on the many-chunk frames the streaming engine returns.
    rows_in = full.height
    source_column = full.get_column(out.values[SOURCE])
    constant_source = source_column.drop_nulls().n_unique() == 1 and source_column.null_count() == 0
    # A batch from one source keeps `source` as a constant column rather than a copy per row.
    source_value = source_column[0] if constant_source and rows_in else None
    names = [spec.name for spec in specs] + [*extras, ROW]
    columns = [full.get_column(out.values[spec.name]).alias(spec.name) for spec in specs]
    columns += [full.get_column(n) for n in (*extras, ROW)]
    if source_value is not None:
        columns = [c for c in columns if c.name != SOURCE]
    keep_mask = ~full.get_column(out.quarantined)
    del full, source_column  # releases the raw columns that only the quarantine needed
    if n_quarantined:
        valid = pl.DataFrame([c.filter(keep_mask) for c in columns])
    else:
        valid = pl.DataFrame(columns)
    del columns
    if source_value is not None:
        valid = valid.with_columns(pl.lit(source_value, dtype=pl.String).alias(SOURCE))
    valid = valid.select(names).with_columns(_issue_column(issues, valid.height))
    counts = ValidationCounts(
        rows_in=rows_in,
        valid=valid.height,
        quarantined=quarantine.height,
        nullified={c: int(sums[f"n:{c}"] or 0) for c in nullify_columns},
        failed={c: int(sums[f"f:{c}"] or 0) for c in quarantine_columns},
    )
    return Validated(
        source=source,
        contract=f"{contract.name}@{contract.version}",
        valid=valid,
        quarantine=quarantine,
        notices=notices,
        counts=counts,
    )


def _look_up_first_rows(
    full: pl.DataFrame, problems: pl.DataFrame, flags: list[_Flag]
) -> pl.DataFrame:
    """Add, for duplicate rows, the row number of the first row that holds the same key."""
    for f in flags:
        if f.first is None:
            continue
        key, source, first = f.first
        dups = problems.filter(pl.col(f.flag)).select(source, key).unique()
        if dups.height == 0:
            problems = problems.with_columns(pl.lit(None, dtype=pl.Int64).alias(first))
            continue
        # Non-null keys belong to the rows still in the running, in input order.
        firsts = (
            full.select(source, key, ROW)
            .filter(pl.col(key).is_in(dups.get_column(key).implode()))
            .group_by([source, key], maintain_order=True)
            .agg(pl.col(ROW).first().alias(first))
        )
        problems = problems.join(firsts, on=[source, key], how="left", maintain_order="left")
    return problems


def _issue_column(issues: pl.DataFrame | None, height: int) -> pl.Series:
    """Build the ``_issues`` list column: empty lists, except at the positions in ``issues``.

    Built as an Arrow list array from offsets, so that a million rows with a few
    issues cost one offsets buffer, not a join or a gather over list values.
    """
    if issues is None or issues.height == 0:
        return (
            pl.select(pl.repeat(pl.lit([], dtype=pl.List(pl.String)), height))
            .to_series()
            .alias(ISSUES)
        )
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    positions = issues.get_column("__c360_vpos").to_numpy()
    lists = issues.get_column(ISSUES)
    lengths = np.zeros(height, dtype=np.int64)
    lengths[positions] = lists.list.len().to_numpy()
    offsets = np.zeros(height + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = lists.explode().to_arrow()
    array = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    column = pl.from_arrow(array)
    assert isinstance(column, pl.Series)
    return column.alias(ISSUES)


def _join(messages: list[pl.Expr]) -> pl.Expr:
    """Messages joined with "; ", skipping nulls; null when every message is null."""
    if len(messages) == 1:
        return messages[0]
    present = pl.any_horizontal([m.is_not_null() for m in messages])
    return pl.when(present).then(pl.concat_str(messages, separator="; ", ignore_nulls=True))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
