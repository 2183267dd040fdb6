"""What the referrals feature does: directory, routing, suggestions, referrals, inboxes.

A referral carries a snapshot of exactly the field groups the person agreed to share,
taken when it is sent and sealed under the referral's own data key. The receiving
side reads the snapshot, never the live case.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import defaultload

from fieldapp import clock, contact_details
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.cases import assessment
from fieldapp.cases.models import Case
from fieldapp.cases.services import case_erased, next_number
from fieldapp.exceptions import Conflict, DomainError, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.locations.models import Location
from fieldapp.notices import services as notices
from fieldapp.referrals import hours, vocab
from fieldapp.referrals.models import (
    Referral,
    ReferralEvent,
    RoutingRule,
    Service,
    ServiceLocation,
)
from fieldapp.risk.engine import SEVERITY_RANK


class IllegalTransition(DomainError):
    code = "illegal_transition"
    status = 409


# -- directory -------------------------------------------------------------------------

@dataclass
class ServiceInput:
    name: str
    type: str
    organization_id: uuid.UUID
    location_codes: list[str]
    languages: list[str] = field(default_factory=list)
    min_age: int | None = None
    max_age: int | None = None
    sexes: list[str] = field(default_factory=list)
    capacity: str = "open"
    contact: str = ""
    active: bool = True
    # HSDS directory fields (public; see hours.py for the schedule rows).
    description: str = ""
    url: str | None = None
    email: str | None = None
    phone: str | None = None
    eligibility_description: str = ""
    schedule: list[dict[str, str]] = field(default_factory=list)
    schedule_description: str = ""
    location_name: str = ""
    address_1: str = ""
    city: str = ""
    state_province: str = ""
    postal_code: str = ""


# HSDS free-text fields of a service and their longest length.
DIRECTORY_TEXTS = {"description": 2000, "eligibility_description": 1000,
                   "schedule_description": 300, "location_name": 200, "address_1": 200,
                   "city": 100, "state_province": 100, "postal_code": 20}
DIRECTORY_CONTACTS = {"url": contact_details.url_problem,
                      "email": contact_details.email_problem,
                      "phone": contact_details.phone_problem}


def _current_directory_fields(service: Service) -> dict[str, Any]:
    return {**{name: getattr(service, name) for name in (*DIRECTORY_TEXTS, *DIRECTORY_CONTACTS)},
            "schedule": hours.rows_of(service.schedule)}


def _parse_directory_fields(merged: dict[str, Any],
                            err: Callable[[str, Any], None]) -> dict[str, Any]:
    """The HSDS fields of `merged`, checked: texts trimmed ("" when not given), contact
    details None when not given, opening hours as rows."""
    out: dict[str, Any] = {}
    for name, longest in DIRECTORY_TEXTS.items():
        value = merged.get(name)
        if value is None:
            out[name] = ""
        elif not isinstance(value, str):
            err(name, _l("Must be text."))
        elif len(value.strip()) > longest:
            err(name, _l("At most %(n)d characters.", n=longest))
        else:
            out[name] = value.strip()
    for name, problem_of in DIRECTORY_CONTACTS.items():
        try:
            value = contact_details.cleaned(merged.get(name))
        except TypeError:
            err(name, _l("Must be text."))
            continue
        problem = problem_of(value) if value is not None else None
        if problem is not None:
            err(name, problem)
        else:
            out[name] = value
    out["schedule"] = hours.parse_schedule(merged.get("schedule"), err)
    return out


def parse_service(data: dict[str, Any], *, current: Service | None = None) -> ServiceInput:
    """Validate service data (API shape); with `current`, missing keys keep their value."""
    if not isinstance(data, dict):
        raise ValidationFailed(_l("Some fields need attention."))
    base = {"capacity": "open", "active": True} if current is None else {
        "name": current.name, "type": current.type,
        "organization_id": str(current.organization_id),
        "location_codes": current.location_codes, "languages": current.language_list,
        "min_age": current.min_age, "max_age": current.max_age, "sexes": current.sex_list,
        "capacity": current.capacity, "contact": current.contact, "active": current.active,
        **_current_directory_fields(current)}
    merged = {**base, **data}
    errors: dict[str, list[Any]] = {}

    def err(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        err("name", _l("This field is required."))
    if not isinstance(merged.get("type"), str) or merged["type"] not in vocab.SERVICE_TYPES:
        err("type", _l("Not one of the allowed values."))
    org_id = None
    try:
        org_id = uuid.UUID(str(merged.get("organization_id")))
        if db.session.get(Organization, org_id) is None:
            raise ValueError
    except ValueError:
        err("organization_id", _l("Unknown organization."))
    codes = merged.get("location_codes")
    if not isinstance(codes, list) or not codes:
        err("location_codes", _l("Give at least one place the service covers."))
        codes = []
    else:
        codes = [str(c).strip().upper() for c in codes]
        known = set(db.session.scalars(sa.select(Location.code).where(Location.code.in_(codes))))
        if set(codes) - known:
            err("location_codes", _l("Unknown place."))
    languages = merged.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) and 1 < len(x) < 20
                                                  for x in languages):
        err("languages", _l("Not one of the allowed values."))
        languages = []
    ages = []
    for key in ("min_age", "max_age"):
        value = merged.get(key)
        if value in (None, ""):
            ages.append(None)
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 120:
            ages.append(value)
        else:
            err(key, _l("Give an age between 0 and 120."))
            ages.append(None)
    if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
        err("max_age", _l("The maximum age is below the minimum."))
    sexes = merged.get("sexes") or []
    if not isinstance(sexes, list) or not all(isinstance(x, str) for x in sexes) or \
            not set(sexes) <= {"female", "male", "intersex", "unknown"}:
        err("sexes", _l("Not one of the allowed values."))
        sexes = []
    if not isinstance(merged.get("capacity"), str) or merged["capacity"] not in vocab.CAPACITIES:
        err("capacity", _l("Not one of the allowed values."))
    contact = merged.get("contact") or ""
    if not isinstance(contact, str) or len(contact) > 300:
        err("contact", _l("At most %(n)d characters.", n=300))
    active = merged.get("active", True)
    if not isinstance(active, bool):
        err("active", _l("Not one of the allowed values."))
    directory = _parse_directory_fields(merged, err)
    if errors:
        raise ValidationFailed(_l("The service was not saved."), fields=errors)
    return ServiceInput(name=name.strip(), type=merged["type"], organization_id=org_id,
                        location_codes=list(dict.fromkeys(codes)), languages=languages,
                        min_age=ages[0], max_age=ages[1], sexes=sexes,
                        capacity=merged["capacity"], contact=contact.strip(), active=active,
                        **directory)


def _apply_service(service: Service, data: ServiceInput) -> None:
    service.name = data.name
    service.type = data.type
    service.organization_id = data.organization_id
    service.languages = ",".join(data.languages)
    service.min_age, service.max_age = data.min_age, data.max_age
    service.sexes = ",".join(data.sexes)
    service.capacity = data.capacity
    service.contact = data.contact
    service.active = data.active
    for name in (*DIRECTORY_TEXTS, *DIRECTORY_CONTACTS):
        setattr(service, name, getattr(data, name))
    service.schedule = json.dumps(data.schedule)
    wanted = set(data.location_codes)
    for row in list(service.coverage):
        if row.location_code not in wanted:
            service.coverage.remove(row)
    for code in data.location_codes:
        if code not in service.location_codes:
            service.coverage.append(ServiceLocation(location_code=code))


def create_service(actor: User, data: ServiceInput) -> Service:
    service = Service(id=uuid.uuid4())
    _apply_service(service, data)
    db.session.add(service)
    db.session.flush()
    audit.record("service.created", actor=actor, object_type="service", object_id=service.id,
                 organization_id=service.organization_id)
    return service


def update_service(actor: User, service: Service, data: ServiceInput) -> None:
    _apply_service(service, data)
    service.updated_at = clock.now()
    db.session.flush()
    audit.record("service.updated", actor=actor, object_type="service", object_id=service.id,
                 organization_id=service.organization_id)


def list_services(*, type_: str | None = None, location_code: str | None = None,
                  organization_id: uuid.UUID | None = None,
                  include_inactive: bool = False) -> list[Service]:
    stmt = sa.select(Service).order_by(Service.type, Service.name)
    if type_:
        stmt = stmt.where(Service.type == type_)
    if organization_id:
        stmt = stmt.where(Service.organization_id == organization_id)
    if not include_inactive:
        stmt = stmt.where(Service.active.is_(True))
    if location_code:
        covering = _ancestors(location_code)
        stmt = stmt.where(Service.id.in_(sa.select(ServiceLocation.service_id).where(
            ServiceLocation.location_code.in_(covering))))
    return list(db.session.scalars(stmt).unique())


def _ancestors(code: str) -> list[str]:
    """`CO-NSA-CUCUTA` -> [`CO-NSA-CUCUTA`, `CO-NSA`, `CO`]: what covers this place."""
    parts = code.split("-")
    return ["-".join(parts[:i]) for i in range(len(parts), 0, -1)]


# -- routing -----------------------------------------------------------------------------

def routing_table() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for rule in db.session.scalars(sa.select(RoutingRule).order_by(RoutingRule.flag_code,
                                                                   RoutingRule.position)):
        table.setdefault(rule.flag_code, []).append(rule.service_type)
    return table


def set_routing(actor: User, flag_code: str, service_types: list[str]) -> None:
    if flag_code not in assessment.rule_set().flag_codes():
        raise ValidationFailed(_l("Not one of the allowed values."),
                               fields={"flag": [_l("Not one of the allowed values.")]})
    if any(t not in vocab.SERVICE_TYPES for t in service_types):
        raise ValidationFailed(_l("Not one of the allowed values."),
                               fields={"service_types": [_l("Not one of the allowed values.")]})
    before = routing_table().get(flag_code, [])
    db.session.execute(sa.delete(RoutingRule).where(RoutingRule.flag_code == flag_code))
    for position, service_type in enumerate(dict.fromkeys(service_types)):
        db.session.add(RoutingRule(flag_code=flag_code, service_type=service_type,
                                   position=position))
    db.session.flush()
    audit.record("routing.changed", actor=actor, object_type="routing_rule",
                 object_id=flag_code, details={"before": before,
                                               "after": list(dict.fromkeys(service_types))})


# -- suggestions ---------------------------------------------------------------------------

@dataclass
class Suggestion:
    service: Service
    flags: list[str]
    severity: str
    rule_position: int
    proximity: int  # 3 same site, 2 same division, 1 same country
    shared_language: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def sort_key(self) -> tuple:
        return (-SEVERITY_RANK[self.severity], self.rule_position, -self.proximity,
                -vocab.CAPACITY_RANK[self.service.capacity], 0 if self.shared_language else 1,
                self.service.name)


@dataclass
class SuggestionResult:
    suggestions: list[Suggestion]
    unmet_needs: list[tuple[str, list[str]]]


def _case_age(case: Case, on: date) -> int:
    return assessment.age_of(case, on)


def _case_languages(case: Case) -> list[str]:
    return json.loads(case.languages) if case.languages else []


def suggest(case: Case, *, now: datetime | None = None,
            directory: list[Service] | None = None) -> SuggestionResult:
    """Eligible, covering, not-full active services for the case's active flags, ranked
    (SPEC §5); flags that find nothing are unmet needs."""
    now = now or clock.now()
    flags = sorted((f for f in case.flags if f.counts),
                   key=lambda f: (-SEVERITY_RANK[f.severity], f.code))
    routes = routing_table()
    wanted_types = {t for f in flags for t in routes.get(f.code, [])}
    places = _ancestors(case.location_code)
    candidates = [s for s in (list_services() if directory is None else directory)
                  if s.type in wanted_types
                  and s.capacity != "full" and set(s.location_codes) & set(places)]
    age = _case_age(case, now.date())
    languages = _case_languages(case)
    by_service: dict[uuid.UUID, Suggestion] = {}
    unmet = []
    for flag in flags:
        found = False
        for position, service_type in enumerate(routes.get(flag.code, [])):
            for service in candidates:
                if service.type != service_type or not _eligible(service, age, case.sex):
                    continue
                found = True
                proximity = max(len(c.split("-")) for c in service.location_codes
                                if c in places)
                shared = next((lang for lang in languages
                               if lang in service.language_list), None)
                existing = by_service.get(service.id)
                if existing is None:
                    by_service[service.id] = existing = Suggestion(
                        service, [], flag.severity, position, proximity, shared)
                existing.flags.append(flag.code)
                existing.reasons.append({"flag": flag.code, "severity": flag.severity,
                                         "service_type": service_type,
                                         "proximity": proximity,
                                         "capacity": service.capacity,
                                         "language": shared})
        if not found:
            unmet.append((flag.code, routes.get(flag.code, [])))
    ranked = sorted(by_service.values(), key=Suggestion.sort_key)
    return SuggestionResult(ranked, unmet)


def _eligible(service: Service, age: int, sex: str) -> bool:
    if service.min_age is not None and age < service.min_age:
        return False
    if service.max_age is not None and age > service.max_age:
        return False
    return not service.sex_list or sex in service.sex_list


# -- referrals ------------------------------------------------------------------------------

def build_snapshot(case: Case, scope: list[str], flags: list[str]) -> dict[str, Any]:
    """Exactly the consented groups of the case, as they are now, the risk summary and
    the assessment's answers only as far as `flags` need them; plus the flags and
    reasons that motivate the referral (always shared: they are the referral)."""
    shared: dict[str, Any] = {}
    if "identity" in scope:
        shared["identity"] = {"given_name": case.given_name, "family_name": case.family_name,
                              "date_of_birth": case.date_of_birth,
                              "age_years": int(case.age_years) if case.age_years else None,
                              "sex": case.sex, "nationality": case.nationality}
    if "contact" in scope:
        shared["contact"] = {"phone": case.phone, "address": case.address}
    if "documents" in scope:
        shared["documents"] = {"type": case.document_type, "number": case.document_number}
    if "risk_summary" in scope:
        # Minimum necessary: the flags this referral answers and its urgency, nothing
        # else of the case (no other flag, no group, no place); the sender shares more
        # by adding flags to the referral, one by one.
        answered = [f for f in case.flags if f.counts and f.code in flags]
        shared["risk_summary"] = {
            "flags": [{"code": f.code, "severity": f.severity} for f in answered],
            "urgency": max((f.severity for f in answered), key=SEVERITY_RANK.__getitem__,
                           default=None)}
    if "assessment_details" in scope:
        # Minimum necessary again: only the answers the rules of this referral's flags
        # read (a nationality desk learns nothing of trafficking indicators).
        read = set(assessment.rule_set().answers_read_by(flags))
        shared["assessment_details"] = {"answers": {
            key: value for key, value in assessment.answers_of(case).items() if key in read}}
    if "notes" in scope:
        shared["notes"] = {"notes": case.notes}
    motivation = []
    for f in case.flags:
        if f.code in flags and f.counts:
            motivation.append({"code": f.code, "severity": f.severity,
                               "reasons": json.loads(f.reasons) if f.source == "rule"
                               and f.reasons else [],
                               # Free text: shared only when the person agreed to share
                               # notes (people write names and places into reasons).
                               "manual_reason": f.manual_reason
                               if f.source == "manual" and "notes" in scope else None})
    return {"shared": shared, "motivation": motivation}


def next_referral_reference(on: date) -> str:
    """`R-26-000123`: year and sequence, unique, to read aloud; nothing of the case."""
    prefix = f"R-{on:%y}"
    return f"{prefix}-{next_number(prefix):06d}"


def check_referral(case: Case, service: Service | None, *, flags: list[str], given_by: str,
                   scope: list[str], note: str | None) -> None:
    """Raise Conflict when the case cannot be referred now, else ValidationFailed with
    every problem of these values at once; changes nothing. `service` None: none was
    chosen (the form says so), the rest is still checked."""
    fields: dict[str, list[Any]] = {}
    if case.consent_withdrawn:
        raise Conflict(_l("The person withdrew consent: no new referrals can be made. "
                          "Referrals already sent stay; you may cancel them."))
    if case.status != "open":
        raise Conflict(_l("This case is closed. Reopen it first."))
    if given_by not in ("self", "guardian", "best_interest"):
        fields["consent.given_by"] = [_l("Record who gave consent for this referral.")]
    if not scope:
        fields["consent.scope"] = [_l("Choose at least one group of information to share.")]
    elif set(scope) - set(vocab.SCOPES):
        fields["consent.scope"] = [_l("Not one of the allowed values.")]
    active = {f.code: f for f in case.flags if f.counts}
    if not flags or set(flags) - set(active):
        fields["flags"] = [_l("Choose the case's active flags this referral answers.")]
    if service is not None and not service.active:
        fields["service_id"] = [_l("This service is not active.")]
    if note is not None and len(note) > 2000:
        fields["note"] = [_l("At most %(n)d characters.", n=2000)]
    if fields:
        raise ValidationFailed(_l("The referral was not sent."), fields=fields)


def create_referral(actor: User, case: Case, service: Service, *, flags: list[str],
                    given_by: str, scope: list[str], note: str | None,
                    now: datetime | None = None,
                    consent_id: uuid.UUID | None = None) -> Referral:
    """Send one referral. `consent_id`: the consent it is sent under when one consent
    covers several referrals (`create_referrals` records it once); without it, the
    referral's own consent is recorded here."""
    now = now or clock.now()
    check_referral(case, service, flags=flags, given_by=given_by, scope=scope, note=note)
    own_consent = consent_id is None
    consent_id = consent_id or uuid.uuid4()
    active = {f.code: f for f in case.flags if f.counts}
    urgency = max((active[c].severity for c in flags), key=SEVERITY_RANK.__getitem__)
    referral = Referral(
        id=uuid.uuid4(), reference=next_referral_reference(now.date()),
        case_id=case.id, sending_org_id=case.organization_id,
        sender_id=actor.id, service_id=service.id, receiving_org_id=service.organization_id,
        service_type=service.type, flags=",".join(sorted(set(flags))), urgency=urgency,
        status="sent", consent_given_by=given_by,
        consent_scope=",".join(s for s in vocab.SCOPES if s in scope), created_at=now,
        created_month=now.strftime("%Y-%m"),
        due_at=now + vocab.ACK_DEADLINES[urgency])
    referral.new_data_key()
    referral.snapshot = json.dumps(build_snapshot(case, scope, flags))
    referral.note = note.strip() if note and note.strip() else None
    referral.events.append(ReferralEvent(action="send", from_status=None, to_status="sent",
                                         actor_id=actor.id,
                                         organization_id=actor.organization_id, at=now))
    db.session.add(referral)
    db.session.flush()
    notices.on_referral_status(referral, now=now)
    audit.record("referral.sent", actor=actor, object_type="referral", object_id=referral.id,
                 details={"case_id": str(case.id), "urgency": urgency,
                          "scope": referral.scope_list,
                          "receiving_org": str(service.organization_id),
                          "consent_id": str(consent_id)})
    if own_consent:
        record_consent(actor, case, [referral], consent_id=consent_id, at=now)
    return referral


