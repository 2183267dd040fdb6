"""Server-drawn SVG charts: real-size text, labels wrapped (never cut), hidden values
drawn as a mark with a word, an accessible name, and nothing a strict CSP would block."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from flask_babel import force_locale

from fieldapp.stats import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


def _tree(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - markup this module just drew


def _font_sizes(root: ET.Element) -> list[float]:
    base = float(root.get("font-size"))
    return [float(t.get("font-size") or base) for t in root.iter(SVG + "text")]


def _check_common(root: ET.Element, markup: str) -> None:
    # No viewBox: one user unit is one CSS pixel, so sizes are rendered sizes.
    assert root.get("viewBox") is None and root.get("width") == "100%"
    assert min(_font_sizes(root)) >= 12
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby").split()
    assert [root.find(f"{SVG}title").get("id"), root.find(f"{SVG}desc").get("id")] == ids
    assert " style=" not in markup and "<script" not in markup and "href" not in markup


def test_wrap_breaks_at_spaces_and_ends_with_an_ellipsis():
    assert charts.wrap("Cúcuta") == ["Cúcuta"]
    lines = charts.wrap("Villa del Rosario — Puente Internacional Simón Bolívar")
    assert lines == ["Villa del Rosario — Puente", "Internacional Simón Bolívar"]
    long = charts.wrap(" ".join(["palabra"] * 30))
    assert len(long) == charts.MAX_LABEL_LINES and long[-1].endswith("…")
    assert all(len(line) <= charts.CHARS_PER_LINE for line in long)
    assert all(len(line) <= charts.CHARS_PER_LINE for line in charts.wrap("x" * 100))


def test_bar_chart(english):
    label = "Arauca — Puente Internacional José Antonio Páez <b>"
    markup = charts.bar_chart([(label, 71), ("Cúcuta", 85), ("Tumbes", None)],
                              title="Totals by Site", description="The figures are below.")
    root = _tree(markup)
    _check_common(root, markup)
    assert root.find(f"{SVG}title").text == "Totals by Site"
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 3
    # The whole label in the row's title; the drawn lines together give it back.
    assert groups[0].find(f"{SVG}title").text == f"{label}: 71"
    drawn = " ".join(t.text for t in groups[0].findall(f"{SVG}text")[:-1])
    assert drawn == label and "&lt;b&gt;" in str(markup)
    # The biggest bar has the full span; a hidden value is a dashed box and a word.
    widths = [r.get("width") for g in groups[:2] for r in g.findall(f"{SVG}rect")]
    assert float(widths[1].rstrip("%")) == charts.BAR_SPAN
    hidden = groups[2]
    assert hidden.find(f"{SVG}rect").get("stroke-dasharray")
    assert hidden.find(f"{SVG}rect").get("fill") == "#ffffff"
    assert [t.text for t in hidden.findall(f"{SVG}text")][-1] == "suppressed"
    assert hidden.find(f"{SVG}title").text == "Tumbes: suppressed"


def test_empty_bar_chart_says_so(english):
    root = _tree(charts.bar_chart([], title="T", description="D"))
    assert root.find(f"{SVG}text").text == "Nothing here."


def _points(values):
    names = ["Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return [charts.Point(names[i], "2026", f"{names[i]} 2026", v) for i, v in enumerate(values)]


def test_line_chart_breaks_at_hidden_months(english):
    markup = charts.line_chart(_points([14, 15, None, 13, 9]), title="People with the flag",
                               description="D", y_title="People", x_title="Month")
    root = _tree(markup)
    _check_common(root, markup)
    segments = [ln for ln in root.iter(SVG + "line") if ln.get("stroke-width") == "2.5"]
    assert len(segments) == 2  # Jun-Jul and Sep-Oct: none across the hidden August
    assert len(list(root.iter(SVG + "circle"))) == 4
    dashed = [r for r in root.iter(SVG + "rect") if r.get("stroke-dasharray")]
    assert len(dashed) == 2  # the hidden month on the axis, and its key in the legend
    texts = [t.text for t in root.iter(SVG + "text")]
    assert {"People", "Month", "suppressed", "Jun", "2026"} <= set(texts)
    assert texts.count("2026") == 1  # the year once, where it starts
    titles = [g.find(f"{SVG}title").text for g in root.iter(SVG + "g")]
    assert "Aug 2026: suppressed" in titles and "Jun 2026: 14" in titles
    # Points are placed along the width in percent, so the line stretches with it.
    xs = [float(c.get("cx").rstrip("%")) for c in root.iter(SVG + "circle")]
    assert xs == sorted(xs) and xs[0] >= 10 and xs[-1] <= 95


def test_line_chart_thins_axis_labels_on_long_series(english):
    points = [charts.Point(f"M{i}", str(2020 + i // 12), f"month {i}", 5 + i) for i in range(24)]
    root = _tree(charts.line_chart(points, title="T", description="D", y_title="People",
                                   x_title="Month"))
    axis = [t.text for t in root.iter(SVG + "text") if re.fullmatch(r"M\d+", t.text or "")]
    assert 3 <= len(axis) <= 6
    assert min(_font_sizes(root)) >= 12
