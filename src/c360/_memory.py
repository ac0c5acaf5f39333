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

__all__ = ["no_hugepage_stalls", "release_free_memory"]


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
