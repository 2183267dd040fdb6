"""Validating case data from the API's JSON shape (the HTML form builds the same shape).

One validator for both interfaces: errors are keyed by the API's field names
(`document.number`, `household.0.sex`) and translated lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import pycountry
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from fieldapp.cases import vocab
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db
from fieldapp.locations.models import Location

MAX_NAME = 120
MAX_TEXT = 4000
MAX_HOUSEHOLD = 30
PHONE_RE = re.compile(r"^[0-9+()\-. ]{5,32}$")


@dataclass
class MemberInput:
    given_name: str
    family_name: str
    date_of_birth: date | None
    sex: str
    relationship: str


@dataclass
class CaseInput:
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    age_years: int | None = None
    sex: str = "unknown"
    nationality: str = "UNKNOWN"
    document_type: str | None = None
    document_number: str | None = None
    phone: str | None = None
    address: str | None = None
    location_code: str = ""
    stage: str = ""
    languages: list[str] = field(default_factory=list)
    notes: str | None = None
    consent_basis: str = "consent"
    consent_given_by: str = "self"
    consent_language: str = "es"
    consent_note: str | None = None
    household: list[MemberInput] = field(default_factory=list)


@lru_cache(maxsize=1)
def nationality_codes() -> frozenset[str]:
    return frozenset({c.alpha_3 for c in pycountry.countries} | set(vocab.SPECIAL_NATIONALITIES))


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[Any]] = {}

    def add(self, name: str, message: Any) -> None:
        self.fields.setdefault(name, []).append(message)


def _text(data: dict, key: str, errors: _Errors, *, required: bool = False,
          max_len: int = MAX_NAME, label: str | None = None) -> str | None:
    value = data.get(key)
    name = label or key
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(name, _l("This field is required."))
        return None
    if not isinstance(value, str):
        errors.add(name, _l("Must be text."))
        return None
    value = value.strip()
    if len(value) > max_len:
        errors.add(name, _l("At most %(n)d characters.", n=max_len))
        return None
    return value


def _choice(value: Any, allowed: Any, name: str, errors: _Errors, *,
            required: bool = True) -> str | None:
    if value in (None, ""):
        if required:
            errors.add(name, _l("This field is required."))
        return None
    if not isinstance(value, str) or value not in allowed:
        errors.add(name, _l("Not one of the allowed values."))
        return None
    return value


def _date(value: Any, name: str, errors: _Errors, today: date) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value))
        except ValueError:
            errors.add(name, _l("Use a date like 2011-04-02."))
            return None
    if parsed > today:
        errors.add(name, _l("The date cannot be in the future."))
        return None
    if parsed.year < 1900:
        errors.add(name, _l("The date is too far in the past."))
        return None
    return parsed


def _age(value: Any) -> int | None:
    """A whole number of years from 0 to 120 (the form sends text, the API a number);
    `true`, fractions and anything else are not ages."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 3:
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value <= 120:
        return value
    return None


_LOCATION = sa.select(Location.code).where(Location.code == sa.bindparam("code"))


def location_exists(code: str) -> bool:
    return db.session.connection().execute(_LOCATION, {"code": code}).first() is not None


