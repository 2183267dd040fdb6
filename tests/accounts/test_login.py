"""Logging in and out through the HTML pages: generic errors, lockout, throttling, sessions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from fieldapp.accounts import services
from fieldapp.accounts.models import User, UserSession
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.db import utcnow
from fieldapp.extensions import db, limiter
from tests.conftest import PASSWORD, csrf_from, csrf_token, login


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_login_lands_on_home_and_audits(client, make):
    user = make.user(Role.FIELD_WORKER)
    response = login(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Test User" in home.get_data(as_text=True)
    assert [e.actor_id for e in _events("login.ok")] == [user.id]


def test_unknown_account_and_wrong_password_look_the_same(client, make):
    user = make.user()
    wrong = login(client, user.email, "not the password at all")
    unknown = login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401

    def message(r):
        html = r.get_data(as_text=True)
        return html[html.index('<ul class="errors"'):].split("</ul>")[0]
    assert message(wrong) == message(unknown)
    reasons = sorted(e.details for e in _events("login.failed"))
    assert '"reason":"unknown_account"' in reasons[1] + reasons[0]


def test_login_form_without_csrf_token_is_refused(client, make):
    user = make.user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still not logged in


def test_lockout_after_repeated_failures(app, client, make):
    user = make.user()
    threshold = app.config["LOGIN_LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        assert login(client, user.email, "wrong password here").status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None
    # Even the right password is refused while locked, with the same message.
    assert login(client, user.email).status_code == 401
    assert len(_events("account.locked")) == 1


def test_lock_expires(app, client, make):
    user = make.user()
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, user.email).status_code == 302


def test_failures_on_one_account_are_capped_well_below_100_an_hour(app, client, make):
    """150 guesses in a row: only the first THRESHOLD ever reach the password check."""
    user = make.user()
    for _ in range(150):
        login(client, user.email, "guess guess guess")
    verified = [e for e in _events("login.failed") if '"wrong_password"' in e.details]
    assert len(verified) == app.config["LOGIN_LOCKOUT_THRESHOLD"]
    assert len(verified) <= 100


def test_throttling_per_client_address(app, client, make):
    user = make.user()
    app.config["LOGIN_RATE_LIMIT_CLIENT"] = "3 per minute"
    try:
        limiter.reset()
        codes = [login(client, user.email, "wrong password x").status_code for _ in range(4)]
    finally:
        app.config["LOGIN_RATE_LIMIT_CLIENT"] = "10000 per minute"
        limiter.reset()
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_throttling_per_account_counts_failures_only(app, client, make):
    user = make.user()
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "2 per hour"
    try:
        limiter.reset()
        assert login(client, user.email).status_code == 302  # success is not counted
        client.post("/logout", data={"csrf_token": csrf_token(client)})
        codes = [login(client, user.email, "wrong password y").status_code for _ in range(3)]
        other = make.user()
        other_code = login(client, other.email, "wrong password y").status_code
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "10000 per minute"
        limiter.reset()
    assert codes == [401, 401, 429]
    assert other_code == 401  # another account is not throttled


def test_new_session_identifier_at_login(client, make):
    user = make.user()
    client.get("/login")
    before = client.get_cookie("fieldapp_session").value
    login(client, user.email)
    after = client.get_cookie("fieldapp_session").value
    assert before != after
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


def test_cookie_captured_before_logout_is_refused_afterwards(app, client, make):
    user = make.user()
    login(client, user.email)
    captured = client.get_cookie("fieldapp_session").value
    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("fieldapp_session", captured)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_requires_csrf(client, make):
    user = make.user()
    login(client, user.email)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_idle_timeout(app, client, make):
    user = make.user()
    login(client, user.email)
    row = db.session.scalar(sa.select(UserSession))
    row.last_seen_at = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_activity_keeps_session_alive_until_absolute_timeout(app, client, make):
    user = make.user()
    login(client, user.email)
    row = db.session.scalar(sa.select(UserSession))
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    db.session.commit()
    assert client.get("/").status_code == 200
    row = db.session.scalar(sa.select(UserSession))
    row.created_at = utcnow() - app.config["SESSION_ABSOLUTE_TIMEOUT"]
    db.session.commit()
    assert client.get("/").status_code == 302


def test_password_change_ends_every_session(app, client, make):
    user = make.user()
    other_device = app.test_client()
    login(other_device, user.email)
    login(client, user.email)
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post("/account/password", data={
        "csrf_token": csrf_from(page), "current_password": PASSWORD,
        "new_password": "a whole new passphrase 7", "confirm": "a whole new passphrase 7"})
    assert response.status_code == 302
    assert other_device.get("/").status_code == 302
    assert client.get("/").status_code == 302
    assert login(client, user.email, "a whole new passphrase 7").status_code == 302


def test_password_policy_on_change(client, make):
    user = make.user()
    login(client, user.email)
    for bad in ("short", "password1234", "aaaaaaaaaaaaaaa"):
        page = client.get("/account/password").get_data(as_text=True)
        response = client.post("/account/password", data={
            "csrf_token": csrf_from(page), "current_password": PASSWORD,
            "new_password": bad, "confirm": bad})
        assert response.status_code == 422, bad
    db.session.expire_all()
    assert services.find_user_by_email(user.email).password_hash == user.password_hash


def test_deactivation_ends_sessions(app, client, make):
    user = make.user()
    login(client, user.email)
    admin = make.user(Role.ORG_ADMIN, org=user.organization)
    services.set_active(admin, db.session.get(User, user.id), active=False)
    db.session.commit()
    assert client.get("/").status_code == 302
    assert login(client, user.email).status_code == 401


def test_open_redirect_after_login_is_refused(client, make):
    user = make.user()
    page = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf_from(page),
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"
