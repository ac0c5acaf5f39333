"""Progress reporting: shown from the CLI or a notebook, silent when embedded.

Library code calls [`progress`][progress] around long steps. Nothing is shown unless
the caller enabled it with [`show_progress`][show_progress] (the CLI does) or passed
``progress="on"``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_ENABLED: ContextVar[bool] = ContextVar("c360_progress", default=False)


def _in_notebook() -> bool:
    ip = sys.modules.get("IPython")
    if ip is None:
        return False
    get = getattr(ip, "get_ipython", None)
    shell = get() if get else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def resolve_progress(setting: str | bool | None) -> bool:
    """Turn a ``progress`` argument into on/off.

    ``None``/"auto" follows the ambient setting (on from the CLI, on in a
    notebook, off when embedded).
    """
    if setting is True or setting == "on":
        return True
    if setting is False or setting == "off":
        return False
    return _ENABLED.get() or _in_notebook()


@contextlib.contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Enable progress display for the code run inside the block."""
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


class _Task:
    def __init__(self, bar: Any, task_id: Any) -> None:
        self._bar = bar
        self._id = task_id

    def advance(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._id, n)


@contextlib.contextmanager
def progress(
    description: str, total: float | None = None, *, enabled: bool | None = None
) -> Iterator[_Task]:
    """Show a progress bar for a long step when progress is enabled."""
    on = resolve_progress(enabled)
    if on:
        from rich.console import Console

        console = Console(stderr=True)
        # a pipe or a log file gets no bars (they would only leave blank lines)
        on = console.is_terminal or console.is_jupyter
    if not on:
        yield _Task(None, None)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}" if total else ""),
        TimeElapsedColumn(),
        transient=True,
        console=console,
    ) as bar:
        task_id = bar.add_task(description, total=total)
        yield _Task(bar, task_id)
