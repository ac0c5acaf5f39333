"""Benchmark: customer lifecycle metrics over 10M events and 1M customers.

Generates unified IDs (1M customers, 1.5 records each on average, in two
sources) and an event table (10M rows keyed by ``(source, record_id)``, spread
over 2022-07..2024-12 with customers arriving, leaving and a heavy-tailed
number of events each: a few customers hold tens of thousands of events),
writes both as Parquet, then in a fresh child process each:

* **c360**: ``c360.metrics.compute`` of active, new, churned, retained and
  cohort retention at month grain, 24 periods (2023-01..2024-12), from the
  Parquet files, one lazy polars query;
* **DuckDB**: the same five metrics written by hand in SQL over the same
  files (what a warehouse-backed semantic layer would generate);
* **c360-windows**: the worst shape for windows, day grain (731 periods) with
  trailing windows: distinct customers in 30 days, churned after 90 days
  without an event, events in 7 days.

It prints seconds, events/s, peak resident memory of each child, and whether
the two agree on every value.

Target: c360 <= 10 s on the 2-core development machine.

    python benchmarks/bench_metrics.py [--events 10000000] [--customers 1000000] [--skip-duckdb]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peak import peak_bytes

START, END = "2023-01-01", "2024-12-31"
DEFINITIONS = {
    "semantic_models": [
        {
            "name": "events",
            "table": "events",
            "join": {"source_column": "source", "record_id": "record_id"},
            "time": "ts",
            "measures": [{"name": "events", "agg": "count"}],
        }
    ],
    "metrics": [
        {"name": t, "type": t, "version": "1.0.0", "activity": {"model": "events"}}
        for t in ("active", "new", "churned", "retained", "cohort_retention")
    ],
}


#: The worst shape for windows: day grain (731 periods), trailing distinct counts.
WINDOWS = {
    "semantic_models": [
        {
            **DEFINITIONS["semantic_models"][0],
            "measures": [
                {"name": "users", "agg": "count_distinct", "expr": "customer_id"},
                {"name": "events", "agg": "count"},
            ],
        }
    ],
    "metrics": [
        {
            "name": "active_30d",
            "type": "cumulative",
            "measure": "users",
            "window": "30 days",
            "version": "1.0.0",
        },
        {
            "name": "churned_90d",
            "type": "churned",
            "activity": {"model": "events", "window": "90 days"},
            "version": "1.0.0",
        },
        {
            "name": "events_7d",
            "type": "cumulative",
            "measure": "events",
            "window": "7 days",
            "version": "1.0.0",
        },
    ],
}


def generate(n_events: int, n_customers: int, directory: Path, seed: int = 1) -> dict[str, Path]:
    """Unified IDs and events with a heavy tail of events per customer."""
    rng = np.random.default_rng(seed)
    per_customer = rng.integers(1, 3, n_customers)  # 1 or 2 records
    n_records = int(per_customer.sum())
    owner = np.repeat(np.arange(n_customers), per_customer)
    first_rec = np.concatenate([[0], np.cumsum(per_customer)[:-1]])
    source = np.where(rng.random(n_records) < 0.6, "app", "web")
    ids = pl.DataFrame(
        {
            "source": source,
            "record_id": pl.Series(np.arange(n_records)).cast(pl.String).str.zfill(9),
            "customer_id": pl.Series(owner).cast(pl.String).str.zfill(8),
        }
    )
    # arrival between 2022-07 and 2024-12, a lifetime of about ten months
    day0 = np.datetime64("2022-07-01")
    horizon = int((np.datetime64("2025-01-01") - day0).astype(int))
    arrive = rng.integers(0, horizon - 1, n_customers)
    leave = np.minimum(arrive + rng.exponential(300, n_customers).astype(int) + 1, horizon)
    weight = rng.lognormal(0.0, 1.5, n_customers)
    counts = rng.multinomial(n_events, weight / weight.sum())
    who = np.repeat(np.arange(n_customers), counts)
    span = (leave - arrive)[who]
    seconds = (arrive[who] * 86400 + (rng.random(who.size) * span * 86400)).astype(np.int64)
    rec = first_rec[who] + (rng.random(who.size) * per_customer[who]).astype(np.int64)
    events = pl.DataFrame(
        {
            "source": pl.Series(source[rec]),
            "record_id": pl.Series(rec).cast(pl.String).str.zfill(9),
            "ts": pl.Series(day0.astype("datetime64[us]") + seconds * 1_000_000),
        }
    )
    paths = {"ids": directory / "unified_ids.parquet", "events": directory / "events.parquet"}
    ids.write_parquet(paths["ids"])
    events.write_parquet(paths["events"], row_group_size=1_000_000)
    return paths


def run_c360(ids: Path, events: Path, windows: bool = False) -> dict[str, object]:
    from c360.metrics import compute

    t = time.perf_counter()
    res = compute(
        WINDOWS if windows else DEFINITIONS,
        pl.scan_parquet(ids),
        tables={"events": events},
        grain="day" if windows else "month",
        start=pl.Series([START]).str.to_date()[0],
        end=pl.Series([END]).str.to_date()[0],
    )
    seconds = time.perf_counter() - t
    cohort = pl.col("cohort") if "cohort" in res.table.columns else pl.lit(None)
    rows = res.table.select(
        "metric", pl.col("period_start").cast(pl.String), cohort.cast(pl.String), "value"
    ).rows()
    return {"seconds": seconds, "rows": rows, "unresolved": res.unresolved.to_dicts()}


SQL = f"""
WITH ev AS (
  SELECT i.customer_id, e.ts FROM read_parquet($events) e
  JOIN read_parquet($ids) i ON i.source = e.source AND i.record_id = e.record_id
),
m AS (SELECT DISTINCT customer_id, date_trunc('month', ts)::DATE AS month FROM ev),
f AS (SELECT customer_id, min(month) AS cohort FROM m GROUP BY customer_id),
months AS (SELECT unnest(range(DATE '{START}', DATE '{END}' + 1, INTERVAL 1 MONTH))::DATE AS month),
active AS (SELECT month, count(*) AS n FROM m GROUP BY month),
new AS (SELECT cohort AS month, count(*) AS n FROM f GROUP BY cohort),
churned AS (
  SELECT (a.month + INTERVAL 1 MONTH)::DATE AS month, count(*) AS n FROM m a
  LEFT JOIN m b ON b.customer_id = a.customer_id AND b.month = a.month + INTERVAL 1 MONTH
  WHERE b.customer_id IS NULL GROUP BY 1
),
retained AS (
  SELECT b.month, count(*) AS n FROM m a
  JOIN m b ON b.customer_id = a.customer_id AND b.month = a.month + INTERVAL 1 MONTH
  GROUP BY 1
),
size AS (SELECT cohort, count(*) AS n FROM f GROUP BY cohort),
cohorts AS (
  SELECT f.cohort, m.month, count(*) AS n FROM m JOIN f USING (customer_id) GROUP BY 1, 2
)
SELECT 'active' AS metric, months.month, NULL::DATE AS cohort, coalesce(n, 0)::DOUBLE AS value
  FROM months LEFT JOIN active USING (month)
