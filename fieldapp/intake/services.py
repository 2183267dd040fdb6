"""What offline intake does. Plain functions; they flush, the request commits once.

A record sent from a phone is opened with the intake key, validated by the same
validator as every registration (`cases.inputs.parse_case`) and registered by the
same service (`cases.services.register_case`: own data key, sealed fields, blind
indexes, flags, audit), dated at the moment of capture. What the phone cannot
know at capture, the server raises afterwards: possible duplicates become review
items on the new case. What does not validate is kept, sealed, for a person.

Exactly once: the instance id is unique in the database. Two requests carrying
the same record race to insert it; the loser's insert fails on the constraint
(PostgreSQL makes it wait for the winner's commit first), and it answers what the
winner answered. No check-then-insert decides anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from fieldapp import authz, edge
from fieldapp.accounts.models import User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.cases import inputs
from fieldapp.cases import services as cases
from fieldapp.cases.models import Case
from fieldapp.crypto import UndecryptableRecord
from fieldapp.crypto import devices as device_keys
from fieldapp.db import utcnow
from fieldapp.exceptions import Conflict, DomainError, NotAllowed, ValidationFailed
from fieldapp.extensions import db, keys
from fieldapp.intake.models import DuplicateReview, IntakeDevice, IntakeRecord

# A phone's clock may be wrong (no network time for days): a capture time in the future
# beyond this skew, or older than MAX_CAPTURE_AGE, is not believed and the case is dated
# when it arrives instead (audited).
CLOCK_SKEW = timedelta(minutes=10)
MAX_CAPTURE_AGE = timedelta(days=180)
SIGNED_FORMAT = b"fieldapp-intake/1"
SIGNED_FIELDS = ("instance_id", "kid", "wrapped_key", "iv", "ciphertext", "created_at",
                 "form_version", "organization_id", "device")


class Undecryptable(DomainError):
    """422: the record does not open (unknown key id, wrong key or instance id, garbage)."""

    code = "undecryptable"
    status = 422


class BadSignature(DomainError):
    """422: the record is not signed by a device registered for the organization."""

    code = "bad_signature"
    status = 422


class RecordConflict(Conflict):
    """409: this instance id arrived before with other content (or from elsewhere)."""

    code = "conflict"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Submission:
    """A sealed record as a phone sends it (docs/api.md, Offline intake), decoded."""

    instance_id: uuid.UUID
    kid: str
    wrapped_key: bytes | None  # None: not base64
    iv: bytes | None
    ciphertext: bytes | None
    created_at: datetime
    form_version: str
    organization_id: uuid.UUID | None
    device: str | None
    signature: bytes | None  # b"": not base64
    signed_text: tuple[str, ...]  # the signed fields exactly as sent

    def signed_bytes(self) -> bytes:
        """What the digest and the device's signature cover: every field but the signature,
        as sent, one per line (none can hold a line break: ids, base64, ISO 8601)."""
        return SIGNED_FORMAT + b"\n" + "\n".join(self.signed_text).encode("utf-8")

    def digest(self) -> bytes:
        return hashlib.sha256(self.signed_bytes()).digest()


def _b64(value: Any) -> bytes | None:
    """Strict base64; None for anything else (the record then does not open)."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None


