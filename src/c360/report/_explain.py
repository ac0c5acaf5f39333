"""Why two records were (or were not) linked: a match-weight waterfall."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa

from c360.exceptions import ConfigError, ModelError
from c360.model import FellegiSunterModel, shares_by_relation

if TYPE_CHECKING:
    from c360.pipeline import Resolution

__all__ = ["Contribution", "LinkExplanation", "explain_link"]

ContributionKind = Literal["prior", "comparison", "term_frequency", "other_classes"]
_TINY = 1e-300
_KEYS = ("source_l", "record_id_l", "source_r", "record_id_r")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One step of the waterfall.

    Attributes:
        kind: ``prior``, ``comparison``, ``term_frequency`` or ``other_classes``.
        name: the comparison (or class) concerned; ``prior`` for the prior.
        bits: what this step adds to the match weight (log2 odds).
        level: the comparison level (``-1``: a value is missing, no evidence).
        label: the level's label (``exact``, ``jaro_winkler>=0.92``, ...).
        m: probability of the level among matches.
        u: probability of the level among non-matches.
        detail: a short explanation in words.

    """

    kind: ContributionKind
    name: str
    bits: float
    level: int | None = None
    label: str | None = None
    m: float | None = None
    u: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LinkExplanation:
    """A link's match weight broken into additive steps.

    ``total`` is the sum of the contributions' bits, and equals the weight the
    model gives the pair; ``probability`` is ``1 / (1 + 2**-total)``.

    Attributes:
        pair: ``source_l, record_id_l, source_r, record_id_r`` when known.
        contributions: prior, one step per comparison, term-frequency
            adjustments, and the correction for the extra non-match classes
            (related persons, namesakes).
        total: the match weight.
        probability: the match probability.
        rule: the deterministic rule that linked the pair, if any (``""`` for none).
        tf_known: whether term-frequency adjustments were computed from the
            records (``False``: inferred from the link's weight, or left out).

    """

    pair: dict[str, str | None]
    contributions: tuple[Contribution, ...]
    total: float
    probability: float
    rule: str = ""
    tf_known: bool = True
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pl.DataFrame:
        """Return the waterfall: one row per step with its running ``start`` and ``end``."""
        bits = [c.bits for c in self.contributions]
        end = np.cumsum(bits) if bits else np.zeros(0)
        start = end - np.asarray(bits) if bits else np.zeros(0)
        return pl.DataFrame(
            {
                "kind": [c.kind for c in self.contributions],
                "name": [c.name for c in self.contributions],
                "level": [c.level for c in self.contributions],
                "label": [c.label for c in self.contributions],
                "m": [c.m for c in self.contributions],
                "u": [c.u for c in self.contributions],
                "bits": bits,
                "start": start.tolist(),
                "end": end.tolist(),
            },
            schema={
                "kind": pl.String,
                "name": pl.String,
                "level": pl.Int64,
                "label": pl.String,
                "m": pl.Float64,
                "u": pl.Float64,
                "bits": pl.Float64,
                "start": pl.Float64,
                "end": pl.Float64,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form."""
        out = asdict(self)
        out["contributions"] = [asdict(c) for c in self.contributions]
        out["notes"] = list(self.notes)
        return out

    def __str__(self) -> str:
        left = f"{self.pair.get('source_l')}:{self.pair.get('record_id_l')}"
        right = f"{self.pair.get('source_r')}:{self.pair.get('record_id_r')}"
        lines = [f"{left} ~ {right}"]
        running = 0.0
        for c in self.contributions:
            running += c.bits
            what = c.name if c.label is None else f"{c.name} = {c.label}"
            if c.kind == "term_frequency":
                what = f"term frequency: {what}"
            elif c.kind == "other_classes":
                what = f"other classes: {what}"
            lines.append(f"  {c.bits:+8.2f}  {running:+8.2f}  {what}")
        lines.append(
            f"  match weight {self.total:+.2f} bits, probability {self.probability:.4f}"
            + (f", rule {self.rule}" if self.rule else "")
        )
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _row_dict(link_row: Any) -> dict[str, Any]:
    if isinstance(link_row, Mapping):
        return dict(link_row)
    if isinstance(link_row, pa.Table | pa.RecordBatch):
        link_row = pl.from_arrow(link_row)
    if isinstance(link_row, pl.DataFrame):
        if link_row.height != 1:
            raise ConfigError(f"explain_link needs one link; got a frame of {link_row.height} rows")
        return link_row.row(0, named=True)
    raise ConfigError(
        f"explain_link needs a link as a dict or a one-row table; got {type(link_row).__name__}",
        hint="pass e.g. resolution.links.slice(0, 1) or resolution.links.to_pylist()[0]",
    )


def _pair_records(resolution: Resolution, row: Mapping[str, Any]) -> pl.DataFrame | None:
    """Return the link's two records as matching saw them (standardized, junk nulled)."""
    from c360.rules import null_junk
    from c360.standardize import standardize

    matching = getattr(resolution, "matching", None)
    records = matching if matching is not None else resolution.records
    if records is None or any(row.get(k) is None for k in _KEYS):
        return None
    parts = []
    for side in ("l", "r"):
        hit = records.filter(
            (pl.col("source") == row[f"source_{side}"])
            & (pl.col("record_id") == str(row[f"record_id_{side}"]))
        )
        if hit.height != 1:
            raise ConfigError(
                f"record {row[f'source_{side}']}:{row[f'record_id_{side}']} is not among the "
                "resolution's accepted records",
                source=str(row[f"source_{side}"]),
            )
        parts.append(hit)
    pair = pl.concat(parts, how="vertical_relaxed")
    if matching is not None:  # already standardized, junk nulled
        return pair
    std = standardize(pair.lazy(), resolution.config.standardize).collect()
    junk = pl.from_arrow(resolution.junk)
    assert isinstance(junk, pl.DataFrame)
    return null_junk(std, junk)


def explain_link(
    resolution_or_model: Resolution | FellegiSunterModel, link_row: Any
) -> LinkExplanation:
    """Break a link's match weight into the steps that make it up.

    The model scores a pair with levels ``g`` as
    ``log2(lam * m(g)) - log2(lam_u * u(g) * 2**-tf + sum_c lam_c * c(g) * 2**-tf_c)``
    where ``c`` are the extra non-match classes (related persons, namesakes),
    ``lam_u = 1 - lam - sum_c lam_c``, ``tf`` the term-frequency bits of the
    pair's values and ``tf_c`` the part of them on fields class ``c`` shares
    only by chance (see [`shares_by_relation`][c360.model.shares_by_relation]).
    That splits exactly into a sum:

    * **prior** ``log2(lam / lam_u)``: the odds of a match before looking at the pair;
    * one **comparison** step per comparison, ``log2(m/u)`` of its level (0 when
      a value is missing);
    * **term-frequency** adjustments on exact agreement of rare (positive) or
      common (negative) values;
    * the **other classes** correction
      ``-log2(1 + sum_c lam_c c(g) 2**(tf - tf_c) / (lam_u u(g)))``: how much the
      chance that the two are relatives or namesakes lowers the weight (never
      positive; a rare surname, say, makes strangers unlikely but not relatives).

    Args:
        resolution_or_model: a [`Resolution`][c360.Resolution] (term-frequency
            adjustments are computed from its records) or a bare
            [`FellegiSunterModel`][c360.model.FellegiSunterModel] (the adjustment is then
            inferred as the link's ``match_weight`` minus the rest, when given).
        link_row: one row of ``links`` or ``near_misses``: a dict, or a one-row
            polars frame or Arrow table, with the ``gamma_<comparison>`` levels.

    Returns:
        A [`LinkExplanation`][LinkExplanation]; ``str()`` of it prints the waterfall.

    Examples:
        >>> import numpy as np
        >>> from c360.comparisons import ExactMatch
        >>> model = FellegiSunterModel(comparisons=(ExactMatch("email"), ExactMatch("city")),
        ...     m=[np.array([0.1, 0.9]), np.array([0.2, 0.8])],
        ...     u=[np.array([0.99, 0.01]), np.array([0.9, 0.1])], u_random=[], lam=0.01)
        >>> ex = explain_link(model, {"gamma_email": 1, "gamma_city": -1})
        >>> [(c.name, round(c.bits, 2)) for c in ex.contributions]
        [('prior', -6.63), ('email', 6.49), ('city', 0.0)]
        >>> round(ex.total, 2)
        -0.14

    """
    from c360.pipeline import Resolution

    if isinstance(resolution_or_model, Resolution):
        resolution: Resolution | None = resolution_or_model
        model = resolution_or_model.model
    elif isinstance(resolution_or_model, FellegiSunterModel):
        resolution, model = None, resolution_or_model
    else:
        raise ConfigError(
            "explain_link needs a Resolution or a FellegiSunterModel; "
            f"got {type(resolution_or_model).__name__}"
        )
    row = _row_dict(link_row)
    notes: list[str] = []
    pair_records = _pair_records(resolution, row) if resolution is not None else None

    levels: list[int] = []
    data = None
    if pair_records is not None:
        from c360.comparisons import PairData

        data = PairData(pair_records, np.array([0]), np.array([1]))
    for c in model.comparisons:
        value = row.get(c.output)
        if value is None and data is not None:
            value = int(c.levels(data)[0])
        if value is None:
            raise ModelError(
                f"the link has no level for comparison {c.name!r} (column {c.output!r})",
                column=c.output,
                hint="pass a row of links or near_misses, which carry every level",
            )
        levels.append(int(value))

    lam = min(max(model.lam, _TINY), 1.0)
    others = [(name, probs, prior) for name, probs, prior in model.others if prior > 0]
    lam_u = max(1.0 - model.lam - sum(p for _, _, p in model.others), _TINY)
    prior_bits = math.log2(lam) - math.log2(lam_u)
    steps = [
        Contribution(
            kind="prior",
            name="prior",
            bits=prior_bits,
            detail=f"lambda={model.lam:.3g}: odds of a match before any comparison",
        )
    ]
    log_u = math.log2(lam_u)
    log_o = [math.log2(prior) for _, _, prior in others]
    tf_steps: list[Contribution] = []
    # term-frequency bits count against strangers; against an extra class only
    # for fields it shares by chance (see c360.model.shares_by_relation)
    tf_all = 0.0
    tf_cls = [0.0 for _ in others]
    for k, (c, lv) in enumerate(zip(model.comparisons, levels, strict=True)):
        labels = c.labels()
        if lv < 0:
            steps.append(
                Contribution(
                    kind="comparison",
                    name=c.name,
                    bits=0.0,
                    level=lv,
                    label="null",
                    detail="a value is missing: no evidence",
                )
            )
            continue
        if lv >= len(labels):
            raise ModelError(f"level {lv} out of range for comparison {c.name!r}", column=c.output)
        m = float(model.m[k][lv])
        u = float(model.u[k][lv])
        bits = math.log2(max(m, _TINY)) - math.log2(max(u, _TINY))
        steps.append(
            Contribution(
                kind="comparison", name=c.name, bits=bits, level=lv, label=labels[lv], m=m, u=u
            )
        )
        log_u += math.log2(max(u, _TINY))
        for i, (_, probs, _) in enumerate(others):
            log_o[i] += math.log2(max(float(probs[k][lv]), _TINY))
        if data is not None:
            adj = model.tf_adjustment(k, data, np.array([lv], dtype=np.int8))
            if adj is not None:
                tf_all += float(adj[0])
                for i, (name, _, _) in enumerate(others):
                    if not shares_by_relation(name, c.column):
                        tf_cls[i] += float(adj[0])
            if adj is not None and adj[0] != 0.0:
                tf_steps.append(
                    Contribution(
                        kind="term_frequency",
                        name=c.name,
                        bits=float(adj[0]),
                        level=lv,
                        label=labels[lv],
                        detail="rare value: agreement counts more"
                        if adj[0] > 0
                        else "common value: agreement counts less",
                    )
                )
    tf_known = data is not None
    if not tf_known and model.tf and row.get("match_weight") is not None:
        partial = sum(s.bits for s in steps)
        inferred = float(row["match_weight"]) - partial - _others_bits(log_u, log_o)
        if abs(inferred) > 1e-9:
            tf_steps.append(
                Contribution(
                    kind="term_frequency",
                    name="term frequency",
                    bits=inferred,
                    detail="inferred from the link's match_weight (records not available)",
                )
            )
        notes.append("term-frequency adjustment inferred from the link's weight")
    elif not tf_known and model.tf:
        notes.append("term-frequency adjustments left out: pass a Resolution to compute them")
    steps.extend(tf_steps)
    if others:
        shifted = [lo + tf_all - t for lo, t in zip(log_o, tf_cls, strict=True)]
        bits = _others_bits(log_u, shifted)
        names = ", ".join(name for name, _, _ in others)
        steps.append(
            Contribution(
                kind="other_classes",
                name=names,
                bits=bits,
                detail="chance that the two are different people alike for a reason "
                f"({names}) rather than strangers",
            )
        )
    total = float(sum(s.bits for s in steps))
    probability = 1.0 / (1.0 + 2.0 ** (-max(min(total, 200.0), -200.0)))
    if row.get("match_weight") is not None and abs(float(row["match_weight"]) - total) > 1e-6:
        notes.append(
            f"the link's stored weight {float(row['match_weight']):.4f} differs from "
            f"the recomputed {total:.4f}: was it scored by another model?"
        )
    pair = {k: (None if row.get(k) is None else str(row[k])) for k in _KEYS}
    return LinkExplanation(
        pair=pair,
        contributions=tuple(steps),
        total=total,
        probability=probability,
        rule=str(row.get("rule") or ""),
        tf_known=tf_known,
        notes=tuple(notes),
    )


def _others_bits(log_u: float, log_o: list[float]) -> float:
    """Return ``-log2(1 + sum 2**(log_o - log_u))``, computed stably (0 without extra classes)."""
    if not log_o:
        return 0.0
    return -float(np.logaddexp2.reduce([0.0, *(lo - log_u for lo in log_o)]))
