"""Customer metrics defined once, versioned, computed over unified customers.

Definitions (YAML or TOML) declare *semantic models* (a table of rows about
customers, how each row finds its customer, its time column, dimensions and
measures) and *metrics* with MetricFlow's types (simple, ratio, derived,
cumulative) plus customer lifecycle types (active, new, churned, retained,
cohort retention). Every result row carries the metric's name, version and
definition hash; results can be computed *as of* a date (only rows known by
then) and over any run's unified IDs. See ``docs/metrics.md``.

Examples:
    >>> import datetime as dt
    >>> import polars as pl
    >>> from c360.metrics import compute, load_definitions
    >>> defs = load_definitions({
    ...     "semantic_models": [{
    ...         "name": "orders", "join": {"source": "shop", "record_id": "order_for"},
    ...         "time": "at", "measures": [{"name": "revenue", "agg": "sum", "expr": "amount"}]}],
    ...     "metrics": [{"name": "revenue", "type": "simple", "measure": "revenue",
    ...                  "version": "1.0.0"}]})
    >>> ids = pl.DataFrame({"source": ["shop", "shop"], "record_id": ["a", "b"],
    ...                     "customer_id": ["c1", "c1"]})
    >>> days = [dt.date(2024, 1, 3), dt.date(2024, 3, 9), dt.date(2024, 2, 1)]
    >>> orders = pl.DataFrame({"order_for": ["a", "b", "zz"], "amount": [10.0, 5.0, 1.0],
    ...                        "at": days})
    >>> res = compute(defs, ids, tables={"orders": orders})
    >>> res.table.select(pl.col("period_start").cast(pl.String), "value").rows()
    [('2024-01-01', 10.0), ('2024-02-01', 0.0), ('2024-03-01', 5.0)]
    >>> res.unresolved.select("rows", "unresolved").row(0)
    (3, 1)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from c360.exceptions import MetricError
from c360.metrics._diff import MetricChange, MetricDiff, diff_definitions
from c360.metrics._engine import Request, build, unresolved_frame
from c360.metrics._inputs import RunData, TableLike, load_run
from c360.metrics._spec import (
    AGGREGATIONS,
    GRAINS,
    METRIC_TYPES,
    Definitions,
    Metric,
    load_definitions,
)

__all__ = [
    "AGGREGATIONS",
    "GRAINS",
    "METRICS_FILE",
    "METRIC_TYPES",
    "Definitions",
    "Metric",
    "MetricChange",
    "MetricDiff",
    "MetricResult",
    "RunData",
    "compute",
    "diff_definitions",
    "explain",
    "load_definitions",
    "load_run",
]

#: The file a run's metrics are written to, in its output directory.
METRICS_FILE = "metrics.parquet"


@dataclass(frozen=True)
class MetricResult:
    """Metric values and the rows they could not use.

    Attributes:
        table: one row per metric, period (and dimension values): ``metric``,
            ``version``, ``definition_hash``, ``grain``, ``period_start``,
            the ``group_by`` columns, ``cohort`` (cohort retention only),
            ``value``, ``run_id`` (the run whose unified IDs were used) and
            ``as_of`` (null unless the result is as of a date).
        unresolved: per semantic model: ``rows`` read, ``unresolved`` (no
            customer in the run), ``ambiguous`` (an identifier held by several
            customers) and ``no_time`` (an empty or unreadable time). These
            rows are not in any metric; they are counted here, never dropped
            silently.
        definitions: the definitions the values come from.
    """

    table: pl.DataFrame
    unresolved: pl.DataFrame
    definitions: Definitions

    def to_arrow(self) -> pa.Table:
        """The result rows as an Arrow table."""
        return self.table.to_arrow()

    def write(self, path: str | Path) -> Path:
        """Write the result rows to a Parquet file (``metrics.parquet``)."""
        from c360._frames import write_parquet

        out = Path(path)
        write_parquet(self.table, out)
        return out

    @property
    def split_by(self) -> list[str]:
        """The columns results are split by: the ``group_by`` dimensions and ``cohort``."""
        return [c for c in self.table.columns[5:] if c not in ("value", "run_id", "as_of")]

    def ungrouped(self) -> pl.DataFrame:
        """The rows of metrics not split by a dimension or cohort."""
        if not self.split_by:
            return self.table
        return self.table.filter(pl.all_horizontal(pl.col(c).is_null() for c in self.split_by))

    def wide(self) -> pl.DataFrame:
        """One row per period, one column per metric (ungrouped metrics only)."""
        return (
            self.ungrouped()
            .pivot(on="metric", index="period_start", values="value")
            .sort("period_start")
        )

    def __repr__(self) -> str:
        metrics = self.table["metric"].n_unique() if self.table.height else 0
        lost = sum(
            int(r["unresolved"]) + int(r["ambiguous"])
            for r in self.unresolved.iter_rows(named=True)
        )
        return f"MetricResult({metrics} metrics, {self.table.height} rows, {lost} unresolved rows)"


def _request(
    defs: Definitions,
    metrics: str | Sequence[str] | None,
    grain: str | None,
    start: dt.date | None,
    end: dt.date | None,
    as_of: dt.date | dt.datetime | None,
    group_by: str | Sequence[str] | None,
) -> Request:
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics or ())
    for n in names:
        defs.metric(n)
    dims = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    return Request(names, grain, start, end, as_of, dims)


def compute(
    definitions: Definitions | str | Path | Mapping[str, Any],
    run: Any,
    *,
    tables: Mapping[str, TableLike] | None = None,
    metrics: str | Sequence[str] | None = None,
    grain: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.date | dt.datetime | None = None,
    group_by: str | Sequence[str] | None = None,
    progress: bool | str | None = None,
) -> MetricResult:
    """Compute metrics over a run's unified customers, in one polars query.

    Args:
        definitions: loaded `Definitions`, or a file or mapping to load.
        run: the unified IDs: an output directory, a `Resolution`, or a table
            with ``source``, ``record_id``, ``customer_id``. Computing the same
            definitions over two runs shows how a re-resolution moved a metric.
        tables: table name -> path or frame; added to (and overriding) the
            tables declared in the definitions. ``records`` (the run's accepted
            records) is always there when the run has it.
        metrics: the metrics to return; default all. Their inputs are computed
            as needed.
        grain: ``day``, ``week``, ``month``, ``quarter`` or ``year``; default the
            definitions' ``default_grain``.
        start: the first period is the one holding this date; default the
            earliest row time.
        end: the last period is the one holding this date; default the latest
            row time (or ``as_of``). Empty periods are filled (with 0 for
            counts and sums, null for the others).
        as_of: only rows known by then (a date counts the whole day): the
            ``known_at`` column of a semantic model, else its time column; a
            state's end not yet known by then is open.
        group_by: dimension columns to split the metrics by.
        progress: show progress (``"on"``/``"off"``; default: from the CLI or a
            notebook, quiet when embedded).

    Raises:
        MetricError: an invalid definition, a missing table or column, or an
            identifier held by several customers in a model whose join says
            ``ambiguous: error``; the message names the metric or model and
            the field.
    """
    defs = definitions if isinstance(definitions, Definitions) else load_definitions(definitions)
    req = _request(defs, metrics, grain, start, end, as_of, group_by)
    _, out, stats = build(defs, run, tables, req)
    from c360._progress import progress as show
    from c360._progress import resolve_progress

    with show("computing metrics", enabled=resolve_progress(progress)):
        collected = pl.collect_all([out, *stats])
    unresolved = unresolved_frame(collected[1:])
    for row in unresolved.filter(pl.col("ambiguous") > 0).iter_rows(named=True):
        model = defs.semantic_models[row["semantic_model"]]
        if model.join.ambiguous == "error":
            raise MetricError(
                f"{row['ambiguous']:,} rows of table {model.table!r} join through a "
                f"{model.join.identifier} held by several customers: the join fans out",
                metric=model.name,
                field="join.identifier",
                kind="semantic model",
                hint="join by (source, record_id), or set join.ambiguous: unresolved "
                "to count those rows as unresolved",
            )
    return MetricResult(collected[0], unresolved, defs)


def explain(
    definitions: Definitions | str | Path | Mapping[str, Any],
    metric: str,
    run: Any = None,
    *,
    tables: Mapping[str, TableLike] | None = None,
    grain: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.date | dt.datetime | None = None,
) -> str:
    """The metric's definition in words and, given a run, the polars query plan.

    Examples:
        >>> from c360.metrics import load_definitions
        >>> defs = load_definitions({"semantic_models": [{"name": "logins",
        ...     "join": {"identifier": "email", "column": "email"}, "time": "at"}],
        ...     "metrics": [{"name": "churned", "type": "churned", "version": "2.0.0",
        ...                  "owner": "Growth",
        ...                  "activity": {"model": "logins", "window": "90 days"}}]})
        >>> print(explain(defs, "churned").splitlines()[0])
        churned 2.0.0 (churned), owner Growth
    """
    defs = definitions if isinstance(definitions, Definitions) else load_definitions(definitions)
    lines = _describe(defs, defs.metric(metric))
    if run is not None:
        req = _request(defs, metric, grain, start, end, as_of, None)
        _, out, _ = build(defs, run, tables, req)
        lines += ["", "query plan (polars, optimised):", out.explain()]
    return "\n".join(lines)


def _describe(defs: Definitions, m: Metric, indent: str = "") -> list[str]:
    head = f"{indent}{m.name} {m.version} ({m.type})"
    if m.owner:
        head += f", owner {m.owner}"
    lines = [head, f"{indent}  definition hash {defs.definition_hash(m.name)}"]
    if m.description:
        lines.append(f"{indent}  {m.description.strip()}")
    model = defs.model_of(m)
    if m.measure is not None:
        meas = defs.measures[m.measure]
        what = meas.agg + (f"({meas.expr})" if meas.expr else "(rows)")
        if meas.agg == "percentile":
            what += f" at {meas.percentile}"
        lines.append(f"{indent}  measure {meas.name}: {what}")
        if meas.non_additive is not None:
            lines.append(
                f"{indent}  semi-additive: the rows at the {meas.non_additive.window_choice} "
                f"time per {', '.join(meas.non_additive.window_groupings)} in each period"
            )
    if m.type == "cumulative":
        span = (
            f"trailing {m.window}"
            if m.window
            else f"{m.grain_to_date} to date"
            if m.grain_to_date
            else "all time"
        )
        lines.append(f"{indent}  accumulated over: {span}, up to the end of each period")
    if m.activity is not None:
        assert model is not None
        if model.end_time:
            how = f"a row of {model.name} has {model.time} <= t < {model.end_time}"
        else:
            window = m.activity.window or "one period"
            how = f"a row of {model.name} falls in the {window} before t"
        lines.append(f"{indent}  active at t when {how}")
        if m.activity.filter:
            lines.append(f"{indent}  activity filter: {m.activity.filter.text}")
    if model is not None:
        j = model.join
        join = (
            f"(source {j.source or 'column ' + str(j.source_column)}, record_id {j.record_id})"
            if j.kind == "record"
            else f"{j.identifier} in column {j.column}"
            if j.kind == "identifier"
            else f"customer_id in column {j.column}"
        )
        lines.append(
            f"{indent}  semantic model {model.name}: table {model.table}, time {model.time}, "
            f"customers by {join}"
        )
    if m.filter:
        lines.append(f"{indent}  filter: {m.filter.text}")
    if m.formula:
        lines.append(f"{indent}  formula: {m.formula.text}")
    for ref in [r for r in (m.numerator, m.denominator, *m.inputs) if r]:
        extra = []
        if ref.alias != ref.name:
            extra.append(f"as {ref.alias}")
        if ref.offset:
            extra.append(f"offset {ref.offset}")
        if ref.filter:
            extra.append(f"where {ref.filter.text}")
        lines.append(f"{indent}  input {ref.name} {' '.join(extra)}".rstrip())
        lines += _describe(defs, defs.metrics[ref.name], indent + "    ")
    return lines
