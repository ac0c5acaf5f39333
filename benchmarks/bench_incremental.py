"""Incremental resolution benchmark: latency of one record and throughput of a batch.

One command::

    python benchmarks/bench_incremental.py --n 1000000 [--queries 200] [--batch 10000]

Builds a full resolution of about ``--n`` generated records (held-out records
excluded), writes it, loads it with :class:`c360.incremental.ResolutionState`
(load time reported separately: the target applies after the state is
loaded), then resolves ``--queries`` held-out records one at a time (p50/p99
latency) and one batch of ``--batch`` records (records/s). Peak memory is the
process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import c360
from c360.datasets import generate_people
from c360.incremental import ResolutionState


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--n", type=int, default=100_000, help="records in the saved resolution (about)"
    )
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    g = generate_people(max(int(args.n / 2.42), 10), seed=args.seed)
    recs = g.records
    held = recs.sample(n=min(args.queries + args.batch, recs.height // 5), seed=args.seed)
    base = recs.join(held.select("source", "record_id"), on=["source", "record_id"], how="anti")
    print(f"saved resolution: {base.height:,} records; held out {held.height:,}")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t = time.perf_counter()
        c360.resolve(base).write(out, report=False)
        print(f"full run + write: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        state = ResolutionState.load(out)
        print(f"state load: {time.perf_counter() - t:.1f} s")

        singles = held.head(args.queries)
        state.resolve(singles.head(1))  # warm-up: imports, first compile of expressions
        lat = []
        for i in range(1, singles.height):
            row = singles.slice(i, 1)
            t = time.perf_counter()
            state.resolve(row)
            lat.append((time.perf_counter() - t) * 1000)
        lat_a = np.array(lat)
        p50, p99 = np.percentile(lat_a, 50), np.percentile(lat_a, 99)
        print(
            f"single record: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"max {lat_a.max():.1f} ms over {lat_a.size} queries"
        )

        batch = held.slice(args.queries, args.batch)
        t = time.perf_counter()
        res = state.resolve(batch)
        el = time.perf_counter() - t
        ids = pl.from_arrow(res.unified_ids)
        print(
            f"batch of {batch.height:,}: {el:.2f} s, {batch.height / el:,.0f} records/s, "
            f"{ids.height:,} accepted, {res.id_changes.num_rows:,} id changes"
        )
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
