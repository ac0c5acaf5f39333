"""[`Resolution`][c360.Resolution]: what [`resolve`][c360.resolve] returns.

A result: tables and figures, no I/O of its own beyond
[`write`][c360.Resolution.write], which hands over to ``c360._output``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from c360._display import Block, fmt_count, fmt_records, fmt_share
from c360._inputs import SOURCE_SUMMARY_SCHEMA
from c360.config import ResolveConfig
from c360.model import FellegiSunterModel

if TYPE_CHECKING:
    from c360.history import HistoryLocation, SloConfig
    from c360.report import RunReport
    from c360.report._pii import PiiMode

__all__ = ["Resolution"]


def size_counts(sizes: pl.DataFrame) -> pl.DataFrame:
    """Number of customers (``customers``) per cluster ``size``, from one ``size`` per customer.

    Examples:
        >>> size_counts(pl.DataFrame({"size": [2, 1, 2]})).rows()
        [(1, 1), (2, 2)]
    """
    return sizes.group_by("size").len("customers").sort("size")


def _source_row(row: dict[str, Any], now: datetime.datetime | None) -> list[Any]:
    """One source's line: counts, newest event, and its age against the SLA."""
    newest = row.get("newest_event")
    sla = row.get("freshness_sla_seconds")
    freshness = "no event time"
    if newest is not None:
        ref = (now or datetime.datetime.now(datetime.UTC)).replace(tzinfo=None)
        age = (ref - newest).total_seconds()
        days = f"{age / 86400:.1f} days old"
        if sla is None:
            freshness = f"{days} (no SLA)"
        else:
            freshness = f"{days}, {'late' if age > sla else 'on time'} (SLA {sla / 86400:g} days)"
    return [
        row.get("source"),
        row.get("rows_read"),
        row.get("rows_valid"),
        row.get("rows_quarantined"),
        str(newest)[:19] if newest is not None else "-",
        freshness,
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """The result of [`resolve`][resolve]. Tables are ``pyarrow.Table``.

    Frozen: a result does not change once returned (``dataclasses.replace``
    gives an altered copy), and it does no I/O of its own; ``write`` hands
    over to the module that owns the output directory.

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
        inferred_columns: per source whose columns were inferred, the
            inference (``c360._infer.Inference``: mapping, key, event time,
            every column's confidence and reason).
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
    inferred_columns: dict[str, Any] = field(default_factory=dict)
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    #: ``(links, unified_ids, left, right)``: each link's two rows in
    #: ``unified_ids``, valid while this result holds those very tables (the
    #: report then finds the rows without joining the string keys)
    _link_rows: tuple[pa.Table, pa.Table, Any, Any] | None = field(
        default=None, repr=False, compare=False
    )

    def link_rows(self) -> tuple[Any, Any] | None:
        """Each link's two rows in ``unified_ids``, in the order of ``links``, if known."""
        kept = self._link_rows
        if kept is None or kept[0] is not self.links or kept[1] is not self.unified_ids:
            return None  # not computed, or the tables were replaced since
        return kept[2], kept[3]

    @property
    def customers(self) -> int:
        """Number of distinct customers."""
        if not self.unified_ids.num_rows:
            return 0
        # polars' multi-threaded hash: a fifth of pyarrow's count_distinct at 1M
        ids = pl.from_arrow(self.unified_ids.column("customer_id"))
        assert isinstance(ids, pl.Series)
        return int(ids.n_unique())

    def cluster_sizes(self) -> pl.DataFrame:
        """Number of customers per cluster size."""
        ids = pl.from_arrow(self.unified_ids)
        assert isinstance(ids, pl.DataFrame)
        return size_counts(ids.group_by("customer_id").len("size"))

    def _display(self) -> Block:
        n = self.unified_ids.num_rows
        q = self.quarantine.num_rows
        customers = self.customers
        seconds = sum(float(m.get("seconds") or 0.0) for m in self.metrics)
        rows = [
            ("records in", fmt_records(n, q)),
            ("customers", f"{fmt_count(customers)} ({fmt_count(n - customers)} duplicates merged)"),
            (
                "links",
                f"{fmt_count(self.links.num_rows)} of {fmt_count(self.candidate_pairs)} "
                f"candidate pairs ({fmt_count(self.refused_links.num_rows)} refused)",
            ),
        ]
        est = self.estimates
        if "cluster_precision" in est:
            rows.append(
                (
                    "estimated",
                    f"precision {fmt_share(est.get('cluster_precision'))}, "
                    f"recall {fmt_share(est.get('cluster_recall'))} (pairs of records, no labels)",
                )
            )
        if self.junk.num_rows:
            rows.append(("junk values", f"{fmt_count(self.junk.num_rows)} ignored for matching"))
        rows.append(("seconds", f"{seconds:.1f}"))
        notes = [f"model: {w}" for w in self.model.warnings]
        if self.notices:
            notes.append(f"{len(self.notices)} schema-change notices (see .notices)")
        header = ["source", "rows read", "accepted", "quarantined", "newest event", "freshness"]
        body = [_source_row(r, self.finished_at) for r in self.sources.iter_rows(named=True)]
        return Block(
            f"c360 Resolution · run {self.run_id}",
            rows,
            notes=notes,
            table=(header, body) if body else None,
        )

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    def report(self, **options: Any) -> RunReport:
        """The run report, built now; in a notebook it renders inline.

        The same content as ``report.html`` (built by
        [`build_report`][c360.observe.build_report]; ``options`` are its
        keyword arguments, e.g. ``previous=``), shown in a sandboxed frame
        with no network access. Building it at a million records takes a few
        seconds.
        """
        from c360.report import build_report

        options.setdefault("run_id", self.run_id)
        options.setdefault("started_at", self.started_at)
        options.setdefault("finished_at", self.finished_at)
        return build_report(self, **options)

    def summary(self) -> str:
        """A short plain-text summary."""
        n = self.unified_ids.num_rows
        q = self.quarantine.num_rows
        customers = self.customers  # a distinct count over every record: once
        lines = [
            f"records in:        {n + q:,}",
            f"accepted:          {n:,}",
            f"quarantined:       {q:,}",
            f"customers:         {customers:,}",
            f"duplicates merged: {n - customers:,}",
            f"candidate pairs:   {self.candidate_pairs:,}",
            f"links accepted:    {self.links.num_rows:,}",
        ]
        if self.junk.num_rows:
            lines.append(f"junk values:       {self.junk.num_rows:,} (ignored for matching)")
        for w in self.model.warnings:
            lines.append(f"model warning:     {w}")
        return "\n".join(lines)

    def write(
        self,
        out_dir: str | Path,
        *,
        report: bool = True,
        previous: str | Path | None = None,
        report_pii: PiiMode = "mask",
        history: HistoryLocation = None,
        slo: SloConfig | None = None,
        history_optional: bool = False,
        metrics: Any = None,
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

        ``report.json`` and ``report.html`` are for stakeholders: by default
        they show no personal value in clear (``report_pii="mask"``; see
        [`ReportConfig`][c360.report.ReportConfig]) and are readable by all
        (mode 0644, like every other output). With ``report_pii="show"`` they
        hold names, e-mails and phones and are written owner-only (0600).
        The tables and ``report_tables/`` hold full values: they are data,
        with the access of the directory they are in.

        With ``report``, the run is also recorded in its run history (see
        [`c360.history`][c360.history]): by default ``history.sqlite`` in
        ``out_dir``, carried forward from the directory being replaced (or
        from ``previous``); ``history`` names a shared SQLite file or
        PostgreSQL URI instead, or ``False`` for none. ``slo`` are the
        objectives declared for the run. ``metrics.prom`` (Prometheus text
        format) is written beside the outputs. A history that cannot be used
        is a [`HistoryError`][c360.exceptions.HistoryError] and nothing is
        written, unless ``history_optional`` (then a warning).

        ``metrics`` (metric definitions, a file of them, or a
        [`MetricResult`][c360.metrics.MetricResult] already computed) adds
        ``metrics.parquet``, computed over this run's unified IDs, and a
        *Customer metrics* section to the report.
        """
        from c360._output import write_resolution

        return write_resolution(
            self,
            out_dir,
            report=report,
            previous=previous,
            report_pii=report_pii,
            history=history,
            slo=slo,
            history_optional=history_optional,
            metrics=metrics,
        )
