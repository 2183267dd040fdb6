"""One's own account and its second factors (docs/api.md, "Two-factor sign-in")."""

from __future__ import annotations

from flask import g, jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import login_flow, sessions, two_factor
from fieldapp.api.blueprint import bp, json_body
from fieldapp.db import utcnow
from fieldapp.exceptions import FreshSecondFactorRequired
from fieldapp.extensions import db


@bp.get("/account")
@authz.rule(authz.AUTHENTICATED)
def get_account() -> Response:
    user = current_user._get_current_object()
    return jsonify({"id": str(user.id), "email": user.email, "name": user.name,
                    "organization_id": str(user.organization_id),
                    "roles": sorted(r.value for r in user.roles),
                    "two_factor": two_factor.status(user)})


@bp.post("/account/2fa/totp")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def begin_totp() -> tuple[Response, int]:
    data = json_body()
    user = current_user._get_current_object()
    if two_factor.is_enrolled(user) and not two_factor.token_is_fresh(g.api_token):
        # A passkey holder adding an app: a stolen token alone must not plant a factor.
        raise FreshSecondFactorRequired(login_flow.FRESH_NEEDED_API)
    secret, uri = two_factor.begin_totp(user, data.get("password"))
    db.session.commit()
    return jsonify({"secret": secret, "otpauth_uri": uri}), 201


@bp.post("/account/2fa/totp/confirm")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def confirm_totp() -> Response:
    data = json_body()
    codes = two_factor.confirm_totp(current_user._get_current_object(), data.get("code"))
    g.api_token.second_factor_at = utcnow()  # this token just proved the new factor
    db.session.commit()
    return jsonify({"recovery_codes": codes})


@bp.delete("/account/2fa")
@authz.rule(authz.AUTHENTICATED)
def disable_two_factor() -> tuple[str, int]:
    data = json_body()
    two_factor.disable_totp(current_user._get_current_object(),
                            password=data.get("password"), otp=data.get("otp"))
    db.session.commit()
    return "", 204
