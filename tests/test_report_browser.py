"""report.html in headless Chromium: the page draws its charts offline; a screenshot is kept.

Skips when Chromium is missing, except under CI (``CI`` set), where it fails:
``scripts/test.sh`` installs the Debian ``chromium`` package.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import c360
from c360.datasets import generate_people
from c360.observe import write_report

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    res = c360.resolve(generate_people(400, seed=5).records, run_id="browser-test")
    write_report(res, out)
    return out / "report.html"


def test_report_draws_its_charts_offline(chromium, page, tmp_path):
    done = chromium(tmp_path / "profile", "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Customer 360 run report" in dom
    # the inline script counts the marks the browser laid out with a non-zero size
    drawn = re.search(r'data-rendered-marks="(\d+)"', dom)
    charts = re.search(r'data-charts="(\d+)"', dom)
    assert drawn, "the page's script did not run"
    assert charts, "the page's script did not run"
    marks_in_dom = dom.count('class="mark"')
    assert int(charts.group(1)) >= 4  # weight histogram, cluster sizes, freshness, m/u ...
    assert int(drawn.group(1)) > 50
    assert int(drawn.group(1)) == marks_in_dom  # every mark has a size on screen


def test_report_screenshot(chromium, page, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = chromium(
        tmp_path / "profile",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank page compresses to a few kB
