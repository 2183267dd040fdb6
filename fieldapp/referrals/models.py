"""Services, routing rules and referrals (with their own data keys and snapshots)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.crypto import DecryptionError, WrappedKey
from fieldapp.db import UTCDateTime, new_record_key, utcnow
from fieldapp.extensions import db, keys
from fieldapp.referrals.hours import rows_of
from fieldapp.sealing import Sealed

Blob = sa.LargeBinary


class Service(db.Model):
    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(40), index=True)
    languages: Mapped[str] = mapped_column(sa.String(200), default="")  # comma-separated
    min_age: Mapped[int | None] = mapped_column(sa.SmallInteger)
    max_age: Mapped[int | None] = mapped_column(sa.SmallInteger)
    sexes: Mapped[str] = mapped_column(sa.String(60), default="")  # empty: everyone
    capacity: Mapped[str] = mapped_column(sa.String(10), default="open")
    contact: Mapped[str] = mapped_column(sa.String(300), default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What Open Referral's Human Services Data Specification (HSDS 3) records about a
    # service, beyond the routing fields above: public directory data, nothing personal.
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    url: Mapped[str | None] = mapped_column(sa.String(300))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    eligibility_description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Opening hours: JSON list of {"byday": "MO,TU", "opens_at": "08:00", "closes_at":
    # "16:00"} (HSDS schedule), and the same in words for the slip.
    schedule: Mapped[str] = mapped_column(sa.Text, default="[]", server_default="[]")
    schedule_description: Mapped[str] = mapped_column(sa.String(300), default="",
                                                      server_default="")
    # Where the person goes (HSDS location and its physical address).
    location_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    address_1: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    city: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    state_province: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    postal_code: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")

    organization = relationship("Organization", lazy="joined")
    coverage: Mapped[list[ServiceLocation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServiceLocation.location_code")

    __table_args__ = (
        sa.CheckConstraint("capacity IN ('open', 'limited', 'full')", name="capacity"),
    )

    @property
    def location_codes(self) -> list[str]:
        return [c.location_code for c in self.coverage]

    @property
    def language_list(self) -> list[str]:
        return [x for x in self.languages.split(",") if x]

    @property
    def sex_list(self) -> list[str]:
        return [x for x in self.sexes.split(",") if x]

    @property
    def schedule_rows(self) -> list[dict[str, str]]:
        return rows_of(self.schedule)

    @property
    def address_lines(self) -> list[str]:
        """Where the person goes, as lines for a page or a slip (empty ones left out)."""
        town = " ".join(x for x in (self.postal_code, self.city) if x)
        return [x for x in (self.location_name, self.address_1,
                            ", ".join(x for x in (town, self.state_province) if x)) if x]


class ServiceLocation(db.Model):
    """A place a service covers: a site, a division or a whole country."""

    __tablename__ = "service_locations"

    service_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    location_code: Mapped[str] = mapped_column(sa.ForeignKey("locations.code"),
                                               primary_key=True, index=True)


class RoutingRule(db.Model):
    """A flag asks for a service type, in this order (SPEC §5; editable by admins)."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    flag_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    service_type: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(sa.SmallInteger)

    __table_args__ = (sa.UniqueConstraint("flag_code", "service_type",
                                          name="uq_routing_rules_flag_type"),)


