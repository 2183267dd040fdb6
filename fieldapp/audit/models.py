"""One row per audited event. Rows are only ever inserted, never updated or deleted."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.db import UTCDateTime
from fieldapp.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    # Assigned by the chain (previous + 1), not by the database, so that a gap is a
    # detectable break rather than a sequence quirk.
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No foreign keys: events outlive the users and objects they mention.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    allowed: Mapped[bool] = mapped_column(sa.Boolean)
    # Canonical JSON of non-personal details (reason codes, role names, counts).
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    prev_mac: Mapped[str] = mapped_column(sa.String(64))
    mac: Mapped[str] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"
