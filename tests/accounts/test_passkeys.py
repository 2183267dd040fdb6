"""Passkeys (WebAuthn) as a second factor, through the routes the pages' JavaScript
calls: real ceremonies signed by a software authenticator (a P-256 key made here, the
authenticator data and the "none" attestation built by hand), who may call what, a
challenge answers once, a replayed assertion is refused, removal needs the password and
one's own passkey, and the audit trail never holds a credential id."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid

import cbor2
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask_babel import force_locale, gettext

from fieldapp.accounts import passkeys
from fieldapp.accounts.models import Passkey, RecoveryCode, User, UserSession
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from tests.conftest import PASSWORD, csrf_from, login

ORIGIN = "http://localhost"  # the test client's address


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """A security key in software: one P-256 credential, a signature counter (or none,
    like most phone passkeys, with `counting=False`)."""

    def __init__(self, *, counting: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counting = counting
        self.sign_count = 0

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str = ORIGIN) -> dict:
        assert options["rp"]["id"] == "localhost"
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest()
                     + bytes([0x45])  # user present, user verified, attested data
                     + self.sign_count.to_bytes(4, "big") + bytes(16)
                     + len(self.credential_id).to_bytes(2, "big") + self.credential_id
                     + self._cose_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64u(self.credential_id), "rawId": b64u(self.credential_id),
                "type": "public-key",
                "response": {"clientDataJSON": b64u(client_data),
                             "attestationObject": b64u(attestation),
                             "transports": ["usb", "not-a-transport"]}}

    def get(self, options: dict, *, origin: str = ORIGIN, bump: bool = True) -> dict:
        if self.counting and bump:
            self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05])
                     + self.sign_count.to_bytes(4, "big"))
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(self.credential_id), "rawId": b64u(self.credential_id),
                "type": "public-key",
                "response": {"clientDataJSON": b64u(client_data),
                             "authenticatorData": b64u(auth_data),
                             "signature": b64u(signature)}}


def _csrf(client) -> str:
    page = client.get("/account/security")
    if page.status_code != 200:  # a session that has not proved its second factor
        page = client.get("/account/verify")
    if page.status_code != 200:  # not logged in (a pending login, or nobody)
        page = client.get("/login")
    return csrf_from(page.get_data(as_text=True))


def _post(client, url: str, body: dict | None = None, *, token: str | None = None):
    return client.post(url, json=body or {}, headers={"X-CSRFToken": token or _csrf(client)})


def _register(client, authenticator: SoftAuthenticator, label: str = "Work phone"):
    token = _csrf(client)
    options = _post(client, "/account/passkeys/options", token=token)
    assert options.status_code == 200, options.get_data(as_text=True)[:300]
    return _post(client, "/account/passkeys", {
        "label": label, "credential": authenticator.create(options.get_json())}, token=token)


def _user_with_passkey(client, make, *, counting: bool = True) -> tuple[User, SoftAuthenticator]:
    """A user who registered a passkey through the routes, logged out again."""
    user = make.user(Role.FIELD_WORKER)
    assert login(client, user.email).status_code == 302
    authenticator = SoftAuthenticator(counting=counting)
    assert _register(client, authenticator).status_code == 201
    token = _csrf(client)
    client.post("/logout", data={"csrf_token": token})
    return user, authenticator


def _start_login(client, user: User):
    """The password step: the account has a second factor, so the login waits."""
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/second-factor")


def _logged_in(client) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def _events(user: User, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_id == str(user.id), AuditEvent.action == action)))


# -- the relying party --------------------------------------------------------------------

def test_relying_party_from_the_request_or_the_base_url():
    assert passkeys.relying_party("http://localhost:8080/") == passkeys.RelyingParty(
        "localhost", "http://localhost:8080")
    assert passkeys.relying_party("http://10.0.0.5:5000/", "https://fieldapp.example.org") \
        == passkeys.RelyingParty("fieldapp.example.org", "https://fieldapp.example.org")


# -- registering --------------------------------------------------------------------------

def test_registration_stores_the_passkey_and_audits_without_the_credential_id(client, make):
    user = make.user(Role.FIELD_WORKER)
    login(client, user.email)
    authenticator = SoftAuthenticator()
    token = _csrf(client)
    options = _post(client, "/account/passkeys/options", token=token).get_json()
    assert options["rp"] == {"name": "fieldapp", "id": "localhost"}
    assert unb64u(options["user"]["id"]) == user.id.bytes
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "discouraged"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["excludeCredentials"] == []

    response = _post(client, "/account/passkeys", {
        "label": "  Work   phone ", "credential": authenticator.create(options)}, token=token)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"redirect": "/account/security"}
    passkey = db.session.scalar(sa.select(Passkey).where(Passkey.user_id == user.id))
    assert passkey.credential_id == authenticator.credential_id
    assert passkey.label == "Work phone" and passkey.transports == "usb"
    assert passkey.last_used_at is None
    # The first factor was proved just now: this session may do dangerous acts.
    assert db.session.scalar(sa.select(UserSession.second_factor_at).where(
        UserSession.user_id == user.id)) is not None

    [event] = _events(user, "2fa.enrolled")
    assert json.loads(event.details)["method"] == "passkey"
    for form in (b64u(authenticator.credential_id), authenticator.credential_id.hex(),
                 base64.b64encode(authenticator.credential_id).decode()):
        assert form not in event.details

    # Registering again: the existing credential is excluded, a default name is given.
    again = _post(client, "/account/passkeys/options", token=token).get_json()
    assert [d["id"] for d in again["excludeCredentials"]] == [b64u(authenticator.credential_id)]
    assert _post(client, "/account/passkeys", {
        "label": "", "credential": SoftAuthenticator().create(again)}, token=token
    ).status_code == 201
    with force_locale("es"):  # the default label is in the language of the request
        default = str(gettext("Passkey %(number)s", number=2))
    assert sorted(p.label for p in passkeys.list_for(user)) == sorted([default, "Work phone"])


def test_registration_refusals_store_nothing(client, make):
    user = make.user(Role.FIELD_WORKER)
    login(client, user.email)
    token = _csrf(client)
    authenticator = SoftAuthenticator()
    # Another site's origin.
    options = _post(client, "/account/passkeys/options", token=token).get_json()
    wrong_origin = _post(client, "/account/passkeys", {
        "label": "x", "credential": authenticator.create(options, origin="https://evil.example")},
        token=token)
    assert wrong_origin.status_code == 422 and wrong_origin.get_json()["error"]
    # The challenge went with the failed try: the right answer to it comes too late.
    late = _post(client, "/account/passkeys", {
        "label": "x", "credential": authenticator.create(options)}, token=token)
    assert late.status_code == 422
    # A name too long; no credential at all.
    options = _post(client, "/account/passkeys/options", token=token).get_json()
    long_name = _post(client, "/account/passkeys", {
        "label": "x" * 81, "credential": authenticator.create(options)}, token=token)
    assert long_name.status_code == 422
    options = _post(client, "/account/passkeys/options", token=token).get_json()
    assert _post(client, "/account/passkeys", {"label": "x"}, token=token).status_code == 422
    assert passkeys.list_for(user) == [] and _events(user, "2fa.enrolled") == []


def test_a_credential_id_registered_by_someone_else_is_refused(client, make):
    first, _ = _user_with_passkey(client, make)
    other = make.user(Role.FIELD_WORKER)
    login(client, other.email)
    copy = SoftAuthenticator()
    copy.credential_id = db.session.scalar(sa.select(Passkey.credential_id).where(
        Passkey.user_id == first.id))
    response = _register(client, copy)
    assert response.status_code == 422
    assert passkeys.list_for(other) == []


def test_registration_needs_the_csrf_token(client, make):
    user = make.user(Role.FIELD_WORKER)
    login(client, user.email)
    assert client.post("/account/passkeys/options", json={}).status_code == 400
    with client.session_transaction() as session:
        assert passkeys.CHALLENGE_KEY not in session


def test_a_role_that_requires_a_second_factor_may_register_a_passkey(client, make, app):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("case_manager",)
    try:
        user = make.user(Role.CASE_MANAGER)
        login(client, user.email)
        assert client.get("/cases").status_code == 302  # sent to enrol first
        assert _register(client, SoftAuthenticator()).status_code == 201
        assert client.get("/cases").status_code == 200
    finally:
        app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()


# -- logging in with a passkey ------------------------------------------------------------

def test_login_with_a_passkey(client, make):
    user, authenticator = _user_with_passkey(client, make)
    _start_login(client, user)
    assert not _logged_in(client)
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    assert options["rpId"] == "localhost"
    assert [d["id"] for d in options["allowCredentials"]] == [b64u(authenticator.credential_id)]
    response = _post(client, "/login/passkey", {
        "credential": authenticator.get(options), "next": "https://evil.example/"}, token=token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"redirect": "/"}  # the body's next is not the login's
    assert _logged_in(client)
    db.session.expire_all()
    passkey = db.session.scalar(sa.select(Passkey).where(Passkey.user_id == user.id))
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    [ok] = _events(user, "login.ok")[-1:]
    assert json.loads(ok.details)["second_factor"] == "passkey"
    assert db.session.scalar(sa.select(UserSession.second_factor_at).where(
        UserSession.user_id == user.id)) is not None


def test_the_login_goes_where_the_password_step_was_asked_to(client, make):
    user, authenticator = _user_with_passkey(client, make)
    page = client.get("/login?next=/account/profile")
    client.post("/login", data={"email": user.email, "password": PASSWORD,
                                "next": "/account/profile",
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    response = _post(client, "/login/passkey", {"credential": authenticator.get(options)},
                     token=token)
    assert response.get_json() == {"redirect": "/account/profile"}


def test_a_wrong_passkey_counts_toward_the_lockout(client, make):
    user, authenticator = _user_with_passkey(client, make)
    _someone, others = _user_with_passkey(client, make)
    _start_login(client, user)
    token = _csrf(client)
    for wrong in (others, SoftAuthenticator()):  # another account's passkey; an unknown one
        options = _post(client, "/login/passkey/options", token=token).get_json()
        response = _post(client, "/login/passkey", {"credential": wrong.get(options)},
                         token=token)
        assert response.status_code == 401 and response.get_json()["error"]
    # The right key, but a signature that does not match what was signed.
    options = _post(client, "/login/passkey/options", token=token).get_json()
    forged = authenticator.get(options)
    forged["response"]["signature"] = authenticator.get({**options, "challenge": b64u(b"x")})[
        "response"]["signature"]
    assert _post(client, "/login/passkey", {"credential": forged}, token=token
                 ).status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 3
    assert not _logged_in(client)


def test_a_challenge_answers_once(client, make):
    user, authenticator = _user_with_passkey(client, make)
    _start_login(client, user)
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    broken = authenticator.get(options)
    broken["response"]["signature"] = b64u(b"not a signature")
    assert _post(client, "/login/passkey", {"credential": broken}, token=token
                 ).status_code == 401
    # The right answer to the same challenge: the challenge is gone (nothing counts).
    late = _post(client, "/login/passkey", {"credential": authenticator.get(options)},
                 token=token)
    assert late.status_code == 400 and late.get_json()["error"]
    assert not _logged_in(client)
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 1


@pytest.mark.parametrize("credential", [
    "not an object", ["a", "list"], {}, {"id": "!!", "rawId": "!!", "type": "public-key",
                                         "response": {"clientDataJSON": "%%",
                                                      "authenticatorData": "", "signature": ""}},
    {"id": "AA", "rawId": "AA", "type": "public-key", "response": "no"},
])
def test_malformed_answers_are_refused_not_errors(client, make, credential):
    user, _authenticator = _user_with_passkey(client, make)
    _start_login(client, user)
    token = _csrf(client)
    _post(client, "/login/passkey/options", token=token)
    response = _post(client, "/login/passkey", {"credential": credential}, token=token)
    assert response.status_code in (400, 401) and response.get_json()["error"]
    assert not _logged_in(client)


def test_an_expired_challenge_is_refused(client, make):
    user, authenticator = _user_with_passkey(client, make)
    _start_login(client, user)
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    with client.session_transaction() as session:
        kept = session[passkeys.CHALLENGE_KEY]
        kept["at"] -= passkeys.CHALLENGE_TTL + 1
        session[passkeys.CHALLENGE_KEY] = kept
    response = _post(client, "/login/passkey", {"credential": authenticator.get(options)},
                     token=token)
    assert response.status_code == 400 and not _logged_in(client)


def test_a_replayed_cookie_and_assertion_are_refused(app, client, make):
    """The challenge lives in the cookie: sending an old copy of the cookie with an
    assertion already accepted must not log in again, also for a passkey that keeps no
    signature counter (its count stays 0)."""
    user, authenticator = _user_with_passkey(client, make, counting=False)
    _start_login(client, user)
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    cookie = app.config["SESSION_COOKIE_NAME"]
    old_cookie = client.get_cookie(cookie).value
    assertion = authenticator.get(options)
    assert _post(client, "/login/passkey", {"credential": assertion}, token=token
                 ).status_code == 200
    client.delete_cookie(cookie)
    client.set_cookie(cookie, old_cookie)
    replay = _post(client, "/login/passkey", {"credential": assertion}, token=token)
    assert replay.status_code == 401
    assert not _logged_in(client)


def test_the_signature_counter_must_go_up(app, client, make):
    user, authenticator = _user_with_passkey(client, make)
    for expected in (200, 401):  # the second time, the same count as before
        client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
        _start_login(client, user)
        token = _csrf(client)
        options = _post(client, "/login/passkey/options", token=token).get_json()
        response = _post(client, "/login/passkey", {
            "credential": authenticator.get(options, bump=expected == 200)}, token=token)
        assert response.status_code == expected


# -- who may call what --------------------------------------------------------------------

def test_nobody_gets_no_challenge(client, make):
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token)
    assert options.status_code == 400 and options.get_json()["error"]
    assert _post(client, "/login/passkey", {"credential": {}}, token=token).status_code == 400
    assert _post(client, "/account/passkeys/options", token=token).status_code == 302
    assert _post(client, "/account/passkeys", token=token).status_code == 302


def test_a_pending_login_may_prove_but_not_register(client, make):
    user, _authenticator = _user_with_passkey(client, make)
    _start_login(client, user)
    token = _csrf(client)
    assert _post(client, "/account/passkeys/options", token=token).status_code == 302
    assert _post(client, "/login/passkey/options", token=token).status_code == 200
    with client.session_transaction() as session:
        assert session[passkeys.CHALLENGE_KEY]["uid"] == str(user.id)


def test_logged_in_user_confirms_it_is_them(client, make):
    user, authenticator = _user_with_passkey(client, make)
    # A login whose session has not proved the second factor (it ends stale).
    _start_login(client, user)
    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    _post(client, "/login/passkey", {"credential": authenticator.get(options)}, token=token)
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == user.id)
                       .values(second_factor_at=None))
    db.session.commit()

    token = _csrf(client)
    options = _post(client, "/login/passkey/options", token=token).get_json()
    assert [d["id"] for d in options["allowCredentials"]] == [b64u(authenticator.credential_id)]
    wrong = _post(client, "/login/passkey", {"credential": SoftAuthenticator().get(options)},
                  token=token)
    assert wrong.status_code == 401
    assert db.session.scalar(sa.select(UserSession.second_factor_at).where(
        UserSession.user_id == user.id)) is None
    options = _post(client, "/login/passkey/options", token=token).get_json()
    response = _post(client, "/login/passkey", {
        "credential": authenticator.get(options), "next": "/account/profile"}, token=token)
    assert response.get_json() == {"redirect": "/account/profile"}
    assert db.session.scalar(sa.select(UserSession.second_factor_at).where(
        UserSession.user_id == user.id)) is not None
    [confirmed] = _events(user, "2fa.confirmed")
    assert json.loads(confirmed.details) == {"method": "passkey"}
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 0  # only the login step counts


# -- removing -----------------------------------------------------------------------------

def _remove(client, passkey_id: uuid.UUID, password: str):
    return client.post(f"/account/passkeys/{passkey_id}/delete",
                       data={"csrf_token": _csrf(client), "password": password})


def test_removal_needs_ones_own_passkey_and_password(client, make):
    owner, _ = _user_with_passkey(client, make)
    owners_passkey = passkeys.list_for(owner)[0].id
    user = make.user(Role.FIELD_WORKER)
    login(client, user.email)
    _register(client, SoftAuthenticator())
    mine = passkeys.list_for(user)[0].id
    db.session.add(RecoveryCode(user_id=user.id, code_hash="0" * 64))
    db.session.commit()

    assert _remove(client, owners_passkey, PASSWORD).status_code == 404
    assert _remove(client, uuid.uuid4(), PASSWORD).status_code == 404
    wrong = _remove(client, mine, "not my password")
    assert wrong.status_code == 302 and wrong.headers["Location"] == "/account/security"
    empty = _remove(client, mine, "")
    assert empty.status_code == 302
    db.session.expire_all()
    assert len(passkeys.list_for(owner)) == 1 and len(passkeys.list_for(user)) == 1
    assert _events(user, "2fa.disabled") == []

    assert _remove(client, mine, PASSWORD).status_code == 302
    db.session.expire_all()
    assert passkeys.list_for(user) == []
    # It was the last second factor: its recovery codes went with it.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id)) == 0
    [event] = _events(user, "2fa.disabled")
    assert json.loads(event.details)["method"] == "passkey"


def test_the_security_page_lists_passkeys(client, make):
    user = make.user(Role.FIELD_WORKER)
    login(client, user.email)
    html = client.get("/account/security").get_data(as_text=True)
    assert "data-passkey-register" in html and "/static/passkeys.js" in html
    _register(client, SoftAuthenticator(), label="Llave <b>azul</b>")
    html = client.get("/account/security").get_data(as_text=True)
    passkey = passkeys.list_for(user)[0]
    assert "Llave &lt;b&gt;azul&lt;/b&gt;" in html
    assert f'action="/account/passkeys/{passkey.id}/delete"' in html


@pytest.mark.parametrize("page", ["/login/second-factor", "/account/verify"])
def test_the_second_step_pages_offer_a_passkey(client, make, page):
    user, _authenticator = _user_with_passkey(client, make)
    if page == "/login/second-factor":
        _start_login(client, user)
    else:
        login(client, user.email)  # pending; finish it with a passkey first
        token = _csrf(client)
        options = _post(client, "/login/passkey/options", token=token).get_json()
        _post(client, "/login/passkey", {"credential": _authenticator.get(options)}, token=token)
    html = client.get(page).get_data(as_text=True)
    assert "data-passkey-login" in html and "/static/passkeys.js" in html
