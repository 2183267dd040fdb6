"""In a real browser, in Portuguese, on a 360 px phone: a field worker registers a
14-year-old travelling alone, walks the questionnaire section by section (each saved on
its own, every option a 44 px target), checks the answers, changes one, and sees the
urgent flag with its reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import axe_playwright_python
import pytest
from flask_babel import force_locale, gettext

from fieldapp.cases.vocab import FLAG_LABELS
from fieldapp.demo import seed as demo
from fieldapp.extensions import db
from fieldapp.risk.labels import SEVERITY_LABELS

pytestmark = pytest.mark.browser
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(
    encoding="utf-8")
PASSWORD = "demo passphrase in browser"
REASON = "A child under 18 travelling alone or with an unrelated adult."


@pytest.fixture
def demo_users(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


# Every radio and checkbox with its label, every select, link and button of the form.
SMALL_TARGETS_JS = """
() => [...document.querySelectorAll(
    'main input[type=radio], main input[type=checkbox], main select, main button, main a[href]')]
  .map((el) => {
    let box = el.getBoundingClientRect();
    const label = el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
    if (label && (el.type === 'radio' || el.type === 'checkbox')) {
      const l = label.getBoundingClientRect();
      box = {width: Math.max(box.right, l.right) - Math.min(box.left, l.left),
             height: Math.max(box.bottom, l.bottom) - Math.min(box.top, l.top)};
    }
    return {name: el.name || el.textContent.trim().slice(0, 30), w: box.width, h: box.height};
  })
  .filter((t) => t.w < 44 || t.h < 44)
"""


def _fits_a_phone(page) -> None:
    """Big enough to tap, nothing sideways, and axe-core finds nothing serious."""
    assert page.evaluate(SMALL_TARGETS_JS) == []
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document, {runOnly: {type: 'tag', "
                           "values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa']}})")
    serious = [(v["id"], v["nodes"][0]["target"]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_unaccompanied_child_in_portuguese(app, live_server, page_factory, demo_users):
    with app.test_request_context(), force_locale("pt_BR"):
        reason_pt = gettext(REASON)
        flag_pt = str(FLAG_LABELS["UNACCOMPANIED_CHILD"])
        no_documents_pt = str(FLAG_LABELS["CHILD_WITHOUT_DOCUMENTS"])
        urgent_pt = str(SEVERITY_LABELS["urgent"])
        save_pt = gettext("Save and continue")
        separation_pt = str(FLAG_LABELS["FAMILY_SEPARATION"])
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

    # A new assessment opens at its first section: a few questions, one "Save and continue".
    page.locator("a[href$='/assessment']").first.click()
    page.wait_for_url(case_url + "/assessment/travel_family")
    assert "1" in page.locator(".q-progress").inner_text()
    assert page.locator("input[name=accompaniment]").count() == 5  # shown: he is a child
    _fits_a_phone(page)
    page.check("input[name=accompaniment][value=alone]")
    page.locator("#dependents").fill("99")
    with page.expect_navigation():
        page.get_by_role("button", name=save_pt).click()

    # A mistake: the section comes back with the problem at the top, focused; nothing saved.
    assert page.url == case_url + "/assessment/travel_family"
    # autofocus, no script: Chromium applies it at the next rendering update.
    page.wait_for_function("document.activeElement.closest('.error-summary') !== null",
                           timeout=5000)
    assert page.locator(".error-summary a[href='#dependents']").count() == 1
    assert page.locator("input[name=accompaniment][value=alone]").is_checked()  # kept
    _fits_a_phone(page)
    page.locator("#dependents").fill("")
    page.get_by_role("button", name=save_pt).click()

    # No document was recorded at registration, so the question is asked (not taken as "none").
    page.wait_for_url(case_url + "/assessment/documents")
    assert "2" in page.locator(".q-progress").inner_text()
    page.check("input[name=document_status][value=none]")
    _fits_a_phone(page)
    page.get_by_role("button", name=save_pt).click()
    # The next section loaded, stylesheet included (its URL alone may come first).
    page.wait_for_url(case_url + "/assessment/protection")

    # Each section saves on its own; the rest are left unanswered, page by page.
    seen = []
    while "/assessment/" in page.url:
        here = page.url
        seen.append(here.rsplit("/", 1)[1])
        assert page.locator("input[name=pregnant_or_lactating]").count() == 0
        _fits_a_phone(page)
        page.get_by_role("button", name=save_pt).click()
        page.wait_for_url(lambda url, here=here: url != here)
    assert seen == ["protection", "violence", "health", "disability", "identity_language"]

    # The summary: every section's answers, a "Change" link each, the flags they add up to.
    page.wait_for_url(case_url + "/assessment")
    summary = page.locator("main").inner_text()
    assert flag_pt in summary and no_documents_pt in summary
    assert page.locator("a.q-change").count() == 7
    _fits_a_phone(page)
    page.locator("a.q-change[href*='/travel_family']").click()
    page.wait_for_url(case_url + "/assessment/travel_family?return=summary")
    assert page.locator("input[name=accompaniment][value=alone]").is_checked()
    page.check("input[name=family_separated_in_transit][value=yes]")
    page.get_by_role("button", name=save_pt).click()
    page.wait_for_url(case_url + "/assessment")
    assert separation_pt in page.locator("main").inner_text()

    page.goto(case_url)
    content = page.locator("main").inner_text()
    assert flag_pt in content and reason_pt in content
    assert urgent_pt in page.locator("h1").inner_text()  # the urgency badge, in words
