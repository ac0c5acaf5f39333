"""``c360.resolve``: the stages wired together.

The pipeline owns no logic of its own: it loads and validates each source,
gives every accepted record an integer key, standardises, detects junk values,
chooses blocking and comparisons when not configured, generates and compares
pairs in chunks, trains the model, scores, clusters and assigns customer IDs.
Each stage reports rows in and out and its duration in ``Resolution.metrics``.

Examples:
    >>> import polars as pl
    >>> import c360
    >>> crm = pl.DataFrame({"record_id": ["1", "2"], "first_name": ["Ann", "Bob"],
    ...                     "last_name": ["Lee", "Ray"], "email": ["ann@x.io", "bob@y.io"]})
    >>> shop = pl.DataFrame({"record_id": ["a"], "first_name": ["Anne"],
    ...                      "last_name": ["Lee"], "email": ["ANN@x.io"]})
    >>> res = c360.resolve({"crm": crm, "shop": shop})
    >>> res.unified_ids.num_rows, res.customers
    (3, 2)
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from c360._canonical import QUARANTINE_SCHEMA, RID, empty_quarantine
from c360._coherence import CoherenceResult, cluster_estimates, cohere
from c360._encode import Encoded
from c360._events import emit
from c360._memory import release_free_memory
from c360._progress import progress, resolve_progress
from c360.autoconfig import auto_blocking, auto_comparisons, present_columns
from c360.blocking import generate_pairs, rule_keys, skipped_blocks
from c360.cluster import ClusterConfig, cluster_links
from c360.comparisons import Comparison, PairData, compare
from c360.config import ResolveConfig
from c360.exceptions import ConfigError, StateError
from c360.ids import assign_stable_ids
from c360.model import FellegiSunterModel, levels_matrix, train
from c360.rules import detect_junk, null_junk
from c360.sources import Loaded, Source, load

__all__ = ["Prepared", "Resolution", "estimate_quality", "prepare", "resolve", "source_summary"]

#: Derived columns to clear when their base value is junk.
_DERIVED = {
    "email": ("email_user", "email_domain"),
    "address_line1": ("address_number",),
    "phone": (),  # phone_digits is judged on its own (invalid numbers have no phone)
    "national_id": (),
    "postcode": (),
}


SOURCE_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "owner": pl.String(),
    "description": pl.String(),
    "freshness_sla_seconds": pl.Float64(),
    "location": pl.String(),
    "contract": pl.String(),
    "rows_read": pl.Int64(),
    "rows_valid": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "oldest_event": pl.Datetime("us"),
    "newest_event": pl.Datetime("us"),
    "read_seconds": pl.Float64(),
    "schema_notices": pl.Int64(),
}


@dataclass(slots=True, kw_only=True)
class Resolution:
    """The result of [`resolve`][resolve]. Tables are ``pyarrow.Table``.

    Attributes:
        unified_ids: ``source, record_id, customer_id``, one row per accepted record.
        links: accepted links with weight, probability, rule and comparison levels.
        quarantine: rejected input rows with reasons.
        id_changes: how customer IDs changed against the previous run
            (``customer_id, change, other_customer_id, run_id``); empty without one.
        run_id: this run's identifier.
        started_at: when [`resolve`][resolve] started (UTC).
        finished_at: when it finished (UTC).
        config: the effective configuration (data-driven choices filled in).
        model: the trained model.
        junk: junk values found and ignored for matching.
        refused_links: links the clustering guard or the coherence step refused
            (the latter: their groups weigh against being one person), with reasons.
        metrics: per-stage figures (rows in/out, seconds).
        notices: schema-change notices from the contracts.
        candidate_pairs: number of candidate pairs scored.
        sources: one row per source: owner, SLA, rows read/valid/quarantined,
            event-time range (see ``source_summary``).
        records: the accepted records as loaded (canonical columns plus kept
            extras, ``_rid`` in customer order), for golden profiles and lineage.
        matching: the standardised matching frame aligned with ``records``;
            written to ``state/`` so that later batches can be resolved
            incrementally against this run (see [`c360.incremental`][c360.incremental]).
        weight_histogram: match weights of *all* candidate pairs in 1-bit
            bins (``bin``: lower edge, ``pairs``); a clear gap between two
            modes is a healthy sign.
        near_misses: candidate pairs whose match probability lies between
            0.05 and 0.95 (closest to the threshold first, at most 1,000), for
            review; same columns as ``links``.
        estimates: precision and recall estimated without labels from the
            posterior match probabilities of all candidate pairs (see
            ``estimate_quality``).
    """

    unified_ids: pa.Table
    links: pa.Table
    quarantine: pa.Table
    id_changes: pa.Table
    run_id: str
    config: ResolveConfig
    model: FellegiSunterModel
    junk: pa.Table
    refused_links: pa.Table
    metrics: list[dict[str, Any]] = field(default_factory=list)
    notices: list[Any] = field(default_factory=list)
    candidate_pairs: int = 0
    sources: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=SOURCE_SUMMARY_SCHEMA)
    )
    records: pl.DataFrame | None = field(default=None, repr=False)
    matching: pl.DataFrame | None = field(default=None, repr=False)
    weight_histogram: pl.DataFrame = field(default_factory=pl.DataFrame)
    near_misses: pa.Table | None = None
    estimates: dict[str, float] = field(default_factory=dict)
    profiles: pa.Table | None = None
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None

    @property
    def customers(self) -> int:
        """Number of distinct customers."""
        return len(set(self.unified_ids.column("customer_id").to_pylist()))

    def cluster_sizes(self) -> pl.DataFrame:
        """Number of customers per cluster size."""
        ids = pl.from_arrow(self.unified_ids)
        assert isinstance(ids, pl.DataFrame)
        return (
            ids.group_by("customer_id").len("size").group_by("size").len("customers").sort("size")
        )

    def summary(self) -> str:
        """A short plain-text summary."""
        n = self.unified_ids.num_rows
        q = self.quarantine.num_rows
        lines = [
            f"records in:        {n + q:,}",
            f"accepted:          {n:,}",
            f"quarantined:       {q:,}",
            f"customers:         {self.customers:,}",
            f"duplicates merged: {n - self.customers:,}",
            f"candidate pairs:   {self.candidate_pairs:,}",
            f"links accepted:    {self.links.num_rows:,}",
        ]
        if self.junk.num_rows:
            lines.append(f"junk values:       {self.junk.num_rows:,} (ignored for matching)")
        for w in self.model.warnings:
            lines.append(f"model warning:     {w}")
        return "\n".join(lines)

    def write(
        self, out_dir: str | Path, *, report: bool = True, previous: str | Path | None = None
    ) -> list[Path]:
        """Write the outputs into ``out_dir``, atomically.

        Everything is first written to a new sibling directory, which then
        replaces ``out_dir`` by renames: a crash mid-write leaves the previous
        output intact (at worst as ``<out_dir>.previous-<run>`` beside it).
        Files: ``unified_ids``, ``links``, ``profiles``, ``quarantine``,
        ``id_changes`` (Parquet), ``model.json``, ``config.toml``, the state
        for incremental runs (``state/matching.parquet``: standardised records
        and their customer IDs; ``state/records.parquet``: the accepted records
        as loaded, for golden profiles; ``state/junk.parquet``: the junk
        values ignored for matching) and, with ``report``, ``report.json``,
        ``report.html`` and ``report_tables/``. ``previous`` (an earlier output
        directory) lets the report flag row-count drops against it.
        """
        import shutil

        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.writing-{self.run_id}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            names = self._write_files(tmp, report=report, previous=previous)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        replace_dir(tmp, out, self.run_id)
        return [out / n for n in names]

    def _write_files(self, tmp: Path, *, report: bool, previous: str | Path | None) -> list[str]:
        """Write every output file into ``tmp``; return their paths relative to it."""
        from c360._frames import write_parquet_files

        release_free_memory()  # what resolving freed, before the report's tables
        jobs: list[tuple[pa.Table | pl.DataFrame, Path]] = []
        names = []
        for name in OUTPUT_TABLES:
            table = getattr(self, name, None)
            if table is None:
                continue
            jobs.append((table, tmp / f"{name}.parquet"))
            names.append(f"{name}.parquet")
        names += [f.name for f in self.model.save(tmp / "model.json")]
        self.config.save(tmp / "config.toml")
        names.append("config.toml")
        if report:
            from c360.report import write_report

            names += [
                str(p.relative_to(tmp))
                for p in write_report(
                    self,
                    tmp,
                    run_id=self.run_id,
                    previous=previous,
                    started_at=self.started_at,
                    finished_at=self.finished_at,
                )
            ]
        if self.matching is not None:
            (tmp / "state").mkdir()
            keep = [c for c in self.matching.columns if c not in ("_row", "_issues")]
            matching = self.matching.select(keep).with_columns(
                customer_id=pl.Series(
                    "customer_id", self.unified_ids.column("customer_id"), dtype=pl.String
                )
            )
            jobs += [
                (matching, tmp / "state" / "matching.parquet"),
                (self.junk, tmp / "state" / "junk.parquet"),
            ]
            names += ["state/matching.parquet", "state/junk.parquet"]
            if self.records is not None:
                raw = self.records.select(c for c in self.records.columns if not c.startswith("_"))
                jobs.append((raw, tmp / "state" / "records.parquet"))
                names.append("state/records.parquet")
        write_parquet_files(jobs)
        return names


def replace_dir(new: Path, out: Path, tag: str) -> None:
    """Put directory ``new`` in the place of ``out`` by renames.

    ``out`` is first renamed to ``<out>.previous-<tag>`` and removed once
    ``new`` is in place: a crash leaves either the old directory or the new one
    (at worst the old one beside it under that name), never a mix.
    """
    import shutil

    backup = out.with_name(f"{out.name}.previous-{tag}")
    if out.exists():
        out.rename(backup)
    new.rename(out)
    if backup.exists():
        shutil.rmtree(backup)


#: Tables written by [`Resolution.write`][Resolution.write], in order.
OUTPUT_TABLES = ("unified_ids", "links", "profiles", "quarantine", "id_changes")


class _Metrics:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str, rows_in: int) -> Iterator[dict[str, Any]]:
        entry: dict[str, Any] = {"stage": name, "rows_in": rows_in, "rows_out": None}
        start = time.perf_counter()
        try:
            yield entry
        finally:
            release_free_memory()
            entry["seconds"] = round(time.perf_counter() - start, 4)
            self.rows.append(entry)
            emit(name, **{k: v for k, v in entry.items() if k != "stage"})


def _split_frame(frame: Any, default_name: str) -> list[Source]:
    """A frame with a ``source`` column becomes one Source per distinct value."""
    from c360._frames import to_lazy

    lf = to_lazy(frame, what=default_name)
    if "source" not in lf.collect_schema().names():
        return [Source(name=default_name, data=frame)]
    df = frame if isinstance(frame, pl.DataFrame) else lf.collect()
    if df.get_column("source").null_count():
        raise ConfigError(
            f"{df.get_column('source').null_count()} rows have a null 'source'",
            source=default_name,
            column="source",
            hint="fill the source column, or drop it and pass a mapping of name to frame",
        )
    return [
        Source(name=str(name[0]), data=part.drop("source"))
        for name, part in df.partition_by("source", as_dict=True, maintain_order=True).items()
    ]


def _path_sources(path: str | Path) -> list[Source]:
    """Sources for a file given without a declaration.

    One source named after the file or, when the file has its own ``source``
    column, one source per value in it.
    """
    src = Source(name=Path(path).stem, location=str(path))
    with src.context():
        lazy = src.scan()
        if "source" not in lazy.collect_schema().names():
            return [src]
        raw = lazy.collect()
    return _split_frame(raw, src.name)


def _as_sources(inputs: Any) -> list[Source]:
    if isinstance(inputs, Source):
        return [inputs]
    if isinstance(inputs, Mapping):
        return [
            v if isinstance(v, Source) else Source(name=str(k), data=v) for k, v in inputs.items()
        ]
    if isinstance(inputs, pl.DataFrame | pl.LazyFrame | pa.Table) or type(
        inputs
    ).__module__.startswith("pandas"):
        return _split_frame(inputs, "input0")
    if isinstance(inputs, str | Path):
        return _path_sources(inputs)
    if not isinstance(inputs, Sequence):
        inputs = [inputs]
    out: list[Source] = []
    for i, item in enumerate(inputs):
        if isinstance(item, Source):
            out.append(item)
        elif isinstance(item, str | Path):
            out.extend(_path_sources(item))
        else:
            out.extend(_split_frame(item, f"input{i}"))
    return out


def _load_all(sources: Sequence[Source], cfg: ResolveConfig) -> list[Loaded]:
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"source names must be unique; repeated: {dup}")
    return [load(s, on_schema_change=cfg.on_schema_change) for s in sources]


def _matching_frame(valid: pl.DataFrame, cfg: ResolveConfig) -> pl.DataFrame:
    from c360._frames import engine_for
    from c360.standardize import standardize

    return standardize(valid.lazy(), cfg.standardize).collect(engine=engine_for(valid))


def matching_columns(columns: Sequence[str], cfg: ResolveConfig) -> list[str]:
    """The columns of a matching frame that a run with ``cfg`` reads, in frame order.

    Standardising derives every key it may need (phonetic codes, e-mail
    domains...); once comparisons and blocking are chosen, the rest only
    takes memory through every later stage (a string column costs at least
    16 bytes a row: 16 MB a million records).
    """
    keep = {RID, "source", "record_id"}
    keep.update(c for comp in cfg.comparisons or () for c in comp.columns())
    if cfg.blocking is not None:
        keep.update(k for rule in cfg.blocking.rules for k in rule.keys)
    keep.update(cfg.deterministic or ())
    keep.update(cfg.cluster.cannot_link)
    keep.update(cfg.junk.identifier_columns)
    keep.update(cfg.junk.location_columns)
    return [c for c in columns if c in keep]


def _deterministic_columns(cfg: ResolveConfig, have: set[str]) -> tuple[str, ...]:
    if cfg.deterministic is not None:
        return cfg.deterministic
    return tuple(c for c in ("national_id", "email", "phone") if c in have)


@dataclass(frozen=True, slots=True)
class RuleLabels:
    """The rule that linked each pair, one byte per pair: ``names[code[i]]``.

    Tens of millions of pairs carry one of a handful of rule names; an object
    array of names would take eight bytes a pair and Python-level comparisons.

    Examples:
        >>> r = RuleLabels(np.array([0, 1, 2], dtype=np.uint8), ("", "model", "exact:email"))
        >>> r[np.array([False, True, True])].to_series().to_list()
        ['model', 'exact:email']
    """

    code: npt.NDArray[np.uint8]
    names: tuple[str, ...]

    def __getitem__(self, index: npt.NDArray[Any]) -> RuleLabels:
        return RuleLabels(self.code[index], self.names)

    def to_series(self) -> pl.Series:
        """The names as a polars String series called ``rule``."""
        return pl.Series("rule", self.names, dtype=pl.String).gather(self.code.astype(np.uint32))


def decide_links(
    data: PairData,
    gamma: npt.NDArray[np.int8],
    probability: npt.NDArray[np.float64],
    comparisons: Sequence[Comparison],
    deterministic: Sequence[str],
    threshold: float,
) -> tuple[RuleLabels, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which scored pairs become links, and by which rule.

    A pair agreeing exactly on a ``deterministic`` column is linked with rule
    ``exact:<column>`` (the first such column listed wins) unless it carries
    contradicting evidence; any other pair is linked by the model when its
    probability reaches ``threshold``.

    Returns:
        The rule name per pair (``""`` when not linked; as
        [`RuleLabels`][RuleLabels], one byte per pair), whether a deterministic
        rule linked it, and whether it is linked at all.
    """
    names = ["", "model", *(f"exact:{col}" for col in deterministic)]
    code = np.zeros(gamma.shape[0], dtype=np.uint8)
    if deterministic and gamma.shape[0]:
        contradicted = _contradicted(gamma, comparisons)
        for i, col in reversed(list(enumerate(deterministic))):
            if col not in data.records.columns:
                continue
            cl, cr = data.codes(col)
            code[(cl >= 0) & (cl == cr) & ~contradicted] = i + 2
    by_rule = code >= 2
    by_model = probability >= threshold
    code[by_model & ~by_rule] = 1
    return RuleLabels(code, tuple(names)), by_rule, by_rule | by_model


