"""The case record: clear routing fields, sealed personal fields, the wrapped data key.

What is in clear is what routing and statistics need and what does not identify
a person on its own (SPEC §2); everything else is a `Sealed` attribute whose
ciphertext lives in a `<name>_enc` column.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.crypto import DecryptionError, WrappedKey
from fieldapp.db import UTCDateTime, new_record_key, utcnow
from fieldapp.extensions import db, keys
from fieldapp.sealing import Sealed

Blob = sa.LargeBinary


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_on: Mapped[date] = mapped_column(sa.Date)
    location_code: Mapped[str] = mapped_column(sa.ForeignKey("locations.code"), index=True)
    # Derived from the place and date, in clear, so statistics group without parsing.
    country_code: Mapped[str] = mapped_column(sa.String(2), default="")
    division_code: Mapped[str | None] = mapped_column(sa.String(12))
    registered_month: Mapped[str] = mapped_column(sa.String(7), default="")  # YYYY-MM
    # The statistics' record key (cell key method): random, fixed, never shown.
    record_key: Mapped[int] = mapped_column(sa.Integer, default=new_record_key)
    stage: Mapped[str] = mapped_column(sa.String(24))
    sex: Mapped[str] = mapped_column(sa.String(10))
    age_band: Mapped[str] = mapped_column(sa.String(8))
    nationality: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    priority: Mapped[str] = mapped_column(sa.String(8), default="none")
    priority_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Consent and legal basis for processing (SPEC §2). Who and when are not personal.
    consent_basis: Mapped[str] = mapped_column(sa.String(16))
    consent_given_by: Mapped[str] = mapped_column(sa.String(16))
    consent_language: Mapped[str] = mapped_column(sa.String(8))
    consent_recorded_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    consent_recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    # Sealed personal fields (ciphertext only).
    given_name_enc: Mapped[bytes | None] = mapped_column(Blob)
    family_name_enc: Mapped[bytes | None] = mapped_column(Blob)
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(Blob)
    age_years_enc: Mapped[bytes | None] = mapped_column(Blob)
    document_type_enc: Mapped[bytes | None] = mapped_column(Blob)
    document_number_enc: Mapped[bytes | None] = mapped_column(Blob)
    phone_enc: Mapped[bytes | None] = mapped_column(Blob)
    address_enc: Mapped[bytes | None] = mapped_column(Blob)
    languages_enc: Mapped[bytes | None] = mapped_column(Blob)
    notes_enc: Mapped[bytes | None] = mapped_column(Blob)
    consent_note_enc: Mapped[bytes | None] = mapped_column(Blob)
    closure_reason_enc: Mapped[bytes | None] = mapped_column(Blob)
    duplicate_reason_enc: Mapped[bytes | None] = mapped_column(Blob)
    assessment_enc: Mapped[bytes | None] = mapped_column(Blob)
    consent_withdrawal_reason_enc: Mapped[bytes | None] = mapped_column(Blob)

    # The latest risk assessment: answers sealed above; when, by whom, which rules.
    assessed_on: Mapped[date | None] = mapped_column(sa.Date)
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assessed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    given_name = Sealed("given_name")
    family_name = Sealed("family_name")
    date_of_birth = Sealed("date_of_birth")  # ISO date
    age_years = Sealed("age_years")  # when the date of birth is unknown
    document_type = Sealed("document_type")
    document_number = Sealed("document_number")
    phone = Sealed("phone")
    address = Sealed("address")
    languages = Sealed("languages")  # JSON list of language codes
    notes = Sealed("notes")
    consent_note = Sealed("consent_note")
    closure_reason = Sealed("closure_reason")
    duplicate_reason = Sealed("duplicate_reason")
    assessment = Sealed("assessment")  # JSON: the questionnaire's answers
    consent_withdrawal_reason = Sealed("consent_withdrawal_reason")  # what the person said

    key: Mapped[CaseKey | None] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="joined", uselist=False)
    household: Mapped[list[HouseholdMember]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="HouseholdMember.position")
    flags: Mapped[list[CaseFlag]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseFlag.code")
    groups: Mapped[list[CaseGroup]] = relationship(
        cascade="all, delete-orphan", order_by="CaseGroup.code")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The list's order (most urgent, then newest) straight from a partial index of
        # readable cases: no sort, whatever the number of cases (PostgreSQL does not
        # take `erased_at IS NULL` as an equality, so the condition is the index's own).
        sa.Index("ix_cases_list_order", "organization_id", "priority_rank", "registered_at",
                 "id", postgresql_where=sa.text("erased_at IS NULL"),
                 sqlite_where=sa.text("erased_at IS NULL")),
        sa.Index("ix_cases_org_registered", "organization_id", "registered_at"),
        sa.Index("ix_cases_stats", "organization_id", "registered_month", "country_code"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    # -- the data key ------------------------------------------------------------------
    def data_key(self) -> bytes:
        cached = self.__dict__.get("_data_key")
        if cached is not None:
            return cached
        if self.key is None:
            raise DecryptionError("case (erased)")
        plain = keys.crypto.unwrap(WrappedKey(self.key.kek_id, self.key.wrapped),
                                   owner="case", owner_id=str(self.id))
        self.__dict__["_data_key"] = plain
        return plain

    def new_data_key(self) -> None:
        """Give a new case its own random data key, stored only wrapped."""
        plain = keys.crypto.new_data_key()
        wrapped = keys.crypto.wrap(plain, owner="case", owner_id=str(self.id))
        self.key = CaseKey(kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        self.__dict__["_data_key"] = plain

    def forget_data_key(self) -> None:
        self.__dict__.pop("_data_key", None)

    def names_or_none(self) -> tuple[str | None, str | None] | None:
        """The names for a list row, or None when this record cannot be decrypted.

        One damaged record (a key retired too early, a restored backup) must not
        take the whole list down; `flask keys verify` reports it by id.
        """
        try:
            return self.given_name, self.family_name
        except DecryptionError:
            logging.getLogger(__name__).error("case %s cannot be decrypted", self.id)
            return None

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @property
    def consent_withdrawn(self) -> bool:
        return self.consent_withdrawn_at is not None

    def __repr__(self) -> str:
        return f"<Case {self.id}>"


class CaseKey(db.Model):
    """A case's data key, wrapped under a key-encryption key. Deleting it shreds the case."""

    __tablename__ = "case_keys"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    wrapped: Mapped[bytes] = mapped_column(Blob)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="key")


