"""One's own account and its second factors (docs/api.md, "Two-factor sign-in")."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import two_factor
from fieldapp.api.blueprint import bp, json_body
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
def begin_totp() -> tuple[Response, int]:
    data = json_body()
    secret, uri = two_factor.begin_totp(current_user._get_current_object(),
                                        data.get("password"))
    db.session.commit()
    return jsonify({"secret": secret, "otpauth_uri": uri}), 201


@bp.post("/account/2fa/totp/confirm")
@authz.rule(authz.AUTHENTICATED)
def confirm_totp() -> Response:
    data = json_body()
    codes = two_factor.confirm_totp(current_user._get_current_object(), data.get("code"))
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
