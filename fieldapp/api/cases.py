"""The cases endpoints of docs/api.md: register, list/search, read, patch, duplicates, close."""

from __future__ import annotations

import uuid

from flask import abort, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.wrappers import Response

from fieldapp import authz, keyset
from fieldapp.accounts.models import User
from fieldapp.api.blueprint import bp, json_body, paging
from fieldapp.cases import assessment, inputs, services, vocab
from fieldapp.cases.models import Case
from fieldapp.db import utcnow
from fieldapp.exceptions import DomainError, ValidationFailed
from fieldapp.extensions import db


class PreconditionRequired(DomainError):
    code = "precondition_required"
    status = 428


# What a case's detail shows, read with the case: its flags and groups in the same
# statement (a few rows each; the household, often several people, comes in one more).
DETAIL = (joinedload(Case.flags), joinedload(Case.groups))


def _load(case_id: uuid.UUID, need: str = "cases.view", *,
          options: tuple[ORMOption, ...] = ()) -> Case:
    return authz.get_or_404(Case, case_id, need, options=options)


def summary(case: Case) -> dict[str, object]:
    names = case.names_or_none()
    return {"id": str(case.id), "reference": case.reference, "version": case.version,
            "status": case.status, "priority": case.priority,
            "given_name": names[0] if names else None,
            "family_name": names[1] if names else None, "readable": names is not None,
            "sex": case.sex, "age_band": case.age_band, "location_code": case.location_code,
            "stage": case.stage, "registered_at": case.registered_at.isoformat(),
            "flags": [f.code for f in case.flags if f.active]}


@bp.post("/cases")
@authz.rule("cases.create")
def create_case() -> tuple[Response, int]:
    data = json_body()
    parsed = inputs.parse_case(data, today=utcnow().date())
    reason = data.get("duplicate_reason")
    answers = None
    if data.get("assessment") is not None:
        block = data["assessment"]
        answers = block.get("answers", {}) if isinstance(block, dict) else block
    case = services.register_case(current_user, parsed,
                                  duplicate_reason=reason if isinstance(reason, str) else None,
                                  answers=answers)
    # Only records sent from phones raise possible duplicates (fieldapp.intake).
    body = services.case_to_dict(case, possible_duplicates=[])
    db.session.commit()
    return jsonify(body), 201


@bp.get("/cases")
@authz.rule("cases.list")
def list_cases() -> Response:
    page, per_page = paging()
    cursor = _cursor_arg()
    q = request.args.get("q", "").strip()
    if q:
        if cursor is not None:
            raise ValidationFailed(_l("Some fields need attention."), fields={
                "cursor": [_l("A search is paged with page, not with a cursor.")]})
        found = services.search_cases(current_user, q)
        items = [summary(c) for c in found[(page - 1) * per_page: page * per_page]]
        db.session.commit()
        return jsonify({"items": items, "page": page, "per_page": per_page,
                        "total": len(found), "next_cursor": None, "previous_cursor": None})
    filters = services.CaseFilters(
        status=_enum_arg("status", vocab.STATUSES), priority=_enum_arg("priority",
                                                                       vocab.PRIORITIES),
        flag=_enum_arg("flag", vocab.FLAG_LABELS), stage=_enum_arg("stage", vocab.STAGES),
        location_code=(request.args.get("location_code") or "").upper() or None)
    found = services.list_page(current_user, filters, page=page, cursor=cursor,
                               per_page=per_page)
    items = [summary(c) for c in found.cases]
    db.session.commit()  # the audit event of who saw which names
    return jsonify({"items": items, "page": found.page, "per_page": per_page,
                    "total": found.total, "next_cursor": _token(found.next),
                    "previous_cursor": _token(found.previous)})


def _cursor_arg() -> keyset.Position | None:
    """?cursor= (a position from an earlier answer), never together with ?page=."""
    raw = request.args.get("cursor", "")
    if not raw:
        return None
    if request.args.get("page", ""):
        raise ValidationFailed(_l("Some fields need attention."), fields={
            "cursor": [_l("Give either page or cursor, not both.")]})
    try:
        return keyset.decode(raw, purpose=services.CURSOR_PURPOSE)
    except keyset.BadCursor:
        message = _l("This cursor is not valid: start again from the first page.")
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"cursor": [message]}) from None


def _token(position: keyset.Position | None) -> str | None:
    return keyset.encode(position, purpose=services.CURSOR_PURPOSE) if position else None


def _enum_arg(name: str, allowed: dict) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={name: [_l("Not one of the allowed values.")]})
    return value


@bp.get("/cases/<uuid:case_id>")
@authz.rule("cases.view")
def get_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id, options=DETAIL)
    body = services.case_to_dict(case)
    # Recorded once the body is built: the audit chain's lock, held until the commit,
    # then covers the event and the commit only, not the decryption. Both still commit
    # together, before anything is answered.
    services.record_view(current_user, case, channel="api")
    db.session.commit()
    response = jsonify(body)
    response.headers["ETag"] = f'"{body["version"]}"'
    return response


