"""What the continuity-code slip says (SPEC §11.7), and the countries a code may name.

The slip the person carries holds the code, until when it works, where (countries),
and whom to ask about it (the issuing organization's public contact). Nothing about
the person: a lost slip tells its finder only that someone may bring a case somewhere,
and the code alone opens nothing outside its countries or after its date. The pages
render it right after issuing, the one moment the code is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from fieldapp.accounts.models import Organization
from fieldapp.cases.choices import country_name
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.locations.models import Location, LocationLevel
from fieldapp.referrals.slips import language_of
from fieldapp.transfers.codes import format_code
from fieldapp.transfers.models import ContinuityCode

__all__ = ["CodeSlip", "code_slip", "country_choices", "language_of", "slip_language"]


@dataclass(frozen=True)
class CodeSlip:
    code: str  # grouped for reading aloud: 7KQ4-M2XD-9TWR-AB3C
    expires_on: date
    countries: list[str]  # names, in the language being rendered
    organization: str
    phone: str
    email: str


def _names(codes: list[str]) -> list[str]:
    rows = {r.code: r for r in db.session.scalars(sa.select(Location).where(
        Location.code.in_(codes)))}
    return [country_name(rows[c].alpha3) if c in rows and rows[c].alpha3 else
            (rows[c].name if c in rows else c) for c in codes]


def code_slip(row: ContinuityCode, code_text: str) -> CodeSlip:
    """The slip of a code just issued. Call inside `force_locale(language_of(case))`
    for the person's language (country names follow the locale)."""
    org = db.session.get(Organization, row.organization_id)
    return CodeSlip(code=format_code(code_text), expires_on=row.expires_on,
                    countries=_names(row.country_list),
                    organization=org.name if org else "",
                    phone=(org.phone or "") if org else "",
                    email=(org.email or "") if org else "")


def country_choices() -> list[tuple[str, str]]:
    """(alpha-2, name in the request's language) of every country a code may name,
    by name."""
    rows = db.session.scalars(sa.select(Location).where(
        Location.level == LocationLevel.COUNTRY.value)).all()
    pairs = [(r.code, country_name(r.alpha3) if r.alpha3 else r.name) for r in rows]
    return sorted(pairs, key=lambda pair: pair[1])


def slip_language(case: Case) -> str:
    """The slip's locale: the person's language when the app speaks it (as referral
    slips)."""
    return language_of(case)
