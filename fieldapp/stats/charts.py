"""Server-rendered SVG charts: no scripts, no fonts, no external anything."""

from __future__ import annotations

from markupsafe import Markup, escape

from fieldapp.stats.services import Result

BAR_HEIGHT = 22
LABEL_WIDTH = 150
WIDTH = 340


def bar_chart(result: Result, labels: list[str], title: str, suppressed_text: str) -> Markup:
    """Horizontal bars of the row totals; a suppressed total is drawn as an outline."""
    totals = [result.row_total(i) for i in range(len(result.rows))]
    biggest = max([t for t in totals if t] or [1])
    height = BAR_HEIGHT * len(totals) + 10
    span = WIDTH - LABEL_WIDTH - 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" class="chart">',
             f"<title>{escape(title)}</title>"]
    for i, (label, total) in enumerate(zip(labels, totals, strict=True)):
        y = 5 + i * BAR_HEIGHT
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" '
                     f'font-size="11" fill="#1b1b1b">{escape(short)}</text>')
        if total is None:
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{span}" height="14" '
                         f'fill="none" stroke="#8a8a85" stroke-dasharray="3 2"/>')
            parts.append(f'<text x="{LABEL_WIDTH + 6}" y="{y + 14}" font-size="10" '
                         f'fill="#4a4a46">{escape(suppressed_text)}</text>')
        else:
            w = round(span * total / biggest, 1) if total else 0
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{w}" height="14" '
                         f'fill="#12355b"/>')
            parts.append(f'<text x="{LABEL_WIDTH + w + 4}" y="{y + 15}" font-size="11" '
                         f'fill="#1b1b1b">{total}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece above is escaped
