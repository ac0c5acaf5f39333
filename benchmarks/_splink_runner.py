"""Run Splink 5 (DuckDB backend) on canonical records; one engine run per process.

Called by ``bench_resolve.py`` in a subprocess so that its peak memory is
measured on its own::

    python benchmarks/_splink_runner.py --config accurate --input records.parquet \
        --clusters out.parquet --stats out.json

and by ``bench_incremental.py`` for Splink's incremental linkage
(``predict_between`` existing x new)::

    python benchmarks/_splink_runner.py --config quick --input existing.parquet \
        --incremental singles.parquet batch.parquet --stats out.json

The two configurations follow Splink's documented workflow (estimate the prior
from deterministic rules, u by random sampling, m by EM on blocking rules,
predict, cluster with connected components at a threshold):

- ``quick``: four prediction blocking rules, no term-frequency adjustments,
  u from 1e6 sampled pairs, two EM sessions.
- ``accurate``: comparable to c360's automatic configuration: blocking on
  names, date of birth, postcode, e-mail, phone, address and national id;
  Jaro-Winkler name levels with term-frequency adjustments, date-of-birth
  levels, e-mail, phone, postcode, city, street line and national id; u from
  1e7 sampled pairs; three EM sessions.

Splink expects cleaned inputs; the runner does the light standardisation a
Splink user would do (lower case, accents folded, punctuation stripped, phone
digits, first/last name split from ``full_name`` when missing). That time is
counted in Splink's total. Junk values (``test@test.com``) are left in: c360
has to find them from the data, and so does Splink.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peak import peak_rss_mb, time_single_calls

THRESHOLD = 0.9


def _clean(col: str) -> pl.Expr:
    c = pl.col(col).str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
    c = c.str.replace_all(r"[^a-z0-9 ]", "").str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(c == "").then(None).otherwise(c).alias(col)


def prepare(records: pl.DataFrame) -> pl.DataFrame:
    """Standardise canonical records the way a Splink user would before linking."""
    full = pl.col("full_name").str.strip_chars()
    comma = full.str.contains(",")
    full_first = (
        pl.when(comma)
        .then(
            full.str.split(",")
            .list.get(1, null_on_oob=True)
            .str.strip_chars()
            .str.split(" ")
            .list.first()
        )
        .otherwise(full.str.split(" ").list.first())
    )
    full_last = (
        pl.when(comma)
        .then(full.str.split(",").list.first())
        .otherwise(full.str.split(" ").list.last())
    )
    df = records.with_columns(
        first_name=pl.coalesce("first_name", full_first),
        last_name=pl.coalesce("last_name", full_last),
    )
    digits = pl.col("phone").str.replace_all(r"\D", "")
    return df.select(
        pl.concat_str(["source", "record_id"], separator=":").alias("unique_id"),
        "source",
        "record_id",
        _clean("first_name"),
        _clean("last_name"),
        pl.col("date_of_birth"),
        pl.col("email").str.strip_chars().str.to_lowercase().alias("email"),
        pl.when(digits.str.len_chars() >= 7).then(digits.str.slice(-9)).alias("phone"),
        _clean("address_line1"),
        _clean("city"),
        pl.col("postcode")
        .str.to_uppercase()
        .str.replace_all(r"\s", "")
        .str.slice(0, 5)
        .alias("postcode"),
        pl.col("national_id")
        .str.replace_all(r"[^0-9A-Za-z]", "")
        .str.to_uppercase()
        .alias("national_id"),
    )


def settings(config: str) -> tuple[Any, dict[str, Any]]:
    """Splink settings and the training plan for ``quick`` or ``accurate``."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    if config == "quick":
        blocking = [
            block_on("first_name", "last_name"),
            block_on("email"),
            block_on("phone"),
            block_on("date_of_birth", "last_name"),
        ]
        comparisons = [
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city"),
        ]
        plan = {
            "deterministic": [
                block_on("email", "first_name"),
                block_on("first_name", "last_name", "date_of_birth"),
            ],
            "recall": 0.7,
            "u_max_pairs": 1e6,
            "em": [block_on("first_name", "last_name"), block_on("email")],
        }
    elif config == "accurate":
        blocking = [
            block_on("first_name", "last_name"),
            block_on("email"),
            block_on("phone"),
            block_on("date_of_birth"),
            block_on("postcode", "first_name"),
            block_on("postcode", "last_name"),
            block_on("address_line1"),
            block_on("national_id"),
        ]
        comparisons = [
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_line1", [0.95, 0.88]),
            cl.ExactMatch("national_id"),
        ]
        plan = {
            "deterministic": [
                block_on("email", "first_name"),
                block_on("first_name", "last_name", "date_of_birth"),
                block_on("national_id"),
            ],
            "recall": 0.7,
            "u_max_pairs": 1e7,
            "em": [
                block_on("first_name", "last_name"),
                block_on("date_of_birth"),
                block_on("email"),
            ],
        }
    else:
        raise SystemExit(f"unknown Splink config {config!r}; use quick or accurate")
    creator = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    return creator, plan


def train(linker: Any, plan: dict[str, Any]) -> None:
    """Splink's documented training: prior from deterministic rules, u by sampling, m by EM."""
    linker.training.estimate_probability_two_random_records_match(
        plan["deterministic"], recall=plan["recall"]
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=plan["u_max_pairs"], seed=1)
    for rule in plan["em"]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)


