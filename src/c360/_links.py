"""From scored pairs to links: which pairs are accepted and by what, and their tables.

[`decide_links`][decide_links] applies deterministic rules and the model's
threshold; [`RuleLabels`][RuleLabels] names each pair's rule in one byte;
the links and near-miss tables, the weight histogram and the label-free
quality estimates are built here from the per-pair arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from c360.comparisons import Comparison, PairData

__all__ = ["RuleKind", "RuleLabels", "decide_links", "estimate_quality", "rule_name"]

#: What linked a pair: the model's probability, or a deterministic rule on one column.
RuleKind = Literal["model", "exact"]


def rule_name(kind: RuleKind, column: str | None = None) -> str:
    """The ``rule`` of a link: ``"model"``, or ``"exact:<column>"``.

    Examples:
        >>> rule_name("model"), rule_name("exact", "email")
        ('model', 'exact:email')
    """
    if kind == "exact":
        if not column:
            raise ValueError("an exact rule names its column")
        return f"exact:{column}"
    return "model"


@dataclass(frozen=True, slots=True)
class RuleLabels:
    """The rule that linked each pair, one byte per pair: ``names[code[i]]``.

    Tens of millions of pairs carry one of a handful of rule names; an object
    array of names would take eight bytes a pair and Python-level comparisons.

    Examples:
        >>> r = RuleLabels(np.array([0, 1, 2], dtype=np.uint8), ("", "model", "exact:email"))
        >>> r[np.array([False, True, True])].to_series().to_list()
        ['model', 'exact:email']
    """

    code: npt.NDArray[np.uint8]
    names: tuple[str, ...]

    def __getitem__(self, index: npt.NDArray[Any]) -> RuleLabels:
        return RuleLabels(self.code[index], self.names)

    def to_series(self) -> pl.Series:
        """The names as a polars String series called ``rule``."""
        return pl.Series("rule", self.names, dtype=pl.String).gather(self.code.astype(np.uint32))


#: Pairs decided at a time by ``decide_links``.
_DECIDE_SLICE = 1 << 20


def decide_links(
    data: PairData,
    gamma: npt.NDArray[np.int8],
    probability: npt.NDArray[np.float64],
    comparisons: Sequence[Comparison],
    deterministic: Sequence[str],
    threshold: float,
) -> tuple[RuleLabels, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which scored pairs become links, and by which rule.

    A pair agreeing exactly on a ``deterministic`` column is linked with rule
    ``exact:<column>`` (the first such column listed wins) unless it carries
    contradicting evidence; any other pair is linked by the model when its
    probability reaches ``threshold``.

    Returns:
        The rule name per pair (``""`` when not linked; as
        [`RuleLabels`][RuleLabels], one byte per pair), whether a deterministic
        rule linked it, and whether it is linked at all.
    """
    names = ["", rule_name("model"), *(rule_name("exact", col) for col in deterministic)]
    code = np.zeros(gamma.shape[0], dtype=np.uint8)
    present = [(i, col) for i, col in enumerate(deterministic) if col in data.records.columns]
    # a slice of pairs at a time: each column's codes for both sides were two
    # whole-run int32 arrays (270 MB at 34M pairs), fresh memory every time
    for start in range(0, gamma.shape[0] if present else 0, _DECIDE_SLICE):
        sl = slice(start, start + _DECIDE_SLICE)
        part, out = data.slice(sl), code[sl]
        contradicted = _contradicted(gamma[sl], comparisons)
        for i, col in reversed(present):
            cl, cr = part.codes(col)
            out[(cl >= 0) & (cl == cr) & ~contradicted] = i + 2
    by_rule = code >= 2
    by_model = probability >= threshold
    code[by_model & ~by_rule] = 1
    return RuleLabels(code, tuple(names)), by_rule, by_rule | by_model


def _contradicted(
    gamma: npt.NDArray[np.int8], comparisons: Sequence[Comparison]
) -> npt.NDArray[np.bool_]:
    """Pairs with hard contradicting evidence: clearly different name, birth date or national id."""
    out = np.zeros(gamma.shape[0], dtype=bool)
    for k, c in enumerate(comparisons):
        if c.column in ("first_name", "date_of_birth", "national_id"):
            out |= gamma[:, k] == 0
    return out


def _rule_certain(
    probability: npt.NDArray[np.float64],
    by_rule: npt.NDArray[np.bool_],
    *,
    in_place: bool = False,
) -> npt.NDArray[np.float64]:
    """Probabilities with deterministic links counted as certain, as clustering counts them.

    ``in_place`` overwrites ``probability`` (for its last use, where a copy
    would be another array as long as the pairs).

    Examples:
        >>> p = np.array([0.2, 0.7])
        >>> _rule_certain(p, np.array([True, False])).tolist(), p.tolist()
        ([0.999999999, 0.7], [0.2, 0.7])
    """
    out = probability if in_place else probability.copy()
    np.maximum(out, 1.0 - 1e-9, out=out, where=by_rule)
    return out