def _contradicted(
    gamma: npt.NDArray[np.int8], comparisons: Sequence[Comparison]
) -> npt.NDArray[np.bool_]:
    """Pairs with hard contradicting evidence: clearly different name, birth date or national id."""
    out = np.zeros(gamma.shape[0], dtype=bool)
    for k, c in enumerate(comparisons):
        if c.column in ("first_name", "date_of_birth", "national_id"):
            out |= gamma[:, k] == 0
    return out


@dataclass(slots=True, kw_only=True)
class Prepared:
    """Records loaded, validated, keyed and standardised, with the effective configuration.

    Attributes:
        valid: accepted records as loaded (row ``i`` has ``_rid == i``).
        records: the matching frame (standardised, junk nulled), aligned with
            ``valid``: the keys and the columns that comparisons, blocking,
            deterministic rules and guards read (see ``matching_columns``).
        quarantine: rejected rows.
        config: the effective configuration (data-driven choices filled in).
        junk: junk values found.
        notices: schema-change notices.
        sources: one row per source (see ``source_summary``).
    """

    valid: pl.DataFrame
    records: pl.DataFrame
    quarantine: pl.DataFrame
    config: ResolveConfig
    junk: pl.DataFrame
    notices: list[Any]
    metrics: _Metrics
    sources: pl.DataFrame

    def candidate_pairs(self) -> pl.DataFrame:
        """All candidate pairs, keyed by ``source_l, record_id_l, source_r, record_id_r``."""
        assert self.config.blocking is not None
        chunks = list(generate_pairs(self.records, self.config.blocking))
        if not chunks:
            return _attach_keys(
                pl.DataFrame(schema={"_rid_l": pl.Int64, "_rid_r": pl.Int64}),
                self.valid.select("source", "record_id"),
            )
        pairs = pl.concat(chunks).select("_rid_l", "_rid_r")
        return _attach_keys(pairs, self.valid.select("source", "record_id"))