def decode(fields: dict[str, Any]) -> Submission:
    """The request's fields (types already checked against the OpenAPI document)."""
    problems: dict[str, list[Any]] = {}
    try:
        instance_id = uuid.UUID(fields["instance_id"])
    except ValueError:
        problems["instance_id"] = [_l("Must be a UUID.")]
    try:
        created_at = datetime.fromisoformat(fields["created_at"])
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
    except ValueError:
        problems["created_at"] = [_l("Use a date and time like 2026-04-02T10:30:00Z.")]
    organization_id = None
    if fields.get("organization_id"):
        try:
            organization_id = uuid.UUID(fields["organization_id"])
        except ValueError:
            problems["organization_id"] = [_l("Must be a UUID.")]
    if problems:
        raise ValidationFailed(_l("Some fields need attention."), fields=problems)
    signature = fields.get("signature")
    signed = tuple(str(fields.get(name) or "") for name in SIGNED_FIELDS)
    if any("\n" in text for text in signed):
        problems["body"] = [_l("No field may hold a line break.")]
        raise ValidationFailed(_l("Some fields need attention."), fields=problems)
    return Submission(
        instance_id=instance_id, kid=fields["kid"], wrapped_key=_b64(fields["wrapped_key"]),
        iv=_b64(fields["iv"]), ciphertext=_b64(fields["ciphertext"]), created_at=created_at,
        form_version=fields.get("form_version") or "", organization_id=organization_id,
        device=fields.get("device") or None,
        signature=(_b64(signature) or b"") if signature else None, signed_text=signed)


# -- receiving ------------------------------------------------------------------------------

ShapeCheck = Callable[[Any], dict[str, list[Any]]]


def receive(actor: User, sub: Submission, *, require_device: bool,
            shape_errors: ShapeCheck, now: datetime | None = None) -> Answer:
    """Open, validate and register one record; or answer a replay; or keep it for review.

    `shape_errors` holds the body to the API's CaseInput schema (the same check
    `POST /api/v1/cases` gets before its endpoint runs).
    """
    now = now or utcnow()
    if sub.organization_id is not None and sub.organization_id != actor.organization_id:
        raise RecordConflict(_l("This record was captured for another organization: it "
                                "stays on the phone."))
    device = _signing_device(actor, sub, required=require_device)
    digest = sub.digest()
    existing = _by_instance(sub.instance_id)
    if existing is not None:
        return _replay(actor, existing, digest)
    body, storable = _open(actor, sub)
    captured, believed = capture_time(sub.created_at, now)
    record = IntakeRecord(id=uuid.uuid4(), instance_id=sub.instance_id,
                          organization_id=actor.organization_id, sender_id=actor.id,
                          device_id=device.id if device else None, kid=sub.kid, digest=digest,
                          form_version=sub.form_version[:40], captured_at=captured,
                          received_at=now, status="needs_review", answer_status=0, answer="{}")
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except sa.exc.IntegrityError:
        # Another request carrying this instance id committed first: answer as it did.
        winner = _by_instance(sub.instance_id)
        if winner is None:
            raise
        return _replay(actor, winner, digest)
    if device is not None:
        device.last_seen_at = now
    if device is not None and device.revoked:
        answer = _keep(record, body, status="quarantined", problem="revoked_device")
    else:
        answer = _register_or_keep(actor, record, body if storable else None, shape_errors,
                                   raw=body)
    record.answer_status, record.answer = answer.status, json.dumps(answer.body)
    audit.record("intake.received", actor=actor, object_type="intake_record",
                 object_id=record.id, organization_id=actor.organization_id,
                 details={"instance_id": str(sub.instance_id), "status": record.status,
                          "kid": sub.kid, "device": str(device.id) if device else None,
                          "capture_time_believed": believed})
    return answer


def capture_time(created_at: datetime, now: datetime) -> tuple[datetime, bool]:
    """The capture time to date the case with, and whether the phone's clock was believed."""
    if created_at > now + CLOCK_SKEW or created_at < now - MAX_CAPTURE_AGE:
        return now, False
    return min(created_at, now), True


def _by_instance(instance_id: uuid.UUID) -> IntakeRecord | None:
    return db.session.scalar(sa.select(IntakeRecord).where(
        IntakeRecord.instance_id == instance_id))


def _replay(actor: User, existing: IntakeRecord, digest: bytes) -> Answer:
    """The same record again: the first answer, as a 200. Anything else with this id: 409,
    saying nothing about the first (it may belong to another organization)."""
    if existing.organization_id != actor.organization_id or existing.digest != digest:
        raise RecordConflict(_l("Another record with this instance id was received with "
                                "different content: this one stays on the phone."))
    return Answer(200, json.loads(existing.answer))


