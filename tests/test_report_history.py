"""The Trends section of report.html, drawn from the run history once it holds two runs.

Histories are real: outputs written several times into one directory (the run
history records itself in ``history.sqlite``), a failed run recorded between
writes, and 1,000 runs recorded from one report for the timing test.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import c360
from c360.datasets import generate_people
from c360.history import RunHistory, SloConfig, record_failure, trends
from c360.report import build_report, render_html
from c360.report._svg import Line, line_chart

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# the objectives of the small history: 3 of 4 runs succeed (breached), every
# newest record is younger than 3,000 days (met)
SLO = SloConfig.from_dict({"success_rate": 0.99, "freshness": {"*": "3000d"}})
LINE_CHARTS = (
    "Customers per run",
    "Records read per source",
    "Quarantine rate per run",
    "ID churn per run",
)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """Three successful runs written into one directory, a failed one between the first two."""
    d = tmp_path_factory.mktemp("trends") / "out"
    c360.resolve(generate_people(150, seed=1).records, run_id="trend-1").write(d, slo=SLO)
    record_failure(ValueError("x"), d, slo=SLO, run_id="trend-failed", stage="load")
    c360.resolve(generate_people(170, seed=2).records, run_id="trend-2").write(d, slo=SLO)
    c360.resolve(generate_people(190, seed=3).records, run_id="trend-3").write(d, slo=SLO)
    return d


@pytest.fixture(scope="module")
def doc(out) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(out) -> str:
    return (out / "report.html").read_text(encoding="utf-8")


def _trends(page: str) -> str:
    assert "<h2>Trends</h2>" in page
    return page.split("<h2>Trends</h2>")[1].split("<h2>Details</h2>")[0]


def _svg(section: str, title: str) -> str:
    m = re.search(
        rf'<svg class="chart" role="img" aria-label="{re.escape(title)}".*?</svg>', section
    )
    assert m, f"no chart {title!r}"
    return m.group(0)


def test_trends_section_shows_every_chart(doc, page):
    h = doc["history"]
    assert [r["run_id"] for r in h["runs"]] == ["trend-1", "trend-failed", "trend-2", "trend-3"]
    section = _trends(page)
    # between the sources table and the details
    assert page.index("<h2>Sources</h2>") < page.index("<h2>Trends</h2>")
    assert "4 recorded runs" in section and "1 failed" in section
    for title in (*LINE_CHARTS, "Incidents opened per week"):
        _svg(section, title)
    for s in h["sources"]:
        chart = _svg(section, f"Freshness of {s['source']}")
        assert "age of the newest record" in chart
        assert "SLO" in chart and "stroke-dasharray" in chart  # the objective, dashed


def test_charts_reflect_the_recorded_numbers(doc, page):
    h = doc["history"]
    section = _trends(page)
    customers = _svg(section, "Customers per run")
    ok = [r for r in h["runs"] if r["status"] == "succeeded"]
    assert len(ok) == 3
    for r in ok:
        assert f"run {r['run_id']} · " in customers
        assert f"{r['customers']:,} customers</title>" in customers
    assert customers.count('class="mark"') == 3  # the failed run has no customer count
    assert doc["summary"]["customers"] == ok[-1]["customers"]
    records = _svg(section, "Records read per source")
    for s in h["sources"]:
        assert len(s["points"]) == 3
        for p in s["points"]:
            assert f"{s['source']} · run {p['run_id']} · " in records
            assert f": {p['rows_read']:,} rows read" in records
    quarantine = _svg(section, "Quarantine rate per run")
    assert quarantine.count('class="mark"') == 3
    assert "quarantine rate 0%" in quarantine
    churn = _svg(section, "ID churn per run")
    assert churn.count('class="mark"') == sum(1 for r in ok if r["id_churn"] is not None)
    weeks = _svg(section, "Incidents opened per week")
    w = h["incidents_per_week"][-1]
    assert f"week of {w['week']}: {w['opened']:,} opened, {w['resolved']:,} resolved" in weeks
    # the failed run opened an incident; the next successful run resolved it
    assert sum(x["opened"] for x in h["incidents_per_week"]) >= 1
    assert "mean time to resolve" in section


def test_failed_run_is_marked_in_every_run_chart(page):
    section = _trends(page)
    runs_charts = [
        *LINE_CHARTS,
        *(t for t in re.findall(r'aria-label="(Freshness of [^"]+)"', section)),
    ]
    assert len(runs_charts) >= 5
    for title in runs_charts:
        chart = _svg(section, title)
        flags = re.findall(r'<rect class="flag"[^>]*><title>([^<]*)</title>', chart)
        assert len(flags) == 1, title
        assert flags[0].startswith("run trend-failed · ")
        assert flags[0].endswith("failed in stage load")
        assert "failed run" in chart  # in the legend


def test_slo_table_highlights_breached_objectives(doc, page):
    section = _trends(page)
    table = section.split("<h3>Service-level objectives</h3>")[1]
    rows = re.findall(r"<tr(?: class=\"(\w+)\")?>(.*?)</tr>", table.split("</table>")[0])
    body = rows[1:]  # after the header
    slos = doc["history"]["slos"]
    assert len(body) == len(slos)
    for s, (cls, cells) in zip(slos, body, strict=True):
        assert s["objective"].replace("%", "") in cells.replace("%", "")
        if s["met"]:
            assert cls == ""
            assert ">met<" in cells.replace("</span>", ">")
        else:
            assert cls == "breached"
            assert "<b>breached</b>" in cells
            assert f"{s['attainment'] * 100:.2f}%" in cells
    success = next(s for s in slos if s["name"] == "success_rate")
    assert not success["met"] and success["good"] == 3 and success["runs"] == 4
    assert "overspent" in table  # 1 bad run of an allowance of 0.04
    freshness = [s for s in slos if s["name"] == "freshness"]
    assert freshness and all(s["met"] for s in freshness)


def test_single_run_has_no_trends(tmp_path):
    d = tmp_path / "one"
    c360.resolve(generate_people(80, seed=7).records, run_id="only").write(d)
    data = json.loads((d / "report.json").read_text(encoding="utf-8"))
    assert "history" not in data
    page = (d / "report.html").read_text(encoding="utf-8")
    assert "Trends" not in page and 'class="flag"' not in page
    # a history of one run, or none, changes nothing on the page
    one = {"runs_total": 1, "runs": [{"run_id": "only", "status": "succeeded"}], "sources": []}
    assert render_html({**data, "history": one}) == render_html(data) == page


def test_history_texts_are_escaped(doc):
    evil = "<img src=x onerror=alert(1)>"
    data = copy.deepcopy(doc)
    h = data["history"]
    h["runs"][0]["run_id"] = evil
    h["runs"][1]["failed_stage"] = evil
    h["sources"][0]["source"] = evil
    h["slos"][0]["objective"] = evil
    h["open_incidents"] = [
        {
            "kind": "stale_source",
            "source": evil,
            "opened_at": "2025-01-01T00:00:00Z",
            "severity": "error",
            "message": evil,
        }
    ]
    page = render_html(data)
    section = _trends(page)
    assert "<img" not in section
    assert section.count("&lt;img src=x onerror=alert(1)&gt;") >= 5


def test_line_chart_thins_long_series_and_merges_flags():
    n = 5000
    values = [float(i % 100) for i in range(n)]
    values[1234] = 1000.0  # a spike survives thinning
    svg = line_chart(
        [Line("load", values), Line("limit", [500.0] * n, dashed=True)],
        title="Long <series>",
        x_labels=[f"r{i}" for i in range(n)],
        flags=[(i, f"r{i} failed") for i in range(2000, 2100)],
        flag_name="failed run",
    )
    assert "Long &lt;series&gt;" in svg
    polylines = re.findall(r'points="([^"]*)"', svg)
    assert len(polylines) == 2
    assert all(len(p.split()) <= 420 for p in polylines)
    assert 60 <= svg.count('class="mark"') <= 61  # every k-th value and the last
    assert "r4999 · load: 99" in svg
    assert svg.count('class="flag"') == 1  # 100 adjacent failed runs: one band
    assert "and 97 more" in svg
    ys = [float(pt.split(",")[1]) for pt in polylines[0].split()]
    assert min(ys) < 60  # the spike is near the top of the plot


def _thousand_runs(where: Path) -> Path:
    base = build_report(c360.resolve(generate_people(60, seed=4).records, run_id="base")).data
    keys = ("run", "summary", "sources", "diagnostics", "contracts", "stages", "incidents")
    slim = {k: copy.deepcopy(base[k]) for k in keys}
    slim["diagnostics"] = {"estimates": base["diagnostics"].get("estimates")}
    slo = SloConfig.from_dict({"success_rate": 0.95, "freshness": {"*": "900d"}, "id_churn": 0.2})
    start = datetime.now(UTC) - timedelta(hours=1000)
    with RunHistory.open(where) as h:
        for i in range(1000):
            when = start + timedelta(hours=i)
            if i % 97 == 13:
                h.record_failure(
                    ValueError("x"), run_id=f"run-{i:04d}", stage="load", finished_at=when, slo=slo
                )
                continue
            d = copy.deepcopy(slim)
            d["run"]["run_id"] = f"run-{i:04d}"
            d["run"]["finished_at"] = when.isoformat().replace("+00:00", "Z")
            d["summary"]["customers"] = 1000 + i
            d["summary"]["id_changes"] = {"merged_into": i % 7}
            for s in d["sources"]:
                s["rows_read"] += i % 11
            d["incidents"] = (
                [
                    {
                        "kind": "stale_source",
                        "severity": "error",
                        "source": "crm",
                        "message": "crm is stale",
                    }
                ]
                if i % 40 < 3
                else []
            )
            assert h.record(d, slo=slo)
    return where


def test_thousand_runs_render_in_under_a_second(tmp_path):
    t = time.perf_counter()
    where = _thousand_runs(tmp_path)
    recorded = time.perf_counter() - t
    data = build_report(c360.resolve(generate_people(60, seed=4).records, run_id="now")).data
    with RunHistory.open(where) as h:
        t = time.perf_counter()
        data["history"] = trends(h)
        built = time.perf_counter() - t
        page = render_html(data)
        took = time.perf_counter() - t
    print(
        f"1,000 runs: recorded in {recorded:.2f} s; trends {built:.3f} s, "
        f"trends + render_html {took:.3f} s, page {len(page):,} characters"
    )
    assert took < 1.0
    assert data["history"]["runs_total"] == 1000
    section = _trends(page)
    assert "1,000 recorded runs" in section and "11 failed" in section
    assert "run run-0999 · " in section and "1,999 customers</title>" in section
    # thinned: no chart carries anything like one mark per run
    for title in LINE_CHARTS:
        assert _svg(section, title).count('class="mark"') <= 61 * 4
    assert len(page) < 1_000_000


# ------------------------------------------------------------------ headless Chromium


def test_trends_drawn_in_headless_chromium(chromium, out, page, tmp_path):
    done = chromium(
        tmp_path / "profile",
        "--virtual-time-budget=3000",
        "--dump-dom",
        (out / "report.html").as_uri(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    section = _trends(dom)
    for title in (*LINE_CHARTS, "Incidents opened per week"):
        _svg(section, title)
    assert section.count("<polyline") >= 4
    assert 'class="flag"' in section
    # the page's script counts the marks laid out with a non-zero size: all of them
    drawn = re.search(r'data-rendered-marks="(\d+)"', dom)
    charts = re.search(r'data-charts="(\d+)"', dom)
    assert drawn and charts, "the page's script did not run"
    assert int(drawn.group(1)) == dom.count('class="mark"')
    assert int(charts.group(1)) == page.count('<svg class="chart"')
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-trends.png"
    shot.unlink(missing_ok=True)
    done = chromium(
        tmp_path / "profile-shot",
        "--window-size=1280,2600",
        f"--screenshot={shot}",
        (out / "report.html").as_uri(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
