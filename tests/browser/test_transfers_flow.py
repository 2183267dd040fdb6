"""In Chromium on a 360 px phone, in Spanish: the case follows the person from Cúcuta to
Tulcán. Frontera Solidaria's field worker gives a continuity code (identity and risk
summary, Ecuador) and prints the slip on one page; Casa de Acogida Rumichaca's field
worker enters the code; Frontera's case manager approves; Rumichaca's worker opens the
new case, which holds the consented values and none of the others. Every new page
passes axe-core, keeps its tap targets and does not scroll sideways."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from fieldapp.accounts.models import User
from fieldapp.cases import assessment
from fieldapp.demo import seed as demo
from fieldapp.extensions import db
from tests.browser.test_phone_pages import OVERFLOW_JS, TARGETS_JS, _axe
from tests.transfers.conftest import ANSWERS, SECRET

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase for transfers"
CODE_RE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def cucuta_case(app, register):
    """The demo network, and a girl of 16 travelling alone registered in Cúcuta by
    Frontera's field worker, with a value in every group of the record."""
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()
    worker = db.session.scalar(sa.select(User).where(
        User.email == "fieldworker@frontera.example"))
    born = date(date.today().year - 16, 3, 14).isoformat()
    case = register(worker, given_name=SECRET["given_name"], family_name=SECRET["family_name"],
                    date_of_birth=born, phone=SECRET["phone"], address=SECRET["address"],
                    notes=SECRET["notes"],
                    document={"type": "passport", "number": SECRET["document_number"]},
                    household=[{"given_name": SECRET["member"], "sex": "male",
                                "relationship": "sibling"}],
                    consent={"data_processing": True, "given_by": "guardian",
                             "basis": "other", "note": SECRET["consent_note"]})
    assessment.save_assessment(worker, case, ANSWERS)
    assessment.add_manual_flag(worker, case, code="DEFENDER_AT_RISK",
                               reason=SECRET["flag_reason"])
    db.session.commit()
    ids = {"case": str(case.id), "reference": case.reference}
    db.session.remove()  # hold no transaction open while the live server writes (SQLite)
    return ids


