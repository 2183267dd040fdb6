"""What the accounts feature does: log in, sessions, tokens, users, organizations.

Plain functions with explicit arguments. They flush; the request commits once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from fieldapp import contact_details
from fieldapp.accounts import passwords
from fieldapp.accounts.models import (
    ApiToken,
    Organization,
    Passkey,
    TotpCredential,
    User,
    UserSession,
)
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.audit.models import AuditEvent
from fieldapp.db import utcnow
from fieldapp.exceptions import LoginFailed, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.locations.models import Location, LocationLevel
from fieldapp.times import default_zone, is_zone

GENERIC_LOGIN_ERROR = _l("Email or password not recognized, or too many attempts. "
                         "Check them and try again in a few minutes.")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


# -- logging in ---------------------------------------------------------------------------

def check_password(email: str, password: str, *, channel: str) -> User:
    """The first step of a login: return the user whose password this is, or raise
    LoginFailed with one message whatever the cause (unknown, wrong, locked, inactive).

    A wrong password counts on the account (`count_failed_login`). A right one does not
    yet clear the count: that waits for `finish_login`, after the second factor, so
    that someone holding the password cannot guess codes without limit.
    """
    now = utcnow()
    user = find_user_by_email(email) if email else None
    if user is None:
        passwords.burn_verify_time(password)
        audit.record("login.failed", allowed=False, details={"reason": "unknown_account",
                                                               "channel": channel})
        raise LoginFailed(GENERIC_LOGIN_ERROR)
    locked = is_locked(user, now)
    ok = passwords.verify_password(user.password_hash, password)
    if locked or not ok or not user.active:
        reason = "locked" if locked else ("inactive" if ok else "wrong_password")
        if not ok and not locked:
            count_failed_login(user, reason=reason, channel=channel)
        else:
            audit.record("login.failed", object_type="user", object_id=user.id,
                         organization_id=user.organization_id, allowed=False,
                         details={"reason": reason, "channel": channel})
        raise LoginFailed(GENERIC_LOGIN_ERROR)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def count_failed_login(user: User, *, reason: str, channel: str) -> None:
    """A wrong password or a wrong second-factor code: counted alike, and the account is
    locked for LOGIN_LOCKOUT_DURATION after LOGIN_LOCKOUT_THRESHOLD in a row."""
    cfg = current_app.config
    # Counted in the database (not read-modify-write in Python): failures arriving at the
    # same moment on several processes all count.
    count = db.session.execute(
        sa.update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)
        .execution_options(synchronize_session=False)).scalar_one()
    set_committed_value(user, "failed_logins", count)
    if count >= cfg["LOGIN_LOCKOUT_THRESHOLD"]:
        user.locked_until = utcnow() + cfg["LOGIN_LOCKOUT_DURATION"]
        user.failed_logins = 0
        audit.record("account.locked", object_type="user", object_id=user.id,
                     organization_id=user.organization_id, allowed=False)
    audit.record("login.failed", object_type="user", object_id=user.id,
                 organization_id=user.organization_id, allowed=False,
                 details={"reason": reason, "channel": channel})


def finish_login(user: User, *, channel: str, second_factor: str | None = None) -> None:
    """Every step passed: clear the failure count and record login.ok (with the second
    factor used, if any: totp, recovery_code or passkey)."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    details = {"channel": channel}
    if second_factor:
        details["second_factor"] = second_factor
    audit.record("login.ok", actor=user, object_type="user", object_id=user.id,
                 details=details)


def authenticate(email: str, password: str, *, channel: str) -> User:
    """Password-only login (accounts without a second factor; tests and tools).
    The caller commits in both cases (a failure must still be recorded)."""
    user = check_password(email, password, channel=channel)
    finish_login(user, channel=channel)
    return user


# -- browser sessions ---------------------------------------------------------------------