def _signing_device(actor: User, sub: Submission, *, required: bool) -> IntakeDevice | None:
    if sub.device is None:
        if required:
            raise BadSignature(_l("Records sent from the app must be signed by this phone."))
        return None
    device = db.session.scalar(sa.select(IntakeDevice).where(
        IntakeDevice.organization_id == actor.organization_id,
        IntakeDevice.thumbprint == sub.device))
    if device is None or not sub.signature:
        raise BadSignature(_l("This phone is not registered for offline registration."))
    key, _jwk = device_keys.public_key_from_jwk(json.loads(device.public_key))
    if not device_keys.verify(key, sub.signed_bytes(), sub.signature):
        raise BadSignature(_l("The record's signature does not match this phone."))
    return device


def _open(actor: User, sub: Submission) -> tuple[Any, bool]:
    """The decrypted body, and whether it holds only what the app can store (the checks
    fieldapp.edge makes on every request: no NUL, no lone surrogate, not too deep).
    Plaintext that is not UTF-8 JSON is as useless as garbage: undecryptable."""
    try:
        if sub.wrapped_key is None or sub.iv is None or sub.ciphertext is None:
            raise UndecryptableRecord("not base64")
        plaintext = keys.crypto.open_intake(sub.kid, wrapped_key=sub.wrapped_key, iv=sub.iv,
                                            ciphertext=sub.ciphertext,
                                            instance_id=str(sub.instance_id))
        text = plaintext.decode("utf-8")
        try:
            return edge.strict_loads(text), True
        except edge.JSONInputError:
            return json.loads(text), False
    except (UndecryptableRecord, UnicodeDecodeError, ValueError, RecursionError):
        # Recorded on its own: the request rolls back, the attempt stays in the trail.
        db.session.rollback()
        audit.record("intake.undecryptable", actor=actor, object_type="intake_record",
                     organization_id=actor.organization_id,
                     details={"instance_id": str(sub.instance_id), "kid": sub.kid})
        db.session.commit()
        raise Undecryptable(_l("The record cannot be opened.")) from None


def _register_or_keep(actor: User, record: IntakeRecord, body: Any,
                      shape_errors: ShapeCheck, *, raw: Any) -> Answer:
    """`body` is None when the record holds text the app cannot store (`raw` is kept)."""
    if not isinstance(body, dict) or shape_errors(body):
        return _keep(record, raw, status="needs_review", problem="invalid")
    try:
        with db.session.begin_nested():
            case, duplicates = register(actor, body, captured_at=record.captured_at)
    except ValidationFailed:
        return _keep(record, raw, status="needs_review", problem="invalid")
    record.status, record.case_id = "registered", case.id
    return Answer(201, registered_answer(case, duplicates))


def _keep(record: IntakeRecord, body: Any, *, status: str, problem: str) -> Answer:
    """Kept for a person: the body sealed under the record's own data key."""
    record.status, record.problem = status, problem
    record.new_data_key()
    # ASCII JSON: a lone surrogate or NUL the phone sent is escaped, so it can be sealed.
    record.body = json.dumps(body, sort_keys=True)
    return Answer(202, {"status": "needs_review", "review_id": str(record.id)})


def registered_answer(case: Case, duplicates: list[DuplicateReview]) -> dict[str, Any]:
    return {"status": "registered", "case_id": str(case.id), "reference": case.reference,
            "possible_duplicates": [duplicate_to_dict(d) for d in duplicates]}


