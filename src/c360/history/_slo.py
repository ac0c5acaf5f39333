"""Service-level objectives over the run history: declared in ``[slo]``, evaluated per window.

Every objective is judged run by run: each run in the window is *good* or
*bad* for it (a run an objective cannot judge, such as a failed run for
freshness, is left out). Attainment is the share of good runs; the objective
is met when attainment reaches its target. The error budget is the number of
bad runs the target allows in the window, ``(1 - target) * runs``; what is
left of it is ``1 - bad / allowed`` (negative once overspent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from c360._source_spec import parse_duration
from c360.exceptions import ConfigError

__all__ = ["SloConfig", "SloStatus", "evaluate_slos"]

_KEYS: Final = (
    "window",
    "target",
    "success_rate",
    "freshness",
    "customer_change",
    "id_churn",
    "precision_floor",
)


def _share(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(
            f"[slo] {what} must be a share between 0 and 1; got {value!r}",
            column=what,
            hint="for example 0.99 for 99%",
        )
    return float(value)


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"[slo] {what} must be a duration; got {value!r}", column=what)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        seconds = parse_duration(value, what=f"[slo] {what}").total_seconds()
    if seconds <= 0:
        raise ConfigError(f"[slo] {what} must be positive; got {value!r}", column=what)
    return seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class SloConfig:
    """The objectives a team sets for its runs (``[slo]`` in ``c360.toml``).

    Attributes:
        window: how far back attainment is measured (default 28 days).
        target: the share of runs that must meet each per-run objective
            (freshness, customer change, ID churn, precision floor).
        success_rate: the share of runs that must succeed (``None``: not an objective).
        freshness: the largest freshness lag allowed per source, in seconds;
            the key ``"*"`` applies to every source not named.
        customer_change: the largest change in the customer count between
            two consecutive successful runs, as a share of the earlier count.
        id_churn: the largest share of a run's customers that were merged,
            split or retired (``id_changes``).
        precision_floor: the lowest estimated precision allowed (the
            customer-level estimate when the run has one, else link-level).

    Examples:
        >>> slo = SloConfig.from_dict({"success_rate": 0.99, "freshness": {"crm": "10m"}})
        >>> slo.freshness, slo.window.days
        ({'crm': 600.0}, 28)
        >>> SloConfig().declared
        False

    """

    window: timedelta = timedelta(days=28)
    target: float = 0.99
    success_rate: float | None = None
    freshness: Mapping[str, float] = field(default_factory=dict)
    customer_change: float | None = None
    id_churn: float | None = None
    precision_floor: float | None = None

    @property
    def declared(self) -> bool:
        """Whether any objective is set."""
        return any(
            v is not None
            for v in (self.success_rate, self.customer_change, self.id_churn, self.precision_floor)
        ) or bool(self.freshness)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SloConfig:
        """Read the ``[slo]`` table; durations as seconds or text (``"10m"``, ``"28d"``)."""
        if not data:
            return cls()
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"[slo] has unknown keys {unknown}",
                hint=f"the keys are {', '.join(_KEYS)}",
            )
        fresh = data.get("freshness", {})
        if not isinstance(fresh, Mapping):
            fresh = {"*": fresh}
        kw: dict[str, Any] = {
            "freshness": {str(k): _seconds(v, f"freshness.{k}") for k, v in fresh.items()}
        }
        if "window" in data:
            kw["window"] = timedelta(seconds=_seconds(data["window"], "window"))
        for key in ("target", "success_rate", "customer_change", "id_churn", "precision_floor"):
            if data.get(key) is not None:
                kw[key] = _share(data[key], key)
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """The ``[slo]`` table (durations in seconds)."""
        out: dict[str, Any] = {
            "window": self.window.total_seconds(),
            "target": self.target,
            "freshness": dict(self.freshness),
        }
        for key in ("success_rate", "customer_change", "id_churn", "precision_floor"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def to_json(self) -> str:
        """``to_dict`` as compact JSON (kept with each run in the history)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def freshness_for(self, source: str) -> float | None:
        """The freshness objective of ``source`` in seconds (``None``: none)."""
        return self.freshness.get(source, self.freshness.get("*"))


