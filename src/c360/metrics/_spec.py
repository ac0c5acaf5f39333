"""Metric definitions: semantic models, measures and metrics, loaded and checked.

A definitions file (YAML or TOML) holds ``semantic_models`` (a table, how its
rows join to customers, its time column, dimensions and measures) and
``metrics`` (each with a type, a semver ``version``, an ``owner`` and a
``description``). Everything that can be checked without data is checked on
load; columns are checked against the tables when they are bound.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from c360.exceptions import MetricError
from c360.metrics._expr import Filter, Formula, parse_filter, parse_formula

__all__ = [
    "AGGREGATIONS",
    "GRAINS",
    "LIFECYCLE_TYPES",
    "METRIC_TYPES",
    "Activity",
    "Definitions",
    "Duration",
    "Join",
    "Measure",
    "Metric",
    "MetricRef",
    "SemanticModel",
    "load_definitions",
]

GRAINS = ("day", "week", "month", "quarter", "year")
AGGREGATIONS = (
    "count",
    "count_distinct",
    "sum",
    "average",
    "min",
    "max",
    "median",
    "percentile",
)
LIFECYCLE_TYPES = ("active", "new", "churned", "retained", "cohort_retention")
METRIC_TYPES = ("simple", "ratio", "derived", "cumulative", *LIFECYCLE_TYPES)
IDENTIFIERS = ("email", "phone", "national_id")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ZERO_FILLED = ("count", "count_distinct", "sum")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_UNITS = {
    "d": "day",
    "day": "day",
    "days": "day",
    "w": "week",
    "week": "week",
    "weeks": "week",
    "mo": "month",
    "month": "month",
    "months": "month",
    "q": "quarter",
    "quarter": "quarter",
    "quarters": "quarter",
    "y": "year",
    "year": "year",
    "years": "year",
    "period": "period",
    "periods": "period",
}
_POLARS_UNIT = {"day": "d", "week": "w", "month": "mo", "quarter": "q", "year": "y"}


@dataclass(frozen=True)
class Duration:
    """A calendar length: ``30 days``, ``1 month``, ``1 period`` (one period of the grain).

    Examples:
        >>> Duration.parse("30 days"), Duration.parse("1q").offset("month")
        (Duration(n=30, unit='day'), '3mo')
    """

    n: int
    unit: str

    @classmethod
    def parse(cls, text: object) -> Duration:
        """Read ``"30 days"``, ``"30d"``, ``"2 weeks"``, ``"1 month"``, ``"1 period"``."""
        m = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", str(text).lower())
        if not m or m.group(2) not in _UNITS or int(m.group(1)) < 1:
            raise ValueError(
                f"{text!r} is not a duration: write a positive count and one of "
                "days, weeks, months, quarters, years, periods (e.g. '30 days')"
            )
        return cls(int(m.group(1)), _UNITS[m.group(2)])

    def add_to(self, expr: Any, grain: str) -> Any:
        """``expr`` (a polars timestamp expression) moved later by this duration.

        Days and weeks are fixed lengths (plain addition, fast); months,
        quarters, years and periods are calendar moves (``dt.offset_by``).
        """
        import polars as pl

        if self.unit in ("day", "week"):
            return expr + pl.duration(days=self.n * (7 if self.unit == "week" else 1))
        return expr.dt.offset_by(self.offset(grain))

    def offset(self, grain: str) -> str:
        """The polars offset string; ``period`` counts periods of ``grain``."""
        if self.unit == "period":
            if grain == "quarter":
                return f"{3 * self.n}mo"
            return f"{self.n}{_POLARS_UNIT[grain]}"
        if self.unit == "quarter":
            return f"{3 * self.n}mo"
        return f"{self.n}{_POLARS_UNIT[self.unit]}"

    def __str__(self) -> str:
        return f"{self.n} {self.unit}{'s' if self.n != 1 else ''}"


@dataclass(frozen=True)
class Join:
    """How a table's rows find their customer.

    ``record``: by ``(source, record_id)`` against the run's unified IDs, the
    source being a fixed name (``source``) or a column (``source_column``).
    ``identifier``: by a canonical identifier (``email``, ``phone``,
    ``national_id``) in ``column``, standardised like c360 standardises it and
    matched against every record of every customer. ``customer_id``: the table
    already holds customer IDs in ``column``.
    """

    kind: Literal["record", "identifier", "customer_id"]
    record_id: str | None = None
    source: str | None = None
    source_column: str | None = None
    identifier: str | None = None
    column: str | None = None
    ambiguous: Literal["error", "unresolved"] = "error"

    def columns(self) -> list[str]:
        """The table columns the join reads."""
        return [c for c in (self.record_id, self.source_column, self.column) if c is not None]


@dataclass(frozen=True)
class NonAdditive:
    """A semi-additive measure: keep the rows at the first or last time in each period."""

    window_choice: Literal["min", "max"] = "max"
    window_groupings: tuple[str, ...] = ("customer_id",)


@dataclass(frozen=True)
class Measure:
    """An aggregation over a semantic model's rows."""

    name: str
    model: str
    agg: str
    expr: str | None = None
    percentile: float | None = None
    non_additive: NonAdditive | None = None
    description: str = ""


