"""Resolution benchmark: c360 and Splink on generated people with known truth.

One command::

    python benchmarks/bench_resolve.py --n 100000 [--n 1000000] [--profile standard,worst]
        [--skip-splink] [--skip-c360]

For each ``--profile`` and ``--n`` (number of records, approximately), the script
generates people with :func:`c360.datasets.generate_people` (four sources, so the
job is dedupe-and-link; ``profile="worst"`` re-renders the same people in
worst-case value shapes), writes them to a temporary Parquet file, and runs each
engine in its own subprocess:

- ``c360``: ``c360.resolve(records, progress="off")`` with its automatic configuration;
- ``splink-quick`` and ``splink-accurate``: Splink 5 on DuckDB (``_splink_runner.py``).

Peak memory is each subprocess's own high-water mark (VmHWM, ``_peak.py``).
Each engine reports its own time from the records in memory to clusters, the
candidate pairs it scored where known, and the clusters; c360 also writes its
outputs and reports read + resolve + write ("Parquet in -> outputs written")
with the time of every stage; the parent scores the clusters against the truth with
:mod:`c360.evaluate`: pairwise precision/recall/F1 over the pairs implied by the
clusters, the share of true clusters reproduced exactly, and B-cubed.

Results are printed and written as JSON under ``benchmarks/results/``. The
machine is shared: timings are indicative, and the JSON records the load average.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peak import host_speed_ms, peak_rss_mb  # noqa: E402

RESULTS = HERE / "results"
ENGINES = ("c360", "splink-quick", "splink-accurate")
PROFILES = ("standard", "worst")


# ----------------------------------------------------------------------------- metrics


def score(clusters: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Pairwise, exact-cluster and B-cubed scores of ``clusters`` against ``truth``.

    Both frames: ``source, record_id, cluster``.
    """
    from c360.evaluate import b_cubed, cluster_metrics, pairwise_metrics

    pw = pairwise_metrics(clusters, truth)
    cl = cluster_metrics(clusters, truth)
    bp, br, bf = b_cubed(clusters, truth)
    return {
        "pairwise_precision": pw.precision,
        "pairwise_recall": pw.recall,
        "pairwise_f1": pw.f1,
        "predicted_pairs": pw.predicted_pairs,
        "true_pairs": pw.true_pairs,
        "true_positive_pairs": pw.true_positives,
        "clusters_exact_recall": cl["recall"],  # share of true clusters reproduced exactly
        "clusters_exact_precision": cl["precision"],  # share of predicted clusters that are true
        "clusters_exact_f1": cl["f1"],
        "bcubed_precision": bp,
        "bcubed_recall": br,
        "bcubed_f1": bf,
        "predicted_clusters": clusters["cluster"].n_unique(),
        "true_clusters": truth["cluster"].n_unique(),
    }


# ----------------------------------------------------------------------------- c360 worker


def c360_worker(input_path: Path, clusters_path: Path, stats_path: Path) -> None:
    """Run c360 on the records (in this process) and write clusters and stats."""
    import c360

    if not hasattr(c360, "resolve"):
        stats_path.write_text(json.dumps({"engine": "c360", "available": False}))
        return
    t0 = time.perf_counter()
    records = pl.read_parquet(input_path)
    t_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = c360.resolve(records, progress="off")
    ids = pl.from_arrow(res.unified_ids)
    assert isinstance(ids, pl.DataFrame)
    clusters = ids.select(
        "source", "record_id", pl.col("customer_id").cast(pl.String).alias("cluster")
    )
    engine = time.perf_counter() - t1
    # the outputs a CLI run writes (tables, model, report, state), to a scratch directory
    with tempfile.TemporaryDirectory(prefix="c360-bench-out-") as out:
        t2 = time.perf_counter()
        res.write(Path(out) / "run")
        t_write = time.perf_counter() - t2
    clusters.write_parquet(clusters_path)
    stages = [
        {k: v for k, v in m.items() if isinstance(v, int | float | str)}
        for m in getattr(res, "metrics", [])
    ]
    stats = {
        "engine": "c360",
        "available": True,
        "version": getattr(c360, "__version__", "?"),
        "records": records.height,
        "accepted": ids.height,
        "read_seconds": t_read,
        "engine_seconds": engine,
        "write_seconds": t_write,
        "end_to_end_seconds": t_read + engine + t_write,
        "candidate_pairs": int(getattr(res, "candidate_pairs", 0)) or None,
        "links": res.links.num_rows,
        "stages": stages,
        "peak_rss_mb": peak_rss_mb(),
    }
    stats_path.write_text(json.dumps(stats, indent=2, default=str))