def source_summary(loaded: Sequence[Loaded]) -> pl.DataFrame:
    """One row per source: declaration (owner, SLA), row counts and event-time range.

    Examples:
        >>> df = pl.DataFrame({"record_id": ["a"], "updated_at": ["2026-01-02T03:04:05"]})
        >>> source_summary([load(Source(name="crm", data=df, owner="sales"))]).select(
        ...     "source", "owner", "rows_valid", "newest_event").row(0)
        ('crm', 'sales', 1, datetime.datetime(2026, 1, 2, 3, 4, 5))
    """
    rows = []
    for x in loaded:
        s = x.source
        events = (
            x.valid.select(
                pl.col("updated_at").min().alias("lo"), pl.col("updated_at").max().alias("hi")
            ).row(0)
            if "updated_at" in x.valid.columns and x.valid.height
            else (None, None)
        )
        contract = getattr(getattr(x, "validated", None), "contract", None)
        rows.append(
            {
                "source": s.name,
                "owner": s.owner,
                "description": s.description,
                "freshness_sla_seconds": s.freshness_sla.total_seconds()
                if s.freshness_sla
                else None,
                "location": s.where if s.location else "(in memory)",
                "contract": str(contract) if contract is not None else None,
                "rows_read": x.rows_read,
                "rows_valid": x.rows_valid,
                "rows_quarantined": x.rows_quarantined,
                "oldest_event": events[0],
                "newest_event": events[1],
                "read_seconds": round(x.seconds, 4),
                "schema_notices": len(x.notices),
            }
        )
    return pl.DataFrame(rows, schema=SOURCE_SUMMARY_SCHEMA)


