"""POST /auth/tokens and DELETE /auth/tokens/current."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import services, two_factor
from fieldapp.accounts.models import User
from fieldapp.accounts.views import login_limits
from fieldapp.api.blueprint import bp, json_body
from fieldapp.exceptions import LoginFailed, SecondFactorRequired, ValidationFailed
from fieldapp.extensions import db

SECOND_FACTOR_REQUIRED = _l("This account has a second factor: send \"otp\" (the code of "
                            "the authenticator app) or \"recovery_code\" as well.")


@bp.post("/auth/tokens")
@authz.rule(authz.PUBLIC)
@login_limits[0]
@login_limits[1]
def create_token() -> tuple[Response, int]:
    data = json_body()
    email, password = data.get("email"), data.get("password")
    missing = {k: [_l("This field is required.")] for k, v in
               (("email", email), ("password", password)) if not isinstance(v, str) or not v}
    if missing:
        raise ValidationFailed(_l("Some fields need attention."), fields=missing)
    try:
        user, second_factor = _log_in(email, password, data.get("otp"),
                                      data.get("recovery_code"))
    except LoginFailed:
        db.session.commit()  # the failure count and the audit event
        raise
    token, expires_at = services.issue_token(user, second_factor=second_factor is not None)
    db.session.commit()
    return jsonify({"token": token, "expires_at": expires_at.isoformat()}), 201


def _log_in(email: str, password: str, otp: object,
            recovery_code: object) -> tuple[User, str | None]:
    """Password, then (for an account with a second factor) a TOTP or recovery code:
    no token without it. A wrong code counts like a wrong password."""
    user = services.check_password(email, password, channel="api")
    second_factor = None
    if two_factor.is_enrolled(user):
        if otp in (None, "") and recovery_code in (None, ""):
            raise SecondFactorRequired(SECOND_FACTOR_REQUIRED)
        second_factor = two_factor.verify_code(user, otp=otp, recovery_code=recovery_code)
        if second_factor is None:
            services.count_failed_login(user, reason="wrong_second_factor", channel="api")
            raise LoginFailed(services.GENERIC_LOGIN_ERROR)
    services.finish_login(user, channel="api", second_factor=second_factor)
    return user, second_factor


@bp.delete("/auth/tokens/current")
@authz.rule(authz.AUTHENTICATED)
def revoke_current_token() -> tuple[str, int]:
    services.revoke_token(g.api_token, actor=current_user)
    db.session.commit()
    return "", 204
