"""Risk through both interfaces: docs/api.md's assessment and flag endpoints, and the pages."""

from __future__ import annotations

import re

import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from tests.cases.conftest import case_data
from tests.conftest import api_token, csrf_from


def _auth(client, make, role=Role.FIELD_WORKER):
    user = make.user(role)
    return user, {"Authorization": f"Bearer {api_token(client, user.email)}"}


def test_register_with_assessment_through_the_api(client, make):
    _, auth = _auth(client, make)
    body = case_data(date_of_birth="2012-03-01",
                     assessment={"answers": {"accompaniment": "alone"}})
    data = client.post("/api/v1/cases", json=body, headers=auth).get_json()
    assert data["priority"] == "urgent"
    assert set(data["groups"]) == {"WOMEN_GIRLS", "CHILDREN"}
    flag = data["flags"][0]
    assert flag["code"] == "UNACCOMPANIED_CHILD" and flag["severity"] == "urgent"
    assert flag["source"] == "rule" and flag["active"] and flag["reasons"]
    assert flag["unhcr_codes"] == ["SC-UC"]


def test_invalid_assessment_in_registration_creates_nothing(client, make):
    _, auth = _auth(client, make)
    body = case_data(assessment={"answers": {"gbv": "often"}})
    response = client.post("/api/v1/cases", json=body, headers=auth)
    assert response.status_code == 422
    assert "answers.gbv" in response.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_put_assessment_returns_flags_and_open_questions(client, make):
    _, auth = _auth(client, make)
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    url = f"/api/v1/cases/{case_id}/assessment"
    response = client.put(url, json={"answers": {"gbv": "recent", "fear_of_return": True}},
                          headers={**auth, "Accept-Language": "en"})
    body = response.get_json()
    assert response.status_code == 200
    assert body["priority"] == "urgent"
    assert {f["code"] for f in body["flags"]} == {"GBV_SURVIVOR",
                                                  "INTERNATIONAL_PROTECTION_NEED"}
    assert "accompaniment" in body["open_questions"]
    assert body["open_question_labels"]["accompaniment"] == "Who is the child travelling with?"
    es = client.put(url, json={"answers": {"gbv": "recent"}},
                    headers={**auth, "Accept-Language": "es"}).get_json()
    assert es["open_question_labels"]["accompaniment"] != "Who is the child travelling with?"
    assert es["flags"][0]["reasons"][0] != body["flags"][0]["reasons"][0]  # translated
    bad = client.put(url, json={"answers": {"nonsense": True}}, headers=auth)
    assert bad.status_code == 422


def test_manual_flag_and_dismissal_through_the_api(client, make):
    _, auth = _auth(client, make)
    case_id = client.post("/api/v1/cases", json=case_data(date_of_birth="1990-01-01"),
                          headers=auth).get_json()["id"]
    flags_url = f"/api/v1/cases/{case_id}/flags"
    assert client.post(flags_url, json={"code": "DEFENDER_AT_RISK"},
                       headers=auth).status_code == 422
    added = client.post(flags_url, json={"code": "DEFENDER_AT_RISK",
                                         "reason": "Threatened for organizing a union"},
                        headers=auth)
    assert added.status_code == 201 and added.get_json()["severity"] == "high"
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).get_json()["priority"] == "high"
    dismiss = f"{flags_url}/DEFENDER_AT_RISK/dismiss"
    assert client.post(dismiss, json={}, headers=auth).status_code == 422
    done = client.post(dismiss, json={"reason": "Threat was about someone else"},
                       headers=auth)
    assert done.status_code == 200 and done.get_json()["dismissed"] is True
    assert client.post(dismiss, json={"reason": "again"}, headers=auth).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).get_json()["priority"] == "none"


def test_assessment_pages_show_only_what_applies(client, make, auth):
    worker = auth(Role.FIELD_WORKER)
    child = client.post("/api/v1/cases", json=case_data(date_of_birth="2015-01-01", sex="male"),
                        headers={"Authorization": f"Bearer {api_token(client, worker.email)}"})
    adult = client.post("/api/v1/cases", json=case_data(date_of_birth="1980-01-01"),
                        headers={"Authorization": f"Bearer {api_token(client, worker.email)}"})
    child_url = f"/cases/{child.get_json()['id']}/assessment"
    adult_url = f"/cases/{adult.get_json()['id']}/assessment"
    child_page = client.get(child_url + "/travel_family").get_data(as_text=True)
    adult_page = client.get(adult_url + "/travel_family").get_data(as_text=True)
    assert 'name="accompaniment"' in child_page and 'name="accompaniment"' not in adult_page
    child_health = client.get(child_url + "/health").get_data(as_text=True)
    adult_health = client.get(adult_url + "/health").get_data(as_text=True)
    assert 'name="pregnant_or_lactating"' not in child_health
    assert 'name="pregnant_or_lactating"' in adult_health
    assert no_inline_script(child_page + adult_health)


def test_assessment_sections_save_and_case_page_shows_reason(client, make, auth):
    worker = auth(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    case_id = client.post("/api/v1/cases", json=case_data(date_of_birth="2012-01-01"),
                          headers={"Authorization": f"Bearer {token}"}).get_json()["id"]
    url = f"/cases/{case_id}/assessment"
    for code, data in (("travel_family", {"accompaniment": "alone"}),
                       ("violence", {"trafficking_indicators__none": "y"}),
                       ("disability", {"washington_group__walking": "some"})):
        page = client.get(f"{url}/{code}").get_data(as_text=True)
        response = client.post(f"{url}/{code}", data={"csrf_token": csrf_from(page), **data})
        assert response.status_code == 302
    case = db.session.get(Case, __import__("uuid").UUID(case_id))
    assert case.priority == "urgent"
    import json
    assert json.loads(case.assessment) == {"accompaniment": "alone",
                                           "trafficking_indicators": [],
                                           "washington_group": {"walking": "some"}}
    detail = client.get(f"/cases/{case_id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert "Unaccompanied child" in detail
    assert "A child under 18 travelling alone or with an unrelated adult." in detail
    assert "‼" in detail  # urgency is shown by a symbol and a word, not colour alone


def test_flag_forms_on_the_case_page(client, make, auth):
    worker = auth(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    case_id = client.post("/api/v1/cases", json=case_data(date_of_birth="1990-01-01"),
                          headers={"Authorization": f"Bearer {token}"}).get_json()["id"]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    token_form = csrf_from(page)
    client.post(f"/cases/{case_id}/flags", data={"csrf_token": token_form,
                                                 "code": "SERIOUS_MEDICAL_CONDITION",
                                                 "severity": "", "reason": "Insulin ran out"})
    db.session.expire_all()
    case = db.session.scalar(sa.select(Case))
    assert case.priority == "high"
    client.post(f"/cases/{case_id}/flags/SERIOUS_MEDICAL_CONDITION/dismiss",
                data={"csrf_token": token_form, "reason": "Got insulin at the clinic"})
    db.session.expire_all()
    assert db.session.scalar(sa.select(Case)).priority == "none"


def no_inline_script(html: str) -> bool:
    """Scripts only as modules served by the app: the page works without them (the CSP
    forbids inline scripts anyway)."""
    tags = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    return all(("src=" in attrs and not body.strip()) or 'type="application/json"' in attrs
               for attrs, body in tags)
