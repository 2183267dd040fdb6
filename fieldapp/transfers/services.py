"""What the transfers feature does (SPEC §11.7): continuity codes, transfer requests, and
the new case an approval creates at the requesting organization.

Plain functions, as everywhere: they flush, the request commits once. The HTML pages
and the API call the same functions. Nothing here searches for a person: a transfer
starts only from a code the person carries.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from fieldapp import clock
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.cases import assessment, vocab
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case, CaseBlindIndex, CaseFlag, CaseGroup
from fieldapp.db import new_record_key
from fieldapp.exceptions import Conflict, DomainError, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.locations.models import Location, LocationLevel
from fieldapp.notices import services as notices
from fieldapp.referrals.vocab import SCOPES
from fieldapp.risk import registration
from fieldapp.risk.engine import Assessment
from fieldapp.transfers.codes import code_hash, format_code, new_code, normalize_code
from fieldapp.transfers.models import ContinuityCode, Transfer
from fieldapp.transfers.vocab import GROUP_NAMES

__all__ = ["CodeRefused", "IllegalTransition", "TransferNotFound", "code_errors",
           "code_to_dict", "codes_of", "decide", "format_code", "get_visible",
           "incoming_waiting_count", "issue_code", "may_issue", "normalize_code",
           "request_transfer", "revoke_code", "transfer_to_dict", "transfers_for",
           "transfers_of_case"]

MAX_DAYS = 180
MAX_COUNTRIES = 30
ACTIONS = ("approve", "decline", "cancel")
STATUSES = {
    "requested": _l("Requested"),
    "approved": _l("Approved"),
    "declined": _l("Declined"),
    "cancelled": _l("Cancelled"),
}
CODE_STATUSES = {
    "active": _l("Active"),
    "used": _l("Used"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
}
# One message for every code that cannot start a transfer here, whatever the reason:
# the requester must not learn whether a code exists, was used, or is for elsewhere.
CODE_REFUSED = _l("This code cannot be used here. Check it with the person; the "
                  "organization that gave it can issue a new one.")
NOT_A_CODE = _l("A code has 16 letters and digits, like 7KQ4-M2XD-9TWR-AB3C. Check each "
                "character with the slip.")


class CodeRefused(DomainError):
    """Unknown, used, revoked or expired code, the own organization's code, or an
    organization outside the code's countries: all the same to the caller."""

    code = "not_found"
    status = 404

    def __init__(self) -> None:
        super().__init__(CODE_REFUSED)


class TransferNotFound(DomainError):
    code = "not_found"
    status = 404


class CodeNotFound(DomainError):
    code = "not_found"
    status = 404


class IllegalTransition(DomainError):
    code = "illegal_transition"
    status = 409


# -- continuity codes -----------------------------------------------------------------------

def may_issue(user: User, case: Case) -> bool:
    """Issuing and revoking codes: the case's owner, or a case manager of its organization."""
    if case.organization_id != user.organization_id or case.erased_at is not None:
        return False
    if user.has_role(Role.CASE_MANAGER):
        return True
    return user.has_role(Role.FIELD_WORKER) and case.owner_id == user.id


