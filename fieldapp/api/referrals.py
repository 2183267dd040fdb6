"""Services, suggestions and referrals endpoints of docs/api.md."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from flask import abort, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz, clock
from fieldapp.api.blueprint import bp, json_body, paging
from fieldapp.cases.models import Case
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals import followup, hsds, services, vocab
from fieldapp.referrals.models import Referral, Service


def service_json(service: Service) -> dict[str, object]:
    return {"id": str(service.id), "name": service.name, "type": service.type,
            "organization_id": str(service.organization_id),
            "organization": service.organization.name,
            "location_codes": service.location_codes, "languages": service.language_list,
            "min_age": service.min_age, "max_age": service.max_age,
            "sexes": service.sex_list, "capacity": service.capacity,
            "contact": service.contact, "active": service.active,
            # HSDS directory fields (additive to the contract's).
            "description": service.description, "url": service.url, "email": service.email,
            "phone": service.phone, "eligibility_description": service.eligibility_description,
            "schedule": service.schedule_rows,
            "schedule_description": service.schedule_description,
            "location_name": service.location_name, "address_1": service.address_1,
            "city": service.city, "state_province": service.state_province,
            "postal_code": service.postal_code}


def _directory_filters() -> tuple[str | None, str | None]:
    """?type= (a service type) and ?location_code= of the directory's endpoints."""
    type_ = request.args.get("type") or None
    if type_ and type_ not in vocab.SERVICE_TYPES:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"type": [_l("Not one of the allowed values.")]})
    return type_, (request.args.get("location_code") or "").upper() or None


@bp.get("/services")
@authz.rule(authz.AUTHENTICATED)
def list_services() -> Response:
    page, per_page = paging()
    type_, location = _directory_filters()
    items = services.list_services(type_=type_, location_code=location)
    return jsonify({"items": [service_json(s) for s in
                              items[(page - 1) * per_page: page * per_page]],
                    "page": page, "per_page": per_page, "total": len(items)})


@bp.get("/services.hsds.json")
@authz.rule(authz.AUTHENTICATED)
def services_hsds() -> Response:
    """The active services of the directory as Open Referral HSDS 3 JSON."""
    type_, location = _directory_filters()
    return jsonify(hsds.directory_page(services.list_services(type_=type_,
                                                              location_code=location)))


@bp.post("/services")
@authz.rule("services.manage")
def create_service() -> tuple[Response, int]:
    data = services.parse_service(json_body())
    authz.require("services.manage", data.organization_id, object_type="organization")
    service = services.create_service(current_user, data)
    body = service_json(service)
    db.session.commit()
    return jsonify(body), 201


@bp.patch("/services/<uuid:service_id>")
@authz.rule("services.manage")
def patch_service(service_id: uuid.UUID) -> Response:
    service = authz.get_or_404(Service, service_id, "services.manage")
    data = services.parse_service(json_body(), current=service)
    authz.require("services.manage", data.organization_id, object_type="organization")
    services.update_service(current_user, service, data)
    body = service_json(service)
    db.session.commit()
    return jsonify(body)


@bp.get("/routing-rules")
@authz.rule(authz.AUTHENTICATED)
def get_routing() -> Response:
    return jsonify({"rules": services.routing_table()})


@bp.put("/routing-rules/<flag_code>")
@authz.rule("routing.manage")
def put_routing(flag_code: str) -> Response:
    data = json_body()
    types = data.get("service_types")
    if not isinstance(types, list):
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"service_types": [_l("This field is required.")]})
    services.set_routing(current_user, flag_code, [str(t) for t in types])
    db.session.commit()
    return jsonify({"rules": services.routing_table()})


def suggestions_json(result: services.SuggestionResult) -> dict[str, object]:
    from fieldapp.referrals.labels import reason_line

    return {
        "suggestions": [{
            "service_id": str(s.service.id), "service_name": s.service.name,
            "organization": s.service.organization.name, "service_type": s.service.type,
            "flags": s.flags, "rank": rank, "capacity": s.service.capacity,
            "reasons": [reason_line(r) for r in s.reasons]}
            for rank, s in enumerate(result.suggestions, start=1)],
        "unmet_needs": [{"flag": flag, "service_types": types}
                        for flag, types in result.unmet_needs],
    }


