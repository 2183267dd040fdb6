"""Closed vocabularies of the referrals feature, with translatable labels."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l

SERVICE_TYPES = {
    "child_protection": _l("Child protection"),
    "family_tracing": _l("Family tracing and reunification"),
    "legal_asylum": _l("Legal aid: asylum"),
    "legal_regularization": _l("Legal aid: regularization"),
    "legal_nationality": _l("Legal aid: nationality and birth registration"),
    "legal_documentation": _l("Legal aid: identity documents"),
    "anti_trafficking": _l("Anti-trafficking support"),
    "gbv_response": _l("Gender-based violence response"),
    "safe_shelter": _l("Safe shelter"),
    "health": _l("Health care"),
    "sexual_reproductive_health": _l("Sexual and reproductive health"),
    "mental_health_psychosocial": _l("Mental health and psychosocial support"),
    "disability_services": _l("Disability services"),
    "older_persons_care": _l("Care for older persons"),
    "lgbtiq_support": _l("LGBTIQ+ support"),
    "indigenous_support": _l("Support for indigenous peoples"),
    "interpretation": _l("Interpretation"),
    "cash_assistance": _l("Cash assistance"),
    "food": _l("Food"),
    "education": _l("Education"),
    "employment": _l("Employment"),
    "defender_protection": _l("Protection of human rights defenders"),
}

CAPACITIES = {"open": _l("Available"), "limited": _l("Limited"), "full": _l("Full")}
CAPACITY_RANK = {"open": 2, "limited": 1, "full": 0}

# What the person may agree to share, group by group (SPEC §5).
SCOPES = {
    "identity": _l("Identity: names, date of birth, sex, nationality"),
    "contact": _l("Contact: phone and address"),
    "documents": _l("Identity documents"),
    "risk_summary": _l("Risk summary: the flags this referral answers, and its urgency"),
    "assessment_details": _l("Answers of the risk assessment: those about the flags this "
                             "referral answers"),
    "notes": _l("Case notes"),
}

STATUSES = {
    "sent": _l("Sent"),
    "acknowledged": _l("Acknowledged"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}

ACTIONS = {
    "acknowledge": _l("Acknowledge"),
    "accept": _l("Accept"),
    "decline": _l("Decline"),
    "complete": _l("Complete"),
    "cancel": _l("Cancel referral"),
}

# action -> (side, from statuses, to status)
TRANSITIONS = {
    "acknowledge": ("receiver", ("sent",), "acknowledged"),
    "accept": ("receiver", ("acknowledged",), "accepted"),
    "decline": ("receiver", ("sent", "acknowledged"), "declined"),
    "complete": ("receiver", ("accepted",), "completed"),
    "cancel": ("sender", ("sent", "acknowledged", "accepted"), "cancelled"),
}

ACK_DEADLINES = {
    "urgent": timedelta(hours=24),
    "high": timedelta(hours=72),
    "medium": timedelta(days=7),
    "low": timedelta(days=7),
}

# The default routing table of SPEC §5: flag -> service types, in order.
DEFAULT_ROUTING = {
    "UNACCOMPANIED_CHILD": ["child_protection", "family_tracing", "legal_asylum"],
    "SEPARATED_CHILD": ["child_protection", "family_tracing"],
    "CHILD_WITHOUT_DOCUMENTS": ["legal_documentation", "legal_nationality", "child_protection"],
    "TRAFFICKING_RISK": ["anti_trafficking", "safe_shelter", "mental_health_psychosocial",
                         "legal_regularization"],
    "GBV_SURVIVOR": ["gbv_response", "sexual_reproductive_health", "mental_health_psychosocial",
                     "safe_shelter"],
    "STATELESSNESS_RISK": ["legal_nationality"],
    "DISABILITY_AT_RISK": ["disability_services", "health"],
    "OLDER_PERSON_AT_RISK": ["older_persons_care", "health"],
    "LGBTIQ_AT_RISK": ["lgbtiq_support", "legal_documentation", "mental_health_psychosocial"],
    "WOMAN_AT_RISK": ["sexual_reproductive_health", "cash_assistance"],
    "INTERPRETER_NEEDED": ["interpretation", "indigenous_support"],
    "INTERNATIONAL_PROTECTION_NEED": ["legal_asylum"],
    "REFOULEMENT_RISK": ["legal_asylum"],
    "FAMILY_SEPARATION": ["family_tracing"],
    "SERIOUS_MEDICAL_CONDITION": ["health"],
    "DEFENDER_AT_RISK": ["defender_protection", "legal_asylum"],
    "IRREGULAR_STATUS": ["legal_regularization"],
}