def _country_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Location.code).where(
        Location.level == LocationLevel.COUNTRY.value)))


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _clean_list(value: Any) -> list[str] | None:
    """A list of texts, or None when it is not one."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        return None
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def code_errors(case: Case, *, scope: Any, countries: Any, expires_on: Any,
                given_by: Any, today: date | None = None) -> dict[str, list]:
    """Every problem of these values at once (field -> messages), for one-round forms;
    empty when a code can be issued with them. Changes nothing.

    `expires_on` is a date or an ISO date text; it must be after today and at most
    180 days away (today by fieldapp.clock, UTC).
    """
    today = today or clock.now().date()
    errors: dict[str, list] = {}
    if case.consent_withdrawn:
        errors["consent"] = [_l("The person withdrew consent: no continuity code can be "
                                "issued for this case.")]
    groups = _clean_list(scope)
    if groups is None and scope not in (None, ""):
        errors["scope"] = [_l("Not one of the allowed values.")]
    elif not groups:
        errors["scope"] = [_l("Choose at least one group of information that may travel.")]
    elif set(groups) - set(SCOPES):
        errors["scope"] = [_l("Not one of the allowed values.")]
    places = _clean_list(countries)
    if places is None and countries not in (None, ""):
        errors["countries"] = [_l("Not one of the allowed values.")]
    elif not places:
        errors["countries"] = [_l("Choose at least one country where the code may be used.")]
    elif len(places) > MAX_COUNTRIES:
        errors["countries"] = [_l("Too many items.")]
    elif {p.upper() for p in places} - _country_codes():
        errors["countries"] = [_l("Unknown country.")]
    until = _parse_date(expires_on)
    last = today + timedelta(days=MAX_DAYS)
    if expires_on in (None, ""):
        errors["expires_on"] = [_l("This field is required.")]
    elif until is None:
        errors["expires_on"] = [_l("Use a date like 2026-04-02.")]
    elif until <= today:
        errors["expires_on"] = [_l("Choose a date after today.")]
    elif until > last:
        errors["expires_on"] = [_l("At most %(n)d days from today (until %(date)s).",
                                   n=MAX_DAYS, date=last.isoformat())]
    if given_by not in vocab.CONSENT_GIVERS:
        errors["consent.given_by"] = [_l("Record who gave consent.")]
    return errors


def issue_code(actor: User, case: Case, *, scope: Any, countries: Any, expires_on: Any,
               given_by: Any) -> tuple[ContinuityCode, str]:
    """Issue a continuity code for the case; returns the row and the code, grouped for
    reading (`7KQ4-M2XD-9TWR-AB3C`). The code is shown this once and stored only as a
    keyed hash: a lost slip means issuing a new code.

    NotAllowed (403) unless the actor is the owner or a case manager; Conflict (409)
    for a closed case; ValidationFailed (422, every problem at once, withdrawn consent
    included) for bad values.
    """
    now = clock.now()
    if not may_issue(actor, case):
        raise NotAllowed(_l("Only the case's owner or a case manager can do this."))
    if case.status != "open":
        raise Conflict(_l("This case is closed. Reopen it first."))
    errors = code_errors(case, scope=scope, countries=countries, expires_on=expires_on,
                         given_by=given_by, today=now.date())
    if errors:
        raise ValidationFailed(_l("Some fields need attention."), fields=errors)
    groups = [s for s in SCOPES if s in _clean_list(scope)]  # the vocabulary's order
    places = sorted({p.upper() for p in _clean_list(countries) or []})
    raw = new_code()
    row = ContinuityCode(id=uuid.uuid4(), case_id=case.id, organization_id=case.organization_id,
                         issued_by_id=actor.id, issued_at=now, code_hash=code_hash(raw),
                         given_by=given_by, scope=",".join(groups), countries=",".join(places),
                         expires_on=_parse_date(expires_on))
    db.session.add(row)
    db.session.flush()
    audit.record("continuity_code.issued", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id,
                 details={"code_id": str(row.id), "scope": groups, "countries": places,
                          "expires_on": row.expires_on.isoformat(), "given_by": given_by})
    return row, format_code(raw)


def codes_of(case: Case) -> list[ContinuityCode]:
    """The case's codes, newest first (for those who may see the case)."""
    return list(db.session.scalars(sa.select(ContinuityCode).where(
        ContinuityCode.case_id == case.id).order_by(ContinuityCode.issued_at.desc(),
                                                     ContinuityCode.id)))


def _revoke(row: ContinuityCode, *, actor: User | None, why: str, now: datetime) -> None:
    row.revoked_at = now
    row.revoked_by_id = actor.id if actor is not None else None
    row.revoked_why = why
    audit.record("continuity_code.revoked", actor=actor, object_type="case",
                 object_id=row.case_id, organization_id=row.organization_id,
                 details={"code_id": str(row.id), "why": why})


