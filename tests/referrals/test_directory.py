"""Directory fields after HSDS: services and organizations record description, contact,
opening hours, eligibility and address; the form, the API and the directory page."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from fieldapp.accounts.models import Organization
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals import hours, services
from fieldapp.referrals.models import Service
from tests.conftest import api_token, csrf_from, login
from tests.test_forms_one_round import Page, assert_one_round

HSDS_FIELDS = {
    "description": "Free legal advice on asylum claims and appeals.",
    "url": "https://clinic.example.org/asylum",
    "email": "asylum@clinic.example.org",
    "phone": "+57 000 555 0101",
    "eligibility_description": "Anyone who fears returning; no documents needed.",
    "schedule": [{"byday": "FR,MO,WE,TU,TH", "opens_at": "08:00", "closes_at": "12:30"},
                 {"byday": "SA", "opens_at": "09:00", "closes_at": "12:00"}],
    "schedule_description": "Closed on public holidays.",
    "location_name": "Casa del Migrante, second floor",
    "address_1": "Calle 00 # 0-00",
    "city": "Cúcuta",
    "state_province": "Norte de Santander",
    "postal_code": "540001",
}
CONTRACT_FIELDS = {"id", "name", "type", "organization_id", "organization", "location_codes",
                   "languages", "min_age", "max_age", "sexes", "capacity", "contact", "active"}


def _base(org) -> dict:
    return {"name": "Asylum advice", "type": "legal_asylum", "organization_id": str(org.id),
            "location_codes": ["CO-NSA"]}


def _errors(data: dict, current: Service | None = None) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        services.parse_service(data, current=current)
    return {k: [str(m) for m in v] for k, v in caught.value.fields.items()}


# -- the service ---------------------------------------------------------------------------

def test_hsds_fields_are_checked_and_kept(network):
    org = network["orgs"]["clinic"]
    data = services.parse_service({**_base(org), **HSDS_FIELDS,
                                   "description": "  " + HSDS_FIELDS["description"] + " "})
    service = services.create_service(network["admin"], data)
    db.session.commit()
    db.session.expire_all()
    service = db.session.get(Service, service.id)
    assert service.description == HSDS_FIELDS["description"]
    assert service.phone == "+57 000 555 0101" and service.url.startswith("https://")
    # Days in the order of the week, whatever order they were given in.
    assert service.schedule_rows == [
        {"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "12:30"},
        {"byday": "SA", "opens_at": "09:00", "closes_at": "12:00"}]
    assert json.loads(service.schedule)[1]["byday"] == "SA"
    assert service.address_lines == ["Casa del Migrante, second floor", "Calle 00 # 0-00",
                                     "540001 Cúcuta, Norte de Santander"]


def test_every_problem_of_the_hsds_fields_at_once(network):
    org = network["orgs"]["clinic"]
    errors = _errors({**_base(org), "url": "ftp://clinic.example.org", "email": "not-an-email",
                      "phone": "call us", "description": "x" * 2001,
                      "schedule": [{"byday": "MO,XX", "opens_at": "8am", "closes_at": "16:00"},
                                   {"byday": "TU", "opens_at": "14:00", "closes_at": "09:00"},
                                   {"byday": "", "opens_at": "24:00", "closes_at": "25:61"},
                                   {"byday": "WE,WE", "opens_at": "09:00",
                                    "closes_at": "10:00"}]})
    assert set(errors) == {"url", "email", "phone", "description", "schedule.0.byday",
                           "schedule.0.opens_at", "schedule.1.closes_at", "schedule.2.byday",
                           "schedule.2.opens_at", "schedule.2.closes_at", "schedule.3.byday"}
    with force_locale("es"):
        after = gettext("The closing time must be after the opening time.")
    assert errors["schedule.1.closes_at"] == [after]
    assert "HH:MM" in errors["schedule.0.opens_at"][0]
    too_many = _errors({**_base(org), "schedule": [HSDS_FIELDS["schedule"][1]] * 8})
    assert list(too_many) == ["schedule"]
    not_text = _errors({**_base(org), "city": 7, "email": ["a@b.org"], "schedule": "MO"})
    assert set(not_text) == {"city", "email", "schedule"}


def test_a_patch_keeps_what_it_does_not_name_and_null_clears(network):
    org = network["orgs"]["clinic"]
    service = services.create_service(network["admin"],
                                      services.parse_service({**_base(org), **HSDS_FIELDS}))
    data = services.parse_service({"city": "Villa del Rosario", "url": None}, current=service)
    assert data.city == "Villa del Rosario" and data.url is None
    assert data.phone == HSDS_FIELDS["phone"] and len(data.schedule) == 2
    assert data.description == HSDS_FIELDS["description"]


def test_hours_in_words(app):
    with force_locale("en"):
        assert hours.describe_days("MO,TU,WE,TH,FR") == "Monday to Friday"
        assert hours.describe_days("MO,WE,SA,SU") == "Monday, Wednesday, Saturday, Sunday"
        assert hours.describe([{"byday": "MO,TU,WE,SA", "opens_at": "08:00",
                                "closes_at": "16:00"}]) == [
            "Monday to Wednesday, Saturday: 08:00–16:00"]
    with force_locale("pt_BR"):  # day names from the CLDR, in every language
        assert hours.describe_days("SA") == "sábado"
    assert hours.rows_of("not json") == [] and hours.rows_of('[{"byday": "XX"}]') == []


# -- the API -----------------------------------------------------------------------------------

def test_api_services_gain_the_hsds_fields(client, make, network):
    org_admin = make.user(Role.ORG_ADMIN, org=network["orgs"]["clinic"])
    token = api_token(client, org_admin.email)
    auth = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/services", json={**_base(network["orgs"]["clinic"]),
                                                     **HSDS_FIELDS}, headers=auth)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert CONTRACT_FIELDS <= set(body)
    assert body["schedule"][0] == {"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00",
                                   "closes_at": "12:30"}
    assert {k: body[k] for k in HSDS_FIELDS if k != "schedule"} == {
        k: v for k, v in HSDS_FIELDS.items() if k != "schedule"}
    patched = client.patch(f"/api/v1/services/{body['id']}", headers=auth,
                           json={"phone": None, "schedule": []})
    assert patched.status_code == 200
    assert patched.get_json()["phone"] is None and patched.get_json()["schedule"] == []
    assert patched.get_json()["city"] == "Cúcuta"
    bad = client.patch(f"/api/v1/services/{body['id']}", headers=auth, json={
        "schedule": [{"byday": "MO", "opens_at": "17:00", "closes_at": "09:00"}],
        "email": "nope"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"schedule.0.closes_at", "email"}
    # The contract's own check, before the service: a row without its times.
    missing = client.patch(f"/api/v1/services/{body['id']}", headers=auth,
                           json={"schedule": [{"byday": "MO"}]})
    assert missing.status_code == 422
    assert {"schedule.0.opens_at", "schedule.0.closes_at"} <= set(
        missing.get_json()["error"]["fields"])
    listed = client.get("/api/v1/services?type=legal_asylum", headers=auth).get_json()
    mine = next(s for s in listed["items"] if s["id"] == body["id"])
    assert mine["city"] == "Cúcuta" and mine["description"] == HSDS_FIELDS["description"]
    # A service without any: texts are "", contact details null, no hours.
    plain = next(s for s in listed["items"] if s["name"] == "Asylum clinic")
    assert plain["description"] == "" and plain["url"] is None and plain["schedule"] == []


# -- the form and the directory page ------------------------------------------------------------

def _form_data(page_html: str, **values) -> dict:
    return {"csrf_token": csrf_from(page_html), "name": "Asylum advice",
            "type": "legal_asylum", "location_codes": "CO-NSA", "capacity": "open",
            "active": "y", **values}


def test_the_org_admin_edits_the_hsds_fields_on_the_form(client, make, network):
    clinic = network["orgs"]["clinic"]
    service = network["services"]["asylum"]
    admin = make.user(Role.ORG_ADMIN, org=clinic)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, admin.email)
    page = client.get(f"/services/{service.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Three blank rows of opening hours to start with, seven days each.
    assert 'name="schedule-2-days"' in html and 'name="schedule-3-days"' not in html
    assert html.count('type="time"') == 6
    response = client.post(f"/services/{service.id}", data=_form_data(
        html, organization_id=str(clinic.id), description="Advice on asylum.",
        phone="+57 000 555 0102", email="asylum@clinic.example.org",
        url="https://clinic.example.org", eligibility_description="Everyone.",
        **{"schedule-0-days": ["MO", "TU", "WE", "TH", "FR"], "schedule-0-opens_at": "08:00",
           "schedule-0-closes_at": "16:00", "schedule-1-opens_at": "",
           "schedule-1-closes_at": "", "schedule-2-days": ["SA"],
           "schedule-2-opens_at": "09:00", "schedule-2-closes_at": "12:00"},
        schedule_description="Closed on public holidays.", location_name="Clinic",
        address_1="Calle 00 # 0-00", city="Bogotá", state_province="Bogotá D.C.",
        postal_code="110111"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    saved = db.session.get(Service, service.id)
    assert saved.schedule_rows == [
        {"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"},
        {"byday": "SA", "opens_at": "09:00", "closes_at": "12:00"}]
    assert saved.city == "Bogotá" and saved.phone == "+57 000 555 0102"
    # The form shows the saved rows, and one blank row more.
    again = Page(client.get(f"/services/{service.id}").get_data(as_text=True))
    assert again.value("schedule-0-days") == ["MO", "TU", "WE", "TH", "FR"]
    assert again.value("schedule-1-days") == ["SA"] and again.value("schedule-2-days") == []
    assert again.value("schedule-1-opens_at") == "09:00"
    assert not again.find("input", name="schedule-3-opens_at")


def test_the_form_puts_each_problem_on_its_row(client, network):
    clinic = network["orgs"]["clinic"]
    service = network["services"]["asylum"]
    login(client, network["admin"].email)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get(f"/services/{service.id}").get_data(as_text=True)
    response = client.post(f"/services/{service.id}", data=_form_data(
        html, organization_id=str(clinic.id), email="nope", url="clinic.example.org",
        **{"schedule-0-days": ["MO"], "schedule-0-opens_at": "08:00",
           "schedule-0-closes_at": "16:00", "schedule-1-opens_at": "",
           "schedule-1-closes_at": "", "schedule-2-days": ["SA"],
           "schedule-2-opens_at": "13:00", "schedule-2-closes_at": "12:00"}))
    page = assert_one_round(response, "email", "url", "schedule-2-closes_at")
    summary = page.summary().all_text()
    assert "Opening hours 3 – Closes at: The closing time must be after the opening time." \
        in summary  # the page is read in English here
    assert page.value("schedule-2-opens_at") == "13:00"  # what was typed stays
    db.session.expire_all()
    assert db.session.get(Service, service.id).schedule_rows == []


def test_the_directory_page_shows_the_hsds_fields(client, network):
    org = network["orgs"]["clinic"]
    service = services.create_service(network["admin"],
                                      services.parse_service({**_base(org), **HSDS_FIELDS}))
    db.session.commit()
    worker = network["people"]["worker"]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, worker.email)
    response = client.get("/services?type=legal_asylum")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Free legal advice on asylum claims", "Monday to Friday: 08:00–12:30",
                 "Saturday: 09:00–12:00", "Closed on public holidays.",
                 "Casa del Migrante, second floor", "540001 Cúcuta, Norte de Santander",
                 "Anyone who fears returning", 'href="tel:+570005550101"',
                 'href="mailto:asylum@clinic.example.org"',
                 'href="https://clinic.example.org/asylum"'):
        assert text in html, text
    # The export link carries the page's filters.
    assert 'href="/services.hsds.json?type=legal_asylum"' in html
    assert service.name in html


# -- organizations -------------------------------------------------------------------------------

def test_organization_contact_and_notice_address(client, make):
    org = make.org("Clinic Norte")
    admin = make.user(Role.ORG_ADMIN, org=org)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, admin.email)
    url = f"/admin/organizations/{org.id}"
    html = client.get(url).get_data(as_text=True)
    base = {"csrf_token": csrf_from(html), "name": "Clinic Norte", "kind": org.kind,
            "country_code": "CO", "location_code": "CO-NSA-CUCUTA", "time_zone": "",
            "shares_statistics": "y"}
    bad = client.post(url, data={**base, "email": "nope", "notice_email": "also nope",
                                 "website": "javascript:alert(1)", "phone": "555-CALL-NOW",
                                 "description": "x" * 2001})
    assert_one_round(bad, "email", "notice_email", "website", "phone", "description")
    good = client.post(url, data={**base, "description": "Legal help for migrants.",
                                  "phone": "+57 000 555 0199", "email": "info@clinic.example",
                                  "website": "https://clinic.example",
                                  "notice_email": "referrals@clinic.example"})
    assert good.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Organization, org.id)
    assert (saved.description, saved.phone, saved.email, saved.website, saved.notice_email) \
        == ("Legal help for migrants.", "+57 000 555 0199", "info@clinic.example",
            "https://clinic.example", "referrals@clinic.example")
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "organization.updated").order_by(AuditEvent.seq.desc())).first()
    assert "notice_email" in event.details and "referrals@clinic.example" not in event.details
    # Emptied: no notices, no public phone.
    client.post(url, data={**base, "notice_email": "", "phone": ""})
    db.session.expire_all()
    assert db.session.get(Organization, org.id).notice_email is None
    assert db.session.get(Organization, org.id).phone is None
