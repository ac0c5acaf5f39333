"""Spark engine benchmark: ``c360 resolve --engine spark`` beside ``--engine local`` on one machine.

Generates about ``--n`` records (``c360.datasets.generate_people``, four
sources, seed 0), writes one Parquet file per source, then runs the CLI once
per engine, one after the other, each in its own process tree:

    c360 resolve crm.parquet billing.parquet ... --out DIR --engine ENGINE --quiet

and prints, per engine: wall time (Parquet in -> outputs and report
written), records/s, candidate pairs and pairs/s (from ``report.json``),
peak memory of the whole process tree (the CLI's Python, and for Spark the
JVM and its Python workers: RSS summed over the tree, sampled every 0.2 s,
so a peak shorter than that can be missed), the stage seconds of the
report, and pairwise precision/recall/F1 against the generator's truth.
Last, the agreement of the two engines' groupings (``compare_runs``).

    python benchmarks/bench_spark.py --n 100000 [--n 1000000] [--profile worst]
        [--master local[2]] [--engines local,spark] [--out benchmarks/results]

The Spark run is ``local[N]`` on this machine: it measures the engine's
per-partition throughput and overheads, not a cluster. A JSON line per run
goes to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl

PEOPLE_PER_RECORD = 1 / 2.42


def tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and all its descendants (0 if it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            pages = int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        child = int(entry.name)
        children.setdefault(ppid, []).append(child)
        rss[child] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Run ``cmd``; return (wall seconds, peak tree RSS bytes, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.stdout.write(out.decode(errors="replace")[-3000:])
    return seconds, peak, proc.returncode


def read_ids(out: Path) -> pl.DataFrame:
    ids = pl.read_parquet(out / "unified_ids.parquet")
    return ids.select("source", "record_id", pl.col("customer_id").cast(pl.String))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, action="append", help="records (repeatable); default 100000")
    ap.add_argument("--profile", default="standard", choices=["standard", "worst"])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--engines", default="local,spark")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    from c360.datasets import generate_people
    from c360.evaluate import compare_runs, pairwise_metrics

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    cli = shutil.which("c360", path=str(Path(sys.executable).parent)) or "c360"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, Spark master {args.master}")  # fmt: skip
    for n in args.n or [100_000]:
        with tempfile.TemporaryDirectory(prefix="c360-bench-spark-") as scratch:
            root = Path(scratch)
            g = generate_people(round(n * PEOPLE_PER_RECORD), seed=args.seed, profile=args.profile)
            files = []
            for (name,), part in g.records.partition_by("source", as_dict=True).items():
                path = root / f"{name}.parquet"
                part.drop("source").write_parquet(path)
                files.append(str(path))
            truth = g.truth.select("source", "record_id", pl.col("person_id").alias("cluster"))
            print(f"== profile={args.profile} n={g.records.height:,} "
                  f"({truth['cluster'].n_unique():,} people)")  # fmt: skip
            results: dict[str, dict[str, object]] = {}
            for engine in engines:
                out = root / engine
                cmd = [cli, "resolve", *files, "--out", str(out), "--engine", engine, "--quiet"]
                if engine == "spark":
                    cmd += ["--spark-master", args.master]
                seconds, peak, code = run_measured(cmd, dict(os.environ))
                if code:
                    print(f"{engine}: failed (exit {code})")
                    continue
                report = json.loads((out / "report.json").read_text())
                pairs = int(report["summary"]["candidate_pairs"])
                ids = read_ids(out)
                pw = pairwise_metrics(ids.rename({"customer_id": "cluster"}), truth)
                stages = {s["stage"]: s["seconds"] for s in report["stages"]}
                results[engine] = {
                    "engine": engine,
                    "seconds": round(seconds, 2),
                    "records_per_second": round(g.records.height / seconds),
                    "candidate_pairs": pairs,
                    "pairs_per_second": round(pairs / seconds),
                    "peak_mb": round(peak / 2**20),
                    "precision": round(pw.precision, 4),
                    "recall": round(pw.recall, 4),
                    "f1": round(pw.f1, 4),
                    "stages": stages,
                    "ids": ids,
                }
                print(f"{engine:>6}: {seconds:8.1f} s  {g.records.height / seconds:9,.0f} rec/s  "
                      f"{pairs:,} pairs ({pairs / seconds:,.0f}/s)  peak {peak / 2**20:,.0f} MB  "
                      f"P/R/F1 {pw.precision:.4f}/{pw.recall:.4f}/{pw.f1:.4f}")  # fmt: skip
                print("        stages: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
            if {"local", "spark"} <= results.keys():
                cmp = compare_runs(results["local"]["ids"], results["spark"]["ids"])
                agree = cmp.to_dict()
                ratio = float(results["spark"]["seconds"]) / float(results["local"]["seconds"])
                print(f"agreement local vs spark: {agree}")
                print(f"spark / local wall time: {ratio:.1f}x")
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            record = {
                "n": g.records.height,
                "profile": args.profile,
                "master": args.master,
                "cores": os.cpu_count(),
                "runs": [{k: v for k, v in r.items() if k != "ids"} for r in results.values()],
            }
            path = args.out / f"bench_spark_n{n}_{args.profile}_{stamp}.json"
            path.write_text(json.dumps(record, indent=1))
            print(f"written {path}")


if __name__ == "__main__":
    main()
