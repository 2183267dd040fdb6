"""Two-factor sign-in through the API (docs/api.md, "Two-factor sign-in"): enrol,
confirm, tokens need a code, codes work once, recovery codes once, disable, wrong codes
throttled and counted toward the lockout, secrets never in the database in clear."""

from __future__ import annotations

import time

import pyotp
import pytest
import sqlalchemy as sa

from fieldapp.accounts.models import RecoveryCode, TotpCredential, User
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from tests.conftest import PASSWORD, api_token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _enrol(client, user: User) -> tuple[str, list[str]]:
    """Enrol through the API; return the secret and the recovery codes."""
    token = api_token(client, user.email)
    started = client.post("/api/v1/account/2fa/totp", json={"password": PASSWORD},
                          headers=_bearer(token))
    assert started.status_code == 201, started.get_json()
    secret = started.get_json()["secret"]
    assert started.get_json()["otpauth_uri"].startswith("otpauth://totp/")
    confirmed = client.post("/api/v1/account/2fa/totp/confirm",
                            json={"code": pyotp.TOTP(secret).now()}, headers=_bearer(token))
    assert confirmed.status_code == 200, confirmed.get_json()
    return secret, confirmed.get_json()["recovery_codes"]


def _next_code(secret: str) -> str:
    """A code for the next 30-second step (accepted once, as drift), never the one just
    used: tests do not wait for the clock."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_enrol_confirm_and_account_status(client, make):
    user = make.user(Role.CASE_MANAGER)
    token = api_token(client, user.email)
    before = client.get("/api/v1/account", headers=_bearer(token)).get_json()
    assert before["two_factor"] == {"totp": False, "passkeys": 0}
    assert before["email"] == user.email and before["roles"] == ["case_manager"]

    wrong_pw = client.post("/api/v1/account/2fa/totp", json={"password": "nope"},
                           headers=_bearer(token))
    assert wrong_pw.status_code == 422 and "password" in wrong_pw.get_json()["error"]["fields"]

    secret = client.post("/api/v1/account/2fa/totp", json={"password": PASSWORD},
                         headers=_bearer(token)).get_json()["secret"]
    # Pending: not yet a factor; a wrong first code is a 422 and changes nothing.
    wrong = client.post("/api/v1/account/2fa/totp/confirm", json={"code": "000000"},
                        headers=_bearer(token))
    assert wrong.status_code == 422
    assert client.get("/api/v1/account", headers=_bearer(token)).get_json()[
        "two_factor"]["totp"] is False
    codes = client.post("/api/v1/account/2fa/totp/confirm",
                        json={"code": pyotp.TOTP(secret).now()},
                        headers=_bearer(token)).get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/api/v1/account", headers=_bearer(token)).get_json()[
        "two_factor"] == {"totp": True, "passkeys": 0}
    # A second enrolment while one is confirmed: refused.
    again = client.post("/api/v1/account/2fa/totp", json={"password": PASSWORD},
                        headers=_bearer(token))
    assert again.status_code == 409
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_id == str(user.id))).all()
    assert "2fa.enrolled" in actions


def test_token_needs_a_code_and_a_code_works_once(client, make):
    user = make.user(Role.FIELD_WORKER)
    secret, _codes = _enrol(client, user)

    bare = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert bare.status_code == 401
    assert bare.get_json()["error"]["code"] == "second_factor_required"

    code = _next_code(secret)
    ok = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD,
                                                   "otp": code})
    assert ok.status_code == 201
    replay = client.post("/api/v1/auth/tokens", json={"email": user.email,
                                                       "password": PASSWORD, "otp": code})
    assert replay.status_code == 401
    assert replay.get_json()["error"]["code"] == "invalid_credentials"
    # An older step than the last accepted one is refused too.
    older = client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": PASSWORD, "otp": pyotp.TOTP(secret).now()})
    assert older.status_code == 401
    # A right code with a wrong password: nothing.
    wrong_pw = client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": "wrong password!", "otp": _next_code(secret)})
    assert wrong_pw.status_code == 401


def test_recovery_code_works_once(client, make):
    user = make.user(Role.SUPERVISOR)
    _secret, codes = _enrol(client, user)
    body = {"email": user.email, "password": PASSWORD, "recovery_code": codes[3].lower()}
    assert client.post("/api/v1/auth/tokens", json=body).status_code == 201
    assert client.post("/api/v1/auth/tokens", json=body).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) == 9
    used = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "2fa.recovery_code_used",
        AuditEvent.object_id == str(user.id))).all()
    assert len(used) == 1
    assert codes[3] not in (used[0].details or "")


def test_disable_needs_password_and_code(client, make):
    user = make.user(Role.ORG_ADMIN)
    secret, _ = _enrol(client, user)
    token = client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": PASSWORD, "otp": _next_code(secret)}).get_json()["token"]
    refused = client.delete("/api/v1/account/2fa", json={"password": PASSWORD, "otp": "123"},
                            headers=_bearer(token))
    assert refused.status_code == 422
    wait_for_next_step()
    done = client.delete("/api/v1/account/2fa",
                         json={"password": PASSWORD, "otp": _next_code(secret)},
                         headers=_bearer(token))
    assert done.status_code == 204
    assert client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": PASSWORD}).status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id)) == 0


def wait_for_next_step() -> None:
    """The step of `_next_code` was used at login: the next one comes after the clock
    moves on (at most 30 s; only this test waits)."""
    start = int(time.time() // 30)
    while int(time.time() // 30) == start:
        time.sleep(0.2)


def test_wrong_codes_count_toward_the_lockout(client, make, app):
    user = make.user(Role.FIELD_WORKER)
    secret, _ = _enrol(client, user)
    threshold = app.config["LOGIN_LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        r = client.post("/api/v1/auth/tokens", json={"email": user.email,
                                                      "password": PASSWORD, "otp": "000000"})
        assert r.status_code == 401
    # Locked now: even the right code does not open it.
    locked = client.post("/api/v1/auth/tokens", json={
        "email": user.email, "password": PASSWORD, "otp": _next_code(secret)})
    assert locked.status_code == 401
    db.session.refresh(user)
    assert user.locked_until is not None
    reasons = db.session.scalars(sa.select(AuditEvent.details).where(
        AuditEvent.action == "login.failed", AuditEvent.object_id == str(user.id))).all()
    assert sum("wrong_second_factor" in (d or "") for d in reasons) == threshold


def test_a_right_password_does_not_clear_failed_codes(client, make):
    user = make.user(Role.FIELD_WORKER)
    _enrol(client, user)
    for _ in range(3):
        client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD,
                                                  "otp": "111111"})
    client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    db.session.refresh(user)
    assert user.failed_logins == 3


def test_secret_and_recovery_codes_absent_from_database_bytes(client, make, database_url):
    user = make.user(Role.CASE_MANAGER)
    secret, codes = _enrol(client, user)
    row = db.session.scalar(sa.select(TotpCredential).where(TotpCredential.user_id == user.id))
    assert row.secret == secret  # opens with the key ring
    raw = b""
    for table in ("totp_credentials", "recovery_codes"):
        for record in db.session.execute(sa.text(f"SELECT * FROM {table}")):  # noqa: S608
            raw += repr(tuple(record)).encode()
    assert secret.encode() not in raw
    for code in codes:
        assert code.encode() not in raw and code.replace("-", "").encode() not in raw
    if database_url.startswith("sqlite"):
        db.session.commit()
        path = database_url.removeprefix("sqlite:///")
        with open(path, "rb") as fh:
            data = fh.read()
        assert secret.encode() not in data


@pytest.mark.parametrize("roles", ["case_manager,org_admin", "none"])
def test_required_roles_setting_parses(roles, monkeypatch, tmp_path):
    from config import load_config

    monkeypatch.setenv("FIELDAPP_2FA_REQUIRED_ROLES", roles)
    settings = load_config("production", instance_path=tmp_path)
    assert settings["TWO_FACTOR_REQUIRED_ROLES"] == (
        ("case_manager", "org_admin") if roles != "none" else ())


def test_required_roles_default_and_unknown_role(monkeypatch, tmp_path):
    from config import ConfigurationError, load_config

    monkeypatch.delenv("FIELDAPP_2FA_REQUIRED_ROLES", raising=False)
    assert set(load_config("production", instance_path=tmp_path)[
        "TWO_FACTOR_REQUIRED_ROLES"]) == {"admin", "org_admin", "case_manager", "supervisor"}
    assert load_config("development", instance_path=tmp_path)[
        "TWO_FACTOR_REQUIRED_ROLES"] == ()
    monkeypatch.setenv("FIELDAPP_2FA_REQUIRED_ROLES", "case_manager,wizard")
    with pytest.raises(ConfigurationError):
        load_config("production", instance_path=tmp_path)
    monkeypatch.setenv("FIELDAPP_2FA_REQUIRED_ROLES", "")
    assert load_config("production", instance_path=tmp_path)[
        "TWO_FACTOR_REQUIRED_ROLES"] == ()


def test_required_role_without_second_factor_reaches_only_enrolment(client, make, app):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("case_manager",)
    try:
        user = make.user(Role.CASE_MANAGER)
        token = api_token(client, user.email)
        cases = client.get("/api/v1/cases", headers=_bearer(token))
        assert cases.status_code == 403
        assert cases.get_json()["error"]["code"] == "second_factor_enrolment_required"
        assert client.get("/api/v1/account", headers=_bearer(token)).status_code == 200
        secret = client.post("/api/v1/account/2fa/totp", json={"password": PASSWORD},
                             headers=_bearer(token)).get_json()["secret"]
        assert client.post("/api/v1/account/2fa/totp/confirm",
                           json={"code": pyotp.TOTP(secret).now()},
                           headers=_bearer(token)).status_code == 200
        assert client.get("/api/v1/cases", headers=_bearer(token)).status_code == 200
    finally:
        app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()
