"""In a real browser: the demo field worker refers an unaccompanied child to Protección
Infantil Norte; the demo provider sees it in the inbox as urgent, acknowledges and
accepts it; the sender sees the new status. The legal clinic logs an appointment and
a delivered service that the field worker then reads on the case page, on a phone, in
Spanish. And the clinic works a referral to its end (acknowledged, accepted, completed
with an outcome): the sender's organization gets the e-mail notice, and the field worker
the news on the home page and the outcome on the case page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldapp import clock
from fieldapp.accounts.models import User
from fieldapp.cases import assessment
from fieldapp.demo import seed as demo
from fieldapp.extensions import db
from fieldapp.notices import services as notices
from fieldapp.referrals import services
from fieldapp.referrals.models import Service
from tests.notices.conftest import BASE_URL, mail_on, smtp  # noqa: F401

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"


@pytest.fixture
def demo_network(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


def _login(page, base, email):
    page.goto(base + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("button.primary").click()
    page.wait_for_url(base + "/")


def _refer_to_the_clinic(register, given_name, family_name):
    """A case of the demo field worker's, with a fear of return, referred to the legal
    clinic's asylum service (flushed, not committed): (case, referral)."""
    worker = db.session.scalar(sa.select(User).where(
        User.email == "fieldworker@frontera.example"))
    case = register(worker, given_name=given_name, family_name=family_name)
    assessment.save_assessment(worker, case, {"fear_of_return": True})
    asylum = db.session.scalar(sa.select(Service).where(
        Service.name == "Asesoría en refugio y asilo"))
    referral = services.create_referral(worker, case, asylum,
                                        flags=["INTERNATIONAL_PROTECTION_NEED"],
                                        given_by="self", scope=["risk_summary"], note=None)
    db.session.flush()
    return case, referral


def test_refer_an_unaccompanied_child_end_to_end(live_server, page_factory, demo_network):
    sender = page_factory("en-US", width=360)
    _login(sender, live_server, "fieldworker@frontera.example")
    sender.goto(live_server + "/cases/new")
    sender.locator("#given_name").fill("Keiber Alexander")
    sender.locator("#family_name").fill("Salazar Ochoa")
    sender.locator("#date_of_birth").fill(date(date.today().year - 13, 3, 3).isoformat())
    sender.locator("#sex").select_option("male")
    sender.locator("#stage").select_option("border")
    sender.check("input[name=consent_basis][value=vital_interest]")
    sender.check("input[name=consent_given_by][value=best_interest]")
    sender.locator("#data_processing").check()
    sender.locator("button[name=submit]").click()
    sender.wait_for_url(re.compile(r".*/cases/[0-9a-f-]{36}$"))
    case_url = sender.url
    sender.goto(case_url + "/assessment")  # a new assessment: its first section
    sender.check("input[name=accompaniment][value=alone]")
    sender.locator("button.primary").click()
    sender.wait_for_url(case_url + "/assessment/documents")  # saved; on to the next one
    sender.goto(case_url)
    sender.get_by_role("link", name="Refer to a service").first.click()  # the next step
    sender.wait_for_url(case_url + "/refer")
    first = sender.locator(".suggestion").first
    assert "Protección de niñas, niños y adolescentes" in first.inner_text()
    assert "Protección Infantil Norte" in first.inner_text()
    first.locator("input[name=service_id]").check()
    # The flags this service answers are ticked already; each other one is a choice.
    assert first.locator("input[name=flags][value$=':UNACCOMPANIED_CHILD']").is_checked()
    sender.check("input[name=given_by][value=best_interest]")
    sender.get_by_role("button", name="Continue").click()
    # The consent screen: what the organization will know, to read to the person.
    assert "Unaccompanied child" in sender.locator(".consent-words").inner_text()
    sender.get_by_role("button", name="The person agrees: send 1 referral").click()
    sender.wait_for_url(re.compile(r".*/referrals/[0-9a-f-]{36}$"))
    referral_url = sender.url
    assert "Sent" in sender.content()

    provider = page_factory("en-US", width=360)
    _login(provider, live_server, "provider@proteccion.example")
    provider.goto(live_server + "/referrals")
    item = provider.locator(".case-item").first
    assert "Urgent" in item.inner_text() and "‼" in item.inner_text()
    item.locator("a").click()
    provider.wait_for_url(referral_url)
    page_text = provider.content()
    assert "Keiber" not in page_text and "Salazar" not in page_text  # only risk_summary
    provider.get_by_role("button", name="Acknowledge").click()
    provider.wait_for_url(referral_url)
    provider.get_by_role("button", name="Accept").click()
    provider.wait_for_url(referral_url)
    assert "Accepted" in provider.content()

    sender.goto(live_server + "/referrals?box=outbox")
    assert "Accepted" in sender.locator(".case-item").first.inner_text()


