"""Render ``report.json`` as one self-contained HTML page (inline CSS and SVG, no network)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from functools import partial
from html import escape
from importlib.resources import files
from typing import Any

from c360.report._svg import (
    BLUE,
    GREEN,
    GREY,
    INK,
    ORANGE,
    PALETTE,
    RED,
    Bar,
    Line,
    bar_chart,
    freshness_chart,
    line_chart,
    mu_chart,
)

__all__ = ["render_html"]

#: Counts the chart marks the browser actually laid out, for tests and the curious
#: (``document.body.dataset.renderedMarks``). The page needs no script to display.
_SCRIPT = """
(function () {
  var marks = document.querySelectorAll("svg .mark"), drawn = 0;
  for (var i = 0; i < marks.length; i++) {
    var b = marks[i].getBoundingClientRect();
    if (b.width > 0 && b.height > 0) { drawn++; }
  }
  document.body.setAttribute("data-rendered-marks", String(drawn));
  document.body.setAttribute("data-charts", String(document.querySelectorAll("svg.chart").length));
})();
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "&ndash;"
        return f"{value:,.{digits}f}"
    return _e(value)


def _pct(value: Any, digits: int = 1) -> str:
    return "&ndash;" if value is None else f"{float(value) * 100:.{digits}f}%"


def _dur(seconds: Any) -> str:
    if seconds is None:
        return "&ndash;"
    s = float(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    if s < 60:
        return f"{sign}{s:.0f} s"
    if s < 3600:
        return f"{sign}{s / 60:.0f} min"
    if s < 86400 * 2:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} days"


def _when(iso: Any) -> str:
    """Format an ISO 8601 UTC timestamp as ``2024-12-31 23:14 UTC``."""
    if not iso:
        return "&ndash;"
    return _e(_when_text(iso))


