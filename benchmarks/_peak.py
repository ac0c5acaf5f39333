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


def time_single_calls(call: Callable[[int], Any], n: int) -> dict[str, float]:
    """Latency of ``call(1)`` … ``call(n - 1)`` after a warm-up ``call(0)``, in ms.

    Returns ``single_p50_ms``, ``single_p99_ms``, ``single_max_ms`` and ``queries``.
    """
    import numpy as np

    call(0)  # warm-up: imports, first compile of expressions
    lat = []
    for i in range(1, n):
        t = time.perf_counter()
        call(i)
        lat.append((time.perf_counter() - t) * 1000)
    lat_a = np.array(lat)
    return {
        "single_p50_ms": float(np.percentile(lat_a, 50)),
        "single_p99_ms": float(np.percentile(lat_a, 99)),
        "single_max_ms": float(lat_a.max()),
        "queries": int(lat_a.size),
    }
