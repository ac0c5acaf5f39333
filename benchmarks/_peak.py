"""Measurements shared by the benchmarks: peak memory, and single-call latency.

Peak resident memory is measured so that a parent's does not leak in.

``ru_maxrss`` is kept across ``fork``/``exec`` on Linux: a child started by a
parent holding 3 GB reports at least 3 GB, whatever it used. ``VmHWM`` in
``/proc/self/status`` belongs to the current address space, which ``exec``
starts afresh, so benchmark children report that.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def status_kib(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (``None`` where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> int:
    """Reset the peak-RSS mark where Linux allows it; return the baseline in bytes.

    Writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS, so that
    the peak measured afterwards belongs to the measured step alone. Elsewhere,
    fall back to ru_maxrss (the lifetime peak: an under-estimate if an earlier
    step peaked higher).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        rss = status_kib("VmRSS")
        if rss is not None:
            return rss * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_bytes() -> int:
    """Peak resident memory of this process since exec (or the last reset), bytes."""
    hwm = status_kib("VmHWM")
    if hwm is not None:
        return hwm * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def peak_rss_mb() -> float:
    """[`peak_bytes`][peak_bytes] in MB (2**20 bytes)."""
    return peak_bytes() / 2**20


def time_single_calls(
    call: Callable[[int], Any], n: int, *, warm_up: bool = True, block: int = 200
) -> dict[str, Any]:
    """Latency of single calls, in ms.

    With ``warm_up``, ``call(0)`` runs first untimed (imports, first compile)
    and ``call(1)`` … ``call(n - 1)`` are timed; without it every call is
    timed, the first one included (c360 pays its lazy costs at load).

    Returns ``single_p50_ms``, ``single_p99_ms``, ``single_max_ms``,
    ``first_ms``, ``queries``, ``blocks``: p50/p99/max of each run of
    ``block`` calls in order, to show that latency does not grow with the
    number of calls, ``slowest``: the five slowest calls (index and ms), and
    ``gc_ms``: the milliseconds Python's cyclic collector took per
    generation during the calls (a full collection is the usual outlier),
    and ``host_ms``: [`host_speed_ms`][host_speed_ms] just before and just
    after the calls, to tell a slower code path from a slower moment of a
    shared host.
    """
    import gc

    import numpy as np

    gc_ms = {0: 0.0, 1: 0.0, 2: 0.0}
    began: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            gc_ms[info["generation"]] += (time.perf_counter() - began.pop()) * 1000

    before = host_speed_ms()
    gc.callbacks.append(on_gc)

    start = 0
    if warm_up:
        call(0)  # warm-up: imports, first compile of expressions
        start = 1
    lat = []
    for i in range(start, n):
        t = time.perf_counter()
        call(i)
        lat.append((time.perf_counter() - t) * 1000)
    gc.callbacks.remove(on_gc)
    host_ms = [round(before, 1), round(host_speed_ms(), 1)]
    lat_a = np.array(lat)
    order = np.argsort(-lat_a, kind="stable")[:5]
    slowest = [{"call": int(i) + start, "ms": float(lat_a[i])} for i in order]
    blocks = [
        {
            "from_call": b,
            "p50_ms": float(np.percentile(lat_a[b : b + block], 50)),
            "p99_ms": float(np.percentile(lat_a[b : b + block], 99)),
            "max_ms": float(lat_a[b : b + block].max()),
        }
        for b in range(0, lat_a.size, block)
    ]
    return {
        "single_p50_ms": float(np.percentile(lat_a, 50)),
        "single_p99_ms": float(np.percentile(lat_a, 99)),
        "single_max_ms": float(lat_a.max()),
        "first_ms": float(lat_a[0]) if lat_a.size else 0.0,
        "queries": int(lat_a.size),
        "blocks": blocks,
        "slowest": slowest,
        "gc_ms": {str(g): round(v, 1) for g, v in gc_ms.items()},
        "host_ms": host_ms,
    }


def host_speed_ms() -> float:
    """Milliseconds this moment's Python takes for ``sum(range(10**6))`` (best of five).

    The development host is a shared 2-core VM whose speed drifted by up
    to 60% within an hour; this is ``python -m timeit "sum(range(10**6))"``
    measured beside the figures it qualifies.
    """
    import timeit

    return min(timeit.repeat("sum(range(10**6))", number=5, repeat=5)) / 5 * 1000