def parse_case(data: dict[str, Any], *, today: date, require_consent: bool = True) -> CaseInput:
    """Validate a whole case (registration, or a full edit). Raises ValidationFailed."""
    if not isinstance(data, dict):
        raise ValidationFailed(_l("Some fields need attention."))
    e = _Errors()
    out = CaseInput()
    out.given_name = _text(data, "given_name", e, required=True) or ""
    out.family_name = _text(data, "family_name", e, required=True) or ""
    out.date_of_birth = _date(data.get("date_of_birth"), "date_of_birth", e, today)
    age = data.get("age_years")
    if age not in (None, ""):
        out.age_years = _age(age)
        if out.age_years is None:
            e.add("age_years", _l("Give an age between 0 and 120."))
    if out.date_of_birth is None and out.age_years is None and "date_of_birth" not in e.fields \
            and "age_years" not in e.fields:
        e.add("date_of_birth", _l("Give the date of birth or, when unknown, the age in years."))
    if out.date_of_birth is not None:
        out.age_years = None  # the date wins
    out.sex = _choice(data.get("sex"), vocab.SEXES, "sex", e) or "unknown"
    nationality = data.get("nationality")
    out.nationality = _choice(nationality.upper() if isinstance(nationality, str) else nationality,
                              nationality_codes(), "nationality", e) or "UNKNOWN"
    document = data.get("document") or {}
    if not isinstance(document, dict):
        e.add("document", _l("Not one of the allowed values."))
        document = {}
    number = _text(document, "number", e, label="document.number", max_len=40)
    if number:
        out.document_number = number
        out.document_type = _choice(document.get("type"), vocab.DOCUMENT_TYPES,
                                    "document.type", e)
    phone = _text(data, "phone", e, max_len=32)
    if phone and not PHONE_RE.match(phone):
        e.add("phone", _l("Use digits, spaces and + ( ) - . only."))
    out.phone = phone
    out.address = _text(data, "address", e, max_len=300)
    code = data.get("location_code")
    if not isinstance(code, str) or not code.strip():
        e.add("location_code", _l("This field is required."))
    elif not location_exists(code.strip().upper()):
        e.add("location_code", _l("Unknown place."))
    else:
        out.location_code = code.strip().upper()
    out.stage = _choice(data.get("stage"), vocab.STAGES, "stage", e) or ""
    languages = data.get("languages") or []
    if not isinstance(languages, list) or any(not isinstance(lang, str) or
                                              lang not in vocab.LANGUAGES for lang in languages):
        e.add("languages", _l("Not one of the allowed values."))
    else:
        out.languages = list(dict.fromkeys(languages))
    out.notes = _text(data, "notes", e, max_len=MAX_TEXT)
    _parse_consent(data.get("consent"), out, e, require_consent)
    _parse_household(data.get("household") or [], out, e, today)
    if e.fields:
        raise ValidationFailed(_l("Some fields need attention."), fields=e.fields)
    return out


def _parse_consent(consent: Any, out: CaseInput, e: _Errors, required: bool) -> None:
    if not isinstance(consent, dict):
        consent = {}
    if required and consent.get("data_processing") is not True:
        e.add("consent.data_processing",
              _l("Record the legal basis for processing and that it was explained."))
    out.consent_basis = _choice(consent.get("basis", "consent"), vocab.CONSENT_BASES,
                                "consent.basis", e) or "consent"
    out.consent_given_by = _choice(consent.get("given_by"), vocab.CONSENT_GIVERS,
                                   "consent.given_by", e) or "self"
    out.consent_language = _choice(consent.get("language", "es"), vocab.LANGUAGES,
                                   "consent.language", e) or "es"
    out.consent_note = _text(consent, "note", e, max_len=MAX_TEXT, label="consent.note")
    if out.consent_basis == "other" and not out.consent_note:
        e.add("consent.note", _l("Describe the documented basis."))


def _parse_household(members: Any, out: CaseInput, e: _Errors, today: date) -> None:
    if not isinstance(members, list):
        e.add("household", _l("Not one of the allowed values."))
        return
    if len(members) > MAX_HOUSEHOLD:
        e.add("household", _l("At most %(n)d household members.", n=MAX_HOUSEHOLD))
        return
    for i, member in enumerate(members):
        if not isinstance(member, dict):
            e.add(f"household.{i}", _l("Not one of the allowed values."))
            continue
        p = f"household.{i}."
        given = _text(member, "given_name", e, required=True, label=p + "given_name")
        family = _text(member, "family_name", e, label=p + "family_name")
        born = _date(member.get("date_of_birth"), p + "date_of_birth", e, today)
        sex = _choice(member.get("sex") or "unknown", vocab.SEXES, p + "sex", e)
        rel = _choice(member.get("relationship"), vocab.RELATIONSHIPS, p + "relationship", e)
        if given and sex and rel:
            out.household.append(MemberInput(given, family or "", born, sex, rel))


UPDATABLE = ("given_name", "family_name", "date_of_birth", "age_years", "sex", "nationality",
             "document", "phone", "address", "location_code", "stage", "languages", "notes",
             "household")


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body applied over the case's current values (API shape)."""
    if not isinstance(patch, dict):
        raise ValidationFailed(_l("Some fields need attention."))
    unknown = sorted(set(patch) - set(UPDATABLE))
    if unknown:
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={k: [_l("This field cannot be changed here.")]
                                       for k in unknown})
    merged = dict(current)
    merged.update(patch)
    if "date_of_birth" in patch and patch["date_of_birth"] and "age_years" not in patch:
        merged["age_years"] = None
    if "age_years" in patch and patch["age_years"] not in (None, "") \
            and "date_of_birth" not in patch:
        merged["date_of_birth"] = None
    return merged