def revoke_code(actor: User, case: Case, code_id: Any) -> ContinuityCode:
    """Revoke one code of the case (owner or case manager). Revoking a revoked code
    changes nothing; a used code cannot be revoked (decline its transfer instead): 409.
    A code of another case is not found (404)."""
    now = clock.now()
    row = None
    try:
        row = db.session.get(ContinuityCode, uuid.UUID(str(code_id)))
    except ValueError:
        pass
    if row is None or row.case_id != case.id:
        raise CodeNotFound(_l("Not found."))
    if not may_issue(actor, case):
        raise NotAllowed(_l("Only the case's owner or a case manager can do this."))
    if row.used_at is not None:
        raise Conflict(_l("This code was already used: decline its transfer request "
                          "instead."))
    if row.revoked_at is None:
        _revoke(row, actor=actor, why="by_user", now=now)
        db.session.flush()
    return row


def code_to_dict(row: ContinuityCode, *, today: date | None = None) -> dict[str, Any]:
    """A code as the case's people see it (never the code: it is not kept)."""
    today = today or clock.now().date()
    issuer = db.session.get(User, row.issued_by_id)
    return {"id": str(row.id), "status": row.status(today), "scope": row.scope_list,
            "countries": row.country_list, "expires_on": row.expires_on.isoformat(),
            "given_by": row.given_by, "issued_at": row.issued_at.isoformat(),
            "issued_by": {"id": str(row.issued_by_id), "name": issuer.name if issuer else None},
            "used_at": row.used_at.isoformat() if row.used_at else None,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


# -- requests -----------------------------------------------------------------------------

def request_transfer(actor: User, code_text: Any, *, stage: str = "transit") -> Transfer:
    """Request the case behind a code, for the actor's organization.

    The code becomes used now, whatever the issuing organization decides later (a
    declined or cancelled transfer needs a new code). A text that cannot be a code is
    a ValidationFailed (422, nothing counted). Every code that cannot start a transfer
    here raises CodeRefused (404, one message) after adding its audit events to the
    session: commit them before answering, as after a failed login.
    `stage`: the stage of displacement the new case will have (SPEC §2).
    """
    now = clock.now()
    if not actor.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        raise NotAllowed(_l("You are not allowed to do this."))
    errors: dict[str, list] = {}
    canonical = normalize_code(code_text) if isinstance(code_text, str) else None
    if canonical is None:
        errors["code"] = [NOT_A_CODE]
    if stage not in vocab.STAGES:
        errors["stage"] = [_l("Not one of the allowed values.")]
    if errors:
        raise ValidationFailed(_l("Some fields need attention."), fields=errors)
    assert canonical is not None
    row = db.session.scalar(sa.select(ContinuityCode).where(
        ContinuityCode.code_hash == code_hash(canonical)).with_for_update())
    why = _refusal(row, actor, now.date())
    if why is not None:
        audit.record("transfer.code_refused", actor=actor, allowed=False,
                     object_type="transfer", details={})
        if row is not None and why != "own_organization":
            # The issuing organization learns that its code was tried, and why it was
            # refused: a slip shown at the wrong place may have been lost or taken.
            audit.record("continuity_code.refused", actor=actor, allowed=False,
                         object_type="case", object_id=row.case_id,
                         organization_id=row.organization_id,
                         details={"code_id": str(row.id), "why": why,
                                  "requesting_organization_id": str(actor.organization_id)})
        raise CodeRefused()
    assert row is not None
    row.used_at = now
    transfer = Transfer(id=uuid.uuid4(), code_id=row.id, case_id=row.case_id,
                        from_org_id=row.organization_id, to_org_id=actor.organization_id,
                        requested_by_id=actor.id, requested_at=now, scope=row.scope,
                        given_by=row.given_by, stage=stage, status="requested",
                        keep_open=False)
    transfer.new_data_key()
    db.session.add(transfer)
    db.session.flush()
    audit.record("transfer.requested", actor=actor, object_type="transfer",
                 object_id=transfer.id, organization_id=actor.organization_id,
                 details={"from_organization_id": str(transfer.from_org_id),
                          "to_organization_id": str(transfer.to_org_id)})
    notices.on_transfer_status(transfer, now=now)  # an e-mail to the issuer, if it has one
    return transfer


def _refusal(row: ContinuityCode | None, actor: User, today: date) -> str | None:
    """Why this code cannot start a transfer for the actor (None: it can)."""
    if row is None:
        return "unknown"
    status = row.status(today)
    if status != "active":
        return status
    if row.organization_id == actor.organization_id:
        return "own_organization"
    org = db.session.get(Organization, actor.organization_id)
    if org is None or org.country_code not in row.country_list:
        return "country"
    return None


# -- reading transfers --------------------------------------------------------------------

def box_condition(user: User, box: str) -> Any:
    """SQL condition: incoming (requests to the user's organization as issuer: a case
    manager sees all, a field worker those of cases they own) or outgoing (requests it
    made: a case manager sees all, a field worker their own)."""
    if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return sa.false()
    manager = user.has_role(Role.CASE_MANAGER)
    if box == "incoming":
        mine = Transfer.from_org_id == user.organization_id
        if manager:
            return mine
        return sa.and_(mine, Transfer.case_id.in_(
            sa.select(Case.id).where(Case.owner_id == user.id)))
    if box == "outgoing":
        mine = Transfer.to_org_id == user.organization_id
        return mine if manager else sa.and_(mine, Transfer.requested_by_id == user.id)
    return sa.false()


def transfers_for(actor: User, box: str, *, status: str | None = None) -> list[Transfer]:
    """The actor's incoming or outgoing transfers: waiting ones first, newest first."""
    stmt = sa.select(Transfer).where(box_condition(actor, box))
    if status:
        stmt = stmt.where(Transfer.status == status)
    return list(db.session.scalars(stmt.order_by(
        sa.case((Transfer.status == "requested", 0), else_=1),
        Transfer.requested_at.desc(), Transfer.id)))


def incoming_waiting_count(user: User) -> int:
    """How many transfer requests wait for this user's decision (a home-page notice)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Transfer).where(
        box_condition(user, "incoming"), Transfer.status == "requested")) or 0


def may_see(user: User, transfer: Transfer) -> bool:
    return bool(transfer.sides_of(user))


def get_visible(actor: User, transfer_id: Any) -> Transfer:
    """The transfer, if the actor is on one of its sides; TransferNotFound (404) for
    transfers that do not exist and for those of others alike."""
    transfer = None
    try:
        transfer = db.session.get(Transfer, uuid.UUID(str(transfer_id)))
    except ValueError:
        pass
    if transfer is None or not may_see(actor, transfer):
        raise TransferNotFound(_l("Not found."))
    return transfer


def transfers_of_case(case: Case) -> list[Transfer]:
    """The transfer history of a case: those made from it (to whom, when, which groups)
    and the one it came from, newest first. For those who may see the case."""
    return list(db.session.scalars(sa.select(Transfer).where(sa.or_(
        Transfer.case_id == case.id, Transfer.new_case_id == case.id)).order_by(
        Transfer.requested_at.desc(), Transfer.id)))


def _org(org_id: uuid.UUID) -> dict[str, Any]:
    org = db.session.get(Organization, org_id)
    return {"id": str(org_id), "name": org.name if org else ""}


def allowed_actions(user: User, transfer: Transfer) -> list[str]:
    if transfer.status != "requested":
        return []
    sides = transfer.sides_of(user)
    return [a for a in ACTIONS if ("requester" if a == "cancel" else "issuer") in sides]


def transfer_to_dict(transfer: Transfer, viewer: User) -> dict[str, Any]:
    """The transfer as one side sees it. Nothing about the person, ever: the issuer sees
    its own case's id and reference; the requester, once approved, its new case's.
    Which side is decided by the viewer's organization."""
    issuer = viewer.organization_id == transfer.from_org_id
    requester = viewer.organization_id == transfer.to_org_id
    new_case = db.session.get(Case, transfer.new_case_id) if transfer.new_case_id else None
    by = db.session.get(User, transfer.requested_by_id)
    reason = None
    if transfer.status in ("declined", "cancelled") and transfer.reason_enc is not None:
        reason = transfer.reason
    body: dict[str, Any] = {
        "id": str(transfer.id), "status": transfer.status,
        "from_organization": _org(transfer.from_org_id),
        "to_organization": _org(transfer.to_org_id),
        "scope": transfer.scope_list, "stage": transfer.stage,
        "requested_at": transfer.requested_at.isoformat(),
        "decided_at": transfer.decided_at.isoformat() if transfer.decided_at else None,
        "case_id": None, "case_reference": None, "reason": reason,
        "requested_by": {"name": by.name if by else None,
                         "email": by.email if by else None,
                         "phone": by.work_phone if by else None},
        "your_side": sorted(transfer.sides_of(viewer)),
        "allowed_actions": allowed_actions(viewer, transfer),
    }
    if issuer:
        original = transfer.case
        body.update(case_id=str(transfer.case_id),
                    case_reference=original.reference if original is not None else None,
                    keep_open=transfer.keep_open, ended_by=transfer.ended_by,
                    code_id=str(transfer.code_id))
    elif requester and transfer.status == "approved" and new_case is not None:
        body.update(case_id=str(new_case.id), case_reference=new_case.reference)
    return body


# -- deciding -----------------------------------------------------------------------------

def decide(actor: User, transfer: Transfer, action: str, *, reason: str | None = None,
           keep_open: bool = False) -> Transfer:
    """approve | decline (the issuer: the case's owner or a case manager) or cancel (the
    requester, or a case manager of the requesting organization), while requested.

    Approving creates the new case at the requesting organization with exactly the
    consented groups, and closes the original as transferred unless `keep_open`.
    The other side's action is NotAllowed (403); any move from a decided transfer is
    IllegalTransition (409); declining needs a reason (422). Reasons are sealed.
    """
    now = clock.now()
    if action not in ACTIONS:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"action": [_l("Not one of the allowed values.")]})
    side = "requester" if action == "cancel" else "issuer"
    if side not in transfer.sides_of(actor):
        raise NotAllowed(_l("Only the other organization can do this."))
    if transfer.status != "requested":
        raise IllegalTransition(_l("This transfer was already decided: %(status)s.",
                                   status=STATUSES[transfer.status]))
    text = (reason or "").strip()[:2000] if isinstance(reason, str) else ""
    if action == "decline" and not text:
        raise ValidationFailed(_l("Give a reason for declining."),
                               fields={"reason": [_l("This field is required.")]})
    if action == "approve":
        _approve(actor, transfer, keep_open=bool(keep_open), now=now)
    else:
        transfer.status = "declined" if action == "decline" else "cancelled"
        transfer.reason = text or None
    transfer.decided_at = now
    transfer.decided_by_id = actor.id
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_l("Someone else decided this transfer in the meantime.")) from None
    audit.record(f"transfer.{transfer.status}", actor=actor, object_type="transfer",
                 object_id=transfer.id, organization_id=actor.organization_id,
                 details={"from_organization_id": str(transfer.from_org_id),
                          "to_organization_id": str(transfer.to_org_id),
                          **({"case_id": str(transfer.case_id),
                              "new_case_id": str(transfer.new_case_id),
                              "keep_open": transfer.keep_open}
                             if transfer.status == "approved" else {})})
    notices.on_transfer_status(transfer, now=now)  # the requester hears of an answer
    return transfer