def _if_match() -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired(_l("The If-Match header is required."))
    try:
        return int(header.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError:
        raise ValidationFailed(_l("If-Match must be the case's version number.")) from None


@bp.patch("/cases/<uuid:case_id>")
@authz.rule("cases.edit")
def patch_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.edit")
    expected = _if_match()
    patch = json_body()
    services.check_version(case, expected)
    merged = inputs.merge_patch(services.current_input(case), patch)
    parsed = inputs.parse_case(merged, today=utcnow().date(), require_consent=False)
    services.update_case(current_user, case, parsed, expected_version=expected)
    body = services.case_to_dict(case)
    db.session.commit()
    return jsonify(body)


@bp.post("/cases/duplicate-check")
@authz.rule("cases.list")
def duplicate_check() -> Response:
    data = json_body()
    document = data.get("document") if isinstance(data.get("document"), dict) else {}
    dob = data.get("date_of_birth")
    candidates = services.find_duplicates(
        current_user, given_name=_str(data.get("given_name")),
        family_name=_str(data.get("family_name")), date_of_birth=_str(dob),
        document_number=_str(document.get("number")))
    # Read before the commit, which expires the cases (reading after would load them again).
    body = {"candidates": [{"id": str(d.case.id), "reference": d.case.reference,
                            "match": d.match} for d in candidates]}
    db.session.commit()
    return jsonify(body)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@bp.post("/cases/<uuid:case_id>/close")
@authz.rule("cases.close")
def close_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.close")
    data = json_body()
    reason = data.get("reason")
    services.close_case(current_user, case, reason=reason if isinstance(reason, str) else "")
    body = services.case_to_dict(case)
    db.session.commit()
    return jsonify(body)


@bp.post("/cases/<uuid:case_id>/reopen")
@authz.rule("cases.reopen")
def reopen_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.reopen")
    services.reopen_case(current_user, case)
    body = services.case_to_dict(case)
    db.session.commit()
    return jsonify(body)


@bp.post("/cases/<uuid:case_id>/reassign")
@authz.rule("cases.reassign")
def reassign_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.reassign")
    data = json_body()
    raw = data.get("assignee_id")
    assignee = None
    if raw:
        try:
            assignee = db.session.get(User, uuid.UUID(str(raw)))
        except ValueError:
            abort(400)
        if assignee is None:
            raise ValidationFailed(_l("Some fields need attention."),
                                   fields={"assignee_id": [_l("Not one of the allowed values.")]})
    services.reassign_case(current_user, case, assignee=assignee)
    body = services.case_to_dict(case)
    db.session.commit()
    return jsonify(body)


@bp.post("/cases/<uuid:case_id>/consent/withdraw")
@authz.rule("cases.edit")
def withdraw_consent(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.edit")
    # The body is optional (clients of the first version send none).
    data = json_body() if request.get_data(cache=True).strip() else {}
    services.withdraw_consent(current_user, case, reason=_str(data.get("reason")))
    body = services.case_to_dict(case)
    db.session.commit()
    return jsonify(body)


@bp.put("/cases/<uuid:case_id>/assessment")
@authz.rule("cases.edit")
def put_assessment(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.edit")
    data = json_body()
    result = assessment.save_assessment(current_user, case, data.get("answers", {}))
    body = assessment.assessment_response(case, result)
    db.session.commit()
    return jsonify(body)


@bp.get("/cases/<uuid:case_id>/assessment")
@authz.rule("cases.view")
def get_assessment(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    services.record_view(current_user, case, channel="api")
    body = assessment.assessment_response(case)
    db.session.commit()
    return jsonify(body)


@bp.post("/cases/<uuid:case_id>/flags")
@authz.rule("cases.edit")
def add_flag(case_id: uuid.UUID) -> tuple[Response, int]:
    case = _load(case_id, "cases.edit")
    data = json_body()
    row = assessment.add_manual_flag(
        current_user, case, code=str(data.get("code") or ""),
        reason=data.get("reason") if isinstance(data.get("reason"), str) else "",
        severity=data.get("severity") or None)
    body = assessment.flag_to_dict(row)
    db.session.commit()
    return jsonify(body), 201


@bp.post("/cases/<uuid:case_id>/flags/<code>/dismiss")
@authz.rule("cases.edit")
def dismiss_flag(case_id: uuid.UUID, code: str) -> Response:
    case = _load(case_id, "cases.edit")
    data = json_body()
    row = assessment.dismiss_flag(
        current_user, case, code=code,
        reason=data.get("reason") if isinstance(data.get("reason"), str) else "")
    body = assessment.flag_to_dict(row)
    db.session.commit()
    return jsonify(body)
