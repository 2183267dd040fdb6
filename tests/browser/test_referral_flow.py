"""In a real browser: the demo field worker refers an unaccompanied child to Protección
Infantil Norte; the demo provider sees it in the inbox as urgent, acknowledges and
accepts it; the sender sees the new status."""

from __future__ import annotations

import re
from datetime import date

import pytest

from fieldapp.demo import seed as demo
from fieldapp.extensions import db

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
    sender.get_by_role("link", name="Refer to a service").click()
    sender.wait_for_url(case_url + "/refer")
    first = sender.locator(".suggestion").first
    assert "Protección de niñas, niños y adolescentes" in first.inner_text()
    assert "Protección Infantil Norte" in first.inner_text()
    first.locator("input[type=radio]").check()
    sender.check("input[name=flags][value=UNACCOMPANIED_CHILD]")
    sender.check("input[name=given_by][value=best_interest]")
    sender.get_by_role("button", name="Send referral").click()
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
