"""Who is making this request: a browser session (HTML) or a bearer token (API).

The cookie holds only a random session identifier; the server keeps the
session (and can end it). The API never looks at the cookie, except on the few
endpoints the app's own pages call (`browser_session_allowed`), and there only
with the page's CSRF token in a header. A user whose password was set by someone
else reaches nothing but the password change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from fieldapp import authz
from fieldapp.accounts import services
from fieldapp.accounts.models import User
from fieldapp.errors import api_error
from fieldapp.extensions import login_manager

SESSION_KEY = "sid"
F = TypeVar("F", bound=Callable[..., Any])

# What a user who must change the password may still reach (besides public pages).
PASSWORD_CHANGE_ENDPOINTS = frozenset({
    "static", "accounts.change_password", "accounts.logout", "i18n.switch",
    "api.revoke_current_token",
})
PASSWORD_CHANGE_REQUIRED = _l("Your password was set by an administrator: change it in "
                              "the application before doing anything else.")


def browser_session_allowed(view: F) -> F:
    """Let the app's own pages call this API endpoint with their session (the offline
    outbox syncs itself without a token). The cookie counts only with the page's CSRF
    token in `X-CSRFToken`: another site can neither read the token nor send a custom
    header without a CORS preflight, which this app never answers."""
    view.browser_session = True  # type: ignore[attr-defined]
    return view


def _session_with_csrf() -> User | None:
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "browser_session", False):
        return None
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError:
        return None
    return _session_user()


def _session_user() -> User | None:
    token = session.get(SESSION_KEY)
    if not token:
        return None
    user = services.resolve_session(token)
    if user is None:
        session.clear()
    return user


def load_user_from_request(req: object) -> User | None:
    if authz.is_api_request():
        header = request.headers.get("Authorization", "")
        if not header:
            return _session_with_csrf()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        row = services.resolve_token(token.strip())
        if row is None:
            return None
        g.api_token = row
        return row.user
    return _session_user()


def begin(user: User, *, second_factor: bool = False) -> None:
    """A fresh cookie at login: nothing of the anonymous session carries over.
    `second_factor`: the login proved one (the session starts fresh)."""
    locale = session.get("locale")
    session.clear()
    session[SESSION_KEY] = services.start_session(user, second_factor=second_factor)
    if locale and not user.locale:
        session["locale"] = locale


def finish(user: User | None) -> None:
    token = session.get(SESSION_KEY)
    if token:
        services.end_session(token, user=user)
    session.clear()


def require_password_change() -> Response | None:
    """before_request: while a password set by someone else is unchanged, the browser is
    sent to the change-password page and the API answers 403 password_change_required."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "authz_rule", None) == authz.PUBLIC:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if authz.is_api_request():
        return api_error(403, "password_change_required", PASSWORD_CHANGE_REQUIRED)
    return redirect(url_for("accounts.change_password"))


# What a session may still reach before it has proved the account's second factor, or
# (for a role that requires one) before the account has one: reading one's account,
# logging out, the language.
ENROLMENT_ENDPOINTS = frozenset({
    "static", "accounts.logout", "i18n.switch", "api.revoke_current_token",
    "api.get_account",
})
# ... and, for a session of an account that has a second factor, proving it.
UNPROVED_ENDPOINTS = ENROLMENT_ENDPOINTS | {"accounts.verify"}
ENROLMENT_REQUIRED = _l("Your role requires a second factor: set up an authenticator app "
                        "or a passkey before doing anything else.")
TOKEN_WITHOUT_SECOND_FACTOR = _l("This account has a second factor, and this token was "
                                 "issued without it: ask for a new token with \"otp\" "
                                 "(or \"recovery_code\").")


def enrolment_endpoint(view: F) -> F:
    """Mark a view as part of setting up a second factor: reachable by a user whose role
    requires one and who has none yet (everything else is not)."""
    view.two_factor_enrolment = True  # type: ignore[attr-defined]
    return view


def session_proved_second_factor() -> bool:
    """Did this browser session (or API token) prove a second factor at some point?"""
    if authz.is_api_request():
        token = g.get("api_token")
        return token is not None and token.second_factor_at is not None
    row = g.get("user_session")
    return row is not None and row.second_factor_at is not None


def require_second_factor() -> Response | None:
    """before_request, for every signed-in request:
    - an account with a second factor, in a session or token that never proved it (one
      started before the factor was set up, elsewhere), reaches only the confirmation
      page (browser) or gets 403 second_factor_required (API);
    - a user whose role requires a second factor (FIELDAPP_2FA_REQUIRED_ROLES) and has
      none reaches only enrolment: the security page, or the API's enrolment endpoints
      (403 second_factor_enrolment_required otherwise)."""
    from fieldapp.accounts import two_factor

    endpoint = request.endpoint
    if endpoint is None or endpoint in ENROLMENT_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "authz_rule", None) == authz.PUBLIC:
        return None
    if not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    kept = g.pop("second_factor_enrolled", None)
    proved = session_proved_second_factor()
    if proved and not two_factor.is_required(user):
        return None
    # Read with this request's session or token a moment ago (services.resolve_*), before
    # any of the request's own work; asked now only when that did not happen.
    if kept is not None and kept[0] == user.id:
        enrolled = kept[1]
    else:
        enrolled = two_factor.is_enrolled(user)
    if enrolled:
        if proved or endpoint in UNPROVED_ENDPOINTS:
            return None
        if authz.is_api_request():
            return api_error(403, "second_factor_required", TOKEN_WITHOUT_SECOND_FACTOR)
        return redirect(url_for("accounts.verify", next=request.full_path
                                if request.method == "GET" else None))
    if not two_factor.is_required(user) or getattr(view, "two_factor_enrolment", False):
        return None
    if authz.is_api_request():
        return api_error(403, "second_factor_enrolment_required", ENROLMENT_REQUIRED)
    return redirect(url_for("accounts.security"))


def init_app(app: Flask) -> None:
    login_manager.request_loader(load_user_from_request)
    # Registered before the authorization rule is checked (create_app adds it later).
    app.before_request(require_password_change)
    app.before_request(require_second_factor)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.session_protection = None  # our server-side sessions do this job
