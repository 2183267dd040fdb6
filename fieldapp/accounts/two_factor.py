"""Second factors: TOTP (RFC 6238) with recovery codes, and what every factor shares
(enrolment status, the role policy, freshness, an administrator's reset).

Passkeys (WebAuthn) live in `fieldapp.accounts.passkeys`; they count here as a factor.

- A TOTP secret is sealed under a data key of its own, wrapped by the key ring: a copy
  of the database alone does not give anyone the codes.
- A code is accepted once: the step it belongs to is stored with a conditional UPDATE,
  so two requests racing with the same code cannot both win.
- Ten recovery codes of 100 random bits each, shown once, stored as SHA-256.
- Wrong codes count on the account like wrong passwords (services.count_failed_login).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from fieldapp.accounts import passwords
from fieldapp.accounts.models import ApiToken, Passkey, RecoveryCode, TotpCredential, User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.db import utcnow
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db

ISSUER = "fieldapp"
STEP_SECONDS = 30
DIGITS = 6
# A code is accepted for its own 30-second step and the ones just before and after
# (clock drift on cheap phones), never for a step at or before the last one used.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
RECOVERY_CODE_BYTES = 13  # 104 bits, shown as 20 base32 characters (100 bits) in groups
# A dangerous act needs a second factor proved this recently.
FRESH_WINDOW = timedelta(minutes=5)

WRONG_CODE = _l("That code was not accepted. Codes change every 30 seconds and each "
                "works once: wait for the next one, or use a recovery code.")


# -- status and policy --------------------------------------------------------------------

def totp_of(user: User) -> TotpCredential | None:
    return db.session.scalar(sa.select(TotpCredential).where(TotpCredential.user_id == user.id))


def passkey_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Passkey)
                             .where(Passkey.user_id == user.id)) or 0


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def has_totp(user: User) -> bool:
    row = totp_of(user)
    return row is not None and row.confirmed_at is not None


def is_enrolled(user: User) -> bool:
    """The account has a second factor: a confirmed TOTP or at least one passkey (one
    query: every signed-in request of a session without a proved factor asks this)."""
    totp = sa.exists().where(TotpCredential.user_id == user.id,
                             TotpCredential.confirmed_at.is_not(None))
    passkey = sa.exists().where(Passkey.user_id == user.id)
    return bool(db.session.scalar(sa.select(sa.or_(totp, passkey))))


def status(user: User) -> dict[str, object]:
    """What GET /api/v1/account says under `two_factor`."""
    return {"totp": has_totp(user), "passkeys": passkey_count(user)}


def required_roles() -> frozenset[Role]:
    return frozenset(Role(name) for name in current_app.config["TWO_FACTOR_REQUIRED_ROLES"])


def is_required(user: User) -> bool:
    """Must this user enrol before reaching anything else? (FIELDAPP_2FA_REQUIRED_ROLES)"""
    return bool(user.roles & required_roles())


def must_enrol(user: User) -> bool:
    return is_required(user) and not is_enrolled(user)


# -- TOTP enrolment -----------------------------------------------------------------------

def _require_password(user: User, password: object) -> None:
    if not isinstance(password, str) or not password or not passwords.verify_password(
            user.password_hash, password):
        raise ValidationFailed(_l("Your password is missing or wrong."),
                               fields={"password": [_l("Your password is missing or wrong.")]})


def begin_totp(user: User, password: object) -> tuple[str, str]:
    """Start (or restart) TOTP enrolment: a new secret, pending until a first code
    confirms it. Returns the base32 secret and its otpauth:// URI (for the QR code).
    Refused while a confirmed TOTP exists: disable it first."""
    _require_password(user, password)
    row = totp_of(user)
    if row is not None and row.confirmed_at is not None:
        raise Conflict(_l("An authenticator app is already set up for this account. "
                          "Remove it first to set up another."))
    if row is not None:
        db.session.delete(row)
        db.session.flush()
    secret = pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
    row = TotpCredential(id=uuid.uuid4(), user_id=user.id)
    row.new_data_key()
    row.secret = secret
    db.session.add(row)
    db.session.flush()
    return secret, provisioning_uri(user, secret)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER)


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment not confirmed yet (the enrolment page shows it again)."""
    row = totp_of(user)
    if row is None or row.confirmed_at is not None:
        return None
    return row.secret


def confirm_totp(user: User, code: object) -> list[str]:
    """Confirm enrolment with a first code; returns ten new recovery codes (shown once)."""
    row = totp_of(user)
    if row is None or row.confirmed_at is not None:
        raise Conflict(_l("There is no authenticator app waiting for confirmation: "
                          "start again."))
    if not _accept_totp(row, code):
        raise ValidationFailed(WRONG_CODE, fields={"code": [WRONG_CODE]})
    row.confirmed_at = utcnow()
    codes = _replace_recovery_codes(user)
    audit.record("2fa.enrolled", actor=user, object_type="user", object_id=user.id,
                 organization_id=user.organization_id, details={"method": "totp"})
    return codes


def disable_totp(user: User, *, password: object, otp: object) -> None:
    """Remove one's own TOTP and recovery codes; needs the password and a current code."""
    _require_password(user, password)
    row = totp_of(user)
    if row is None or row.confirmed_at is None:
        raise Conflict(_l("No authenticator app is set up for this account."))
    if not _accept_totp(row, otp):
        raise ValidationFailed(WRONG_CODE, fields={"otp": [WRONG_CODE]})
    db.session.delete(row)
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("2fa.disabled", actor=user, object_type="user", object_id=user.id,
                 organization_id=user.organization_id, details={"method": "totp"})


