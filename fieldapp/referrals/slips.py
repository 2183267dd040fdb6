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
    hours: str
    phone: str
    contact: str  # the directory's contact text, when no phone is published


def where_to_go(referral: Referral) -> WhereToGo:
    """The service's public directory data (HSDS fields when filled in)."""
    service = referral.service
    town = " ".join(x for x in (service.postal_code, service.city) if x)
    address = [x for x in (service.location_name, service.address_1,
                           ", ".join(x for x in (town, service.state_province) if x)) if x]
    phone = service.phone or service.organization.phone or ""
    return WhereToGo(service=service.name, organization=service.organization.name,
                     address=address, hours=service.schedule_description or "",
                     phone=phone, contact="" if phone else service.contact)