def _login(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[method=post] button[type=submit]")
    page.wait_for_url(base + "/")


def _checks(page) -> dict[str, list]:
    found = {"axe": _axe(page), "small targets": page.evaluate(TARGETS_JS),
             "overflow": page.evaluate(OVERFLOW_JS)}
    return {k: v for k, v in found.items() if v}


def test_the_case_follows_the_person_from_cucuta_to_tulcan(live_server, page_factory,
                                                           cucuta_case):
    case_url = f"{live_server}/cases/{cucuta_case['case']}"
    problems: dict[str, dict] = {}

    # Cúcuta: Frontera's field worker gives the code.
    frontera = page_factory("es-CO", width=360, height=740)
    _login(frontera, live_server, "fieldworker@frontera.example")
    frontera.goto(case_url)
    assert frontera.evaluate("document.documentElement.lang") == "es"
    problems["case page"] = _checks(frontera)
    frontera.locator("#continuity a[href$='/continuity-code']").click()
    frontera.wait_for_url(case_url + "/continuity-code")
    problems["issue form"] = _checks(frontera)
    frontera.locator("main form[method=post] button[type=submit]").first.click()
    frontera.wait_for_load_state()
    # Every problem at once, in the focused summary, each a link to its field.
    assert frontera.evaluate("document.activeElement.closest('.error-summary') !== null")
    links = frontera.locator(".error-summary a").evaluate_all("els => els.map(e => e.hash)")
    assert set(links) == {"#scope-0", "#countries-0", "#given_by-0"}  # the date has a default
    problems["issue form with errors"] = _checks(frontera)
    frontera.check("input[name=scope][value=identity]")
    frontera.check("input[name=scope][value=risk_summary]")
    frontera.check("input[name=countries][value=EC]")
    frontera.check("input[name=given_by][value=guardian]")
    frontera.locator("main form[method=post] button[type=submit]").first.click()
    frontera.wait_for_load_state()
    slip = frontera.locator("article.code-slip")
    slip_text = slip.inner_text()
    code = CODE_RE.search(slip_text).group(0)
    assert slip.get_attribute("lang") == "es"
    assert "Frontera Solidaria" in slip_text and "+57 000 555 0100" in slip_text
    assert "Ecuador" in slip_text
    for value in [*SECRET.values(), cucuta_case["reference"]]:
        assert value not in slip_text
    problems["slip"] = _checks(frontera)
    # On paper: only the slip, on one page of A4 and of Letter.
    frontera.emulate_media(media="print")
    assert not frontera.locator(".once-notice").is_visible()
    assert not frontera.locator("header.top").is_visible()
    assert slip.is_visible()
    for paper in ("A4", "Letter"):
        pdf = frontera.pdf(format=paper)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, paper
    frontera.emulate_media(media="screen")
    frontera.goto(case_url)
    codes = frontera.locator("#continuity .transfer-item").all_inner_texts()
    assert len(codes) == 1 and "Ecuador" in codes[0] and code not in codes[0]

    # Tulcán: Rumichaca's field worker enters the code as the person reads it.
    rumichaca = page_factory("es-EC", width=360, height=740)
    _login(rumichaca, live_server, "fieldworker@rumichaca.example")
    rumichaca.locator("nav a[href='/transfers']").click()
    rumichaca.wait_for_url(live_server + "/transfers")
    problems["transfers (requester)"] = _checks(rumichaca)
    rumichaca.locator("#code").fill(code.lower().replace("-", " "))
    rumichaca.locator("form.enter-code button[type=submit]").click()
    rumichaca.wait_for_url(re.compile(rf".*/transfers/{UUID}$"))
    transfer_url = rumichaca.url
    page_text = rumichaca.locator("main").inner_text()
    assert "Frontera Solidaria" in rumichaca.locator(".flash-success").inner_text()
    for value in [*SECRET.values(), cucuta_case["reference"]]:
        assert value not in page_text
    problems["transfer (requester, waiting)"] = _checks(rumichaca)

    # Cúcuta: Frontera's case manager sees the request on the home page and approves.
    manager = page_factory("es-CO", width=360, height=740)
    _login(manager, live_server, "casemanager@frontera.example")
    manager.locator(".transfers-waiting a").click()
    manager.wait_for_url(live_server + "/transfers")
    row = manager.locator(".transfer-item").first
    assert "Casa de Acogida Rumichaca" in row.inner_text()
    assert cucuta_case["reference"] in row.inner_text()
    problems["transfers (issuer)"] = _checks(manager)
    row.locator("a.row-link").click()
    manager.wait_for_url(transfer_url)
    problems["transfer (issuer, to decide)"] = _checks(manager)
    manager.locator("form[action$='/approve'] button[type=submit]").click()
    manager.wait_for_url(transfer_url)
    assert manager.locator(".flash-success").is_visible()
    assert manager.locator("form[action$='/approve']").count() == 0
    assert manager.locator(".transfers-waiting").count() == 0

    problems["transfer (issuer, approved)"] = _checks(manager)
    manager.goto(case_url)
    history = manager.locator("#continuity").inner_text()
    assert "Casa de Acogida Rumichaca" in history

    # Tulcán: the new case, in Spanish, with what was consented and nothing else.
    rumichaca.goto(transfer_url)
    problems["transfer (requester, approved)"] = _checks(rumichaca)
    rumichaca.locator(".next-step a.button").click()
    rumichaca.wait_for_url(re.compile(rf".*/cases/{UUID}$"))
    assert rumichaca.url != case_url
    assert rumichaca.evaluate("document.documentElement.lang") == "es"
    new_case = rumichaca.locator("main").inner_text()
    assert SECRET["given_name"] in rumichaca.locator("h1").inner_text()
    assert SECRET["family_name"] in rumichaca.locator("h1").inner_text()
    assert "Niña, niño o adolescente no acompañado" in new_case  # the risk summary
    assert "Frontera Solidaria" in new_case  # where it came from
    for key in ("phone", "address", "document_number", "notes", "flag_reason", "member",
                "consent_note"):
        assert SECRET[key] not in new_case, key
    assert cucuta_case["reference"] not in new_case
    problems["new case"] = _checks(rumichaca)

    problems = {k: v for k, v in problems.items() if v}
    assert not problems, problems
