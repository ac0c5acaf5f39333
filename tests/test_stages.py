"""The stage sequence shared by full runs and batches: typed values and the engine seam."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

import c360
from c360._engine import LOCAL, Pairs
from c360._stages import configure
from c360.config import EffectiveConfig, ResolveConfig
from c360.datasets import generate_people
from c360.exceptions import ConfigError
from c360.incremental import ResolutionState
from c360.testing import assert_same_clusters


@pytest.fixture(scope="module")
def people():
    return generate_people(150, seed=5).records


class CountingEngine:
    """The local engine, counting what the pipeline asks of it."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def candidate_pairs(self, records, cfg, *, show, keys=None):
        self.calls.append("candidate_pairs")
        return LOCAL.candidate_pairs(records, cfg, show=show, keys=keys)

    def score(self, model, pairs, cfg):
        self.calls.append("score")
        return LOCAL.score(model, pairs, cfg)

    def components(self, n, left, right):
        self.calls.append("components")
        return LOCAL.components(n, left, right)


def test_a_run_goes_through_the_engine_it_is_given(people):
    engine = CountingEngine()
    res = c360.resolve(people, engine=engine)
    assert engine.calls == ["candidate_pairs", "score", "components"]
    assert_same_clusters(res.unified_ids, c360.resolve(people).unified_ids)


def test_the_effective_configuration_has_every_choice_made(people, tmp_path):
    res = c360.resolve(people)
    cfg = res.config
    assert isinstance(cfg, EffectiveConfig)
    assert cfg.blocking.rules and cfg.comparisons and cfg.deterministic
    # a run's config.toml loads back as the same complete configuration
    res.write(tmp_path, report=False)
    assert EffectiveConfig.load(tmp_path / "config.toml") == cfg
    # configure() leaves what the user chose and fills in the rest
    given = ResolveConfig(deterministic=("email",))
    filled = configure(res.matching, given)
    assert filled.deterministic == ("email",)
    assert filled.comparisons == cfg.comparisons
    assert configure(res.matching, filled) is filled


def test_an_incomplete_configuration_is_not_an_effective_one(tmp_path):
    path = tmp_path / "c360.toml"
    ResolveConfig(link_type="dedupe").save(path)
    with pytest.raises(ConfigError, match="not complete") as err:
        EffectiveConfig.load(path)
    assert str(path) in str(err.value)


def test_a_resolution_is_frozen(people):
    res = c360.resolve(people)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.run_id = "other"  # type: ignore[misc]
    assert dataclasses.replace(res, run_id="other").run_id == "other"


def test_levels_are_computed_in_one_place_for_runs_and_batches(people, tmp_path):
    """A batch's links carry the levels a full run computes for the same pair."""
    res = c360.resolve(people)
    res.write(tmp_path, report=False)
    links = pl.from_arrow(res.links)
    gammas = [c for c in links.columns if c.startswith("gamma_")]
    # the pairs of the full run's links, recomputed through Pairs.compared
    keys = pl.from_arrow(res.unified_ids).select("source", "record_id").with_row_index("_k")
    ends = links.join(
        keys.rename({"source": "source_l", "record_id": "record_id_l", "_k": "l"}),
        on=["source_l", "record_id_l"],
    ).join(
        keys.rename({"source": "source_r", "record_id": "record_id_r", "_k": "r"}),
        on=["source_r", "record_id_r"],
    )
    matching = res.matching
    assert matching is not None
    order = pl.from_arrow(res.unified_ids).select("source", "record_id")
    aligned = order.join(matching, on=["source", "record_id"], how="left", maintain_order="left")
    pairs = Pairs.compared(
        aligned, ends["l"].to_numpy(), ends["r"].to_numpy(), res.config.comparisons
    )
    assert np.array_equal(pairs.levels, ends.select(gammas).to_numpy())
    # and a batch of one record already in the state scores its pairs the same way
    state = ResolutionState.load(tmp_path)
    one = res.records.filter(pl.col("source") == ends["source_l"][0]).filter(
        pl.col("record_id") == ends["record_id_l"][0]
    )
    batch = state.resolve(one.drop("_rid"))
    got = pl.from_arrow(batch.links)
    me = (ends["source_l"][0], ends["record_id_l"][0])

    def other_end(frame: pl.DataFrame) -> pl.DataFrame:
        # the partner of ``me`` in each link, and the link's levels
        left_is_me = (pl.col("source_l") == me[0]) & (pl.col("record_id_l") == me[1])
        right_is_me = (pl.col("source_r") == me[0]) & (pl.col("record_id_r") == me[1])
        return frame.filter(left_is_me ^ right_is_me).select(
            pl.when(left_is_me).then(pl.col("source_r")).otherwise(pl.col("source_l")).alias("s"),
            pl.when(left_is_me)
            .then(pl.col("record_id_r"))
            .otherwise(pl.col("record_id_l"))
            .alias("r"),
            *gammas,
        )

    full_side = other_end(links)
    batch_side = other_end(got)
    both = full_side.join(batch_side, on=["s", "r"], suffix="_batch")
    assert both.height >= 1, "precondition: the record links to a partner in both paths"
    for g in gammas:
        assert both[g].to_list() == both[f"{g}_batch"].to_list(), g