def _approve(actor: User, transfer: Transfer, *, keep_open: bool, now: datetime) -> None:
    original = transfer.case
    if original is None or original.erased_at is not None:
        raise Conflict(_l("The case no longer exists."))
    if original.consent_withdrawn:
        raise Conflict(_l("The person withdrew consent: the case cannot be transferred."))
    new = _new_case(actor, transfer, original, now=now)
    transfer.status = "approved"
    transfer.new_case_id = new.id
    transfer.keep_open = keep_open
    if not keep_open and original.status == "open":
        to = _org(transfer.to_org_id)["name"]
        case_services.close_case(actor, original, now=now,
                                 reason=_("Transferred to %(org)s (transfer %(id)s).",
                                          org=to, id=str(transfer.id)))


# -- the new case -------------------------------------------------------------------------

def _locale_of(user: User | None) -> str:
    wanted = user.locale if user is not None and user.locale else None
    if wanted in current_app.config["LANGUAGES"]:
        return str(wanted)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _new_case(actor: User, transfer: Transfer, original: Case, *, now: datetime) -> Case:
    """The case at the requesting organization: its own data key and reference, the
    consented groups of the original as they are now, blind indexes computed here,
    groups and flags evaluated here. Owner: who requested it; place: the requesting
    organization's. Nothing outside the consented groups is copied."""
    scope = set(transfer.scope_list)
    org = db.session.get(Organization, transfer.to_org_id)
    requester = db.session.get(User, transfer.requested_by_id)
    code = transfer.code
    on = now.date()
    place = org.location_code or org.country_code
    from_name = _org(transfer.from_org_id)["name"]
    country = place.split("-")[0]
    with force_locale(_locale_of(requester)):
        consent_note = _("Came by transfer from %(org)s: consent to the transfer was "
                         "recorded there on %(date)s. Groups that came: %(groups)s.",
                         org=from_name, date=code.issued_at.date().isoformat(),
                         # The groups' short names, as the case and transfer pages show them.
                         groups=", ".join(str(GROUP_NAMES.get(g, g))
                                          for g in transfer.scope_list))
    case = Case(id=uuid.uuid4(), organization_id=org.id, owner_id=transfer.requested_by_id,
                registered_at=now, registered_on=on, updated_at=now,
                registered_month=on.strftime("%Y-%m"), record_key=new_record_key(),
                reference=case_services.next_reference(place, on), status="open",
                priority="none", priority_rank=0, location_code=place, country_code=country,
                division_code="-".join(place.split("-")[:2]) if "-" in place else None,
                stage=transfer.stage,
                # Consent to the transfer, recorded where the code was issued: a basis
                # the organization documents (the note says where it came from).
                consent_basis="other", consent_given_by=transfer.given_by,
                consent_language=(original.consent_language if "identity" in scope
                                  else registration.HOST_LANGUAGES.get(country, "es")),
                consent_recorded_by_id=code.issued_by_id, consent_recorded_at=code.issued_at,
                sex="unknown", nationality="UNKNOWN", age_band="unknown")
    case.new_data_key()
    case.consent_note = consent_note
    age: int | None = None
    if "identity" in scope:
        age = assessment.age_of(original, on)
        case.given_name = original.given_name
        case.family_name = original.family_name
        case.date_of_birth = original.date_of_birth
        case.age_years = None if original.date_of_birth else str(age)
        case.sex = original.sex
        case.nationality = original.nationality
        case.age_band = vocab.age_band(age)
    if "contact" in scope:
        case.phone = original.phone
        case.address = original.address
    if "documents" in scope and original.document_number:
        case.document_type = original.document_type
        case.document_number = original.document_number
    if "notes" in scope:
        case.notes = original.notes
    answers: dict[str, Any] = {}
    if "assessment_details" in scope:
        answers = assessment.answers_of(original)
        if answers:
            case.assessment = json.dumps(answers, sort_keys=True)
            case.assessed_on, case.assessed_at = on, now
    db.session.add(case)
    case.household = []
    case.flags = []
    case.groups = []
    _index(case)
    case_services._tally(case.organization_id, +1)  # the case list's count (cases feature)
    result = _evaluate(case, answers, age)
    _set_groups_and_flags(case, result, now=now)
    if "risk_summary" in scope:
        _carry_flags(case, original, from_name=from_name, notes="notes" in scope,
                     locale=_locale_of(requester), now=now)
    assessment.set_priority(case)
    # The approval made it: the approver is the actor, the requesting organization's trail
    # holds the event.
    audit.record("case.created", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id,
                 details={"via": "transfer", "transfer_id": str(transfer.id),
                          "flags": len(case.flags)})
    return case