def record_consent(actor: User, case: Case, referrals: list[Referral], *,
                   consent_id: uuid.UUID, at: datetime) -> None:
    """The consent the person gave for these referrals, recorded once in the audit trail
    (who gave it, for which groups, when, and every referral it covers); each
    referral's `referral.sent` event names it by `consent_id`."""
    first = referrals[0]
    audit.record("referral.consent", actor=actor, object_type="consent", object_id=consent_id,
                 details={"case_id": str(case.id), "given_by": first.consent_given_by,
                          "scope": first.scope_list, "at": at.isoformat(),
                          "referrals": [str(r.id) for r in referrals]})


def split_flags(chosen: list[Service | None], flags: list[str],
                ) -> list[tuple[Service | None, list[str]]]:
    """Several services from one list of flags (the API's `service_ids`): each referral
    answers the flags given that the routing table sends to its service's type, and no
    other (minimum necessary). A flag that no chosen service answers, or a service that
    answers none of them, is refused: such a referral is sent on its own, with its
    flags named."""
    routes = routing_table()
    pairs = [(s, [f for f in dict.fromkeys(flags) if s is not None
                  and s.type in routes.get(f, [])]) for s in chosen]
    fields: dict[str, list[Any]] = {}
    for i, (service, answered) in enumerate(pairs):
        if service is not None and not answered:
            fields[f"service_ids.{i}"] = [_l("This service answers none of the flags given: "
                                             "send it a referral of its own.")]
    unanswered = [f for f in dict.fromkeys(flags) if not any(f in a for _s, a in pairs)]
    if unanswered and all(s is not None for s in chosen):
        fields["flags"] = [_l("No chosen service answers %(flags)s: send a referral of its "
                              "own for it.", flags=", ".join(unanswered))]
    if fields:
        raise ValidationFailed(_l("The referral was not sent."), fields=fields)
    return pairs


