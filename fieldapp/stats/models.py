"""Running totals the statistics' fast path reads instead of a million flags or groups.

Written only by the database: triggers on case_flags and case_groups (migration 0018,
fieldapp/stats/totals.py) keep them on every write. A NULL month or site is stored as
`totals.NONE` ('-'); rows without an organization are not counted.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.extensions import db


class _Total:
    """A running total's key (organization, code, month, site) and its count and
    record-key sum."""

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    registered_month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    location_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger)
    keys: Mapped[int] = mapped_column(sa.BigInteger)


class FlagTotal(_Total, db.Model):
    """Flags that count (active, not dismissed) per organization, flag, month and site:
    how many, and the sum of their record keys. Totals that reach zero stay, as zero."""

    __tablename__ = "flag_totals"


class GroupTotal(_Total, db.Model):
    """Group memberships per organization, group, month and site, as FlagTotal."""

    __tablename__ = "group_totals"
