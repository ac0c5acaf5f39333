"""Bounded text and HTML displays of c360's objects, for terminals and notebooks.

Every public result and configuration object shows at most one screen,
whatever the size of the data behind it: a title, a few labelled figures, a
few notes, and in HTML one small table or chart. Nothing here computes more
than counts the object already holds, reads a file, or shows a personal
value the user's own tables do not already hold.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Block", "fmt_bytes", "fmt_count", "fmt_records", "fmt_share", "level_bars"]

#: Longest line of a text display, and most notes / table rows shown.
WIDTH = 100
MAX_NOTES = 3
MAX_ROWS = 12

_STYLE = (
    "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
    "line-height:1.35;max-width:60em"
)
_TABLE = "border-collapse:collapse;margin:.3em 0"
_CELL = "padding:.15em .8em .15em 0;text-align:left;vertical-align:top;border:0"
_NUM = "padding:.15em .8em .15em 0;text-align:right;vertical-align:top;border:0"
_HEAD = "padding:.15em .8em .15em 0;text-align:left;border-bottom:1px solid #bbb"


def fmt_count(n: int | float | None) -> str:
    """``1,234`` (``-`` for unknown)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"
    return f"{int(n):,}"


def fmt_bytes(n: float) -> str:
    """``n`` bytes for people, in decimal units.

    Examples:
        >>> fmt_bytes(512), fmt_bytes(3.2e6), fmt_bytes(14.25e9)
        ('512 B', '3.2 MB', '14.2 GB')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def fmt_share(x: float | None, digits: int = 3) -> str:
    """A share as ``0.981`` (``-`` for unknown)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def fmt_records(accepted: int, quarantined: int) -> str:
    """``12 (accepted 10, quarantined 2)``."""
    total = fmt_count(accepted + quarantined)
    return f"{total} (accepted {fmt_count(accepted)}, quarantined {fmt_count(quarantined)})"


def _clip(text: str, width: int = WIDTH) -> str:
    """One line of at most ``width`` characters (line breaks become spaces)."""
    text = str(text).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class Block:
    """A bounded display: title, labelled figures, notes, an optional table.

    Examples:
        >>> b = Block("c360 Thing", [("records", "3")], notes=["n"] * 5)
        >>> print(b.text())
        c360 Thing
          records  3
          n
          n
          n
          … and 2 more
    """

    def __init__(
        self,
        title: str,
        rows: Sequence[tuple[str, str]],
        *,
        notes: Sequence[str] = (),
        table: tuple[Sequence[str], Sequence[Sequence[Any]]] | None = None,
        table_title: str = "",
        extra_html: str = "",
    ) -> None:
        self.title = title
        self.rows = list(rows)
        self.notes = [str(n) for n in notes]
        self.table = table
        self.table_title = table_title
        self.extra_html = extra_html

    def text(self) -> str:
        """The plain-text display: at most ``len(rows) + MAX_NOTES + 2`` short lines."""
        width = max((len(k) for k, _ in self.rows), default=0)
        lines = [_clip(self.title)]
        lines += [_clip(f"  {k:<{width}}  {v}") for k, v in self.rows]
        lines += [_clip(f"  {n}") for n in self.notes[:MAX_NOTES]]
        if len(self.notes) > MAX_NOTES:
            lines.append(f"  … and {len(self.notes) - MAX_NOTES} more")
        return "\n".join(lines)

    def html(self) -> str:
        """The HTML display: a summary table, notes, then the table or chart, if any."""
        e = html.escape
        parts = [f'<div class="c360-display" style="{_STYLE}">']
        parts.append(f"<strong>{e(self.title)}</strong>")
        parts.append(f'<table style="{_TABLE}">')
        for k, v in self.rows:
            parts.append(f'<tr><th style="{_CELL}">{e(k)}</th><td style="{_CELL}">{e(v)}</td></tr>')
        parts.append("</table>")
        if self.notes:
            shown = self.notes[:MAX_NOTES]
            more = len(self.notes) - len(shown)
            items = "".join(f"<li>{e(_clip(n, 200))}</li>" for n in shown)
            if more:
                items += f"<li>… and {more} more</li>"
            parts.append(f'<ul style="margin:.2em 0 .4em 1.2em;padding:0">{items}</ul>')
        if self.table is not None:
            header, body = self.table
            if self.table_title:
                parts.append(f"<div>{e(self.table_title)}</div>")
            parts.append(_html_table(header, body))
        parts.append(self.extra_html)
        parts.append("</div>")
        return "".join(parts)


def _html_table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    e = html.escape
    out = [f'<table style="{_TABLE}"><tr>']
    out += [f'<th style="{_HEAD}">{e(str(h))}</th>' for h in header]
    out.append("</tr>")
    for row in body[:MAX_ROWS]:
        cells = []
        for v in row:
            style = _NUM if isinstance(v, int | float) and not isinstance(v, bool) else _CELL
            text = fmt_count(v) if isinstance(v, int) and not isinstance(v, bool) else str(v)
            cells.append(f'<td style="{style}">{e(_clip(text, 80))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    if len(body) > MAX_ROWS:
        more = len(body) - MAX_ROWS
        out.append(f'<tr><td style="{_CELL}" colspan="{len(header)}">… and {more} more</td></tr>')
    out.append("</table>")
    return "".join(out)


def level_bars(levels: Iterable[tuple[str, float, float]], *, width: int = 120) -> str:
    """A small inline SVG: for each level, its ``m`` (dark) and ``u`` (light) as bars.

    Examples:
        >>> svg = level_bars([("else", 0.1, 0.9), ("exact", 0.9, 0.1)])
        >>> svg.startswith("<svg") and svg.count("<rect") == 4
        True
    """
    rows = list(levels)
    bar, gap, label_w = 6, 4, 90
    height = len(rows) * (2 * bar + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width}" height="{height}" '
        'role="img" aria-label="m and u per level">'
    ]
    for i, (label, m, u) in enumerate(rows):
        y = i * (2 * bar + gap)
        parts.append(
            f'<text x="0" y="{y + 2 * bar - 1}" font-size="10" fill="#333">'
            f"{html.escape(_clip(label, 16))}</text>"
        )
        for j, (value, colour) in enumerate(((m, "#2b6cb0"), (u, "#a0aec0"))):
            w = max(0.0, min(1.0, float(value))) * width
            parts.append(
                f'<rect x="{label_w}" y="{y + j * bar}" width="{w:.1f}" height="{bar - 1}" '
                f'fill="{colour}"><title>{"mu"[j]} = {float(value):.4g}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)