def register(actor: User, body: dict[str, Any], *, captured_at: datetime,
             parsed: inputs.CaseInput | None = None) -> tuple[Case, list[DuplicateReview]]:
    """The normal registration path, dated at capture; duplicates raised for review.
    Raises ValidationFailed (nothing flushed is kept: callers hold a savepoint)."""
    if parsed is None:
        parsed = inputs.parse_case(body, today=captured_at.date())
    answers = None
    block = body.get("assessment")
    if block is not None:
        answers = block.get("answers", {}) if isinstance(block, dict) else block
    candidates = cases.find_duplicates(
        actor, given_name=parsed.given_name, family_name=parsed.family_name,
        date_of_birth=parsed.date_of_birth.isoformat() if parsed.date_of_birth else None,
        document_number=parsed.document_number)
    case = cases.register_case(actor, parsed, answers=answers, now=captured_at)
    reviews = []
    for candidate in candidates:
        review = DuplicateReview(id=uuid.uuid4(), case_id=case.id,
                                 candidate_id=candidate.case.id,
                                 match=",".join(candidate.match), status="open",
                                 raised_at=utcnow())
        review.case = case
        db.session.add(review)
        reviews.append(review)
    if reviews:
        db.session.flush()
        audit.record("case.duplicates_raised", actor=actor, object_type="case",
                     object_id=case.id, organization_id=case.organization_id,
                     details={"candidates": len(reviews)})
    return case, reviews


# -- the review queue -----------------------------------------------------------------------

def waiting_records(actor: User) -> list[IntakeRecord]:
    """Records kept for a person that this user may open, oldest capture first."""
    if not actor.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return []
    stmt = sa.select(IntakeRecord).where(
        IntakeRecord.organization_id == actor.organization_id,
        IntakeRecord.status.in_(("needs_review", "quarantined")))
    if not actor.has_role(Role.CASE_MANAGER):
        stmt = stmt.where(IntakeRecord.sender_id == actor.id,
                          IntakeRecord.status == "needs_review")
    return list(db.session.scalars(stmt.order_by(IntakeRecord.captured_at)))


def waiting_body(actor: User, record: IntakeRecord) -> dict[str, Any]:
    """The kept body, opened for the person who fixes it (audited like a case view)."""
    audit.record("intake.review_opened", actor=actor, object_type="intake_record",
                 object_id=record.id, organization_id=record.organization_id)
    body = _storable(json.loads(record.body or "{}"))
    return body if isinstance(body, dict) else {}