def prepare(inputs: Any, *, config: ResolveConfig | None = None) -> Prepared:
    """Load, validate, key and standardise inputs, and choose blocking and comparisons.

    This is the first half of [`resolve`][resolve]; use it to see what c360 would
    choose for your data (``prepare(...).config.to_toml()``).
    """
    cfg = config or ResolveConfig()
    metrics = _Metrics()
    sources = _as_sources(inputs)

    with metrics.stage("load", 0) as m:
        loaded = _load_all(sources, cfg)
        m["rows_in"] = sum(x.rows_read for x in loaded)
        frames = [x.valid for x in loaded if x.valid.height]
        quarantine = pl.concat(
            [empty_quarantine(), *(x.quarantine.select(list(QUARANTINE_SCHEMA)) for x in loaded)],
            how="vertical_relaxed",
        )
        m["rows_out"] = sum(f.height for f in frames)
        m["quarantined"] = quarantine.height
    notices = [n for x in loaded for n in x.notices]

    if frames:
        valid = pl.concat(frames, how="diagonal_relaxed")
    else:
        valid = pl.DataFrame(schema={"source": pl.String, "record_id": pl.String})
    valid = valid.sort("source", "record_id").with_row_index(RID)
    n = valid.height

    with metrics.stage("standardize", n) as m:
        records = _matching_frame(valid, cfg)
        m["rows_out"] = records.height

    with metrics.stage("junk", n) as m:
        junk = detect_junk(records, cfg.junk)
        records = null_junk(records, junk)
        for col in junk["column"].unique().to_list():
            derived = [d for d in _DERIVED.get(col, ()) if d in records.columns]
            if derived:
                records = records.with_columns(
                    pl.when(pl.col(col).is_null()).then(None).otherwise(pl.col(d)).alias(d)
                    for d in derived
                )
        m["rows_out"] = junk.height

    with metrics.stage("autoconfig", n):
        have = present_columns(records)
        comparisons = (
            cfg.comparisons if cfg.comparisons is not None else auto_comparisons(records, have=have)
        )
        blocking = cfg.blocking or auto_blocking(records, link_type=cfg.link_type, have=have)
        deterministic = _deterministic_columns(cfg, have)
    effective = cfg.with_choices(
        blocking=blocking, comparisons=tuple(comparisons), deterministic=deterministic
    )
    records = records.select(matching_columns(records.columns, effective))
    return Prepared(
        valid=valid,
        records=records,
        quarantine=quarantine,
        config=effective,
        junk=junk,
        notices=notices,
        metrics=metrics,
        sources=source_summary(loaded),
    )