def start_session(user: User, *, second_factor: bool = False) -> str:
    """Create a server-side session; return the random identifier for the cookie.
    `second_factor`: the login proved one (the session starts fresh)."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_token_hash(token), user_id=user.id,
                               second_factor_at=utcnow() if second_factor else None))
    db.session.flush()
    return token


def resolve_session(token: str) -> User | None:
    """The user of a live session, or None when unknown, revoked or timed out.

    One statement reads the session, its user and roles, and whether the user has a
    second factor (for `sessions.require_second_factor`, later in the same request)."""
    cfg = current_app.config
    found = db.session.execute(
        _session_statement(), {"hash": _token_hash(token)}).unique().first()
    if found is None:
        return None
    row, user, enrolled = found
    now = utcnow()
    if (now - row.created_at >= cfg["SESSION_ABSOLUTE_TIMEOUT"]
            or now - row.last_seen_at >= cfg["SESSION_IDLE_TIMEOUT"]):
        db.session.delete(row)
        db.session.commit()
        return None
    if user is None or not user.active:
        return None
    g.user_session = row  # for the second-factor checks of this request
    _remember_second_factor(user, enrolled)
    if (now - row.last_seen_at).total_seconds() > 30:
        row.last_seen_at = now
        db.session.commit()
    return user


def end_session(token: str, *, user: User | None) -> None:
    db.session.execute(sa.delete(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if user is not None:
        audit.record("logout", actor=user, object_type="user", object_id=user.id)


def end_all_sessions(user: User) -> None:
    """Revoke every browser session and API token of the user."""
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# -- API tokens ---------------------------------------------------------------------------

def issue_token(user: User, *, second_factor: bool = False) -> tuple[str, datetime]:
    """`second_factor`: the request proved one (the token starts fresh)."""
    token = "fa_" + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + current_app.config["API_TOKEN_TTL"]
    row = ApiToken(token_hash=_token_hash(token), user_id=user.id, expires_at=expires_at,
                   second_factor_at=now if second_factor else None)
    db.session.add(row)
    db.session.flush()
    audit.record("token.issued", actor=user, object_type="api_token", object_id=row.id)
    return token, expires_at


def resolve_token(token: str) -> ApiToken | None:
    """The live token, with its user and roles and (for `sessions.require_second_factor`)
    whether the user has a second factor: one statement."""
    found = db.session.execute(
        _token_statement(), {"hash": _token_hash(token)}).unique().first()
    if found is None:
        return None
    row, enrolled = found
    if row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if not row.user.active:
        return None
    _remember_second_factor(row.user, enrolled)
    return row


# Every signed-in request runs one of these two: built once per process.

@functools.cache
def _session_statement() -> sa.Select:
    return (sa.select(UserSession, User, _has_second_factor(UserSession.user_id))
            .outerjoin(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == sa.bindparam("hash"))
            .options(joinedload(User.role_rows)))


@functools.cache
def _token_statement() -> sa.Select:
    return (sa.select(ApiToken, _has_second_factor(ApiToken.user_id))
            .where(ApiToken.token_hash == sa.bindparam("hash"))
            .options(joinedload(ApiToken.user).joinedload(User.role_rows)))


def _has_second_factor(user_id: Any) -> sa.ColumnElement[bool]:
    """The question of `two_factor.is_enrolled` (a confirmed TOTP or a passkey), as a
    column of the query that reads the session or token (tests/perf checks that both
    answer alike)."""
    totp = sa.exists().where(TotpCredential.user_id == user_id,
                             TotpCredential.confirmed_at.is_not(None))
    passkey = sa.exists().where(Passkey.user_id == user_id)
    return sa.or_(totp, passkey).label("has_second_factor")


def _remember_second_factor(user: User, enrolled: bool) -> None:
    """For this request's second-factor check only (`sessions.require_second_factor`
    takes it once, before the request's own work): what was read a moment earlier."""
    g.second_factor_enrolled = (user.id, bool(enrolled))


def revoke_token(row: ApiToken, *, actor: User) -> None:
    row.revoked_at = utcnow()
    audit.record("token.revoked", actor=actor, object_type="api_token", object_id=row.id)


# -- passwords ----------------------------------------------------------------------------

