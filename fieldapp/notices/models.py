"""The outbox of e-mail notices: written in the request's transaction, sent after it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.db import UTCDateTime, utcnow
from fieldapp.extensions import db


class Notice(db.Model):
    """One e-mail to an organization's notice address about one referral. The message
    carries no personal data (a link only), so nothing here is sealed."""

    __tablename__ = "notices"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # new | overdue | completed
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
        sa.Index("ix_notices_due", "status", "next_attempt_at"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        sa.CheckConstraint("kind IN ('new', 'overdue', 'completed')", name="kind"),
    )
