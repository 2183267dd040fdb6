"""Closed vocabularies of the case record, with translatable labels."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

SEXES = {
    "female": _l("Female"),
    "male": _l("Male"),
    "intersex": _l("Intersex"),
    "unknown": _l("Unknown / not stated"),
}

STAGES = {
    # Translators: stage of displacement
    "transit": _l("In transit"),
    "border": _l("Arrival at the border"),
    "host_community": _l("In a host community"),
    "local_integration": _l("Local integration"),
    "resettlement": _l("Resettlement"),
    "repatriation": _l("Return / repatriation"),
}

DOCUMENT_TYPES = {
    "passport": _l("Passport"),
    "national_id": _l("National identity card"),
    "birth_certificate": _l("Birth certificate"),
    "residence_permit": _l("Residence or protection permit"),
    "other": _l("Other document"),
}

CONSENT_BASES = {
    "consent": _l("Consent of the person"),
    "vital_interest": _l("Vital interest (for example, a child in danger)"),
    "other": _l("Another basis documented by the organization"),
}

CONSENT_GIVERS = {
    "self": _l("The person themself"),
    "guardian": _l("A parent or legal guardian"),
    "best_interest": _l("Best-interest decision (unaccompanied child)"),
}

RELATIONSHIPS = {
    "spouse_partner": _l("Spouse or partner"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "sibling": _l("Sibling"),
    "grandparent": _l("Grandparent"),
    "other_relative": _l("Other relative"),
    "non_relative": _l("Not a relative"),
}

LANGUAGES = {
    "es": _l("Spanish"),
    "pt": _l("Portuguese"),
    "en": _l("English"),
    "fr": _l("French"),
    "ht": _l("Haitian Creole"),
    "wayuunaiki": _l("Wayuunaiki"),
    "warao": _l("Warao"),
    "other_indigenous": _l("Another indigenous language"),
    "other": _l("Another language"),
}

STATUSES = {"open": _l("Open"), "closed": _l("Closed")}

PRIORITIES = {
    "urgent": _l("Urgent"),
    "high": _l("High"),
    "medium": _l("Medium"),
    "low": _l("Low"),
    "none": _l("None"),
}
PRIORITY_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3, "urgent": 4}

AGE_BANDS = ("0-4", "5-11", "12-17", "18-59", "60+")

SPECIAL_NATIONALITIES = {"STATELESS": _l("Stateless"), "UNKNOWN": _l("Unknown nationality")}


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band(age: int) -> str:
    if age < 5:
        return "0-4"
    if age < 12:
        return "5-11"
    if age < 18:
        return "12-17"
    if age < 60:
        return "18-59"
    return "60+"


FLAG_LABELS = {
    "UNACCOMPANIED_CHILD": _l("Unaccompanied child"),
    "SEPARATED_CHILD": _l("Separated child"),
    "CHILD_WITHOUT_DOCUMENTS": _l("Child without documents"),
    "TRAFFICKING_RISK": _l("Risk of trafficking"),
    "GBV_SURVIVOR": _l("Survivor of gender-based violence"),
    "STATELESSNESS_RISK": _l("Risk of statelessness"),
    "DISABILITY_AT_RISK": _l("Person with a disability at risk"),
    "OLDER_PERSON_AT_RISK": _l("Older person at risk"),
    "LGBTIQ_AT_RISK": _l("LGBTIQ+ person at risk"),
    "WOMAN_AT_RISK": _l("Woman at risk"),
    "INTERPRETER_NEEDED": _l("Interpreter needed"),
    "INTERNATIONAL_PROTECTION_NEED": _l("International protection need"),
    "REFOULEMENT_RISK": _l("Risk of refoulement"),
    "FAMILY_SEPARATION": _l("Family separation"),
    "SERIOUS_MEDICAL_CONDITION": _l("Serious medical condition"),
    "DEFENDER_AT_RISK": _l("Human rights defender at risk"),
    "IRREGULAR_STATUS": _l("Irregular migration status"),
}