def resolve(
    inputs: Any,
    *,
    config: ResolveConfig | None = None,
    previous: str | Path | Resolution | pa.Table | pl.DataFrame | None = None,
    run_id: str | None = None,
    progress: bool | str | None = None,
    model: str | Path | FellegiSunterModel | None = None,
) -> Resolution:
    """Resolve records from one or more sources into unified customers.

    Args:
        inputs: a [`Source`][c360.sources.Source], a frame (polars, pyarrow or
            pandas) in canonical columns (a ``source`` column splits it into
            sources), a path, a list of these, or a mapping of source name to
            frame or Source.
        config: options; by default everything is chosen from the data.
        previous: an earlier run (its output directory, its Resolution, or its
            ``unified_ids``) whose customer IDs carry over (see [`c360.ids`][c360.ids]).
        run_id: identifier of this run (default: a timestamp).
        progress: show progress bars (``None``: on from the CLI or a notebook).
        model: a trained model to score with instead of training one: a
            [`FellegiSunterModel`][c360.model.FellegiSunterModel], a previous
            run's ``model.json`` or its output directory. Its comparisons are
            used (a ``config`` that names other comparisons is an error), its
            parameters and term frequencies are not re-estimated: production
            can freeze a model and re-resolve without retraining drift.

    Returns:
        A [`Resolution`][Resolution] with ``unified_ids``, ``links``, ``quarantine``
        and ``id_changes``.
    """
    started = datetime.datetime.now(datetime.UTC)
    show = resolve_progress(progress)
    run = run_id or _new_run_id()
    prev_ids = _previous_ids(previous)
    frozen = _frozen_model(model)
    if frozen is not None:
        config = _with_model_comparisons(config or ResolveConfig(), frozen)
    prep = prepare(inputs, config=config)
    if frozen is not None:
        _check_columns(frozen, prep.records)
    cfg = prep.config
    assert cfg.blocking is not None
    assert cfg.comparisons is not None
    valid, records, metrics = prep.valid, prep.records, prep.metrics
    blocking, comparisons = cfg.blocking, cfg.comparisons
    deterministic = cfg.deterministic or ()
    n = valid.height

    encodings: dict[str, Encoded] = {}
    rid_l_parts: list[npt.NDArray[np.int64]] = []
    rid_r_parts: list[npt.NDArray[np.int64]] = []
    gamma_parts: list[npt.NDArray[np.int8]] = []
    with metrics.stage("block_and_compare", n) as m:
        bkeys = rule_keys(records, blocking)
        if n >= 2 and comparisons:
            with progress_bar("Comparing pairs", show) as bar:
                for chunk in generate_pairs(records, blocking, progress_enabled=show, keys=bkeys):
                    cmp = compare(chunk, records, comparisons, encodings=encodings)
                    rid_l_parts.append(chunk["_rid_l"].to_numpy())
                    rid_r_parts.append(chunk["_rid_r"].to_numpy())
                    gamma_parts.append(
                        cmp.select([c.output for c in comparisons]).to_numpy().astype(np.int8)
                    )
                    bar.advance(chunk.height)
        rid_l = np.concatenate(rid_l_parts) if rid_l_parts else np.zeros(0, dtype=np.int64)
        rid_r = np.concatenate(rid_r_parts) if rid_r_parts else np.zeros(0, dtype=np.int64)
        gamma = (
            np.concatenate(gamma_parts)
            if gamma_parts
            else np.zeros((0, len(comparisons)), dtype=np.int8)
        )
        m["rows_out"] = int(rid_l.shape[0])
        m["skipped_blocks"] = skipped_blocks(records, blocking, keys=bkeys).height if n else 0

    with metrics.stage("train", int(rid_l.shape[0])) as m:
        if frozen is not None:
            model = frozen
        else:
            model = train(
                records,
                comparisons,
                gamma,
                config=cfg.model,
                link_type=cfg.link_type,
                blocking=blocking,
                encodings=encodings,
                progress_enabled=show,
                blocking_keys=bkeys,
            )
        m["reused_model"] = frozen is not None
        m["iterations"] = model.iterations
        m["converged"] = model.converged
        m["rows_out"] = len(model.m)
    del bkeys  # one hash per record and rule: not needed past training

    with metrics.stage("score", int(rid_l.shape[0])) as m:
        data = PairData(records, rid_l, rid_r, encodings)
        weight, prob = model.score_levels(gamma, data)
        rule, by_rule, accepted = decide_links(
            data, gamma, prob, comparisons, deterministic, cfg.cluster.threshold
        )
        m["rows_out"] = int(accepted.sum())

    cluster_cfg = _reliable_cannot_link(cfg.cluster, model)
    with metrics.stage("cluster", n) as m:
        eff_prob = _rule_certain(prob[accepted], by_rule[accepted])
        clusters = cluster_links(
            n,
            rid_l[accepted],
            rid_r[accepted],
            eff_prob,
            config=cluster_cfg,
            records=records,
        )
        m["rows_out"] = int(np.unique(clusters.labels).shape[0]) if n else 0
        m["refused_links"] = clusters.refused.height
        m["cannot_link"] = list(cluster_cfg.cannot_link)

    refused = clusters.refused
    labels = clusters.labels
    coherent: CoherenceResult | None = None
    if cluster_cfg.coherence and n:
        with metrics.stage("coherence", n) as m:
            coherent = _cohere(
                labels, rid_l[accepted], rid_r[accepted], eff_prob, by_rule[accepted],
                model, data, cluster_cfg, candidates=(rid_l, rid_r, weight),
            )  # fmt: skip
            labels = coherent.labels
            if coherent.refused.height:
                refused = pl.concat([refused, coherent.refused])
            m["rows_out"] = int(np.unique(labels).shape[0])
            m["pairs"] = coherent.pairs
            m["split_clusters"] = coherent.split
            m["skipped_clusters"] = coherent.skipped
    # the encodings (and their per-value Python strings for rapidfuzz) are not
    # needed past clustering; at millions of distinct values they are large
    del data
    encodings.clear()

    keys = valid.select("source", "record_id")
    links = _links_table(
        keys,
        rid_l[accepted],
        rid_r[accepted],
        weight[accepted],
        prob[accepted],
        rule[accepted],
        gamma[accepted],
        comparisons,
    )
    unsure = np.flatnonzero((prob > 0.05) & (prob < 0.95))
    if unsure.size > 1000:
        closest = np.argsort(np.abs(prob[unsure] - cfg.cluster.threshold), kind="stable")[:1000]
        unsure = unsure[closest]
    near = _links_table(
        keys,
        rid_l[unsure],
        rid_r[unsure],
        weight[unsure],
        prob[unsure],
        rule[unsure],
        gamma[unsure],
        comparisons,
    )
    if refused.height:
        refused = _attach_keys(refused, keys)
    estimates = {
        **estimate_quality(prob, accepted),
        **cluster_estimates(labels, rid_l, rid_r, _rule_certain(prob, by_rule), coherent),
    }
    histogram = _histogram(weight)
    candidate_pairs = int(rid_l.shape[0])
    # every per-pair array is done with: at millions of pairs they are the
    # largest live values, and golden profiles would otherwise peak on top of them
    del rid_l, rid_r, gamma, weight, prob, rule, by_rule, accepted, eff_prob

    with metrics.stage("ids", n) as m:
        customer_id, id_changes = assign_stable_ids(valid, labels, prev_ids, run_id=run)
        unified = valid.select("source", "record_id").with_columns(customer_id=customer_id)
        m["rows_out"] = unified.height
        m["id_changes"] = id_changes.height

    with metrics.stage("golden", n) as m:
        from c360.golden import build_profiles

        profiles = build_profiles(valid, unified, cfg.survivorship)
        m["rows_out"] = profiles.num_rows

    return Resolution(
        unified_ids=unified.to_arrow(),
        id_changes=id_changes.to_arrow(),
        run_id=run,
        started_at=started,
        finished_at=datetime.datetime.now(datetime.UTC),
        links=links.to_arrow(),
        quarantine=prep.quarantine.to_arrow(),
        config=cfg,
        model=model,
        junk=prep.junk.to_arrow(),
        refused_links=refused.to_arrow(),
        metrics=metrics.rows,
        notices=prep.notices,
        candidate_pairs=candidate_pairs,
        sources=prep.sources,
        profiles=profiles,
        records=valid,
        matching=records,
        weight_histogram=histogram,
        near_misses=near.to_arrow(),
        estimates=estimates,
    )


