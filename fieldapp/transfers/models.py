"""Continuity codes and transfers (SPEC §11.7): the case follows the person.

A code is kept only as a keyed hash (see codes.py) with what the person consented
to: which groups travel, to which countries, until when. A transfer is the request
an organization made with a code, and what the issuing organization decided. Its
only free text (a decline or cancel reason) is sealed under the transfer's own data
key, which both organizations' readings go through and which erasure shreds.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.accounts.roles import Role
from fieldapp.crypto import DecryptionError, WrappedKey
from fieldapp.db import UTCDateTime, utcnow
from fieldapp.extensions import db, keys
from fieldapp.sealing import Sealed

Blob = sa.LargeBinary


def _split(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


class ContinuityCode(db.Model):
    """A code the person carries. Never the code itself: its keyed hash."""

    __tablename__ = "continuity_codes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    issued_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    code_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    # The consent: who gave it, which groups travel, to which countries, until when.
    given_by: Mapped[str] = mapped_column(sa.String(16))
    scope: Mapped[str] = mapped_column(sa.String(120))  # comma-separated groups
    countries: Mapped[str] = mapped_column(sa.String(200))  # comma-separated alpha-2
    expires_on: Mapped[date] = mapped_column(sa.Date)  # valid through this day (UTC)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    # by_user | consent_withdrawn | case_erased
    revoked_why: Mapped[str | None] = mapped_column(sa.String(20))

    __table_args__ = (
        sa.CheckConstraint("given_by IN ('self', 'guardian', 'best_interest')",
                           name="given_by"),
    )

    @property
    def scope_list(self) -> list[str]:
        return _split(self.scope)

    @property
    def country_list(self) -> list[str]:
        return _split(self.countries)

    def status(self, today: date) -> str:
        """active | used | revoked | expired, on `today` (UTC)."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if today > self.expires_on:
            return "expired"
        return "active"

    def __repr__(self) -> str:
        return f"<ContinuityCode {self.id}>"


class Transfer(db.Model):
    """A request made with a code, from the requesting to the issuing organization."""

    __tablename__ = "transfers"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    # A code is used once: one transfer per code, whatever happens to it.
    code_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("continuity_codes.id"),
                                               unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    from_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    to_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scope: Mapped[str] = mapped_column(sa.String(120))  # copied from the code
    given_by: Mapped[str] = mapped_column(sa.String(16))
    # The stage of displacement the requester sees the person at (for the new case).
    stage: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(12), default="requested")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    # Declined by the system, not a person: consent_withdrawn | case_erased.
    ended_by: Mapped[str | None] = mapped_column(sa.String(20))
    keep_open: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    new_case_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    reason_enc: Mapped[bytes | None] = mapped_column(Blob)
    reason = Sealed("reason")  # why it was declined or cancelled (free text)

    key: Mapped[TransferKey | None] = relationship(
        back_populates="transfer", cascade="all, delete-orphan", lazy="joined", uselist=False)
    code: Mapped[ContinuityCode] = relationship(lazy="joined")
    case = relationship("Case", foreign_keys=[case_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index("ix_transfers_incoming", "from_org_id", "status", "requested_at"),
        sa.Index("ix_transfers_outgoing", "to_org_id", "status", "requested_at"),
        sa.CheckConstraint("status IN ('requested', 'approved', 'declined', 'cancelled')",
                           name="status"),
    )

    @property
    def scope_list(self) -> list[str]:
        return _split(self.scope)

    def sides_of(self, user: Any) -> set[str]:
        """Which side(s) this user acts for: the issuer (the case's owner, or a case
        manager of the issuing organization) or the requester (who asked, or a case
        manager of the requesting organization). Empty: the transfer is not theirs."""
        sides: set[str] = set()
        if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
            return sides
        manager = user.has_role(Role.CASE_MANAGER)
        if user.organization_id == self.from_org_id and (
                manager or (self.case is not None and self.case.owner_id == user.id)):
            sides.add("issuer")
        if user.organization_id == self.to_org_id and (
                manager or self.requested_by_id == user.id):
            sides.add("requester")
        return sides

    # -- the data key ------------------------------------------------------------------
    def data_key(self) -> bytes:
        cached = self.__dict__.get("_data_key")
        if cached is not None:
            return cached
        if self.key is None:
            raise DecryptionError("transfer (erased)")
        plain = keys.crypto.unwrap(WrappedKey(self.key.kek_id, self.key.wrapped),
                                   owner="transfer", owner_id=str(self.id))
        self.__dict__["_data_key"] = plain
        return plain

    def new_data_key(self) -> None:
        plain = keys.crypto.new_data_key()
        wrapped = keys.crypto.wrap(plain, owner="transfer", owner_id=str(self.id))
        self.key = TransferKey(kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        self.__dict__["_data_key"] = plain

    def forget_data_key(self) -> None:
        self.__dict__.pop("_data_key", None)

    def __repr__(self) -> str:
        return f"<Transfer {self.id}>"


class TransferKey(db.Model):
    """A transfer's own data key, wrapped. Deleting it shreds the transfer's reason."""

    __tablename__ = "transfer_keys"

    transfer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("transfers.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    wrapped: Mapped[bytes] = mapped_column(Blob)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    transfer: Mapped[Transfer] = relationship(back_populates="key")
