"""The report's *Customer metrics* section: the run's declared metrics over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["MAX_PERIODS", "metrics_section"]

#: The latest periods the report keeps per metric (``metrics.parquet`` has them all).
MAX_PERIODS = 24


def metrics_section(result: Any) -> dict[str, Any]:
    """``report.json``'s ``customer_metrics``: each ungrouped metric's latest periods.

    Metrics split by a dimension (or by cohort) stay in ``metrics.parquet``;
    the section names them. ``unresolved`` counts the rows no customer took.
    """
    table: pl.DataFrame = result.table
    defs = result.definitions
    plain = result.ungrouped()
    metrics = []
    for name in plain["metric"].unique(maintain_order=True).to_list():
        rows = plain.filter(pl.col("metric") == name).sort("period_start").tail(MAX_PERIODS)
        m = defs.metrics[name]
        metrics.append(
            {
                "metric": name,
                "version": m.version,
                "definition_hash": rows["definition_hash"][0],
                "type": m.type,
                "owner": m.owner,
                "description": " ".join(m.description.split()),
                "periods": [d.isoformat() for d in rows["period_start"]],
                "values": rows["value"].to_list(),
            }
        )
    return {
        "definitions": Path(defs.path).name if defs.path else None,
        "grain": table["grain"][0] if table.height else None,
        "as_of": None if table.height == 0 or table["as_of"][0] is None else str(table["as_of"][0]),
        "metrics": metrics,
        "split": sorted(set(table["metric"]) - set(plain["metric"])),
        "unresolved": result.unresolved.to_dicts(),
    }