def own_password_errors(user: User, *, current: str, new: str,
                        confirm: str) -> dict[str, list]:
    """Everything wrong with a change of one's own password, all at once; changes
    nothing (the form asks this too when its own checks fail, for one round)."""
    fields: dict[str, list] = {}
    current_ok = bool(current) and passwords.verify_password(user.password_hash, current)
    if not current_ok:
        fields["current_password"] = [_l("Current password is wrong.")]
    errors = passwords.policy_errors(new, email=user.email)
    if errors:
        fields["new_password"] = errors
    # Only with the right current password: otherwise this would confirm a guess.
    elif current_ok and new == current:
        fields["new_password"] = [_l("Choose a password different from the current one.")]
    if confirm != new:
        fields["confirm"] = [_l("The two passwords do not match.")]
    return fields


def change_own_password(user: User, *, current: str, new: str, confirm: str) -> None:
    """Change one's own password; every session and token of the user ends.

    The only way anybody sets their own password, and the way out of a password set
    by someone else (`must_change_password`)."""
    fields = own_password_errors(user, current=current, new=new, confirm=confirm)
    if fields:
        raise ValidationFailed(_l("The new password was not accepted."), fields=fields)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    end_all_sessions(user)
    audit.record("user.password_changed", actor=user, object_type="user", object_id=user.id)


def _actor_password_errors(actor: User, actor_password: str | None) -> dict[str, list]:
    """Creating a user or setting a password needs the acting administrator's password
    again, so a stolen session alone cannot do it."""
    if actor_password and passwords.verify_password(actor.password_hash, actor_password):
        return {}
    return {"actor_password": [_l("Your own password is missing or wrong.")]}


def require_password_settable(actor: User, user: User) -> None:
    """May this administrator set this user's password? Nobody sets their own here:
    the own-account page, with the current password, is the only way."""
    if user.id == actor.id:
        raise NotAllowed(_l("Change your own password on your account page, "
                            "with your current password."))
    require_manageable(actor, user)


def reset_password_errors(actor: User, user: User, *, new: str,
                          actor_password: str | None) -> dict[str, list]:
    """Everything wrong with setting this password, all at once; changes nothing."""
    fields = _actor_password_errors(actor, actor_password)
    errors = passwords.policy_errors(new, email=user.email)
    if errors:
        fields["new_password"] = errors
    return fields


def reset_password(actor: User, user: User, *, new: str, actor_password: str | None) -> None:
    """An administrator sets a new password, to be changed at the user's next login;
    the user's sessions end."""
    require_password_settable(actor, user)
    fields = reset_password_errors(actor, user, new=new, actor_password=actor_password)
    if fields:
        raise ValidationFailed(_l("The password was not set."), fields=fields)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    end_all_sessions(user)
    audit.record("user.password_reset", actor=actor, object_type="user", object_id=user.id,
                 organization_id=user.organization_id)


# -- users --------------------------------------------------------------------------------

def grantable_roles(actor: User, organization: Organization) -> list[Role]:
    """The roles this actor may give (or take away) in this organization: the one rule
    behind role choices, creating, changing roles, setting passwords and deactivating.

    A platform admin gives only `org_admin` and `admin` (and `supervisor` in its own
    organization: anonymized statistics); it keeps no path to case data. Case roles
    come only from an org_admin of the same organization, which never gives `admin`.
    """
    own = organization.id == actor.organization_id
    allowed: set[Role] = set()
    if actor.has_role(Role.ORG_ADMIN) and own:
        allowed |= set(Role) - {Role.ADMIN}
    if actor.has_role(Role.ADMIN):
        allowed |= {Role.ORG_ADMIN, Role.ADMIN}
        if own:
            allowed.add(Role.SUPERVISOR)
    return [r for r in Role if r in allowed]


def can_manage(actor: User, user: User) -> bool:
    """True when the actor could have given every role the user holds, in its organization."""
    allowed = set(grantable_roles(actor, user.organization))
    return bool(allowed) and user.roles <= allowed


def require_manageable(actor: User, user: User) -> None:
    """An administrator acts (rename, roles, password, status) only on users whose every
    role it could grant in their organization: an org_admin cannot touch a platform
    admin, and a platform admin cannot touch an account that reaches case data."""
    if can_manage(actor, user):
        return
    if user.has_role(Role.ADMIN) and not actor.has_role(Role.ADMIN):
        raise NotAllowed(_l("Only a platform administrator can change this user."))
    raise NotAllowed(_l("Only an administrator of this user's organization can change "
                        "this user."))