def run(
    config: str, input_path: Path, clusters_path: Path, *, count_pairs: bool = True
) -> dict[str, Any]:
    """Run Splink end to end on the records in ``input_path``; write the clusters."""
    import splink
    from splink import DuckDBAPI, Linker
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    t0 = time.perf_counter()
    records = pl.read_parquet(input_path)
    t_read = time.perf_counter() - t0

    t1 = time.perf_counter()
    prepared = prepare(records)
    db_api = DuckDBAPI()
    table = db_api.register(prepared.to_arrow(), dataset_display_name="records")
    creator, plan = settings(config)
    linker = Linker(table, creator, log_level=logging.WARNING)
    t_setup = time.perf_counter() - t1

    t2 = time.perf_counter()
    train(linker, plan)
    t_train = time.perf_counter() - t2

    t3 = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    out = pl.from_arrow(clusters.as_pyarrow_table())
    assert isinstance(out, pl.DataFrame)
    out = out.select("source", "record_id", pl.col("cluster_id").cast(pl.String).alias("cluster"))
    t_predict = time.perf_counter() - t3
    links = predictions.query_sql("select count(*) as n from {this}").as_record_list()
    out.write_parquet(clusters_path)
    engine_seconds = t_setup + t_train + t_predict

    pairs = None
    t_pairs = None
    if count_pairs:  # outside the timed section: Splink does not report it while predicting
        t4 = time.perf_counter()
        counts = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=creator.blocking_rules_to_generate_predictions,
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            record_sample_proportion=1.0,
        )
        pairs = int(counts[-1]["cumulative_comparison_count"])
        t_pairs = time.perf_counter() - t4

    return {
        "engine": f"splink-{config}",
        "version": splink.__version__,
        "records": records.height,
        "read_seconds": t_read,
        "prepare_seconds": t_setup,
        "train_seconds": t_train,
        "predict_cluster_seconds": t_predict,
        "engine_seconds": engine_seconds,
        "candidate_pairs": pairs,
        "count_pairs_seconds": t_pairs,
        "links_at_threshold": int(links[0]["n"]),
        "prior": float(linker._settings_obj._probability_two_random_records_match),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_incremental(
    config: str,
    base_path: Path,
    singles_path: Path,
    batch_path: Path,
    *,
    train_sample: int = 200_000,
) -> dict[str, Any]:
    """Splink's incremental linkage: new records scored against the existing ones.

    The model is trained as in [`run`][run] on a random sample of at most
    ``train_sample`` existing records (training time reported, not counted as
    latency); the full existing table is registered once. Each new record (and
    then the whole batch) goes through ``linker.inference.predict_between``
    (existing x new, the prediction blocking rules, threshold 0.9) with the
    result fetched as Arrow: registering the new rows, blocking, scoring. Splink
    returns scored pairs; it does not assign the record to a cluster or an ID.
    """
    from splink import DuckDBAPI, Linker

    base = prepare(pl.read_parquet(base_path))
    singles = prepare(pl.read_parquet(singles_path))
    batch = prepare(pl.read_parquet(batch_path))
    db_api = DuckDBAPI()
    t0 = time.perf_counter()
    existing = db_api.register(base.to_arrow(), dataset_display_name="existing")
    t_register = time.perf_counter() - t0

    t1 = time.perf_counter()
    sample = base.sample(n=min(train_sample, base.height), seed=0)
    training = db_api.register(sample.to_arrow(), dataset_display_name="training")
    creator, plan = settings(config)
    linker = Linker(training, creator, log_level=logging.WARNING)
    train(linker, plan)
    t_train = time.perf_counter() - t1

    def score(rows: pl.DataFrame, name: str) -> int:
        new = db_api.register(rows.to_arrow(), dataset_display_name=name)
        pairs = linker.inference.predict_between(
            existing, new, threshold_match_probability=THRESHOLD, warning_mode="never"
        )
        return int(pairs.as_pyarrow_table().num_rows)

    singles_stats = time_single_calls(
        lambda i: score(singles.slice(i, 1), f"single{i}"), singles.height
    )
    t2 = time.perf_counter()
    batch_pairs = score(batch, "batch")
    t_batch = time.perf_counter() - t2
    return {
        "engine": f"splink-{config}",
        "existing_records": base.height,
        "register_seconds": t_register,
        "train_records": sample.height,
        "train_seconds": t_train,
        **singles_stats,
        "batch_records": batch.height,
        "batch_seconds": t_batch,
        "batch_links": batch_pairs,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Splink on canonical records (one config).")
    parser.add_argument("--config", choices=["quick", "accurate"], required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--clusters", type=Path)
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--no-count-pairs", action="store_true")
    parser.add_argument(
        "--incremental",
        nargs=2,
        type=Path,
        metavar=("SINGLES", "BATCH"),
        help="score these new records against --input instead of a full run",
    )
    args = parser.parse_args(argv)
    if args.incremental:
        stats = run_incremental(args.config, args.input, *args.incremental)
    else:
        if args.clusters is None:
            parser.error("--clusters is required for a full run")
        stats = run(args.config, args.input, args.clusters, count_pairs=not args.no_count_pairs)
    args.stats.write_text(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
