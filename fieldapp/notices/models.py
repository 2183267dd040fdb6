"""The outbox of e-mail notices: written in the request's transaction, sent after it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.db import UTCDateTime, utcnow
from fieldapp.extensions import db

# What a notice is about: a referral, or a transfer request.
REFERRAL_KINDS = ("new", "overdue", "completed")
TRANSFER_KINDS = ("transfer_requested", "transfer_decided")
SUBJECT_CHECK = ("(transfer_id IS NULL AND kind IN ('new', 'overdue', 'completed')) OR "
                 "(transfer_id IS NOT NULL AND referral_id IS NULL "
                 "AND kind IN ('transfer_requested', 'transfer_decided'))")


class Notice(db.Model):
    """One e-mail to an organization's notice address about one referral or one transfer
    request. The message carries no personal data (a link only), so nothing here is
    sealed."""

    __tablename__ = "notices"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="SET NULL"))
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("transfers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # REFERRAL_KINDS | TRANSFER_KINDS
    to_address: Mapped[str] = mapped_column(sa.String(254))
    locale: Mapped[str] = mapped_column(sa.String(8), default="es")
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One notice of each kind per referral and organization, however often it fires.
        sa.UniqueConstraint("referral_id", "kind", "organization_id",
                            name="uq_notices_referral_kind_org"),
        sa.UniqueConstraint("transfer_id", "kind", "organization_id",
                            name="uq_notices_transfer_kind_org"),
        sa.Index("ix_notices_due", "status", "next_attempt_at"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        sa.CheckConstraint("kind IN ('new', 'overdue', 'completed', 'transfer_requested', "
                           "'transfer_decided')", name="kind"),
        # About one thing, and the kind says which: a transfer notice has its transfer
        # (deleting the transfer deletes it), a referral notice never has one. A referral
        # notice's referral_id is NULL only after its referral was deleted by hand (SET
        # NULL keeps the outbox's history; the sender fails it as "referral_missing").
        sa.CheckConstraint(SUBJECT_CHECK, name="subject"),
    )
