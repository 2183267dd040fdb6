"""What the server keeps of records sent from phones, the phones themselves, and the
possible duplicates a sent record raised.

Nothing personal is in clear here: a record that waits for review keeps its body
sealed under its own data key (wrapped by a key-encryption key, like a case's);
once registered, only the ids, times and the answer given to the phone remain.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.cases.models import Case
from fieldapp.crypto import DecryptionError, WrappedKey
from fieldapp.db import UTCDateTime, utcnow
from fieldapp.extensions import db, keys
from fieldapp.sealing import Sealed

RECORD_STATUSES = ("registered", "needs_review", "quarantined")
PROBLEMS = ("invalid", "revoked_device")
REVIEW_STATUSES = ("open", "same_person", "different_person")


class IntakeDevice(db.Model):
    """A phone's browser, known by the public half of a signing key it made itself
    (ECDSA P-256, not extractable). Revoking it sends what it signs to quarantine."""

    __tablename__ = "intake_devices"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # RFC 7638 SHA-256 thumbprint of the public key, base64url: how records name it.
    thumbprint: Mapped[str] = mapped_column(sa.String(64))
    public_key: Mapped[str] = mapped_column(sa.Text)  # the public JWK (x, y): nothing secret
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        sa.UniqueConstraint("organization_id", "thumbprint",
                            name="uq_intake_devices_organization_thumbprint"),
    )

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<IntakeDevice {self.id}>"


class IntakeRecord(db.Model):
    """One record a phone sent, by its instance id (unique: the same record sent twice,
    or by two requests at once, is one row)."""

    __tablename__ = "intake_records"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    instance_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"),
                                                       index=True)
    sender_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("intake_devices.id"),
                                                        index=True)
    kid: Mapped[str] = mapped_column(sa.String(64))
    # SHA-256 of the record as sent: a replay is byte-identical, anything else is a 409.
    digest: Mapped[bytes] = mapped_column(sa.LargeBinary)
    form_version: Mapped[str] = mapped_column(sa.String(40), default="")
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(16))
    problem: Mapped[str | None] = mapped_column(sa.String(16))
    case_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    # The first answer, given again to every replay: ids, references and match kinds only.
    answer_status: Mapped[int] = mapped_column(sa.SmallInteger)
    answer: Mapped[str] = mapped_column(sa.Text)
    # The case body (API shape, JSON), sealed, while the record waits for a person.
    body_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    body = Sealed("body")

    key: Mapped[IntakeRecordKey | None] = relationship(
        back_populates="record", cascade="all, delete-orphan", lazy="joined", uselist=False)

    __table_args__ = (
        sa.CheckConstraint("status IN ('registered', 'needs_review', 'quarantined')",
                           name="status"),
    )

    def data_key(self) -> bytes:
        cached = self.__dict__.get("_data_key")
        if cached is not None:
            return cached
        if self.key is None:
            raise DecryptionError("intake record (registered or erased)")
        plain = keys.crypto.unwrap(WrappedKey(self.key.kek_id, self.key.wrapped),
                                   owner="intake_record", owner_id=str(self.id))
        self.__dict__["_data_key"] = plain
        return plain

    def new_data_key(self) -> None:
        plain = keys.crypto.new_data_key()
        wrapped = keys.crypto.wrap(plain, owner="intake_record", owner_id=str(self.id))
        self.key = IntakeRecordKey(kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        self.__dict__["_data_key"] = plain

    def shred_body(self) -> None:
        """The body lives on in the case now: no second copy, not even a sealed one."""
        self.body_enc = None
        self.key = None
        self.__dict__.pop("_data_key", None)

    @property
    def waiting(self) -> bool:
        return self.status in ("needs_review", "quarantined")

    def __repr__(self) -> str:
        return f"<IntakeRecord {self.id} {self.status}>"


class IntakeRecordKey(db.Model):
    """A waiting record's data key, wrapped under a key-encryption key."""

    __tablename__ = "intake_record_keys"

    record_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("intake_records.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    wrapped: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    record: Mapped[IntakeRecord] = relationship(back_populates="key")


class DuplicateReview(db.Model):
    """A possible duplicate raised when a record from a phone was registered: the case may
    be the same person as `candidate`. Open until its owner or a case manager decides."""

    __tablename__ = "duplicate_reviews"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"),
                                               index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    match: Mapped[str] = mapped_column(sa.String(40))  # "document,name_dob,name"
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    reason_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    reason = Sealed("reason")  # why they are different people: free text, sealed

    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    candidate: Mapped[Case] = relationship(foreign_keys=[candidate_id])

    __table_args__ = (
        sa.UniqueConstraint("case_id", "candidate_id", name="uq_duplicate_reviews_pair"),
        sa.CheckConstraint("status IN ('open', 'same_person', 'different_person')",
                           name="status"),
    )

    @property
    def matches(self) -> list[str]:
        return [m for m in self.match.split(",") if m]

    def data_key(self) -> bytes:
        return self.case.data_key()

    def __repr__(self) -> str:
        return f"<DuplicateReview {self.id} {self.status}>"