def _storable(value: Any) -> Any:
    """What a form can show and send back: NUL removed, lone surrogates replaced."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def register_waiting(actor: User, record: IntakeRecord,
                     parsed: inputs.CaseInput) -> tuple[Case, list[DuplicateReview]]:
    """A kept record, fixed by a person, registered through the normal path (dated at
    capture); its sealed body is then shredded: the case holds the data now."""
    if not record.waiting:
        raise Conflict(_l("This record was registered already."))
    body = waiting_body(actor, record)
    case, duplicates = register(actor, body, captured_at=record.captured_at, parsed=parsed)
    record.status, record.case_id = "registered", case.id
    record.reviewed_at, record.reviewed_by_id = utcnow(), actor.id
    record.shred_body()
    audit.record("intake.review_registered", actor=actor, object_type="intake_record",
                 object_id=record.id, organization_id=record.organization_id,
                 details={"case_id": str(case.id)})
    return case, duplicates


# -- possible duplicates --------------------------------------------------------------------

def duplicate_to_dict(review: DuplicateReview) -> dict[str, Any]:
    return {"id": str(review.candidate_id), "reference": review.candidate.reference,
            "match": review.matches}


def open_duplicates(case: Case) -> list[DuplicateReview]:
    return list(db.session.scalars(sa.select(DuplicateReview).where(
        DuplicateReview.case_id == case.id).order_by(DuplicateReview.raised_at)))


def duplicate_review(case: Case, candidate_id: uuid.UUID) -> DuplicateReview | None:
    return db.session.scalar(sa.select(DuplicateReview).where(
        DuplicateReview.case_id == case.id, DuplicateReview.candidate_id == candidate_id))


DECISIONS = ("same_person", "different_person")


def resolve_duplicate(actor: User, review: DuplicateReview, *, decision: str,
                      reason: str | None) -> None:
    """"Same person" links the two cases (shown on both); "different person" needs a
    reason, sealed with the case. Either closes the review item."""
    if decision not in DECISIONS:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"decision": [_l("Not one of the allowed values.")]})
    if review.status != "open":
        raise Conflict(_l("Someone already decided about this possible duplicate."))
    text = (reason or "").strip()
    if decision == "different_person" and not text:
        raise ValidationFailed(_l("Some fields need attention."), fields={
            "reason": [_l("Say why these are different people.")]})
    if len(text) > 1000:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"reason": [_l("At most %(n)d characters.", n=1000)]})
    review.status = decision
    review.resolved_at, review.resolved_by_id = utcnow(), actor.id
    review.reason = text or None
    audit.record("case.duplicate_resolved", actor=actor, object_type="case",
                 object_id=review.case_id, organization_id=review.case.organization_id,
                 details={"decision": decision, "candidate_id": str(review.candidate_id)})


def linked_as_same(case: Case) -> list[DuplicateReview]:
    """Decisions that another case is the same person as this one, either way round."""
    return list(db.session.scalars(sa.select(DuplicateReview).where(
        DuplicateReview.status == "same_person",
        sa.or_(DuplicateReview.case_id == case.id, DuplicateReview.candidate_id == case.id))))


@cases.case_erased.connect
def _on_case_erased(case: Case, *, reason: str) -> None:
    """An erased case leaves no trace of which other cases it might have been."""
    db.session.execute(sa.delete(DuplicateReview).where(sa.or_(
        DuplicateReview.case_id == case.id, DuplicateReview.candidate_id == case.id)))


# -- devices --------------------------------------------------------------------------------

def register_device(actor: User, jwk: Any, *, now: datetime | None = None) -> tuple[
        IntakeDevice, bool]:
    """The phone's public signing key, registered for the actor's organization at first
    use (created: True), or found again. A revoked key stays revoked."""
    now = now or utcnow()
    try:
        _key, canonical = device_keys.public_key_from_jwk(jwk)
    except device_keys.DeviceKeyError:
        raise ValidationFailed(_l("Some fields need attention."), fields={
            "public_key": [_l("Must be an ECDSA P-256 public key (JWK).")]}) from None
    thumb = device_keys.thumbprint(canonical)
    device = _device(actor.organization_id, thumb)
    created = False
    if device is None:
        try:
            with db.session.begin_nested():
                device = IntakeDevice(id=uuid.uuid4(), organization_id=actor.organization_id,
                                      user_id=actor.id, thumbprint=thumb,
                                      public_key=json.dumps(canonical, sort_keys=True),
                                      registered_at=now, last_seen_at=now)
                db.session.add(device)
            created = True
            audit.record("intake.device_registered", actor=actor, object_type="intake_device",
                         object_id=device.id, organization_id=actor.organization_id)
        except sa.exc.IntegrityError:
            device = _device(actor.organization_id, thumb)
            if device is None:
                raise
    if device.revoked:
        raise Conflict(_l("This phone was revoked: it can no longer send records."))
    device.last_seen_at = now
    return device, created


def _device(organization_id: uuid.UUID, thumb: str) -> IntakeDevice | None:
    return db.session.scalar(sa.select(IntakeDevice).where(
        IntakeDevice.organization_id == organization_id, IntakeDevice.thumbprint == thumb))


def visible_devices(actor: User) -> list[IntakeDevice]:
    """A user's own phones; a case manager's: every phone of the organization."""
    stmt = sa.select(IntakeDevice).where(IntakeDevice.organization_id == actor.organization_id)
    if not actor.has_role(Role.CASE_MANAGER):
        stmt = stmt.where(IntakeDevice.user_id == actor.id)
    return list(db.session.scalars(stmt.order_by(IntakeDevice.registered_at.desc())))


def revoke_device(actor: User, device: IntakeDevice) -> None:
    """From now on, whatever this phone signs goes to quarantine for a case manager."""
    if not authz.can(actor, "intake.device", device):
        raise NotAllowed()
    if device.revoked:
        return
    device.revoked_at, device.revoked_by_id = utcnow(), actor.id
    audit.record("intake.device_revoked", actor=actor, object_type="intake_device",
                 object_id=device.id, organization_id=device.organization_id)
