"""Handing freed C-heap memory back between stages."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from c360._memory import release_free_memory


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_pages_go_back_to_the_system():
    # many mid-size arrays (under glibc's raised mmap threshold) come from the
    # heap; freed, they stay resident until trimmed
    # freeing a 16 MB block (mmapped) raises glibc's mmap threshold above 1 MB
    np.ones(16 << 20, dtype=np.uint8)
    arrays = [np.ones(1 << 20, dtype=np.uint8) for _ in range(200)]
    del arrays[:-1]  # the last one pins the top of the heap
    before = _rss_kib()
    release_free_memory()
    after = _rss_kib()
    assert before - after > 100 * 1024  # > 100 MB of the 199 MB freed
