"""The browser login in two steps, confirming it is you before dangerous acts, and an
administrator's reset of someone's second factor (test client; the browser tests drive
the same pages in Chromium)."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from fieldapp.accounts import two_factor
from fieldapp.accounts.login_flow import PENDING_KEY
from fieldapp.accounts.models import Passkey, RecoveryCode, TotpCredential, User, UserSession
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.db import utcnow
from fieldapp.extensions import db
from tests.conftest import PASSWORD, csrf_from, login


def enrol(user: User) -> tuple[str, list[str]]:
    """Set up TOTP through the service; return the secret and the recovery codes."""
    secret, _uri = two_factor.begin_totp(user, PASSWORD)
    # The step before this one (drift): logins in the test use this step and the next.
    codes = two_factor.confirm_totp(user, pyotp.TOTP(secret).at(time.time() - 30))
    db.session.commit()
    return secret, codes


def later_code(secret: str, steps: int = 1) -> str:
    """A code of a coming step (accepted as clock drift, once): never one already used."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def second_step(client, code: str):
    page = client.get("/login/second-factor")
    assert page.status_code == 200, page.status_code
    return client.post("/login/second-factor", data={
        "code": code, "csrf_token": csrf_from(page.get_data(as_text=True))})


def test_password_alone_does_not_log_in_an_enrolled_account(client, make):
    user = make.user(Role.CASE_MANAGER)
    secret, _ = enrol(user)
    first = login(client, user.email)
    assert first.status_code == 302 and first.headers["Location"].endswith(
        "/login/second-factor")
    # Nothing is reachable between the steps.
    assert client.get("/").status_code == 302
    assert client.get("/cases").status_code == 302
    done = second_step(client, later_code(secret))
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row.second_factor_at is not None
    ok = db.session.scalars(sa.select(AuditEvent.details).where(
        AuditEvent.action == "login.ok", AuditEvent.object_id == str(user.id))).all()
    assert any('"second_factor":"totp"' in (d or "") for d in ok)


def test_wrong_code_is_refused_and_counted_and_a_used_code_is_not_taken_again(client, make):
    user = make.user(Role.FIELD_WORKER)
    secret, _ = enrol(user)
    login(client, user.email)
    wrong = second_step(client, "123456")
    assert wrong.status_code == 401
    assert "error-summary" in wrong.get_data(as_text=True)
    db.session.refresh(user)
    assert user.failed_logins == 1
    code = later_code(secret)
    assert second_step(client, code).status_code == 302
    # Another browser with the same password and the same code: refused.
    other = client.application.test_client()
    login(other, user.email)
    assert second_step(other, code).status_code == 401


def test_recovery_code_logs_in_once(client, make):
    user = make.user(Role.SUPERVISOR)
    _secret, codes = enrol(user)
    login(client, user.email)
    done = second_step(client, codes[0])
    assert done.status_code == 302
    assert "código de recuperación" in client.get("/").get_data(as_text=True)
    other = client.application.test_client()
    login(other, user.email)
    assert second_step(other, codes[0]).status_code == 401


def test_the_second_step_expires(client, make):
    user = make.user(Role.FIELD_WORKER)
    secret, _ = enrol(user)
    login(client, user.email)
    with client.session_transaction() as sess:
        sess[PENDING_KEY] = {**sess[PENDING_KEY], "at": int(time.time()) - 3600}
    late = client.get("/login/second-factor")
    assert late.status_code == 302 and late.headers["Location"].endswith("/login")
    page = client.get("/login")
    assert client.post("/login/second-factor", data={
        "code": later_code(secret),
        "csrf_token": csrf_from(page.get_data(as_text=True))}).status_code == 302
    assert client.get("/").status_code == 302  # still not logged in


