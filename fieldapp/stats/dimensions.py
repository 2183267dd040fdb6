"""The predefined dimensions of SPEC §6: what can be grouped by or filtered on."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from fieldapp.cases import vocab as case_vocab
from fieldapp.cases.risk_labels import GROUP_LABELS
from fieldapp.extensions import db
from fieldapp.locations.models import Location, LocationLevel
from fieldapp.referrals import vocab as referral_vocab

DIMENSIONS = {
    "month": _l("Month"),
    "country": _l("Country"),
    "division": _l("Division"),
    "site": _l("Site"),
    "stage": _l("Stage"),
    "sex": _l("Sex"),
    "age_band": _l("Age band"),
    "nationality": _l("Nationality"),
    "group": _l("Group"),
    "flag": _l("Flag"),
    "referral_status": _l("Referral status"),
    "service_type": _l("Service type"),
    "unmet_need": _l("Unmet need"),
}

REFERRAL_DIMS = {"referral_status", "service_type"}
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SENSITIVE_FLAGS = {"UNACCOMPANIED_CHILD", "SEPARATED_CHILD", "TRAFFICKING_RISK", "GBV_SURVIVOR"}

HXL_TAGS = {
    "month": "#date+month", "country": "#country+code", "division": "#adm1+code",
    "site": "#loc+code", "stage": "#indicator+stage", "sex": "#indicator+sex",
    "age_band": "#indicator+age_band", "nationality": "#country+code+origin",
    "group": "#indicator+group", "flag": "#indicator+flag",
    "referral_status": "#status+referral", "service_type": "#sector+service",
    "unmet_need": "#indicator+unmet_need",
}


def _locations(level: str) -> set[str]:
    return set(db.session.scalars(sa.select(Location.code).where(Location.level == level)))


def valid_value(dim: str, value: str) -> bool:
    """Filters take only predefined values: codes and bands, never free text."""
    if dim == "month":
        return bool(MONTH_RE.match(value))
    if dim == "country":
        return value in _locations(LocationLevel.COUNTRY)
    if dim == "division":
        return value in _locations(LocationLevel.DIVISION)
    if dim == "site":
        return value in _locations(LocationLevel.SITE)
    allowed: dict[str, Any] = {
        "stage": case_vocab.STAGES, "sex": case_vocab.SEXES,
        "age_band": dict.fromkeys(case_vocab.AGE_BANDS),
        "nationality": None, "group": GROUP_LABELS, "flag": case_vocab.FLAG_LABELS,
        "unmet_need": case_vocab.FLAG_LABELS, "referral_status": referral_vocab.STATUSES,
        "service_type": referral_vocab.SERVICE_TYPES,
    }
    if dim == "nationality":
        from fieldapp.cases.inputs import nationality_codes

        return value in nationality_codes()
    return dim in allowed and value in allowed[dim]


def label(dim: str, value: Any) -> str:
    """A value as people read it, in the request's language."""
    if value is None:
        return str(_l("(none)"))
    value = str(value)
    table: dict[str, Any] = {
        "stage": case_vocab.STAGES, "sex": case_vocab.SEXES, "group": GROUP_LABELS,
        "flag": case_vocab.FLAG_LABELS, "unmet_need": case_vocab.FLAG_LABELS,
        "referral_status": referral_vocab.STATUSES,
        "service_type": referral_vocab.SERVICE_TYPES,
    }
    if dim in table:
        return str(table[dim].get(value, value))
    if dim in ("country", "division", "site"):
        loc = db.session.get(Location, value)
        return loc.name if loc else value
    if dim == "nationality":
        from fieldapp.cases.choices import country_name

        return country_name(value)
    return value