def _index(case: Case) -> None:
    rows = [{"case_id": case.id, "kind": kind, "value": value}
            for kind, value in case_services.index_values(
                given_name=case.given_name, family_name=case.family_name,
                date_of_birth=case.date_of_birth, document_number=case.document_number)]
    if rows:
        db.session.flush()  # the case row exists before its index rows reference it
        db.session.execute(sa.insert(CaseBlindIndex), rows)


def _evaluate(case: Case, answers: dict[str, Any], age: int | None) -> Assessment:
    """The rule set at the new organization; without the identity group the age is
    unknown (assessment.evaluate_at_every_age)."""
    if age is not None:
        return assessment.rule_set().evaluate(answers, age=age, sex=case.sex,
                                              nationality=case.nationality,
                                              known=assessment.known_answers(case))
    return assessment.evaluate_at_every_age(case, answers)


def _stats_copy(case: Case) -> dict[str, Any]:
    return {"organization_id": case.organization_id,
            "registered_month": case.registered_month, "location_code": case.location_code,
            "record_key": case.record_key}


def _set_groups_and_flags(case: Case, result: Assessment, *, now: datetime) -> None:
    for code in sorted(set(result.groups)):
        case.groups.append(CaseGroup(code=code, **_stats_copy(case)))
    for fired in result.flags:
        row = CaseFlag(id=uuid.uuid4(), code=fired.code, severity=fired.severity,
                       source="rule", active=True, rule_set_version=result.rule_set_version,
                       set_at=now, **_stats_copy(case))
        case.flags.append(row)
        row.reasons = json.dumps(list(fired.reasons))