def test_chunks_compared_in_threads_give_the_pairs_of_one_chunk():
    """Small chunks go through the two-thread path; pairs and levels stay in order."""
    from c360.pipeline import prepare

    prep = prepare(generate_people(600, seed=11, profile="worst").records)
    cfg = prep.config
    many = dataclasses.replace(cfg, blocking=dataclasses.replace(cfg.blocking, chunk_pairs=97))
    threaded = LOCAL.candidate_pairs(prep.records, many, show=False)
    whole = LOCAL.candidate_pairs(prep.records, cfg, show=False)
    assert len(whole) > 5 * 97  # many chunks, so most ran in the threads
    assert np.array_equal(threaded.left, whole.left)
    assert np.array_equal(threaded.right, whole.right)
    assert np.array_equal(threaded.levels, whole.levels)


def test_stage_metrics_give_wall_and_processor_time():
    """``cpu_seconds`` counts the work of every thread, and no time spent waiting."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from c360._stages import Metrics

    def busy(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    metrics = Metrics()
    with metrics.stage("waits", 10):
        time.sleep(0.3)
    with metrics.stage("works", 10), ThreadPoolExecutor(2) as pool:
        list(pool.map(busy, [0.2, 0.2]))
    waits, works = metrics.rows
    assert waits["seconds"] >= 0.3 and waits["cpu_seconds"] < 0.1
    # two threads of 0.2 s of processor time each, however the cores were shared
    assert works["cpu_seconds"] >= 0.4
    # where the work is in other processes (Spark's executors), none is claimed
    remote = Metrics(processor_time=False)
    with remote.stage("score", 10):
        busy(0.05)
    assert "cpu_seconds" not in remote.rows[0] and remote.rows[0]["seconds"] >= 0.05


def test_candidate_pairs_encode_each_compared_column_once_beside_blocking(people, monkeypatch):
    """The encodings are built in the engine's threads, each once, and the levels are unchanged."""
    import threading

    from c360 import _comparison_base
    from c360._comparison_base import NAME_VOCABULARY

    res = c360.resolve(people)
    records, cfg = res.matching, res.config
    built: list[tuple[int, str]] = []
    real = _comparison_base.encode

    def spy(series):
        built.append((series.len(), threading.current_thread().name))
        return real(series)

    monkeypatch.setattr(_comparison_base, "encode", spy)
    pairs = LOCAL.candidate_pairs(records, cfg, show=False)
    compared = {c for comp in cfg.comparisons for c in comp.columns() if c in records.columns}
    names = compared & set(NAME_VOCABULARY)
    assert len(built) == len(compared - names) + (1 if names else 0)
    assert all(name.startswith("c360-encode") for _, name in built)
    assert compared <= set(pairs.encodings)
    # the same levels as comparing from scratch, one comparison after another
    fresh = Pairs.compared(records, pairs.left, pairs.right, cfg.comparisons)
    assert np.array_equal(fresh.levels, pairs.levels)


def test_an_error_building_an_encoding_is_raised_by_candidate_pairs(people, monkeypatch):
    from c360 import _comparison_base

    res = c360.resolve(people)

    def broken(series):
        raise RuntimeError(f"cannot encode {series.name}")

    monkeypatch.setattr(_comparison_base, "encode", broken)
    with pytest.raises(RuntimeError, match="cannot encode"):
        LOCAL.candidate_pairs(res.matching, res.config, show=False)
