"""The browser login in two steps, and confirming the second factor again.

Step one (the password) does not log in an account that has a second factor: it leaves
a *pending login* in the signed cookie (the user's id, when, where to go next), good
for PENDING_TTL. Step two (a code, a recovery code or a passkey) completes it: a fresh
server-side session starts, marked as having proved a second factor.

Before a dangerous act (an export, a role change, setting someone's password, a key
operation) the session must have proved a second factor within the last
two_factor.FRESH_WINDOW; `/account/verify` proves it again.
"""

from __future__ import annotations

import time
import uuid

from flask import session

from fieldapp.accounts import services, sessions, two_factor
from fieldapp.accounts.models import User
from fieldapp.db import utcnow
from fieldapp.extensions import db

PENDING_KEY = "pending_login"
PENDING_TTL = 300  # seconds to answer the second step


def start_pending(user: User, next_url: str) -> None:
    """After a right password, for an account with a second factor: nothing of the
    anonymous session carries over but the language."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    session[PENDING_KEY] = {"uid": str(user.id), "at": int(time.time()), "next": next_url}


def pending_user() -> User | None:
    """The account waiting for its second step, or None (none, expired, locked, gone)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - int(pending.get("at", 0)) > PENDING_TTL:
        session.pop(PENDING_KEY, None)
        return None
    try:
        user = db.session.get(User, uuid.UUID(str(pending.get("uid"))))
    except ValueError:
        return None
    if user is None or not user.active or services.is_locked(user):
        return None
    return user


def pending_next() -> str:
    pending = session.get(PENDING_KEY)
    return str(pending.get("next", "")) if isinstance(pending, dict) else ""


def clear_pending() -> None:
    session.pop(PENDING_KEY, None)


def second_factor_failed(user: User) -> None:
    """A wrong code or passkey at the second step: counted like a wrong password (and
    locks the account at the same threshold)."""
    services.count_failed_login(user, reason="wrong_second_factor", channel="web")


def complete(user: User, *, second_factor: str | None) -> str:
    """Every step passed: a fresh session (fresh second factor, if one was proved).
    Returns where to go next (unchecked: pass it through redirect_target)."""
    next_url = pending_next()
    services.finish_login(user, channel="web", second_factor=second_factor)
    sessions.begin(user, second_factor=second_factor is not None)
    return next_url


def mark_fresh() -> None:
    """The current session proved a second factor just now (confirming again)."""
    row = _current_session_row()
    if row is not None:
        row.second_factor_at = utcnow()


def session_is_fresh(user: User) -> bool:
    """May this browser session do a dangerous act now? Yes when it proved a second
    factor within FRESH_WINDOW, or when the account has none at all (then the role
    policy, not this check, is what asks for one)."""
    if not two_factor.is_enrolled(user):
        return True
    row = _current_session_row()
    return row is not None and two_factor.is_fresh(row.second_factor_at)


def _current_session_row():
    token = session.get(sessions.SESSION_KEY)
    return services.find_session(token) if token else None
