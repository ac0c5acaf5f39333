"""Progress reporting: shown from the CLI or a notebook, silent when embedded.

Library code calls [`progress`][progress] around long steps. Nothing is shown unless
the caller enabled it with [`show_progress`][show_progress] (the CLI does) or passed
``progress="on"``.
"""

from __future__ import annotations

import contextlib
import sys
import time
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


class _NotebookBar:
    """A progress bar for Jupyter drawn as HTML in one output, updated in place.

    rich's live display needs ipywidgets in Jupyter; a display handle needs
    nothing beyond IPython, which the kernel has. Redrawn at most five times
    a second; on exit the output says what finished and how long it took.
    """

    def __init__(self, description: str, total: float | None) -> None:
        import importlib

        ipython: Any = importlib.import_module("IPython.display")  # untyped
        self._html = ipython.HTML
        self.description = description
        self.total = total
        self.done = 0.0
        self.start = time.perf_counter()
        self._drawn = 0.0
        self._handle = ipython.display(self._html(self._render(finished=False)), display_id=True)

    def _render(self, *, finished: bool) -> str:
        import html

        elapsed = time.perf_counter() - self.start
        name = html.escape(self.description)
        if finished:
            return f"<div class='c360-progress'>{name}: done in {elapsed:.1f} s</div>"
        if self.total:
            share = max(0.0, min(1.0, self.done / self.total))
            count = f"{self.done:,.0f}/{self.total:,.0f}"
            return (
                f"<div class='c360-progress'>{name} "
                f"<progress value='{share:.3f}' max='1' style='width:16em'></progress> "
                f"{count} · {elapsed:.0f} s</div>"
            )
        return f"<div class='c360-progress'>{name} … {self.done:,.0f} · {elapsed:.0f} s</div>"

    def advance(self, _task: Any, n: float = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self._drawn >= 0.2:
            self._drawn = now
            self._handle.update(self._html(self._render(finished=False)))

    def close(self) -> None:
        self._handle.update(self._html(self._render(finished=True)))


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
    if _in_notebook():
        drawn = _NotebookBar(description, total)
        try:
            yield _Task(drawn, None)
        finally:
            drawn.close()
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
