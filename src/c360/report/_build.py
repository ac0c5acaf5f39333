"""Build the run report (``report.json`` content and lineage tables) from a Resolution."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from c360._result import size_counts
from c360.exceptions import StateError
from c360.report._lineage import _customer_links, _lineage
from c360.report._model import (
    _DISPLAY,
    REPORT_JSON,
    SCHEMA,
    TABLES_DIR,
    ReportConfig,
    RunReport,
    _frame,
    _iso,
    _utc,
    config_hash,
    jsonable,
)
from c360.report._pii import PERSONAL, PiiMode, mask_column, mask_field
from c360.report._sources import _sources

if TYPE_CHECKING:
    from c360.config import ResolveConfig
    from c360.model import FellegiSunterModel
    from c360.pipeline import Resolution

__all__ = ["SCHEMA", "ReportConfig", "RunReport", "build_report", "config_hash", "load_report"]


def _read_previous(
    previous: str | Path | Mapping[str, Any] | RunReport | None,
) -> tuple[dict[str, Any] | None, pl.DataFrame | None, str | None]:
    """Return the previous report's JSON, its unified_ids (when beside it) and its path."""
    if previous is None:
        return None, None, None
    if isinstance(previous, RunReport):
        return previous.data, None, None
    if isinstance(previous, Mapping):
        return dict(previous), None, None
    data, path = _read_report_json(
        previous,
        what="the previous run's report",
        hint="pass the previous output directory or its report.json",
    )
    ids = None
    ids_path = path.parent / "unified_ids.parquet"
    if ids_path.exists():
        ids = pl.read_parquet(ids_path)
    return data, ids, str(path)


def _read_report_json(location: str | Path, *, what: str, hint: str) -> tuple[Any, Path]:
    """Read and schema-check ``report.json`` in ``location`` (a directory or the file)."""
    p = Path(location)
    path = p / REPORT_JSON if p.is_dir() else p
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read {what}: {exc}", path=str(path), hint=hint) from exc
    _check_schema(data, path)
    return data, path


def _check_schema(data: Any, path: Path | str) -> None:
    schema = data.get("schema") if isinstance(data, Mapping) else None
    if not isinstance(schema, str) or not schema.startswith("c360.report/"):
        raise StateError(f"not a c360 run report (schema {schema!r})", path=str(path))
    if schema != SCHEMA:
        raise StateError(
            f"report format {schema!r} is not supported; this c360 reads {SCHEMA!r}",
            path=str(path),
            hint="rebuild the report with this c360 version",
        )


# ------------------------------------------------------------------------------ sections


