"""The heavy stages behind one seam: candidate pairs, scoring, connected components.

Full runs and incremental batches hand these stages the same typed values:
[`Pairs`][Pairs] (candidate pairs and their comparison levels) and
[`Scored`][Scored] (what the model and the deterministic rules made of
them). An [`Engine`][Engine] computes them; [`LocalEngine`][LocalEngine] does
so in this process with polars and numpy, and a distributed engine (Spark)
implements the same three methods over its own partitions. Everything that
is not heavy (training from pattern counts, the cluster guards, IDs) stays
on the driver and is shared.

Examples:
    >>> import numpy as np, polars as pl
    >>> from c360.comparisons import ExactMatch
    >>> recs = pl.DataFrame({"email": ["a@x.io", "a@x.io", "b@y.io"]})
    >>> pairs = Pairs.compared(recs, np.array([0, 0]), np.array([1, 2]),
    ...                        (ExactMatch("email"),))
    >>> pairs.levels.tolist(), len(pairs)
    ([[1], [0]], 2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from c360._links import RuleLabels, _rule_certain, decide_links
from c360.comparisons import Comparison, PairData

if TYPE_CHECKING:
    from c360._encode import Encoded
    from c360.config import EffectiveConfig
    from c360.model import FellegiSunterModel

__all__ = ["LOCAL", "Engine", "LocalEngine", "Pairs", "Scored", "score"]

IntArray = npt.NDArray[np.int64]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Pairs:
    """Candidate pairs of a matching frame and their comparison levels.

    Attributes:
        data: the matching frame, the pairs' record keys (``data.rid_l``,
            ``data.rid_r``) and the column encodings comparing them built,
            which training and scoring reuse.
        levels: level per pair and comparison (pairs x comparisons, int8),
            in the order of the comparisons that computed them.
        skipped_blocks: blocks too large to pair, per blocking rule and key
            (see ``c360.blocking.skipped_blocks``); 0 where not counted.
    """

    data: PairData
    levels: npt.NDArray[np.int8]
    skipped_blocks: int = 0

    @property
    def left(self) -> IntArray:
        """Left record key of each pair."""
        return self.data.rid_l  # type: ignore[return-value]

    @property
    def right(self) -> IntArray:
        """Right record key of each pair."""
        return self.data.rid_r  # type: ignore[return-value]

    @property
    def records(self) -> pl.DataFrame:
        """The matching frame the keys index (row ``i`` is record ``i``)."""
        return self.data.records

    @property
    def encodings(self) -> dict[str, Encoded]:
        """Column encodings shared by comparing, training and scoring."""
        return self.data.encodings

    def __len__(self) -> int:
        return len(self.data)

    @classmethod
    def compared(
        cls,
        records: pl.DataFrame,
        left: npt.NDArray[np.integer[Any]],
        right: npt.NDArray[np.integer[Any]],
        comparisons: Sequence[Comparison],
        *,
        encodings: dict[str, Encoded] | None = None,
    ) -> Pairs:
        """The pairs ``(left[i], right[i])`` of ``records`` with every comparison's level.

        The one place levels are computed, for a full run's chunks, an
        incremental batch and the coherence check alike.
        """
        data = PairData(records, left.astype(np.int64, copy=False),
                        right.astype(np.int64, copy=False), encodings)  # fmt: skip
        if not comparisons or not len(data):
            return cls(data, np.zeros((len(data), len(comparisons)), dtype=np.int8))
        levels = np.empty((len(data), len(comparisons)), dtype=np.int8)
        for k, comp in enumerate(comparisons):
            levels[:, k] = comp.levels(data)
        return cls(data, levels)


@dataclass(frozen=True, slots=True)
class Scored:
    """Pairs with the model's verdict and the rule that linked each.

    Attributes:
        pairs: the scored pairs.
        weight: match weight (log2 odds) per pair.
        probability: match probability per pair.
        rule: the rule that linked each pair (``""`` where not linked).
        by_rule: whether a deterministic rule linked the pair.
        accepted: whether the pair is a link (by rule or by the threshold).
    """

    pairs: Pairs
    weight: npt.NDArray[np.float64]
    probability: npt.NDArray[np.float64]
    rule: RuleLabels
    by_rule: npt.NDArray[np.bool_]
    accepted: npt.NDArray[np.bool_]

    def links(self) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]]:
        """The accepted pairs' keys, and their probability as clustering counts it.

        A deterministic link counts as certain (``1 - 1e-9``) whatever the
        model said: in full runs and incremental batches alike.
        """
        acc = self.accepted
        certain = _rule_certain(self.probability[acc], self.by_rule[acc])
        return self.pairs.left[acc], self.pairs.right[acc], certain


def score(model: FellegiSunterModel, pairs: Pairs, cfg: EffectiveConfig) -> Scored:
    """Score ``pairs`` with ``model`` and decide which become links (see ``decide_links``)."""
    weight, prob = model.score_levels(pairs.levels, pairs.data)
    rule, by_rule, accepted = decide_links(
        pairs.data, pairs.levels, prob, cfg.comparisons, cfg.deterministic, cfg.cluster.threshold
    )
    return Scored(pairs, weight, prob, rule, by_rule, accepted)


class Engine(Protocol):
    """Where the heavy stages run: this process, or a cluster.

    An engine turns a matching frame into compared candidate pairs, scores
    them with a trained model, and labels connected components. The stage
    sequence around it (standardisation, configuration, training, the
    cluster guards, IDs, profiles) is shared by every engine.
    """

    name: str

    def candidate_pairs(
        self, records: pl.DataFrame, cfg: EffectiveConfig, *, show: bool, keys: Any = None
    ) -> Pairs:
        """Block, then compare every candidate pair (levels in ``cfg.comparisons`` order)."""
        ...

    def score(self, model: FellegiSunterModel, pairs: Pairs, cfg: EffectiveConfig) -> Scored:
        """Weights, probabilities and link decisions for ``pairs``."""
        ...

    def components(self, n: int, left: IntArray, right: IntArray) -> IntArray:
        """Per record key ``0..n-1``, the smallest key of its connected component."""
        ...


class LocalEngine:
    """The heavy stages in this process: polars blocking, RapidFuzz and numpy, scipy."""

    name = "local"

    def candidate_pairs(
        self, records: pl.DataFrame, cfg: EffectiveConfig, *, show: bool, keys: Any = None
    ) -> Pairs:
        """Pairs chunk by chunk from blocking, compared as they come, then joined.

        ``keys``: the blocking rules' key hashes (``c360.blocking.rule_keys``),
        when the caller computed them already.
        """
        from c360._progress import progress
        from c360.blocking import generate_pairs, rule_keys, skipped_blocks

        comparisons = cfg.comparisons
        n = records.height
        keys = rule_keys(records, cfg.blocking) if keys is None else keys
        encodings: dict[str, Encoded] = {}
        lefts: list[IntArray] = []
        rights: list[IntArray] = []
        levels: list[npt.NDArray[np.int8]] = []
        if n >= 2 and comparisons:
            guard = _PairMemory.start(records, cfg, keys)
            with (
                progress("Comparing pairs", enabled=show) as bar,
                _Primed(records, comparisons, encodings) as primed,
            ):

                def compare(ends: tuple[IntArray, IntArray]) -> Pairs:
                    primed.wait()
                    return Pairs.compared(records, *ends, comparisons, encodings=encodings)

                chunks = generate_pairs(
                    records, cfg.blocking, progress_enabled=show, keys=keys, counts=guard.counts
                )
                for part in _in_order(compare, _parts(chunks, COMPARE_PART)):
                    lefts.append(part.left)
                    rights.append(part.right)
                    levels.append(part.levels)
                    bar.advance(len(part))
                    guard.kept(len(part))
        data = PairData(
            records,
            joined(lefts, np.zeros(0, dtype=np.int64)),
            joined(rights, np.zeros(0, dtype=np.int64)),
            encodings,
        )
        skipped = skipped_blocks(records, cfg.blocking, keys=keys).height if n else 0
        return Pairs(data, joined(levels, np.zeros((0, len(comparisons)), dtype=np.int8)), skipped)

    def score(self, model: FellegiSunterModel, pairs: Pairs, cfg: EffectiveConfig) -> Scored:
        """See [`score`][score]."""
        return score(model, pairs, cfg)

    def components(self, n: int, left: IntArray, right: IntArray) -> IntArray:
        """See ``c360.cluster.components`` (scipy's sparse graph routines)."""
        from c360.cluster import components

        return components(n, left, right)


#: The engine of every run unless another is given.
LOCAL: Engine = LocalEngine()


#: Bytes each candidate pair holds from comparing through scoring besides its
#: levels (one byte per comparison): two record keys (16), weight and
#: probability (16), accepted, by-rule and rule code (3).
PAIR_BYTES = 35


@dataclass(slots=True)
class _PairMemory:
    """The memory budget of the pair stages, checked before and while pairs are kept.

    The need checked is a lower bound (the pairs' own arrays, without the
    temporaries of comparing and scoring): a run is stopped only when it
    could not have fitted.
    """

    budget: int | None
    per_pair: int
    widest: str
    counts: pl.DataFrame  # count_pairs' table, handed on to generate_pairs
    pairs: int = 0

    @classmethod
    def start(cls, records: pl.DataFrame, cfg: EffectiveConfig, keys: Any) -> _PairMemory:
        """Check the largest rule's pairs alone against the budget, before generating any."""
        from c360._memory import available_memory, budget_bytes
        from c360.blocking import count_pairs

        budget = budget_bytes(cfg.memory_budget)
        if budget is None:
            budget = available_memory()
        counts = count_pairs(records, cfg.blocking, keys=keys)
        ranked = counts.sort("pairs", descending=True)
        widest = str(ranked["rule"][0]) if ranked.height else ""
        per_pair = PAIR_BYTES + len(cfg.comparisons)
        guard = cls(budget, per_pair, widest, counts)
        # the union of the rules' pairs has at least the largest rule's
        guard.check(int(counts["pairs"].to_numpy().max(initial=0)), before=True)
        return guard

    def kept(self, pairs: int) -> None:
        """Count ``pairs`` more kept, and stop if the budget is passed."""
        self.pairs += pairs
        self.check(self.pairs, before=False)

    def check(self, pairs: int, *, before: bool) -> None:
        """Raise [`MemoryBudgetError`][c360.exceptions.MemoryBudgetError] unless ``pairs`` fit."""
        from c360._display import fmt_bytes
        from c360.exceptions import MemoryBudgetError

        need = pairs * self.per_pair
        if self.budget is None or need <= self.budget:
            return
        found = (
            f"the widest blocking rule ({self.widest}) alone finds {pairs:,} pairs"
            if before
            else f"{pairs:,} pairs kept so far, of at most {int(self.counts['pairs'].sum()):,}"
        )
        raise MemoryBudgetError(
            f"block_and_compare needs at least {fmt_bytes(need)} for the candidate pairs "
            f"({found}, {self.per_pair} bytes each until scored), over the memory budget "
            f"of {fmt_bytes(self.budget)}",
            hint="add a key to the widest blocking rule, lower max_block_size, "
            "set memory_budget if more memory is free, or run on the Spark engine "
            "(--engine spark)",
        )


class _Primed:
    """The comparisons' column encodings, built in two threads while blocking starts.

    Every column a comparison reads is encoded on its first use (a sort, a
    join: 3.7 s for the 15 columns of 1M worst-case records, one after
    another, while the first chunk of pairs was compared alone). Here they
    are built two at a time, beside the generation of the first chunk;
    ``wait`` returns once all are in ``encodings`` (each column's encoding
    does not depend on who builds it, see ``PairData.encoded``).
    """

    def __init__(
        self, records: pl.DataFrame, comparisons: Sequence[Comparison], encodings: dict[str, Any]
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from c360._comparison_base import NAME_VOCABULARY

        holder = PairData(records, np.zeros(0, np.int64), np.zeros(0, np.int64), encodings)
        units: dict[str, str] = {}  # one column per encoding: the name columns share one
        for col in (c for comp in comparisons for c in comp.columns()):
            if col in records.columns:
                units.setdefault("names" if col in NAME_VOCABULARY else col, col)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="c360-encode")
        self._futures = [self._pool.submit(holder.encoded, col) for col in units.values()]

    def wait(self) -> None:
        """Return once every encoding is built (raise what building one raised)."""
        while self._futures:
            self._futures.pop(0).result()

    def __enter__(self) -> _Primed:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


#: Pairs compared at a time: each part's temporaries (codes, masks, distinct
#: value pairs: about 60 bytes a pair) live twice over while two threads compare.
COMPARE_PART = 1 << 20


def _parts(chunks: Iterable[pl.DataFrame], size: int) -> Iterator[tuple[IntArray, IntArray]]:
    """The record keys of each chunk's pairs, in slices of at most ``size`` pairs."""
    for chunk in chunks:
        left, right = chunk["_rid_l"].to_numpy(), chunk["_rid_r"].to_numpy()
        for i in range(0, left.shape[0], size):
            yield left[i : i + size], right[i : i + size]


def _in_order(work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``work`` of each item, in order; after the first, two items at a time.

    The first item runs alone, so that what ``work`` caches on first use
    (column encodings, their Python strings) is built once; then two threads
    share the items. Comparing is numpy and RapidFuzz, which release the GIL
    on whole arrays: a 2-core machine compared 7.9M pairs in 7.6-8.4 s
    instead of 9.5-10.3 s. At most two items are worked on or waiting at once.

    Examples:
        >>> list(_in_order(lambda x: x * x, range(5)))
        [0, 1, 4, 9, 16]
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    it = iter(items)
    first = next(it, _END)
    if first is _END:
        return
    yield work(first)  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="c360-compare") as pool:
        pending: deque[Future[R]] = deque()
        for item in it:
            pending.append(pool.submit(work, item))
            if len(pending) >= 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


_END = object()


def joined(parts: list[npt.NDArray[Any]], empty: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The parts end to end, each freed from ``parts`` once copied.

    ``np.concatenate`` holds every part and the result at once: twice the
    pair arrays (26 bytes a pair, 2 GB at 76M pairs) at the end of comparing.
    Here the peak is the result and one part.

    Examples:
        >>> parts = [np.array([1, 2]), np.array([3])]
        >>> joined(parts, np.zeros(0)).tolist(), parts
        ([1, 2, 3], [])
    """
    if not parts:
        return empty
    out = np.empty((sum(p.shape[0] for p in parts), *parts[0].shape[1:]), dtype=parts[0].dtype)
    parts.reverse()
    pos = 0
    while parts:
        part = parts.pop()
        out[pos : pos + part.shape[0]] = part
        pos += part.shape[0]
    return out