def check_referrals(case: Case, choices: list[tuple[Service | None, list[str]]], *,
                    given_by: str, scope: list[str], note: str | None) -> None:
    """Every problem of several referrals at once (ValidationFailed), Conflict when the
    case cannot be referred; changes nothing. Problems of one choice are reported under
    `service_ids.<i>` (its service) and `flags.<i>` (its flags), the consent's once."""
    fields: dict[str, list[Any]] = {}
    if not choices:
        try:
            check_referral(case, None, flags=[], given_by=given_by, scope=scope, note=note)
        except ValidationFailed as exc:
            fields.update({k: v for k, v in exc.fields.items() if k != "flags"})
        fields["service_ids"] = [_l("Choose at least one service.")]
    seen: set[uuid.UUID] = set()
    for i, (service, flags) in enumerate(choices):
        if service is None:
            fields.setdefault(f"service_ids.{i}", []).append(_l("Unknown service."))
        elif service.id in seen:
            fields.setdefault(f"service_ids.{i}", []).append(
                _l("This service was chosen twice."))
        else:
            seen.add(service.id)
        try:
            check_referral(case, service, flags=flags, given_by=given_by, scope=scope,
                           note=note)
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                key = {"service_id": f"service_ids.{i}", "flags": f"flags.{i}"}.get(name, name)
                for message in messages:
                    if str(message) not in map(str, fields.get(key, [])):
                        fields.setdefault(key, []).append(message)
    if fields:
        raise ValidationFailed(_l("The referral was not sent."), fields=fields)