# ----------------------------------------------------------------------------- parent


def _run_child(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run one engine; wall time and exit code.

    ``wait4_maxrss_mb`` is kept for reference only: Linux carries ``ru_maxrss``
    over fork and exec, so it is at least the parent's peak. The child's own
    figure (``peak_rss_mb`` in its stats, from VmHWM) is the one reported.
    """
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": proc.returncode,
        "wall_seconds": wall,
        "wait4_maxrss_mb": usage.ru_maxrss / 1024,
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "polars": pl.__version__,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()
        info["memory_gb"] = round(int(mem[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    for mod in ("splink", "duckdb"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    # a shared host's speed drifts (17-32 ms within an hour on the development VM)
    info["host_ms_at_start"] = round(host_speed_ms(), 1)
    return info


def splink_dates(records: pl.DataFrame) -> pl.DataFrame:
    """Text dates of birth (worst profile) parsed to dates, as a Splink user would first do.

    The Splink runner compares ``date_of_birth`` as a date. The formats are the
    generator's own (``c360._synth.worst.DOB_FORMATS``), each unambiguous by its
    separators; a Date column is returned as it is.
    """
    if records.schema["date_of_birth"] == pl.Date:
        return records
    from c360._synth.worst import DOB_FORMATS

    dob = pl.col("date_of_birth")
    parsed = [dob.str.strptime(pl.Date, f.replace("%-d", "%d"), strict=False) for f in DOB_FORMATS]
    return records.with_columns(pl.coalesce(parsed).alias("date_of_birth"))


def bench(
    n: int, *, seed: int, engines: list[str], workdir: Path, profile: str = "standard"
) -> dict[str, Any]:
    """Generate about ``n`` records of ``profile`` and run every engine on them."""
    from c360.datasets import SynthConfig, generate_people

    n_people = max(1, round(n / SynthConfig().mean_records_per_person))
    t0 = time.perf_counter()
    g = generate_people(n_people, seed=seed, profile=profile)  # type: ignore[arg-type]
    gen_seconds = time.perf_counter() - t0
    tag = f"{profile}_{n}"
    records_path = workdir / f"records_{tag}.parquet"
    g.records.write_parquet(records_path)
    splink_path = records_path
    splink_prep_seconds = 0.0
    if g.records.schema["date_of_birth"] != pl.Date and any(e != "c360" for e in engines):
        t1 = time.perf_counter()
        for_splink = splink_dates(g.records)
        splink_prep_seconds = time.perf_counter() - t1
        lost = for_splink["date_of_birth"].null_count() - g.records["date_of_birth"].null_count()
        if lost:
            print(f"   warning: {lost:,} dates of birth unparsed for Splink", flush=True)
        splink_path = workdir / f"records_{tag}_splink.parquet"
        for_splink.write_parquet(splink_path)
    truth = g.truth.select("source", "record_id", pl.col("person_id").alias("cluster"))
    print(
        f"\n== profile={profile} n={n:,}: {g.records.height:,} records of {n_people:,} people "
        f"({truth['cluster'].n_unique():,} true clusters), generated in {gen_seconds:.1f} s",
        flush=True,
    )
    result: dict[str, Any] = {
        "profile": profile,
        "n_requested": n,
        "records": g.records.height,
        "people": n_people,
        "seed": seed,
        "generate_seconds": gen_seconds,
        "splink_dob_parse_seconds": splink_prep_seconds,
        "engines": {},
    }
    for engine in engines:
        clusters_path = workdir / f"clusters_{engine}_{tag}.parquet"
        stats_path = workdir / f"stats_{engine}_{tag}.json"
        log = workdir / f"log_{engine}_{tag}.txt"
        if engine == "c360":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "c360"]
        else:
            cmd = [
                sys.executable,
                str(HERE / "_splink_runner.py"),
                "--config",
                engine.split("-", 1)[1],
            ]
        cmd += [
            "--input",
            str(records_path if engine == "c360" else splink_path),
            "--clusters",
            str(clusters_path),
            "--stats",
            str(stats_path),
        ]
        print(f"-- {engine} ...", flush=True)
        run = _run_child(cmd, log)
        entry: dict[str, Any] = {"process": run, "load_average": os.getloadavg()}
        if run["returncode"] != 0 or not stats_path.exists():
            tail = log.read_text()[-3000:]
            entry["error"] = tail
            print(f"   {engine} failed (exit {run['returncode']}):\n{tail}", flush=True)
        else:
            stats = json.loads(stats_path.read_text())
            entry["stats"] = stats
            if stats.get("available") is False:
                print("   c360 not available yet", flush=True)
            else:
                clusters = pl.read_parquet(clusters_path)
                entry["scores"] = score(clusters, truth)
        result["engines"][engine] = entry
    return result


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def report(result: dict[str, Any]) -> None:
    """Print one result as a table."""
    print(f"profile {result.get('profile', 'standard')}, {result['records']:,} records")
    head = (
        f"{'engine':16s} {'engine s':>9s} {'wall s':>8s} {'records/s':>10s} {'pairs':>12s} "
        f"{'pairs/s':>10s} {'peak MB':>8s} {'pair P':>7s} {'pair R':>7s} {'pair F1':>7s} "
        f"{'exact cl':>8s} {'B3 F1':>6s}"
    )
    print(head)
    for engine, e in result["engines"].items():
        st, sc, pr = e.get("stats", {}), e.get("scores"), e["process"]
        if sc is None:
            why = "not available yet" if st.get("available") is False else "failed"
            print(f"{engine:16s} {why}")
            continue
        secs = st["engine_seconds"]
        pairs = st.get("candidate_pairs")
        rate = result["records"] / secs
        pair_rate = pairs / secs if pairs else None
        print(
            f"{engine:16s} {secs:9.1f} {pr['wall_seconds']:8.1f} {rate:10,.0f} "
            f"{_fmt(pairs, ',d'):>12s} {_fmt(pair_rate, ',.0f'):>10s} {st['peak_rss_mb']:8.0f} "
            f"{sc['pairwise_precision']:7.3f} {sc['pairwise_recall']:7.3f} "
            f"{sc['pairwise_f1']:7.3f} "
            f"{sc['clusters_exact_recall']:8.3f} {sc['bcubed_f1']:6.3f}"
        )
        if "end_to_end_seconds" in st:
            stages = ", ".join(
                f"{m['stage']} {m['seconds']:.1f}" for m in st.get("stages", []) if "seconds" in m
            )
            print(
                f"{'':16s} Parquet in -> outputs written {st['end_to_end_seconds']:.1f} s "
                f"(read {st['read_seconds']:.1f}, resolve {secs:.1f}, write "
                f"{st['write_seconds']:.1f}); stages: {stages}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--n", type=int, action="append", help="records (repeatable); default 100000"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--profile",
        default="standard",
        help="data shapes: standard, worst, or both as 'standard,worst' (default standard)",
    )
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--skip-c360", action="store_true")
    parser.add_argument("--splink-configs", default="quick,accurate", help="comma-separated")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep", type=Path, help="keep records, clusters and logs in this directory"
    )
    # internal: run one engine in this process
    parser.add_argument("--worker", choices=["c360"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--clusters", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "c360":
        c360_worker(args.input, args.clusters, args.stats)
        return

    profiles = [p.strip() for p in args.profile.split(",") if p.strip()]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown or not profiles:
        parser.error(
            f"--profile takes {' or '.join(PROFILES)} (comma-separated); got {args.profile!r}"
        )
    engines = [] if args.skip_c360 else ["c360"]
    if not args.skip_splink:
        engines += [f"splink-{c.strip()}" for c in args.splink_configs.split(",") if c.strip()]
    sizes = args.n or [100_000]
    info = machine()
    print(
        f"machine: {info.get('cpu', '?')}, {info['cpus']} cores, {info.get('memory_gb', '?')} GB; "
        f"splink {info['splink']}, duckdb {info['duckdb']}, polars {info['polars']}; "
        f"host speed, sum(range(10**6)): {info['host_ms_at_start']:.1f} ms. "
        "The CPU is shared with other work: timings are indicative.",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="c360-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for profile in profiles:
            for n in sizes:
                result = bench(n, seed=args.seed, engines=engines, workdir=workdir, profile=profile)
                result["machine"] = info
                result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                report(result)
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                suffix = "" if profile == "standard" else f"_{profile}"
                path = args.out / f"bench_resolve_n{n}{suffix}_{stamp}.json"
                path.write_text(json.dumps(result, indent=2, default=str))
                print(f"results: {path}", flush=True)


if __name__ == "__main__":
    main()
