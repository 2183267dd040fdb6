"""Offline intake endpoints of docs/api.md: the public intake key, sealed records sent
from phones, and the phones' signing keys.

The app's own pages call `POST /intake` and `POST /intake/devices` with the
browser's session (the outbox syncs itself); everyone else uses a bearer token.
The session counts there only with the page's CSRF token in `X-CSRFToken`
(fieldapp.accounts.sessions), so a cross-site request cannot ride on the cookie.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, g, jsonify
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts.sessions import browser_session_allowed
from fieldapp.api import contract
from fieldapp.api.blueprint import bp, json_body
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case
from fieldapp.errors import api_error
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db, keys
from fieldapp.intake import services


@bp.get("/intake/key")
@authz.rule(authz.PUBLIC)
def intake_key() -> Response:
    """A public key is public: phones fetch it before they may be offline."""
    jwk = keys.crypto.intake_public_jwk()
    if jwk is None:
        return api_error(503, "no_intake_key",
                         _l("Offline registration is not set up on this server yet."))
    return jsonify({"kid": jwk["kid"], "alg": jwk["alg"], "jwk": jwk})


def _case_input_errors(body: Any) -> dict[str, list[Any]]:
    """The same schema check `POST /cases` gets before its endpoint runs."""
    errors: dict[str, list[Any]] = {}
    contract.check_value(body, {"$ref": "#/components/schemas/CaseInput"}, "", errors)
    return errors


def _via_session() -> bool:
    return getattr(g, "api_token", None) is None


@bp.post("/intake")
@authz.rule("cases.create")
@browser_session_allowed
def intake_submit() -> tuple[Response, int]:
    submission = services.decode(json_body())
    answer = services.receive(current_user, submission, require_device=_via_session(),
                              shape_errors=_case_input_errors)
    db.session.commit()
    return jsonify(answer.body), answer.status


@bp.post("/intake/devices")
@authz.rule("cases.create")
@browser_session_allowed
def intake_register_device() -> tuple[Response, int]:
    data = json_body()
    device, created = services.register_device(current_user, data.get("public_key"))
    body = {"id": device.thumbprint, "registered_at": device.registered_at.isoformat()}
    db.session.commit()
    return jsonify(body), 201 if created else 200


@bp.post("/cases/<uuid:case_id>/possible-duplicates")
@authz.rule("cases.edit")
def resolve_possible_duplicate(case_id: uuid.UUID) -> Response:
    """The same decision as on the case page: the same person, or a different one (why)."""
    case = authz.get_or_404(Case, case_id, "cases.edit")
    data = json_body()
    try:
        candidate_id = uuid.UUID(data["candidate_id"])
    except ValueError:
        raise ValidationFailed(_l("Some fields need attention."), fields={
            "candidate_id": [_l("Must be a UUID.")]}) from None
    review = services.duplicate_review(case, candidate_id)
    if review is None:
        abort(404)
    reason = data.get("reason")
    services.resolve_duplicate(current_user, review, decision=data.get("decision"),
                               reason=reason if isinstance(reason, str) else None)
    body = case_services.case_to_dict(case)
    db.session.commit()
    return jsonify(body)