def test_no_second_step_without_a_password(client, make):
    response = client.get("/login/second-factor")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_wrong_codes_lock_the_account(client, make, app):
    user = make.user(Role.FIELD_WORKER)
    secret, _ = enrol(user)
    login(client, user.email)
    for _ in range(app.config["LOGIN_LOCKOUT_THRESHOLD"]):
        page = client.get("/login/second-factor")
        if page.status_code != 200:
            break
        client.post("/login/second-factor", data={
            "code": "000000", "csrf_token": csrf_from(page.get_data(as_text=True))})
    db.session.refresh(user)
    assert user.locked_until is not None
    # Locked: the pending login is gone, a right code does nothing.
    assert client.get("/login/second-factor").status_code == 302
    login(client, user.email)
    assert client.get("/login/second-factor").status_code == 302
    assert client.get("/").status_code == 302
    del secret


def _make_stale(user: User) -> None:
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == user.id)
                       .values(second_factor_at=utcnow() - timedelta(minutes=6)))
    db.session.commit()


def _log_in_with_code(client, user: User, secret: str) -> None:
    login(client, user.email)
    assert second_step(client, pyotp.TOTP(secret).now()).status_code == 302


def test_role_change_needs_a_fresh_second_factor(client, make):
    org = make.org()
    admin = make.user(Role.ORG_ADMIN, org=org)
    worker = make.user(Role.FIELD_WORKER, org=org)
    secret, _ = enrol(admin)
    _log_in_with_code(client, admin, secret)
    _make_stale(admin)
    page = client.get(f"/admin/users/{worker.id}")
    html = page.get_data(as_text=True)
    assert 'name="second_factor_code"' in html
    form = {"name": worker.name, "roles": ["field_worker", "case_manager"],
            "actor_password": PASSWORD, "csrf_token": csrf_from(html)}
    refused = client.post(f"/admin/users/{worker.id}", data=form)
    assert refused.status_code == 422
    assert 'id="second_factor_code-err"' in refused.get_data(as_text=True)
    db.session.refresh(worker)
    assert worker.roles == {Role.FIELD_WORKER}
    wrong = client.post(f"/admin/users/{worker.id}", data={**form, "second_factor_code": "999999"})
    assert wrong.status_code == 422
    db.session.refresh(admin)
    assert admin.failed_logins == 1
    ok = client.post(f"/admin/users/{worker.id}",
                     data={**form, "second_factor_code": later_code(secret, 1)})
    assert ok.status_code == 302
    db.session.refresh(worker)
    assert worker.roles == {Role.FIELD_WORKER, Role.CASE_MANAGER}
    # Fresh now: the next change within five minutes needs no code.
    form["roles"] = ["field_worker"]
    assert client.post(f"/admin/users/{worker.id}", data=form).status_code == 302


def test_setting_a_password_needs_a_fresh_second_factor(client, make):
    org = make.org()
    admin = make.user(Role.ORG_ADMIN, org=org)
    worker = make.user(Role.FIELD_WORKER, org=org)
    secret, _ = enrol(admin)
    _log_in_with_code(client, admin, secret)
    _make_stale(admin)
    html = client.get(f"/admin/users/{worker.id}").get_data(as_text=True)
    before = db.session.get(User, worker.id).password_hash
    refused = client.post(f"/admin/users/{worker.id}/password", data={
        "reset-new_password": "a brand new passphrase 42", "reset-actor_password": PASSWORD,
        "reset-csrf_token": csrf_from(html), "csrf_token": csrf_from(html)})
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, worker.id).password_hash == before


def test_export_sends_a_stale_session_to_confirm_and_back(client, make):
    user = make.user(Role.SUPERVISOR)
    secret, _ = enrol(user)
    _log_in_with_code(client, user, secret)
    assert client.get("/stats/export.csv?rows=flag").status_code == 200
    _make_stale(user)
    away = client.get("/stats/export.csv?rows=flag")
    assert away.status_code == 302 and "/account/verify?next=" in away.headers["Location"]
    page = client.get(away.headers["Location"])
    assert page.status_code == 200
    back = client.post(away.headers["Location"], data={
        "code": later_code(secret), "next": "/stats/export.csv?rows=flag",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert back.status_code == 302 and back.headers["Location"] == "/stats/export.csv?rows=flag"
    assert client.get(back.headers["Location"]).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "2fa.confirmed", AuditEvent.object_id == str(user.id))) == 1


