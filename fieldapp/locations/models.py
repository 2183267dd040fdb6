"""Locations: stable codes such as `CO`, `CO-NSA`, `CO-NSA-CUCUTA`."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.extensions import db


class LocationLevel(StrEnum):
    COUNTRY = "country"
    DIVISION = "division"
    SITE = "site"


class Location(db.Model):
    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("locations.code"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    # ISO 3166-1 alpha-3 for countries (nationalities are given in alpha-3).
    alpha3: Mapped[str | None] = mapped_column(sa.String(3), unique=True)
    # For sites: border_crossing, city or shelter.
    site_kind: Mapped[str | None] = mapped_column(sa.String(24))

    __table_args__ = (
        sa.CheckConstraint("level IN ('country', 'division', 'site')", name="level"),
    )

    def __repr__(self) -> str:
        return f"<Location {self.code}>"
