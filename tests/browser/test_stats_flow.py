"""In a real browser at 360 x 740, in English: the demo supervisor filters the network's
figures by choosing Colombia from a list, reads a chart whose text stays readable and
uncut, sees the table scroll inside its own box only, follows one flag month by month,
and downloads the CSV; a forged filter answers with an error summary at the top."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from fieldapp.cases.models import CaseFlag
from fieldapp.cases.vocab import FLAG_LABELS
from fieldapp.demo import seed as demo
from fieldapp.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"
WIDTH = 360

# Every <text> of every chart: its rendered font size (font size x the SVG's scale) and
# whether it lies inside its SVG (a label cut at the edge would not).
SVG_TEXT = """() => [...document.querySelectorAll('svg.stats-chart text')].map(t => {
  const svg = t.ownerSVGElement.getBoundingClientRect();
  const box = t.getBoundingClientRect();
  const scale = t.getScreenCTM().a;
  return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
          height: box.height, inside: box.left >= svg.left - 0.5 && box.right <= svg.right + 0.5};
})"""

# Elements sticking out past the viewport's right edge, outside the table's scroll box.
OUTSIDE = """(width) => [...document.querySelectorAll('body *')].filter(el =>
  !el.closest('.stats-table-wrap') && el.getBoundingClientRect().right > width + 0.5
).map(el => el.tagName + '.' + el.className)"""


@pytest.fixture
def demo_with_cases(app):
    demo.seed(PASSWORD)
    db.session.commit()


def _common_flag() -> str:
    code = db.session.execute(
        sa.select(CaseFlag.code).group_by(CaseFlag.code)
        .order_by(sa.func.count().desc(), CaseFlag.code).limit(1)).scalar_one()
    db.session.rollback()  # hold no lock while the live server writes
    return code


def _log_in(page, live_server: str) -> None:
    page.goto(live_server + "/login")
    page.locator("#email").fill("supervisor@red.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("button.primary").click()
    page.wait_for_url(live_server + "/")


def _check_readable_and_narrow(page) -> None:
    texts = page.evaluate(SVG_TEXT)
    assert texts, "no chart text"
    small = [t for t in texts if t["px"] < 12 or t["height"] < 12]
    assert not small, small
    cut = [t["text"] for t in texts if not t["inside"]]
    assert not cut, cut
    assert page.evaluate("document.scrollingElement.scrollWidth") <= WIDTH
    assert page.evaluate(OUTSIDE, WIDTH) == []


def test_supervisor_reads_and_downloads_statistics(app, live_server, page_factory,
                                                   demo_with_cases):
    flag = _common_flag()
    page = page_factory("en-US", width=WIDTH, height=740)
    _log_in(page, live_server)
    page.get_by_role("link", name="Statistics").first.click()
    page.wait_for_url(live_server + "/stats*")
    assert "Network-wide" in page.locator("main p.help").first.inner_text()
    # No filter is typed: every filter of the form is a list.
    assert page.locator("#stats-form input[type=text], #stats-form input:not([type])"
                        ).count() == 0
    page.locator("#rows").select_option("site")
    page.locator("#cols").select_option("stage")
    page.locator("details.stats-filters > summary").click()
    page.locator("#f-country").select_option(label="Colombia")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_load_state()
    assert "country=CO" in page.url
    assert page.locator("#f-country option:checked").inner_text() == "Colombia"
    sites = page.locator(".stats-table-wrap tbody th").all_inner_texts()
    assert sites and "Cúcuta" in sites and not any("Tulcán" in s for s in sites)
    assert page.locator("svg.stats-chart").count() == 1
    assert page.locator("svg.stats-chart").get_attribute("role") == "img"
    # The table scrolls in its own box, which says so; the page does not.
    wrap = page.locator(".stats-table-wrap").first
    assert wrap.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.locator(".stats-scroll-hint").is_visible()
    _check_readable_and_narrow(page)
    heights = page.evaluate("""() => [...document.querySelectorAll(
        '.stats-form select, .stats-form button, .stats-check, .stats-filters > summary')]
        .map(el => [el.id || el.className || el.tagName, el.getBoundingClientRect().height])""")
    assert all(h >= 44 for _name, h in heights), [x for x in heights if x[1] < 44]
    assert "figure is" in page.locator(".stats-protection").first.inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    with open(info.value.path(), encoding="utf-8") as fh:
        content = fh.read()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:2] == ["Site", "Site (code)"] and rows[-1][0] == "Total"
    assert "Rumichaca" not in content and "@" not in content

    # One flag month by month: a line with points, axis text in English, readable.
    page.locator("#trend-flag").select_option(flag)
    page.get_by_role("button", name="Show the trend").click()
    page.wait_for_load_state()
    chart = page.locator("svg.stats-chart")
    assert chart.count() == 1
    with app.test_request_context(), force_locale("en"):
        flag_name = str(FLAG_LABELS[flag])
    assert page.get_by_role("img", name=flag_name).count() == 1
    assert chart.locator("circle").count() >= 1 and chart.locator("line").count() >= 1
    months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec"}
    assert months & set(chart.locator("text").all_text_contents())
    _check_readable_and_narrow(page)


def test_forged_filter_is_reported_at_the_top(live_server, page_factory, demo_with_cases):
    page = page_factory("en-US", width=WIDTH, height=740)
    _log_in(page, live_server)
    response = page.goto(live_server + "/stats?rows=site&country=ZZ")
    assert response.status == 422
    summary = page.locator(".stats-error-summary")
    assert summary.is_visible() and summary.evaluate("el => el === document.activeElement")
    assert summary.evaluate("el => el.getBoundingClientRect().top") < \
        page.locator("h1").evaluate("el => el.getBoundingClientRect().top")
    assert "Network-wide" in page.locator("main p.help").first.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "f-country"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= WIDTH