def _frozen_model(model: str | Path | FellegiSunterModel | None) -> FellegiSunterModel | None:
    """The model ``resolve(model=...)`` names: an object, a ``model.json`` or a run directory."""
    if model is None or isinstance(model, FellegiSunterModel):
        return model
    if not isinstance(model, str | Path):
        raise ConfigError(
            f"model must be a FellegiSunterModel or a path; got {type(model).__name__}",
            hint="pass a previous run's model.json, its output directory, or res.model",
        )
    path = Path(model)
    if path.is_dir():
        path = path / "model.json"
    if not path.is_file():
        raise ConfigError(
            f"no model file at {path}",
            hint="pass a previous run's model.json or its output directory",
        )
    return FellegiSunterModel.load(path)


def _with_model_comparisons(cfg: ResolveConfig, model: FellegiSunterModel) -> ResolveConfig:
    """``cfg`` with the model's comparisons; other comparisons in ``cfg`` are an error."""
    mine = tuple(model.comparisons)
    if cfg.comparisons is not None and tuple(cfg.comparisons) != mine:
        raise ConfigError(
            "the configuration's comparisons differ from the model's "
            f"({[c.name for c in cfg.comparisons]} against {[c.name for c in mine]})",
            hint="drop [[comparisons]] from the configuration: a reused model brings its own",
        )
    return replace(cfg, comparisons=mine)


