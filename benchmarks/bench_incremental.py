"""Incremental resolution benchmark: one record, then a batch, against a saved resolution.

One command::

    python benchmarks/bench_incremental.py --n 1000000 [--queries 1000] [--batch 10000]
                                           [--profile standard|worst] [--skip-splink]
                                           [--grow-from 5000000]

Generates about ``--n`` people records (:func:`c360.datasets.generate_people`),
holds out ``--queries + --batch`` of them, and resolves the rest with
``c360.resolve`` (written to disk; time reported, not part of the latency).
With ``--grow-from K``, the full run covers the first K of them and the rest
is added through ``ResolutionState`` in batches and saved (a child process;
for states larger than a full run fits in memory).
Then, each engine in its own subprocess, which reports its own peak memory
(VmHWM; see ``_peak.py``):

- ``c360``: :class:`c360.incremental.ResolutionState` loads the saved run
  (load time reported separately: the target applies after the state is
  loaded), resolves the held-out records one call at a time, the first call
  included (p50/p99/max latency, and per block of 200 calls), then the batch
  in one call (records/s). Each
  call validates, standardises, finds candidates, scores, and assigns
  customer IDs, updating the state.
- ``splink-quick``: Splink 5's incremental linkage, ``predict_between``
  (existing x new) with the model trained on a sample of the existing
  records, on the same records (the first ``--splink-queries`` of the single
  records, default 200: each call scans the existing table; see
  ``_splink_runner.run_incremental``). It returns scored pairs, without
  assigning clusters or IDs.

Results are printed and written as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _peak import peak_rss_mb, time_single_calls  # noqa: E402
from bench_resolve import RESULTS, _run_child, machine  # noqa: E402


def c360_worker(out: Path, singles_path: Path, batch_path: Path, stats: Path) -> None:
    """Load the saved resolution and resolve the held-out records against it."""
    from c360.incremental import ResolutionState

    singles = pl.read_parquet(singles_path)
    batch = pl.read_parquet(batch_path)
    t = time.perf_counter()
    state = ResolutionState.load(out)
    load_s = time.perf_counter() - t
    existing = state.size
    singles_stats = time_single_calls(
        lambda i: state.resolve(singles.slice(i, 1)), singles.height, warm_up=False
    )
    singles_stats["candidates_capped"] = state._capped
    t = time.perf_counter()
    res = state.resolve(batch)
    batch_s = time.perf_counter() - t
    result = {
        "engine": "c360",
        "existing_records": existing,
        "load_seconds": load_s,
        **singles_stats,
        "batch_records": batch.height,
        "batch_seconds": batch_s,
        "batch_accepted": res.unified_ids.num_rows,
        "batch_id_changes": res.id_changes.num_rows,
        "peak_rss_mb": peak_rss_mb(),
    }
    stats.write_text(json.dumps(result, indent=2))


def grow_worker(out: Path, rest_path: Path, batch: int, stats: Path) -> None:
    """Add the saved records past ``--grow-from`` to the state in batches, and save it."""
    from c360.incremental import ResolutionState

    # a batch at a time: the records to add (5M of them for a 10M state)
    # would otherwise sit in memory beside the state
    rest = pl.scan_parquet(rest_path)
    height = rest.select(pl.len()).collect().item()
    t = time.perf_counter()
    state = ResolutionState.load(out)
    for start in range(0, height, batch):
        state.resolve(rest.slice(start, batch).collect(), progress="off")
        print(f"grown to {state.size:,} records", flush=True)
    grown = time.perf_counter() - t
    state.save(out)
    seconds = time.perf_counter() - t
    result = {
        "records": height,
        "seconds": seconds,
        "save_seconds": seconds - grown,
        "peak_rss_mb": peak_rss_mb(),
    }
    stats.write_text(json.dumps(result, indent=2))


def _line(name: str, s: dict[str, Any], peak: float) -> str:
    rate = s["batch_records"] / s["batch_seconds"]
    setup = s.get("load_seconds", s.get("register_seconds", 0.0))
    return (
        f"{name:14s} {setup:8.1f} {s['single_p50_ms']:9.1f} {s['single_p99_ms']:9.1f} "
        f"{s['single_max_ms']:9.1f} {s['batch_seconds']:8.2f} {rate:10,.0f} {peak:8.0f}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=100_000, help="records, about (saved + held out)")
    ap.add_argument("--queries", type=int, default=1000, help="single-record calls")
    ap.add_argument("--batch", type=int, default=10_000, help="records in the batch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--profile", default="standard", choices=("standard", "worst"), help="data shapes"
    )
    ap.add_argument("--skip-splink", action="store_true")
    ap.add_argument(
        "--splink-queries",
        type=int,
        default=200,
        help="single-record calls for Splink (the first of the same held-out records)",
    )
    ap.add_argument(
        "--grow-from",
        type=int,
        default=None,
        help="resolve only this many saved records in the full run and add the rest "
        "with ResolutionState in batches of --grow-batch (states past a full run's memory)",
    )
    ap.add_argument("--grow-batch", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=RESULTS)
    # internal: the c360 children
    ap.add_argument("--worker", nargs=4, type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--grow-worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        c360_worker(*args.worker)
        return
    if args.grow_worker:
        out, rest, batch, stats = args.grow_worker
        grow_worker(Path(out), Path(rest), int(batch), Path(stats))
        return

    import c360
    from c360.datasets import generate_people

    info = machine()
    print(
        f"machine: {info.get('cpu', '?')}, {info['cpus']} cores, {info.get('memory_gb', '?')} GB; "
        f"splink {info['splink']}, duckdb {info['duckdb']}, polars {info['polars']}; "
        f"host speed, sum(range(10**6)): {info['host_ms_at_start']:.1f} ms",
        flush=True,
    )
    recs = generate_people(
        max(int(args.n / 2.42), 10), seed=args.seed, profile=args.profile
    ).records
    held = recs.sample(n=min(args.queries + args.batch, recs.height // 5), seed=args.seed)
    base = recs.join(held.select("source", "record_id"), on=["source", "record_id"], how="anti")
    singles = held.head(args.queries)
    batch = held.slice(args.queries, args.batch)
    print(
        f"saved resolution: {base.height:,} records; {singles.height:,} single-record "
        f"calls (the first one timed too), then a batch of {batch.height:,}",
        flush=True,
    )
    result: dict[str, Any] = {
        "benchmark": "incremental",
        "profile": args.profile,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "existing_records": base.height,
        "engines": {},
    }
    with tempfile.TemporaryDirectory(prefix="c360-bench-inc-") as tmp:
        work = Path(tmp)
        paths = {k: work / f"{k}.parquet" for k in ("base", "singles", "splink_singles", "batch")}
        base.write_parquet(paths["base"])
        singles.write_parquet(paths["singles"])
        singles.head(args.splink_queries).write_parquet(paths["splink_singles"])
        batch.write_parquet(paths["batch"])
        del recs, held, singles, batch
        grow = args.grow_from is not None and args.grow_from < base.height
        if grow:
            base.slice(args.grow_from).write_parquet(work / "rest.parquet")
            base = base.head(args.grow_from)
        out = work / "run"
        t = time.perf_counter()
        c360.resolve(base, progress="off").write(out, report=False)
        result["c360_full_run_seconds"] = time.perf_counter() - t
        result["c360_full_run_records"] = base.height
        del base
        print(f"c360 full run + write: {result['c360_full_run_seconds']:.1f} s", flush=True)
        if grow:
            cmd = [sys.executable, __file__, "--grow-worker", str(out)]
            cmd += [str(work / "rest.parquet"), str(args.grow_batch), str(work / "grow.json")]
            proc = _run_child(cmd, work / "grow.log")
            if proc["returncode"] != 0:
                raise SystemExit((work / "grow.log").read_text()[-3000:])
            result["c360_grow"] = json.loads((work / "grow.json").read_text())
            print(
                f"c360 state grown by {result['c360_grow']['records']:,} records in "
                f"{result['c360_grow']['seconds']:.0f} s (save "
                f"{result['c360_grow']['save_seconds']:.0f} s), peak "
                f"{result['c360_grow']['peak_rss_mb']:,.0f} MB",
                flush=True,
            )

        children = {
            "c360": [
                sys.executable,
                __file__,
                "--worker",
                str(out),
                str(paths["singles"]),
                str(paths["batch"]),
                str(work / "c360.json"),
            ]
        }
        if not args.skip_splink:
            children["splink-quick"] = [
                sys.executable,
                str(HERE / "_splink_runner.py"),
                "--config",
                "quick",
                "--input",
                str(paths["base"]),
                "--incremental",
                str(paths["splink_singles"]),
                str(paths["batch"]),
                "--stats",
                str(work / "splink-quick.json"),
            ]
        for name, cmd in children.items():
            print(f"running {name} ...", flush=True)
            proc = _run_child(cmd, work / f"{name}.log")
            stats_file = work / f"{name}.json"
            entry: dict[str, Any] = {"process": proc}
            if proc["returncode"] == 0 and stats_file.exists():
                entry["stats"] = json.loads(stats_file.read_text())
            else:
                entry["log_tail"] = (work / f"{name}.log").read_text()[-3000:]
            result["engines"][name] = entry

    print(
        f"\n{'engine':14s} {'setup s':>8s} {'p50 ms':>9s} {'p99 ms':>9s} {'max ms':>9s} "
        f"{'batch s':>8s} {'records/s':>10s} {'peak MB':>8s}"
    )
    for name, entry in result["engines"].items():
        if "stats" not in entry:
            print(f"{name:14s} failed:\n{entry['log_tail']}")
            continue
        print(_line(name, entry["stats"], entry["stats"]["peak_rss_mb"]))
        blocks = entry["stats"].get("blocks") or []
        if blocks:
            first = entry["stats"].get("first_ms", 0.0)
            print(
                f"{'':14s} first call {first:.1f} ms; per {len(blocks)} blocks of calls "
                "(p50/p99/max ms): "
                + ", ".join(
                    f"{b['p50_ms']:.0f}/{b['p99_ms']:.0f}/{b['max_ms']:.0f}" for b in blocks
                )
            )
        slowest = entry["stats"].get("slowest") or []
        if slowest:
            gc_ms = entry["stats"].get("gc_ms", {})
            print(
                f"{'':14s} slowest calls: "
                + ", ".join(f"#{s['call']} {s['ms']:.0f} ms" for s in slowest)
                + f"; cyclic GC during the calls (ms by generation): {gc_ms}"
            )
        host = entry["stats"].get("host_ms")
        if host:
            print(
                f"{'':14s} host speed, sum(range(10**6)) before/after the calls: "
                f"{host[0]:.1f}/{host[1]:.1f} ms"
            )
    print(
        "setup: c360 loads its saved state; Splink registers the existing records "
        "(its training on a sample is not counted here, see the JSON)."
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "" if args.profile == "standard" else f"_{args.profile}"
    path = args.out / f"bench_incremental_n{args.n}{suffix}_{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
