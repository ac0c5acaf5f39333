"""Small inline-SVG charts: no JavaScript, no network, drawn by any browser.

Every data mark carries ``class="mark"`` (and a ``<title>`` tooltip) so tests
can find what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Bar", "bar_chart", "freshness_chart", "mu_chart"]

FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
GREEN, RED, GREY, BLUE, ORANGE, INK = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#ef6c00", "#333"


@dataclass(frozen=True, slots=True)
class Bar:
    """One vertical bar: x label, height, colour and tooltip."""

    label: str
    value: float
    color: str = BLUE
    tip: str = ""


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _ticks(top: float, n: int = 4) -> list[float]:
    if top <= 0:
        return [0.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(top / step) + 1)]


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    x_title: str,
    y_title: str,
    log_y: bool = False,
    marker: tuple[float, str] | None = None,
    width: int = 640,
    height: int = 260,
) -> str:
    """Draw a vertical bar chart; ``marker=(index, text)`` adds a dashed line at a bar position."""
    left, right, top, bottom = 56, 12, 28, 44
    pw, ph = width - left - right, height - top - bottom
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'{FONT} font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    parts.append(
        f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="{INK}">'
        f"{escape(title)}</text>"
    )
    if not bars:
        parts.append(f'<text x="{left + 10}" y="{top + ph / 2}" fill="{GREY}">no data</text></svg>')
        return "".join(parts)
    vmax = max(b.value for b in bars) or 1.0

    def scale(v: float) -> float:
        if log_y:
            return ph * math.log10(1 + v) / math.log10(1 + vmax)
        return ph * v / vmax

    ticks = [10.0**k for k in range(int(math.log10(vmax)) + 1)] if log_y else _ticks(vmax)
    for t in ticks:
        y = top + ph - scale(t)
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">'
            f"{_num(t) if t < 10_000 else f'{t:.0e}'}</text>"
        )
    step = pw / len(bars)
    bw = max(step * 0.85, 1.0)
    label_every = max(1, math.ceil(len(bars) / 24))
    for i, b in enumerate(bars):
        h = scale(b.value)
        x = left + i * step + (step - bw) / 2
        tip = escape(b.tip or f"{b.label}: {b.value:,.0f}")
        if b.value > 0:  # an empty bin draws nothing but keeps its label
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{top + ph - h:.1f}" width="{bw:.1f}" '
                f'height="{h:.1f}" fill="{b.color}"><title>{tip}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{top + ph + 14}" '
                f'text-anchor="middle" fill="#666">{escape(b.label)}</text>'
            )
    if marker is not None:
        mx = left + marker[0] * step
        parts.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + ph}" '
            f'stroke="{INK}" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{mx + 4:.1f}" y="{top + 10}" fill="{INK}">{escape(marker[1])}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#999"/>'
    )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" fill="#444">'
        f"{escape(x_title)}</text>"
    )
    parts.append(
        f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle" '
        f'fill="#444">{escape(y_title)}{" (log scale)" if log_y else ""}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def mu_chart(comparison: str, rows: Sequence[dict[str, float | str]], *, width: int = 420) -> str:
    """M and u of each level of one comparison as paired horizontal bars, with the weight."""
    label_w, weight_w, row_h, top = 150, 64, 26, 26
    pw = width - label_w - weight_w - 8
    height = top + row_h * len(rows) + 8
    parts = [
        f'<svg class="chart" role="img" aria-label="m and u of {escape(comparison)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="11">',
        f'<text x="4" y="16" font-size="13" font-weight="600" fill="{INK}">'
        f"{escape(comparison)}</text>",
        f'<text x="{label_w}" y="16" fill="{BLUE}">■ m (matches)</text>',
        f'<text x="{label_w + 100}" y="16" fill="{ORANGE}">■ u (non-matches)</text>',
        f'<text x="{width - 4}" y="16" text-anchor="end" fill="#444">weight</text>',
    ]
    for i, r in enumerate(rows):
        y = top + i * row_h
        m, u, w = float(r["m"]), float(r["u"]), float(r["weight"])
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="#444">'
            f"{escape(str(r['label']))}</text>"
        )
        for j, (v, color, name) in enumerate(((m, BLUE, "m"), (u, ORANGE, "u"))):
            parts.append(
                f'<rect class="mark" x="{label_w}" y="{y + 3 + j * 10}" '
                f'width="{max(pw * v, 0.5):.1f}" '
                f'height="9" fill="{color}"><title>{escape(str(r["label"]))}: {name} = {v:.4g}'
                "</title></rect>"
            )
        color = GREEN if w > 0 else RED
        parts.append(
            f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" fill="{color}">{w:+.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def freshness_chart(rows: Sequence[dict[str, object]], *, width: int = 640) -> str:
    """Draw the age of each source's newest record against its SLA (lag / SLA, capped at 3x)."""
    label_w, row_h, top = 120, 24, 30
    pw = width - label_w - 150
    height = top + row_h * max(len(rows), 1) + 24
    cap = 3.0
    parts = [
        f'<svg class="chart" role="img" aria-label="Freshness per source" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'{FONT} font-size="11">',
        f'<text x="4" y="16" font-size="13" font-weight="600" fill="{INK}">'
        "Age of the newest record, as a share of the SLA</text>",
    ]
    sla_x = label_w + pw / cap
    for i, r in enumerate(rows):
        y = top + i * row_h
        status = str(r.get("status"))
        lag, sla = r.get("lag_seconds"), r.get("sla_seconds")
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="#444">'
            f"{escape(str(r['source']))}</text>"
        )
        if isinstance(lag, int | float) and isinstance(sla, int | float) and sla > 0:
            ratio = max(float(lag), 0.0) / float(sla)
            w = pw * min(ratio, cap) / cap
            color = GREEN if status == "fresh" else RED
            parts.append(
                f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{max(w, 1.0):.1f}" '
                f'height="14" fill="{color}"><title>{escape(str(r["source"]))}: '
                f"{escape(str(r.get('text', '')))}</title></rect>"
            )
            more = " ▶" if ratio > cap else ""
            parts.append(
                f'<text x="{label_w + max(w, 1.0) + 4:.1f}" y="{y + 15}" fill="#444">'
                f"{escape(str(r.get('text', '')))}{more}</text>"
            )
        else:
            parts.append(
                f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{pw:.1f}" height="14" '
                f'fill="#eeeeee"><title>{escape(str(r["source"]))}: unknown</title></rect>'
            )
            parts.append(
                f'<text x="{label_w + 6}" y="{y + 15}" fill="#666">'
                f"{escape(str(r.get('text', 'unknown')))}</text>"
            )
    parts.append(
        f'<line x1="{sla_x:.1f}" x2="{sla_x:.1f}" y1="{top - 4}" y2="{height - 20}" '
        f'stroke="{INK}" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="{sla_x:.1f}" y="{height - 6}" text-anchor="middle" fill="{INK}">SLA</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
