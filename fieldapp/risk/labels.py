"""Translatable labels of the risk questionnaire, its sections, groups, severities and flags.

The rule file names questions, values, sections and flags by code; people read these.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from fieldapp.cases.vocab import DOCUMENT_TYPES, FLAG_LABELS

GROUP_LABELS = {
    "WOMEN_GIRLS": _l("Women and girls"),
    "LGBTIQ": _l("LGBTIQ+ persons"),
    "CHILDREN": _l("Children and adolescents"),
    "ETHNIC": _l("Ethnic and racial groups"),
    "OLDER": _l("Older adults"),
    "DISABILITY": _l("Persons with disabilities"),
}

SEVERITY_LABELS = {
    "urgent": _l("Urgent"),
    "high": _l("High"),
    "medium": _l("Medium"),
    "low": _l("Low"),
}

YES_NO = {True: _l("Yes"), False: _l("No")}

QUESTIONS = {
    "accompaniment": _l("Who is the child travelling with?"),
    "document_status": _l("Identity document"),
    "can_prove_nationality": _l("Can the person prove their nationality?"),
    "born_outside_nationality_country": _l(
        "Was the person born outside the country of their nationality?"),
    "birth_registered": _l("Was the birth registered?"),
    "regular_status": _l("Migration status in this country"),
    "fear_of_return": _l("Does the person fear returning to their country?"),
    "detention_or_deportation_threat": _l(
        "Has the person been threatened with detention or deportation?"),
    "trafficking_indicators": _l("Signs of trafficking"),
    "gbv": _l("Gender-based violence"),
    "washington_group": _l("Difficulty doing these activities (Washington Group)"),
    "separated_from_caregiver_or_device": _l(
        "Separated from a caregiver, or from a wheelchair, hearing aid or other device?"),
    "without_support": _l("Lives alone or has nobody to care for them?"),
    "chronic_illness": _l("Lives with a chronic illness?"),
    "serious_medical_condition": _l("Has a serious medical condition needing care now?"),
    "pregnant_or_lactating": _l("Pregnant or breastfeeding?"),
    "single_head_of_household": _l("Heads a household alone?"),
    "dependents": _l("How many dependants?"),
    "lgbtiq": _l("Does the person identify as LGBTIQ+ and agree to record it?"),
    "lgbtiq_violence_or_discrimination": _l(
        "Has faced violence or discrimination for being LGBTIQ+?"),
    "needs_gender_identity_documents": _l(
        "Needs identity documents that match their gender?"),
    "ethnicity": _l("Self-identified ethnic group"),
    "speaks_host_language": _l("Speaks the language of this country?"),
    "family_member_missing": _l("Is a family member missing?"),
    "family_separated_in_transit": _l("Was the family separated on the way?"),
    "human_rights_defender_at_risk": _l("Is the person a human rights defender at risk?"),
}

HELP = {
    "accompaniment": _l("Only for people under 18."),
    "trafficking_indicators": _l("Tick what was observed or told. Ask gently and in private."),
    "gbv": _l("Only ask in private, and only if you can refer the person to support."),
    "lgbtiq": _l("Record it only if the person wants it recorded. It is encrypted."),
    "lgbtiq_violence_or_discrimination": _l("Only if the previous answer is yes."),
    "needs_gender_identity_documents": _l("Only if the person identifies as LGBTIQ+."),
}

VALUES = {
    "accompaniment": {
        "parent_or_legal_guardian": _l("A parent or legal guardian"),
        "other_adult_relative": _l("Another adult relative"),
        "unrelated_adult": _l("An adult who is not a relative"),
        "alone": _l("Alone"),
    },
    "document_status": {"valid": _l("Valid"), "expired": _l("Expired"), "none": _l("None")},
    "regular_status": {
        "regular": _l("Regular"),
        "irregular": _l("Irregular"),
        "asylum_pending": _l("Asylum claim pending"),
        "regularization_pending": _l("Regularization pending"),
    },
    "trafficking_indicators": {
        "deceived_about_work": _l("Deceived about a job or its conditions"),
        "documents_withheld": _l("Documents kept by someone else"),
        "debt_bondage": _l("Owes a debt to whoever brought them"),
        "movement_restricted": _l("Not free to come and go"),
        "forced_work_or_sex": _l("Forced to work or to sell sex"),
        "recruited_by_armed_group": _l("Recruited by an armed group"),
    },
    "gbv": {
        "none": _l("None reported"),
        "past": _l("In the past"),
        "recent": _l("In the last three months"),
        "at_risk": _l("At risk now"),
    },
    "washington_group": {
        "none": _l("No difficulty"),
        "some": _l("Some difficulty"),
        "a_lot": _l("A lot of difficulty"),
        "cannot": _l("Cannot do at all"),
    },
    "ethnicity": {
        "none": _l("None"),
        "indigenous": _l("Indigenous"),
        "afro_descendant": _l("Afro-descendant"),
        "roma": _l("Roma"),
        "other_minority": _l("Another minority"),
    },
}

DOMAINS = {
    "seeing": _l("Seeing, even with glasses"),
    "hearing": _l("Hearing, even with a hearing aid"),
    "walking": _l("Walking or climbing steps"),
    "cognition": _l("Remembering or concentrating"),
    "self_care": _l("Washing or dressing"),
    "communication": _l("Communicating in their usual language"),
}

# Titles of the questionnaire's sections (rules.yaml `sections:`), by code.
SECTION_TITLES = {
    "travel_family": _l("Travelling and family"),
    "documents": _l("Documents and status"),
    "protection": _l("Protection"),
    "violence": _l("Violence and exploitation"),
    "health": _l("Health"),
    "disability": _l("Disability"),
    "identity_language": _l("Identity and language"),
}


def reason_text(reason: str) -> str:
    """A rule's reason (English source text in rules.yaml) in the request's language."""
    return gettext(reason)


def flag_label(code: str) -> str:
    return str(FLAG_LABELS.get(code, code))


# The document question when registration recorded no document: its form's choice reads
# "None / not shown", which does not tell a person without papers from one who did not
# show them, so the question is asked, put so that the worker sees why.
DOCUMENT_NOT_RECORDED = _l(
    "Does the person have an identity document, even one not shown at registration?")


def recorded_document(document_type: str | None) -> str:
    """What registration recorded of the identity document, in the registration form's
    words."""
    if document_type in DOCUMENT_TYPES:
        return str(DOCUMENT_TYPES[document_type])
    return gettext("None / not shown")


def question_label(key: str) -> str:
    return str(QUESTIONS.get(key, key))


def section_title(code: str) -> str:
    return str(SECTION_TITLES.get(code, code))


def value_label(key: str, value: object) -> str:
    """One answer value in words (yes/no, a choice's label, a number)."""
    if isinstance(value, bool):
        return str(YES_NO[value])
    if isinstance(value, int):
        return str(value)
    return str(VALUES.get(key, {}).get(value, value))


def answer_lines(rules: Any, key: str, answers: dict[str, Any],
                 known: Any) -> list[str]:
    """A saved answer in words, one line per part; what the registration record settles,
    marked as such; "Not answered" otherwise."""
    spec = rules.answers[key]
    if key not in answers:
        if key in known:
            values = [v for v in spec.get("values", (True, False)) if v in known[key]]
            return [gettext("%(answer)s (from the registration record)",
                            answer=" / ".join(value_label(key, v) for v in values))]
        return [gettext("Not answered")]
    value = answers[key]
    if spec["type"] == "list":
        return [value_label(key, v) for v in value] or [gettext("None of these")]
    if spec["type"] == "domains":
        return [gettext("%(domain)s: %(answer)s", domain=DOMAINS.get(d, d),
                        answer=value_label(key, value[d]))
                for d in spec["domains"] if d in value]
    return [value_label(key, value)]