def _attach_keys(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    left = keys[frame["_rid_l"].to_numpy()]
    right = keys[frame["_rid_r"].to_numpy()]
    return pl.DataFrame(
        {
            "source_l": left["source"],
            "record_id_l": left["record_id"],
            "source_r": right["source"],
            "record_id_r": right["record_id"],
        }
    ).hstack(frame.drop("_rid_l", "_rid_r"))


def _links_table(
    keys: pl.DataFrame,
    rid_l: npt.NDArray[np.int64],
    rid_r: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    prob: npt.NDArray[np.float64],
    rule: RuleLabels,
    gamma: npt.NDArray[np.int8],
    comparisons: Sequence[Comparison],
    *,
    ordered: bool = False,
) -> pl.DataFrame:
    """The links table of pairs ``(rid_l, rid_r)`` (rows of ``keys``), ordered by their keys.

    ``ordered``: the pairs come in the order of their keys already (see
    [`keys_in_row_order`][keys_in_row_order]), and are not sorted again.
    """
    base = pl.DataFrame({"_rid_l": rid_l, "_rid_r": rid_r})
    frame = _attach_keys(base, keys).with_columns(
        match_weight=pl.Series(weight, dtype=pl.Float64),
        match_probability=pl.Series(prob, dtype=pl.Float64),
        rule=rule.to_series(),
        **{c.output: pl.Series(gamma[:, k], dtype=pl.Int8) for k, c in enumerate(comparisons)},
    )
    if ordered:
        return frame
    return frame.sort("source_l", "record_id_l", "source_r", "record_id_r")


def keys_in_row_order(keys: pl.DataFrame) -> bool:
    """Whether ``keys`` rows are sorted by ``(source, record_id)``.

    A full run numbers its records in that order, so its links sorted by the
    four key columns are its links sorted by their two record rows:
    integers, not strings (see [`row_order`][row_order]).

    Examples:
        >>> keys = pl.DataFrame({"source": ["a", "a", "b"], "record_id": ["1", "2", "1"]})
        >>> keys_in_row_order(keys), keys_in_row_order(keys.reverse())
        (True, False)
    """
    return keys.height <= 1 or bool(
        keys.select(pl.struct("source", "record_id").is_sorted()).item()
    )


def row_order(rid_l: npt.NDArray[np.int64], rid_r: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """The order of the pairs ``(rid_l, rid_r)`` by left row, then right row.

    One integer per pair (row numbers are below 2**31): polars sorts it in a
    third of numpy's lexsort of the two columns (a million links: 0.1 s,
    against 1.1 s for the four string key columns).

    Examples:
        >>> row_order(np.array([1, 0, 0]), np.array([2, 2, 1])).tolist()
        [2, 1, 0]
    """
    pair = rid_l.astype(np.int64) << 32
    pair |= rid_r
    return pl.Series(pair).arg_sort().to_numpy().astype(np.intp, copy=False)


#: Weights binned at a time by ``_histogram``.
_HISTOGRAM_SLICE = 1 << 20


def _histogram(weight: npt.NDArray[np.float64]) -> pl.DataFrame:
    """Counts of match weights in 1-bit bins (the bins that occur, in order).

    Examples:
        >>> _histogram(np.array([-0.5, 0.2, 0.7, 99.0])).rows()
        [(-1, 1), (0, 2), (60, 1)]
    """
    if not weight.size:
        return pl.DataFrame(schema={"bin": pl.Int64, "pairs": pl.UInt32})
    counts = np.zeros(121, dtype=np.int64)
    # a slice at a time: two whole-run temporaries were 270 MB each at 34M pairs
    for start in range(0, weight.shape[0], _HISTOGRAM_SLICE):
        bins = np.clip(weight[start : start + _HISTOGRAM_SLICE], -60, 60)
        np.floor(bins, out=bins)
        bins += 60
        counts += np.bincount(bins.astype(np.intp), minlength=121)
    occur = np.flatnonzero(counts)
    return pl.DataFrame(
        {"bin": occur.astype(np.int64) - 60, "pairs": counts[occur].astype(np.uint32)}
    )


def estimate_quality(
    probability: npt.NDArray[np.float64], accepted: npt.NDArray[np.bool_]
) -> dict[str, float]:
    """Pairwise precision and recall estimated from posterior match probabilities.

    If the model is calibrated, the expected number of true matches among the
    accepted links is the sum of their probabilities, and among all candidate
    pairs the sum of all probabilities (as fastLink does). Pairs that blocking
    never produced are not counted, so recall is relative to the candidates.

    Examples:
        >>> p = np.array([0.99, 0.9, 0.4, 0.01])
        >>> est = estimate_quality(p, p >= 0.5)
        >>> round(est["precision"], 3), round(est["recall"], 3)
        (0.945, 0.822)
    """
    total = float(probability.sum())
    kept = float(probability[accepted].sum())
    n_acc = int(accepted.sum())
    return {
        "precision": kept / n_acc if n_acc else 1.0,
        "recall": kept / total if total else 1.0,
        "expected_matching_pairs": total,
        "accepted_links": float(n_acc),
    }
