"""The security page (/account/security): setting up an authenticator app through the
pages (password, QR code, first code, recovery codes shown once), new recovery codes,
removing the app, the account's recent security events, and the role policy that
sends a user without a second factor here first."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from fieldapp.accounts import security_events, two_factor
from fieldapp.accounts.models import RecoveryCode, TotpCredential, User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.extensions import db
from tests.conftest import PASSWORD, csrf_from, login

SECRET_RE = re.compile(r'class="totp-secret"><code>([A-Z2-7 ]+)</code>')
CODE_RE = re.compile(r"<li><code>([A-Z2-7]{5}(?:-[A-Z2-7]{5}){3})</code></li>")


@pytest.fixture(autouse=True)
def english(client) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def _page(client, path: str = "/account/security") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _post(client, path: str, **data: str):
    token = csrf_from(_page(client))
    return client.post(path, data={"csrf_token": token, **data})


def _secret(html: str) -> str:
    match = SECRET_RE.search(html)
    assert match, "no key on the page"
    return match.group(1).replace(" ", "")


def _next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted once, as drift): never one already
    used, without waiting for the clock."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _enrol(client) -> tuple[str, list[str]]:
    started = _post(client, "/account/security/totp", password=PASSWORD)
    assert started.status_code == 200
    secret = _secret(started.get_data(as_text=True))
    confirmed = client.post("/account/security/totp/confirm", data={
        "csrf_token": csrf_from(started.get_data(as_text=True)),
        "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200
    codes = CODE_RE.findall(confirmed.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def _token(client, email: str, **extra: str):
    return client.post("/api/v1/auth/tokens",
                       json={"email": email, "password": PASSWORD, **extra})


def _totp_rows(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(TotpCredential)
                             .where(TotpCredential.user_id == user.id))


def test_enrol_through_the_pages(client, auth):
    user = auth(Role.FIELD_WORKER)
    page = _page(client)
    assert "Authenticator app" in page and 'class="status-off">Off<' in page
    assert "Your role requires a second factor" not in page
    assert 'href="/account/security"' in page  # the menu link
    assert 'autocomplete="current-password"' in page

    # A wrong password: the same page, the error in the summary, nothing pending.
    wrong = _post(client, "/account/security/totp", password="not my password")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert "data-error-summary" in html and 'href="#totp-password"' in html
    assert "Your password is missing or wrong." in html
    assert _totp_rows(user) == 0 and two_factor.pending_secret(user) is None
    empty = _post(client, "/account/security/totp", password="")
    assert empty.status_code == 422 and _totp_rows(user) == 0

    # The right password: a QR code drawn on the server, the key in groups of four.
    started = _post(client, "/account/security/totp", password=PASSWORD)
    html = started.get_data(as_text=True)
    assert started.status_code == 200
    assert '<svg role="img"' in html and 'class="qr"' in html and "<title>" in html
    assert re.search(r'class="totp-secret"><code>([A-Z2-7]{4} ){7}[A-Z2-7]{4}</code>', html)
    secret = _secret(html)
    assert secret == two_factor.pending_secret(user)
    assert 'href="otpauth://totp/' in html
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html

    # A wrong first code: the same page again (422) with the error and the same QR code.
    wrong_code = client.post("/account/security/totp/confirm", data={
        "csrf_token": csrf_from(html), "code": "000000" if pyotp.TOTP(secret).now() !=
        "000000" else "111111"})
    again = wrong_code.get_data(as_text=True)
    assert wrong_code.status_code == 422
    assert "data-error-summary" in again and 'href="#totp-code"' in again
    assert "That code was not accepted." in again
    assert '<svg role="img"' in again and _secret(again) == secret
    assert not two_factor.has_totp(user)

    # The right code: ten recovery codes, shown once and never cached.
    confirmed = client.post("/account/security/totp/confirm", data={
        "csrf_token": csrf_from(again), "code": pyotp.TOTP(secret).now()})
    codes_page = confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200
    assert confirmed.headers["Cache-Control"] == "no-store"
    codes = CODE_RE.findall(codes_page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/"' in codes_page  # Continue
    assert two_factor.has_totp(user) and two_factor.recovery_codes_left(user) == 10

    page = _page(client)
    assert 'class="status-on">On<' in page and "10 recovery codes left." in page
    assert "Set up an authenticator app" not in page  # no second enrolment offered
    # The account now needs a code for an API token.
    refused = _token(client, user.email)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "second_factor_required"
    assert _token(client, user.email, otp=_next_code(secret)).status_code == 201


def test_confirmation_marks_the_session_fresh(client, auth):
    from fieldapp.accounts.models import UserSession

    user = auth(Role.FIELD_WORKER)
    _enrol(client)
    row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row is not None and two_factor.is_fresh(row.second_factor_at)


def test_confirm_without_a_pending_app_goes_back_to_the_page(client, auth):
    auth(Role.FIELD_WORKER)
    response = _post(client, "/account/security/totp/confirm", code="123456")
    assert response.status_code == 302 and response.headers["Location"] == "/account/security"
    assert "There is no authenticator app waiting for confirmation" in _page(client)


def test_new_recovery_codes_replace_the_old_ones(client, auth):
    user = auth(Role.FIELD_WORKER)
    _secret_, old = _enrol(client)

    wrong = _post(client, "/account/security/recovery-codes", password="nope")
    assert wrong.status_code == 422
    assert 'href="#codes-password"' in wrong.get_data(as_text=True)
    hashes = set(db.session.scalars(sa.select(RecoveryCode.code_hash)
                                    .where(RecoveryCode.user_id == user.id)))

    renewed = _post(client, "/account/security/recovery-codes", password=PASSWORD)
    html = renewed.get_data(as_text=True)
    assert renewed.status_code == 200 and renewed.headers["Cache-Control"] == "no-store"
    assert "the old ones no longer work" in html
    new = CODE_RE.findall(html)
    assert len(new) == 10 and not set(new) & set(old)
    assert not hashes & set(db.session.scalars(sa.select(RecoveryCode.code_hash)
                                               .where(RecoveryCode.user_id == user.id)))

    stale = _token(client, user.email, recovery_code=old[0])
    assert stale.status_code == 401
    assert stale.get_json()["error"]["code"] == "invalid_credentials"
    assert _token(client, user.email, recovery_code=new[0]).status_code == 201
    assert "9 recovery codes left." in _page(client)


def test_remove_the_authenticator_app(client, auth):
    user = auth(Role.FIELD_WORKER)
    secret, codes = _enrol(client)
    page = _page(client)
    assert 'action="/account/security/totp/remove"' in page

    # Wrong input: one round of errors, nothing changed.
    empty = _post(client, "/account/security/totp/remove", password="", otp="")
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert 'href="#remove-password"' in html and 'href="#remove-otp"' in html
    wrong = _post(client, "/account/security/totp/remove", password=PASSWORD, otp="000000")
    assert wrong.status_code == 422 and 'href="#remove-otp"' in wrong.get_data(as_text=True)
    bad_pw = _post(client, "/account/security/totp/remove", password="nope",
                   otp=_next_code(secret))
    assert bad_pw.status_code == 422
    assert two_factor.has_totp(user) and two_factor.recovery_codes_left(user) == 10

    removed = _post(client, "/account/security/totp/remove", password=PASSWORD,
                    otp=_next_code(secret))
    assert removed.status_code == 302 and removed.headers["Location"] == "/account/security"
    page = _page(client)
    assert "The authenticator app was removed" in page and 'class="status-off">Off<' in page
    assert not two_factor.has_totp(user) and two_factor.recovery_codes_left(user) == 0
    assert _token(client, user.email).status_code == 201  # a password is enough again


def test_recent_security_events(client, auth, make):
    user = auth(Role.FIELD_WORKER)
    _secret_, _codes = _enrol(client)
    _post(client, "/account/security/recovery-codes", password=PASSWORD)
    page = _page(client)
    events = page.split('class="security-events"')[1].split("</ul>")[0]
    assert "Authenticator app set up" in events
    assert "New recovery codes made" in events and "Logged in" in events
    assert events.index("New recovery codes made") < events.index("Authenticator app set up")
    assert "<time datetime=" in events

    # An administrator's reset ends the session and shows as theirs.
    admin = make.user(Role.ORG_ADMIN, org=user.organization)
    two_factor.reset(admin, user, actor_password=PASSWORD)
    db.session.commit()
    assert login(client, user.email).status_code == 302
    events = _page(client).split('class="security-events"')[1].split("</ul>")[0]
    assert "Second factors removed by an administrator" in events


def test_recent_events_are_this_accounts_latest_ten(app, make):
    user, other = make.user(Role.FIELD_WORKER), make.user(Role.FIELD_WORKER)
    for _ in range(12):
        audit.record("login.ok", actor=user, object_type="user", object_id=user.id)
    audit.record("user.profile_changed", actor=user, object_type="user", object_id=user.id)
    audit.record("login.failed", object_type="user", object_id=user.id, allowed=False,
                 details={"reason": "wrong_second_factor", "channel": "web"})
    audit.record("login.ok", actor=other, object_type="user", object_id=other.id)
    two_factor.remove_all(user, actor=None, channel="cli")
    db.session.commit()
    with app.test_request_context():
        events = security_events.recent_events(user)
    assert len(events) == 10
    assert events[0].action == "2fa.reset"
    assert str(events[0].label) == str(security_events.CLI_LABELS["2fa.reset"])
    assert events[1].action == "login.failed"
    assert str(events[1].label) == str(security_events.REASON_LABELS["wrong_second_factor"])
    assert {e.action for e in events} == {"2fa.reset", "login.ok", "login.failed"}
    assert [e.occurred_at for e in events] == sorted((e.occurred_at for e in events),
                                                    reverse=True)


def test_a_role_that_requires_a_second_factor_enrols_first(app, client, auth):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("case_manager",)
    try:
        user = auth(Role.CASE_MANAGER)
        response = client.get("/cases")
        assert response.status_code == 302
        assert response.headers["Location"] == "/account/security"
        page = _page(client)
        assert "Your role requires a second factor." in page

        secret, _codes = _enrol(client)
        assert client.get("/cases").status_code == 200
        page = _page(client)
        assert "Your role requires a second factor." not in page
        # Removing the last factor says what follows, and does follow.
        assert "you will be sent back to set up another one" in page
        removed = _post(client, "/account/security/totp/remove", password=PASSWORD,
                        otp=_next_code(secret))
        assert removed.status_code == 302
        page = _page(client)
        assert "Your role requires a second factor: set one up again" in page
        assert client.get("/cases").headers.get("Location") == "/account/security"
        assert two_factor.must_enrol(user)
    finally:
        app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()
