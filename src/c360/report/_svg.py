"""Small inline-SVG charts: no JavaScript, no network, drawn by any browser.

Every data mark carries ``class="mark"`` (and a ``<title>`` tooltip) so tests
can find what was drawn; a flagged position of a line chart (a failed run) is a
band with ``class="flag"`` and its own tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Bar", "Line", "bar_chart", "freshness_chart", "line_chart", "mu_chart"]

FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
GREEN, RED, GREY, BLUE, ORANGE, INK = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#ef6c00", "#333"
#: Colours for series told apart only by colour (sources), in order.
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#827717")


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
    max_labels: int = 24,
    max_bar_width: float | None = None,
) -> str:
    """Draw a vertical bar chart; ``marker=(index, text)`` adds a dashed line at a bar position.

    At most about ``max_labels`` bars are labelled, evenly spaced; bars are at
    most ``max_bar_width`` pixels wide when given (a few bars then stay narrow).
    """
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
    if max_bar_width is not None:
        bw = min(bw, max_bar_width)
    label_every = max(1, math.ceil(len(bars) / max(max_labels, 1)))
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


@dataclass(frozen=True, slots=True)
class Line:
    """One series of a line chart.

    Attributes:
        name: the legend text (empty: not in the legend).
        values: one y value per x position; ``None`` (or NaN) is no value there,
            and the line joins the values on either side.
        color: the line's colour.
        dashed: drawn dashed and without point marks (a threshold, an objective).
        tips: one tooltip per value (default: ``x label · name: value``).
        colors: one colour per point mark (default: the line's colour).
    """

    name: str
    values: Sequence[float | None]
    color: str = BLUE
    dashed: bool = False
    tips: Sequence[str] = ()
    colors: Sequence[str] = ()


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _axis(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round tick values covering ``lo``..``hi`` (at least two)."""
    if hi <= lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    start = math.floor(lo / step + 1e-9) * step
    count = math.ceil((hi - start) / step - 1e-9)
    return [round(start + i * step, 12) for i in range(max(count, 1) + 1)]


def _count(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else _num(v)


def _thin(points: list[tuple[int, float]], keep: int) -> list[tuple[int, float]]:
    """At most about ``keep`` points: per bucket its first, lowest, highest and last."""
    if len(points) <= keep:
        return points
    buckets = max(keep // 4, 1)
    size = len(points) / buckets
    out: list[tuple[int, float]] = []
    for b in range(buckets):
        chunk = points[int(b * size) : int((b + 1) * size)]
        if chunk:
            lo = min(chunk, key=lambda p: p[1])
            hi = max(chunk, key=lambda p: p[1])
            out.extend(sorted({chunk[0], lo, hi, chunk[-1]}))
    return out


def _legend(
    items: Sequence[tuple[str, str, str]], x0: float, width: float, y0: float
) -> tuple[list[str], float]:
    """Legend entries ``(name, colour, kind)`` wrapped to ``width``, and their height."""
    parts: list[str] = []
    x, y = x0, y0
    for name, color, kind in items:
        w = 24 + 6.2 * len(name)
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 15
        if kind == "flag":
            parts.append(
                f'<rect x="{x:.1f}" y="{y - 8}" width="6" height="10" fill="{RED}" '
                'fill-opacity="0.25"/>'
            )
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dashed" else ""
            parts.append(
                f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{y - 3}" y2="{y - 3}" '
                f'stroke="{color}" stroke-width="2"{dash}/>'
            )
        parts.append(f'<text x="{x + 18:.1f}" y="{y}" fill="#444">{escape(name)}</text>')
        x += w
    return parts, y - y0 + 15


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    x_labels: Sequence[str] = (),
    x_title: str = "",
    y_title: str = "",
    y_format: Callable[[float], str] = _count,
    zero: bool = True,
    flags: Sequence[tuple[int, str]] = (),
    flag_name: str = "flagged",
    max_points: int = 400,
    max_marks: int = 60,
    width: int = 500,
    height: int = 240,
) -> str:
    """Draw lines over evenly spaced x positions (runs, in order), with flagged positions banded.

    Args:
        lines: the series; every one has a value (or ``None``) per x position.
        title: drawn above the chart and read by screen readers.
        x_labels: one label per x position; a few evenly spaced ones are shown.
        x_title: the x axis' title.
        y_title: the y axis' title.
        y_format: how y values read on the axis and in tooltips.
        zero: whether the y axis starts at zero (else it fits the values).
        flags: ``(position, tooltip)`` of positions to band in red, such as failed runs.
        flag_name: the legend text of the bands.
        max_points: a longer line is thinned to about this many points, keeping
            each stretch's first, last, lowest and highest value.
        max_marks: a line with more values marks (with a tooltip) every k-th
            one and the last, at most about this many.
        width: the chart's width in pixels.
        height: the chart's height in pixels.

    Examples:
        >>> svg = line_chart(
        ...     [Line("customers", [310, 325, None, 331])],
        ...     title="Customers",
        ...     x_labels=["r1", "r2", "r3", "r4"],
        ...     flags=[(2, "r3 failed")],
        ...     flag_name="failed run",
        ... )
        >>> svg.count('class="mark"'), svg.count('class="flag"'), "r4 · customers: 331" in svg
        (3, 1, True)

    """
    n = max([len(x_labels), *(len(ln.values) for ln in lines)], default=0)
    left, right, bottom = 64, 14, 40
    legend_items = [
        (ln.name, ln.color, "dashed" if ln.dashed else "solid") for ln in lines if ln.name
    ]
    if flags:
        legend_items.append((flag_name, RED, "flag"))
    pw = width - left - right
    legend, legend_h = _legend(legend_items, left, pw, 34) if len(legend_items) > 1 else ([], 0.0)
    top = 28 + legend_h + 6
    ph = height - top - bottom
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'{FONT} font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="{INK}">'
        f"{escape(title)}</text>",
        *legend,
    ]
    series = [
        [(i, float(v)) for i, v in enumerate(ln.values) if v is not None and _finite(float(v))]
        for ln in lines
    ]
    values = [v for pts in series for _, v in pts]
    if not values:
        parts.append(f'<text x="{left + 10}" y="{top + ph / 2}" fill="{GREY}">no data</text></svg>')
        return "".join(parts)
    lo, hi = min(values), max(values)
    if zero:
        lo = min(lo, 0.0)
        hi = hi if hi > lo else lo + 1.0  # all zero: the axis still goes up from zero
    ticks = _axis(lo, hi)
    t0, t1 = ticks[0], ticks[-1]
    step = pw / (n - 1) if n > 1 else 0.0

    def px(i: int) -> float:
        return left + (i * step if n > 1 else pw / 2)

    def py(v: float) -> float:
        return top + ph - (v - t0) / (t1 - t0) * ph

    for t in ticks:
        y = py(t)
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">'
            f"{escape(y_format(t))}</text>"
        )
    band = max(step * 0.6, 3.0)
    merged: list[tuple[float, float, list[str]]] = []  # bands closer than 2 px are one
    for i, tip in sorted(flags):
        x = px(i)
        if merged and x - band / 2 - merged[-1][1] <= 2:
            x0, _, tips = merged[-1]
            tips.append(tip)
            merged[-1] = (x0, x + band / 2, tips)
        else:
            merged.append((x - band / 2, x + band / 2, [tip]))
    for x0, x1, tips in merged:
        text = "; ".join(tips[:3]) + (f"; and {len(tips) - 3} more" if len(tips) > 3 else "")
        parts.append(
            f'<rect class="flag" x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{ph}" '
            f'fill="{RED}" fill-opacity="0.18"><title>{escape(text)}</title></rect>'
        )
    for ln, pts in zip(lines, series, strict=True):
        dash = ' stroke-dasharray="5 4"' if ln.dashed else ""
        if len(pts) > 1:
            coords = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in _thin(pts, max_points))
            parts.append(
                f'<polyline fill="none" stroke="{ln.color}" stroke-width="1.8"{dash} '
                f'points="{coords}"/>'
            )
        if ln.dashed:
            continue
        every = max(1, math.ceil(len(pts) / max_marks))
        for k, (i, v) in enumerate(pts):
            if k % every and k != len(pts) - 1:
                continue
            if i < len(ln.tips):
                tip = ln.tips[i]
            else:
                where = f"{x_labels[i]} · " if i < len(x_labels) else ""
                tip = f"{where}{ln.name}: {y_format(v)}"
            color = ln.colors[i] if i < len(ln.colors) else ln.color
            parts.append(
                f'<circle class="mark" cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{color}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    shown = max(2, min(n, pw // 90))
    at = sorted({round(j * (n - 1) / (shown - 1)) for j in range(shown)}) if n > 1 else [0]
    for i in at:
        if i >= len(x_labels):
            continue
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        parts.append(
            f'<text x="{px(i):.1f}" y="{top + ph + 14}" text-anchor="{anchor}" fill="#666">'
            f"{escape(x_labels[i])}</text>"
        )
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#999"/>'
        f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" fill="#444">'
        f"{escape(x_title)}</text>"
        f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle" '
        f'fill="#444">{escape(y_title)}</text></svg>'
    )
    return "".join(parts)
