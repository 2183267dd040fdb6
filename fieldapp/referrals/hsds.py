"""The service directory as Open Referral's Human Services Data Specification, version 3
(HSDS, https://docs.openreferral.org): an HSDS API page of fully nested services.

Only public directory data goes out, never anything about a person. Ids of the nested
objects that fieldapp keeps inside the service row (its location, address, phones,
schedules, languages, service areas) are UUIDs derived from the service's id, so they
stay the same from one export to the next.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from fieldapp import clock
from fieldapp.accounts.models import Organization
from fieldapp.cases import vocab as case_vocab
from fieldapp.extensions import db
from fieldapp.locations.models import Location
from fieldapp.referrals.models import Service

# ISO 639-1 (or 639-3 where there is no two-letter code) for the languages fieldapp
# records; "another language" has no code and goes out by name only.
LANGUAGE_CODES = {"es": "es", "pt": "pt", "en": "en", "fr": "fr", "ht": "ht",
                  "wayuunaiki": "guc", "warao": "wba"}


def _derived_id(owner: uuid.UUID, *parts: str) -> str:
    return str(uuid.uuid5(owner, "/".join(parts)))


def _timestamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _offset(zone: str, now: datetime) -> tuple[str, float]:
    """The zone's UTC offset now, as HSDS times carry it (`-05:00`) and in hours."""
    try:
        delta = now.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        delta = None
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    text = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return ("Z" if minutes == 0 else text), minutes / 60


def _phone(owner_key: str, owner: uuid.UUID, number: str) -> dict[str, Any]:
    return {"id": _derived_id(owner, "phone"), owner_key: str(owner), "number": number,
            "type": "voice"}


def organization_document(org: Organization) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(org.id), "name": org.name,
                            "description": org.description or ""}
    if org.email:
        body["email"] = org.email
    if org.website:
        body["website"] = org.website
    body["phones"] = [_phone("organization_id", org.id, org.phone)] if org.phone else []
    return body


def _place_names(services: list[Service]) -> dict[str, str]:
    """`CO-NSA` -> "Norte de Santander, Colombia", for every place the services cover."""
    wanted = set()
    for service in services:
        for code in service.location_codes:
            parts = code.split("-")
            wanted.update("-".join(parts[:i]) for i in range(1, len(parts) + 1))
    names = {code: name for code, name in db.session.execute(
        sa.select(Location.code, Location.name).where(Location.code.in_(wanted)))} \
        if wanted else {}
    out = {}
    for service in services:
        for code in service.location_codes:
            parts = code.split("-")
            chain = ["-".join(parts[:i]) for i in range(len(parts), 0, -1)]
            out[code] = ", ".join(names.get(c, c) for c in chain)
    return out


def _country(service: Service) -> str:
    """The country the service's address is in: the one country it covers, else its
    organization's."""
    countries = {code.split("-")[0] for code in service.location_codes}
    return countries.pop() if len(countries) == 1 else service.organization.country_code


def _schedules(service: Service, now: datetime) -> list[dict[str, Any]]:
    suffix, hours = _offset(service.organization.time_zone, now)
    rows = []
    for number, row in enumerate(service.schedule_rows):
        item: dict[str, Any] = {
            "id": _derived_id(service.id, "schedule", str(number)),
            "service_id": str(service.id), "freq": "WEEKLY", "interval": 1, "wkst": "MO",
            "byday": row["byday"], "opens_at": row["opens_at"] + suffix,
            "closes_at": row["closes_at"] + suffix, "timezone": hours}
        if service.schedule_description:
            item["description"] = service.schedule_description
        rows.append(item)
    if not rows and service.schedule_description:
        rows.append({"id": _derived_id(service.id, "schedule", "0"),
                     "service_id": str(service.id),
                     "description": service.schedule_description})
    return rows


def _service_at_locations(service: Service) -> list[dict[str, Any]]:
    if not (service.location_name or service.address_1):
        return []
    location_id = _derived_id(service.id, "location")
    location: dict[str, Any] = {"id": location_id, "location_type": "physical",
                                "organization_id": str(service.organization_id)}
    if service.location_name:
        location["name"] = service.location_name
    location["addresses"] = [{
        "id": _derived_id(service.id, "address"), "location_id": location_id,
        "address_1": service.address_1, "city": service.city,
        "state_province": service.state_province, "postal_code": service.postal_code,
        "country": _country(service), "address_type": "physical"}] \
        if service.address_1 else []
    return [{"id": _derived_id(service.id, "service_at_location"),
             "service_id": str(service.id), "location_id": location_id,
             "location": location}]


def _languages(service: Service) -> list[dict[str, Any]]:
    out = []
    for code in service.language_list:
        item: dict[str, Any] = {"id": _derived_id(service.id, "language", code),
                                "service_id": str(service.id),
                                "name": str(case_vocab.LANGUAGES.get(code, code))}
        if code in LANGUAGE_CODES:
            item["code"] = LANGUAGE_CODES[code]
        out.append(item)
    return out


def service_document(service: Service, places: dict[str, str],
                     now: datetime) -> dict[str, Any]:
    """One service, fully nested, as HSDS 3's `service` object."""
    body: dict[str, Any] = {
        "id": str(service.id), "organization_id": str(service.organization_id),
        "name": service.name, "description": service.description or "",
        "status": "active" if service.active else "inactive",
    }
    for key in ("url", "email"):
        if getattr(service, key):
            body[key] = getattr(service, key)
    if service.eligibility_description:
        body["eligibility_description"] = service.eligibility_description
    if service.min_age is not None:
        body["minimum_age"] = service.min_age
    if service.max_age is not None:
        body["maximum_age"] = service.max_age
    body["last_modified"] = _timestamp(service.updated_at)
    body["organization"] = organization_document(service.organization)
    body["phones"] = [_phone("service_id", service.id, service.phone)] \
        if service.phone else []
    body["schedules"] = _schedules(service, now)
    body["service_areas"] = [{"id": _derived_id(service.id, "service_area", code),
                              "service_id": str(service.id), "name": places[code],
                              "extent": code, "extent_type": "text"}
                             for code in service.location_codes]
    body["service_at_locations"] = _service_at_locations(service)
    body["languages"] = _languages(service)
    return body


def directory_page(services: list[Service], *, now: datetime | None = None) -> dict[str, Any]:
    """Every given service in one HSDS API page (`GET /services?full=true` shaped)."""
    now = now or clock.now()
    places = _place_names(services)
    contents = [service_document(s, places, now) for s in services]
    return {"total_items": len(contents), "total_pages": 1, "page_number": 1,
            "size": len(contents), "first_page": True, "last_page": True,
            "empty": not contents, "contents": contents}
