"""A signed-in request reads its token or session, the user, the roles and whether the
user has a second factor in one statement (docs/benchmarks.md, "Load test", lever 4)."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from fieldapp.accounts import services as accounts
from fieldapp.accounts import two_factor
from fieldapp.accounts.models import Passkey, User
from fieldapp.accounts.roles import Role
from fieldapp.extensions import db
from tests.conftest import PASSWORD, api_token, login
from tests.perf.conftest import get_counted, listing

SIGN_IN_TABLES = ("api_tokens", "user_sessions", "FROM users", "user_roles",
                  "totp_credentials", "passkeys")


def _sign_in_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if any(t in s for t in SIGN_IN_TABLES)]


def test_a_token_request_reads_its_token_once(client, statements, make):
    manager = make.user(Role.CASE_MANAGER, Role.FIELD_WORKER)
    token = api_token(client, manager.email)
    _, seen = get_counted(client, statements, "/api/v1/cases", token)
    assert len(_sign_in_reads(seen)) == 1, listing(seen)


def test_a_browser_page_reads_its_session_once(client, statements, make):
    manager = make.user(Role.CASE_MANAGER)
    login(client, manager.email)
    _, seen = get_counted(client, statements, "/cases")
    assert len(_sign_in_reads(seen)) == 1, listing(seen)


def test_a_token_that_proved_a_second_factor_is_checked_without_another_query(
        app, client, statements, make, monkeypatch):
    """The role requires a second factor and the user has one: a token that proved it
    passes, one that did not is refused, on what the token's own query read."""
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", ("case_manager",))
    manager = make.user(Role.CASE_MANAGER)
    secret, _uri = two_factor.begin_totp(manager, PASSWORD)
    two_factor.confirm_totp(manager, pyotp.TOTP(secret).now())
    proved, _ = accounts.issue_token(manager, second_factor=True)
    unproved, _ = accounts.issue_token(manager)
    db.session.commit()

    refused = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {unproved}"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "second_factor_required"
    _, seen = get_counted(client, statements, "/api/v1/cases", proved)
    assert len(_sign_in_reads(seen)) == 1, listing(seen)


def test_the_sign_in_query_and_is_enrolled_agree(app, make):
    """The token's query asks `two_factor.is_enrolled`'s question itself: no factor, a
    pending TOTP, a confirmed TOTP, a passkey only."""
    none, pending, confirmed, passkey = (make.user(Role.FIELD_WORKER) for _ in range(4))
    two_factor.begin_totp(pending, PASSWORD)
    secret, _uri = two_factor.begin_totp(confirmed, PASSWORD)
    two_factor.confirm_totp(confirmed, pyotp.TOTP(secret).now())
    db.session.add(Passkey(user_id=passkey.id, credential_id=b"cred-perf", public_key=b"pk",
                           label="Phone"))
    db.session.commit()
    for user, expected in ((none, False), (pending, False), (confirmed, True),
                           (passkey, True)):
        column = accounts._has_second_factor(User.id)
        asked = db.session.scalar(sa.select(column).where(User.id == user.id))
        assert bool(asked) is two_factor.is_enrolled(user) is expected
