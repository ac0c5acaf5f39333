"""Stage events, the c360 logger, and explain_link's waterfall."""

from __future__ import annotations

import logging
import math
import threading

import numpy as np
import polars as pl
import pytest

import c360
from c360 import observe
from c360.comparisons import ExactMatch
from c360.datasets import generate_people
from c360.exceptions import ConfigError, ModelError
from c360.model import FellegiSunterModel

# ------------------------------------------------------------------------------ events


def test_emit_names_and_attributes_follow_opentelemetry_conventions():
    with observe.capture() as events:
        observe.emit(
            "block_and_compare",
            rows_in=10,
            rows_out=45,
            seconds=np.float64(0.5),
            skipped_blocks=np.int64(2),
            cannot_link=("national_id",),
            converged=True,
            ratios=[1, 2.5],
            missing=None,
            obj=object,
        )
    (e,) = events
    assert e.name == "c360.stage.block_and_compare"
    assert e.stage == "block_and_compare"
    a = dict(e.attributes)
    assert a["c360.stage"] == "block_and_compare"
    assert a["c360.rows_in"] == 10
    assert a["c360.rows_out"] == 45
    assert a["c360.seconds"] == 0.5
    assert type(a["c360.seconds"]) is float
    assert a["c360.skipped_blocks"] == 2
    assert type(a["c360.skipped_blocks"]) is int
    assert a["c360.cannot_link"] == ["national_id"]
    assert a["c360.converged"] is True
    assert a["c360.ratios"] == [1.0, 2.5]
    assert "c360.missing" not in a
    assert a["c360.obj"] == str(object)
    assert e.time_unix_nano > 0


def test_nothing_listening_does_nothing():
    assert observe.emit("load", rows_in=1) is None


def test_subscription_close_and_context_manager():
    seen: list[str] = []
    sub = observe.on_event(lambda e: seen.append(e.stage))
    observe.emit("a")
    sub.close()
    sub.close()  # idempotent
    observe.emit("b")
    with observe.on_event(lambda e: seen.append("ctx:" + e.stage)):
        observe.emit("c")
    observe.emit("d")
    assert seen == ["a", "ctx:c"]


def test_on_event_rejects_non_callables():
    with pytest.raises(ConfigError, match="callable"):
        observe.on_event("print")  # type: ignore[arg-type]


