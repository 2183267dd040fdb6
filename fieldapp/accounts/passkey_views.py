"""Passkeys (WebAuthn): adding and removing one's own, and proving one at the login's
second step or before a dangerous act. static/passkeys.js talks JSON to these routes
(the page's CSRF token in X-CSRFToken); removing is a plain form."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from fieldapp import authz
from fieldapp.accounts import login_flow, passkeys, sessions, two_factor
from fieldapp.accounts.models import Passkey, User
from fieldapp.accounts.views import bp, login_limits
from fieldapp.exceptions import DomainError
from fieldapp.extensions import db
from fieldapp.http_redirects import redirect_target

NO_LOGIN = _l("Log in again: the time for the second step ran out.")
CONFIRM_FIRST = _l("Your account already has a second factor: confirm it is you first "
                   "(the link on this page), then add the passkey.")


class PasskeyRemoveForm(FlaskForm):
    """The password that removing a passkey asks for (the security page renders the
    field by hand, once per passkey)."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=256)])


def _rp() -> passkeys.RelyingParty:
    return passkeys.relying_party(request.host_url, current_app.config.get("FIELDAPP_BASE_URL"))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _json_error(message: object, status: int) -> tuple[Response, int]:
    return jsonify({"error": str(message)}), status


def _options(options_json: str) -> Response:
    return current_app.response_class(options_json, mimetype="application/json")


@bp.app_context_processor
def _passkey_helpers() -> dict[str, Any]:
    def user_passkeys() -> list[Passkey]:
        if not current_user.is_authenticated:
            return []
        return passkeys.list_for(current_user._get_current_object())
    return {"user_passkeys": user_passkeys}


# -- one's own passkeys -------------------------------------------------------------------

@bp.post("/account/passkeys/options")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def passkey_register_options() -> Response | tuple[Response, int]:
    if login_flow.changing_factors_refused(current_user._get_current_object()):
        return _json_error(CONFIRM_FIRST, 403)
    return _options(passkeys.registration_options(current_user._get_current_object(), _rp()))


@bp.post("/account/passkeys")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def passkey_register() -> tuple[Response, int]:
    user = current_user._get_current_object()
    if login_flow.changing_factors_refused(user):
        return _json_error(CONFIRM_FIRST, 403)
    first = not two_factor.is_enrolled(user)
    body = _body()
    try:
        passkey = passkeys.register(user, _rp(), label=body.get("label"),
                                    credential=body.get("credential"))
    except DomainError as exc:
        db.session.rollback()
        return _json_error(exc.message, 422)
    if first:  # it proved a second factor just now
        login_flow.mark_fresh()
    db.session.commit()
    flash(_("Passkey “%(label)s” added. You can use it at your next login.",
            label=passkey.label), "success")
    return jsonify({"redirect": url_for("accounts.security")}), 201


@bp.post("/account/passkeys/<uuid:passkey_id>/delete")
@authz.rule(authz.AUTHENTICATED)
def passkey_remove(passkey_id: uuid.UUID) -> Response:
    user = current_user._get_current_object()
    passkey = passkeys.own_passkey(user, passkey_id)
    if passkey is None:
        abort(404)
    form = PasskeyRemoveForm()
    if not form.validate_on_submit():
        flash(_("Type your password to remove a passkey."), "error")
        return redirect(url_for("accounts.security"))
    label = passkey.label
    try:
        passkeys.remove(user, passkey, password=form.password.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("accounts.security"))
    db.session.commit()
    flash(_("Passkey “%(label)s” removed.", label=label), "success")
    return redirect(url_for("accounts.security"))


# -- proving a passkey --------------------------------------------------------------------

def _who_proves() -> tuple[User | None, bool]:
    """The account a passkey must prove: the pending login's, else the logged-in user's
    (confirming it is you). The flag says which."""
    pending = login_flow.pending_user()
    if pending is not None:
        return pending, True
    if current_user.is_authenticated:
        return current_user._get_current_object(), False
    return None, False


@bp.post("/login/passkey/options")
@authz.rule(authz.PUBLIC)
def passkey_login_options() -> Response | tuple[Response, int]:
    user, _pending = _who_proves()
    if user is None:
        return _json_error(NO_LOGIN, 400)
    return _options(passkeys.authentication_options(user, _rp()))


@bp.post("/login/passkey")
@authz.rule(authz.PUBLIC)
@login_limits[0]
def passkey_login() -> Response | tuple[Response, int]:
    user, pending = _who_proves()
    if user is None:
        return _json_error(NO_LOGIN, 400)
    body = _body()
    try:
        passkeys.authenticate(user, _rp(), body.get("credential"))
    except passkeys.CeremonyExpired as exc:
        return _json_error(exc.message, 400)
    except passkeys.PasskeyNotAccepted as exc:
        db.session.rollback()
        if pending:
            login_flow.second_factor_failed(user)
        db.session.commit()
        return _json_error(exc.message, 401)
    if pending:
        next_url = login_flow.complete(user, second_factor="passkey")
    else:  # confirming it is you: the session is fresh again (audited like a code)
        login_flow.confirmed(user, "passkey")
        next_url = str(body.get("next") or "")
    db.session.commit()
    return jsonify({"redirect": redirect_target(next_url, url_for("accounts.home"))})
