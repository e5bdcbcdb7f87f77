"""Tiny server-rendered SVG charts: bars, horizontal bars and lines, no JavaScript.

Every helper returns :class:`markupsafe.Markup` holding one ``<svg>`` element sized by its
``viewBox`` (the stylesheet makes it fluid). Labels are escaped; empty data gives a small "no data"
placeholder rather than an error, so pages render before anything is imported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

# Colour-blind-safe palette (Okabe-Ito), used in order for series.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _fmt(value: float) -> str:
    """A short number for axis ticks and tooltips: 1.2k, 3.4M, 0.123."""
    if value != value:  # NaN
        return "–"
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.0f}k"
    if magnitude >= 1_000:
        return f"{value / 1_000:.1f}k"
    if magnitude == int(magnitude):
        return str(int(value))
    if magnitude >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3f}".rstrip("0").rstrip(".") if magnitude else "0"


def _nice_max(value: float) -> float:
    """An axis top of four round steps (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) ≥ ``value``."""
    if value <= 0:
        return 1.0
    raw_step = value / 4
    exponent = math.floor(math.log10(raw_step))
    for factor in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        step = factor * 10.0**exponent
        if step * 4 >= value:
            return step * 4
    return 40.0 * 10.0**exponent


def empty_chart(message: str = "No data yet", width: int = 640, height: int = 80) -> Markup:
    return Markup(
        f'<svg class="chart chart-empty" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(message)}"><text x="{width / 2}" y="{height / 2}" '
        f'text-anchor="middle" fill="#6b7280" {_FONT}>{escape(message)}</text></svg>'
    )


def _y_axis(
    parts: list[str], top: float, left: int, plot_top: int, plot_h: int, right: int
) -> None:
    for i in range(5):
        value = top * i / 4
        y = plot_top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#6b7280" {_FONT}>'
            f"{_fmt(value)}</text>"
        )


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
    color: str = PALETTE[0],
    max_labels: int = 12,
) -> Markup:
    """Vertical bars, one per label (e.g. interactions per day)."""
    if not values or max(values) <= 0:
        return empty_chart(f"{title}: no data yet", width)
    left, right, plot_top, bottom = 48, width - 8, 10, 28
    plot_h = height - plot_top - bottom
    top = _nice_max(max(values))
    slot = (right - left) / len(values)
    bar_w = max(slot * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    _y_axis(parts, top, left, plot_top, plot_h, right)
    every = max(1, math.ceil(len(labels) / max_labels))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = left + i * slot + (slot - bar_w) / 2
        y = plot_top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                f'fill="#374151" {_FONT}>{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(
    items: Mapping[str, float],
    *,
    title: str,
    width: int = 640,
    row_height: int = 26,
    percent: bool = True,
) -> Markup:
    """Horizontal bars with labels on the left (e.g. the event-type mix), largest first."""
    total = sum(items.values())
    if not items or total <= 0:
        return empty_chart(f"{title}: no data yet", width)
    ordered = sorted(items.items(), key=lambda kv: -kv[1])
    label_w, value_w = 150, 110
    bar_space = width - label_w - value_w
    height = row_height * len(ordered) + 8
    peak = ordered[0][1]
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(ordered):
        y = 4 + i * row_height
        w = bar_space * value / peak
        shown = f"{_fmt(value)} ({100 * value / total:.1f}%)" if percent else _fmt(value)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_height / 2 + 4:.1f}" text-anchor="end" '
            f'fill="#374151" {_FONT}>{escape(label[:24])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_height - 8}" '
            f'rx="2" fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {shown}</title>'
            f"</rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + row_height / 2 + 4:.1f}" fill="#374151" '
            f"{_FONT}>{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_labels: Sequence[str] = (),
    width: int = 640,
    height: int = 240,
    y_max: float | None = None,
    log_y: bool = False,
    max_labels: int = 10,
) -> Markup:
    """One polyline per series over a shared x axis, with a legend (e.g. metrics per version).

    ``log_y`` plots ``log10(1 + value)`` — for long-tailed counts such as item popularity.
    """
    lengths = [len(v) for v in series.values()]
    if not series or max(lengths, default=0) == 0:
        return empty_chart(f"{title}: no data yet", width)
    n = max(lengths)

    def scale(value: float) -> float:
        return math.log10(1.0 + max(value, 0.0)) if log_y else value

    peak = max((scale(v) for values in series.values() for v in values), default=0.0)
    top = y_max if y_max is not None else (peak if log_y else _nice_max(peak))
    top = top or 1.0
    legend_h = 18 * math.ceil(len(series) / 3) if len(series) > 1 else 0
    left, right, plot_top, bottom = 48, width - 12, 10 + legend_h, 28
    plot_h = height - plot_top - bottom
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if log_y:
        for i in range(5):
            y = plot_top + plot_h - plot_h * i / 4
            raw = 10 ** (top * i / 4) - 1
            parts.append(
                f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#6b7280" '
                f"{_FONT}>{_fmt(round(raw))}</text>"
            )
    else:
        _y_axis(parts, top, left, plot_top, plot_h, right)

    def x_of(i: int) -> float:
        return left + ((right - left) * i / (n - 1) if n > 1 else (right - left) / 2)

    every = max(1, math.ceil(len(x_labels) / max_labels))
    for i, label in enumerate(x_labels[:n]):
        if i % every == 0:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{height - 10}" text-anchor="middle" fill="#374151" '
                f"{_FONT}>{escape(label)}</text>"
            )
    for s, (name, values) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        points = " ".join(
            f"{x_of(i):.1f},{plot_top + plot_h - plot_h * min(scale(v), top) / top:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        if len(values) <= 40:
            for i, v in enumerate(values):
                y = plot_top + plot_h - plot_h * min(scale(v), top) / top
                tip = f"{name} {x_labels[i] if i < len(x_labels) else i}: {_fmt(v)}"
                parts.append(
                    f'<circle cx="{x_of(i):.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                    f"<title>{escape(tip)}</title></circle>"
                )
        if legend_h:
            lx = left + (s % 3) * ((right - left) / 3)
            ly = 12 + 18 * (s // 3)
            parts.append(
                f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
                f'<text x="{lx + 14:.1f}" y="{ly + 1}" fill="#374151" {_FONT}>'
                f"{escape(name)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def grouped_bar_chart(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    width: int = 640,
    height: int = 240,
    y_max: float | None = None,
) -> Markup:
    """Bars side by side per group, one colour per series (e.g. metrics × solution versions)."""
    if not groups or not series or not any(len(v) for v in series.values()):
        return empty_chart(f"{title}: no data yet", width)
    peak = max((v for values in series.values() for v in values), default=0.0)
    top = y_max if y_max is not None else _nice_max(peak)
    legend_h = 18 * math.ceil(len(series) / 4)
    left, right, plot_top, bottom = 48, width - 8, 10 + legend_h, 28
    plot_h = height - plot_top - bottom
    slot = (right - left) / len(groups)
    bar_w = slot * 0.8 / len(series)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    _y_axis(parts, top, left, plot_top, plot_h, right)
    for g, group in enumerate(groups):
        x0 = left + g * slot + slot * 0.1
        for s, (name, values) in enumerate(series.items()):
            value = values[g] if g < len(values) else 0.0
            h = plot_h * min(value, top) / top
            parts.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{plot_top + plot_h - h:.1f}" '
                f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(name)} {escape(group)}: '
                f"{_fmt(value)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + g * slot + slot / 2:.1f}" y="{height - 10}" text-anchor="middle" '
            f'fill="#374151" {_FONT}>{escape(group)}</text>'
        )
    for s, name in enumerate(series):
        lx = left + (s % 4) * ((right - left) / 4)
        ly = 12 + 18 * (s // 4)
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="10" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/><text x="{lx + 14:.1f}" y="{ly + 1}" '
            f'fill="#374151" {_FONT}>{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
