"""The directory exported as Open Referral HSDS 3, validated against the specification's
own JSON schemas (vendored, unmodified, in tests/fixtures/hsds: see its README.md):
every required field of every object present and typed as the schema says, formats
(uuid, email, uri, date-time) checked, and no field HSDS does not define."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.referrals.models import Service
from tests.conftest import api_token, login

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "hsds"
BASE = "https://hsds.invalid/schema/"


def _closed(schema: Any) -> Any:
    """additionalProperties: false on every object schema, as the specification's own
    validate_examples_json_schema.sh does (compiletojsonschema
    --set-additional-properties-false-everywhere)."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if "properties" in out and out.get("type") == "object":
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def _schema(name: str) -> dict[str, Any]:
    return _closed(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def service_validator() -> jsonschema_rs.Validator:
    """service.json, its references (`phone.json`...) read from the vendored files only."""
    def retrieve(uri: str) -> dict[str, Any]:
        assert uri.startswith(BASE), uri
        return _schema(uri.removeprefix(BASE))

    return jsonschema_rs.validator_for(_schema("service.json"), retriever=retrieve,
                                       base_uri=BASE + "service.json", validate_formats=True)


def hsds_errors(service: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in service_validator().iter_errors(service)]


def required_of(name: str) -> list[str]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))["required"]


# -- the validator itself ------------------------------------------------------------------

def test_the_validator_accepts_the_specifications_example_and_catches_omissions():
    example = json.loads((SCHEMAS / "example_service_full.json").read_text(encoding="utf-8"))
    assert hsds_errors(example) == []
    broken = json.loads(json.dumps(example))
    del broken["status"]
    del broken["organization"]["description"]
    address = broken["service_at_locations"][0]["location"]["addresses"][0]
    del address["country"]
    address["city"] = 7
    broken["phones"][0]["id"] = "not-a-uuid"
    broken["invented_field"] = "x"
    found = "\n".join(hsds_errors(broken))
    for expected in ('"status" is a required property', '"description" is a required',
                     '"country" is a required', "7 is not of type", "not-a-uuid",
                     "invented_field"):
        assert expected in found, (expected, found)
    assert required_of("address.json") == ["id", "address_1", "city", "state_province",
                                           "postal_code", "country", "address_type"]


# -- the export ------------------------------------------------------------------------------