def _when_text(iso: Any) -> str:
    """``_when`` as plain text (for SVG tooltips, which escape it themselves)."""
    text = "" if iso is None else str(iso)
    if len(text) >= 16 and text[10] == "T":
        return f"{text[:10]} {text[11:16]} UTC"
    return text


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Iterable[int] = (),
    empty: str = "none",
    row_classes: Sequence[str] = (),
) -> str:
    num = set(numeric)
    body = [
        (f'<tr class="{row_classes[k]}">' if k < len(row_classes) and row_classes[k] else "<tr>")
        + "".join(
            f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for k, r in enumerate(rows)
    ]
    if not body:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(
        f'<th class="num">{_e(h)}</th>' if i in num else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    return (
        f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _tile(value: str, label: str) -> str:
    return (
        f'<div class="tile"><div class="value">{value}</div>'
        f'<div class="label">{_e(label)}</div></div>'
    )


# ------------------------------------------------------------------------------ sections


def _top(d: Mapping[str, Any]) -> str:
    s, run = d["summary"], d["run"]
    incidents = d.get("incidents", [])
    errors = [i for i in incidents if i["severity"] == "error"]
    if errors:
        banner = (
            f'<div class="banner bad">{len(errors)} problem{"s" if len(errors) != 1 else ""} '
            f"need{'s' if len(errors) == 1 else ''} attention</div>"
        )
    elif incidents:
        plural = "s" if len(incidents) != 1 else ""
        banner = f'<div class="banner warn">{len(incidents)} warning{plural} to review</div>'
    else:
        banner = '<div class="banner ok">All checks passed</div>'
    fresh = sum(1 for x in d["sources"] if x["freshness"]["status"] == "fresh")
    unknown = sum(1 for x in d["sources"] if x["freshness"]["status"] == "unknown")
    tiles = "".join(
        [
            _tile(_n(s["customers"]), "customers"),
            _tile(_n(s["records_in"]), "records received"),
            _tile(_n(s["duplicates_removed"]), "duplicate records merged"),
            _tile(_n(s["records_quarantined"]), "records set aside (quarantine)"),
            _tile(
                f"{fresh} / {len(d['sources'])}",
                "sources within their freshness SLA"
                + (f" ({unknown} without an SLA or dates: not checked)" if unknown else ""),
            ),
        ]
    )
    return (
        "<header><h1>Customer 360 run report</h1>"
        f"<p>Run <code>{_e(run['run_id'])}</code> · finished {_when(run['finished_at'])} · "
        f"c360 {_e(run['c360_version'])}</p></header>"
        f"{banner}<section class='tiles'>{tiles}</section>"
    )


def _sources_table(d: Mapping[str, Any]) -> str:
    rows = []
    for s in d["sources"]:
        f = s["freshness"]
        status = f["status"]
        label = {"fresh": "on time", "stale": "late", "unknown": "no SLA / no dates"}[status]
        rc = s.get("row_change")
        if rc is None:
            change = "&ndash;"
        elif rc.get("new_source"):
            change = "new source"
        else:
            share = rc.get("change_share")
            change = (
                f'<span class="{"sev-error" if rc.get("dropped") else ""}">'
                f"{'+' if (rc.get('change') or 0) >= 0 else ''}{_n(rc.get('change'))} "
                f"({'' if share is None else _pct(share, 0)})</span>"
            )
        breaking = sum(1 for n in s["schema_notices"] if n["severity"] == "breaking")
        notices = len(s["schema_notices"])
        schema = (
            "none"
            if not notices
            else f'<span class="sev-error">{breaking} breaking</span>, {notices - breaking} other'
            if breaking
            else f"{notices} compatible"
        )
        rows.append(
            [
                f'<span class="dot {status}"></span>{_e(label)}',
                f"<b>{_e(s['source'])}</b><br><span class='muted'>{_e(s['owner'] or '')}</span>"
                + _file_format(s.get("file_format")),
                _when(s["newest_event"]),
                _dur(f["lag_seconds"]),
                _dur(f["sla_seconds"]),
                _n(s["rows_read"]),
                change,
                f"{_n(s['rows_quarantined'])} ({_pct(s['quarantined_share'])})",
                schema,
            ]
        )
    return "<h2>Sources</h2>" + _table(
        [
            "freshness",
            "source",
            "newest record",
            "age",
            "SLA",
            "rows",
            "change vs previous run",
            "quarantined",
            "schema changes",
        ],
        rows,
        numeric=(5,),
    )


_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _file_format(f: Any) -> str:
    """``csv, semicolon-separated, utf-16 (detected)`` under the source's name."""
    if not isinstance(f, Mapping) or not f.get("format"):
        return ""
    parts = [str(f["format"])]
    if f.get("separator"):
        sep = f["separator"]
        parts.append(f"{_SEPARATOR_NAMES.get(sep, repr(sep))}-separated")
    if f.get("encoding"):
        parts.append(str(f["encoding"]))
    detected = f" ({' and '.join(f['detected'])} detected)" if f.get("detected") else ""
    return f"<br><span class='muted'>{_e(', '.join(parts) + detected)}</span>"


def _incidents(d: Mapping[str, Any]) -> str:
    items = d.get("incidents", [])
    if not items:
        unknown = [s["source"] for s in d["sources"] if s["freshness"]["status"] == "unknown"]
        note = (
            f" Freshness was not checked for {_e(', '.join(unknown))}: no SLA declared or no "
            "event times."
            if unknown
            else ""
        )
        return (
            "<h2>Incidents</h2><p>No incidents: no stale source, no lost rows, no breaking "
            f"schema change, no model warning.{note}</p>"
        )
    lis = "".join(
        f'<li><span class="sev-{_e(i["severity"])}">{_e(i["severity"])}</span> · '
        f"{_e(i['kind'].replace('_', ' '))}: {_e(i['message'])}</li>"
        for i in items
    )
    return f"<h2>Incidents</h2><ul class='incidents'>{lis}</ul>"


def _weight_chart(diag: Mapping[str, Any]) -> str:
    hist = diag.get("weight_histogram") or []
    thr = diag.get("threshold_weight")
    bars, marker = [], None
    if hist:
        lo, hi = min(h["bin"] for h in hist), max(h["bin"] for h in hist)
        counts = {h["bin"]: h["pairs"] for h in hist}
        for i, b in enumerate(range(lo, hi + 1)):
            color = GREEN if thr is not None and b >= thr else GREY
            bars.append(
                Bar(
                    str(b),
                    float(counts.get(b, 0)),
                    color,
                    f"weight {b} to {b + 1}: {counts.get(b, 0):,} pairs",
                )
            )
            if thr is not None and b <= thr < b + 1:
                marker = (i + (thr - b), f"threshold {thr:+.1f}")
    return bar_chart(
        bars,
        title="Match weight of every candidate pair",
        x_title="match weight (bits)",
        y_title="pairs",
        log_y=True,
        marker=marker,
    )


def _cluster_chart(diag: Mapping[str, Any]) -> str:
    sizes = diag.get("cluster_sizes") or []
    bars = [
        Bar(
            str(r["size"]),
            float(r["customers"]),
            BLUE if r["size"] < 10 else RED,
            f"{r['customers']:,} customers with {r['size']} records",
        )
        for r in sizes
    ]
    return bar_chart(
        bars,
        title="Customers by number of records",
        x_title="records per customer",
        y_title="customers",
        log_y=True,
    )


def _mu_charts(diag: Mapping[str, Any]) -> str:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in diag.get("parameters") or []:
        by.setdefault(str(r["comparison"]), []).append(r)
    return "".join(
        f'<div class="chart-box">{mu_chart(name, rows)}</div>' for name, rows in by.items()
    )


def _freshness(d: Mapping[str, Any]) -> str:
    rows = []
    for s in d["sources"]:
        f = s["freshness"]
        text = (
            f"{_dur(f['lag_seconds'])} old, SLA {_dur(f['sla_seconds'])}"
            if f["lag_seconds"] is not None and f["sla_seconds"]
            else f["explanation"]
        )
        rows.append(
            {
                "source": s["source"],
                "status": f["status"],
                "lag_seconds": f["lag_seconds"],
                "sla_seconds": f["sla_seconds"],
                "text": text,
            }
        )
    return freshness_chart(rows)


def _charts(d: Mapping[str, Any]) -> str:
    diag = d["diagnostics"]
    return (
        "<h3>Charts</h3><div class='charts'>"
        f"<div class='chart-box'>{_weight_chart(diag)}</div>"
        f"<div class='chart-box'>{_cluster_chart(diag)}</div>"
        f"<div class='chart-box'>{_freshness(d)}</div></div>"
        "<h3>What the model learned: m and u per comparison level</h3>"
        "<p class='muted'>m: how often matching records show this level; u: how often "
        "different people do. The weight log2(m/u) is what the level adds to a pair's score.</p>"
        f"<div class='charts'>{_mu_charts(diag)}</div>"
    )


def _run_details(d: Mapping[str, Any]) -> str:
    run, c = d["run"], d["contracts"]
    rows = [
        ["run id", f"<code>{_e(run['run_id'])}</code>"],
        ["started / finished", f"{_when(run['started_at'])} → {_when(run['finished_at'])}"],
        ["duration", _dur(run["seconds"])],
        ["c360 version", _e(run["c360_version"])],
        ["configuration hash (SHA-256)", f"<code>{_e(run['config_hash'])}</code>"],
        ["link type", _e(run["link_type"])],
        ["personal values", _pii_note(run.get("pii"))],
        ["canonical contract", _e(c["canonical"])],
        [
            "source contracts",
            ", ".join(f"{_e(k)}: {_e(v or 'canonical')}" for k, v in c["sources"].items())
            or "&ndash;",
        ],
    ]
    ch = d.get("changes")
    if ch:
        rows.append(["previous run", f"<code>{_e(ch.get('previous_run_id'))}</code>"])
        g = ch.get("grouping")
        if g:
            rows.append(
                [
                    "grouping vs previous run",
                    f"{_pct(g['changed_share'], 2)} of {_n(g['records'])} common records "
                    f"regrouped; {_n(g['merges'])} merges, {_n(g['splits'])} splits; "
                    f"{_n(g['only_in_b'])} new records",
                ]
            )
    return "<h3>Run</h3>" + _table(["", ""], rows)


def _pii_note(mode: Any) -> str:
    if mode == "show":
        return "shown in clear (run with <code>--report-pii show</code>)"
    if mode == "mask":
        return (
            "masked in this report; full values are in the outputs and in "
            "<code>report_tables/</code>"
        )
    return "&ndash;"


def _stages(d: Mapping[str, Any]) -> str:
    rows = [
        [
            _e(s["stage"]),
            _n(s["rows_in"]),
            _n(s["rows_out"]),
            _n(s.get("quarantined")),
            _n(s["seconds"], 3),
            _n(_cores(s), 1),
            _n(s["rows_per_second"]),
        ]
        for s in d["stages"]
    ]
    return "<h3>Stages</h3>" + _table(
        ["stage", "rows in", "rows out", "quarantined", "seconds", "cores busy", "rows per second"],
        rows,
        numeric=(1, 2, 3, 4, 5, 6),
    )


def _cores(stage: Mapping[str, Any]) -> float | None:
    """Processor seconds per wall second of a stage (runs recorded before it was measured: none)."""
    cpu, wall = (stage.get("extra") or {}).get("cpu_seconds"), stage.get("seconds")
    return cpu / wall if cpu is not None and wall else None


def _estimates(d: Mapping[str, Any]) -> str:
    est = d["diagnostics"].get("estimates") or {}
    prior = d["diagnostics"]["prior"]
    rows = [
        ["estimated precision of the links", _pct(est.get("precision"))],
        ["estimated recall (among candidate pairs)", _pct(est.get("recall"))],
        [
            "estimated precision of the customers (all record pairs inside them)",
            _pct(est.get("cluster_precision")),
        ],
        [
            "estimated recall of the customers (of all expected matching pairs)",
            _pct(est.get("cluster_recall")),
        ],
        ["expected matching pairs", _n(est.get("expected_matching_pairs"))],
        ["links accepted", _n(d["summary"]["links"])],
        [
            "links by rule",
            ", ".join(f"{_e(k)}: {_n(v)}" for k, v in d["summary"]["links_by_rule"].items())
            or "&ndash;",
        ],
        ["links refused by the clustering guard or coherence", _n(d["summary"]["refused_links"])],
        ["candidate pairs scored", _n(d["summary"]["candidate_pairs"])],
        [
            "prior λ (share of matches among all pairs)",
            f"{prior['lambda']:.3g}" if prior.get("lambda") is not None else "&ndash;",
        ],
        ["EM iterations / converged", f"{_n(prior['iterations'])} / {_n(prior['converged'])}"],
    ]
    warnings = d["diagnostics"].get("model_warnings") or []
    warn = (
        "<ul>" + "".join(f"<li class='sev-warning'>{_e(w)}</li>" for w in warnings) + "</ul>"
        if warnings
        else "<p>No model warnings.</p>"
    )
    return (
        "<h3>Match quality, estimated without labels</h3>"
        + _table(["", ""], rows)
        + "<h3>Model warnings</h3>"
        + warn
    )


def _schema(d: Mapping[str, Any]) -> str:
    rows = [
        [
            _e(s["source"]),
            f'<span class="sev-{_e(n["severity"])}">{_e(n["severity"])}</span>',
            _e(n["kind"].replace("_", " ")),
            _e(n["column"]),
            _e(n["detail"]),
        ]
        for s in d["sources"]
        for n in s["schema_notices"]
    ]
    return "<h3>Schema changes</h3>" + _table(
        ["source", "severity", "change", "column", "detail"], rows, empty="No schema changes."
    )


def _quarantine(d: Mapping[str, Any]) -> str:
    rows = [
        [_e(s["source"]), _e(r["reason"]), _n(r["rows"])]
        for s in d["sources"]
        for r in s["quarantine_reasons"]
    ]
    return "<h3>Quarantine reasons</h3>" + _table(
        ["source", "reason", "rows"], rows, numeric=(2,), empty="No rows were quarantined."
    )


def _near_misses(d: Mapping[str, Any]) -> str:
    nm = d["diagnostics"]["near_misses"]
    comps = nm.get("comparisons", [])
    labels = {
        (str(p["comparison"]), p["level"]): str(p["label"])
        for p in d["diagnostics"].get("parameters") or []
    }

    def level(c: str, lv: Any) -> str:
        if lv is None or lv == -1:
            return "<span class='muted'>missing</span>"
        return _e(labels.get((c, lv), lv))

    rows = [
        [
            f"{_e(r['source_l'])}:{_e(r['record_id_l'])}",
            f"{_e(r['source_r'])}:{_e(r['record_id_r'])}",
            _n(r["match_weight"], 2),
            _n(r["match_probability"], 3),
            _e(r.get("rule") or ""),
            *(level(c, r.get(f"gamma_{c}")) for c in comps),
        ]
        for r in nm.get("rows", [])
    ]
    note = (
        f"<p class='muted'>Pairs the model is unsure about (probability between 0.05 and 0.95), "
        f"closest to the threshold first: {_n(nm.get('shown'))} of {_n(nm.get('count'))} shown; "
        "all are in <code>report_tables/near_misses.parquet</code>. Each comparison column "
        "says how the two records compare (missing: one of them has no value).</p>"
    )
    return (
        "<h3>Near misses</h3>"
        + note
        + _table(
            ["left", "right", "weight", "probability", "rule", *comps],
            rows,
            numeric=(2, 3),
            empty="No near misses.",
        )
    )


def _clusters(d: Mapping[str, Any]) -> str:
    masked = d["run"].get("pii") == "mask"
    out = [
        "<h3>Largest customers</h3><p class='muted'>The records joined into the largest "
        "customers. Very large groups can mean wrong merges (chains)."
        + (" Personal values are masked." if masked else "")
        + "</p>"
    ]
    clusters = d["diagnostics"].get("largest_clusters") or []
    if not clusters:
        out.append("<p class='muted'>No customer has more than one record.</p>")
    for c in clusters:
        recs = c["records"]
        cols = [
            k for k in (recs[0].keys() if recs else []) if any(r.get(k) is not None for r in recs)
        ]
        rows = [[_e(r.get(k)) for k in cols] for r in recs]
        rules = ", ".join(f"{_e(k)}: {_n(v)}" for k, v in c["links_by_rule"].items())
        more = (
            f"<p class='muted'>{_n(c['records_not_shown'])} more records not shown.</p>"
            if c["records_not_shown"]
            else ""
        )
        out.append(
            f"<details><summary>{_e(c['customer_id'])} — {_n(c['size'])} records from "
            f"{_e(', '.join(c['sources']))}</summary><p class='muted'>links: {rules or '&ndash;'}"
            f"</p>{_table(cols, rows)}{more}</details>"
        )
    return "".join(out)


def _junk(d: Mapping[str, Any]) -> str:
    rows = [
        [_e(j["column"]), f"<code>{_e(j['value'])}</code>", _n(j["records"]), _e(j["reason"])]
        for j in d["diagnostics"].get("junk") or []
    ]
    refused = d["diagnostics"].get("refused_links") or {}
    ref_rows = [[_e(k), _n(v)] for k, v in (refused.get("by_reason") or {}).items()]
    return (
        "<h3>Junk values ignored for matching</h3>"
        + _table(
            ["column", "value", "records", "reason"],
            rows,
            numeric=(2,),
            empty="No junk values found.",
        )
        + "<h3>Links refused by the clustering guard or coherence</h3>"
        + _table(["reason", "links"], ref_rows, numeric=(1,), empty="No links refused.")
    )


def _lineage(d: Mapping[str, Any]) -> str:
    lin = d.get("lineage") or {}
    rows = [
        [f"<code>{_e(t['path'])}</code>", _n(t["rows"])] for t in (lin.get("tables") or {}).values()
    ]
    profiles = (
        "Golden values are traced to their source record in <code>lineage_values</code>."
        if lin.get("profiles")
        else "No golden profiles in this run: values are not traced."
    )
    return (
        "<h3>Lineage</h3><p>Each customer's source records and the links (rule or match weight) "
        f"that joined them. {profiles}</p>" + _table(["table", "rows"], rows, numeric=(1,))
    )


# ------------------------------------------------------------------------------ trends


def _pct_text(value: float) -> str:
    """A share as a percentage with at most two decimals: ``0.0125`` → ``1.25%``."""
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _dur_text(seconds: Any) -> str:
    return "none" if seconds is None else _dur(seconds)


#: Units for a chart of durations: (seconds per unit, name), by the largest value shown.
_UNITS = ((60.0, "minutes"), (3600.0, "hours"), (86400.0, "days"))


def _unit(largest: float) -> tuple[float, str]:
    if largest < 120:
        return 1.0, "seconds"
    if largest < 2 * 3600:
        return _UNITS[0]
    if largest < 2 * 86400:
        return _UNITS[1]
    return _UNITS[2]


def _run_labels(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """X labels: the time of day when every run finished the same day, else the date."""
    stamps = [str(r.get("finished_at") or "") for r in runs]
    days = {t[:10] for t in stamps}
    if len(days) == 1:
        return [t[11:16] for t in stamps]
    return [t[:10] for t in stamps]


def _scaled(value: Any, per: float) -> float | None:
    return None if value is None else float(value) / per


def _trend_charts(h: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> list[str]:
    labels = _run_labels(runs)
    same_day = len({str(r.get("finished_at") or "")[:10] for r in runs}) == 1
    x_title = "runs, oldest to latest (finished at, UTC)" if same_day else "runs, oldest to latest"
    at = [f"run {r.get('run_id')} · {_when_text(r.get('finished_at'))}" for r in runs]
    flags = [
        (
            i,
            f"{at[i]}: failed"
            + (f" in stage {r['failed_stage']}" if r.get("failed_stage") else ""),
        )
        for i, r in enumerate(runs)
        if r.get("status") == "failed"
    ]
    draw = partial(
        line_chart, x_labels=labels, x_title=x_title, flags=flags, flag_name="failed run"
    )
    index = {str(r.get("run_id")): i for i, r in enumerate(runs)}
    charts = []

    customers = [r.get("customers") for r in runs]
    charts.append(
        draw(
            [
                Line(
                    "customers",
                    customers,
                    tips=[
                        f"{a}: {c:,} customers" if c is not None else a
                        for a, c in zip(at, customers, strict=True)
                    ],
                )
            ],
            title="Customers per run",
            y_title="customers",
            zero=False,
        )
    )

    per_source = []
    for k, s in enumerate(h.get("sources") or []):
        rows: list[float | None] = [None] * len(runs)
        tips = list(at)
        for p in s.get("points") or []:
            i = index.get(str(p.get("run_id")))
            if i is None or p.get("rows_read") is None:
                continue
            rows[i] = float(p["rows_read"])
            quarantined = p.get("rows_quarantined")
            tips[i] = f"{s['source']} · {at[i]}: {p['rows_read']:,} rows read" + (
                f", {quarantined:,} quarantined" if quarantined else ""
            )
        per_source.append(Line(str(s["source"]), rows, color=PALETTE[k % len(PALETTE)], tips=tips))
    charts.append(draw(per_source, title="Records read per source", y_title="rows read"))

    for key, title, name, y_title in (
        ("quarantine_rate", "Quarantine rate per run", "quarantine rate", "rows set aside"),
        ("id_churn", "ID churn per run", "ID churn", "customers merged, split or retired"),
    ):
        vals = [r.get(key) for r in runs]
        charts.append(
            draw(
                [
                    Line(
                        name,
                        vals,
                        color=ORANGE if key == "quarantine_rate" else BLUE,
                        tips=[
                            f"{a}: {name} {_pct_text(v)}" if v is not None else a
                            for a, v in zip(at, vals, strict=True)
                        ],
                    )
                ],
                title=title,
                y_title=y_title,
                y_format=_pct_text,
            )
        )
    charts.append(_incident_chart(h, runs))
    charts.extend(_freshness_trends(h, runs, index, at, draw))
    return charts


def _freshness_trends(
    h: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    index: Mapping[str, int],
    at: Sequence[str],
    draw: Callable[..., str],
) -> list[str]:
    """One chart per source: the age of its newest record, its SLA and its SLO (dashed)."""
    charts = []
    for s in h.get("sources") or []:
        points = [(index.get(str(p.get("run_id"))), p) for p in s.get("points") or []]
        known = [(i, p) for i, p in points if i is not None]
        largest = max(
            (
                float(p[k])
                for _, p in known
                for k in ("lag_seconds", "sla_seconds", "slo_seconds")
                if p.get(k) is not None
            ),
            default=0.0,
        )
        per, unit = _unit(largest)
        lag: list[float | None] = [None] * len(runs)
        sla: list[float | None] = [None] * len(runs)
        slo: list[float | None] = [None] * len(runs)
        colors = [BLUE] * len(runs)
        tips = list(at)
        for i, p in known:
            lag[i] = _scaled(p.get("lag_seconds"), per)
            sla[i] = _scaled(p.get("sla_seconds"), per)
            slo[i] = _scaled(p.get("slo_seconds"), per)
            limits = [float(p[k]) for k in ("sla_seconds", "slo_seconds") if p.get(k) is not None]
            late = p.get("lag_seconds") is not None and any(p["lag_seconds"] > x for x in limits)
            colors[i] = RED if late else BLUE
            tips[i] = (
                f"{s['source']} · {at[i]}: newest record {_dur_text(p.get('lag_seconds'))} old "
                f"(SLA {_dur_text(p.get('sla_seconds'))}, SLO {_dur_text(p.get('slo_seconds'))})"
                + (" — late" if late else "")
            )
        lines = [Line("age of the newest record", lag, color=BLUE, tips=tips, colors=colors)]
        if any(v is not None for v in sla):
            lines.append(Line("SLA", sla, color=INK, dashed=True))
        if any(v is not None for v in slo):
            lines.append(Line("SLO", slo, color=RED, dashed=True))
        charts.append(
            draw(
                lines,
                title=f"Freshness of {s['source']}",
                y_title=f"age ({unit})",
                y_format=lambda v: f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}",
            )
        )
    return charts


def _weeks(h: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Incidents per week, with the weeks without any between the first run and the last."""
    found = {str(w["week"]): w for w in h.get("incidents_per_week") or []}
    mondays = set(found)
    for r in (runs[0], runs[-1]):
        try:
            day = date.fromisoformat(str(r.get("finished_at") or "")[:10])
        except ValueError:
            continue
        mondays.add((day - timedelta(days=day.weekday())).isoformat())
    try:
        first, last = date.fromisoformat(min(mondays)), date.fromisoformat(max(mondays))
    except ValueError:
        return [found[k] for k in sorted(found)]
    count = (last - first).days // 7 + 1
    if count > 520:  # ten years: only the weeks that had incidents
        return [found[k] for k in sorted(found)]
    out = []
    for k in range(count):
        key = (first + timedelta(days=7 * k)).isoformat()
        out.append(
            found.get(key)
            or {"week": key, "opened": 0, "resolved": 0, "mean_time_to_resolve_seconds": None}
        )
    return out


def _incident_chart(h: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> str:
    bars = []
    for w in _weeks(h, runs):
        opened, resolved = int(w.get("opened") or 0), int(w.get("resolved") or 0)
        ttr = w.get("mean_time_to_resolve_seconds")
        tip = f"week of {w['week']}: {opened:,} opened, {resolved:,} resolved" + (
            f", mean time to resolve {_dur(ttr)}" if ttr is not None else ""
        )
        bars.append(Bar(str(w["week"]), float(opened), ORANGE, tip))
    return bar_chart(
        bars,
        title="Incidents opened per week",
        x_title="week (starting Monday)",
        y_title="incidents opened",
        width=500,
        height=240,
        max_labels=5,
        max_bar_width=40,
    )


def _slo_table(h: Mapping[str, Any]) -> str:
    rows, classes = [], []
    for s in h.get("slos") or []:
        met = bool(s.get("met"))
        left = s.get("error_budget_remaining")
        if left is None:
            budget = "&ndash;" if met else '<span class="sev-error">none allowed</span>'
        elif left < 0:
            budget = f'<span class="sev-error">overspent ({_pct(left, 0)})</span>'
        else:
            budget = _pct(left, 0)
        rows.append(
            [
                _e(s.get("objective")),
                _e(s.get("source") or "all"),
                f"{_n(s.get('good'))} / {_n(s.get('runs'))}",
                _pct(s.get("attainment"), 2),
                _pct(s.get("target"), 2),
                '<span class="dot fresh"></span>met'
                if met
                else '<span class="dot stale"></span><b>breached</b>',
                budget,
            ]
        )
        classes.append("" if met else "breached")
    return "<h3>Service-level objectives</h3>" + _table(
        ["objective", "source", "good runs", "attainment", "target", "status", "error budget left"],
        rows,
        numeric=(2, 3, 4, 6),
        empty="No objectives declared ([slo] in c360.toml).",
        row_classes=classes,
    )


def _open_incidents(h: Mapping[str, Any]) -> str:
    items = h.get("open_incidents") or []
    mttr = h.get("mean_time_to_resolve_seconds")
    text = (
        f"<p>{_n(len(items))} incident{'s' if len(items) != 1 else ''} open across runs; "
        f"mean time to resolve {_dur(mttr) if mttr is not None else '&ndash; (none resolved yet)'}."
        "</p>"
    )
    if not items:
        return text
    lis = "".join(
        f'<li><span class="sev-{_e(i.get("severity"))}">{_e(i.get("severity"))}</span> · '
        f"{_e(str(i.get('kind') or '').replace('_', ' '))}"
        f"{' (' + _e(i['source']) + ')' if i.get('source') else ''}, open since "
        f"{_when(i.get('opened_at'))}: {_e(i.get('message'))}</li>"
        for i in items
    )
    return f"{text}<ul class='incidents'>{lis}</ul>"


def _trends(d: Mapping[str, Any]) -> str:
    """The ``history`` section: trends over the recorded runs (nothing with fewer than two)."""
    h = d.get("history")
    if not isinstance(h, Mapping):
        return ""
    runs = [r for r in h.get("runs") or [] if isinstance(r, Mapping)]
    if len(runs) < 2:
        return ""
    failed = sum(1 for r in runs if r.get("status") == "failed")
    total = h.get("runs_total") or len(runs)
    shown = f"the latest {_n(len(runs))} of {_n(total)}" if total > len(runs) else _n(len(runs))
    intro = (
        f"<p class='muted'>{shown} recorded runs, from {_when(runs[0].get('finished_at'))} to "
        f"{_when(runs[-1].get('finished_at'))}; {_n(failed)} failed"
        + (" (red bands)" if failed else "")
        + ". Hover a point for its figures.</p>"
    )
    charts = "".join(f"<div class='chart-box'>{c}</div>" for c in _trend_charts(h, runs))
    return (
        f"<h2>Trends</h2>{intro}<div class='charts trends'>{charts}</div>"
        f"<h3>Incidents across runs</h3>{_open_incidents(h)}{_slo_table(h)}"
    )


# ------------------------------------------------------------------------------ metrics


def _metric_value(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    v = float(value)
    if kind in ("ratio", "derived") and abs(v) < 1:
        return _pct_text(v)
    return _n(v) if v.is_integer() else _n(v, 2)


def _customer_metrics(d: Mapping[str, Any]) -> str:
    """The ``customer_metrics`` section: declared metrics, latest periods, with charts."""
    cm = d.get("customer_metrics")
    if not isinstance(cm, Mapping) or not cm.get("metrics"):
        return ""
    metrics = [m for m in cm["metrics"] if isinstance(m, Mapping)]
    periods = list(metrics[0].get("periods") or [])
    stocks = [m for m in metrics if m.get("type") in ("active", "retained")]
    flows = [m for m in metrics if m.get("type") in ("new", "churned")]
    charts = []
    for group, title in (
        (stocks, "Customers at the end of each period"),
        (flows, "Customers won and lost"),
    ):
        if not group:
            continue
        lines = [
            Line(str(m["metric"]), list(m["values"]), color=PALETTE[k % len(PALETTE)])
            for k, m in enumerate(group)
        ]
        charts.append(
            line_chart(
                lines,
                title=title,
                x_labels=periods,
                x_title=f"period ({cm.get('grain')})",
                y_title="customers",
            )
        )
    counts = stocks + flows
    for m in [m for m in metrics if m not in counts][:4]:
        fmt = partial(_metric_value, kind=str(m.get("type")))
        charts.append(
            line_chart(
                [Line(str(m["metric"]), list(m["values"]))],
                title=f"{m['metric']} {m['version']}",
                x_labels=list(m.get("periods") or []),
                x_title=f"period ({cm.get('grain')})",
                y_title=str(m["metric"]),
                y_format=fmt,
                zero=False,
            )
        )
    last = periods[-3:]
    rows = [
        [
            f"<span title='{_e(m.get('description'))}'>{_e(m['metric'])}</span>",
            _e(m["version"]),
            f"<code>{_e(m['definition_hash'])}</code>",
            _e(m.get("owner") or "-"),
            *(
                _metric_value(dict(zip(m["periods"], m["values"], strict=False)).get(p), m["type"])
                for p in last
            ),
        ]
        for m in metrics
    ]
    table = _table(
        ["metric", "version", "definition", "owner", *last],
        rows,
        numeric=range(4, 4 + len(last)),
    )
    notes = []
    if cm.get("split"):
        notes.append(
            f"Split by dimension or cohort, in metrics.parquet: {_e(', '.join(cm['split']))}."
        )
    for u in cm.get("unresolved") or []:
        lost = (
            int(u.get("unresolved") or 0)
            + int(u.get("ambiguous") or 0)
            + int(u.get("no_time") or 0)
        )
        if lost:
            notes.append(
                f"Unresolved events in {_e(u['semantic_model'])}: "
                f"{_n(lost)} of {_n(u['rows'])} rows "
                f"({_n(u['unresolved'])} match no customer, {_n(u['ambiguous'])} match several, "
                f"{_n(u['no_time'])} have no time); they are in no metric."
            )
    where = f" from <code>{_e(cm['definitions'])}</code>" if cm.get("definitions") else ""
    intro = (
        f"<p class='muted'>Metrics declared once{where}, computed over this run's unified "
        "customers. Every value carries its metric's version and definition hash.</p>"
    )
    boxes = "".join(f"<div class='chart-box'>{c}</div>" for c in charts)
    return f"<h2>Customer metrics</h2>{intro}<div class='charts'>{boxes}</div>{table}" + "".join(
        f"<p class='muted'>{n}</p>" for n in notes
    )


def render_html(report: Any) -> str:
    """Render the report as one self-contained HTML page.

    Args:
        report: a [`RunReport`][c360.report.RunReport] or the ``report.json`` content.

    Examples:
        >>> import polars as pl, c360
        >>> from c360.report import build_report
        >>> df = pl.DataFrame({"source": ["a", "b"], "record_id": ["1", "2"],
        ...                    "email": ["x@y.io", "x@y.io"], "first_name": ["Al", "Al"]})
        >>> page = render_html(build_report(c360.resolve(df)))
        >>> page.startswith("<!DOCTYPE html>"), "http" in page.split("<body")[0]
        (True, False)

    """
    d: Mapping[str, Any] = getattr(report, "data", report)
    css = (files("c360.report") / "assets" / "report.css").read_text(encoding="utf-8")
    body = "".join(
        [
            _top(d),
            _incidents(d),
            _sources_table(d),
            _trends(d),
            _customer_metrics(d),
            "<h2>Details</h2>",
            _charts(d),
            _estimates(d),
            _run_details(d),
            _stages(d),
            _schema(d),
            _quarantine(d),
            _near_misses(d),
            _clusters(d),
            _junk(d),
            _lineage(d),
        ]
    )
    title = f"c360 run report {d['run']['run_id']}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{css}</style></head>"
        f"<body><main>{body}</main><script>{_SCRIPT}</script></body></html>\n"
    )
