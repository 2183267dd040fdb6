"""Transfers endpoints of docs/api.md ("Transfers (the case follows the person)"):
continuity codes of a case, transfer requests with a code, inboxes, decisions."""

from __future__ import annotations

import uuid

from flask import abort, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts.views import account_login_limit, login_limits
from fieldapp.api.blueprint import bp, json_body, paging
from fieldapp.cases.models import Case
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db, limiter
from fieldapp.transfers import services
from fieldapp.transfers.models import Transfer


def _code_account_key() -> str:
    user_id = current_user.get_id() if current_user.is_authenticated else None
    return "transfer-code-account:" + str(user_id or "anonymous")


def _refused(response: Response) -> bool:
    return response.status_code == 404


# Codes are guessed like passwords: the client's login budget (shared with the login and
# token endpoints) and, per account, as many refused codes as the login allows failed
# passwords (LOGIN_RATE_LIMIT_ACCOUNT), in a bucket of its own.
code_account_limit = limiter.shared_limit(account_login_limit, "transfer-code-account",
                                          methods=["POST"], key_func=_code_account_key,
                                          deduct_when=_refused)


# -- continuity codes of a case ---------------------------------------------------------------

@bp.post("/cases/<uuid:case_id>/continuity-codes")
@authz.rule("cases.edit")
def issue_continuity_code(case_id: uuid.UUID) -> tuple[Response, int]:
    case = authz.get_or_404(Case, case_id, "cases.edit")
    data = json_body()
    consent = data.get("consent") if isinstance(data.get("consent"), dict) else {}
    row, code = services.issue_code(current_user, case, scope=data.get("scope"),
                                    countries=data.get("countries"),
                                    expires_on=data.get("expires_on"),
                                    given_by=consent.get("given_by"))
    body = {**services.code_to_dict(row), "code": code}
    db.session.commit()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"  # the code is shown this once
    return response, 201


@bp.get("/cases/<uuid:case_id>/continuity-codes")
@authz.rule("cases.view")
def list_continuity_codes(case_id: uuid.UUID) -> Response:
    case = authz.get_or_404(Case, case_id, "cases.view")
    return jsonify({"items": [services.code_to_dict(c) for c in services.codes_of(case)]})


@bp.delete("/cases/<uuid:case_id>/continuity-codes/<uuid:code_id>")
@authz.rule("cases.edit")
def revoke_continuity_code(case_id: uuid.UUID, code_id: uuid.UUID) -> tuple[str, int]:
    case = authz.get_or_404(Case, case_id, "cases.edit")
    services.revoke_code(current_user, case, code_id)
    db.session.commit()
    return "", 204


@bp.get("/cases/<uuid:case_id>/transfers")
@authz.rule("cases.view")
def case_transfers(case_id: uuid.UUID) -> Response:
    case = authz.get_or_404(Case, case_id, "cases.view")
    return jsonify({"items": [services.transfer_to_dict(t, current_user)
                              for t in services.transfers_of_case(case)]})


# -- transfers -----------------------------------------------------------------------------

@bp.post("/transfers")
@authz.rule("cases.list")
@login_limits[0]
@code_account_limit
def request_transfer() -> tuple[Response, int]:
    data = json_body()
    stage = data.get("stage")
    try:
        transfer = services.request_transfer(current_user, data.get("code"),
                                             stage=stage if stage is not None else "transit")
    except services.CodeRefused:
        db.session.commit()  # the refusal's audit events, as after a failed login
        raise
    body = services.transfer_to_dict(transfer, current_user)
    db.session.commit()
    return jsonify(body), 201


@bp.get("/transfers")
@authz.rule("cases.list")
def list_transfers() -> Response:
    page, per_page = paging()
    box = request.args.get("box") or "incoming"
    status = request.args.get("status") or None
    errors = {}
    if box not in ("incoming", "outgoing"):
        errors["box"] = [_l("Not one of the allowed values.")]
    if status is not None and status not in services.STATUSES:
        errors["status"] = [_l("Not one of the allowed values.")]
    if errors:
        raise ValidationFailed(_l("Some fields need attention."), fields=errors)
    rows = services.transfers_for(current_user, box, status=status)
    items = [services.transfer_to_dict(t, current_user)
             for t in rows[(page - 1) * per_page: page * per_page]]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": len(rows)})


def _load(transfer_id: uuid.UUID) -> Transfer:
    """The transfer, for one of its sides; absent and not theirs look the same (404)."""
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        abort(404)
    if not services.may_see(current_user, transfer):
        authz.deny("transfers.view", status=404, object_type="transfer",
                   object_id=transfer.id)
    return transfer


@bp.get("/transfers/<uuid:transfer_id>")
@authz.rule("cases.list")
def get_transfer(transfer_id: uuid.UUID) -> Response:
    return jsonify(services.transfer_to_dict(_load(transfer_id), current_user))


@bp.post("/transfers/<uuid:transfer_id>/transitions")
@authz.rule("cases.list")
def transfer_transition(transfer_id: uuid.UUID) -> Response:
    transfer = _load(transfer_id)
    data = json_body()
    reason = data.get("reason")
    services.decide(current_user, transfer, str(data.get("action") or ""),
                    reason=reason if isinstance(reason, str) else None,
                    keep_open=data.get("keep_open") is True)
    body = services.transfer_to_dict(transfer, current_user)
    db.session.commit()
    return jsonify(body)
