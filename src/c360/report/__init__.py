"""The run report: ``report.json``, a self-contained ``report.html``, lineage tables.

Public names are re-exported by [`c360.observe`][c360.observe], the module to import.
``docs/report-schema.md`` documents the JSON (``"schema": "c360.report/1"``).
"""

from __future__ import annotations

from c360.report._build import build_report, load_report
from c360.report._explain import Contribution, LinkExplanation, explain_link
from c360.report._html import render_html
from c360.report._model import SCHEMA, ReportConfig, RunReport, config_hash
from c360.report._openlineage import to_openlineage_events
from c360.report._write import write_report

__all__ = [
    "SCHEMA",
    "Contribution",
    "LinkExplanation",
    "ReportConfig",
    "RunReport",
    "build_report",
    "config_hash",
    "explain_link",
    "load_report",
    "render_html",
    "to_openlineage_events",
    "write_report",
]