@dataclass(frozen=True)
class SemanticModel:
    """A table of rows about customers: join, time, dimensions, measures."""

    name: str
    table: str
    join: Join
    time: str | None = None
    end_time: str | None = None
    known_at: str | None = None
    dimensions: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    filter: Filter | None = None
    description: str = ""

    def columns(self) -> set[str]:
        """Every table column the model itself reads (measures add theirs)."""
        cols = set(self.join.columns()) | set(self.dimensions)
        cols |= {c for c in (self.time, self.end_time, self.known_at) if c}
        if self.filter is not None:
            cols |= self.filter.columns
        return cols


@dataclass(frozen=True)
class MetricRef:
    """An input of a ratio or derived metric, with its own filter and time offset."""

    name: str
    alias: str
    filter: Filter | None = None
    offset: Duration | None = None


@dataclass(frozen=True)
class Activity:
    """What makes a customer active, for the lifecycle metrics.

    Rows of ``model``: with an ``end_time`` the model holds states (a customer
    is active at *t* when a row has ``time <= t < end_time``, an empty end being
    open); otherwise events (active at *t* when an event falls in
    ``[t - window, t)``; the default window is one period of the grain).
    """

    model: str
    window: Duration | None = None
    filter: Filter | None = None


@dataclass(frozen=True)
class Metric:
    """One metric definition. Its type decides which of the parameters apply."""

    name: str
    type: str
    version: str
    description: str = ""
    owner: str = ""
    label: str = ""
    filter: Filter | None = None
    fill_nulls_with: float | None = None
    measure: str | None = None
    window: Duration | None = None
    grain_to_date: str | None = None
    numerator: MetricRef | None = None
    denominator: MetricRef | None = None
    formula: Formula | None = None
    inputs: tuple[MetricRef, ...] = ()
    activity: Activity | None = None

    def depends_on(self) -> list[str]:
        """Metrics this one reads: inputs, and metrics used in its filters."""
        names = [r.name for r in (self.numerator, self.denominator, *self.inputs) if r]
        filters = [
            self.filter,
            *(r.filter for r in (self.numerator, self.denominator, *self.inputs) if r),
        ]
        if self.activity is not None:
            filters.append(self.activity.filter)
        for f in filters:
            if f is not None:
                names += list(f.metrics)
        return list(dict.fromkeys(names))


def _meta(m: Metric) -> dict[str, Any]:
    return {"version": m.version, "description": m.description, "owner": m.owner, "label": m.label}


