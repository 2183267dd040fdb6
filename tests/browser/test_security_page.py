"""The security page and setting up an authenticator app, in Chromium on a 360 x 740
phone in Spanish: axe-core finds no violation at all, tap targets keep 44 px, nothing
scrolls sideways, and the QR code drawn on the server is on screen, whole."""

from __future__ import annotations

import pyotp
import pytest

from fieldapp.accounts import two_factor
from fieldapp.accounts.roles import Role
from fieldapp.extensions import db
from tests.browser.test_phone_pages import AXE_SOURCE, AXE_TAGS, OVERFLOW_JS, TARGETS_JS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 360, 740


def _axe_all(page) -> list[str]:
    """Every violation, whatever its impact (test_phone_pages keeps serious ones)."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in result["violations"]]


def _checks(page) -> dict[str, list]:
    found = {"axe": _axe_all(page), "small targets": page.evaluate(TARGETS_JS),
             "overflow": page.evaluate(OVERFLOW_JS)}
    return {k: v for k, v in found.items() if v}


def _login(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url(base + "/")


def test_setting_up_an_authenticator_app_on_a_phone(live_server, page_factory, make):
    user = make.user(Role.FIELD_WORKER)
    email = user.email
    db.session.commit()  # the live server's requests write: hold no transaction here
    page = page_factory("es-CO", width=WIDTH, height=HEIGHT)
    _login(page, live_server, email)
    assert page.locator("html").get_attribute("lang") == "es"

    page.goto(live_server + "/account/security")
    assert _checks(page) == {}

    # A wrong password: the error summary, focused; the page still passes.
    page.fill("#totp-password", "not my password")
    page.click("form[action$='/account/security/totp'] button[type=submit]")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.closest('.error-summary') !== null")
    assert _checks(page) == {}

    page.fill("#totp-password", PASSWORD)
    page.click("form[action$='/account/security/totp'] button[type=submit]")
    page.wait_for_url(live_server + "/account/security/totp")
    assert _checks(page) == {}
    qr = page.locator("svg.qr")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and box["height"] >= 150
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    secret = page.locator(".totp-secret code").inner_text().replace(" ", "")
    assert secret == two_factor.pending_secret(user)
    db.session.commit()

    # A wrong code, then the right one: the recovery codes, on a page that passes too.
    page.fill("#totp-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.click("form[action$='/totp/confirm'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible() and page.locator("svg.qr").is_visible()
    assert _checks(page) == {}
    page.fill("#totp-code", pyotp.TOTP(secret).now())
    page.click("form[action$='/totp/confirm'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".recovery-codes li").count() == 10
    assert _checks(page) == {}

    page.goto(live_server + "/account/security")
    assert page.locator(".status-on").is_visible()
    assert _checks(page) == {}
