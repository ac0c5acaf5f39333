"""Handing freed C-heap memory back between stages; no stalls on huge pages."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from c360 import _memory as memory
from c360._memory import no_hugepage_stalls, release_free_memory
from c360.datasets import load_febrl


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


def _advice() -> bool:
    arrays = getattr(np, "_core", None) or np.core  # numpy 2, numpy 1.26
    return bool(arrays.multiarray._get_madvise_hugepage())


def _set_advice(on: bool) -> bool:
    arrays = getattr(np, "_core", None) or np.core
    return bool(arrays.multiarray._set_madvise_hugepage(on))


@pytest.fixture
def advice_on():
    """numpy's advice on at the start (its default on Linux 4.6+), restored after."""
    before = _set_advice(True)
    yield
    _set_advice(before)


@pytest.fixture
def stalling_kernel(monkeypatch, advice_on):
    """The switch as it is under a kernel whose defrag mode stalls on the advice."""
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    monkeypatch.setattr(memory, "_defrag_mode", lambda: "madvise")
    monkeypatch.setattr(sys, "platform", "linux")
    memory._hugepage_switch.cache_clear()
    yield
    memory._hugepage_switch.cache_clear()


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("always defer defer+madvise [madvise] never\n", "madvise"),
        ("[always] defer defer+madvise madvise never\n", "always"),
        ("always defer [defer+madvise] madvise never", "defer+madvise"),
        ("always [defer] defer+madvise madvise never\n", "defer"),
        ("garbled\n", None),
    ],
)
def test_defrag_mode_is_the_bracketed_one(tmp_path, text, mode):
    path = tmp_path / "defrag"
    path.write_text(text)
    assert memory._defrag_mode(path) == mode
    assert memory._defrag_mode(tmp_path / "missing") is None


def test_hugepage_advice_off_inside_and_restored_after(stalling_kernel):
    assert _advice()
    with no_hugepage_stalls():
        assert not _advice()
        with no_hugepage_stalls():  # nested: still off, and not restored early
            assert not _advice()
        assert not _advice()
    assert _advice()
    with pytest.raises(RuntimeError), no_hugepage_stalls():  # restored on errors too
        raise RuntimeError("boom")
    assert _advice()


def test_hugepage_advice_restored_when_the_last_of_concurrent_runs_ends(stalling_kernel):
    entered, release = threading.Barrier(2), threading.Event()
    seen = []

    def run():
        with no_hugepage_stalls():
            entered.wait()
            release.wait()
            seen.append(_advice())

    other = threading.Thread(target=run)
    other.start()
    with no_hugepage_stalls():
        entered.wait()
        release.set()
        other.join()  # the other run ended first: the advice must stay off for this one
        assert not _advice()
    assert seen == [False]
    assert _advice()


@pytest.mark.parametrize("mode", ["defer", "never", None])
def test_hugepage_advice_left_alone_where_it_cannot_stall(monkeypatch, advice_on, mode):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    monkeypatch.setattr(memory, "_defrag_mode", lambda: mode)
    memory._hugepage_switch.cache_clear()
    try:
        with no_hugepage_stalls():
            assert _advice()
    finally:
        memory._hugepage_switch.cache_clear()


def test_hugepage_advice_left_alone_when_the_user_chose(stalling_kernel, monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    memory._hugepage_switch.cache_clear()
    with no_hugepage_stalls():
        assert _advice()


def test_resolve_runs_without_the_advice(stalling_kernel, monkeypatch):
    import c360
    from c360 import pipeline

    seen = []
    real = pipeline.prepare

    def spy(*args, **kwargs):
        seen.append(_advice())
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "prepare", spy)
    c360.resolve(load_febrl(1)[0].head(50), progress=False)
    assert seen == [False]
    assert _advice()
