"""POST /auth/tokens and DELETE /auth/tokens/current."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import services
from fieldapp.accounts.views import login_limits
from fieldapp.api.blueprint import bp, json_body
from fieldapp.exceptions import LoginFailed, ValidationFailed
from fieldapp.extensions import db


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
        user = services.authenticate(email, password, channel="api")
    except LoginFailed:
        db.session.commit()  # the failure count and the audit event
        raise
    token, expires_at = services.issue_token(user)
    db.session.commit()
    return jsonify({"token": token, "expires_at": expires_at.isoformat()}), 201


@bp.delete("/auth/tokens/current")
@authz.rule(authz.AUTHENTICATED)
def revoke_current_token() -> tuple[str, int]:
    services.revoke_token(g.api_token, actor=current_user)
    db.session.commit()
    return "", 204