def test_api_export_needs_a_token_issued_with_a_code_minutes_ago(client, make):
    user = make.user(Role.SUPERVISOR)
    secret, _ = enrol(user)
    token = client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": PASSWORD, "otp": later_code(secret)}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/stats.csv?rows=flag", headers=headers).status_code == 200
    from fieldapp.accounts.models import ApiToken

    db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id)
                       .values(second_factor_at=utcnow() - timedelta(minutes=6)))
    db.session.commit()
    stale = client.get("/api/v1/stats.csv?rows=flag", headers=headers)
    assert stale.status_code == 403
    assert stale.get_json()["error"]["code"] == "fresh_second_factor_required"
    assert client.get("/api/v1/stats?rows=flag", headers=headers).status_code == 200


def test_accounts_without_a_second_factor_export_as_before(client, auth):
    auth(Role.SUPERVISOR)
    assert client.get("/stats/export.csv?rows=flag").status_code == 200


def test_an_administrator_resets_a_lost_second_factor(client, make):
    org = make.org()
    admin = make.user(Role.ORG_ADMIN, org=org)
    worker = make.user(Role.CASE_MANAGER, org=org)
    secret, _ = enrol(worker)
    db.session.add(Passkey(user_id=worker.id, credential_id=b"cred-1", public_key=b"pk",
                           sign_count=0, transports="", label="Phone"))
    db.session.commit()
    worker_client = client.application.test_client()
    _log_in_with_code(worker_client, worker, secret)
    assert worker_client.get("/").status_code == 200

    login(client, admin.email)  # the admin has no second factor: nothing to confirm
    html = client.get(f"/admin/users/{worker.id}").get_data(as_text=True)
    assert "sfreset-actor_password" in html
    wrong = client.post(f"/admin/users/{worker.id}/second-factor", data={
        "sfreset-actor_password": "wrong", "sfreset-csrf_token": csrf_from(html)})
    assert wrong.status_code == 422
    assert two_factor.is_enrolled(worker)
    done = client.post(f"/admin/users/{worker.id}/second-factor", data={
        "sfreset-actor_password": PASSWORD, "sfreset-csrf_token": csrf_from(html)})
    assert done.status_code == 302
    db.session.expire_all()
    assert not two_factor.is_enrolled(worker)
    for model in (TotpCredential, RecoveryCode, Passkey):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model).where(
            model.user_id == worker.id)) == 0
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "2fa.reset", AuditEvent.object_id == str(worker.id)))
    assert event is not None and event.actor_id == admin.id
    # The worker's session ended; at the next login (password only now) they are told.
    assert worker_client.get("/").status_code == 302
    told = login(worker_client, worker.email)
    assert told.status_code == 302 and told.headers["Location"] == "/"
    home = worker_client.get("/").get_data(as_text=True)
    assert "de su organización eliminó su segundo factor" in home
    # Once only.
    worker_client.post("/logout", data={"csrf_token": csrf_from(home)})
    login(worker_client, worker.email)
    assert "eliminó su segundo factor" not in worker_client.get("/").get_data(as_text=True)


def test_nobody_resets_their_own_or_another_organizations_second_factor(client, make):
    org = make.org()
    admin = make.user(Role.ORG_ADMIN, org=org)
    outsider = make.user(Role.CASE_MANAGER)
    enrol(admin)
    enrol(outsider)
    other_admin = make.user(Role.ORG_ADMIN, org=org)
    login(client, other_admin.email)
    html = client.get(f"/admin/users/{other_admin.id}").get_data(as_text=True)
    own = client.post(f"/admin/users/{other_admin.id}/second-factor", data={
        "sfreset-actor_password": PASSWORD, "sfreset-csrf_token": csrf_from(html)})
    assert own.status_code in (403, 404, 422) or own.status_code == 302
    assert client.post(f"/admin/users/{outsider.id}/second-factor", data={
        "sfreset-actor_password": PASSWORD,
        "sfreset-csrf_token": csrf_from(html)}).status_code in (403, 404)
    db.session.expire_all()
    assert two_factor.is_enrolled(outsider)


