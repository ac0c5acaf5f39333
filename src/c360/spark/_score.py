"""Compare and score candidate pairs in Spark, with the local engine's code.

What runs where:

* On the driver, [`score_pairs`][c360.spark._score.score_pairs] plans one
  DataFrame: both records' columns are joined onto each pair (two joins on
  the record key ``_rid``), then ``mapInArrow`` runs a Python function on
  every partition of the joined pairs. The driver serialises the model and
  the effective configuration once, as JSON (``FellegiSunterModel.to_dict``
  and ``EffectiveConfig.to_dict``, term-frequency tables included), and
  broadcasts those bytes. Nothing is collected to the driver.
* In each Python worker, the first task to need a broadcast model parses it
  and keeps the model and configuration in a module-level cache keyed by the
  SHA-256 digest of the bytes; later tasks and batches in the same process
  reuse them (and the model's term-frequency hash index, built on first use).
  Each chunk of pairs (up to ``chunk_pairs`` rows of the partition) becomes a
  small polars matching frame of the records it names, each once, in ``_rid``
  order, and the pairs' keys are renumbered to its rows.
  ``c360._engine.Pairs.compared`` computes the comparison levels and
  ``c360._engine.score`` the weights, probabilities and link decisions
  (``FellegiSunterModel.score_levels`` and ``c360._links.decide_links``),
  exactly as a local run does.

Why the per-partition results equal the local ones: every step reads only
the two records of a pair. Columns are dictionary-encoded per frame, but
codes are only compared for equality within one encoding (the name columns
of ``NAME_VOCABULARY`` share one encoding in every frame), and string
similarities are computed from the two values themselves. The model's
term-frequency adjustment looks each value up by its hash in tables shipped
with the model; the per-pair weight is a sum over the pair's own level
pattern; a deterministic rule compares the pair's two values. The records
that happen to share a chunk therefore change nothing; the tests check
levels, rules and decisions for equality and weights to 1e-9 (they come out
bit-identical). (A ``NameComparison`` whose ``swap_column`` lies outside
``NAME_VOCABULARY`` once compared codes of two encodings and so depended on
the frame; it now translates them first.)

What is shipped: the model and configuration as broadcast JSON bytes, sent
to each executor once; with each task, the function's closure (the record
column names, the output names, the broadcast's digest and handle, and for
[`levels`][c360.spark._score.levels] the comparisons as dictionaries). Only
the record columns the comparisons and rules read travel with the pairs.
The broadcast is not unpersisted: the returned DataFrame is lazy and may be
evaluated more than once. Pairs whose ``_rid_l`` or ``_rid_r`` is not a
``_rid`` of ``records`` are dropped by the inner joins.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from c360._engine import Pairs, Scored, score
from c360.comparisons import Comparison, comparison_from_dict
from c360.config import EffectiveConfig
from c360.model import FellegiSunterModel
from c360.spark._columns import quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["levels", "score_pairs"]

#: Pairs compared and scored at a time in a worker (a partition may hold many more).
CHUNK_PAIRS = 200_000

#: Per Python worker process: deserialised (model, configuration) by digest of their JSON.
_SHIPPED: dict[str, tuple[FellegiSunterModel, EffectiveConfig]] = {}
#: Models kept per worker process before the cache starts over.
_SHIPPED_MAX = 4


def score_pairs(
    pairs: DataFrame,
    records: DataFrame,
    model: FellegiSunterModel,
    cfg: EffectiveConfig,
    *,
    chunk_pairs: int = CHUNK_PAIRS,
) -> DataFrame:
    """Comparison levels, weights, probabilities and link decisions of candidate pairs.

    Args:
        pairs: candidate pairs, integer columns ``_rid_l`` and ``_rid_r``.
        records: the matching frame: ``_rid`` and the columns the
            comparisons, deterministic rules and term frequencies read (see
            ``c360._stages.matching_columns``; only those travel with the
            pairs).
        model: the trained model, broadcast once to the executors.
        cfg: the effective configuration: its comparisons, deterministic
            columns and ``cluster.threshold`` are applied as by ``c360._engine.score``.
        chunk_pairs: pairs compared and scored at a time in a worker.

    Returns:
        A lazy DataFrame, one row per pair (in no particular order):
        ``_rid_l``, ``_rid_r`` (long), one ``gamma_<name>`` byte column per
        comparison of ``cfg``, ``match_weight`` and ``match_probability``
        (double), ``rule`` (string, ``""`` when not linked), ``by_rule`` and
        ``accepted`` (boolean).
    """
    from pyspark.sql import SparkSession

    columns = _record_columns(records, cfg.comparisons, cfg.deterministic)
    payload = json.dumps(
        {"model": model.to_dict(), "config": cfg.to_dict()}, separators=(",", ":")
    ).encode()
    digest = hashlib.sha256(payload).hexdigest()
    spark = SparkSession.getActiveSession() or records.sparkSession
    shipped = spark.sparkContext.broadcast(payload)
    names = [c.output for c in cfg.comparisons]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        mdl, conf = _shipped(digest, shipped)
        for table in _chunks(batches, chunk_pairs):
            yield _scored_batch(table, columns, mdl, conf)

    return _sides(pairs, records, columns).mapInArrow(run, _schema(names, scored=True))


def levels(
    pairs: DataFrame,
    records: DataFrame,
    comparisons: Sequence[Comparison],
    *,
    chunk_pairs: int = CHUNK_PAIRS,
) -> DataFrame:
    """Comparison levels only (for training samples): as ``score_pairs`` without a model.

    Returns:
        A lazy DataFrame: ``_rid_l``, ``_rid_r`` (long) and one
        ``gamma_<name>`` byte column per comparison.
    """
    columns = _record_columns(records, comparisons)
    specs = [c.to_dict() for c in comparisons]
    names = [c.output for c in comparisons]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        comps = tuple(comparison_from_dict(s) for s in specs)
        for table in _chunks(batches, chunk_pairs):
            pairs = _compared(table, columns, comps)
            yield _batch(table, pairs, names, None)

    return _sides(pairs, records, columns).mapInArrow(run, _schema(names, scored=False))


# --- driver side ---------------------------------------------------------------


def _record_columns(
    records: DataFrame, comparisons: Sequence[Comparison], deterministic: Sequence[str] = ()
) -> list[str]:
    """The columns of ``records`` that the comparisons and rules read, in frame order.

    Only these travel with the pairs. A column a comparison reads only when
    present (a swap or e-mail user column) stays absent, as in the local frame.
    """
    if "_rid" not in records.columns:
        raise ValueError("records must have a _rid column (the record key the pairs refer to)")
    read = {c for comp in comparisons for c in comp.columns()}
    read.update(col for comp in comparisons for _, col in comp.tf_levels())
    read.update(deterministic)
    return [c for c in records.columns if c in read]


def _sides(pairs: DataFrame, records: DataFrame, columns: Sequence[str]) -> DataFrame:
    """Each pair with the left record's columns as ``_l<i>`` and the right's as ``_r<i>``."""
    from pyspark.sql import functions as F  # noqa: N812

    def side(tag: str) -> DataFrame:
        return records.select(
            F.col("_rid").cast("long").alias(f"_rid_{tag}"),
            *(F.col(quoted(c)).alias(f"_{tag}{i}") for i, c in enumerate(columns)),
        )

    keys = pairs.select(F.col("_rid_l").cast("long"), F.col("_rid_r").cast("long"))
    return keys.join(side("l"), "_rid_l").join(side("r"), "_rid_r")


def _schema(names: Sequence[str], *, scored: bool) -> Any:
    from pyspark.sql.types import (
        BooleanType,
        ByteType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    fields = [StructField("_rid_l", LongType()), StructField("_rid_r", LongType())]
    fields += [StructField(n, ByteType()) for n in names]
    if scored:
        fields += [
            StructField("match_weight", DoubleType()),
            StructField("match_probability", DoubleType()),
            StructField("rule", StringType()),
            StructField("by_rule", BooleanType()),
            StructField("accepted", BooleanType()),
        ]
    return StructType(fields)


# --- worker side -----------------------------------------------------------------


def _shipped(digest: str, payload: Any) -> tuple[FellegiSunterModel, EffectiveConfig]:
    """The model and configuration of a broadcast, parsed once per worker process.

    ``payload`` is the broadcast (anything with ``.value``, the JSON bytes);
    it is only read on a cache miss.

    Examples:
        >>> class Never:
        ...     @property
        ...     def value(self):
        ...         raise AssertionError("read")
        >>> _SHIPPED["d"] = ("model", "config")  # type: ignore[assignment]
        >>> _shipped("d", Never())
        ('model', 'config')
        >>> del _SHIPPED["d"]
    """
    got = _SHIPPED.get(digest)
    if got is None:
        data = json.loads(payload.value)
        got = (
            FellegiSunterModel.from_dict(data["model"]),
            EffectiveConfig.from_dict(data["config"]),
        )
        if len(_SHIPPED) >= _SHIPPED_MAX:
            _SHIPPED.clear()
        _SHIPPED[digest] = got
    return got


def _chunks(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    """The partition's batches regrouped into tables of about ``size`` rows (none empty)."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        held.append(batch)
        rows += batch.num_rows
        if rows >= size:
            yield pa.Table.from_batches(held)
            held, rows = [], 0
    if held:
        yield pa.Table.from_batches(held)