def create_referrals(actor: User, case: Case, choices: list[tuple[Service | None, list[str]]],
                     *, given_by: str, scope: list[str], note: str | None,
                     now: datetime | None = None) -> list[Referral]:
    """Several services in one step: one referral per (service, the flags it answers),
    all under one consent, recorded once. All or nothing: every choice is checked
    before any referral is made."""
    now = now or clock.now()
    check_referrals(case, choices, given_by=given_by, scope=scope, note=note)
    consent_id = uuid.uuid4()
    referrals = [create_referral(actor, case, service, flags=flags, given_by=given_by,
                                 scope=scope, note=note, now=now, consent_id=consent_id)
                 for service, flags in choices if service is not None]
    record_consent(actor, case, referrals, consent_id=consent_id, at=now)
    return referrals


def allowed_actions(user: User, referral: Referral) -> list[str]:
    """The transitions this user may take now, in the order of the workflow."""
    sides = side_of(user, referral)
    return [action for action, (side, sources, _target) in vocab.TRANSITIONS.items()
            if side in sides and referral.status in sources]


def side_of(user: User, referral: Referral) -> set[str]:
    """Which side(s) of the referral this user acts for."""
    sides = set()
    if user.has_role(Role.SERVICE_PROVIDER) and user.organization_id == referral.receiving_org_id:
        sides.add("receiver")
    if user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER) \
            and user.organization_id == referral.sending_org_id:
        if user.has_role(Role.CASE_MANAGER):
            sides.add("sender")
        else:  # a field worker acts for the sender while the case is theirs or assigned
            case = db.session.get(Case, referral.case_id)
            if case is not None and user.id in (case.owner_id, case.assignee_id):
                sides.add("sender")
    return sides


