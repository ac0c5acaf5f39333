"""Stage events: what the pipeline emits at the end of each stage, and who listens.

A leaf module: the pipeline imports it without loading the report (HTML, SVG,
OpenLineage). The public names are re-exported by [`c360.observe`][c360.observe].
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["AttributeValue", "Event", "Subscription", "capture", "emit", "logger", "on_event"]

#: The library's logger. Silent (``NullHandler``) until the application configures logging.
logger = logging.getLogger("c360")
if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
    logger.addHandler(logging.NullHandler())

#: Attribute value types OpenTelemetry accepts: scalars and homogeneous sequences of them.
AttributeValue = str | bool | int | float | list[str] | list[bool] | list[int] | list[float]

_LOCK = threading.Lock()
_CALLBACKS: tuple[Callable[[Event], Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One stage event.

    Attributes:
        name: ``c360.stage.<stage>`` (an OpenTelemetry span/event name).
        stage: the bare stage name (``load``, ``score``, ...).
        attributes: ``c360.``-prefixed attributes, values as OpenTelemetry allows
            (str, bool, int, float or a list of one of them).
        time_unix_nano: when the event was emitted (nanoseconds since the epoch).

    """

    name: str
    stage: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    time_unix_nano: int = 0


def _attribute(value: Any) -> AttributeValue | None:
    """Return an OpenTelemetry-compatible attribute value, or ``None`` to leave it out."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, Sequence):  # numpy scalar
        return _attribute(value.item())
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = [v.item() if hasattr(v, "item") else v for v in value if v is not None]
        if all(isinstance(v, bool) for v in items):
            return [bool(v) for v in items]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return [int(v) for v in items]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
            return [float(v) for v in items]
        return [str(v) for v in items]
    return str(value)


def _key(name: str) -> str:
    return name if name.startswith("c360.") else f"c360.{name}"


def emit(stage: str, /, **attributes: Any) -> Event | None:
    """Report that pipeline stage ``stage`` finished, with its figures.

    Keyword names become ``c360.<name>`` attributes (``rows_in`` becomes
    ``c360.rows_in``); ``None`` values are left out, other values are made
    OpenTelemetry-compatible (numpy scalars unwrapped, unknown objects as text).
    ``stage`` is positional-only, so a metrics dict can be passed whole
    (``emit(m["stage"], **m)``; its ``stage`` key is the same ``c360.stage``).
    The event goes to every callback registered with [`on_event`][on_event] and to the
    ``c360`` logger at DEBUG level. A callback that raises is logged and skipped:
    observing a run never breaks it.

    Args:
        stage: the stage's name, e.g. ``"load"``.
        **attributes: figures such as ``rows_in``, ``rows_out``, ``seconds``.

    Returns:
        The event, or ``None`` when nothing listens (no callback, logger not
        enabled for DEBUG), in which case no work is done.

    Examples:
        >>> with capture() as events:
        ...     _ = emit("load", rows_in=3, cannot_link=["national_id"], note=None)
        >>> dict(events[0].attributes)
        {'c360.stage': 'load', 'c360.rows_in': 3, 'c360.cannot_link': ['national_id']}

    """
    callbacks = _CALLBACKS
    if not callbacks and not logger.isEnabledFor(logging.DEBUG):
        return None
    attrs: dict[str, AttributeValue] = {"c360.stage": stage}
    for k, v in attributes.items():
        if k == "stage":
            continue
        a = _attribute(v)
        if a is not None:
            attrs[_key(k)] = a
    event = Event(
        name=f"c360.stage.{stage}", stage=stage, attributes=attrs, time_unix_nano=time.time_ns()
    )
    logger.debug(
        "%s %s", event.name, attrs, extra={"c360_event": event.name, "c360_attributes": attrs}
    )
    for cb in callbacks:
        try:
            cb(event)
        except Exception:  # a faulty observer must not stop the run
            logger.exception("c360 event callback %r failed on %s", cb, event.name)
    return event


class Subscription:
    """A registered event callback; close it (or leave its ``with`` block) to unregister."""

    def __init__(self, callback: Callable[[Event], Any]) -> None:
        self.callback = callback
        self.closed = False

    def close(self) -> None:
        """Stop receiving events (idempotent)."""
        global _CALLBACKS
        with _LOCK:
            if not self.closed:
                items = list(_CALLBACKS)
                for i, cb in enumerate(items):
                    if cb is self.callback:
                        del items[i]
                        break
                _CALLBACKS = tuple(items)
                self.closed = True

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def on_event(callback: Callable[[Event], Any]) -> Subscription:
    """Register ``callback`` to receive every stage event, in any thread.

    Use it as a context manager to unregister automatically, or keep the
    returned [`Subscription`][Subscription] and call ``close()``.

    Examples:
        >>> names = []
        >>> sub = on_event(lambda e: names.append(e.name))
        >>> _ = emit("ids", rows_out=2)
        >>> sub.close()
        >>> _ = emit("ids", rows_out=2)
        >>> names
        ['c360.stage.ids']

    """
    global _CALLBACKS
    if not callable(callback):
        from c360.exceptions import ConfigError

        raise ConfigError(f"on_event needs a callable; got {type(callback).__name__}")
    sub = Subscription(callback)
    with _LOCK:
        _CALLBACKS = (*_CALLBACKS, callback)
    return sub


@contextmanager
def capture() -> Iterator[list[Event]]:
    """Collect the events emitted inside the block into a list.

    Examples:
        >>> with capture() as events:
        ...     _ = emit("cluster", rows_out=1)
        >>> [e.stage for e in events]
        ['cluster']

    """
    events: list[Event] = []
    with on_event(events.append):
        yield events
