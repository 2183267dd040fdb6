"""Who is making this request: a browser session (HTML) or a bearer token (API).

The cookie holds only a random session identifier; the server keeps the
session (and can end it). The API never looks at the cookie.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from flask_babel import lazy_gettext as _l

from fieldapp import authz
from fieldapp.accounts import services
from fieldapp.accounts.models import User
from fieldapp.extensions import login_manager

SESSION_KEY = "sid"


def load_user_from_request(req: object) -> User | None:
    if authz.is_api_request():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        row = services.resolve_token(token.strip())
        if row is None:
            return None
        g.api_token = row
        return row.user
    token = session.get(SESSION_KEY)
    if not token:
        return None
    user = services.resolve_session(token)
    if user is None:
        session.clear()
    return user


def begin(user: User) -> None:
    """A fresh cookie at login: nothing of the anonymous session carries over."""
    locale = session.get("locale")
    session.clear()
    session[SESSION_KEY] = services.start_session(user)
    if locale and not user.locale:
        session["locale"] = locale


def finish(user: User | None) -> None:
    token = session.get(SESSION_KEY)
    if token:
        services.end_session(token, user=user)
    session.clear()


def init_app(app: Flask) -> None:
    login_manager.request_loader(load_user_from_request)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.session_protection = None  # our server-side sessions do this job
