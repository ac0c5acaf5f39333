"""Bounded reprs and notebook displays of the public objects."""

from __future__ import annotations

import html
import re

import polars as pl
import pytest

import c360
from c360.cli import _read_config
from c360.contracts import canonical_contract
from c360.datasets import demo_dir
from c360.incremental import ResolutionState
from c360.testing import sample_people

MAX_LINES = 25


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    small = sample_people(60, seed=1)
    large = sample_people(1500, seed=1)
    out = tmp_path_factory.mktemp("run")
    res_large = c360.resolve(large.records)
    res_large.write(out)
    return c360.resolve(small.records), res_large, large, out


def _bounded(text: str) -> None:
    lines = text.splitlines()
    assert 1 <= len(lines) <= MAX_LINES, text
    assert all(len(line) <= 100 for line in lines), text


def test_resolution_repr_is_one_screen_whatever_the_size(runs):
    small, large, people, _ = runs
    for res in (small, large):
        text = repr(res)
        _bounded(text)
        assert text.startswith(f"c360 Resolution · run {res.run_id}")
        assert f"{res.customers:,}" in text
        assert f"{res.links.num_rows:,}" in text
    assert len(repr(large).splitlines()) == len(repr(small).splitlines())
    # far from the 22,000 characters of the dataclass repr it replaces
    assert len(repr(large)) < 1000
    # no personal value: none of the records' e-mails or names appear
    emails = people.records["email"].drop_nulls().head(200).to_list()
    shown = repr(large) + large._repr_html_()
    assert not any(e in shown for e in emails)


def test_resolution_html_shows_sources_freshness_and_estimates(tmp_path):
    cfg, sources = _read_config(demo_dir() / "sources.toml")
    res = c360.resolve(list(sources), config=cfg)
    page = res._repr_html_()
    assert page.startswith('<div class="c360-display"')
    for name in ("crm", "billing", "marketing", "support"):
        assert f">{name}<" in page
    assert "SLA" in page and ("late" in page or "on time" in page)
    assert "estimated" in page and "precision" in page
    assert len(page) < 10_000


def test_report_renders_inline_in_a_sandboxed_frame_without_network(runs):
    small, *_ = runs
    rep = small.report()
    _bounded(repr(rep))
    frame = rep._repr_html_()
    assert frame.startswith('<iframe sandbox="" srcdoc="')
    page = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert f"c360 run report {small.run_id}" in page
    assert "<script src" not in page and "http://" not in page.split("xmlns")[0]


def test_model_repr_and_chart(runs):
    small, large, *_ = runs
    for model in (small.model, large.model):
        _bounded(repr(model))
        assert "exact" in repr(model) and "EM iterations" in repr(model)
    page = large.model._repr_html_()
    assert page.count("<svg") == min(len(large.model.comparisons), 12)
    assert "m (dark), u (light)" in page


def test_config_source_contract_reprs_are_short_and_escaped():
    cfg, sources = _read_config(demo_dir() / "sources.toml")
    for obj in (cfg, c360.ResolveConfig(), canonical_contract(), *sources):
        _bounded(repr(obj))
        assert obj._repr_html_().startswith('<div class="c360-display"')
    assert "chosen from the data" in repr(c360.ResolveConfig())
    assert "18 (2 required" in repr(canonical_contract())
    frame = pl.DataFrame({"record_id": ["1"], "email": ["a@b.io"]})
    odd = c360.Source(name="web", data=frame, description="<script>alert(1)</script>")
    assert "a polars DataFrame in memory" in repr(odd)
    assert "<script>" not in odd._repr_html_()
    assert "&lt;script&gt;" in odd._repr_html_()


def test_state_and_batch_reprs(runs):
    _, _, people, out = runs
    state = ResolutionState.load(out)
    _bounded(repr(state))
    assert "0 batches" in repr(state)
    batch = state.resolve(people.records.head(3))
    _bounded(repr(batch))
    assert "3 (accepted 3, quarantined 0)" in repr(batch)
    assert "1 batches, 3 records resolved (not saved)" in repr(state)
    assert batch._repr_html_().count("<tr>") >= 4
