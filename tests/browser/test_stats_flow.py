"""In a real browser, in English: the demo supervisor opens the statistics page, picks
flag × country, sees the chart and the table, and downloads the CSV."""

from __future__ import annotations

import csv
import io

import pytest

from fieldapp.demo import seed as demo
from fieldapp.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"


@pytest.fixture
def demo_with_cases(app):
    demo.seed(PASSWORD)
    db.session.commit()


def test_supervisor_reads_and_downloads_statistics(live_server, page_factory, demo_with_cases):
    page = page_factory("en-US", width=360)
    page.goto(live_server + "/login")
    page.locator("#email").fill("supervisor@red.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("button.primary").click()
    page.wait_for_url(live_server + "/")
    page.get_by_role("link", name="Statistics").first.click()
    page.wait_for_url(live_server + "/stats*")
    page.locator("#rows").select_option("flag")
    page.locator("#cols").select_option("country")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert page.locator("svg.chart").count() == 1
    assert page.locator("table thead th").nth(1).inner_text() in ("Colombia", "Ecuador")
    assert "values hidden to protect people" in page.content() \
        or "value hidden to protect people" in page.content()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    with open(info.value.path(), encoding="utf-8") as fh:
        content = fh.read()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "flag" and rows[-1][0] == "total"
    assert "Rumichaca" not in content and "@" not in content
