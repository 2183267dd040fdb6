"""Organizations, users and their roles, browser sessions and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.accounts.roles import Role
from fieldapp.crypto import WrappedKey
from fieldapp.db import UTCDateTime, utcnow
from fieldapp.extensions import db, keys
from fieldapp.sealing import Sealed
from fieldapp.times import default_zone


def _zone_of_new_organization(context: Any) -> str:
    """Unless given, a new organization's time zone is its country's (or division's)."""
    row = context.get_current_parameters()
    return default_zone(row.get("country_code"), row.get("location_code"))


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    country_code: Mapped[str] = mapped_column(sa.ForeignKey("locations.code"))
    location_code: Mapped[str | None] = mapped_column(sa.ForeignKey("locations.code"))
    shares_statistics: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Where its people's clocks are: an IANA name (pages show times in it; stored UTC).
    time_zone: Mapped[str] = mapped_column(sa.String(64), default=_zone_of_new_organization)
    # Public contact data (the service directory's HSDS organization; slips people carry)
    # and where e-mail notices of referrals go (none: no notices).
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    notice_email: Mapped[str | None] = mapped_column(sa.String(254))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organization")

    def __repr__(self) -> str:
        return f"<Organization {self.id}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)

    __table_args__ = (
        sa.CheckConstraint(
            "role IN (" + ", ".join(f"'{r.value}'" for r in Role) + ")", name="role"
        ),
    )


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # None: no saved language; the browser's Accept-Language decides.
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    # A staff member's work phone, shown to partners who receive their referrals.
    work_phone: Mapped[str | None] = mapped_column(sa.String(32))
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when someone else chose the password (an administrator's page, or
    # `flask users ... --temporary`): until the user changes it, nothing else is reachable.
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                                       server_default=sa.false())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an administrator last removed this user's second factors; the user is told
    # at the next login, then it is cleared (the audit event stays).
    second_factor_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def set_roles(self, roles: set[Role]) -> None:
        current = {Role(r.role): r for r in self.role_rows}
        for role, row in current.items():
            if role not in roles:
                self.role_rows.remove(row)
        for role in roles - set(current):
            self.role_rows.append(UserRole(role=role.value))

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserSession(db.Model):
    """A browser session held on the server, so it can be revoked.

    The cookie carries a random identifier; only its SHA-256 is stored here.
    """

    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When this session last proved a second factor (login, or confirming again before
    # a dangerous act); None: password only.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the token was issued against a second factor; None: password only.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class TotpCredential(db.Model):
    """A user's TOTP secret (RFC 6238), sealed under a data key of its own that the key
    ring wraps (like a case's). Pending until a first code confirms it.

    `last_step` is the latest 30-second step a code was accepted for: a code is never
    accepted twice, and no older one after it."""

    __tablename__ = "totp_credentials"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    kek_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    wrapped: Mapped[bytes] = mapped_column(sa.LargeBinary)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    secret_enc: Mapped[bytes] = mapped_column(sa.LargeBinary)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    secret = Sealed("secret")

    def data_key(self) -> bytes:
        cached = self.__dict__.get("_data_key")
        if cached is None:
            cached = keys.crypto.unwrap(WrappedKey(self.kek_id, self.wrapped),
                                        owner="totp", owner_id=str(self.id))
            self.__dict__["_data_key"] = cached
        return cached

    def new_data_key(self) -> None:
        plain = keys.crypto.new_data_key()
        wrapped = keys.crypto.wrap(plain, owner="totp", owner_id=str(self.id))
        self.kek_id, self.wrapped = wrapped.kek_id, wrapped.blob
        self.__dict__["_data_key"] = plain


class RecoveryCode(db.Model):
    """A single-use recovery code: only a SHA-256 of (user id, code) is kept. Codes carry
    100 random bits, so a plain hash is enough (nothing to guess from it)."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Passkey(db.Model):
    """A WebAuthn credential registered as a second factor. The public key is not
    secret; the label is the user's own name for the device."""

    __tablename__ = "passkeys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(sa.LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    transports: Mapped[str] = mapped_column(sa.String(200), default="")
    label: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
