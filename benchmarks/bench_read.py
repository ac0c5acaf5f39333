"""Time reading a source: CSV/Parquet scan, the CSV field-count check, and load().

    python benchmarks/bench_read.py [--rows 1000000] [--sqlite]

Writes synthetic customer rows (with quoted commas and line breaks, as real
exports have) to a temporary folder and times each step with the best of
``--repeat`` runs. Prints one line per step with rows per second.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from c360 import _readers
from c360.sources import Source, collect_source, load


def people(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    first = np.array(["Ann", "Bob", "Cy", "Dana", "Émile", "Zoë", "Lee, Jr", "Ming"])
    city = np.array(["Oslo", "Rome", "New\nYork", "Lima", "Pune"])
    ids = np.arange(n)
    return pl.DataFrame(
        {
            "cust_id": ids,
            "First": first[rng.integers(0, len(first), n)],
            "Last": first[rng.integers(0, len(first), n)],
            "mail": pl.select(pl.format("u{}@x.org", pl.Series(ids))).to_series(),
            "dob": pl.date_range(pl.date(1950, 1, 1), pl.date(2005, 1, 1), eager=True).sample(
                n, with_replacement=True, seed=seed
            ),
            "city": city[rng.integers(0, len(city), n)],
            "modified": pl.datetime_range(
                pl.datetime(2024, 1, 1), pl.datetime(2024, 12, 31), "1h", eager=True
            ).sample(n, with_replacement=True, seed=seed),
        }
    )


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true", help="also time a SQLite table")
    args = parser.parse_args()
    n = args.rows
    df = people(n)
    mapping = {
        "First": "first_name",
        "Last": "last_name",
        "mail": "email",
        "dob": "date_of_birth",
        "city": "city",
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        df.write_csv(folder / "crm.csv")
        df.write_parquet(folder / "crm.parquet")
        mb = (folder / "crm.csv").stat().st_size / 1e6

        def src(loc: str, **kw: Any) -> Source:
            return Source(
                name="crm",
                location=loc,
                record_id="cust_id",
                event_time="modified",
                columns=mapping,
                **kw,
            )

        csv_src = src(str(folder / "crm.csv"))
        pq_src = src(str(folder / "crm.parquet"))
        inputs = _readers.file_inputs([folder / "crm.csv"], {})
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("csv: read().collect()", lambda: collect_source(csv_src)),
            ("csv: field-count check", lambda: _readers.check_csv_fields(inputs, {})),
            ("csv: load() (read + check + contract)", lambda: load(csv_src)),
            ("parquet: read().collect()", lambda: collect_source(pq_src)),
            ("parquet: load()", lambda: load(pq_src)),
        ]
        if args.sqlite:
            con = sqlite3.connect(folder / "crm.db")
            con.execute(
                "CREATE TABLE people (cust_id INTEGER, First TEXT, Last TEXT, mail TEXT, "
                "dob TEXT, city TEXT, modified TEXT)"
            )
            con.executemany(
                "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)",
                df.with_columns(pl.col("dob", "modified").cast(pl.String)).rows(),
            )
            con.commit()
            con.close()
            sql_src = src(f"sqlite:///{folder / 'crm.db'}", table="people")
            steps.append(("sqlite (ADBC): read().collect()", lambda: collect_source(sql_src)))
        print(f"rows={n:,} csv={mb:.1f} MB repeat={args.repeat} (best of)")
        for label, fn in steps:
            seconds = best(fn, args.repeat)
            print(f"{label:<42} {seconds:8.3f} s  {n / seconds:>12,.0f} rows/s")


if __name__ == "__main__":
    main()
