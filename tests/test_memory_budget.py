"""The pair stages' memory budget: a run that cannot fit stops with a clear error."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

import c360
from c360._engine import LOCAL, PAIR_BYTES
from c360.blocking import count_pairs, rule_keys
from c360.cli import _register, app
from c360.config import ResolveConfig
from c360.datasets import generate_people
from c360.exceptions import ConfigError, MemoryBudgetError
from c360.pipeline import prepare


@pytest.fixture(scope="module")
def prepared():
    return prepare(generate_people(400, seed=2).records)


def _needs(prep) -> tuple[int, int, int]:
    """Bytes per pair, the widest rule's pairs, and the pairs of the run."""
    cfg = prep.config
    counts = count_pairs(prep.records, cfg.blocking, keys=rule_keys(prep.records, cfg.blocking))
    pairs = len(LOCAL.candidate_pairs(prep.records, cfg, show=False))
    return PAIR_BYTES + len(cfg.comparisons), int(counts["pairs"].max()), pairs


def test_a_budget_the_widest_rule_cannot_fit_stops_before_any_pair(prepared):
    per_pair, widest, _ = _needs(prepared)
    cfg = dataclasses.replace(prepared.config, memory_budget=widest * per_pair - 1)
    with pytest.raises(MemoryBudgetError) as err:
        LOCAL.candidate_pairs(prepared.records, cfg, show=False)
    text = str(err.value)
    assert "block_and_compare needs at least" in text
    assert f"alone finds {widest:,} pairs" in text
    assert f"{per_pair} bytes each" in text
    assert err.value.hint and "blocking rule" in err.value.hint


def test_a_budget_passed_while_comparing_stops_with_the_pairs_kept(prepared):
    per_pair, widest, pairs = _needs(prepared)
    assert pairs > widest  # several rules: the union is larger than the widest
    cfg = dataclasses.replace(prepared.config, memory_budget=widest * per_pair)
    with pytest.raises(MemoryBudgetError, match="pairs kept so far, of at most"):
        LOCAL.candidate_pairs(prepared.records, cfg, show=False)
    # exactly enough for every pair: the run goes through
    cfg = dataclasses.replace(prepared.config, memory_budget=pairs * per_pair)
    assert len(LOCAL.candidate_pairs(prepared.records, cfg, show=False)) == pairs


def test_the_error_reaches_resolve_tagged_with_its_stage():
    recs = generate_people(150, seed=4).records
    with pytest.raises(MemoryBudgetError) as err:
        c360.resolve(recs, config=ResolveConfig(memory_budget="1KB"))
    assert err.value.c360_stage == "block_and_compare"  # type: ignore[attr-defined]
    assert "over the memory budget of 1.0 KB" in str(err.value)


def test_a_bad_budget_is_a_configuration_error():
    for bad in ("lots", 0, -5, "0GB", True):
        with pytest.raises(ConfigError, match="memory_budget"):
            ResolveConfig(memory_budget=bad)
    cfg = ResolveConfig(memory_budget="1.5GiB")
    assert ResolveConfig.from_dict(cfg.to_dict()).memory_budget == "1.5GiB"


def test_the_cli_names_the_stage_and_writes_nothing(tmp_path):
    _register()
    path = tmp_path / "people.parquet"
    generate_people(150, seed=4).records.write_parquet(path)
    config = tmp_path / "c360.toml"
    config.write_text('[resolve]\nmemory_budget = "1KB"\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["resolve", str(path), "--out", str(out), "--config", str(config)]
    )
    assert result.exit_code != 0
    assert "block_and_compare needs at least" in result.output
    assert "Traceback" not in result.output
    assert not (out / "unified_ids.parquet").exists()