def _stages(metrics: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in metrics:
        seconds = m.get("seconds")
        rows_in = m.get("rows_in")
        extra = {
            k: v
            for k, v in m.items()
            if k not in ("stage", "rows_in", "rows_out", "quarantined", "seconds")
        }
        out.append(
            {
                "stage": m.get("stage"),
                "rows_in": rows_in,
                "rows_out": m.get("rows_out"),
                "quarantined": m.get("quarantined"),
                "seconds": seconds,
                "rows_per_second": (rows_in / seconds) if rows_in and seconds else None,
                "extra": extra,
            }
        )
    return out


def _largest_clusters(
    res: Resolution, ids: pl.DataFrame, per: pl.DataFrame, links: pl.DataFrame, cfg: ReportConfig
) -> list[dict[str, Any]]:
    """The ``cfg.largest_clusters`` largest customers (``per``: each one's ``size``)."""
    n = cfg.largest_clusters
    if ids.height == 0 or n <= 0:
        return []
    # only customers as large as the n-th largest are sorted: sorting every
    # customer by size and ID took 0.9 s at a million records (0.2 s now)
    floor = max(int(per.get_column("size").top_k(n).min()), 2)  # type: ignore[arg-type]
    sizes = (
        per.filter(pl.col("size") >= floor)
        .sort(["size", "customer_id"], descending=[True, False])
        .head(n)
    )
    if sizes.height == 0:
        return []
    members = ids.join(sizes.select("customer_id"), on="customer_id")
    if res.records is not None:
        show = [c for c in _DISPLAY if c in res.records.columns]
        # the few shown records first, then masked: masking every record cost 0.5 s at 1M
        shown = res.records.select("source", "record_id", *show).join(
            members.select("source", "record_id"), on=["source", "record_id"], how="semi"
        )
        if cfg.pii == "mask":
            shown = shown.with_columns(mask_column(c, pl.col(c)) for c in show if c in PERSONAL)
        members = members.join(shown, on=["source", "record_id"], how="left")
    members = members.sort("customer_id", "source", "record_id")
    # only the links of the largest clusters: a link inside a cluster has its left
    # record in that cluster
    keys = members.select(source_l="source", record_id_l="record_id")
    inside = links.join(keys, on=["source_l", "record_id_l"], how="semi") if links.height else links
    rules = _customer_links(members.select(ids.columns), inside)
    by_rule: dict[str, dict[str, int]] = {}
    if rules.height:
        counts = (
            rules.join(sizes.select("customer_id"), on="customer_id")
            .group_by("customer_id", "rule")
            .len("links")
        )
        for row in counts.iter_rows(named=True):
            by_rule.setdefault(row["customer_id"], {})[row["rule"]] = row["links"]
    out = []
    groups = members.partition_by("customer_id", as_dict=True)
    for row in sizes.iter_rows(named=True):
        part = groups[(row["customer_id"],)]
        recs = part.drop("customer_id").head(cfg.cluster_records).to_dicts()
        out.append(
            {
                "customer_id": row["customer_id"],
                "size": row["size"],
                "sources": sorted(set(part["source"].to_list())),
                "links_by_rule": by_rule.get(row["customer_id"], {}),
                "records": jsonable(recs),
                "records_not_shown": max(part.height - cfg.cluster_records, 0),
            }
        )
    return out


def _diagnostics(
    res: Resolution, ids: pl.DataFrame, per: pl.DataFrame, links: pl.DataFrame, cfg: ReportConfig
) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    model = res.model
    threshold = float(res.config.cluster.threshold)
    near = _frame(res.near_misses)
    if near.height:
        near = (
            near.with_columns((pl.col("match_probability") - threshold).abs().alias("_d"))
            .sort("_d", "source_l", "record_id_l", "source_r", "record_id_r")
            .drop("_d")
        )
    refused = _frame(res.refused_links)
    refused_kinds: dict[str, int] = {}
    if refused.height and "reason" in refused.columns:
        kinds = (
            refused.select(pl.col("reason").str.split(":").list.first().alias("kind"))
            .group_by("kind")
            .len("links")
            .sort(["links", "kind"], descending=[True, False])
        )
        refused_kinds = {str(r["kind"]): int(r["links"]) for r in kinds.iter_rows(named=True)}
    diag = {
        **model_figures(model, threshold),
        "weight_histogram": res.weight_histogram.to_dicts() if res.weight_histogram.height else [],
        "cluster_sizes": size_counts(per).to_dicts() if ids.height else [],
        "largest_clusters": _largest_clusters(res, ids, per, links, cfg),
        "near_misses": near_miss_figures(near, near.height, cfg),
        "estimates": dict(res.estimates),
        "junk": _junk(_frame(res.junk), cfg.pii),
        "refused_links": {"count": refused.height, "by_reason": refused_kinds},
    }
    tables = {
        "near_misses": near.to_arrow(),
        "refused_links": refused.to_arrow(),
        "junk": _frame(res.junk).to_arrow(),
    }
    return jsonable(diag), tables


def with_model_warnings(
    incidents: list[dict[str, Any]], model: FellegiSunterModel
) -> list[dict[str, Any]]:
    """``incidents`` with the model's warnings; errors first, then by kind and source."""
    out = incidents + [
        {"kind": "model_warning", "severity": "warning", "source": None, "message": w}
        for w in model.warnings
    ]
    out.sort(key=lambda i: (i["severity"] != "error", i["kind"], i["source"] or ""))
    return out


def previous_changes(prev: Mapping[str, Any] | None, path: str | None) -> dict[str, Any] | None:
    """The report's ``changes`` section against a previous report (``None`` without one).

    ``grouping`` is left ``None`` for the caller that can compare groupings.
    """
    if prev is None:
        return None
    return {
        "previous_run_id": prev.get("run", {}).get("run_id"),
        "previous_report": path,
        "grouping": None,
    }


def model_figures(model: FellegiSunterModel, threshold: float) -> dict[str, Any]:
    """The diagnostics that come from the model and the threshold alone."""
    params = model.parameters()
    return {
        "threshold": threshold,
        "threshold_weight": math.log2(threshold / (1 - threshold)) if 0 < threshold < 1 else None,
        "prior": {
            "lambda": model.lam,
            "prior_weight": model.prior_weight,
            "total_pairs": model.total_pairs,
            "iterations": model.iterations,
            "converged": model.converged,
            "classes": [{"name": n, "prior": p} for n, _, p in model.others],
        },
        "parameters": params.to_dicts() if params.height else [],
        "model_warnings": list(model.warnings),
    }


def near_miss_figures(near: pl.DataFrame, count: int, cfg: ReportConfig) -> dict[str, Any]:
    """The report's near-miss section: ``near`` sorted closest first, of ``count`` in all."""
    gamma_cols = [c for c in near.columns if c.startswith("gamma_")]
    return {
        "count": count,
        "shown": min(count, cfg.near_misses),
        "comparisons": [c.removeprefix("gamma_") for c in gamma_cols],
        "rows": near.head(cfg.near_misses).to_dicts(),
    }


def _junk(junk: pl.DataFrame, pii: PiiMode) -> list[dict[str, Any]]:
    """Junk values for the report: values of personal columns masked like any other."""
    if pii == "mask" and junk.height and {"column", "value"} <= set(junk.columns):
        junk = junk.with_columns(mask_field(pl.col("column"), pl.col("value")).alias("value"))
    return junk.to_dicts()


def build_report(
    resolution: Resolution,
    *,
    run_id: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    previous: str | Path | Mapping[str, Any] | RunReport | None = None,
    config: ReportConfig | None = None,
) -> RunReport:
    """Build the run report of a resolution.

    Args:
        resolution: the result of [`c360.resolve`][c360.resolve].
        run_id: the run's id (default: the resolution's ``run_id``, else a new UUID4).
        started_at: when the run started (default: ``finished_at`` minus the
            stages' summed seconds). Naive datetimes are taken as UTC.
        finished_at: when the run ended (default: now); freshness lags are
            measured to this moment.
        previous: an earlier run's output directory, its ``report.json``, or
            its report: row counts are compared with it, and with its
            ``unified_ids.parquet`` (when beside it) the groupings too.
        config: thresholds and sizes ([`ReportConfig`][ReportConfig]).

    Returns:
        The [`RunReport`][RunReport].

    Examples:
        >>> import polars as pl
        >>> import c360
        >>> df = pl.DataFrame({"source": ["crm", "shop"], "record_id": ["1", "a"],
        ...                    "first_name": ["Ann", "Ann"], "last_name": ["Lee", "Lee"],
        ...                    "email": ["ann@x.io", "ANN@x.io"]})
        >>> rep = build_report(c360.resolve(df), run_id="r1")
        >>> summary = rep.data["summary"]
        >>> rep.data["schema"], summary["customers"], summary["duplicates_removed"]
        ('c360.report/1', 1, 1)

    """
    from c360.evaluate import compare_runs

    cfg = config or ReportConfig()
    finished = _utc(finished_at) or datetime.now(UTC)
    seconds = float(sum(float(m.get("seconds") or 0.0) for m in resolution.metrics))
    started = _utc(started_at) or finished - timedelta(seconds=seconds)
    prev, prev_ids, prev_path = _read_previous(previous)
    ids = _frame(resolution.unified_ids)
    links = _frame(resolution.links)
    quarantined = resolution.quarantine.num_rows
    # each customer's size, counted once for the customers, the sizes and the largest
    per = ids.group_by("customer_id").len("size")
    customers = per.height

    sources, incidents = _sources(resolution, finished, prev, cfg)
    incidents = with_model_warnings(incidents, resolution.model)
    diagnostics, detail_tables = _diagnostics(resolution, ids, per, links, cfg)
    lineage, lineage_tables = _lineage(resolution, ids, links, cfg, customers)
    by_rule: dict[str, int] = {}
    if links.height:
        for r in links.group_by("rule").len("n").sort("rule").iter_rows(named=True):
            by_rule[str(r["rule"])] = int(r["n"])

    id_changes: dict[str, int] = {}
    id_table = getattr(resolution, "id_changes", None)
    if id_table is not None and id_table.num_rows and "change" in id_table.column_names:
        counts = _frame(id_table).group_by("change").len("n").sort("change")
        id_changes = {str(r["change"]): int(r["n"]) for r in counts.iter_rows(named=True)}
    changes = previous_changes(prev, prev_path)
    if changes is not None and prev_ids is not None and ids.height:
        changes["grouping"] = compare_runs(prev_ids, ids).to_dict()

    data = report_document(
        run_id=run_id or getattr(resolution, "run_id", None) or str(uuid.uuid4()),
        started=started,
        finished=finished,
        seconds=seconds,
        config=resolution.config,
        pii=cfg.pii,
        summary={
            "records_accepted": ids.height,
            "records_quarantined": quarantined,
            "customers": customers,
            "candidate_pairs": resolution.candidate_pairs,
            "links": links.height,
            "links_by_rule": by_rule,
            "refused_links": resolution.refused_links.num_rows,
            "junk_values": resolution.junk.num_rows,
            "id_changes": id_changes,
        },
        stages=_stages(resolution.metrics),
        sources=sources,
        incidents=incidents,
        diagnostics=diagnostics,
        lineage=lineage,
        changes=changes,
    )
    return RunReport(data=jsonable(data), tables_={**lineage_tables, **detail_tables})


def report_document(
    *,
    run_id: str,
    started: datetime,
    finished: datetime,
    seconds: float,
    config: ResolveConfig,
    pii: PiiMode,
    summary: Mapping[str, Any],
    stages: list[dict[str, Any]],
    sources: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    diagnostics: dict[str, Any],
    lineage: dict[str, Any] | None,
    changes: dict[str, Any] | None,
    engine: str = "local",
) -> dict[str, Any]:
    """``report.json``'s document from the figures of a run (either engine's).

    ``summary`` holds ``records_accepted``, ``records_quarantined``,
    ``customers``, ``candidate_pairs``, ``links``, ``links_by_rule``,
    ``refused_links``, ``junk_values`` and ``id_changes``; the totals over
    sources and incidents are counted here.
    """
    import c360
    from c360._canonical import CONTRACT_VERSION

    accepted, quarantined = summary["records_accepted"], summary["records_quarantined"]
    return {
        "schema": SCHEMA,
        "run": {
            "run_id": run_id,
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "seconds": seconds,
            "c360_version": c360.__version__,
            "config_hash": config_hash(config),
            "link_type": config.link_type,
            "pii": pii,
            "engine": engine,
        },
        "contracts": {
            "canonical": CONTRACT_VERSION,
            "sources": {s["source"]: s["contract"] for s in sources},
        },
        "summary": {
            "records_in": accepted + quarantined,
            "records_accepted": accepted,
            "records_quarantined": quarantined,
            "customers": summary["customers"],
            "duplicates_removed": accepted - summary["customers"],
            "candidate_pairs": summary["candidate_pairs"],
            "links": summary["links"],
            "links_by_rule": summary["links_by_rule"],
            "refused_links": summary["refused_links"],
            "junk_values": summary["junk_values"],
            "id_changes": summary["id_changes"],
            "sources": len(sources),
            "stale_sources": sum(1 for s in sources if s["freshness"]["status"] == "stale"),
            "incidents": len(incidents),
            "errors": sum(1 for i in incidents if i["severity"] == "error"),
        },
        "stages": stages,
        "sources": sources,
        "incidents": incidents,
        "diagnostics": diagnostics,
        "lineage": lineage,
        "changes": changes,
        "config": config.to_dict(),
    }


def load_report(path: str | Path) -> RunReport:
    """Read a report written by ``write_report`` (a directory or its report.json).

    Tables are read from ``report_tables/`` beside the JSON when present.
    """
    data, file = _read_report_json(
        path, what="the run report", hint="pass an output directory written by c360 resolve"
    )
    tables = {}
    tdir = file.parent / TABLES_DIR
    if tdir.is_dir():
        import pyarrow.parquet as pq

        for f in sorted(tdir.glob("*.parquet")):
            tables[f.stem] = pq.read_table(f)
    return RunReport(data=data, tables_=tables)
