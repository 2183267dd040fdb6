"""Server-rendered SVG charts: no scripts, no fonts, no external anything.

Readable on a 360 px phone: the SVG has no viewBox, so one user unit is one CSS pixel
and text is drawn at its real size whatever the width; only horizontal positions are
percentages of the width (bars and the time axis stretch, letters never shrink).
Labels sit above their bars and wrap; what still does not fit ends in an ellipsis and
the whole text is in the row's <title>. Hidden values are drawn as a dashed mark with
a word, never as a zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

FONT = 14  # px; axis text is 13, nothing smaller
SMALL = 13
LINE = 18  # one line of label text
PAD = 2  # room for glyphs that overhang their origin (a "J")
INK = "#1b1b1b"
MUTED = "#4a4a46"
BAR = "#12355b"
GRID = "#d5d5d0"
# Conservative: 30 characters of 14 px text fit the ~290 px a 360 px screen leaves.
CHARS_PER_LINE = 30
MAX_LABEL_LINES = 3
BAR_SPAN = 78  # percent of the width the longest bar takes; the value follows it


def wrap(text: str, width: int = CHARS_PER_LINE, max_lines: int = MAX_LABEL_LINES
         ) -> list[str]:
    """Lines of at most `width` characters, broken at spaces; a word longer than a line
    is cut, and text beyond `max_lines` ends with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width - 1] + "-")
            word = word[width - 1:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        lines = lines[:max_lines - 1] + [last[:width - 1].rstrip(" -") + "…"]
    return lines or [""]


def _open(chart_id: str, height: int, title: str, description: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="stats-chart" id="{chart_id}" '
            f'width="100%" height="{height}" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-size="{FONT}" '
            f'fill="{INK}">',
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(description)}</desc>']


def _hidden_mark(x: str, y: float) -> str:
    """A dashed, empty box: a hidden value, never to be read as a short bar."""
    return (f'<rect x="{x}" y="{y}" width="26" height="16" fill="#ffffff" stroke="{MUTED}" '
            f'stroke-width="1.5" stroke-dasharray="3 2"/>')


def bar_chart(items: Sequence[tuple[str, int | None]], *, title: str, description: str,
              chart_id: str = "stats-bars") -> Markup:
    """Horizontal bars, one per (label, value); None is a hidden value."""
    hidden_text = _("suppressed")
    biggest = max([v for _label, v in items if v] or [1])
    parts: list[str] = []
    y = 0
    for label, value in items:
        lines = wrap(label)
        shown = hidden_text if value is None else str(value)
        parts.append(f"<g><title>{escape(label)}: {escape(shown)}</title>")
        for n, line in enumerate(lines):
            parts.append(f'<text x="{PAD}" y="{y + LINE * (n + 1) - 4}">{escape(line)}</text>')
        bar_y = y + LINE * len(lines) + 2
        if value is None:
            parts.append(_hidden_mark("0", bar_y))
            parts.append(f'<text x="34" y="{bar_y + 13}" fill="{MUTED}" '
                         f'font-style="italic">{escape(hidden_text)}</text>')
        else:
            share = round(BAR_SPAN * value / biggest, 2)
            parts.append(f'<rect x="0" y="{bar_y}" width="{share}%" height="16" '
                         f'fill="{BAR}"/>')
            parts.append(f'<text x="{share}%" dx="6" y="{bar_y + 13}" '
                         f'font-weight="600">{value}</text>')
        parts.append("</g>")
        y = bar_y + 16 + 12
    if not items:
        nobody = _("Nothing here.")
        parts.append(f'<text x="{PAD}" y="{LINE - 4}" fill="{MUTED}">{escape(nobody)}</text>')
        y = LINE + 4
    height = y
    return Markup("".join([*_open(chart_id, height, title, description), *parts,  # noqa: S704
                           "</svg>"]))  # every text piece above is escaped


@dataclass(frozen=True)
class Point:
    """One month on the time axis: its axis text, the year (shown where it changes),
    a full name for the tooltip, and the published value (None when hidden)."""

    axis: str
    year: str
    name: str
    value: int | None


def _nice_step(top: int, ticks: int = 4) -> int:
    raw = max(top, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return max(1, int(factor * power))
    return max(1, int(10 * power))


def line_chart(points: Sequence[Point], *, title: str, description: str, y_title: str,
               x_title: str, chart_id: str = "stats-trend") -> Markup:
    """Published counts month by month as a line with points; a hidden month breaks the
    line and is marked on the axis with a dashed box."""
    hidden_text = _("suppressed")
    top_y, bottom_y = 46, 212
    x0, x1 = 14.0, 92.0  # percent: room for the count labels on the left
    published = [p.value for p in points if p.value is not None]
    step = _nice_step(max(published or [1]))
    top = step * math.ceil(max(published or [1]) / step)

    def ypos(v: int) -> float:
        return round(bottom_y - (bottom_y - top_y) * v / top, 1)

    def xpos(i: int) -> float:
        if len(points) == 1:
            return round((x0 + x1) / 2, 2)
        return round(x0 + (x1 - x0) * i / (len(points) - 1), 2)

    parts = [f'<text x="{PAD}" y="{SMALL + 2}" font-size="{SMALL}" fill="{MUTED}">'
             f"{escape(y_title)}</text>"]
    for tick in range(0, top + 1, step):
        gy = ypos(tick)
        parts.append(f'<line x1="{x0 - 2}%" x2="100%" y1="{gy}" y2="{gy}" stroke="{GRID}" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{PAD}" y="{gy + 4}" font-size="{SMALL}" fill="{MUTED}">'
                     f"{tick}</text>")
    for i in range(len(points) - 1):
        a, b = points[i].value, points[i + 1].value
        if a is not None and b is not None:
            parts.append(f'<line x1="{xpos(i)}%" y1="{ypos(a)}" x2="{xpos(i + 1)}%" '
                         f'y2="{ypos(b)}" stroke="{BAR}" stroke-width="2.5"/>')
    every = max(1, math.ceil(len(points) / 6))  # axis labels at least ~40 px apart
    label_values = len(points) <= 7
    year_shown = ""
    for i, p in enumerate(points):
        x = xpos(i)
        shown = hidden_text if p.value is None else str(p.value)
        parts.append(f"<g><title>{escape(p.name)}: {escape(shown)}</title>")
        if p.value is None:
            parts.append(f'<rect x="{x}%" y="{bottom_y - 8}" width="16" height="16" '
                         f'fill="#ffffff" stroke="{MUTED}" stroke-width="1.5" '
                         f'stroke-dasharray="3 2" transform="translate(-8 0)"/>')
        else:
            parts.append(f'<circle cx="{x}%" cy="{ypos(p.value)}" r="5" fill="{BAR}" '
                         f'stroke="#ffffff" stroke-width="1.5"/>')
            if label_values:
                parts.append(f'<text x="{x}%" y="{ypos(p.value) - 10}" text-anchor="middle" '
                             f'font-size="{SMALL}" font-weight="600">{p.value}</text>')
        parts.append("</g>")
        if i % every == 0:
            parts.append(f'<text x="{x}%" y="{bottom_y + 24}" text-anchor="middle" '
                         f'font-size="{SMALL}">{escape(p.axis)}</text>')
            if p.year != year_shown:
                parts.append(f'<text x="{x}%" y="{bottom_y + 40}" text-anchor="middle" '
                             f'font-size="{SMALL}" fill="{MUTED}">{escape(p.year)}</text>')
                year_shown = p.year
    legend_y = bottom_y + 62
    parts.append(f'<text x="50%" y="{legend_y}" text-anchor="middle" font-size="{SMALL}" '
                 f'fill="{MUTED}">{escape(x_title)}</text>')
    if any(p.value is None for p in points):
        parts.append(_hidden_mark("0", legend_y + 12))
        parts.append(f'<text x="34" y="{legend_y + 25}" font-size="{SMALL}" fill="{MUTED}" '
                     f'font-style="italic">{escape(hidden_text)}</text>')
        legend_y += 28
    height = legend_y + 8
    return Markup("".join([*_open(chart_id, height, title, description), *parts,  # noqa: S704
                           "</svg>"]))  # every text piece above is escaped