def _require_grantable(actor: User, organization: Organization, roles: set[Role],
                       previous: frozenset[Role] = frozenset()) -> None:
    allowed = set(grantable_roles(actor, organization))
    if (roles ^ previous) - allowed:
        raise NotAllowed(_l("You may not grant or remove that role."))


def new_user_errors(actor: User, *, email: str, roles: set[Role], password: str,
                    actor_password: str | None) -> dict[str, list]:
    """Everything wrong with these values for a new user, all at once; changes nothing.
    (Which roles the actor may give is a refusal, not a field error: `create_user`.)"""
    email = normalize_email(email)
    fields = _actor_password_errors(actor, actor_password)
    if email and find_user_by_email(email) is not None:
        fields["email"] = [_l("A user with this email already exists.")]
    if not roles:
        fields["roles"] = [_l("Choose at least one role.")]
    errors = passwords.policy_errors(password, email=email)
    if errors:
        fields["password"] = errors
    return fields


def create_user(
    actor: User, *, email: str, name: str, organization: Organization, roles: set[Role],
    password: str, actor_password: str | None,
) -> User:
    """Create a user whose password (set by the actor) must be changed at first login."""
    email = normalize_email(email)
    _require_grantable(actor, organization, roles)
    fields = new_user_errors(actor, email=email, roles=roles, password=password,
                             actor_password=actor_password)
    if fields:
        raise ValidationFailed(_l("The user was not created."), fields=fields)
    user = User(email=email, name=name.strip(), organization=organization,
                password_hash=passwords.hash_password(password), must_change_password=True)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor=actor, object_type="user", object_id=user.id,
                 organization_id=organization.id,
                 details={"roles": sorted(r.value for r in roles)})
    return user


def user_update_errors(actor: User, user: User, *, roles: set[Role],
                       actor_password: str | None) -> dict[str, list]:
    """Everything wrong with these roles for this user, all at once; changes nothing.
    Keeping the roles needs nothing; changing them needs the actor's password."""
    if roles == set(user.roles):
        return {}
    fields: dict[str, list] = {}
    if not actor_password or not passwords.verify_password(actor.password_hash,
                                                            actor_password):
        fields["actor_password"] = [_l("Your password is needed to change roles.")]
    if not roles:
        fields["roles"] = [_l("Choose at least one role.")]
    return fields


def update_user(actor: User, user: User, *, name: str, roles: set[Role],
                actor_password: str | None) -> None:
    """Rename and change roles. Any change of roles needs the actor's password again;
    nobody changes their own roles (another administrator must, and it is audited)."""
    require_manageable(actor, user)
    if roles != set(user.roles):
        if user.id == actor.id:
            raise NotAllowed(_l("You may not change your own roles."))
        fields = user_update_errors(actor, user, roles=roles, actor_password=actor_password)
        if fields:
            raise ValidationFailed(_l("Enter your own password to change roles.")
                                   if "actor_password" in fields
                                   else _l("Choose at least one role."), fields=fields)
        _require_grantable(actor, user.organization, roles, user.roles)
        before = sorted(r.value for r in user.roles)
        user.set_roles(roles)
        audit.record("user.roles_changed", actor=actor, object_type="user", object_id=user.id,
                     organization_id=user.organization_id,
                     details={"before": before, "after": sorted(r.value for r in roles)})
        # Sessions carry no roles, but a user losing a role should start afresh.
        end_all_sessions(user)
    if name.strip() != user.name:
        user.name = name.strip()
        audit.record("user.updated", actor=actor, object_type="user", object_id=user.id,
                     organization_id=user.organization_id, details={"fields": ["name"]})


