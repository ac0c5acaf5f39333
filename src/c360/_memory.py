"""Memory and the operating system: freed pages back between stages, no stalls on huge pages.

numpy's per-pair arrays are allocated with the C library's ``malloc``. glibc
raises its mmap threshold after each large free (up to 32 MB), so later
arrays of a few MB come from the heap, and what they leave behind when freed
stays in the process: measured at 1M records, about 300 MB of resident
memory that no live value used, carried into every later stage's peak.
``malloc_trim`` returns those free pages; it costs milliseconds. Elsewhere
(musl, macOS, Windows) it is a no-op.

numpy asks the kernel for transparent huge pages (``MADV_HUGEPAGE``) on every
array of 4 MB or more. Where the kernel's ``transparent_hugepage/defrag``
mode is ``madvise`` (the usual default), ``defer+madvise`` or ``always``, a
page fault in such a region compacts memory synchronously when no huge page
is free, and the process stalls (numpy issue 31590). At 1M records the
pair stages allocate many such arrays: measured on a 2-core VM, 14 s of
system time and 46 s of wall time with the advice, 6.5 s and 39 s without.
[`no_hugepage_stalls`][no_hugepage_stalls] turns numpy's advice off while
``resolve`` runs, only under those modes and only when the user has not set
``NUMPY_MADVISE_HUGEPAGE`` themselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "available_memory",
    "budget_bytes",
    "no_hugepage_stalls",
    "release_free_memory",
]


@cache
def _trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> None:
    """Return the C heap's free pages to the operating system, where glibc allows.

    Examples:
        >>> release_free_memory()  # never fails, whatever the platform
    """
    trim = _trim()
    if trim is not None:
        trim(0)


#: Where the kernel reads its huge-page defragmentation mode.
_DEFRAG = Path("/sys/kernel/mm/transparent_hugepage/defrag")

#: Modes in which a fault in a region advised ``MADV_HUGEPAGE`` compacts memory
#: synchronously (``defer`` and ``never`` do not: there the advice costs nothing).
_STALLING = frozenset({"always", "madvise", "defer+madvise"})


def _defrag_mode(path: Path = _DEFRAG) -> str | None:
    r"""The kernel's selected huge-page defrag mode, ``None`` when it cannot be read.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "defrag"
        >>> _ = p.write_text("always defer defer+madvise [madvise] never\n")
        >>> _defrag_mode(p), _defrag_mode(p.with_name("missing"))
        ('madvise', None)
    """
    try:
        text = path.read_text()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


@cache
def _hugepage_switch() -> Callable[[bool], bool] | None:
    """The setter of numpy's huge-page advice (returns the previous setting), if any."""
    if not sys.platform.startswith("linux") or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return None  # not Linux, or the user chose
    if _defrag_mode() not in _STALLING:
        return None
    import numpy as np

    for module in ("_core", "core"):  # numpy 2, numpy 1.26
        arrays = getattr(getattr(np, module, None), "multiarray", None)
        setter = getattr(arrays, "_set_madvise_hugepage", None)
        if callable(setter):
            return setter  # type: ignore[no-any-return]
    return None


class _Switch:
    """Reference-counted: the advice is off while any ``resolve`` runs, in any thread."""

    lock = threading.Lock()
    depth = 0
    previous = True


@contextlib.contextmanager
def no_hugepage_stalls() -> Any:
    """Within the block, numpy does not advise huge pages where the kernel would stall on them.

    Nested and concurrent blocks are counted: numpy's setting is restored
    when the last one ends. A no-op off Linux, under the ``defer`` or
    ``never`` defrag modes, and when ``NUMPY_MADVISE_HUGEPAGE`` is set.

    Examples:
        >>> with no_hugepage_stalls():
        ...     pass
    """
    switch = _hugepage_switch()
    if switch is None:
        yield
        return
    with _Switch.lock:
        if _Switch.depth == 0:
            _Switch.previous = switch(False)
        _Switch.depth += 1
    try:
        yield
    finally:
        with _Switch.lock:
            _Switch.depth -= 1
            if _Switch.depth == 0:
                switch(_Switch.previous)


#: Where Linux reports the memory it could give processes without swapping.
_MEMINFO = Path("/proc/meminfo")
#: A cgroup v2 limit and usage (containers, systemd units, CI runners).
_CGROUP = Path("/sys/fs/cgroup")


def available_memory(meminfo: Path = _MEMINFO, cgroup: Path = _CGROUP) -> int | None:
    r"""Bytes this process may still take: the system's available memory, within its cgroup's limit.

    ``None`` where neither can be read (not Linux).

    Examples:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "meminfo").write_text("MemTotal: 8000 kB\nMemAvailable: 6000 kB\n")
        >>> available_memory(d / "meminfo", d / "none")
        6144000
        >>> _ = (d / "memory.max").write_text("4096000\n")
        >>> _ = (d / "memory.current").write_text("1024000\n")
        >>> available_memory(d / "meminfo", d)
        3072000
        >>> _ = (d / "memory.max").write_text("max\n")
        >>> available_memory(d / "meminfo", d), available_memory(d / "none", d / "none")
        (6144000, None)
    """
    found: list[int] = []
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text().strip())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}  # fmt: skip


def budget_bytes(value: int | str | None) -> int | None:
    """A memory budget in bytes, from bytes or text such as ``"8GB"`` or ``"1.5 GiB"``.

    Raises:
        ConfigError: not a positive size.

    Examples:
        >>> budget_bytes(1000), budget_bytes("8GB"), budget_bytes("1.5 GiB"), budget_bytes(None)
        (1000, 8000000000, 1610612736, None)
        >>> budget_bytes("lots")
        Traceback (most recent call last):
        ...
        c360.exceptions.ConfigError: memory_budget must be a positive size ...
    """
    from c360.exceptions import ConfigError

    if value is None:
        return None
    size: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        text = value.strip().upper().replace(" ", "")
        unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if text.endswith(u)), "B")
        number = text[: len(text) - len(unit)] if text.endswith(unit) else text
        try:
            size = float(number) * _UNITS[unit]
        except ValueError:
            size = None
    if size is None or not size > 0:
        raise ConfigError(
            f"memory_budget must be a positive size (bytes, or text such as '8GB'); got {value!r}"
        )
    return int(size)
