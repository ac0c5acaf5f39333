"""Compare two versions of metric definitions: which changes alter values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from c360.metrics._spec import Definitions

__all__ = ["MetricChange", "MetricDiff", "diff_definitions"]

ChangeKind = Literal["added", "removed", "changed", "metadata"]


@dataclass(frozen=True)
class MetricChange:
    """One change to one metric.

    Attributes:
        metric: the metric's name.
        kind: ``added``, ``removed``, ``changed`` (its values change) or
            ``metadata`` (description, owner, label or version only).
        breaking: whether values published under the metric's name change:
            a removed metric, or any change to what decides its values (its
            type, measure, filter, window, semantic model, join, time column,
            an input metric, the time zone or week start).
        details: what changed, one line each (``field: old -> new``).
    """

    metric: str
    kind: ChangeKind
    breaking: bool
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricDiff:
    """The changes from one set of definitions to another, metric by metric."""

    changes: tuple[MetricChange, ...]

    @property
    def breaking(self) -> list[MetricChange]:
        """The changes that alter published values."""
        return [c for c in self.changes if c.breaking]

    @property
    def is_breaking(self) -> bool:
        """Whether any change alters published values."""
        return bool(self.breaking)

    def summary(self) -> str:
        """A human-readable list of changes, breaking ones first."""
        if not self.changes:
            return "no changes"
        lines = []
        for c in sorted(self.changes, key=lambda c: (not c.breaking, c.metric)):
            tag = "BREAKING" if c.breaking else "ok"
            lines.append(f"{tag:<9} {c.metric}: {c.kind}")
            lines += [f"          {d}" for d in c.details]
        return "\n".join(lines)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data}


def _major(version: str) -> int:
    return int(version.split(".")[0])


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def diff_definitions(old: Definitions, new: Definitions) -> MetricDiff:
    """What changed between ``old`` and ``new``, per metric.

    A metric whose definition hash changed has changed values: the change is
    breaking, and the details name each field that differs, including fields of
    the semantic model, measure and input metrics it reads. Such a change also
    expects a new major version; a smaller bump is reported in the details.
    A removed metric is breaking; an added one is not.

    Examples:
        >>> from c360.metrics import load_definitions
        >>> base = {"semantic_models": [{"name": "orders", "join": {"customer_id": "cid"},
        ...          "time": "at", "measures": [{"name": "orders", "agg": "count"}]}]}
        >>> old = load_definitions(base | {"metrics": [
        ...     {"name": "n", "type": "simple", "measure": "orders", "version": "1.0.0"}]})
        >>> new = load_definitions(base | {"metrics": [
        ...     {"name": "n", "type": "simple", "measure": "orders", "version": "1.1.0",
        ...      "filter": "amount > 0"}]})
        >>> print(diff_definitions(old, new).summary())
        BREAKING  n: changed
                  metric.filter: None -> 'amount > 0'
                  version 1.0.0 -> 1.1.0: a change that alters values needs version 2.0.0
    """
    changes: list[MetricChange] = []
    for name in old.metrics:
        if name not in new.metrics:
            changes.append(
                MetricChange(name, "removed", True, ("published values under this name stop",))
            )
    for name in new.metrics:
        if name not in old.metrics:
            changes.append(MetricChange(name, "added", False))
            continue
        before, after = old.metrics[name], new.metrics[name]
        meta = [
            f"{f}: {getattr(before, f)!r} -> {getattr(after, f)!r}"
            for f in ("version", "description", "owner", "label")
            if getattr(before, f) != getattr(after, f)
        ]
        if old.definition_hash(name) != new.definition_hash(name):
            a, b = _flatten(old.closure(name)), _flatten(new.closure(name))
            details = [
                f"{k}: {a.get(k)!r} -> {b.get(k)!r}"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
            if _major(after.version) <= _major(before.version):
                details.append(
                    f"version {before.version} -> {after.version}: a change that alters "
                    f"values needs version {_major(before.version) + 1}.0.0"
                )
            changes.append(MetricChange(name, "changed", True, tuple(details)))
        elif meta:
            if _version_tuple(after.version) < _version_tuple(before.version):
                meta.append("the version went down")
            changes.append(MetricChange(name, "metadata", False, tuple(meta)))
    return MetricDiff(tuple(changes))
