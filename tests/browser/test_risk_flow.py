"""In a real browser, in Portuguese: a field worker registers a 14-year-old travelling
alone and sees the urgent flag with its reason."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale, gettext

from fieldapp.cases.risk_labels import SEVERITY_LABELS
from fieldapp.cases.vocab import FLAG_LABELS
from fieldapp.demo import seed as demo
from fieldapp.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"
REASON = "A child under 18 travelling alone or with an unrelated adult."


@pytest.fixture
def demo_users(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


def test_unaccompanied_child_in_portuguese(app, live_server, page_factory, demo_users):
    with app.test_request_context(), force_locale("pt_BR"):
        reason_pt = gettext(REASON)
        flag_pt = str(FLAG_LABELS["UNACCOMPANIED_CHILD"])
        urgent_pt = str(SEVERITY_LABELS["urgent"])
    assert reason_pt != REASON, "the reason must be translated into Portuguese"
    page = page_factory("pt-BR", width=360)
    page.goto(live_server + "/login")
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    page.locator("#email").fill("fieldworker@frontera.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("button.primary").click()
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/cases/new")
    born = date(date.today().year - 14, 1, 15).isoformat()
    page.locator("#given_name").fill("Jhoan Sebastián")
    page.locator("#family_name").fill("Mendoza Arias")
    page.locator("#date_of_birth").fill(born)
    page.locator("#sex").select_option("male")
    page.locator("#stage").select_option("border")
    page.check("input[name=consent_given_by][value=best_interest]")
    page.check("input[name=consent_basis][value=vital_interest]")
    page.locator("#data_processing").check()
    page.locator("button[name=submit]").click()
    page.wait_for_url(live_server + "/cases/*")
    case_url = page.url
    page.locator("a[href$='/assessment']").first.click()
    page.wait_for_url(case_url + "/assessment")
    assert page.locator("input[name=accompaniment]").count() == 5  # shown: he is a child
    assert page.locator("input[name=pregnant_or_lactating]").count() == 0
    page.check("input[name=accompaniment][value=alone]")
    page.locator("button.primary").click()
    page.wait_for_url(case_url)
    flags = page.locator("#flags-h + ul.flags").inner_text()
    assert flag_pt in flags and reason_pt in flags
    assert urgent_pt in page.locator("h1").inner_text()  # the urgency badge, in words
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
