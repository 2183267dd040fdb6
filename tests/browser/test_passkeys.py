"""In Chromium with its virtual authenticator (DevTools' WebAuthn domain): a passkey is
added on the security page, then logs in at the second step and confirms it is you;
without the credential on the authenticator, or with a passkey the server no longer
knows, the login fails with a visible message and nobody is logged in.

WebAuthn refuses an IP address as relying party id, so these pages are opened at
http://localhost:<port> (the same live server)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from playwright.sync_api import expect

from fieldapp.accounts import passkeys
from fieldapp.accounts.models import Passkey, User
from fieldapp.accounts.roles import Role
from fieldapp.extensions import db
from tests.browser.test_phone_pages import AXE_SOURCE, AXE_TAGS, OVERFLOW_JS, TARGETS_JS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _new_user(make) -> tuple[uuid.UUID, str]:
    """A field worker without a second factor, and the e-mail to log in with. The test's
    own transaction is closed again: on SQLite it would hold the write lock that the live
    server's requests wait for."""
    user = make.user(Role.FIELD_WORKER)
    user_id, email = user.id, user.email
    db.session.commit()
    return user_id, email


def _read(statement):
    """One value from the database, seen fresh, without keeping a transaction open."""
    value = db.session.scalar(statement)
    db.session.commit()
    return value


@pytest.fixture
def base(live_server) -> str:
    return live_server.replace("://127.0.0.1:", "://localhost:")


def _with_authenticator(page) -> tuple[object, str]:
    """A platform authenticator that says yes (user present and verified) at once."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def _password_step(page, base: str, email: str, *, then: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + then)


def _section_checks(page) -> dict[str, list]:
    """axe-core on the passkeys section; tap targets and sideways scrolling on the page."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async (tags) => await axe.run('[data-passkey-box]', "
        "{runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    found = {"axe": [f"{v['id']} ({v['impact']})" for v in result["violations"]
                     if v["impact"] in ("serious", "critical")],
             "small targets": page.evaluate(TARGETS_JS),
             "overflow": page.evaluate(OVERFLOW_JS)}
    return {k: v for k, v in found.items() if v}


def _add_passkey(page, base: str, label: str) -> None:
    page.goto(base + "/account/security")
    section = page.locator("section[data-passkey-box]")
    expect(section.get_by_role("heading", name="Passkeys", exact=True)).to_be_visible()
    page.get_by_label("Name for the new passkey").fill(label)
    section.get_by_role("button", name="Add a passkey").click()
    expect(section.locator("[data-passkey-list]").get_by_role("heading", name=label)
           ).to_be_visible()
    assert page.url == base + "/account/security"


def test_add_a_passkey_log_in_with_it_and_confirm(base, page_factory, make):
    user_id, email = _new_user(make)
    page = page_factory("en-US", width=360, height=740)
    cdp, authenticator = _with_authenticator(page)
    _password_step(page, base, email, then="/")

    page.goto(base + "/account/security")
    assert page.get_by_text("No passkey is set up for this account.").is_visible()
    assert _section_checks(page) == {}
    _add_passkey(page, base, "Phone in the browser")
    expect(page.get_by_role("status").filter(has_text="Phone in the browser")).to_be_visible()
    assert _section_checks(page) == {}
    [stored] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"]
    assert _read(sa.select(sa.func.count()).select_from(Passkey).where(
        Passkey.user_id == user_id, Passkey.label == "Phone in the browser",
        Passkey.last_used_at.is_(None))) == 1
    assert stored["isResidentCredential"] is False  # a second factor, not a username

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base + "/login")
    _password_step(page, base, email, then="/login/second-factor")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(base + "/")
    assert page.get_by_role("button", name="Log out").is_visible()
    assert _read(sa.select(Passkey.last_used_at).where(Passkey.user_id == user_id))

    # Confirming it is you, then on to where the page was asked to go.
    page.goto(base + "/account/verify?next=/account/profile")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(base + "/account/profile")


def test_a_passkey_that_fails_keeps_the_user_out(base, page_factory, make):
    user_id, email = _new_user(make)
    page = page_factory("en-US", width=360, height=740)
    cdp, authenticator = _with_authenticator(page)
    _password_step(page, base, email, then="/")
    _add_passkey(page, base, "Key that goes wrong")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base + "/login")
    _password_step(page, base, email, then="/login/second-factor")
    button = page.get_by_role("button", name="Use a passkey")
    alert = page.locator(".passkey-login [role=alert]")

    # The server refuses what the authenticator signed (its counter is behind the one
    # the server knows, as with a cloned key): the server's own message, and the try
    # counts toward the lockout.
    db.session.execute(sa.update(Passkey).where(Passkey.user_id == user_id)
                       .values(sign_count=2**40))
    db.session.commit()
    button.click()
    with force_locale("en"):  # the page's language
        expect(alert).to_contain_text(str(passkeys.NOT_ACCEPTED))
    expect(button).to_be_enabled()
    assert _read(sa.select(User.failed_logins).where(User.id == user_id)) == 1

    # The authenticator lost its credential: the browser has nothing to sign with, and
    # the page says so in its own words.
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    button.click()
    expect(alert).to_contain_text("The passkey did not work")
    expect(button).to_be_enabled()
    assert page.url == base + "/login/second-factor"
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