class HouseholdMember(db.Model):
    __tablename__ = "household_members"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    relationship_code: Mapped[str] = mapped_column("relationship", sa.String(20))
    sex: Mapped[str] = mapped_column(sa.String(10))
    age_band: Mapped[str | None] = mapped_column(sa.String(8))
    given_name_enc: Mapped[bytes | None] = mapped_column(Blob)
    family_name_enc: Mapped[bytes | None] = mapped_column(Blob)
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(Blob)

    given_name = Sealed("given_name")
    family_name = Sealed("family_name")
    date_of_birth = Sealed("date_of_birth")

    case: Mapped[Case] = relationship(back_populates="household")

    def data_key(self) -> bytes:
        return self.case.data_key()


class CaseBlindIndex(db.Model):
    """Truncated HMACs of normalized values, for exact search and duplicate detection."""

    __tablename__ = "case_blind_indexes"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # document | name | name_dob
    value: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.Index("ix_case_blind_indexes_lookup", "kind", "value"),)


class CaseFlag(db.Model):
    """A risk flag on a case (set by the rule set or by hand; see the risk feature)."""

    __tablename__ = "case_flags"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
    severity: Mapped[str] = mapped_column(sa.String(8))
    source: Mapped[str] = mapped_column(sa.String(8))  # rule | manual
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    rule_set_version: Mapped[str | None] = mapped_column(sa.String(20))
    set_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    reasons_enc: Mapped[bytes | None] = mapped_column(Blob)
    dismissal_reason_enc: Mapped[bytes | None] = mapped_column(Blob)
    manual_reason_enc: Mapped[bytes | None] = mapped_column(Blob)

    # Copied from the case for statistics (grouping without a join over a million rows).
    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    registered_month: Mapped[str | None] = mapped_column(sa.String(7))
    location_code: Mapped[str | None] = mapped_column(sa.String(40))
    record_key: Mapped[int | None] = mapped_column(sa.Integer)

    reasons = Sealed("reasons")  # JSON list of the rule reasons (source text) that fired
    dismissal_reason = Sealed("dismissal_reason")
    manual_reason = Sealed("manual_reason")

    @property
    def counts(self) -> bool:
        """Active and not dismissed: the flag counts for priority and routing."""
        return self.active and self.dismissed_at is None

    case: Mapped[Case] = relationship(back_populates="flags")

    __table_args__ = (
        sa.UniqueConstraint("case_id", "code", name="uq_case_flags_case_code"),
        # Statistics over the flags that count, without touching the table rows.
        sa.Index("ix_case_flags_counting", "organization_id", "code", "registered_month",
                 "location_code", "record_key",
                 postgresql_where=sa.text("active = true AND dismissed_at IS NULL"),
                 sqlite_where=sa.text("active = 1 AND dismissed_at IS NULL")),
    )

    def data_key(self) -> bytes:
        return self.case.data_key()


class CaseGroup(db.Model):
    """A differential-approach group the case's principal belongs to (in clear, for statistics)."""

    __tablename__ = "case_groups"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    # Copied from the case for statistics, as on flags.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    registered_month: Mapped[str | None] = mapped_column(sa.String(7))
    location_code: Mapped[str | None] = mapped_column(sa.String(40))
    record_key: Mapped[int | None] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.Index("ix_case_groups_stats", "organization_id", "code", "location_code",
                 "registered_month", "record_key"),
    )


class CaseTally(db.Model):
    """How many readable (not erased) cases an organization has: the case list's total
    without counting a million rows on every page."""

    __tablename__ = "case_tallies"

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"),
                                                       primary_key=True)
    readable: Mapped[int] = mapped_column(sa.Integer, default=0)


class ReferenceCounter(db.Model):
    """The last sequence number used per reference prefix (e.g. CO-NSA-26)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    last: Mapped[int] = mapped_column(sa.Integer)