def transition(actor: User, referral: Referral, action: str, *, reason: str | None = None,
               outcome: str | None = None, now: datetime | None = None) -> None:
    now = now or clock.now()
    if action not in vocab.TRANSITIONS:
        raise ValidationFailed(_l("Not one of the allowed values."),
                               fields={"action": [_l("Not one of the allowed values.")]})
    side, sources, target = vocab.TRANSITIONS[action]
    if side not in side_of(actor, referral):
        raise NotAllowed(_l("Only the other organization can do this."))
    if referral.status not in sources:
        raise IllegalTransition(_l("A referral that is %(status)s cannot be moved this way.",
                                   status=vocab.STATUSES[referral.status]))
    if action == "decline" and not (reason and reason.strip()):
        raise ValidationFailed(_l("Give a reason for declining."),
                               fields={"reason": [_l("This field is required.")]})
    if action == "complete" and not (outcome and outcome.strip()):
        raise ValidationFailed(_l("Describe the outcome."),
                               fields={"outcome": [_l("This field is required.")]})
    previous = referral.status
    referral.status = target
    if action == "decline":
        referral.decline_reason = reason.strip()[:2000]
    if action in ("acknowledge", "decline") and referral.acknowledged_at is None:
        referral.acknowledged_at = now  # an answer is an acknowledgement
        referral.ack_seconds = int((now - referral.created_at).total_seconds())
    if action == "complete":
        referral.outcome = outcome.strip()[:2000]
    if action == "cancel" and reason and reason.strip():
        referral.cancel_reason = reason.strip()[:2000]
    if target in ("declined", "completed", "cancelled"):
        referral.closed_at = now
    if side == "receiver":  # news for the sender (the home page counts it)
        referral.receiver_activity_at = now
    referral.events.append(ReferralEvent(action=action, from_status=previous, to_status=target,
                                         actor_id=actor.id,
                                         organization_id=actor.organization_id, at=now))
    db.session.flush()
    notices.on_referral_status(referral, now=now)
    audit.record(f"referral.{action}", actor=actor, object_type="referral",
                 object_id=referral.id, details={"from": previous, "to": target})