def _current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def _normalize_code(code: object) -> str | None:
    if not isinstance(code, str):
        return None
    digits = "".join(code.split())
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def _accept_totp(row: TotpCredential, code: object) -> bool:
    """True, once, for a right code: the matching step becomes `last_step` through a
    conditional UPDATE (a concurrent request with the same code gets False)."""
    digits = _normalize_code(code)
    if digits is None:
        return False
    totp = pyotp.TOTP(row.secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = _current_step()
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if not hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            continue
        if row.last_step is not None and step <= row.last_step:
            return False
        won = db.session.execute(
            sa.update(TotpCredential)
            .where(TotpCredential.id == row.id,
                   sa.or_(TotpCredential.last_step.is_(None), TotpCredential.last_step < step))
            .values(last_step=step)
            .execution_options(synchronize_session=False)).rowcount
        if won == 1:
            row.last_step = step
            # The UPDATE above went around the ORM: keep the identity map in step.
            db.session.expire(row, ["last_step"])
            return True
        return False
    return False


# -- recovery codes -----------------------------------------------------------------------

def _recovery_hash(user: User, code: str) -> str:
    return hashlib.sha256(f"{user.id}:{code}".encode("ascii")).hexdigest()


def _normalize_recovery(code: object) -> str | None:
    if not isinstance(code, str):
        return None
    text = "".join(ch for ch in code.upper() if ch.isalnum())
    return text if len(text) == 20 and text.isascii() else None


def _format_recovery(raw: str) -> str:
    return "-".join(raw[i:i + 5] for i in range(0, 20, 5))


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode()[:20]
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, raw)))
        codes.append(_format_recovery(raw))
    db.session.flush()
    return codes


def new_recovery_codes(user: User, *, password: object) -> list[str]:
    """Ten fresh recovery codes; the old ones stop working. Needs a second factor set up."""
    _require_password(user, password)
    if not is_enrolled(user):
        raise Conflict(_l("Set up an authenticator app or a passkey first."))
    codes = _replace_recovery_codes(user)
    audit.record("2fa.recovery_codes_renewed", actor=user, object_type="user",
                 object_id=user.id, organization_id=user.organization_id)
    return codes


def _use_recovery_code(user: User, code: object) -> bool:
    raw = _normalize_recovery(code)
    if raw is None:
        return False
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id,
               RecoveryCode.code_hash == _recovery_hash(user, raw),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if used != 1:
        return False
    audit.record("2fa.recovery_code_used", actor=user, object_type="user", object_id=user.id,
                 organization_id=user.organization_id,
                 details={"left": recovery_codes_left(user)})
    return True


# -- proving the second factor ------------------------------------------------------------

def verify_code(user: User, *, otp: object = None, recovery_code: object = None) -> str | None:
    """Check a TOTP code or a recovery code; return which was accepted, or None.
    Counts nothing: the caller decides (login: a failure; confirm-again: a failure)."""
    if otp not in (None, ""):
        row = totp_of(user)
        if row is not None and row.confirmed_at is not None and _accept_totp(row, otp):
            return "totp"
        return None
    if recovery_code not in (None, "") and _use_recovery_code(user, recovery_code):
        return "recovery_code"
    return None


def verify_any_code(user: User, code: object) -> str | None:
    """One box for both kinds (the login's second step): six digits are a TOTP code,
    anything longer a recovery code."""
    if _normalize_code(code) is not None:
        return verify_code(user, otp=code)
    return verify_code(user, recovery_code=code)


def is_fresh(proved_at: datetime | None) -> bool:
    return proved_at is not None and utcnow() - proved_at < FRESH_WINDOW


def token_is_fresh(token: ApiToken) -> bool:
    return is_fresh(token.second_factor_at)


# -- an administrator's reset -------------------------------------------------------------

def reset(actor: User, user: User, *, actor_password: object) -> None:
    """Remove every second factor of someone whose phone or key is lost: an administrator
    who may manage the account, with their own password. The user's sessions and tokens
    end, they are told at their next login, and (if their role requires it) must enrol
    again before anything else."""
    from fieldapp.accounts import services
    from fieldapp.exceptions import NotAllowed

    if user.id == actor.id:
        raise NotAllowed(_l("You may not reset your own second factor: ask another "
                            "administrator."))
    services.require_manageable(actor, user)
    if not isinstance(actor_password, str) or not actor_password or \
            not passwords.verify_password(actor.password_hash, actor_password):
        raise ValidationFailed(_l("Your own password is missing or wrong."),
                               fields={"actor_password": [
                                   _l("Your own password is missing or wrong.")]})
    remove_all(user, actor=actor)


def remove_all(user: User, *, actor: User | None, channel: str = "web") -> None:
    """Remove every second factor of the user (an administrator's page, or the server's
    command line with `actor` None): sessions and tokens end, the user is told at the next
    login, the audit says by whom."""
    from fieldapp.accounts import services

    removed = {"totp": has_totp(user), "passkeys": passkey_count(user), "channel": channel}
    db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == user.id))
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(sa.delete(Passkey).where(Passkey.user_id == user.id))
    user.second_factor_reset_at = utcnow()
    services.end_all_sessions(user)
    audit.record("2fa.reset", actor=actor, object_type="user", object_id=user.id,
                 organization_id=user.organization_id, details=removed)
