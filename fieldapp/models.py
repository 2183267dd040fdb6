"""Imports every model so that SQLAlchemy's metadata (and Alembic) sees all tables."""

from fieldapp.accounts.models import ApiToken, Organization, User, UserRole, UserSession
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import (
    Case,
    CaseBlindIndex,
    CaseFlag,
    CaseGroup,
    CaseKey,
    CaseTally,
    HouseholdMember,
    ReferenceCounter,
)
from fieldapp.intake.models import DuplicateReview, IntakeDevice, IntakeRecord, IntakeRecordKey
from fieldapp.locations.models import Location
from fieldapp.notices.models import Notice
from fieldapp.referrals.models import (
    Referral,
    ReferralEvent,
    ReferralKey,
    ReferralUpdate,
    RoutingRule,
    Service,
    ServiceLocation,
)
from fieldapp.stats.models import FlagTotal, GroupTotal
from fieldapp.transfers.models import ContinuityCode, Transfer, TransferKey

__all__ = ["ApiToken", "AuditEvent", "Case", "CaseBlindIndex", "CaseFlag", "CaseGroup",
           "CaseKey", "CaseTally", "ContinuityCode", "DuplicateReview", "FlagTotal", "GroupTotal",
           "HouseholdMember",
           "IntakeDevice", "IntakeRecord", "IntakeRecordKey", "Location", "Notice", "Organization",
           "ReferenceCounter", "Referral", "ReferralEvent", "ReferralKey", "ReferralUpdate",
           "RoutingRule",
           "Service", "ServiceLocation", "Transfer", "TransferKey", "User", "UserRole",
           "UserSession"]