def _compared(table: pa.Table, columns: Sequence[str], comparisons: Sequence[Comparison]) -> Pairs:
    """The table's pairs compared in a matching frame of the records they name.

    The frame holds each record once (a record is in many pairs), in ``_rid``
    order; the pairs' keys are renumbered to its rows.
    """
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    sides = [
        frame.select(
            pl.col(f"_rid_{tag}").alias("_rid"),
            *(pl.col(f"_{tag}{i}").alias(c) for i, c in enumerate(columns)),
        )
        for tag in ("l", "r")
    ]
    records = pl.concat(sides).unique("_rid", keep="any").sort("_rid")
    rids = records.get_column("_rid").to_numpy()
    left = np.searchsorted(rids, frame.get_column("_rid_l").to_numpy())
    right = np.searchsorted(rids, frame.get_column("_rid_r").to_numpy())
    return Pairs.compared(records.drop("_rid"), left, right, comparisons)


def _scored_batch(
    table: pa.Table, columns: Sequence[str], model: FellegiSunterModel, cfg: EffectiveConfig
) -> pa.RecordBatch:
    pairs = _compared(table, columns, cfg.comparisons)
    return _batch(table, pairs, [c.output for c in cfg.comparisons], score(model, pairs, cfg))


def _batch(
    table: pa.Table, pairs: Pairs, names: Sequence[str], scored: Scored | None
) -> pa.RecordBatch:
    """The output rows of ``table``'s pairs, in the types of ``_schema``."""
    arrays: list[Any] = [
        table.column("_rid_l").combine_chunks(),
        table.column("_rid_r").combine_chunks(),
    ]
    arrays += [pa.array(pairs.levels[:, k], type=pa.int8()) for k in range(len(names))]
    fields = ["_rid_l", "_rid_r", *names]
    if scored is not None:
        rule = pa.array(scored.rule.names, type=pa.string()).take(pa.array(scored.rule.code))
        arrays += [
            pa.array(scored.weight, type=pa.float64()),
            pa.array(scored.probability, type=pa.float64()),
            rule,
            pa.array(scored.by_rule, type=pa.bool_()),
            pa.array(scored.accepted, type=pa.bool_()),
        ]
        fields += ["match_weight", "match_probability", "rule", "by_rule", "accepted"]
    return pa.RecordBatch.from_arrays(arrays, names=fields)
