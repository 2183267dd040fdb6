"""The slip a referred person carries to the service (SPEC §11.4): where to go, when it
is open, whom to call, the referral's reference and the date, in the person's language.

Nothing about the person is on it: no name, no document, no flag, no note. The
reference is enough for the service to find the referral in its inbox, and a lost
slip tells whoever finds it only that somebody was referred to a public service.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from fieldapp.cases.models import Case
from fieldapp.referrals import hours
from fieldapp.referrals.models import Referral

# The case's consent language (what the person was spoken to in) -> the app's locale.
LOCALES = {"es": "es", "pt": "pt_BR", "en": "en"}


def language_of(case: Case | None) -> str:
    """The locale of the slip: the person's language when the app speaks it, else the
    app's default (the language of the services in the region)."""
    wanted = LOCALES.get(case.consent_language if case is not None else "", "")
    if wanted in current_app.config["LANGUAGES"]:
        return wanted
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


@dataclass(frozen=True)
class WhereToGo:
    service: str
    organization: str
    address: list[str]
    hours: list[str]  # the weekly rows in words, then the directory's line about them
    phone: str
    contact: str  # the directory's contact text, when no phone is published


def where_to_go(referral: Referral) -> WhereToGo:
    """The service's public directory data (HSDS fields when filled in). Call in the
    slip's language: the days of the opening hours are named in it."""
    service = referral.service
    phone = service.phone or service.organization.phone or ""
    return WhereToGo(service=service.name, organization=service.organization.name,
                     address=service.address_lines,
                     hours=[*hours.describe(service.schedule_rows),
                            *([service.schedule_description]
                              if service.schedule_description else [])],
                     phone=phone, contact="" if phone else service.contact)
