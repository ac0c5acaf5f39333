"""Benchmark: read + validate 1,000,000 canonical rows from Parquet.

Generates the rows (about 1% bad emails, 0.5% impossible birth dates, 0.1%
duplicate ids, 0.05% missing ids), writes them as Parquet, then in a fresh
child process times ``Source.read()`` + ``validate()`` and measures the peak
resident memory added (Linux: the VmHWM high-water mark, reset just before the
step, minus the RSS at that point), compared with the Arrow size of the data.
It also times the same data through the contract's pandera schema
(``Contract.to_pandera()``, validation depth set explicitly) and through the
text path (all columns as strings, as from CSV).

Targets: >= 1M rows/s and peak memory <= 3x the Arrow size.

    python benchmarks/bench_validate.py [--rows 1000000] [--no-pandera]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peak import peak_bytes, reset_peak

FIRST = ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kim", "Lea"]
LAST = ["Lee", "Ng", "Oh", "Smith", "Jones", "Brown", "Khan", "Garcia", "Muller", "Rossi"]
CITY = ["London", "Leeds", "Paris", "Lyon", "Berlin", "Madrid", "Rome", "Dublin"]
COUNTRY = ["GB", "GB", "FR", "FR", "DE", "ES", "IT", "IE"]


def generate(n: int, seed: int = 7) -> pl.DataFrame:
    """Canonical rows with a little junk, built with whole-column operations."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    dup = rng.random(n) < 0.001
    ids[dup] = rng.integers(0, n, dup.sum())
    first = pl.Series(np.array(FIRST)[rng.integers(0, len(FIRST), n)])
    last = pl.Series(np.array(LAST)[rng.integers(0, len(LAST), n)])
    city_idx = rng.integers(0, len(CITY), n)
    dob_days = rng.integers(-20000, 15000, n)  # 1915 .. 2011
    bad_dob = rng.random(n) < 0.005
    dob_days[bad_dob] = -40000  # 1860: before the contract's minimum
    frame = pl.DataFrame(
        {
            "record_id": pl.Series(ids).cast(pl.String),
            "first_name": first,
            "last_name": last,
            "n": pl.Series(rng.integers(0, 10_000, n)),
            "bad_email": pl.Series(rng.random(n) < 0.01),
            "missing_id": pl.Series(rng.random(n) < 0.0005),
            "phone": pl.Series(rng.integers(7_000_000_000, 7_999_999_999, n)).cast(pl.String),
            "date_of_birth": pl.Series(dob_days).cast(pl.Date),
            "address_line1": pl.Series(rng.integers(1, 300, n)).cast(pl.String) + " High Street",
            "city": pl.Series(np.array(CITY)[city_idx]),
            "postcode": pl.Series(rng.integers(10_000, 99_999, n)).cast(pl.String),
            "country": pl.Series(np.array(COUNTRY)[city_idx]),
            "updated_at": pl.Series(rng.integers(1_600_000_000, 1_730_000_000, n) * 1_000_000).cast(
                pl.Datetime("us")
            ),
        }
    )
    return frame.select(
        pl.when(pl.col("missing_id")).then(None).otherwise(pl.col("record_id")).alias("record_id"),
        "first_name",
        "last_name",
        pl.when(pl.col("bad_email"))
        .then(pl.col("first_name") + "." + pl.col("last_name"))
        .otherwise(
            pl.col("first_name").str.to_lowercase()
            + "."
            + pl.col("last_name").str.to_lowercase()
            + pl.col("n").cast(pl.String)
            + "@example.com"
        )
        .alias("email"),
        "phone",
        "date_of_birth",
        "address_line1",
        "city",
        "postcode",
        "country",
        "updated_at",
    )


def measure(path: str) -> dict[str, float]:
    """Run in a fresh process: time and peak memory of read + validate."""
    from c360.contracts import canonical_contract, validate
    from c360.sources import Source

    contract = canonical_contract()
    source = Source(name="bench", location=path)
    # Warm the code paths on a few rows so that first-call costs are not counted.
    validate(generate(1000).with_columns(pl.lit("w").alias("source")), contract, source="w")
    before = reset_peak()
    start = time.perf_counter()
    result = validate(source.read(), contract, source="bench")
    seconds = time.perf_counter() - start
    peak = peak_bytes() - before
    return {
        "seconds": seconds,
        "peak_bytes": float(peak),
        "rows": float(result.counts.rows_in),
        "valid": float(result.counts.valid),
        "quarantined": float(result.counts.quarantined),
        "emails_nulled": float(result.counts.nullified.get("email", 0)),
        "dobs_nulled": float(result.counts.nullified.get("date_of_birth", 0)),
    }