def _carry_flags(case: Case, original: Case, *, from_name: str, notes: bool, locale: str,
                 now: datetime) -> None:
    """The risk summary: the original's flags that count and that the rules here did not
    raise themselves come as manual flags, saying where they were raised and why (rule
    reasons; a person's own words only when notes may travel too)."""
    from fieldapp.risk.labels import reason_text

    present = {f.code for f in case.flags}
    for flag in original.flags:
        if not flag.counts or flag.code in present:
            continue
        with force_locale(locale):
            why = [reason_text(r) for r in json.loads(flag.reasons)] \
                if flag.source == "rule" and flag.reasons else []
            if flag.source == "manual" and notes and flag.manual_reason:
                why.append(flag.manual_reason)
            text = _("Came with the transfer from %(org)s, where it was raised on %(date)s.",
                     org=from_name, date=flag.set_at.date().isoformat())
        row = CaseFlag(id=uuid.uuid4(), code=flag.code, severity=flag.severity,
                       source="manual", active=True, set_at=now, **_stats_copy(case))
        case.flags.append(row)
        row.manual_reason = " ".join([text, *why])[:2000]


# -- consent withdrawn, case erased ---------------------------------------------------------

def end_for_case(case: Case, *, actor: User | None, why: str,
                 now: datetime | None = None) -> None:
    """Consent withdrawn or case erased: every live code of the case is revoked, and every
    transfer still waiting is declined (by the system: `ended_by`)."""
    now = now or clock.now()
    for row in db.session.scalars(sa.select(ContinuityCode).where(
            ContinuityCode.case_id == case.id, ContinuityCode.used_at.is_(None),
            ContinuityCode.revoked_at.is_(None))):
        _revoke(row, actor=actor, why=why, now=now)
    declined = list(db.session.scalars(sa.select(Transfer).where(
        Transfer.case_id == case.id, Transfer.status == "requested")))
    for transfer in declined:
        transfer.status = "declined"
        transfer.ended_by = why
        transfer.decided_at = now
        transfer.decided_by_id = actor.id if actor is not None else None
        audit.record("transfer.declined", actor=actor, object_type="transfer",
                     object_id=transfer.id, organization_id=case.organization_id,
                     details={"from_organization_id": str(transfer.from_org_id),
                              "to_organization_id": str(transfer.to_org_id), "why": why})
    db.session.flush()
    for transfer in declined:
        notices.on_transfer_status(transfer, now=now)


def shred_reasons_of_case(case: Case) -> None:
    """Erasure: the free text of the case's transfers goes with the case (their keys
    are deleted); the transfers themselves stay, as both organizations' history."""
    for transfer in db.session.scalars(sa.select(Transfer).where(
            Transfer.case_id == case.id)):
        transfer.reason_enc = None
        transfer.key = None
        transfer.forget_data_key()
    db.session.flush()


@case_services.consent_withdrawn.connect
def _on_consent_withdrawn(case: Case, *, actor: User | None, now: datetime) -> None:
    end_for_case(case, actor=actor, why="consent_withdrawn", now=now)


@case_services.case_erased.connect
def _on_case_erased(case: Case, *, reason: str) -> None:
    end_for_case(case, actor=None, why="case_erased")
    shred_reasons_of_case(case)