def _check_columns(model: FellegiSunterModel, records: pl.DataFrame) -> None:
    """A reused model's comparisons must find their columns in the records."""
    missing = sorted(
        {c for comp in model.comparisons for c in comp.columns()} - set(records.columns)
    )
    if missing:
        raise ConfigError(
            f"the model compares columns these records do not have: {', '.join(missing)}",
            column=missing[0],
            hint="resolve records with the columns the model was trained on, or train a new model",
        )


def _rule_certain(
    probability: npt.NDArray[np.float64], by_rule: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Probabilities with deterministic links counted as certain, as clustering counts them."""
    out: npt.NDArray[np.float64] = np.where(
        by_rule, np.maximum(probability, 1.0 - 1e-9), probability
    )
    return out


def _cohere(
    labels: npt.NDArray[np.int64],
    link_l: npt.NDArray[np.int64],
    link_r: npt.NDArray[np.int64],
    probability: npt.NDArray[np.float64],
    certain: npt.NDArray[np.bool_],
    model: FellegiSunterModel,
    data: PairData,
    cfg: ClusterConfig,
    *,
    candidates: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]],
) -> CoherenceResult:
    """Weigh every pair inside each cluster with the model; split what does not hold."""
    comparisons = model.comparisons

    def weigh(left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        pairs = PairData(data.records, left, right, data.encodings)
        weight, _ = model.score_levels(levels_matrix(comparisons, pairs), pairs)
        return weight

    prior = model.prior_weight
    target = prior / 2 if cfg.coherence_prior is None else cfg.coherence_prior
    return cohere(
        labels,
        link_l,
        link_r,
        probability,
        weigh,
        prior_shift=target - prior,
        max_size=cfg.coherence_max_size,
        certain=certain,
        candidates=candidates,
    )


def _new_run_id() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _previous_ids(previous: Any) -> pl.DataFrame | None:
    """The previous run's ``unified_ids`` as a polars frame."""
    if previous is None:
        return None
    if isinstance(previous, Resolution):
        table: Any = previous.unified_ids
    elif isinstance(previous, str | Path):
        path = Path(previous)
        file = path / "unified_ids.parquet" if path.is_dir() else path
        if not file.exists():
            raise StateError(
                "previous run has no unified_ids.parquet",
                path=str(path),
                hint="point --previous at the output directory of an earlier `c360 resolve`",
            )
        try:
            table = pl.read_parquet(file)
        except Exception as exc:  # polars raises several types for a bad file
            raise StateError(f"cannot read previous unified_ids: {exc}", path=str(file)) from exc
    else:
        table = previous
    frame = pl.from_arrow(table) if isinstance(table, pa.Table) else table
    assert isinstance(frame, pl.DataFrame)
    missing = {"source", "record_id", "customer_id"} - set(frame.columns)
    if missing:
        raise StateError(f"previous unified_ids lacks columns {sorted(missing)}")
    return frame.select("source", "record_id", "customer_id")


def _reliable_cannot_link(cfg: ClusterConfig, model: FellegiSunterModel) -> ClusterConfig:
    """Keep only the cannot-link columns whose values rarely disagree among matches."""
    keep = []
    for col in cfg.cannot_link:
        for c, m in zip(model.comparisons, model.m, strict=True):
            if c.column == col and float(m[0]) <= cfg.max_match_disagreement:
                keep.append(col)
                break
    return replace(cfg, cannot_link=tuple(keep))


@contextmanager
def progress_bar(description: str, enabled: bool) -> Iterator[Any]:
    """A progress bar shown only when ``enabled``."""
    with progress(description, enabled=enabled) as bar:
        yield bar


def _histogram(weight: npt.NDArray[np.float64]) -> pl.DataFrame:
    """Counts of match weights in 1-bit bins (the bins that occur, in order).

    Examples:
        >>> _histogram(np.array([-0.5, 0.2, 0.7, 99.0])).rows()
        [(-1, 1), (0, 2), (60, 1)]
    """
    if not weight.size:
        return pl.DataFrame(schema={"bin": pl.Int64, "pairs": pl.UInt32})
    bins = np.clip(weight, -60, 60)
    np.floor(bins, out=bins)
    bins += 60
    counts = np.bincount(bins.astype(np.intp), minlength=121)
    occur = np.flatnonzero(counts)
    return pl.DataFrame(
        {"bin": occur.astype(np.int64) - 60, "pairs": counts[occur].astype(np.uint32)}
    )


def estimate_quality(
    probability: npt.NDArray[np.float64], accepted: npt.NDArray[np.bool_]
) -> dict[str, float]:
    """Pairwise precision and recall estimated from posterior match probabilities.

    If the model is calibrated, the expected number of true matches among the
    accepted links is the sum of their probabilities, and among all candidate
    pairs the sum of all probabilities (as fastLink does). Pairs that blocking
    never produced are not counted, so recall is relative to the candidates.

    Examples:
        >>> p = np.array([0.99, 0.9, 0.4, 0.01])
        >>> est = estimate_quality(p, p >= 0.5)
        >>> round(est["precision"], 3), round(est["recall"], 3)
        (0.945, 0.822)
    """
    total = float(probability.sum())
    kept = float(probability[accepted].sum())
    n_acc = int(accepted.sum())
    return {
        "precision": kept / n_acc if n_acc else 1.0,
        "recall": kept / total if total else 1.0,
        "expected_matching_pairs": total,
        "accepted_links": float(n_acc),
    }


def _attach_keys(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    left = keys[frame["_rid_l"].to_numpy()]
    right = keys[frame["_rid_r"].to_numpy()]
    return pl.DataFrame(
        {
            "source_l": left["source"],
            "record_id_l": left["record_id"],
            "source_r": right["source"],
            "record_id_r": right["record_id"],
        }
    ).hstack(frame.drop("_rid_l", "_rid_r"))


def _links_table(
    keys: pl.DataFrame,
    rid_l: npt.NDArray[np.int64],
    rid_r: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    prob: npt.NDArray[np.float64],
    rule: RuleLabels,
    gamma: npt.NDArray[np.int8],
    comparisons: Sequence[Comparison],
) -> pl.DataFrame:
    base = pl.DataFrame({"_rid_l": rid_l, "_rid_r": rid_r})
    frame = _attach_keys(base, keys).with_columns(
        match_weight=pl.Series(weight, dtype=pl.Float64),
        match_probability=pl.Series(prob, dtype=pl.Float64),
        rule=rule.to_series(),
        **{c.output: pl.Series(gamma[:, k], dtype=pl.Int8) for k, c in enumerate(comparisons)},
    )
    return frame.sort("source_l", "record_id_l", "source_r", "record_id_r")