def time_pandera(frame: pl.DataFrame) -> tuple[float, float]:
    """Seconds for the pandera schema over the same typed rows: checks alone, and checks
    plus the split of the rows by the failure cases' index (no messages, no nullify)."""
    from pandera.config import ValidationDepth, config_context
    from pandera.errors import SchemaErrors

    from c360.contracts import canonical_contract

    schema = canonical_contract().to_pandera()
    typed = frame.with_columns(pl.lit("bench").alias("source"))
    start = time.perf_counter()
    failures = pl.DataFrame()
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(typed, lazy=True)
        except SchemaErrors as exc:
            failures = exc.failure_cases
    checks = time.perf_counter() - start
    bad = failures.get_column("index").drop_nulls().unique() if failures.height else pl.Series([])
    position = pl.int_range(pl.len(), dtype=pl.Int32)
    valid = typed.filter(~position.is_in(bad.cast(pl.Int32).implode()))
    quarantine = typed.filter(position.is_in(bad.cast(pl.Int32).implode()))
    assert valid.height + quarantine.height == typed.height
    return checks, time.perf_counter() - start


def time_text(frame: pl.DataFrame) -> float:
    """Seconds to validate the same rows with every column as text (the CSV path)."""
    from c360.contracts import canonical_contract, validate

    text = frame.with_columns(pl.all().cast(pl.String), pl.lit("bench").alias("source"))
    start = time.perf_counter()
    validate(text.lazy(), canonical_contract(), source="bench")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-pandera", action="store_true", help="skip the pandera comparison")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    frame = generate(args.rows)
    arrow_bytes = frame.to_arrow().nbytes
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "canonical.parquet")
        frame.write_parquet(path)
        out = subprocess.run(
            [sys.executable, __file__, "--measure", path],
            check=True,
            capture_output=True,
            text=True,
        )
        m = json.loads(out.stdout.strip().splitlines()[-1])
    rate = m["rows"] / m["seconds"]
    ratio = m["peak_bytes"] / arrow_bytes
    print(
        f"rows: {int(m['rows']):,} ({int(m['valid']):,} valid, "
        f"{int(m['quarantined']):,} quarantined, "
        f"{int(m['emails_nulled']):,} emails and {int(m['dobs_nulled']):,} birth dates nulled)"
    )
    print(
        f"read + validate (Parquet, typed): {m['seconds']:.2f} s = {rate / 1e6:.2f} M rows/s "
        f"(target >= 1.00) {'OK' if rate >= 1e6 else 'MISSED'}"
    )
    print(
        f"peak memory added: {m['peak_bytes'] / 2**20:.0f} MiB = {ratio:.2f}x the Arrow size "
        f"{arrow_bytes / 2**20:.0f} MiB (target <= 3x) {'OK' if ratio <= 3 else 'MISSED'}"
    )
    text_seconds = time_text(frame)
    print(
        f"validate, all columns as text (CSV path): {text_seconds:.2f} s = "
        f"{args.rows / text_seconds / 1e6:.2f} M rows/s"
    )
    if not args.no_pandera:
        checks, split = time_pandera(frame)
        print(
            f"pandera, same typed rows in memory: checks {checks:.2f} s "
            f"({args.rows / checks / 1e6:.2f} M rows/s); checks + split by failure index "
            f"{split:.2f} s ({args.rows / split / 1e6:.2f} M rows/s); no coercion, messages "
            "or keep-first duplicates"
        )
        from c360.contracts import canonical_contract, validate

        typed = frame.with_columns(pl.lit("bench").alias("source"))
        start = time.perf_counter()
        validate(typed, canonical_contract(), source="bench")
        mine = time.perf_counter() - start
        print(
            f"c360 validate, same typed rows in memory: {mine:.2f} s "
            f"({args.rows / mine / 1e6:.2f} M rows/s)"
        )


if __name__ == "__main__":
    main()