@dataclass(frozen=True)
class Definitions:
    """A loaded, checked set of metric definitions.

    Attributes:
        semantic_models: by name.
        measures: by name (measure names are unique across models).
        metrics: by name, in file order.
        time_zone: the zone periods are cut in (timestamps with a zone are
            converted to it; timestamps without one are taken to be in it).
        week_start: the first day of a week, for the ``week`` grain.
        default_grain: the grain when a request names none.
        tables: table name -> file declared in the definitions file.
        path: the file the definitions came from, if any.
    """

    semantic_models: Mapping[str, SemanticModel]
    measures: Mapping[str, Measure]
    metrics: Mapping[str, Metric]
    time_zone: str = "UTC"
    week_start: str = "monday"
    default_grain: str = "month"
    tables: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None

    def metric(self, name: str) -> Metric:
        """The metric called ``name``; a clear error naming the known ones otherwise."""
        try:
            return self.metrics[name]
        except KeyError:
            raise MetricError(
                f"no metric called {name!r}; defined: {', '.join(self.metrics) or '(none)'}",
                path=self.path,
            ) from None

    def model_of(self, metric: Metric) -> SemanticModel | None:
        """The semantic model a simple, cumulative or lifecycle metric reads."""
        if metric.measure is not None:
            return self.semantic_models[self.measures[metric.measure].model]
        if metric.activity is not None:
            return self.semantic_models[metric.activity.model]
        return None

    def closure(self, name: str) -> dict[str, Any]:
        """Everything that decides the values of metric ``name``, as plain data.

        The metric's own value fields, the semantic model and measure it reads,
        its inputs' closures, and the time settings. Description, owner, label
        and version are left out: they do not change a value.
        """
        m = self.metric(name)
        out: dict[str, Any] = {"time_zone": self.time_zone, "week_start": self.week_start}
        out["metric"] = {
            k: v
            for k, v in _plain(m).items()
            if k not in ("name", "description", "owner", "label", "version")
        }
        model = self.model_of(m)
        if model is not None:
            out["model"] = {
                k: v
                for k, v in _plain(model).items()
                if k not in ("name", "description", "dimensions", "measures")
            }
        if m.measure is not None:
            out["measure"] = {
                k: v
                for k, v in _plain(self.measures[m.measure]).items()
                if k not in ("name", "model", "description")
            }
        deps = m.depends_on()
        if deps:
            out["inputs"] = {d: self.closure(d) for d in deps}
        return out

    def definition_hash(self, name: str) -> str:
        """A short stable hash of `closure`: equal hashes compute equal values."""
        text = json.dumps(self.closure(name), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def meta(self, name: str) -> dict[str, Any]:
        """The metric's version, description, owner and label."""
        return _meta(self.metric(name))


def _plain(obj: Any) -> Any:
    """Dataclasses, filters and durations as JSON-ready data."""
    if isinstance(obj, Filter | Formula):
        return obj.text
    if isinstance(obj, Duration):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    return obj


# ---------------------------------------------------------------- loading


def load_definitions(source: str | Path | Mapping[str, Any]) -> Definitions:
    """Load and check metric definitions from a YAML/TOML file or a mapping.

    Raises:
        MetricError: the file cannot be read, or a definition is invalid;
            the message names the metric (or semantic model) and the field.
    """
    path: str | None = None
    base: Path | None = None
    if isinstance(source, str | Path):
        p = Path(source)
        path, base = str(p), p.parent
        try:
            text = p.read_text(encoding="utf-8")
            data = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
        except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise MetricError(f"cannot read metric definitions: {exc}", path=path) from None
    else:
        data = source
    if not isinstance(data, Mapping):
        raise MetricError("metric definitions must be a mapping with 'metrics'", path=path)
    try:
        return _build(data, path, base)
    except MetricError as exc:
        if exc.path is None and path is not None:
            exc.with_context(path=path)
        raise


def _err(kind: str, name: str, fld: str, message: str) -> MetricError:
    return MetricError(message, metric=name, field=fld, kind=kind)


def _known(kind: str, name: str, data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _err(kind, name, unknown[0], f"unknown field; allowed: {', '.join(allowed)}")


def _str(kind: str, name: str, data: Mapping[str, Any], key: str, required: bool = False) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise _err(kind, name, key, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _err(kind, name, key, f"must be a non-empty string, found {value!r}")
    return value.strip()


def _filter(kind: str, name: str, fld: str, text: Any) -> Filter | None:
    if text is None:
        return None
    try:
        return parse_filter(text)
    except ValueError as exc:
        raise _err(kind, name, fld, str(exc)) from None


def _duration(kind: str, name: str, fld: str, text: Any) -> Duration | None:
    if text is None:
        return None
    try:
        return Duration.parse(text)
    except ValueError as exc:
        raise _err(kind, name, fld, str(exc)) from None


def _build(data: Mapping[str, Any], path: str | None, base: Path | None) -> Definitions:
    top = (
        "semantic_models",
        "metrics",
        "time_zone",
        "week_start",
        "default_grain",
        "tables",
        "owner",
    )
    _known("definitions", path or "<mapping>", data, top)
    zone = str(data.get("time_zone", "UTC"))
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise MetricError(f"time_zone {zone!r} is not an IANA time zone", path=path) from None
    week_start = str(data.get("week_start", "monday")).lower()
    if week_start not in WEEKDAYS:
        raise MetricError(f"week_start must be a weekday name, found {week_start!r}", path=path)
    grain = str(data.get("default_grain", "month"))
    if grain not in GRAINS:
        raise MetricError(f"default_grain must be one of {', '.join(GRAINS)}", path=path)
    tables = {}
    for tname, loc in dict(data.get("tables") or {}).items():
        loc = str(loc)
        if base is not None and "://" not in loc and not Path(loc).is_absolute():
            loc = str(base / loc)
        tables[str(tname)] = loc

    models: dict[str, SemanticModel] = {}
    measures: dict[str, Measure] = {}
    for raw in _list(data, "semantic_models", path):
        model, model_measures = _model(raw)
        if model.name in models:
            raise _err("semantic model", model.name, "name", "defined twice")
        models[model.name] = model
        for meas in model_measures:
            if meas.name in measures:
                raise _err(
                    "semantic model",
                    model.name,
                    f"measures.{meas.name}",
                    f"measure name already used in model {measures[meas.name].model!r}; "
                    "measure names are unique across models",
                )
            measures[meas.name] = meas

    default_owner = str(data.get("owner") or "")
    metrics: dict[str, Metric] = {}
    for raw in _list(data, "metrics", path):
        m = _metric(raw, default_owner)
        if m.name in metrics:
            raise _err("metric", m.name, "name", "defined twice")
        metrics[m.name] = m
    if not metrics:
        raise MetricError("no metrics defined", path=path)
    defs = Definitions(models, measures, metrics, zone, week_start, grain, tables, path)
    for m in metrics.values():
        _check_refs(defs, m)
    _check_cycles(defs)
    return defs


def _list(data: Mapping[str, Any], key: str, path: str | None) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if isinstance(value, Mapping):  # TOML-style tables keyed by name
        value = [{"name": k, **v} for k, v in value.items()]
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise MetricError(f"{key} must be a list of mappings", path=path)
    return value


def _model(raw: Mapping[str, Any]) -> tuple[SemanticModel, list[Measure]]:
    kind = "semantic model"
    name = _str(kind, "?", raw, "name", required=True)
    allowed = (
        "name",
        "table",
        "join",
        "time",
        "end_time",
        "known_at",
        "dimensions",
        "measures",
        "filter",
        "description",
    )
    _known(kind, name, raw, allowed)
    table = _str(kind, name, raw, "table") or name
    join = _join(name, raw.get("join"))
    dims = raw.get("dimensions") or []
    if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
        raise _err(kind, name, "dimensions", "must be a list of column names")
    time = _str(kind, name, raw, "time")
    end_time = _str(kind, name, raw, "end_time")
    if end_time and not time:
        raise _err(kind, name, "end_time", "a model with end_time needs a time (its start)")
    meas = [_measure(name, m) for m in raw.get("measures") or []]
    model = SemanticModel(
        name=name,
        table=table,
        join=join,
        time=time,
        end_time=end_time,
        known_at=_str(kind, name, raw, "known_at"),
        dimensions=tuple(dims),
        measures=tuple(m.name for m in meas),
        filter=_filter(kind, name, "filter", raw.get("filter")),
        description=str(raw.get("description") or ""),
    )
    return model, meas


def _join(model: str, raw: Any) -> Join:
    kind = "semantic model"
    if raw is None:
        raise _err(
            kind,
            model,
            "join",
            "is required: {source: NAME, record_id: COLUMN}, "
            "{identifier: email, column: COLUMN} or {customer_id: COLUMN}",
        )
    if not isinstance(raw, Mapping):
        raise _err(kind, model, "join", "must be a mapping")
    allowed = (
        "source",
        "source_column",
        "record_id",
        "identifier",
        "column",
        "customer_id",
        "ambiguous",
    )
    _known(kind, model, {f"join.{k}": v for k, v in raw.items()}, [f"join.{a}" for a in allowed])
    ambiguous = raw.get("ambiguous", "error")
    if ambiguous not in ("error", "unresolved"):
        raise _err(kind, model, "join.ambiguous", "must be 'error' or 'unresolved'")
    if "record_id" in raw:
        if bool(raw.get("source")) == bool(raw.get("source_column")):
            raise _err(
                kind,
                model,
                "join.source",
                "a record join names the source (source: crm) or the column holding it "
                "(source_column: COLUMN), one of the two",
            )
        return Join(
            "record",
            record_id=str(raw["record_id"]),
            source=raw.get("source"),
            source_column=raw.get("source_column"),
        )
    if "identifier" in raw:
        if raw["identifier"] not in IDENTIFIERS:
            raise _err(kind, model, "join.identifier", f"must be one of {', '.join(IDENTIFIERS)}")
        if not raw.get("column"):
            raise _err(kind, model, "join.column", "an identifier join names its column")
        return Join(
            "identifier",
            identifier=raw["identifier"],
            column=str(raw["column"]),
            ambiguous=ambiguous,
        )
    if "customer_id" in raw:
        return Join("customer_id", column=str(raw["customer_id"]))
    raise _err(kind, model, "join", "needs record_id, identifier or customer_id")


def _measure(model: str, raw: Any) -> Measure:
    kind = "semantic model"
    if not isinstance(raw, Mapping):
        raise _err(kind, model, "measures", "each measure is a mapping")
    name = _str(kind, model, raw, "name", required=True)
    fld = f"measures.{name}"
    allowed = ("name", "agg", "expr", "percentile", "non_additive_dimension", "description")
    _known(kind, model, {f"{fld}.{k}": v for k, v in raw.items()}, [f"{fld}.{a}" for a in allowed])
    agg = raw.get("agg")
    if agg not in AGGREGATIONS:
        raise _err(kind, model, f"{fld}.agg", f"must be one of {', '.join(AGGREGATIONS)}")
    expr = raw.get("expr")
    if agg not in ("count", "count_distinct") and not expr:
        raise _err(kind, model, f"{fld}.expr", f"a {agg} measure names the column it aggregates")
    pct = raw.get("percentile")
    if agg == "percentile":
        if not isinstance(pct, int | float) or not 0 < pct < 1:
            raise _err(kind, model, f"{fld}.percentile", "must be a number between 0 and 1")
    elif pct is not None:
        raise _err(kind, model, f"{fld}.percentile", "applies to agg: percentile only")
    nad = raw.get("non_additive_dimension")
    non_additive = None
    if nad is not None:
        if not isinstance(nad, Mapping):
            raise _err(kind, model, f"{fld}.non_additive_dimension", "must be a mapping")
        choice = nad.get("window_choice", "max")
        if choice not in ("min", "max"):
            raise _err(kind, model, f"{fld}.non_additive_dimension.window_choice", "min or max")
        groupings = nad.get("window_groupings", ["customer_id"])
        if not isinstance(groupings, list):
            raise _err(kind, model, f"{fld}.non_additive_dimension.window_groupings", "a list")
        non_additive = NonAdditive(choice, tuple(str(g) for g in groupings))
    return Measure(
        name=name,
        model=model,
        agg=agg,
        expr=str(expr) if expr else None,
        percentile=float(pct) if pct is not None else None,
        non_additive=non_additive,
        description=str(raw.get("description") or ""),
    )


_TYPE_FIELDS = {
    "simple": ("measure",),
    "cumulative": ("measure", "window", "grain_to_date"),
    "ratio": ("numerator", "denominator"),
    "derived": ("expr", "metrics"),
    **dict.fromkeys(LIFECYCLE_TYPES, ("activity",)),
}
_COMMON = ("name", "type", "version", "description", "owner", "label", "filter", "fill_nulls_with")


def _metric(raw: Mapping[str, Any], default_owner: str) -> Metric:
    kind = "metric"
    name = _str(kind, "?", raw, "name", required=True)
    mtype = raw.get("type")
    if mtype not in METRIC_TYPES:
        raise _err(kind, name, "type", f"must be one of {', '.join(METRIC_TYPES)}")
    params = dict(raw.get("type_params") or {})  # MetricFlow's nesting is accepted too
    flat = {k: v for k, v in raw.items() if k != "type_params"} | params
    _known(kind, name, flat, (*_COMMON, *_TYPE_FIELDS[mtype]))
    version = str(flat.get("version") or "")
    if not _SEMVER.match(version):
        raise _err(
            kind,
            name,
            "version",
            f"must be a semantic version like 1.0.0, found {flat.get('version')!r}",
        )
    fill = flat.get("fill_nulls_with", "default")
    if fill != "default" and fill is not None and not isinstance(fill, int | float):
        raise _err(kind, name, "fill_nulls_with", "must be a number or null")
    kwargs: dict[str, Any] = {}
    if mtype in ("simple", "cumulative"):
        kwargs["measure"] = _str(kind, name, flat, "measure", required=True)
    if mtype == "cumulative":
        kwargs["window"] = _duration(kind, name, "window", flat.get("window"))
        gtd = flat.get("grain_to_date")
        if gtd is not None and gtd not in GRAINS:
            raise _err(kind, name, "grain_to_date", f"must be one of {', '.join(GRAINS)}")
        if gtd is not None and kwargs["window"] is not None:
            raise _err(
                kind,
                name,
                "grain_to_date",
                "a cumulative metric has a window or a grain_to_date, not both",
            )
        if kwargs["window"] is not None and kwargs["window"].unit == "period":
            raise _err(
                kind, name, "window", "a cumulative window is a calendar length, not periods"
            )
        kwargs["grain_to_date"] = gtd
    if mtype == "ratio":
        kwargs["numerator"] = _ref(name, "numerator", flat.get("numerator"))
        kwargs["denominator"] = _ref(name, "denominator", flat.get("denominator"))
    if mtype == "derived":
        try:
            kwargs["formula"] = parse_formula(flat.get("expr"))  # type: ignore[arg-type]
        except ValueError as exc:
            raise _err(kind, name, "expr", str(exc)) from None
        inputs = flat.get("metrics")
        if not isinstance(inputs, list) or not inputs:
            raise _err(kind, name, "metrics", "a derived metric lists its input metrics")
        refs = tuple(_ref(name, f"metrics[{i}]", r) for i, r in enumerate(inputs))
        aliases = [r.alias for r in refs]
        if len(set(aliases)) != len(aliases):
            raise _err(kind, name, "metrics", "two inputs have the same alias: give one an alias")
        missing = [n for n in kwargs["formula"].names if n not in aliases]
        if missing:
            raise _err(kind, name, "expr", f"{missing[0]!r} is not one of the inputs {aliases}")
        kwargs["inputs"] = refs
    if mtype in LIFECYCLE_TYPES:
        kwargs["activity"] = _activity(name, flat.get("activity"))
    if fill == "default":
        fill = 0.0 if mtype in ("simple", "cumulative", *LIFECYCLE_TYPES[:4]) else None
    return Metric(
        name=name,
        type=mtype,
        version=version,
        description=str(flat.get("description") or ""),
        owner=str(flat.get("owner") or default_owner),
        label=str(flat.get("label") or ""),
        filter=_filter(kind, name, "filter", flat.get("filter")),
        fill_nulls_with=None if fill is None else float(fill),
        **kwargs,
    )


def _ref(metric: str, fld: str, raw: Any) -> MetricRef:
    if isinstance(raw, str):
        return MetricRef(raw, raw)
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise _err("metric", metric, fld, "must be a metric name or a mapping with 'name'")
    allowed = ("name", "alias", "filter", "offset_window")
    _known(
        "metric", metric, {f"{fld}.{k}": v for k, v in raw.items()}, [f"{fld}.{a}" for a in allowed]
    )
    name = str(raw["name"])
    return MetricRef(
        name=name,
        alias=str(raw.get("alias") or name),
        filter=_filter("metric", metric, f"{fld}.filter", raw.get("filter")),
        offset=_duration("metric", metric, f"{fld}.offset_window", raw.get("offset_window")),
    )


def _activity(metric: str, raw: Any) -> Activity:
    if isinstance(raw, str):
        raw = {"model": raw}
    if not isinstance(raw, Mapping) or not raw.get("model"):
        raise _err("metric", metric, "activity", "needs the semantic model: {model: NAME}")
    allowed = ("model", "window", "filter")
    _known(
        "metric",
        metric,
        {f"activity.{k}": v for k, v in raw.items()},
        [f"activity.{a}" for a in allowed],
    )
    window = _duration("metric", metric, "activity.window", raw.get("window"))
    if window is not None and window.unit == "period":
        window = None if window.n == 1 else window
    return Activity(
        str(raw["model"]), window, _filter("metric", metric, "activity.filter", raw.get("filter"))
    )


def _check_refs(defs: Definitions, m: Metric) -> None:
    if m.measure is not None:
        if m.measure not in defs.measures:
            raise _err(
                "metric",
                m.name,
                "measure",
                f"no measure called {m.measure!r}; defined: {', '.join(defs.measures) or '(none)'}",
            )
        meas = defs.measures[m.measure]
        model = defs.semantic_models[meas.model]
        if not model.time:
            raise _err(
                "metric",
                m.name,
                "measure",
                f"semantic model {model.name!r} has no time column: metrics are per period",
            )
        if m.type == "cumulative":
            if not model.time:
                raise _err(
                    "metric",
                    m.name,
                    "window" if m.window else "type",
                    f"a cumulative metric needs a time column; "
                    f"semantic model {model.name!r} has none",
                )
            if meas.non_additive is not None:
                raise _err(
                    "metric",
                    m.name,
                    "measure",
                    f"measure {meas.name!r} is semi-additive (non_additive_dimension): "
                    "it cannot be accumulated over a window",
                )
    if m.activity is not None:
        found = defs.semantic_models.get(m.activity.model)
        if found is None:
            raise _err(
                "metric",
                m.name,
                "activity.model",
                f"no semantic model called {m.activity.model!r}; defined: "
                f"{', '.join(defs.semantic_models) or '(none)'}",
            )
        model = found
        if not model.time:
            raise _err(
                "metric",
                m.name,
                "activity.window" if m.activity.window else "activity.model",
                f"semantic model {model.name!r} has no time column: activity needs one",
            )
        if model.end_time and m.activity.window is not None:
            raise _err(
                "metric",
                m.name,
                "activity.window",
                f"semantic model {model.name!r} holds states (end_time): "
                "a window applies to events",
            )
    for fld, dep in [
        *(("numerator", m.numerator),),
        *(("denominator", m.denominator),),
        *((f"metrics[{i}]", r) for i, r in enumerate(m.inputs)),
    ]:
        if dep is not None and dep.name not in defs.metrics:
            raise _err("metric", m.name, fld, f"no metric called {dep.name!r}")
    for f in [m.filter, m.activity.filter if m.activity else None]:
        for dep_name in f.metrics if f else ():
            if dep_name not in defs.metrics:
                raise _err("metric", m.name, "filter", f"metric({dep_name}): no such metric")


def _check_cycles(defs: Definitions) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*trail[trail.index(name) :], name])
            raise _err(
                "metric", name, "metrics", f"metrics depend on each other in a cycle: {cycle}"
            )
        state[name] = 1
        for dep in defs.metrics[name].depends_on():
            visit(dep, [*trail, name])
        state[name] = 2

    for name in defs.metrics:
        visit(name, [])
