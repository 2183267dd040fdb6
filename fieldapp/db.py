"""Declarative base, constraint naming convention and column types shared by all models."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Statistics' record keys (the cell key method, fieldapp/stats/perturbation.py): a random
# integer per counted record, drawn uniformly below 2**31, fixed at creation, never shown.
RECORD_KEY_MODULUS = 2**31


def new_record_key() -> int:
    return secrets.randbelow(RECORD_KEY_MODULUS)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored as naive UTC and always returned timezone-aware (UTC).

    SQLite keeps no time zone; PostgreSQL would convert to the session's zone.
    Storing naive UTC on both gives the same value back everywhere, which the
    audit chain's MAC depends on.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
