"""``c360 report DIR``: rebuild a run's ``report.html`` from its ``report.json`` (and open it).

Exit codes: 0 ok; 2 usage error (no report in DIR, unreadable or unsupported report).
Register with ``app.command("report")(report)``.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from c360.exceptions import C360Error

__all__ = ["report", "usage_error"]

EXIT_USAGE = 2


def usage_error(exc: C360Error) -> typer.Exit:
    """Print ``exc`` on one line of stderr (its hint in brackets); the exit for a usage error."""
    message = " ".join(str(exc).replace("\nHint:", " (hint:").split())
    if exc.hint:
        message += ")"
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(EXIT_USAGE)


def report(
    dir: Annotated[
        Path,
        typer.Argument(help="Output directory of a run (or its report.json).", show_default=False),
    ],
    open: Annotated[
        bool, typer.Option("--open", help="Open the report in the default web browser.")
    ] = False,
) -> None:
    """Rebuild report.html from report.json in a run's output directory."""
    from c360.report import load_report, render_html
    from c360.report._model import REPORT_HTML
    from c360.report._write import _atomic_write, shows_pii

    try:
        rep = load_report(dir)
        folder = dir if dir.is_dir() else dir.parent
        html_path = folder / REPORT_HTML
        _atomic_write(html_path, render_html(rep), private=shows_pii(rep))
    except C360Error as exc:
        raise usage_error(exc) from None
    except (KeyError, TypeError, ValueError) as exc:
        typer.secho(
            f"error: report.json is incomplete or malformed: {exc!r}", err=True, fg=typer.colors.RED
        )
        raise typer.Exit(EXIT_USAGE) from None
    s = rep.data["summary"]
    errors = s.get("errors", 0)
    typer.echo(
        f"{html_path}: {s['customers']:,} customers from {s['records_in']:,} records; "
        f"{s['incidents']} incident(s), {errors} error(s)"
    )
    if open:
        webbrowser.open(html_path.resolve().as_uri())
