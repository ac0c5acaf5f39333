"""Observability: stage events, the ``c360`` logger, the run report and lineage.

Two kinds of observation:

* **Live events.** The pipeline calls [`emit`][emit] at the end of every stage.
  Each event is named after OpenTelemetry conventions (``c360.stage.<name>``)
  with namespaced attributes (``c360.rows_in``, ``c360.rows_out``,
  ``c360.seconds``, ...), passed to every callback registered with
  [`on_event`][on_event], and logged at DEBUG level on ``logging.getLogger("c360")``.
  c360 never prints: the logger has a ``NullHandler`` until you configure
  logging yourself.
* **The run report.** [`build_report`][build_report] turns a [`Resolution`][c360.Resolution]
  into a [`RunReport`][RunReport] (``report.json`` plus lineage tables),
  [`write_report`][write_report] writes ``report.json`` and a self-contained
  ``report.html``; [`explain_link`][explain_link] breaks one link's match weight into a
  waterfall; [`to_openlineage_events`][to_openlineage_events] describes the run as OpenLineage
  START/COMPLETE events. See ``docs/observability.md``.

Examples:
    >>> seen = []
    >>> with on_event(seen.append):
    ...     _ = emit("block_and_compare", rows_in=10, rows_out=45, seconds=0.01)
    >>> seen[0].name, seen[0].attributes["c360.rows_out"]
    ('c360.stage.block_and_compare', 45)
    >>> emit("score", rows_in=45)  # nobody listening: nothing happens

"""

from __future__ import annotations

from c360._events import AttributeValue, Event, Subscription, capture, emit, logger, on_event
from c360.report import (
    SCHEMA,
    Contribution,
    LinkExplanation,
    ReportConfig,
    RunReport,
    build_report,
    config_hash,
    explain_link,
    load_report,
    render_html,
    to_openlineage_events,
    write_report,
)

__all__ = [
    "SCHEMA",
    "AttributeValue",
    "Contribution",
    "Event",
    "LinkExplanation",
    "ReportConfig",
    "RunReport",
    "Subscription",
    "build_report",
    "capture",
    "config_hash",
    "emit",
    "explain_link",
    "load_report",
    "logger",
    "on_event",
    "render_html",
    "to_openlineage_events",
    "write_report",
]
