"""Passkeys (WebAuthn) as a second factor: registering one, proving it, removing it.

- A second factor, not a password replacement: the account is known before the
  ceremony (the password step, or the logged-in session), so credentials are not
  discoverable (residentKey "discouraged") and only that account's are allowed.
- Attestation "none": we do not care which maker built the authenticator.
- Each ceremony's challenge waits in the signed session cookie with the time it was
  issued, for whom and for what; it is taken out before anything is checked (one try per
  challenge) and is good for CHALLENGE_TTL.
- The cookie lives in the browser, so an old copy of it could carry a used challenge
  again; an assertion is therefore accepted only if its passkey was not used since the
  challenge was issued (a conditional UPDATE of `last_used_at`), which also stops two
  requests racing with the same assertion. Authenticators that count signatures must
  also show a higher count each time.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from fieldapp.accounts import passwords, two_factor
from fieldapp.accounts.models import Passkey, RecoveryCode, User
from fieldapp.audit import services as audit
from fieldapp.db import utcnow
from fieldapp.exceptions import DomainError, ValidationFailed
from fieldapp.extensions import db

RP_NAME = "fieldapp"
CHALLENGE_KEY = "passkey_challenge"
CHALLENGE_TTL = 300  # seconds between the options and the answer
CEREMONY_TIMEOUT_MS = 120_000  # what the browser is told to wait for the person
LABEL_MAX = 80

# What parsing or checking an untrusted credential may raise (all mean "not accepted").
# (Bad base64 and bad CBOR are ValueErrors.)
_REFUSALS = (WebAuthnException, ValueError, TypeError, KeyError, IndexError)

NOT_ACCEPTED = _l("The passkey was not accepted. Try again, or use another way to "
                  "prove it is you.")
START_AGAIN = _l("The passkey request ran out of time or was already used: try again.")
NOT_REGISTERED = _l("The passkey could not be added. Try again, or use another device.")
ALREADY_REGISTERED = _l("This passkey is already registered.")
LABEL_TOO_LONG = _l("The name of a passkey can have at most 80 characters.")


class PasskeyNotAccepted(DomainError):
    """An assertion that does not prove the account's passkey (counts like a wrong code
    at the login's second step)."""

    code = "passkey_not_accepted"
    status = 401


class CeremonyExpired(DomainError):
    """No challenge waiting for this answer: none asked, already used, expired, or asked
    for another account or purpose. Nothing was tried, so nothing counts."""

    code = "passkey_start_again"
    status = 400


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser thinks it is talking to: the RP id (a host name, no port) that
    scopes credentials, and the origin the browser writes in its client data."""

    id: str
    origin: str


def relying_party(request_url: str, base_url: str | None = None) -> RelyingParty:
    """From FIELDAPP_BASE_URL when set (behind a proxy, what users type), else from the
    address the request came to."""
    parts = urlsplit(base_url or request_url)
    host = parts.hostname or ""
    return RelyingParty(id=host, origin=f"{parts.scheme}://{parts.netloc}")


# -- reading ------------------------------------------------------------------------------

def list_for(user: User) -> list[Passkey]:
    """One's passkeys, oldest first (the security page lists them)."""
    return list(db.session.scalars(
        sa.select(Passkey).where(Passkey.user_id == user.id)
        .order_by(Passkey.created_at, Passkey.id)))


def own_passkey(user: User, passkey_id: uuid.UUID) -> Passkey | None:
    """The user's passkey with this id; None for anyone else's (the view answers 404)."""
    return db.session.scalar(sa.select(Passkey).where(
        Passkey.id == passkey_id, Passkey.user_id == user.id))


# -- the challenge ------------------------------------------------------------------------

def _remember_challenge(purpose: str, user: User, challenge: bytes) -> None:
    session[CHALLENGE_KEY] = {
        "purpose": purpose, "uid": str(user.id), "at": time.time(),
        "challenge": base64.urlsafe_b64encode(challenge).decode("ascii"),
    }