@dataclass
class ReferralFilters:
    box: str = "inbox"
    status: str | None = None
    urgency: str | None = None
    overdue: bool = False
    news: bool = False  # outbox: what the receiving side did since the sender last looked


def default_box(user: User) -> str:
    """Service providers work their inbox; case workers follow what they sent."""
    return "inbox" if user.has_role(Role.SERVICE_PROVIDER) else "outbox"


def box_condition(user: User, box: str) -> Any:
    """SQL condition for the user's inbox (to their organization, for service providers)
    or outbox (from their organization, for case workers: what they may see)."""
    if box == "inbox":
        if not user.has_role(Role.SERVICE_PROVIDER):
            return sa.false()
        return Referral.receiving_org_id == user.organization_id
    if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return sa.false()
    mine = Referral.sending_org_id == user.organization_id
    if user.has_role(Role.CASE_MANAGER):
        return mine
    visible_cases = sa.select(Case.id).where(sa.or_(Case.owner_id == user.id,
                                                    Case.assignee_id == user.id))
    return sa.and_(mine, Referral.case_id.in_(visible_cases))


def has_news() -> Any:
    """SQL condition: the receiving side updated or moved the referral after the sending
    side last opened it (see followup.py)."""
    return sa.and_(Referral.receiver_activity_at.is_not(None),
                   sa.or_(Referral.sender_seen_at.is_(None),
                          Referral.receiver_activity_at > Referral.sender_seen_at))