class Referral(db.Model):
    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    # `R-26-000123`: year and sequence, to say on the phone; nothing of the case in it
    # (the receiving side must not learn the case's reference).
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    sending_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    sender_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id"))
    receiving_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    service_type: Mapped[str] = mapped_column(sa.String(40))
    flags: Mapped[str] = mapped_column(sa.String(400), default="")  # comma-separated codes
    urgency: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(12), default="sent")
    consent_given_by: Mapped[str] = mapped_column(sa.String(16))
    consent_scope: Mapped[str] = mapped_column(sa.String(120))  # comma-separated groups
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For statistics: the month it was sent, and how long the answer took.
    created_month: Mapped[str] = mapped_column(sa.String(7), default="")
    ack_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    # "News" for the sender: the receiving side's last update or move, and when the
    # sending side last opened the referral.
    receiver_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sender_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The statistics' record key for tables that count referrals (cell key method).
    record_key: Mapped[int] = mapped_column(sa.Integer, default=new_record_key)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    note_enc: Mapped[bytes | None] = mapped_column(Blob)
    snapshot_enc: Mapped[bytes | None] = mapped_column(Blob)
    decline_reason_enc: Mapped[bytes | None] = mapped_column(Blob)
    outcome_enc: Mapped[bytes | None] = mapped_column(Blob)
    cancel_reason_enc: Mapped[bytes | None] = mapped_column(Blob)

    note = Sealed("note")
    snapshot = Sealed("snapshot")  # JSON of exactly the consented groups, at sending time
    decline_reason = Sealed("decline_reason")
    outcome = Sealed("outcome")
    cancel_reason = Sealed("cancel_reason")

    key: Mapped[ReferralKey | None] = relationship(
        back_populates="referral", cascade="all, delete-orphan", lazy="joined", uselist=False)
    service: Mapped[Service] = relationship(lazy="joined")
    events: Mapped[list[ReferralEvent]] = relationship(
        cascade="all, delete-orphan", order_by="ReferralEvent.at")
    updates: Mapped[list[ReferralUpdate]] = relationship(
        cascade="all, delete-orphan", order_by="ReferralUpdate.created_at",
        back_populates="referral")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index("ix_referrals_inbox", "receiving_org_id", "status", "due_at"),
        sa.Index("ix_referrals_outbox", "sending_org_id", "status", "created_at"),
    )

    @property
    def flag_list(self) -> list[str]:
        return [x for x in self.flags.split(",") if x]

    @property
    def scope_list(self) -> list[str]:
        return [x for x in self.consent_scope.split(",") if x]

    def overdue(self, now: datetime) -> bool:
        return self.status == "sent" and now >= self.due_at

    def data_key(self) -> bytes:
        cached = self.__dict__.get("_data_key")
        if cached is not None:
            return cached
        if self.key is None:
            raise DecryptionError("referral (erased)")
        plain = keys.crypto.unwrap(WrappedKey(self.key.kek_id, self.key.wrapped),
                                   owner="referral", owner_id=str(self.id))
        self.__dict__["_data_key"] = plain
        return plain

    def new_data_key(self) -> None:
        plain = keys.crypto.new_data_key()
        wrapped = keys.crypto.wrap(plain, owner="referral", owner_id=str(self.id))
        self.key = ReferralKey(kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        self.__dict__["_data_key"] = plain

    def forget_data_key(self) -> None:
        self.__dict__.pop("_data_key", None)


class ReferralKey(db.Model):
    """A referral's own data key, wrapped. Deleting it shreds the snapshot."""

    __tablename__ = "referral_keys"

    referral_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    wrapped: Mapped[bytes] = mapped_column(Blob)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    referral: Mapped[Referral] = relationship(back_populates="key")


class ReferralEvent(db.Model):
    """The history both sides see: who moved the referral where, and when."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    actor_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralUpdate(db.Model):
    """The follow-up log both sides of a referral share: notes, appointments, contact
    attempts, services delivered. The text is sealed under the referral's own key, so
    erasing the referral shreds it too."""

    __tablename__ = "referral_updates"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    referral_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    on_date: Mapped[date | None] = mapped_column(sa.Date)  # the appointment, the delivery
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    author_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text_enc: Mapped[bytes | None] = mapped_column(Blob)

    text = Sealed("text")

    referral: Mapped[Referral] = relationship(back_populates="updates")

    __table_args__ = (
        sa.Index("ix_referral_updates_referral", "referral_id", "created_at"),
        sa.CheckConstraint(
            "kind IN ('note', 'appointment', 'contact_attempt', 'service_delivered')",
            name="kind"),
    )

    def data_key(self) -> bytes:
        return self.referral.data_key()
