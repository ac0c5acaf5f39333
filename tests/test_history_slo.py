"""SLOs over the run history: declarations, attainment, error budgets, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from c360.exceptions import ConfigError
from c360.history import SloConfig, evaluate_slos

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def run(
    k: int,
    *,
    ok: bool = True,
    customers: int = 1000,
    churn: float = 0.0,
    p: float = 0.99,
    days_ago: float | None = None,
) -> dict[str, Any]:
    when = NOW - timedelta(days=days_ago if days_ago is not None else 20 - k)
    return {
        "run_id": f"r{k:03d}",
        "status": "succeeded" if ok else "failed",
        "finished_at": when,
        "customers": customers if ok else None,
        "id_churn": churn if ok else None,
        "estimated_precision": p if ok else None,
    }


def by_name(statuses: list[Any]) -> dict[str, Any]:
    return {(s.name, s.source): s for s in statuses}


def test_success_rate_attainment_and_error_budget() -> None:
    runs = [run(k, ok=k != 5) for k in range(20)]  # 19 of 20 succeed
    (s,) = evaluate_slos(SloConfig(success_rate=0.9), runs, {}, now=NOW)
    assert (s.runs, s.good, s.bad) == (20, 19, 1)
    assert s.attainment == pytest.approx(0.95) and s.met
    assert s.error_budget_runs == pytest.approx(2.0)  # 10% of 20 runs may fail
    assert s.error_budget_remaining == pytest.approx(0.5)  # one of two spent
    (s,) = evaluate_slos(SloConfig(success_rate=0.99), runs, {}, now=NOW)
    assert not s.met and s.error_budget_remaining == pytest.approx(1 - 1 / 0.2)


def test_a_target_of_one_has_no_budget() -> None:
    (s,) = evaluate_slos(SloConfig(success_rate=1.0), [run(0)], {}, now=NOW)
    assert s.met and s.error_budget_remaining == 1.0
    (s,) = evaluate_slos(SloConfig(success_rate=1.0), [run(0), run(1, ok=False)], {}, now=NOW)
    assert not s.met and s.error_budget_remaining is None


def test_the_window_leaves_old_runs_out() -> None:
    runs = [run(0, ok=False, days_ago=40), run(1, days_ago=3), run(2, days_ago=1)]
    (s,) = evaluate_slos(SloConfig(success_rate=0.99), runs, {}, now=NOW)
    assert s.runs == 2 and s.met
    (s,) = evaluate_slos(SloConfig(success_rate=0.99, window=timedelta(days=60)), runs, {}, now=NOW)
    assert s.runs == 3 and not s.met


def test_freshness_per_source_with_a_default() -> None:
    runs = [run(k) for k in range(4)]
    lags = {"crm": [100, 700, 200, 300], "billing": [10, 10, 10, 5000]}
    sources = {
        r["run_id"]: [{"source": n, "lag_seconds": lags[n][k]} for n in lags]
        for k, r in enumerate(runs)
    }
    slo = SloConfig.from_dict({"freshness": {"crm": "10m", "*": "1h"}, "target": 0.75})
    got = by_name(evaluate_slos(slo, runs, sources, now=NOW))
    crm, billing = got[("freshness", "crm")], got[("freshness", "billing")]
    assert (crm.good, crm.runs, crm.met) == (3, 4, True)
    assert (billing.good, billing.runs, billing.met) == (3, 4, True)
    slo = SloConfig.from_dict({"freshness": {"crm": 600}, "target": 0.9})
    got = by_name(evaluate_slos(slo, runs, sources, now=NOW))
    assert not got[("freshness", "crm")].met and ("freshness", "billing") not in got


def test_customer_change_between_consecutive_successful_runs() -> None:
    runs = [
        run(0, customers=1000),
        run(1, customers=1005),
        run(2, ok=False),
        run(3, customers=1100),  # +9.5% against run 1: the failed run is skipped
        run(4, customers=1100),
    ]
    (s,) = evaluate_slos(SloConfig(customer_change=0.01, target=0.5), runs, {}, now=NOW)
    assert (s.runs, s.good) == (3, 2) and s.met


def test_id_churn_and_precision_floor() -> None:
    runs = [run(0, churn=0.001, p=0.99), run(1, churn=0.05, p=0.90), run(2, churn=0.0, p=0.97)]
    got = by_name(
        evaluate_slos(SloConfig(id_churn=0.01, precision_floor=0.95, target=0.6), runs, {}, now=NOW)
    )
    assert got[("id_churn", None)].good == 2 and got[("id_churn", None)].met
    assert got[("precision_floor", None)].good == 2


def test_no_runs_in_the_window_is_met_with_no_attainment() -> None:
    (s,) = evaluate_slos(SloConfig(success_rate=0.99), [], {}, now=NOW)
    assert s.runs == 0 and s.attainment is None and s.met


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"sucess_rate": 0.9}, "unknown keys"),
        ({"success_rate": 99}, "share between 0 and 1"),
        ({"target": True}, "share between 0 and 1"),
        ({"freshness": {"crm": "soon"}}, "not a duration"),
        ({"freshness": {"crm": -5}}, "must be positive"),
        ({"window": "0s"}, "must be positive"),
    ],
)
def test_bad_declarations_are_clear_errors(table: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SloConfig.from_dict(table)


def test_a_declaration_survives_its_json() -> None:
    slo = SloConfig.from_dict(
        {
            "window": "7d",
            "target": 0.95,
            "success_rate": 0.99,
            "freshness": {"crm": "10m"},
            "customer_change": 0.01,
            "id_churn": 0.02,
            "precision_floor": 0.9,
        }
    )
    import json

    assert SloConfig.from_dict(json.loads(slo.to_json())) == slo
    assert slo.declared and not SloConfig().declared
