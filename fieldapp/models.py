"""Imports every model so that SQLAlchemy's metadata (and Alembic) sees all tables."""

from fieldapp.accounts.models import ApiToken, Organization, User, UserRole, UserSession
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import (
    Case,
    CaseBlindIndex,
    CaseFlag,
    CaseGroup,
    CaseKey,
    HouseholdMember,
    ReferenceCounter,
)
from fieldapp.locations.models import Location

__all__ = ["ApiToken", "AuditEvent", "Case", "CaseBlindIndex", "CaseFlag", "CaseGroup",
           "CaseKey", "HouseholdMember", "Location", "Organization", "ReferenceCounter", "User",
           "UserRole", "UserSession"]