def _take_challenge(purpose: str, user: User) -> tuple[bytes, datetime]:
    """The waiting challenge and when it was issued, taken out of the session (whatever
    happens next, it cannot be answered again); CeremonyExpired when none fits."""
    kept = session.pop(CHALLENGE_KEY, None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose \
            or kept.get("uid") != str(user.id):
        raise CeremonyExpired(START_AGAIN)
    try:
        issued = float(kept["at"])
        challenge = base64.urlsafe_b64decode(str(kept["challenge"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CeremonyExpired(START_AGAIN) from exc
    if not 0 <= time.time() - issued <= CHALLENGE_TTL:
        raise CeremonyExpired(START_AGAIN)
    return challenge, datetime.fromtimestamp(issued, UTC)


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for passkey in list_for(user):
        transports = []
        for name in filter(None, passkey.transports.split(",")):
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue  # a transport this library does not know (yet): leave it out
        descriptors.append(PublicKeyCredentialDescriptor(
            id=passkey.credential_id, transports=transports or None))
    return descriptors


# -- registering --------------------------------------------------------------------------

def registration_options(user: User, rp: RelyingParty) -> str:
    """The options for navigator.credentials.create(), as JSON; the challenge waits in
    the session."""
    options = generate_registration_options(
        rp_id=rp.id, rp_name=RP_NAME, user_id=user.id.bytes, user_name=user.email,
        user_display_name=user.name, timeout=CEREMONY_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(user))
    _remember_challenge("register", user, options.challenge)
    return options_to_json(options)


def clean_label(user: User, label: object) -> str:
    """The user's name for the passkey, spaces tidied; "Passkey 2" when none is given."""
    text = " ".join(label.split()) if isinstance(label, str) else ""
    if len(text) > LABEL_MAX:
        raise ValidationFailed(LABEL_TOO_LONG, fields={"label": [LABEL_TOO_LONG]})
    if not text:
        text = _("Passkey %(number)s", number=two_factor.passkey_count(user) + 1)[:LABEL_MAX]
    return text


def register(user: User, rp: RelyingParty, *, label: object, credential: object) -> Passkey:
    """Check the answer of navigator.credentials.create() against the waiting challenge
    and keep the new passkey. Raises ValidationFailed (or CeremonyExpired)."""
    name = clean_label(user, label)
    challenge, _issued = _take_challenge("register", user)
    if not isinstance(credential, dict):
        raise ValidationFailed(NOT_REGISTERED)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin)
    except _REFUSALS as exc:
        raise ValidationFailed(NOT_REGISTERED) from exc
    transports = credential.get("response", {}).get("transports")
    passkey = Passkey(
        id=uuid.uuid4(), user_id=user.id, credential_id=verified.credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        transports=_transports_text(transports), label=name)
    try:
        with db.session.begin_nested():
            db.session.add(passkey)
    except sa.exc.IntegrityError as exc:  # the credential id is registered already
        raise ValidationFailed(ALREADY_REGISTERED) from exc
    audit.record("2fa.enrolled", actor=user, object_type="user", object_id=user.id,
                 organization_id=user.organization_id,
                 details={"method": "passkey", "passkey_id": str(passkey.id)})
    return passkey


def _transports_text(transports: object) -> str:
    """Transports the browser reported (they help it find the authenticator later)."""
    if not isinstance(transports, list):
        return ""
    known = {t.value for t in AuthenticatorTransport}
    names = [t for t in transports if isinstance(t, str) and t in known]
    return ",".join(dict.fromkeys(names))[:200]


# -- proving it ---------------------------------------------------------------------------

def authentication_options(user: User, rp: RelyingParty) -> str:
    """The options for navigator.credentials.get(): only this account's passkeys."""
    options = generate_authentication_options(
        rp_id=rp.id, timeout=CEREMONY_TIMEOUT_MS, allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED)
    _remember_challenge("authenticate", user, options.challenge)
    return options_to_json(options)


def authenticate(user: User, rp: RelyingParty, credential: object) -> Passkey:
    """Check the answer of navigator.credentials.get(): a passkey of this user signed the
    waiting challenge. Raises CeremonyExpired (nothing tried) or PasskeyNotAccepted."""
    challenge, issued = _take_challenge("authenticate", user)
    if not isinstance(credential, dict):
        raise CeremonyExpired(START_AGAIN)
    try:
        parsed = parse_authentication_credential_json(credential)
    except _REFUSALS as exc:
        raise PasskeyNotAccepted(NOT_ACCEPTED) from exc
    passkey = db.session.scalar(sa.select(Passkey).where(
        Passkey.credential_id == parsed.raw_id, Passkey.user_id == user.id))
    if passkey is None:
        raise PasskeyNotAccepted(NOT_ACCEPTED)
    handle = parsed.response.user_handle
    if handle and handle != user.id.bytes:
        raise PasskeyNotAccepted(NOT_ACCEPTED)
    try:
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count)
    except _REFUSALS as exc:
        raise PasskeyNotAccepted(NOT_ACCEPTED) from exc
    now = utcnow()
    won = db.session.execute(
        sa.update(Passkey)
        .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count,
               sa.or_(Passkey.last_used_at.is_(None), Passkey.last_used_at < issued))
        .values(sign_count=verified.new_sign_count, last_used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if won != 1:  # used since this challenge was issued: a replay, or a race lost
        raise PasskeyNotAccepted(NOT_ACCEPTED)
    # The UPDATE went around the ORM: keep the identity map in step.
    db.session.expire(passkey, ["sign_count", "last_used_at"])
    return passkey


# -- removing -----------------------------------------------------------------------------

def remove(user: User, passkey: Passkey, *, password: object) -> None:
    """Remove one of one's own passkeys; needs the account's password. When it was the
    last second factor, the recovery codes go too (they belong to a factor)."""
    if passkey.user_id != user.id:
        raise ValueError("not this user's passkey")
    if not isinstance(password, str) or not password or not passwords.verify_password(
            user.password_hash, password):
        raise ValidationFailed(_l("Your password is missing or wrong."),
                               fields={"password": [_l("Your password is missing or wrong.")]})
    passkey_id = passkey.id
    db.session.delete(passkey)
    db.session.flush()
    if not two_factor.is_enrolled(user):
        db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("2fa.disabled", actor=user, object_type="user", object_id=user.id,
                 organization_id=user.organization_id,
                 details={"method": "passkey", "passkey_id": str(passkey_id)})