@bp.get("/cases/<uuid:case_id>/referral-suggestions")
@authz.rule("referrals.create")
def referral_suggestions(case_id: uuid.UUID) -> Response:
    case = authz.get_or_404(Case, case_id, "cases.view")
    return jsonify(suggestions_json(services.suggest(case)))


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@bp.post("/referrals")
@authz.rule("referrals.create")
def create_referral() -> tuple[Response, int]:
    """One service (`service_id`) → the referral; several (`service_ids`) → one referral
    per service under one consent, `{"items": [...]}`, all or none."""
    data = json_body()
    several = "service_ids" in data
    if several == ("service_id" in data):
        raise ValidationFailed(_l("Some fields need attention."), fields={
            "service_id": [_l("Give service_id or service_ids, not both.") if several
                           else _l("This field is required.")]})
    case_id = _uuid_or_none(data.get("case_id"))
    if case_id is None:
        raise ValidationFailed(_l("Some fields need attention."), fields={
            "case_id": [_l("This field is required.")]})
    case = authz.get_or_404(Case, case_id, "cases.edit")
    consent = data.get("consent") if isinstance(data.get("consent"), dict) else {}
    scope = consent.get("scope") if isinstance(consent.get("scope"), list) else []
    flags = data.get("flags") if isinstance(data.get("flags"), list) else []
    note = data.get("note") if isinstance(data.get("note"), str) else None
    given_by = str(consent.get("given_by") or "")
    if several:
        chosen = [db.session.get(Service, sid) if sid else None
                  for sid in map(_uuid_or_none, data["service_ids"])]
        referrals = services.create_referrals(
            current_user, case, services.split_flags(chosen, [str(f) for f in flags]),
            given_by=given_by, scope=[str(s) for s in scope], note=note)
        body: dict[str, object] = {"items": [services.referral_to_dict(r, current_user)
                                             for r in referrals]}
        db.session.commit()
        return jsonify(body), 201
    service_id = _uuid_or_none(data.get("service_id"))
    service = db.session.get(Service, service_id) if service_id else None
    if service is None:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"service_id": [_l("Unknown service.")]})
    referral = services.create_referral(current_user, case, service, flags=flags,
                                        given_by=given_by,
                                        scope=[str(s) for s in scope], note=note)
    body = services.referral_to_dict(referral, current_user)
    db.session.commit()
    return jsonify(body), 201


@bp.get("/referrals")
@authz.rule(authz.AUTHENTICATED)
def list_referrals() -> Response:
    page, per_page = paging()
    box = request.args.get("box") or services.default_box(current_user)
    status = request.args.get("status") or None
    urgency = request.args.get("urgency") or None
    errors = {}
    if box not in ("inbox", "outbox"):
        errors["box"] = [_l("Not one of the allowed values.")]
    if status and status not in vocab.STATUSES:
        errors["status"] = [_l("Not one of the allowed values.")]
    if urgency and urgency not in vocab.ACK_DEADLINES:
        errors["urgency"] = [_l("Not one of the allowed values.")]
    if errors:
        raise ValidationFailed(_l("Some fields need attention."), fields=errors)
    if not authz.can(current_user, f"referrals.{box}"):
        authz.deny(f"referrals.{box}")
    now = clock.now()
    filters = services.ReferralFilters(box=box, status=status, urgency=urgency,
                                       overdue=request.args.get("overdue") in ("true", "1"),
                                       news=request.args.get("news") in ("true", "1"))
    rows, total = services.list_referrals(current_user, filters, page=page, per_page=per_page,
                                          now=now)
    org_name = services.organization_names(rows)
    items = [referral_item(r, now=now, org_name=org_name) for r in rows]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


def referral_item(r: Referral, *, now: datetime,
                  org_name: Callable[[uuid.UUID], str] = services.organization_name
                  ) -> dict[str, object]:
    """A referral in a list (inbox, outbox, a case's referrals); `org_name` from
    `services.organization_names` reads a whole page's organizations at once."""
    return {"id": str(r.id), "reference": r.reference, "status": r.status,
            "urgency": r.urgency,
            "due_at": r.due_at.isoformat(), "overdue": r.overdue(now),
            "created_at": r.created_at.isoformat(), "service_type": r.service_type,
            "service_name": r.service.name, "flags": r.flag_list,
            "receiving_organization": org_name(r.receiving_org_id),
            "sending_organization": org_name(r.sending_org_id)}


@bp.get("/referrals/<uuid:referral_id>")
@authz.rule(authz.AUTHENTICATED)
def get_referral(referral_id: uuid.UUID) -> Response:
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    services.record_view(current_user, referral)
    followup.mark_seen(current_user, referral)
    body = services.referral_to_dict(referral, current_user)
    db.session.commit()
    return jsonify(body)


@bp.post("/referrals/<uuid:referral_id>/transitions")
@authz.rule(authz.AUTHENTICATED)
def transition(referral_id: uuid.UUID) -> Response:
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    data = json_body()
    action = data.get("action")
    if not isinstance(action, str):
        abort(400)
    services.transition(current_user, referral, action,
                        reason=data.get("reason") if isinstance(data.get("reason"), str)
                        else None,
                        outcome=data.get("outcome") if isinstance(data.get("outcome"), str)
                        else None)
    body = services.referral_to_dict(referral, current_user)
    db.session.commit()
    return jsonify(body)
