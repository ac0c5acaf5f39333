"""Scoring: a Fellegi-Sunter model trained without labels.

For each comparison level the model holds ``m`` (the probability of the level
among true matches) and ``u`` (among non-matches). A pair's match weight is
``log2(λ/(1-λ)) + Σ log2(m/u)`` over its non-null levels (a missing value adds
nothing), plus a term-frequency adjustment on exact agreement of common or
rare values; its match probability is the logistic of the weight in base 2.

Training ([`train`][c360.model.train]):

1. ``u_random`` is estimated from uniformly random record pairs, which are
   almost all non-matches. It is kept for reporting, sanity checks and the
   term-frequency adjustment, and it initialises EM.
2. ``m`` and the prior ``λ`` are fitted by EM on the counts of distinct
   comparison patterns (never on every pair): those of the candidate pairs,
   and those of the pairs blocking never proposes (estimated from the random
   sample, counted as strangers only). The prior comes out of EM, so it does
   not depend on exact agreement of any field: a data set where every
   duplicate has one corrupted field still gets the right prior.
3. The learned parameters are checked for sanity (agreement must be more
   likely among matches than non-matches; λ in a plausible range; EM
   converged). A failed check is reported in ``FellegiSunterModel.warnings``;
   a level whose parameters are unusable falls back to neutral weight, so
   weights are never NaN.

Examples:
    >>> import numpy as np
    >>> g = np.array([[2, 2, 2]] * 50 + [[0, 0, 0]] * 900 + [[2, 0, 0]] * 25 + [[0, 2, 0]] * 25,
    ...              dtype=np.int8)
    >>> params = fit_em(g, [3, 3, 3], u_init=[np.array([0.9, 0.05, 0.05])] * 3)
    >>> round(params.lam, 2)
    0.05
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._display import MAX_ROWS, Block, fmt_count, level_bars

# EM and training live in private modules and are documented, and imported, from here
from c360._em import EMResult, FloatArray, _distinct_rows, fit_em
from c360._training import ANCHORS as ANCHORS
from c360._training import estimate_u, train
from c360._training import levels_matrix as levels_matrix
from c360.comparisons import Comparison, PairData, comparison_from_dict
from c360.exceptions import ModelError

__all__ = [
    "EMResult",
    "FellegiSunterModel",
    "ModelConfig",
    "estimate_u",
    "fit_em",
    "train",
]

#: Columns that identify a person rather than the context they share with relatives.
PERSONAL = frozenset({"first_name", "middle_name", "full_name", "date_of_birth", "national_id"})
#: Columns two namesakes share: the name, and email user parts made from it.
NAMES = frozenset({"first_name", "last_name", "full_name", "email"})


def shares_by_relation(class_name: str, column: str) -> bool:
    """Whether pairs of an extra class share values of ``column`` because of who they are.

    Household members share a surname (or an address, a family mailbox)
    because they are a household, as a person's records share it because they
    are one person: the rarer the surname, the less likely two *strangers*
    share it, but not two relatives. Their first names and birth dates, and
    the names of namesakes, agree only by chance, like strangers'. The
    term-frequency adjustment of a value (see
    [`FellegiSunterModel.tf_adjustment`][c360.model.FellegiSunterModel.tf_adjustment])
    therefore weighs against strangers and chance-alike classes only.

    Examples:
        >>> shares_by_relation("related", "last_name"), shares_by_relation("related", "first_name")
        (True, False)
        >>> shares_by_relation("namesake", "last_name")
        False
    """
    return class_name == "related" and column not in PERSONAL


def _extra_classes(comparisons: Sequence[Comparison]) -> dict[str, list[bool]]:
    """Pinned comparisons of the related-persons and namesakes classes."""
    return {
        "related": [c.column in PERSONAL and c.column != "date_of_birth" for c in comparisons],
        "namesake": [c.column not in NAMES for c in comparisons],
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelConfig:
    """How the model is trained.

    Attributes:
        max_iterations: EM iteration limit.
        tolerance: EM stops when no parameter moves more than this.
        u_sample_pairs: random pairs drawn to estimate ``u_random``.
        seed: random seed for the u sample (results are deterministic).
        smoothing: pseudo-count added to every level in each M-step, so that
            no probability is exactly 0 or 1.
        tf_adjust: apply term-frequency adjustments where comparisons ask for it.
        tf_max_bits: cap on the absolute size of a term-frequency adjustment.
        related_class: model related persons (households, neighbours) and
            namesakes as non-match classes of their own (see [`fit_em`][c360.model.fit_em]).
    """

    max_iterations: int = 1000
    tolerance: float = 1e-5
    u_sample_pairs: int = 500_000
    seed: int = 42
    smoothing: float = 0.5
    tf_adjust: bool = True
    tf_max_bits: float = 8.0
    related_class: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


#: Pairs scored at a time by ``score_levels`` (8 MB per float temporary).
_SCORE_SLICE = 1 << 20


#: File name suffix of the term-frequency tables written beside a saved model.
TF_SUFFIX = "_tf.parquet"
#: Seed of the value hashes that index the term-frequency tables (see ``_tf_bits``).
_TF_SEED = 20261203


@dataclass(slots=True, kw_only=True)
class FellegiSunterModel:
    """A trained Fellegi-Sunter model: what was learned, never the user's config.

    Attributes:
        comparisons: the comparisons, in column order of the level matrix.
        m: per comparison, probability of each level among matches.
        u: per comparison, probability of each level among candidate non-matches.
        u_random: per comparison, probability of each level among random pairs.
        lam: prior probability that a pair of the comparison space is a match.
        total_pairs: number of pairs in the comparison space λ refers to.
        iterations: EM iterations run.
        converged: whether EM converged.
        warnings: sanity-check findings, in plain words.
        tf: per column, the term-frequency table (value, frequency) used for
            the adjusted levels of comparisons (see ``Comparison.tf_levels``).
        others: extra non-match classes (name, level probabilities per
            comparison, prior): related persons and namesakes, see [`fit_em`][c360.model.fit_em].
    """

    comparisons: tuple[Comparison, ...]
    m: list[FloatArray]
    u: list[FloatArray]
    u_random: list[FloatArray]
    lam: float
    total_pairs: int = 0
    iterations: int = 0
    converged: bool = True
    warnings: list[str] = field(default_factory=list)
    tf: dict[str, pl.DataFrame] = field(default_factory=dict)
    tf_max_bits: float = 8.0
    others: list[tuple[str, list[FloatArray], float]] = field(default_factory=list)
    _tf_index: dict[str, tuple[npt.NDArray[np.uint64], FloatArray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    # --- weights -------------------------------------------------------------
    @property
    def prior_weight(self) -> float:
        """``log2(λ / (1 - λ))``."""
        lam = min(max(self.lam, 1e-12), 1 - 1e-12)
        return math.log2(lam / (1 - lam))

    def level_weights(self) -> list[FloatArray]:
        """``log2(m/u)`` per comparison level (0 where a level is unusable)."""
        out = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(np.clip(m, 1e-12, 1) / np.clip(u, 1e-12, 1))
            out.append(np.where(np.isfinite(w), w, 0.0))
        return out

    def _display(self) -> Block:
        weights = self.level_weights()
        rows = [
            ("comparisons", f"{len(self.comparisons)}"),
            (
                "prior",
                f"λ = {self.lam:.3g} ({self.prior_weight:+.1f} bits) over "
                f"{fmt_count(self.total_pairs)} pairs",
            ),
            (
                "training",
                f"{self.iterations} EM iterations, "
                + ("converged" if self.converged else "NOT converged"),
            ),
        ]
        if self.others:
            classes = ", ".join(f"{n} (prior {p:.2g})" for n, _, p in self.others)
            rows.append(("other classes", classes))
        if self.tf:
            rows.append(("term frequencies", ", ".join(sorted(self.tf))))
        header = ["comparison", "levels", "exact agreement", "disagreement"]
        body = [
            [c.name, len(w), f"{w[-1]:+.1f} bits", f"{w[0]:+.1f} bits"]
            for c, w in zip(self.comparisons, weights, strict=True)
        ]
        charts = "".join(
            f"<div style='display:inline-block;margin:.4em 1.2em .4em 0'>"
            f"<div>{html.escape(c.name)}</div>"
            + level_bars(zip(c.labels(), m, u, strict=True))
            + "</div>"
            for c, m, u in list(zip(self.comparisons, self.m, self.u, strict=True))[:MAX_ROWS]
        )
        legend = "<div style='font-size:11px;color:#555'>bars: m (dark), u (light) per level</div>"
        return Block(
            "c360 FellegiSunterModel",
            rows,
            notes=list(self.warnings),
            table=(header, body),
            extra_html=legend + charts,
        )

    def __repr__(self) -> str:
        block = self._display()
        lines = [block.text()]
        for name, levels, exact, other in block.table[1][:MAX_ROWS] if block.table else []:
            lines.append(f"  {name:<14} {levels} levels, exact {exact}, else {other}"[:100])
        if len(self.comparisons) > MAX_ROWS:
            lines.append(f"  … and {len(self.comparisons) - MAX_ROWS} more comparisons")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self._display().html()

    def parameters(self) -> pl.DataFrame:
        """One row per comparison level: m, u, u_random and the weight.

        Examples:
            >>> from c360.comparisons import ExactMatch
            >>> mdl = FellegiSunterModel(comparisons=(ExactMatch("email"),),
            ...     m=[np.array([0.1, 0.9])], u=[np.array([0.99, 0.01])],
            ...     u_random=[np.array([0.999, 0.001])], lam=0.01)
            >>> mdl.parameters()["weight"].round(2).to_list()
            [-3.31, 6.49]
        """
        rows = []
        for k, (c, m, u, ur, w) in enumerate(
            zip(self.comparisons, self.m, self.u, self.u_random, self.level_weights(), strict=True)
        ):
            for lv, label in enumerate(c.labels()):
                rows.append(
                    {
                        "comparison": c.name,
                        "level": lv,
                        "label": label,
                        "m": float(m[lv]),
                        "u": float(u[lv]),
                        "u_random": float(ur[lv]),
                        **{name: float(probs[k][lv]) for name, probs, _ in self.others},
                        "weight": float(w[lv]),
                    }
                )
        return pl.DataFrame(rows)

    # --- scoring -------------------------------------------------------------
    def tf_adjustment(
        self,
        k: int,
        data: PairData,
        levels: npt.NDArray[np.int8],
        *,
        bit_cache: dict[str, FloatArray] | None = None,
    ) -> FloatArray | None:
        """Term-frequency adjustment (bits) of comparison ``k`` on its adjusted levels.

        A pair agreeing on value ``v`` gets ``log2(Σ p² / p_v)``: positive for
        rare values, negative for common ones, capped at ``tf_max_bits``.
        ``bit_cache`` keeps each column's bits per encoded value across calls
        over slices of the same pairs.
        """
        c = self.comparisons[k]
        adj: FloatArray | None = None
        for level, column in c.tf_levels():
            table = self.tf.get(column)
            hit = levels == level
            if table is None or not hit.any() or column not in data.records.columns:
                continue
            enc = data.encoded(column)
            per_value = None if bit_cache is None else bit_cache.get(column)
            if per_value is None:
                per_value = self._tf_bits(column, table, enc.values)
                if bit_cache is not None:
                    bit_cache[column] = per_value
            codes = enc.codes[data.rid_l[hit]]
            bits = per_value[np.maximum(codes, 0)]
            bits[codes < 0] = 0.0
            if adj is None:
                adj = np.zeros(levels.shape[0])
            adj[hit] = bits
        return adj

    def _tf_bits(self, column: str, table: pl.DataFrame, values: pl.Series) -> FloatArray:
        """Term-frequency bits of each of ``values`` (0 for a value not in the table).

        The table becomes, once per column, sorted 64-bit hashes of its values
        with their bits; each call then costs a hash and a binary search per
        value, whether it scores millions of pairs or one new record's few.
        """
        index = self._tf_index.get(column)
        if index is None:
            freq = table.get_column("frequency").to_numpy()
            baseline = float(np.square(freq).sum())
            with np.errstate(divide="ignore", invalid="ignore"):
                bits = np.log2(baseline / freq)
            bits = np.where(np.isfinite(bits), bits, 0.0)
            np.clip(bits, -self.tf_max_bits, self.tf_max_bits, out=bits)
            hashes = table.get_column("value").hash(_TF_SEED).to_numpy()
            order = np.argsort(hashes, kind="stable")
            index = (hashes[order], bits[order])
            self._tf_index[column] = index
        keys, table_bits = index
        if keys.shape[0] == 0 or values.len() == 0:
            return np.zeros(values.len())
        h = values.cast(pl.String).hash(_TF_SEED).to_numpy()
        pos = np.minimum(np.searchsorted(keys, h), keys.shape[0] - 1)
        found = (keys[pos] == h) & values.is_not_null().to_numpy()
        return np.where(found, table_bits[pos], 0.0)

    def score_levels(
        self, gamma: npt.NDArray[np.int8], data: PairData | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Match weight (log2 odds) and probability for a level matrix (pairs x comparisons).

        The odds are ``λ·m(g) / (λ_u·u(g) + Σ λ_c·c(g))`` for a level vector ``g`` over the extra
        non-match classes ``c``. The class likelihoods are computed once per
        distinct level pattern; the term-frequency adjustment, which depends on
        the values, is then applied per pair: a value's ``t`` bits divide
        ``u(g)`` by ``2**t``, and ``c(g)`` too unless the class shares that
        field by relation (see [`shares_by_relation`][c360.model.shares_by_relation]),
        so a rare surname is evidence against strangers, not against a household.
        """
        patterns, inverse, _ = _distinct_rows(gamma)
        terms = self._pattern_terms(patterns)
        n = gamma.shape[0]
        weight = np.empty(n)
        prob = np.empty(n)
        bits: dict[str, FloatArray] = {}  # term-frequency bits per value, once per column
        # a slice of pairs at a time, into the two outputs: every temporary is a
        # few MB that the allocator reuses, where whole-run temporaries (270 MB
        # each at 34M pairs) were fresh memory, faulted in page by page
        for start in range(0, n, _SCORE_SLICE):
            sl = slice(start, min(start + _SCORE_SLICE, n))
            part = None if data is None else data.slice(sl)
            self._score_slice(gamma[sl], inverse[sl], terms, part, bits, weight[sl], prob[sl])
        return weight, prob

    def _score_slice(
        self,
        gamma: npt.NDArray[np.int8],
        inverse: npt.NDArray[np.intp],
        terms: tuple[FloatArray, FloatArray, list[FloatArray | None]],
        data: PairData | None,
        bits: dict[str, FloatArray],
        weight: FloatArray,
        prob: FloatArray,
    ) -> None:
        """``score_levels`` of some pairs, written into ``weight`` and ``prob``."""
        num, den_u, den_o = terms
        # term frequencies: per pair, bits against strangers, and against each
        # extra class for the comparisons it shares only by chance
        tf_all: FloatArray | None = None
        tf_cls: list[FloatArray | None] = [None for _ in self.others]
        if data is not None:
            for k, comp in enumerate(self.comparisons):
                adj = self.tf_adjustment(k, data, gamma[:, k], bit_cache=bits)
                if adj is None:
                    continue
                tf_all = adj if tf_all is None else tf_all + adj
                for i, (name, _, _) in enumerate(self.others):
                    if not shares_by_relation(name, comp.column):
                        cur = tf_cls[i]
                        tf_cls[i] = adj if cur is None else cur + adj
        den = den_u[inverse]
        if tf_all is not None:
            den -= tf_all
        for lo, shift in zip(den_o, tf_cls, strict=True):
            if lo is not None:
                other = lo[inverse]
                if shift is not None:
                    other -= shift
                np.logaddexp2(den, other, out=den)
        np.take(num, inverse, out=weight)
        weight -= den
        weight[~np.isfinite(weight)] = 0.0
        np.clip(weight, -200, 200, out=prob)
        np.negative(prob, out=prob)
        np.exp2(prob, out=prob)
        prob += 1.0
        np.divide(1.0, prob, out=prob)

    def _pattern_terms(
        self, patterns: npt.NDArray[np.int16]
    ) -> tuple[FloatArray, FloatArray, list[FloatArray | None]]:
        """Per level pattern, log2 of ``λ·m``, ``λ_u·u`` and each extra class's ``λ_c·c``.

        A class with prior 0 gives ``None``.
        """
        log_m = np.zeros(patterns.shape[0])
        log_u = np.zeros(patterns.shape[0])
        log_o = [np.zeros(patterns.shape[0]) for _ in self.others]
        for k in range(len(self.comparisons)):
            lv = patterns[:, k]
            ok = lv >= 0
            log_m[ok] += np.log2(np.clip(self.m[k], 1e-300, 1))[lv[ok]]
            log_u[ok] += np.log2(np.clip(self.u[k], 1e-300, 1))[lv[ok]]
            for lo, (_, probs, _) in zip(log_o, self.others, strict=True):
                lo[ok] += np.log2(np.clip(probs[k], 1e-300, 1))[lv[ok]]
        lam = min(max(self.lam, 1e-300), 1.0)
        lam_u = max(1.0 - self.lam - sum(p for _, _, p in self.others), 1e-300)
        classes: list[FloatArray | None] = [
            lo + math.log2(prior) if prior > 0 else None
            for lo, (_, _, prior) in zip(log_o, self.others, strict=True)
        ]
        return log_m + math.log2(lam), log_u + math.log2(lam_u), classes

    # --- persistence ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (no pickle), term-frequency tables included."""
        data = self._describe()
        data["tf"] = {
            col: {"value": t["value"].to_list(), "frequency": t["frequency"].to_list()}
            for col, t in self.tf.items()
        }
        return data

    def _describe(self) -> dict[str, Any]:
        """Everything but the term-frequency tables (which can be millions of values)."""
        return {
            "format": "c360.fellegi_sunter/1",
            "lambda": self.lam,
            "total_pairs": self.total_pairs,
            "iterations": self.iterations,
            "converged": self.converged,
            "warnings": list(self.warnings),
            "tf_max_bits": self.tf_max_bits,
            "classes": [
                {"name": name, "prior": prior, "probabilities": [p.tolist() for p in probs]}
                for name, probs, prior in self.others
            ],
            "comparisons": [
                {
                    "spec": c.to_dict(),
                    "labels": list(c.labels()),
                    "m": m.tolist(),
                    "u": u.tolist(),
                    "u_random": ur.tolist(),
                }
                for c, m, u, ur in zip(self.comparisons, self.m, self.u, self.u_random, strict=True)
            ],
        }

    def save(self, path: str | Path) -> list[Path]:
        """Write the model as JSON, its term-frequency tables beside it as Parquet.

        The tables (one row per distinct value of a name or e-mail column: a
        million rows on large data) go to ``<stem>_tf.parquet`` (``column, value,
        frequency``), which the JSON names; [`load`][load] reads both. Returns
        the paths written.
        """
        p = Path(path)
        data = self._describe()
        written = [p]
        if self.tf:
            from c360._frames import write_parquet

            tf_path = p.with_name(f"{p.stem}{TF_SUFFIX}")
            values = [
                t.select(pl.lit(col).alias("column"), "value", "frequency")
                for col, t in self.tf.items()
            ]
            write_parquet(pl.concat(values), tf_path)
            data["tf"] = {"file": tf_path.name, "columns": list(self.tf)}
            written.append(tf_path)
        p.write_text(json.dumps(data, indent=1), encoding="utf-8")
        return written

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FellegiSunterModel:
        """Inverse of [`to_dict`][to_dict]."""
        try:
            comps = tuple(comparison_from_dict(c["spec"]) for c in data["comparisons"])
            for comp, c in zip(comps, data["comparisons"], strict=True):
                if len(c["m"]) != len(comp.labels()):
                    raise ModelError(
                        f"comparison {comp.name!r} has {len(comp.labels())} levels in this "
                        f"version of c360 but {len(c['m'])} in the saved model",
                        hint="the model was saved by another c360 version; train it again",
                    )
            tables = data.get("tf") or {}
            if "file" in tables:  # written by save(): read by load(), which sets them
                tables = {}
            tf = {
                col: pl.DataFrame(
                    {"value": t["value"], "frequency": t["frequency"]},
                    schema={"value": pl.String, "frequency": pl.Float64},
                )
                for col, t in tables.items()
            }
            return cls(
                comparisons=comps,
                m=[np.asarray(c["m"], dtype=np.float64) for c in data["comparisons"]],
                u=[np.asarray(c["u"], dtype=np.float64) for c in data["comparisons"]],
                u_random=[np.asarray(c["u_random"], dtype=np.float64) for c in data["comparisons"]],
                lam=float(data["lambda"]),
                total_pairs=int(data.get("total_pairs", 0)),
                iterations=int(data.get("iterations", 0)),
                converged=bool(data.get("converged", True)),
                warnings=list(data.get("warnings", [])),
                tf=tf,
                tf_max_bits=float(data.get("tf_max_bits", 8.0)),
                others=[
                    (
                        str(c["name"]),
                        [np.asarray(p, dtype=np.float64) for p in c["probabilities"]],
                        float(c["prior"]),
                    )
                    for c in data.get("classes", [])
                ],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid model description: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> FellegiSunterModel:
        """Read a model written by [`save`][save]."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"cannot read model file: {exc}", path=str(p)) from exc
        model = cls.from_dict(data)
        tables = data.get("tf") if isinstance(data, Mapping) else None
        if isinstance(tables, Mapping) and "file" in tables:
            tf_path = p.with_name(str(tables["file"]))
            try:
                long = pl.read_parquet(tf_path)
                model.tf = {
                    str(col): long.filter(pl.col("column") == col).select(
                        pl.col("value").cast(pl.String), pl.col("frequency").cast(pl.Float64)
                    )
                    for col in tables.get("columns", [])
                }
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise ModelError(
                    f"cannot read the model's term-frequency tables: {exc}", path=str(tf_path)
                ) from exc
        return model