UNION ALL SELECT 'new', months.month, NULL, coalesce(n, 0) FROM months LEFT JOIN new USING (month)
UNION ALL SELECT 'churned', months.month, NULL, coalesce(n, 0)
  FROM months LEFT JOIN churned USING (month)
UNION ALL SELECT 'retained', months.month, NULL, coalesce(n, 0)
  FROM months LEFT JOIN retained USING (month)
UNION ALL SELECT 'cohort_retention', months.month, size.cohort,
  coalesce(cohorts.n, 0) / size.n
  FROM size JOIN months ON months.month >= size.cohort
  LEFT JOIN cohorts ON cohorts.cohort = size.cohort AND cohorts.month = months.month
  WHERE size.cohort >= DATE '{START}' AND size.cohort <= DATE '{END}'
"""


def run_duckdb(ids: Path, events: Path) -> dict[str, object]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    t = time.perf_counter()
    rows = con.execute(SQL, {"ids": str(ids), "events": str(events)}).fetchall()
    seconds = time.perf_counter() - t
    out = [(m, str(p), None if c is None else str(c), float(v)) for m, p, c, v in rows]
    return {"seconds": seconds, "rows": out}


def child(engine: str, ids: Path, events: Path) -> None:
    """Run one engine in this (fresh) process and print its figures as JSON."""
    if engine.startswith("c360"):
        result = run_c360(ids, events, windows=engine == "c360-windows")
    else:
        result = run_duckdb(ids, events)
    result["peak_mb"] = peak_bytes() / 2**20
    print(json.dumps(result))


def spawn(engine: str, paths: dict[str, Path]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(paths["ids"]), str(paths["events"])],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{engine} failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _keyed(rows: object) -> dict[tuple[str, str, str | None], float]:
    assert isinstance(rows, list)
    return {(m, p, c): v for m, p, c, v in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "IDS", "EVENTS"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        paths = generate(args.events, args.customers, Path(tmp))
        print(
            f"data: {args.events:,} events, {args.customers:,} customers, "
            f"generated in {time.perf_counter() - t:.1f} s"
        )
        results = {"c360": spawn("c360", paths)}
        if not args.skip_duckdb:
            results["duckdb"] = spawn("duckdb", paths)
        results["c360-windows"] = spawn("c360-windows", paths)
    print("c360 and duckdb: active, new, churned, retained, cohort retention; month grain")
    print("c360-windows: active_30d, churned_90d, events_7d; day grain (731 periods)")
    for name, r in results.items():
        seconds = float(r["seconds"])  # type: ignore[arg-type]
        print(
            f"{name:<13} {seconds:6.2f} s  {args.events / seconds / 1e6:5.2f} M events/s  "
            f"peak {float(r['peak_mb']):7.0f} MB  {len(r['rows']):,} result rows"  # type: ignore[arg-type]
        )
    if "duckdb" in results:
        a, b = _keyed(results["c360"]["rows"]), _keyed(results["duckdb"]["rows"])
        differ = [
            k for k in a.keys() | b.keys() if k not in a or k not in b or abs(a[k] - b[k]) > 1e-9
        ]
        print(f"agreement: {'every value equal' if not differ else f'{len(differ)} values differ'}")
        for k in sorted(differ, key=str)[:10]:
            print(f"  {k}: c360 {a.get(k)}, duckdb {b.get(k)}")


if __name__ == "__main__":
    main()