def list_referrals(user: User, filters: ReferralFilters, *, page: int = 1, per_page: int = 25,
                   now: datetime | None = None) -> tuple[list[Referral], int]:
    now = now or clock.now()
    stmt = sa.select(Referral).where(box_condition(user, filters.box),
                                     Referral.erased_at.is_(None))
    if filters.status:
        stmt = stmt.where(Referral.status == filters.status)
    if filters.urgency:
        stmt = stmt.where(Referral.urgency == filters.urgency)
    if filters.overdue:
        stmt = stmt.where(Referral.status == "sent", Referral.due_at <= now)
    if filters.news:
        stmt = stmt.where(has_news())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        stmt.with_only_columns(Referral.id).subquery())) or 0
    urgency_rank = sa.case({"urgent": 4, "high": 3, "medium": 2, "low": 1},
                           value=Referral.urgency, else_=0)
    rows = db.session.scalars(stmt.order_by(
        sa.case((Referral.status == "sent", 0), else_=1), urgency_rank.desc(),
        Referral.due_at).limit(per_page).offset((page - 1) * per_page)
        # A list shows each service's name, not the places it covers.
        .options(defaultload(Referral.service).lazyload(Service.coverage))).all()
    return list(rows), total


def box_counts(user: User, *, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Open and overdue counts per box, for the home page."""
    now = now or clock.now()
    out = {}
    for box in ("inbox", "outbox"):
        cond = box_condition(user, box)
        base = sa.select(sa.func.count()).select_from(Referral).where(
            cond, Referral.erased_at.is_(None))
        out[box] = {
            "open": db.session.scalar(base.where(Referral.status.in_(
                ("sent", "acknowledged", "accepted")))) or 0,
            "overdue": db.session.scalar(base.where(Referral.status == "sent",
                                                    Referral.due_at <= now)) or 0,
        }
    return out


def referral_to_dict(referral: Referral, viewer: User, *,
                     now: datetime | None = None) -> dict[str, Any]:
    from fieldapp.risk.labels import reason_text

    now = now or clock.now()
    sides = side_of(viewer, referral)
    snapshot = json.loads(referral.snapshot) if referral.snapshot else {"shared": {},
                                                                        "motivation": []}
    body = {
        "id": str(referral.id),
        "reference": referral.reference,
        "status": referral.status,
        "urgency": referral.urgency,
        "created_at": referral.created_at.isoformat(),
        "due_at": referral.due_at.isoformat(),
        "overdue": referral.overdue(now),
        "acknowledged_at": referral.acknowledged_at.isoformat()
        if referral.acknowledged_at else None,
        "closed_at": referral.closed_at.isoformat() if referral.closed_at else None,
        "service": {"id": str(referral.service_id), "name": referral.service.name,
                    "type": referral.service_type},
        "sending_organization": organization_name(referral.sending_org_id),
        "receiving_organization": organization_name(referral.receiving_org_id),
        "flags": referral.flag_list,
        "motivation": [{**m, "reasons": [reason_text(r) for r in m.get("reasons", [])]}
                       for m in snapshot.get("motivation", [])],
        "consent": {"given_by": referral.consent_given_by, "scope": referral.scope_list},
        "note": referral.note,
        "shared": snapshot.get("shared", {}),
        "decline_reason": referral.decline_reason,
        "outcome": referral.outcome,
        "history": [{"action": e.action, "from": e.from_status, "to": e.to_status,
                     "at": e.at.isoformat(), "organization": organization_name(e.organization_id)}
                    for e in referral.events],
        "your_side": sorted(sides),
        "sender_contact": sender_contact(referral),
    }
    if "sender" in sides:
        body["case_id"] = str(referral.case_id)
        body["cancel_reason"] = referral.cancel_reason
    return body


def sender_contact(referral: Referral) -> dict[str, str | None]:
    """Who referred, to call back: the sending staff member's name, organization, work
    phone and e-mail (work contact only; nothing of the person referred)."""
    sender = db.session.get(User, referral.sender_id)
    return {"name": sender.name if sender else None,
            "organization": organization_name(referral.sending_org_id),
            "phone": sender.work_phone if sender else None,
            "email": sender.email if sender else None}


def organization_name(org_id: uuid.UUID) -> str:
    org = db.session.get(Organization, org_id)
    return org.name if org else ""


def organization_names(referrals: Iterable[Referral]) -> Callable[[uuid.UUID], str]:
    """`organization_name` for a list of referrals: both sides' names in one query,
    instead of one per row."""
    wanted = {i for r in referrals for i in (r.sending_org_id, r.receiving_org_id)}
    names: dict[uuid.UUID, str] = {}
    if wanted:
        names = {org_id: name for org_id, name in db.session.execute(
            sa.select(Organization.id, Organization.name).where(Organization.id.in_(wanted)))}
    return lambda org_id: names.get(org_id, "")


def record_view(actor: User, referral: Referral) -> None:
    audit.record("referral.viewed", actor=actor, object_type="referral", object_id=referral.id,
                 organization_id=actor.organization_id)


def erase_referral(referral: Referral, *, reason: str = "request") -> None:
    """Crypto-shred the snapshot, note and reasons: delete the referral's data key."""
    if referral.erased_at is not None:
        return
    for name in ("note", "snapshot", "decline_reason", "outcome", "cancel_reason"):
        setattr(referral, name + "_enc", None)
    for update in referral.updates:  # sealed under the same key: gone with it anyway
        update.text_enc = None
    referral.key = None
    referral.forget_data_key()
    referral.erased_at = clock.now()
    db.session.flush()
    audit.record("referral.erased", object_type="referral", object_id=referral.id,
                 organization_id=referral.sending_org_id, details={"reason": reason})


def erase_referrals_of_case(case_id: uuid.UUID, *, reason: str) -> int:
    rows = db.session.scalars(sa.select(Referral).where(Referral.case_id == case_id)).all()
    for referral in rows:
        erase_referral(referral, reason=reason)
    return len(rows)


@case_erased.connect
def _on_case_erased(case: Case, *, reason: str) -> None:
    erase_referrals_of_case(case.id, reason="case_" + reason)
