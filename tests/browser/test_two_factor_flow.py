"""In Chromium on a 360 px phone: a login in two steps with an authenticator app code,
and confirming it is you before a statistics export. The second-step and confirmation
pages pass axe-core, keep their tap targets and do not scroll sideways."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from fieldapp.accounts import two_factor
from fieldapp.accounts.models import UserSession
from fieldapp.accounts.roles import Role
from fieldapp.db import utcnow
from fieldapp.extensions import db
from tests.browser.test_phone_pages import OVERFLOW_JS, TARGETS_JS, _axe
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def enrolled(make):
    user = make.user(Role.SUPERVISOR)
    secret, _ = two_factor.begin_totp(user, PASSWORD)
    codes = two_factor.confirm_totp(user, pyotp.TOTP(secret).at(time.time() - 30))
    db.session.commit()
    account = (user.id, user.email)
    db.session.remove()  # hold no transaction open while the live server writes (SQLite)
    return account, secret, codes


def _checks(page) -> dict[str, list]:
    found = {"axe": _axe(page), "small targets": page.evaluate(TARGETS_JS),
             "overflow": page.evaluate(OVERFLOW_JS)}
    return {k: v for k, v in found.items() if v}


def _password_step(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/login/second-factor")


def test_login_in_two_steps_with_a_code(live_server, page_factory, enrolled):
    (_id, email), secret, _codes = enrolled
    page = page_factory("en-US", width=360, height=740)
    _password_step(page, live_server, email)
    assert _checks(page) == {}
    # A wrong code: the error summary, focused, and still on the second step.
    page.get_by_label("Code from your authenticator app, or a recovery code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    assert page.locator(".error-summary").is_visible()
    assert page.evaluate("document.activeElement.closest('.error-summary') !== null")
    assert _checks(page) == {}
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("button", name="Log out").is_visible()


def test_a_stale_session_confirms_before_an_export(live_server, page_factory, enrolled):
    (user_id, email), secret, codes = enrolled
    page = page_factory("en-US", width=360, height=740)
    _password_step(page, live_server, email)
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == user_id)
                       .values(second_factor_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    db.session.remove()
    page.goto(live_server + "/stats?rows=flag")
    # The export link sends a stale session to confirm first, then downloads.
    page.get_by_role("link", name="Download CSV").click()
    page.wait_for_url(re.compile(re.escape(live_server) + r"/account/verify\?next=.*export"))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm it is you"
    assert _checks(page) == {}
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        pyotp.TOTP(secret).now())
    with page.expect_download() as download:
        page.get_by_role("button", name="Continue").click()
    assert download.value.suggested_filename.endswith(".csv")