def test_the_clinic_logs_and_the_field_worker_reads_it_on_the_case_page(
        live_server, page_factory, demo_network, register):
    case, referral = _refer_to_the_clinic(register, "Yorman", "Brito")
    referral_url = f"{live_server}/referrals/{referral.id}"
    slip_url = f"{referral_url}/slip"
    case_url = f"{live_server}/cases/{case.id}"
    db.session.commit()  # and nothing read after it: the live server needs the database
    appointment_day = date.today() + timedelta(days=5)

    clinic = page_factory("es-CO", width=360)
    _login(clinic, live_server, "provider@clinica.example")
    clinic.goto(referral_url)
    clinic.check("input[name=kind][value=appointment]")
    clinic.locator("#on_date").fill(appointment_day.isoformat())
    clinic.locator("#text").fill("Entrevista con la abogada, oficina 3")
    clinic.locator(".update-form button.primary").click()
    clinic.wait_for_url(referral_url + "#log")
    clinic.check("input[name=kind][value=service_delivered]")
    clinic.locator("#on_date").fill(date.today().isoformat())
    clinic.locator("#text").fill("Solicitud de refugio presentada")
    clinic.locator(".update-form button.primary").click()
    clinic.wait_for_url(referral_url + "#log")
    log = clinic.locator("#log .updates").inner_text()
    assert log.index("Entrevista con la abogada") < log.index("Solicitud de refugio presentada")

    field = page_factory("es-CO", width=360)
    _login(field, live_server, "fieldworker@frontera.example")
    assert field.locator("a.news").count() == 1  # the home page: news from the clinic
    field.goto(case_url)
    assert field.evaluate("document.documentElement.lang") == "es"
    latest = field.locator(".referral-item .updates-latest").inner_text()
    assert "Entrevista con la abogada, oficina 3" in latest
    assert "Solicitud de refugio presentada" in latest
    assert field.evaluate("document.documentElement.scrollWidth") <= 360
    # The slip for the person, printed: one page on A4 and on Letter.
    field.goto(slip_url)
    for paper in ("A4", "Letter"):
        pdf = field.pdf(format=paper)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, paper


def test_the_clinic_completes_and_the_field_worker_sees_the_outcome(
        live_server, page_factory, demo_network, register, mail_on):  # noqa: F811
    case, referral = _refer_to_the_clinic(register, "Dayana", "Colmenares")
    referral_id, reference = str(referral.id), referral.reference
    referral_url = f"{live_server}/referrals/{referral_id}"
    case_url = f"{live_server}/cases/{case.id}"
    db.session.commit()
    db.session.remove()  # hold no transaction open while the live server writes (SQLite)
    outcome = "Solicitud de refugio admitida a trámite"

    clinic = page_factory("es-CO", width=360)
    _login(clinic, live_server, "provider@clinica.example")
    clinic.goto(referral_url)
    for action in ("Acusar recibo", "Aceptar"):
        with clinic.expect_navigation():
            clinic.get_by_role("button", name=action, exact=True).click()
    clinic.locator("#outcome").fill(outcome)
    with clinic.expect_navigation():
        clinic.get_by_role("button", name="Completar", exact=True).click()
    assert "Completada el" in clinic.content() and outcome in clinic.content()
    assert clinic.locator("form[action$='/transition']").count() == 0  # nothing left to do

    # The completed notice reaches the sender's organization, with a link and nothing
    # of the case (nor the outcome the clinic wrote).
    assert notices.send_pending(clock.now()).sent == 2  # "new" to the clinic, "completed"
    db.session.remove()
    [done] = [m for m in mail_on.inbox.arrived if m.rcpt_tos == ["avisos@frontera.example"]]
    assert reference in str(done.message["Subject"])
    assert f"{BASE_URL}/referrals/{referral_id}" in done.text
    for word in ("Dayana", "Colmenares", outcome, "refugio"):
        assert word not in done.text, word

    field = page_factory("es-CO", width=360)
    _login(field, live_server, "fieldworker@frontera.example")
    news = field.locator("a.news")
    assert news.count() == 1 and "1" in news.inner_text()  # the home page: news
    field.goto(case_url)
    item = field.locator(".referral-item").first.inner_text()
    assert "Completada el" in item and reference in item
    assert f"Resultado: {outcome}" in item
    field.goto(referral_url)  # read: no news any more
    assert outcome in field.content()
    field.goto(live_server + "/")
    assert field.locator("a.news").count() == 0