def set_active(actor: User, user: User, *, active: bool) -> None:
    require_manageable(actor, user)
    if user.id == actor.id:
        raise NotAllowed(_l("You may not deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    if not active:
        end_all_sessions(user)
    audit.record("user.activated" if active else "user.deactivated", actor=actor,
                 object_type="user", object_id=user.id, organization_id=user.organization_id)


def set_locale(user: User, locale: str | None) -> None:
    user.locale = locale


# Like a case's phone (fieldapp.cases.inputs).
WORK_PHONE_RE = re.compile(r"^[0-9+()\-. ]{5,32}$")


def work_phone_errors(phone: str | None) -> dict[str, list]:
    if phone and not WORK_PHONE_RE.match(phone.strip()):
        return {"work_phone": [_l("Use digits, spaces and + ( ) - . only.")]}
    return {}


def set_work_phone(user: User, phone: str | None) -> None:
    """One's own work phone, shown to partners who receive one's referrals."""
    fields = work_phone_errors(phone)
    if fields:
        raise ValidationFailed(_l("Your profile was not saved."), fields=fields)
    user.work_phone = (phone or "").strip() or None
    audit.record("user.profile_changed", actor=user, object_type="user", object_id=user.id,
                 details={"work_phone_given": user.work_phone is not None})


def list_users(organization_id: uuid.UUID | None) -> list[User]:
    stmt = sa.select(User).order_by(User.email)
    if organization_id is not None:
        stmt = stmt.where(User.organization_id == organization_id)
    return list(db.session.scalars(stmt))


# What administrators of other organizations did to an organization's accounts (each
# has its label in accounts/home.html).
ACCOUNT_ACTIONS = ("user.created", "user.roles_changed", "user.password_reset",
                   "user.activated", "user.deactivated", "user.updated", "2fa.reset")


@dataclass(frozen=True)
class AccountChange:
    """One audited change to an account, made from outside its organization."""

    action: str
    occurred_at: datetime
    account_email: str | None  # None: the account no longer exists
    actor_email: str | None  # None: the server's command line
    roles: tuple[Role, ...]  # given at creation, or held after a role change


def account_changes_from_outside(organization_id: uuid.UUID, *,
                                 limit: int = 10) -> list[AccountChange]:
    """The latest changes to the organization's accounts by someone who is not of the
    organization (a platform admin, or the server's command line), newest first: shown
    to its org_admins, so a platform admin acting on their accounts is seen."""
    actor = aliased(User)
    rows = db.session.execute(
        sa.select(AuditEvent, actor.email)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(AuditEvent.organization_id == organization_id,
               AuditEvent.object_type == "user",
               AuditEvent.action.in_(ACCOUNT_ACTIONS),
               AuditEvent.allowed.is_(True),
               sa.or_(actor.id.is_(None), actor.organization_id != organization_id))
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    ).all()
    ids = set()
    for event, _email in rows:
        try:
            ids.add(uuid.UUID(event.object_id or ""))
        except ValueError:
            continue
    emails = {str(uid): email for uid, email in db.session.execute(
        sa.select(User.id, User.email).where(User.id.in_(ids)))} if ids else {}
    changes = []
    for event, actor_email in rows:
        details = json.loads(event.details or "{}")
        names = details.get("after", details.get("roles", []))
        changes.append(AccountChange(
            action=event.action, occurred_at=event.occurred_at,
            account_email=emails.get(event.object_id or ""), actor_email=actor_email,
            roles=tuple(r for r in Role if r.value in names)))
    return changes


# -- organizations ------------------------------------------------------------------------

def countries() -> list[Location]:
    return list(db.session.scalars(
        sa.select(Location).where(Location.level == LocationLevel.COUNTRY).order_by(Location.code)
    ))


# Public contact details (the directory's HSDS organization) and the address that gets
# e-mail notices of referrals; `description` is text, the others None when not given.
CONTACT_FIELDS: dict[str, Callable[[str], Any]] = {
    "phone": contact_details.phone_problem, "email": contact_details.email_problem,
    "website": contact_details.url_problem, "notice_email": contact_details.email_problem}
MAX_DESCRIPTION = 2000


def parse_organization_contact(values: Mapping[str, Any]
                               ) -> tuple[dict[str, str | None], dict[str, list]]:
    """The checked contact details, and everything wrong with them (by field)."""
    out: dict[str, str | None] = {}
    fields: dict[str, list] = {}
    description = values.get("description")
    if description is not None and not isinstance(description, str):
        fields["description"] = [_l("Must be text.")]
    elif len((description or "").strip()) > MAX_DESCRIPTION:
        fields["description"] = [_l("At most %(n)d characters.", n=MAX_DESCRIPTION)]
    else:
        out["description"] = (description or "").strip()
    for name, problem_of in CONTACT_FIELDS.items():
        try:
            value = contact_details.cleaned(values.get(name))
        except TypeError:
            fields[name] = [_l("Must be text.")]
            continue
        problem = problem_of(value) if value is not None else None
        if problem is not None:
            fields[name] = [problem]
        else:
            out[name] = value
    return out, fields


def organization_errors(name: str, country_code: str, location_code: str | None,
                        exclude_id: uuid.UUID | None = None, *,
                        time_zone: str | None = None,
                        contact: Mapping[str, Any] | None = None) -> dict[str, list]:
    """Everything wrong with these organization fields, all at once; changes nothing."""
    fields: dict[str, list] = dict(parse_organization_contact(contact)[1]) if contact else {}
    if time_zone and not is_zone(time_zone):
        fields["time_zone"] = [_l("Unknown time zone: choose one from the list.")]
    clash = db.session.scalar(sa.select(Organization.id).where(Organization.name == name.strip()))
    if clash is not None and clash != exclude_id:
        fields["name"] = [_l("An organization with this name already exists.")]
    country = db.session.get(Location, country_code)
    if country is None or country.level != LocationLevel.COUNTRY:
        fields["country_code"] = [_l("Unknown country.")]
    if location_code:
        loc = db.session.get(Location, location_code)
        if loc is None or not (loc.code == country_code or loc.code.startswith(country_code + "-")):
            fields["location_code"] = [_l("Unknown place, or not in that country.")]
    return fields


def check_organization_fields(name: str, country_code: str, location_code: str | None,
                              exclude_id: uuid.UUID | None = None, *,
                              time_zone: str | None = None,
                              contact: Mapping[str, Any] | None = None) -> None:
    fields = organization_errors(name, country_code, location_code, exclude_id,
                                 time_zone=time_zone, contact=contact)
    if fields:
        raise ValidationFailed(_l("The organization was not saved."), fields=fields)


def create_organization(actor: User, *, name: str, kind: str, country_code: str,
                        location_code: str | None, shares_statistics: bool,
                        time_zone: str | None = None,
                        contact: Mapping[str, Any] | None = None) -> Organization:
    """`time_zone` empty or None: the usual zone of the country (or border division).
    `contact`: description, phone, email, website, notice_email (see CONTACT_FIELDS)."""
    check_organization_fields(name, country_code, location_code, time_zone=time_zone,
                              contact=contact)
    org = Organization(name=name.strip(), kind=kind, country_code=country_code,
                       location_code=location_code or None,
                       shares_statistics=shares_statistics,
                       time_zone=time_zone or default_zone(country_code, location_code),
                       **(parse_organization_contact(contact)[0] if contact else {}))
    db.session.add(org)
    db.session.flush()
    audit.record("organization.created", actor=actor, object_type="organization",
                 object_id=org.id, organization_id=org.id)
    return org


def update_organization(actor: User, org: Organization, *, name: str, kind: str,
                        country_code: str, location_code: str | None,
                        shares_statistics: bool, time_zone: str | None = None,
                        contact: Mapping[str, Any] | None = None) -> None:
    """`time_zone` None keeps the zone; empty: the usual zone of the (new) country.
    `contact` None keeps the contact details; the audit names changed fields only."""
    check_organization_fields(name, country_code, location_code, exclude_id=org.id,
                              time_zone=time_zone, contact=contact)
    zone = org.time_zone if time_zone is None else (
        time_zone or default_zone(country_code, location_code))
    changed = []
    details = parse_organization_contact(contact)[0] if contact is not None else {}
    for field, value in (("name", name.strip()), ("kind", kind), ("country_code", country_code),
                         ("location_code", location_code or None),
                         ("shares_statistics", shares_statistics), ("time_zone", zone),
                         *details.items()):
        if getattr(org, field) != value:
            setattr(org, field, value)
            changed.append(field)
    if changed:
        audit.record("organization.updated", actor=actor, object_type="organization",
                     object_id=org.id, organization_id=org.id, details={"fields": changed})


def list_organizations(only_id: uuid.UUID | None = None) -> list[Organization]:
    stmt = sa.select(Organization).order_by(Organization.name)
    if only_id is not None:
        stmt = stmt.where(Organization.id == only_id)
    return list(db.session.scalars(stmt))
