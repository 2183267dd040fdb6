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

import functools
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldapp import authz
from fieldapp.accounts import services, sessions, two_factor
from fieldapp.accounts.models import User
from fieldapp.audit import services as audit
from fieldapp.db import utcnow
from fieldapp.exceptions import FreshSecondFactorRequired
from fieldapp.extensions import db

F = TypeVar("F", bound=Callable[..., Any])

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
    row = g.get("user_session")
    if row is not None:
        return row
    token = session.get(sessions.SESSION_KEY)
    return services.find_session(token) if token else None


# -- dangerous acts -----------------------------------------------------------------------

FRESH_NEEDED = _l("Confirm it is you: type a code from your authenticator app, or a "
                  "recovery code.")
FRESH_NEEDED_API = _l("This needs a second factor proved in the last 5 minutes: ask for a "
                      "new token with \"otp\" (or \"recovery_code\") and try again.")


def fresh_errors(user: User, code: str | None,
                 field: str = "second_factor_code") -> dict[str, list]:
    """For a dangerous act posted from a form: nothing when the session is fresh (or the
    account has no second factor); else the code typed in the form proves it now (and
    refreshes the session), or the field's error. A wrong code counts toward the
    lockout, as at login."""
    if session_is_fresh(user):
        return {}
    if not code:
        return {field: [FRESH_NEEDED]}
    method = two_factor.verify_any_code(user, code)
    if method is None:
        services.count_failed_login(user, reason="wrong_second_factor", channel="web")
        if services.is_locked(user):  # too many: this session ends with the account's lock
            services.end_all_sessions(user)
        return {field: [two_factor.WRONG_CODE]}
    confirmed(user, method)
    return {}


def confirmed(user: User, method: str) -> None:
    """The logged-in user proved a second factor again (before a dangerous act)."""
    mark_fresh()
    audit.record("2fa.confirmed", actor=user, object_type="user", object_id=user.id,
                 details={"method": method})


def changing_factors_refused(user: User) -> bool:
    """Adding or renewing a second factor of an account that already has one needs a
    fresh second factor: a stolen session alone must not plant a passkey, an app or
    recovery codes of its own."""
    return two_factor.is_enrolled(user) and not session_is_fresh(user)


def needs_fresh(user: User) -> bool:
    """Should a page show the second-factor field next to a dangerous act?"""
    return not session_is_fresh(user)


def require_fresh_second_factor(view: F) -> F:
    """A view that is a dangerous act by itself (a GET export): a browser session that
    has not proved a second factor within FRESH_WINDOW goes to /account/verify and comes
    back; an API token must have been issued with a code within FRESH_WINDOW (403
    fresh_second_factor_required otherwise). Accounts without a second factor pass."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user._get_current_object()
        if authz.is_api_request():
            token = getattr(g, "api_token", None)
            if two_factor.is_enrolled(user) and (
                    token is None or not two_factor.token_is_fresh(token)):
                raise FreshSecondFactorRequired(FRESH_NEEDED_API)
        elif not session_is_fresh(user):
            return redirect(url_for("accounts.verify", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