def test_events_from_other_threads_reach_callbacks():
    with observe.capture() as events:
        threads = [threading.Thread(target=observe.emit, args=(f"s{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(e.stage for e in events) == ["s0", "s1", "s2", "s3"]


def test_failing_callback_is_logged_not_raised_and_others_still_run(caplog, capsys):
    def boom(event):
        raise RuntimeError("observer bug")

    with (
        observe.on_event(boom),
        observe.capture() as events,
        caplog.at_level(logging.ERROR, logger="c360"),
    ):
        observe.emit("score", rows_in=3)
    assert [e.stage for e in events] == ["score"]
    assert any("observer bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == ""


def test_debug_log_record_carries_the_event(caplog):
    with caplog.at_level(logging.DEBUG, logger="c360"):
        event = observe.emit("ids", rows_out=7)
    assert event is not None  # the logger listens, so the event is built
    rec = next(r for r in caplog.records if r.name == "c360")
    assert rec.levelno == logging.DEBUG
    assert rec.c360_event == "c360.stage.ids"
    assert rec.c360_attributes["c360.rows_out"] == 7


def test_library_logger_is_silent_by_default():
    assert observe.logger is logging.getLogger("c360")
    assert any(isinstance(h, logging.NullHandler) for h in observe.logger.handlers)


# ------------------------------------------------------------------------------ explain_link


def _two_class_model() -> FellegiSunterModel:
    return FellegiSunterModel(
        comparisons=(ExactMatch("email"), ExactMatch("last_name")),
        m=[np.array([0.2, 0.8]), np.array([0.1, 0.9])],
        u=[np.array([0.99, 0.01]), np.array([0.95, 0.05])],
        u_random=[np.array([0.99, 0.01]), np.array([0.95, 0.05])],
        lam=0.001,
        others=[("related", [np.array([0.99, 0.01]), np.array([0.2, 0.8])], 0.01)],
    )


def test_waterfall_by_hand_with_an_extra_class():
    model = _two_class_model()
    ex = observe.explain_link(
        model,
        {
            "gamma_email": 0,
            "gamma_last_name": 1,
            "source_l": "a",
            "record_id_l": "1",
            "source_r": "b",
            "record_id_r": "2",
        },
    )
    lam_u = 1 - 0.001 - 0.01
    bits = {c.name: c.bits for c in ex.contributions}
    assert bits["prior"] == pytest.approx(math.log2(0.001 / lam_u))
    assert bits["email"] == pytest.approx(math.log2(0.2 / 0.99))
    assert bits["last_name"] == pytest.approx(math.log2(0.9 / 0.05))
    related = (0.01 * 0.99 * 0.8) / (lam_u * 0.99 * 0.05)
    assert bits["related"] == pytest.approx(-math.log2(1 + related))
    expected = math.log2(0.001 * 0.2 * 0.9) - math.log2(lam_u * 0.99 * 0.05 + 0.01 * 0.99 * 0.8)
    assert ex.total == pytest.approx(expected)
    weight, prob = model.score_levels(np.array([[0, 1]], dtype=np.int8))
    assert ex.total == pytest.approx(weight[0])
    assert ex.probability == pytest.approx(prob[0])
    frame = ex.to_frame()
    assert frame["end"][-1] == pytest.approx(ex.total)
    assert frame["start"].to_list()[1:] == pytest.approx(frame["end"].to_list()[:-1])
    assert "a:1 ~ b:2" in str(ex)


def test_missing_value_adds_nothing_and_bad_rows_are_refused():
    model = _two_class_model()
    ex = observe.explain_link(model, {"gamma_email": -1, "gamma_last_name": -1})
    steps = {c.name: c for c in ex.contributions}
    assert steps["email"].bits == 0.0
    assert steps["email"].label == "null"
    with pytest.raises(ModelError, match="last_name"):
        observe.explain_link(model, {"gamma_email": 1})
    with pytest.raises(ModelError, match="out of range"):
        observe.explain_link(model, {"gamma_email": 5, "gamma_last_name": 1})
    with pytest.raises(ConfigError, match="one link"):
        observe.explain_link(model, pl.DataFrame({"gamma_email": [1, 0]}))
    with pytest.raises(ConfigError, match="Resolution or a FellegiSunterModel"):
        observe.explain_link("model", {})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def resolution():
    return c360.resolve(generate_people(800, seed=7).records)


def test_waterfall_adds_up_to_the_stored_weight_on_real_links(resolution):
    links = pl.from_arrow(resolution.links)
    near = pl.from_arrow(resolution.near_misses)
    rows = [
        *links.filter(pl.col("rule") == "model").head(15).iter_rows(named=True),
        *links.filter(pl.col("rule") != "model").head(10).iter_rows(named=True),
        *near.head(15).iter_rows(named=True),
    ]
    assert len(rows) >= 30
    saw_tf = False
    for row in rows:
        ex = observe.explain_link(resolution, row)
        assert ex.total == pytest.approx(row["match_weight"], abs=1e-9)
        assert ex.probability == pytest.approx(row["match_probability"], rel=1e-9, abs=1e-12)
        assert ex.tf_known
        assert not ex.notes
        saw_tf |= any(c.kind == "term_frequency" for c in ex.contributions)
        levels = {c.name: c.level for c in ex.contributions if c.kind == "comparison"}
        assert levels == {c.name: row[c.output] for c in resolution.model.comparisons}
    assert saw_tf  # generated names repeat: some agreements are adjusted for frequency


def test_model_only_infers_term_frequency_and_levels_come_from_records(resolution):
    links = pl.from_arrow(resolution.links).filter(pl.col("rule") == "model")
    one = links.slice(0, 1)
    ex = observe.explain_link(resolution.model, one)
    assert not ex.tf_known
    assert ex.total == pytest.approx(one["match_weight"][0], abs=1e-9)
    # without gamma columns, the levels are recomputed from the records
    keys = one.select("source_l", "record_id_l", "source_r", "record_id_r").row(0, named=True)
    again = observe.explain_link(resolution, keys)
    assert again.total == pytest.approx(one["match_weight"][0], abs=1e-9)
    with pytest.raises(ConfigError, match="not among"):
        observe.explain_link(resolution, {**keys, "record_id_l": "no-such-record"})


def test_a_stage_metrics_dict_can_be_passed_whole():
    entry = {"stage": "cluster", "rows_in": 5, "rows_out": 3, "seconds": 0.01}
    with observe.capture() as events:
        observe.emit(entry["stage"], **entry)
    assert events[0].attributes == {
        "c360.stage": "cluster",
        "c360.rows_in": 5,
        "c360.rows_out": 3,
        "c360.seconds": 0.01,
    }


def test_import_c360_loads_no_report_code_and_no_scipy():
    """The report (HTML, SVG, OpenLineage) and scipy load when used, not on import."""
    import subprocess
    import sys

    code = (
        "import sys, c360\n"
        "bad = sorted(m for m in sys.modules if m.startswith('c360.report')"
        " or m in ('c360.observe', 'scipy'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