FULL = {"description": "Free legal advice on asylum.", "url": "https://clinic.example.org",
        "email": "asylum@clinic.example.org", "phone": "+57 000 555 0101",
        "eligibility_description": "Anyone who fears returning.",
        "schedule": [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"}],
        "schedule_description": "Closed on public holidays.",
        "location_name": "Clinic office", "address_1": "Carrera de los Almendros 12",
        "city": "Bogotá", "state_province": "Bogotá D.C.", "postal_code": "110311",
        "min_age": 18, "languages": ["es", "warao", "other"]}


def _export(client, user, **query) -> dict[str, Any]:
    token = api_token(client, user.email)
    response = client.get("/api/v1/services.hsds.json", query_string=query,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_export_is_valid_hsds_with_every_object(client, network):
    clinic = network["orgs"]["clinic"]
    clinic.description, clinic.phone = "Legal help for migrants.", "+57 000 555 0100"
    clinic.website, clinic.email = "https://clinic.example.org", "info@clinic.example.org"
    asylum = network["services"]["asylum"]
    services.update_service(network["admin"], asylum, services.parse_service(
        FULL, current=asylum))
    inactive = services.create_service(network["admin"], services.parse_service({
        "name": "Closed desk", "type": "legal_asylum", "organization_id": str(clinic.id),
        "location_codes": ["CO"], "active": False}))
    db.session.commit()

    page = _export(client, network["people"]["child_provider"])  # any signed-in user
    assert page["total_items"] == page["size"] == len(page["contents"]) == 4
    assert page["page_number"] == 1 and page["first_page"] and page["last_page"]
    assert not page["empty"]
    for item in page["contents"]:
        assert hsds_errors(item) == [], (item["name"], hsds_errors(item))
        assert set(required_of("service.json")) <= set(item)
        assert set(required_of("organization.json")) <= set(item["organization"])
    assert str(inactive.id) not in {s["id"] for s in page["contents"]}

    item = next(s for s in page["contents"] if s["id"] == str(asylum.id))
    assert item["status"] == "active" and item["minimum_age"] == 18
    assert "maximum_age" not in item  # none: left out, never null
    assert item["eligibility_description"] == FULL["eligibility_description"]
    assert item["organization"] == {
        "id": str(clinic.id), "name": "Clinic", "description": "Legal help for migrants.",
        "email": "info@clinic.example.org", "website": "https://clinic.example.org",
        "phones": [{"id": item["organization"]["phones"][0]["id"],
                    "organization_id": str(clinic.id), "number": "+57 000 555 0100",
                    "type": "voice"}]}
    assert [p["number"] for p in item["phones"]] == ["+57 000 555 0101"]
    [schedule] = item["schedules"]
    # Times carry the organization's UTC offset (Bogotá: -05:00), as HSDS asks.
    assert (schedule["byday"], schedule["opens_at"], schedule["closes_at"],
            schedule["freq"], schedule["timezone"]) == ("MO,TU,WE,TH,FR", "08:00-05:00",
                                                        "16:00-05:00", "WEEKLY", -5)
    assert schedule["description"] == "Closed on public holidays."
    [sal] = item["service_at_locations"]
    location = sal["location"]
    assert set(required_of("service_at_location.json")) <= set(sal)
    assert set(required_of("location.json")) <= set(location)
    assert location["name"] == "Clinic office" and location["location_type"] == "physical"
    [address] = location["addresses"]
    assert set(required_of("address.json")) <= set(address)
    assert (address["address_1"], address["city"], address["country"]) == (
        "Carrera de los Almendros 12", "Bogotá", "CO")
    # ISO 639 codes where there is one (Warao: ISO 639-3); names in the caller's language.
    assert [lang.get("code") for lang in item["languages"]] == ["es", "wba", None]
    assert all(lang["name"] for lang in item["languages"])
    assert [a["extent"] for a in item["service_areas"]] == ["CO"]
    assert item["service_areas"][0]["name"] == "Colombia"

    # A service with nothing but the routing fields is valid HSDS too (required only).
    plain = next(s for s in page["contents"] if s["id"] == str(network["services"]["child"].id))
    assert plain["service_at_locations"] == [] and plain["phones"] == []
    assert plain["service_areas"][0]["name"].startswith("Norte de Santander")
    assert plain["maximum_age"] == 17


def test_the_export_is_stable_and_follows_the_filters(client, network):
    worker = network["people"]["worker"]
    services.update_service(network["admin"], network["services"]["asylum"],
                            services.parse_service(FULL, current=network["services"]["asylum"]))
    db.session.commit()
    first, second = _export(client, worker), _export(client, worker)
    assert first == second  # derived ids do not change from one export to the next
    ids = [o["id"] for s in first["contents"] for o in
           (s["service_at_locations"] + s["schedules"] + s["languages"] + s["service_areas"])]
    assert len(ids) == len(set(ids))
    only = _export(client, worker, type="legal_asylum")
    assert [s["name"] for s in only["contents"]] == ["Asylum clinic"]
    nowhere = _export(client, worker, location_code="PE")
    assert nowhere["empty"] and nowhere["contents"] == [] and nowhere["total_items"] == 0
    token = api_token(client, worker.email)
    bad = client.get("/api/v1/services.hsds.json?type=nope",
                     headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422
    assert client.get("/api/v1/services.hsds.json").status_code == 401


def test_the_directory_page_offers_the_download(app, client, network):
    login(client, network["people"]["other_provider"].email)
    page = client.get("/services?type=child_protection").get_data(as_text=True)
    link = re.search(r'href="(/services\.hsds\.json[^"]*)" download', page)
    assert link and link.group(1) == "/services.hsds.json?type=child_protection"
    response = client.get(link.group(1))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="directory-hsds.json"'
    body = json.loads(response.get_data(as_text=True))
    assert [s["name"] for s in body["contents"]] == ["Child protection NSA"]
    assert all(hsds_errors(s) == [] for s in body["contents"])
    anonymous = app.test_client().get("/services.hsds.json")  # the login page instead
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_demo_directory_is_complete_valid_hsds(app, client, make):
    from fieldapp.demo import seed

    seed.seed("a demo passphrase for the test", with_cases=False)
    db.session.commit()
    page = _export(client, make.user(Role.SUPERVISOR))
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Service).where(
        Service.active.is_(True)))
    assert page["total_items"] == active > 20
    for item in page["contents"]:
        assert hsds_errors(item) == [], (item["name"], hsds_errors(item))
        assert item["description"] and item["schedules"] and item["phones"], item["name"]
        assert item["service_at_locations"][0]["location"]["addresses"], item["name"]
        assert item["organization"]["description"], item["name"]
        # Fictitious numbers only: "000" (or "00") right after the country code.
        for phone in item["phones"] + item["organization"]["phones"]:
            assert re.fullmatch(r"\+\d{2,3} 00+ \d{3,4} \d{4}", phone["number"]), phone
