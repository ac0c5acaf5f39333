"""Metrics as one lazy polars query per request.

Every row finds its period by a binary search of the period boundaries (see
`Spine`), so windows, grains and week starts share one mechanism. Windows and
lifecycle states never explode rows into periods when they can be counted:
a row that counts in periods ``lo..hi`` adds +1 at ``lo`` and -1 at ``hi + 1``
and a cumulative sum over periods gives the counts (the difference-array trick);
distinct customers are first merged into non-overlapping ranges per customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from c360.exceptions import MetricError
from c360.metrics._expr import Filter, metric_column
from c360.metrics._inputs import IDENTIFIER_COLUMNS, RunData, TableLike, bind_tables, load_run
from c360.metrics._spec import (
    GRAINS,
    LIFECYCLE_TYPES,
    Definitions,
    Duration,
    Measure,
    Metric,
    SemanticModel,
)
from c360.metrics._time import Spine, coarser_or_equal, every, local_time, truncate

__all__ = ["Request", "build"]

CIX = "_cix"  # customer as a dense integer, inside the plan
_UNRESOLVED_SCHEMA = {
    "semantic_model": pl.String,
    "table": pl.String,
    "rows": pl.Int64,
    "unresolved": pl.Int64,
    "ambiguous": pl.Int64,
    "no_time": pl.Int64,
}


@dataclass(frozen=True)
class Request:
    """What to compute: which metrics, at which grain, over which periods, known when."""

    metrics: tuple[str, ...] = ()
    grain: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.date | dt.datetime | None = None
    group_by: tuple[str, ...] = ()


def _naive(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime(value.year, value.month, value.day)


def _as_of_cutoff(as_of: dt.date | dt.datetime, zone: str) -> dt.datetime:
    """Rows known strictly before this local time count: a date means the whole day."""
    if isinstance(as_of, dt.datetime):
        if as_of.tzinfo is not None:
            import zoneinfo

            as_of = as_of.astimezone(zoneinfo.ZoneInfo(zone))
        return as_of.replace(tzinfo=None)
    return _naive(as_of) + dt.timedelta(days=1)


class Plan:
    """The lazy frames of one request; `build` makes it, `frames` are collected once."""

    def __init__(
        self,
        defs: Definitions,
        run: RunData,
        tables: Mapping[str, pl.LazyFrame],
        request: Request,
    ) -> None:
        self.defs = defs
        self.run = run
        self.tables = tables
        self.req = request
        self.grain = request.grain or defs.default_grain
        if self.grain not in GRAINS:
            raise MetricError(f"grain must be one of {', '.join(GRAINS)}, found {self.grain!r}")
        self.cutoff = (
            _as_of_cutoff(request.as_of, defs.time_zone) if request.as_of is not None else None
        )
        self.names = list(request.metrics) or list(defs.metrics)
        for name in self.names:
            defs.metric(name)
        self.closure = self._closure(self.names)
        ids = run.ids.select(
            pl.col("source").cast(pl.String),
            pl.col("record_id").cast(pl.String),
            pl.col("customer_id").cast(pl.String),
        )
        self.ids = ids.with_columns(pl.col("customer_id").rank("dense").cast(pl.Int64).alias(CIX))
        self.customers = self.ids.select("customer_id", CIX).unique()
        self._prepared: dict[str, tuple[pl.LazyFrame, pl.LazyFrame, set[str]]] = {}
        self._timed: dict[str, pl.LazyFrame] = {}
        for model in self._models():
            self._prepare(model)
        self.spine = self._spine()
        self._memo: dict[tuple[Any, ...], pl.LazyFrame] = {}
        self._memo_cov: dict[tuple[Any, ...], tuple[pl.LazyFrame, pl.LazyFrame]] = {}

    # ---------------------------------------------------------------- set-up

    def _closure(self, names: Sequence[str]) -> list[str]:
        seen: list[str] = []

        def visit(n: str) -> None:
            if n in seen:
                return
            for dep in self.defs.metric(n).depends_on():
                visit(dep)
            seen.append(n)

        for n in names:
            visit(n)
        return seen

    def _models(self) -> list[SemanticModel]:
        out: list[SemanticModel] = []
        for name in self.closure:
            model = self.defs.model_of(self.defs.metrics[name])
            if model is not None and model not in out:
                out.append(model)
        return out

    def _err(
        self, model: SemanticModel, fld: str, message: str, hint: str | None = None
    ) -> MetricError:
        return MetricError(message, metric=model.name, field=fld, kind="semantic model", hint=hint)

    def _time(self, lf: pl.LazyFrame, model: SemanticModel, column: str, fld: str) -> pl.Expr:
        dtype = lf.collect_schema()[column]
        expr = local_time(pl.col(column), dtype, self.defs.time_zone)
        if expr is None and dtype == pl.String:
            parsed = pl.col(column).str.to_datetime(strict=False, time_unit="us")
            dtype = lf.select(parsed).collect_schema()[column]
            expr = local_time(parsed, dtype, self.defs.time_zone)
        if expr is None:
            raise self._err(
                model, fld, f"column {column!r} is {dtype}: a time column holds dates or timestamps"
            )
        return expr

    def _prepare(self, model: SemanticModel) -> None:
        if model.table not in self.tables:
            raise self._err(
                model,
                "table",
                f"no table called {model.table!r}; given: {', '.join(self.tables) or '(none)'}",
                hint="pass it with --table NAME=PATH, tables={...}, or declare it under tables:",
            )
        lf = self.tables[model.table]
        columns = set(lf.collect_schema().names())
        need: list[tuple[str, str]] = [(c, "join") for c in model.join.columns()]
        need += [(c, "dimensions") for c in model.dimensions]
        need += [
            (c, f)
            for c, f in (
                (model.time, "time"),
                (model.end_time, "end_time"),
                (model.known_at, "known_at"),
            )
            if c
        ]
        if model.filter is not None:
            need += [(c, "filter") for c in sorted(model.filter.columns)]
        for mname in model.measures:
            meas = self.defs.measures[mname]
            need += [(c, f"measures.{mname}.expr") for c in [meas.expr] if c and c != "customer_id"]
        for col, fld in need:
            if col not in columns:
                raise self._err(
                    model,
                    fld,
                    f"table {model.table!r} has no column {col!r}; "
                    f"it has: {', '.join(sorted(columns))}",
                )
        assert model.time is not None
        lf = lf.with_columns(_t=self._time(lf, model, model.time, "time"))
        self._timed[model.name] = lf.select("_t")
        if model.filter is not None:
            lf = lf.filter(model.filter.to_expr())
        if model.end_time:
            end = self._time(lf, model, model.end_time, "end_time")
            if self.cutoff is not None:  # an end not known yet is no end
                end = pl.when(end < self.cutoff).then(end)
            lf = lf.with_columns(_end=end)
        if self.cutoff is not None:
            known = (
                self._time(lf, model, model.known_at, "known_at")
                if model.known_at
                else pl.col("_t")
            )
            lf = lf.filter(known < self.cutoff)
        # cached: the row counts and every metric over this model read the same join
        lf = self._join(model, lf).cache()
        stats = lf.select(
            semantic_model=pl.lit(model.name),
            table=pl.lit(model.table),
            rows=pl.len().cast(pl.Int64),
            unresolved=(pl.col(CIX).is_null() & ~pl.col("_ambiguous")).sum().cast(pl.Int64),
            ambiguous=pl.col("_ambiguous").sum().cast(pl.Int64),
            no_time=(pl.col(CIX).is_not_null() & pl.col("_t").is_null()).sum().cast(pl.Int64),
        )
        frame = lf.filter(pl.col(CIX).is_not_null() & pl.col("_t").is_not_null()).drop("_ambiguous")
        self._prepared[model.name] = (frame, stats, columns | {"customer_id"})

    def _join(self, model: SemanticModel, lf: pl.LazyFrame) -> pl.LazyFrame:
        j = model.join
        if j.kind == "record":
            assert j.record_id is not None
            lf = lf.with_columns(_rec=pl.col(j.record_id).cast(pl.String))
            if j.source is not None:
                ids = self.ids.filter(pl.col("source") == j.source).drop("source")
                lf = lf.join(ids, left_on="_rec", right_on="record_id", how="left")
            else:
                assert j.source_column is not None
                lf = (
                    lf.with_columns(_src=pl.col(j.source_column).cast(pl.String))
                    .join(
                        self.ids,
                        left_on=["_src", "_rec"],
                        right_on=["source", "record_id"],
                        how="left",
                    )
                    .drop("_src")
                )
            return lf.drop("_rec", strict=False).with_columns(_ambiguous=pl.lit(False))
        if j.kind == "customer_id":
            assert j.column is not None
            if j.column != "customer_id" and "customer_id" in lf.collect_schema().names():
                lf = lf.drop("customer_id")
            return (
                lf.with_columns(customer_id=pl.col(j.column).cast(pl.String))
                .join(self.customers, on="customer_id", how="left")
                .with_columns(_ambiguous=pl.lit(False))
            )
        return self._join_identifier(model, lf)

    def _join_identifier(self, model: SemanticModel, lf: pl.LazyFrame) -> pl.LazyFrame:
        from c360.standardize import canonical_email, clean_national_id, phone_digits

        j = model.join
        assert j.identifier is not None
        assert j.column is not None
        if self.run.matching is None:
            raise self._err(
                model,
                "join.identifier",
                "an identifier join needs the run's standardised records (state/matching.parquet)",
                hint="use a run written by c360 resolve or demo, or a Resolution",
            )
        target = IDENTIFIER_COLUMNS[j.identifier]
        raw = pl.col(j.column).cast(pl.String)
        if j.identifier == "email":
            key = canonical_email(raw)
        elif j.identifier == "phone":
            key = phone_digits(raw, pl.lit(None, dtype=pl.String), pl.lit("US"))
        else:
            key = clean_national_id(raw)
        index = (
            self.run.matching.select(
                pl.col(target).alias("_key"), pl.col("customer_id").cast(pl.String)
            )
            .drop_nulls()
            .unique()
            .group_by("_key")
            .agg(pl.col("customer_id").first(), _n=pl.len())
            .join(self.customers, on="customer_id", how="inner")
        )
        lf = lf.with_columns(_key=key).join(index, on="_key", how="left")
        ambiguous = pl.col("_n").fill_null(0) > 1
        return lf.with_columns(
            _ambiguous=ambiguous,
            **{CIX: pl.when(ambiguous).then(None).otherwise(pl.col(CIX))},
        ).drop("_key", "_n")

    def _spine(self) -> Spine:
        start = _naive(self.req.start) if self.req.start else None
        end = _naive(self.req.end) if self.req.end else None
        if start is None or end is None:
            bounds = (
                pl.concat(
                    [
                        f.select(lo=pl.col("_t").min(), hi=pl.col("_t").max())
                        for f in self._timed.values()
                    ]
                )
                .select(pl.col("lo").min(), pl.col("hi").max())
                .collect()
            )
            lo, hi = bounds.row(0)
            if lo is None:
                raise MetricError(
                    "no row has a time: cannot choose the periods",
                    hint="pass start and end, or check the semantic models' time columns",
                )
            start = start or lo
            if end is None:
                end = (
                    hi
                    if self.cutoff is None
                    else min(hi, self.cutoff - dt.timedelta(microseconds=1))
                )
        assert start is not None
        assert end is not None
        if end < start:
            raise MetricError(
                f"the periods end ({end:%Y-%m-%d}) before they start ({start:%Y-%m-%d})"
            )
        back = [
            r.offset
            for n in self.closure
            for r in self.defs.metrics[n].inputs
            if r.offset is not None
        ]
        for n in self.closure:
            # lifecycle states at the first period's start need the periods
            # before it: one, or as many as an activity window counts
            activity = self.defs.metrics[n].activity
            if activity is not None:
                periods = (
                    activity.window.n if activity.window and activity.window.unit == "period" else 0
                )
                back.append(Duration(periods + 1, "period"))
        return Spine(self.grain, start, end, self.defs.week_start, back)

    # ---------------------------------------------------------------- rows

    def _rows(
        self, model: SemanticModel, filters: Sequence[Filter | None], metric: str
    ) -> pl.LazyFrame:
        frame, _, columns = self._prepared[model.name]
        lf = frame.with_columns(_k=self.spine.index(pl.col("_t")) - 1)
        for f in filters:
            if f is None:
                continue
            unknown = sorted(f.columns - columns)
            if unknown:
                raise MetricError(
                    f"unknown column {unknown[0]!r} in semantic model {model.name!r}",
                    metric=metric,
                    field="filter",
                )
            for dep in f.metrics:
                values = self.frame(dep, (CIX,), (), spine=False).rename(
                    {"value": metric_column(dep)}
                )
                lf = lf.join(values, on=["_k", CIX], how="left")
                fill = self.defs.metrics[dep].fill_nulls_with
                if fill is not None:
                    lf = lf.with_columns(pl.col(metric_column(dep)).fill_null(fill))
            lf = lf.filter(f.to_expr())
        return lf

    def _dims(self, metric: Metric, dims: tuple[str, ...]) -> None:
        model = self.defs.model_of(metric)
        if model is None:
            return
        allowed = {*model.dimensions, CIX}
        if metric.type in LIFECYCLE_TYPES:
            allowed = set()
        for d in dims:
            if d not in allowed:
                what = (
                    "lifecycle metrics count customers and take no group_by"
                    if metric.type in LIFECYCLE_TYPES
                    else f"semantic model {model.name!r} has dimensions: "
                    f"{', '.join(model.dimensions) or '(none)'}"
                )
                raise MetricError(
                    f"cannot group by {('customer_id' if d == CIX else d)!r}: {what}",
                    metric=metric.name,
                    field="group_by",
                )

    # ---------------------------------------------------------------- metrics

    def frame(
        self,
        name: str,
        dims: tuple[str, ...],
        filters: tuple[Filter, ...] = (),
        *,
        spine: bool = True,
    ) -> pl.LazyFrame:
        """Metric ``name`` as ``_k``, ``dims``, ``value`` (Float64), memoised per request."""
        key = (name, dims, tuple(f.text for f in filters), spine)
        if key not in self._memo:
            m = self.defs.metrics[name]
            self._dims(m, dims)
            self._memo[key] = self._compute(m, dims, filters, spine).cache()
        return self._memo[key]

    def _compute(
        self, m: Metric, dims: tuple[str, ...], filters: tuple[Filter, ...], spine: bool
    ) -> pl.LazyFrame:
        if m.type == "simple":
            out = self._simple(m, dims, filters)
        elif m.type == "cumulative":
            return self._cumulative(m, dims, filters, spine)
        elif m.type == "ratio":
            return self._ratio(m, dims, filters)
        elif m.type == "derived":
            return self._derived(m, dims, filters)
        else:
            return self._lifecycle(m, filters)
        return self._fill(out, dims, m.fill_nulls_with) if spine else out

    def _in_range(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.filter((pl.col("_k") >= 0) & (pl.col("_k") < self.spine.n))

    def _grid(self, dims: tuple[str, ...], observed: pl.LazyFrame) -> pl.LazyFrame:
        periods = pl.LazyFrame({"_k": pl.Series(range(self.spine.n), dtype=pl.Int64)})
        if not dims:
            return periods
        return periods.join(observed.select(dims).unique(), how="cross")

    def _fill(self, out: pl.LazyFrame, dims: tuple[str, ...], fill: float | None) -> pl.LazyFrame:
        filled = self._grid(dims, out).join(out, on=["_k", *dims], how="left")
        if fill is not None:
            filled = filled.with_columns(pl.col("value").fill_null(fill))
        return filled

    def _measure(self, m: Metric) -> tuple[Measure, SemanticModel]:
        assert m.measure is not None
        meas = self.defs.measures[m.measure]
        return meas, self.defs.semantic_models[meas.model]

    @staticmethod
    def _col(name: str | None) -> str:
        return CIX if name in (None, "customer_id") else str(name)

    def _agg(self, meas: Measure) -> pl.Expr:
        col = pl.col(self._col(meas.expr))
        agg = meas.agg
        if agg == "count":
            out = pl.len() if meas.expr is None else col.count()
        elif agg == "count_distinct":
            out = col.drop_nulls().n_unique()
        elif agg == "sum":
            out = col.sum()
        elif agg == "average":
            out = col.mean()
        elif agg == "min":
            out = col.min()
        elif agg == "max":
            out = col.max()
        elif agg == "median":
            out = col.median()
        else:
            assert meas.percentile is not None
            out = col.quantile(meas.percentile, interpolation="linear")
        return out.cast(pl.Float64).alias("value")

    def _simple(
        self, m: Metric, dims: tuple[str, ...], filters: tuple[Filter, ...]
    ) -> pl.LazyFrame:
        meas, model = self._measure(m)
        rows = self._in_range(self._rows(model, [m.filter, *filters], m.name))
        if meas.non_additive is not None:
            at = (
                pl.col("_t").max()
                if meas.non_additive.window_choice == "max"
                else pl.col("_t").min()
            )
            groups = ["_k", *(self._col(g) for g in meas.non_additive.window_groupings)]
            rows = rows.filter(pl.col("_t") == at.over(groups))
        return rows.group_by(["_k", *dims]).agg(self._agg(meas))

    def _last_period(self, m: Metric) -> pl.Expr:
        """The last period each row counts in, for a cumulative metric."""
        n = self.spine.n
        if m.window is not None:
            reach = m.window.add_to(pl.col("_t"), self.grain)
            return self.spine.index(reach) - 2
        if m.grain_to_date is not None:
            if not coarser_or_equal(m.grain_to_date, self.grain):
                raise MetricError(
                    f"grain_to_date {m.grain_to_date!r} is finer than the requested grain "
                    f"{self.grain!r}",
                    metric=m.name,
                    field="grain_to_date",
                )
            nxt = truncate(pl.col("_t"), m.grain_to_date, self.defs.week_start).dt.offset_by(
                every(m.grain_to_date)
            )
            return self.spine.index(nxt) - 2
        return pl.lit(n - 1, dtype=pl.Int64)

    def _cumulative(
        self, m: Metric, dims: tuple[str, ...], filters: tuple[Filter, ...], spine: bool
    ) -> pl.LazyFrame:
        meas, model = self._measure(m)
        n = self.spine.n
        rows = (
            self._rows(model, [m.filter, *filters], m.name)
            .with_columns(
                lo=pl.max_horizontal(pl.col("_k"), pl.lit(0, dtype=pl.Int64)),
                hi=pl.min_horizontal(self._last_period(m), pl.lit(n - 1, dtype=pl.Int64)),
            )
            .filter((pl.col("lo") <= pl.col("hi")) & (pl.col("lo") < n))
        )
        if meas.agg in ("count", "sum"):
            weight = (
                pl.lit(1.0)
                if meas.agg == "count" and meas.expr is None
                else pl.col(self._col(meas.expr)).is_not_null().cast(pl.Float64)
                if meas.agg == "count"
                else pl.col(self._col(meas.expr)).cast(pl.Float64)
            )
            ranges = rows.select(*dims, "lo", "hi", w=weight)
            return self._ranges(ranges, dims, spine)
        if meas.agg == "count_distinct":
            x = self._col(meas.expr)
            keys = list(dict.fromkeys([*dims, x]))
            merged = _merge(rows.select(*keys, "lo", "hi").drop_nulls(x), keys)
            return self._ranges(merged.with_columns(w=pl.lit(1.0)), dims, spine)
        exploded = rows.with_columns(_k=pl.int_ranges("lo", pl.col("hi") + 1)).explode("_k")
        out = exploded.group_by(["_k", *dims]).agg(self._agg(meas))
        return self._fill(out, dims, m.fill_nulls_with) if spine else out

    def _ranges(self, ranges: pl.LazyFrame, dims: tuple[str, ...], spine: bool) -> pl.LazyFrame:
        """Sum ``w`` over the periods ``lo..hi`` of every row: +w at lo, -w after hi."""
        deltas = (
            pl.concat(
                [
                    ranges.select(*dims, _k=pl.col("lo"), w=pl.col("w")),
                    ranges.select(*dims, _k=pl.col("hi") + 1, w=-pl.col("w")),
                ]
            )
            .group_by(["_k", *dims])
            .agg(pl.col("w").sum())
        )
        grid = self._grid(dims, ranges)
        summed = (
            grid.join(deltas, on=["_k", *dims], how="left")
            .with_columns(pl.col("w").fill_null(0.0))
            .sort(["_k"])
            .with_columns(
                value=pl.col("w").cum_sum().over(list(dims)) if dims else pl.col("w").cum_sum()
            )
            .drop("w")
        )
        if spine:
            return summed
        return summed.filter(pl.col("value") != 0)

    def _ratio(self, m: Metric, dims: tuple[str, ...], filters: tuple[Filter, ...]) -> pl.LazyFrame:
        assert m.numerator is not None
        assert m.denominator is not None
        own = (m.filter,) if m.filter else ()
        num = self._input(m.numerator, dims, (*own, *filters), "_num")
        den = self._input(m.denominator, dims, (*own, *filters), "_den")
        both = num.join(den, on=["_k", *dims], how="full", coalesce=True)
        value = (
            pl.when(pl.col("_den").is_null() | (pl.col("_den") == 0))
            .then(None)
            .otherwise(pl.col("_num") / pl.col("_den"))
        )
        return both.select("_k", *dims, value=value.cast(pl.Float64))

    def _input(
        self, ref: Any, dims: tuple[str, ...], filters: tuple[Filter, ...], alias: str
    ) -> pl.LazyFrame:
        extra = (*filters, ref.filter) if ref.filter else filters
        out = self.frame(ref.name, dims, tuple(extra)).rename({"value": alias})
        if ref.offset is not None:
            try:
                shift = self.spine.shift(ref.offset)
            except ValueError as exc:
                raise MetricError(str(exc), metric=ref.name, field="offset_window") from None
            out = out.with_columns(
                pl.col("_k").replace_strict(
                    list(shift), list(shift.values()), default=None, return_dtype=pl.Int64
                )
            ).drop_nulls("_k")
        return out

    def _derived(
        self, m: Metric, dims: tuple[str, ...], filters: tuple[Filter, ...]
    ) -> pl.LazyFrame:
        assert m.formula is not None
        own = (m.filter,) if m.filter else ()
        frames = [self._input(r, dims, (*own, *filters), r.alias) for r in m.inputs]
        out = self._grid(dims, frames[0])
        for f in frames:
            out = out.join(f, on=["_k", *dims], how="left")
        return out.select("_k", *dims, value=m.formula.to_expr().cast(pl.Float64))

    # ---------------------------------------------------------------- lifecycle

    def _coverage(
        self, m: Metric, filters: tuple[Filter, ...]
    ) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        """Per customer: merged ranges of boundaries it is active at, and its first time.

        Memoised per activity and filters: active, new, churned, retained and
        cohort retention over the same activity share one plan.
        """
        assert m.activity is not None
        key = (m.activity, m.filter, filters)
        if key not in self._memo_cov:
            merged, first = self._coverage_plan(m, filters)
            self._memo_cov[key] = (merged.cache(), first.cache())
        return self._memo_cov[key]

    def _coverage_plan(
        self, m: Metric, filters: tuple[Filter, ...]
    ) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        assert m.activity is not None
        model = self.defs.semantic_models[m.activity.model]
        rows = self._rows(model, [m.filter, m.activity.filter, *filters], m.name)
        n = self.spine.n
        window = m.activity.window
        if model.end_time:
            lo = self.spine.index(pl.col("_t"), "left")
            hi = (
                pl.when(pl.col("_end").is_null())
                .then(n)
                .otherwise(self.spine.index(pl.col("_end"), "left") - 1)
            )
        else:
            lo = self.spine.index(pl.col("_t"))
            if window is None:
                hi = lo
            elif window.unit == "period":
                hi = lo + (window.n - 1)
            else:
                hi = self.spine.index(window.add_to(pl.col("_t"), self.grain)) - 1
        spans = rows.select(
            CIX,
            lo=pl.max_horizontal(lo, pl.lit(0, dtype=pl.Int64)),
            hi=pl.min_horizontal(hi, pl.lit(n, dtype=pl.Int64)),
        ).filter(pl.col("lo") <= pl.col("hi"))
        first = (
            rows.group_by(CIX)
            .agg(_c=pl.col("_t").min())
            .select(CIX, _c=self.spine.index(pl.col("_c")) - 1)
        )
        return _merge(spans, [CIX]), first

    def _lifecycle(self, m: Metric, filters: tuple[Filter, ...]) -> pl.LazyFrame:
        n = self.spine.n
        merged, first = self._coverage(m, filters)
        clip = (pl.lit(0, dtype=pl.Int64), pl.lit(n - 1, dtype=pl.Int64))
        if m.type == "new":
            out = (
                first.filter((pl.col("_c") >= 0) & (pl.col("_c") < n))
                .group_by(pl.col("_c").alias("_k"))
                .agg(value=pl.len().cast(pl.Float64))
            )
            return self._fill(out, (), m.fill_nulls_with)
        if m.type == "churned":
            out = (
                merged.filter(pl.col("hi") < n)
                .group_by(pl.col("hi").alias("_k"))
                .agg(value=pl.len().cast(pl.Float64))
            )
            return self._fill(out, (), m.fill_nulls_with)
        if m.type == "cohort_retention":
            return self._cohorts(merged, first)
        # active at the end of period k (boundary k + 1), retained across it (k and k + 1)
        start = pl.col("lo") - 1 if m.type == "active" else pl.col("lo")
        ranges = merged.select(
            lo=pl.max_horizontal(start, clip[0]),
            hi=pl.min_horizontal(pl.col("hi") - 1, clip[1]),
            w=pl.lit(1.0),
        ).filter(pl.col("lo") <= pl.col("hi"))
        return self._ranges(ranges, (), True)

    def _cohorts(self, merged: pl.LazyFrame, first: pl.LazyFrame) -> pl.LazyFrame:
        n = self.spine.n
        cohorts = first.filter((pl.col("_c") >= 0) & (pl.col("_c") < n))
        size = cohorts.group_by("_c").agg(_size=pl.len())
        ranges = (
            merged.join(cohorts, on=CIX, how="inner")
            .select(
                "_c",
                lo=pl.max_horizontal(pl.col("lo") - 1, pl.col("_c")),
                hi=pl.min_horizontal(pl.col("hi") - 1, pl.lit(n - 1, dtype=pl.Int64)),
                w=pl.lit(1.0),
            )
            .filter(pl.col("lo") <= pl.col("hi"))
        )
        active = self._ranges(ranges, ("_c",), True)
        return (
            size.join(active, on="_c", how="left")
            .filter(pl.col("_k") >= pl.col("_c"))
            .select("_k", "_c", value=pl.col("value") / pl.col("_size"))
        )

    # ---------------------------------------------------------------- output

    def result(self) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
        """The result rows of every requested metric, and the per-model row counts."""
        dims = tuple(CIX if d == "customer_id" else d for d in self.req.group_by)
        periods = self.spine.frame()
        parts = []
        for name in self.names:
            m = self.defs.metrics[name]
            frame = self.frame(name, dims)
            stamped = (
                frame.filter(pl.col("_k") >= self.spine.first)
                .join(periods, on="_k", how="left")
                .with_columns(
                    metric=pl.lit(name),
                    version=pl.lit(m.version),
                    definition_hash=pl.lit(self.defs.definition_hash(name)),
                    grain=pl.lit(self.grain),
                )
            )
            if "_c" in frame.collect_schema().names():
                stamped = stamped.filter(pl.col("_c") >= self.spine.first).join(
                    periods.rename({"_k": "_c", "period_start": "cohort"}), on="_c", how="left"
                )
            if CIX in dims and m.type not in LIFECYCLE_TYPES:
                stamped = stamped.join(self.customers, on=CIX, how="left")
            parts.append(stamped.drop("_k", "_c", CIX, strict=False))
        out = pl.concat(parts, how="diagonal_relaxed")
        names = out.collect_schema().names()
        group = [d for d in self.req.group_by if d in names]
        extra = ["cohort"] if "cohort" in names else []
        out = out.select(
            "metric",
            "version",
            "definition_hash",
            "grain",
            "period_start",
            *group,
            *extra,
            pl.col("value").cast(pl.Float64),
            run_id=pl.lit(self.run.run_id, dtype=pl.String),
            as_of=pl.lit(self.req.as_of, dtype=pl.Datetime("us"))
            if self.req.as_of
            else pl.lit(None, dtype=pl.Datetime("us")),
        )
        order = {n: i for i, n in enumerate(self.names)}
        out = (
            out.with_columns(_o=pl.col("metric").replace_strict(order, return_dtype=pl.Int64))
            .sort(["_o", "period_start", *group, *extra], nulls_last=True)
            .drop("_o")
        )
        stats = [self._prepared[m.name][1] for m in self._models()]
        return out, stats


def _merge(spans: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Merge overlapping or touching ``lo..hi`` ranges per ``keys`` into disjoint ones.

    One sort and one running maximum, no group-by and no window function.
    Rows sorted by keys and ``lo`` get a group number ``g`` (the key itself when
    it is one integer column, else a count of key changes); with ``band`` wider
    than any range, ``g * band + lo`` and ``g * band + hi`` increase across
    groups, so one running maximum of the latter (``reach``) serves every
    group at once: a row starts a new range when its ``lo`` is past the reach
    of the rows before it plus one. A range ends where the next one starts,
    so its ``hi`` is the reach just before the next start (the overall maximum
    for the last range).
    """
    spans = spans.with_columns(_b=pl.col("hi").max() - pl.col("lo").min() + 3)
    if len(keys) == 1 and spans.collect_schema()[keys[0]].is_integer():
        group = pl.col(keys[0]).cast(pl.Int64)
        ordered = spans.with_columns(_g=group).sort(pl.col("_g") * pl.col("_b") + pl.col("lo"))
    else:
        changed = pl.any_horizontal(pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys)
        ordered = spans.sort([*keys, "lo"]).with_columns(_g=changed.cum_sum().cast(pl.Int64))
    base = pl.col("_g") * pl.col("_b")
    running = ordered.with_columns(_c=(base + pl.col("hi")).cum_max())
    running = running.with_columns(_r=pl.col("_c").shift(1), _last=pl.col("_c").max())
    starts = running.filter(pl.col("_r").is_null() | (base + pl.col("lo") > pl.col("_r") + 1))
    return starts.select(
        *keys,
        "lo",
        hi=pl.col("_r").shift(-1).fill_null(pl.col("_last")) - base,
    )


def build(
    defs: Definitions,
    run: Any,
    tables: Mapping[str, TableLike] | None,
    request: Request,
) -> tuple[Plan, pl.LazyFrame, list[pl.LazyFrame]]:
    """The plan of a request and its two lazy outputs (result rows, row counts per model)."""
    data = load_run(run)
    bound = bind_tables(defs.tables, tables, data)
    plan = Plan(defs, data, bound, request)
    out, stats = plan.result()
    return plan, out, stats


def unresolved_frame(stats: list[pl.DataFrame]) -> pl.DataFrame:
    """Row counts per semantic model: rows, unresolved, ambiguous, no time."""
    if not stats:
        return pl.DataFrame(schema=_UNRESOLVED_SCHEMA)
    return pl.concat(stats).cast(_UNRESOLVED_SCHEMA)  # type: ignore[arg-type]