def test_the_command_line_resets_a_second_factor(app, client, make):
    user = make.user(Role.ORG_ADMIN)
    secret, _ = enrol(user)
    _log_in_with_code(client, user, secret)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "reset-second-factor", "--email",
                                  "nobody@example.org"])
    assert unknown.exit_code != 0
    out = runner.invoke(args=["users", "reset-second-factor", "--email", user.email])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert not two_factor.is_enrolled(user)
    assert client.get("/").status_code == 302  # the session ended
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "2fa.reset", AuditEvent.object_id == str(user.id)))
    assert event.actor_id is None and '"channel":"cli"' in event.details


def test_a_session_from_before_the_second_factor_must_prove_it(client, make):
    """Someone who logged in with the password alone before the owner set up a second
    factor keeps nothing: that session reaches only the confirmation page, and a token
    issued then only its account."""
    user = make.user(Role.CASE_MANAGER)
    intruder = client.application.test_client()
    login(intruder, user.email)
    token = client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": PASSWORD}).get_json()["token"]
    assert intruder.get("/cases").status_code == 200
    secret, _ = enrol(user)
    away = intruder.get("/cases")
    assert away.status_code == 302 and "/account/verify" in away.headers["Location"]
    assert intruder.get("/account/security").status_code == 302
    assert intruder.get("/account/verify").status_code == 200
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.get("/api/v1/cases", headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "second_factor_required"
    assert client.get("/api/v1/account", headers=headers).status_code == 200
    # Proving it opens the session again.
    page = intruder.get("/account/verify?next=/cases")
    back = intruder.post("/account/verify", data={
        "code": later_code(secret), "next": "/cases",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert back.status_code == 302 and back.headers["Location"] == "/cases"
    assert intruder.get("/cases").status_code == 200


def test_changing_second_factors_needs_a_fresh_one(client, make):
    """A stolen session of an account with a second factor cannot plant its own: new
    recovery codes, another app or a passkey need the factor proved in 5 minutes."""
    user = make.user(Role.FIELD_WORKER)
    secret, _ = enrol(user)
    _log_in_with_code(client, user, secret)
    _make_stale(user)
    page = client.get("/account/security")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/account/verify?next=/account/security"' in html
    before = db.session.scalars(sa.select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user.id)).all()
    renew = client.post("/account/security/recovery-codes", data={
        "password": PASSWORD, "csrf_token": csrf_from(html)})
    assert renew.status_code == 302 and "/account/verify" in renew.headers["Location"]
    assert db.session.scalars(sa.select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user.id)).all() == before
    options = client.post("/account/passkeys/options", json={},
                          headers={"X-CSRFToken": csrf_from(html)})
    assert options.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Passkey).where(
        Passkey.user_id == user.id)) == 0


def test_failures_arriving_together_all_count(app, make):
    """Two processes counting a failure at the same moment: each adds one in the
    database, so neither overwrites the other's (a read-modify-write in Python did)."""
    from fieldapp.accounts import services

    user = make.user(Role.FIELD_WORKER)
    stale = db.session.get(User, user.id)  # this process read failed_logins = 0
    assert stale.failed_logins == 0
    db.session.expunge(stale)  # keep what was read; hold no lock (SQLite) meanwhile
    db.session.rollback()
    with app.app_context():  # another process counts one meanwhile
        other = db.session.get(User, user.id)
        services.count_failed_login(other, reason="wrong_password", channel="web")
        db.session.commit()
    stale = db.session.merge(stale, load=False)
    assert stale.failed_logins == 0
    services.count_failed_login(stale, reason="wrong_password", channel="web")
    db.session.commit()
    assert stale.failed_logins == 2
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 2