@dataclass(frozen=True, slots=True)
class SloStatus:
    """One objective over the window: runs judged, attainment, target and the error budget."""

    name: str
    source: str | None
    objective: str
    target: float
    runs: int
    good: int
    attainment: float | None
    met: bool
    error_budget_runs: float
    error_budget_remaining: float | None

    @property
    def bad(self) -> int:
        """Runs that missed the objective."""
        return self.runs - self.good

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready values."""
        return {
            "name": self.name,
            "source": self.source,
            "objective": self.objective,
            "target": self.target,
            "runs": self.runs,
            "good": self.good,
            "bad": self.bad,
            "attainment": self.attainment,
            "met": self.met,
            "error_budget_runs": self.error_budget_runs,
            "error_budget_remaining": self.error_budget_remaining,
        }


def _status(
    name: str, source: str | None, objective: str, target: float, judged: Sequence[bool]
) -> SloStatus:
    runs, good = len(judged), sum(judged)
    attainment = good / runs if runs else None
    allowed = (1.0 - target) * runs
    bad = runs - good
    if allowed > 0:
        remaining: float | None = 1.0 - bad / allowed
    else:
        remaining = 1.0 if bad == 0 else None
    met = attainment is None or attainment >= target - 1e-12
    return SloStatus(
        name, source, objective, target, runs, good, attainment, met, allowed, remaining
    )


def evaluate_slos(
    slo: SloConfig,
    runs: Sequence[Mapping[str, Any]],
    sources: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    now: datetime,
) -> list[SloStatus]:
    """The status of every declared objective over the runs of the window ending ``now``.

    Args:
        slo: the objectives.
        runs: every run, oldest first, as the history's run rows (``run_id``,
            ``status``, ``finished_at`` as an aware datetime, ``customers``,
            ``id_churn``, ``estimated_precision``).
        sources: per run id, its source rows (``source``, ``lag_seconds``).
        now: the end of the window.
    """
    start = now - slo.window
    # consecutive successful runs are judged on the whole history, then windowed
    change: dict[str, bool] = {}
    before: Mapping[str, Any] | None = None
    for r in runs:
        if r["status"] != "succeeded":
            continue
        if before is not None and slo.customer_change is not None and before["customers"]:
            moved = abs(r["customers"] - before["customers"]) / before["customers"]
            change[r["run_id"]] = moved <= slo.customer_change + 1e-12
        before = r
    window = [r for r in runs if start <= r["finished_at"] <= now]
    ok = [r for r in window if r["status"] == "succeeded"]
    out: list[SloStatus] = []
    if slo.success_rate is not None:
        out.append(
            _status(
                "success_rate",
                None,
                f"at least {slo.success_rate:.2%} of runs succeed",
                slo.success_rate,
                [r["status"] == "succeeded" for r in window],
            )
        )
    if slo.freshness:
        names = sorted({s["source"] for r in ok for s in sources.get(r["run_id"], [])})
        for name in names:
            limit = slo.freshness_for(name)
            if limit is None:
                continue
            judged = [
                s["lag_seconds"] <= limit
                for r in ok
                for s in sources.get(r["run_id"], [])
                if s["source"] == name and s["lag_seconds"] is not None
            ]
            out.append(
                _status(
                    "freshness",
                    name,
                    f"newest {name} record at most {limit:,.0f} s old",
                    slo.target,
                    judged,
                )
            )
    if slo.customer_change is not None:
        out.append(
            _status(
                "customer_change",
                None,
                f"customer count moves at most {slo.customer_change:.2%} between runs",
                slo.target,
                [change[r["run_id"]] for r in ok if r["run_id"] in change],
            )
        )
    if slo.id_churn is not None:
        limit = slo.id_churn
        out.append(
            _status(
                "id_churn",
                None,
                f"at most {limit:.2%} of customers merged, split or retired per run",
                slo.target,
                [r["id_churn"] <= limit + 1e-12 for r in ok if r["id_churn"] is not None],
            )
        )
    if slo.precision_floor is not None:
        floor = slo.precision_floor
        out.append(
            _status(
                "precision_floor",
                None,
                f"estimated precision at least {floor:.2%}",
                slo.target,
                [
                    r["estimated_precision"] >= floor - 1e-12
                    for r in ok
                    if r["estimated_precision"] is not None
                ],
            )
        )
    return out
