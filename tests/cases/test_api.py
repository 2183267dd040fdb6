"""The cases API: contract of docs/api.md, errors, visibility, If-Match, duplicates."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from tests.cases.conftest import case_data
from tests.conftest import api_token


@pytest.fixture
def worker_api(client, make):
    user = make.user(Role.FIELD_WORKER)
    token = api_token(client, user.email)
    return user, {"Authorization": f"Bearer {token}"}


def test_create_returns_201_with_every_field(client, worker_api):
    user, auth = worker_api
    body = case_data(household=[{"given_name": "Luis", "family_name": "Pérez",
                                 "date_of_birth": "2015-06-01", "sex": "male",
                                 "relationship": "sibling"}])
    response = client.post("/api/v1/cases", json=body, headers=auth)
    assert response.status_code == 201
    data = response.get_json()
    assert data["reference"].startswith("CO-NSA-") and data["version"] == 1
    assert data["owner_id"] == str(user.id) and data["status"] == "open"
    assert data["age_band"] == "12-17" and data["priority"] == "none"
    for key in ("given_name", "family_name", "date_of_birth", "sex", "nationality", "phone",
                "location_code", "stage", "languages", "notes"):
        assert data[key] == body[key], key
    assert data["document"] == body["document"]
    assert data["household"][0]["given_name"] == "Luis"
    assert data["consent"]["given_by"] == "guardian"


def test_create_without_consent_is_422_and_changes_nothing(client, worker_api):
    _, auth = worker_api
    for consent in (None, {"data_processing": False, "given_by": "self"}):
        response = client.post("/api/v1/cases", json=case_data(consent=consent), headers=auth)
        assert response.status_code == 422
        assert "consent.data_processing" in response.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("field,value", [("location_code", "ZZ-NOPE"), ("stage", "wandering"),
                                         ("sex", "other"), ("nationality", "XYZ")])
def test_unknown_values_are_422_naming_the_field(client, worker_api, field, value):
    _, auth = worker_api
    response = client.post("/api/v1/cases", json=case_data(**{field: value}), headers=auth)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_malformed_json_is_400(client, worker_api):
    _, auth = worker_api
    response = client.post("/api/v1/cases", data="{", content_type="application/json",
                           headers=auth)
    assert response.status_code == 400


def test_other_organization_gets_404_like_a_missing_case(client, make, worker_api):
    _, auth = worker_api
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    outsider = make.user(Role.CASE_MANAGER)
    outsider_auth = {"Authorization": f"Bearer {api_token(client, outsider.email)}"}
    hidden = client.get(f"/api/v1/cases/{case_id}", headers=outsider_auth)
    missing = client.get("/api/v1/cases/00000000-0000-4000-8000-000000000000",
                         headers=outsider_auth)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    assert client.get("/api/v1/cases", headers=outsider_auth).get_json()["total"] == 0
    supervisor = make.user(Role.SUPERVISOR)
    sup_auth = {"Authorization": f"Bearer {api_token(client, supervisor.email)}"}
    assert client.get(f"/api/v1/cases/{case_id}", headers=sup_auth).status_code == 403


def test_view_is_audited(client, worker_api):
    user, auth = worker_api
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    client.get(f"/api/v1/cases/{case_id}", headers=auth)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.viewed"))
    assert event.object_id == case_id and event.actor_id == user.id


def test_patch_needs_if_match_and_refuses_stale_versions(client, worker_api):
    _, auth = worker_api
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    url = f"/api/v1/cases/{case_id}"
    assert client.patch(url, json={"phone": "+57 1"}, headers=auth).status_code == 428
    ok = client.patch(url, json={"phone": "+57 301 222 3333"}, headers={**auth, "If-Match": "1"})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2
    assert ok.get_json()["notes"] == "Travelling with an aunt."  # untouched fields stay
    stale = client.patch(url, json={"notes": "overwrite"}, headers={**auth, "If-Match": "1"})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    assert client.get(url, headers=auth).get_json()["notes"] == "Travelling with an aunt."
    etag = client.get(url, headers=auth).headers["ETag"]
    assert client.patch(url, json={"stage": "transit"},
                        headers={**auth, "If-Match": etag}).status_code == 200


def test_patch_validation_and_unknown_fields(client, worker_api):
    _, auth = worker_api
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    url = f"/api/v1/cases/{case_id}"
    bad = client.patch(url, json={"stage": "nowhere"}, headers={**auth, "If-Match": "1"})
    assert bad.status_code == 422 and "stage" in bad.get_json()["error"]["fields"]
    frozen = client.patch(url, json={"reference": "X"}, headers={**auth, "If-Match": "1"})
    assert frozen.status_code == 422
    assert client.get(url, headers=auth).get_json()["version"] == 1


def test_list_search_and_filters(client, worker_api):
    _, auth = worker_api
    client.post("/api/v1/cases", json=case_data(), headers=auth)
    client.post("/api/v1/cases", json=case_data(given_name="Pedro", family_name="Luna",
                                                document=None, stage="transit",
                                                location_code="EC-C-TULCAN"), headers=auth)
    everything = client.get("/api/v1/cases", headers=auth).get_json()
    assert everything["total"] == 2 and everything["per_page"] == 25
    by_name = client.get("/api/v1/cases", query_string={"q": "pedro LUNA"}, headers=auth)
    assert [i["given_name"] for i in by_name.get_json()["items"]] == ["Pedro"]
    by_place = client.get("/api/v1/cases", query_string={"location_code": "EC"}, headers=auth)
    assert by_place.get_json()["total"] == 1
    by_stage = client.get("/api/v1/cases", query_string={"stage": "border"}, headers=auth)
    assert by_stage.get_json()["total"] == 1
    bad = client.get("/api/v1/cases", query_string={"priority": "extreme"}, headers=auth)
    assert bad.status_code == 422


def test_duplicate_check(client, worker_api):
    _, auth = worker_api
    created = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()
    response = client.post("/api/v1/cases/duplicate-check", headers=auth, json={
        "given_name": "Maria Jose", "family_name": "perez rojas", "date_of_birth": "2011-04-02",
        "document": {"type": "passport", "number": "V-12345678"}})
    assert response.get_json() == {"candidates": [
        {"id": created["id"], "reference": created["reference"],
         "match": ["document", "name_dob", "name"]}]}


def test_close_and_reopen_for_case_managers_only(client, make, worker_api):
    user, auth = worker_api
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    assert client.post(f"/api/v1/cases/{case_id}/close", json={"reason": "x"},
                       headers=auth).status_code == 403
    manager = make.user(Role.CASE_MANAGER, org=user.organization)
    m_auth = {"Authorization": f"Bearer {api_token(client, manager.email)}"}
    assert client.post(f"/api/v1/cases/{case_id}/close", json={},
                       headers=m_auth).status_code == 422
    closed = client.post(f"/api/v1/cases/{case_id}/close", json={"reason": "Reunited"},
                         headers=m_auth)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert client.post(f"/api/v1/cases/{case_id}/close", json={"reason": "again"},
                       headers=m_auth).status_code == 409
    assert client.patch(f"/api/v1/cases/{case_id}", json={"notes": "x"},
                        headers={**auth, "If-Match": "2"}).status_code == 409
    reopened = client.post(f"/api/v1/cases/{case_id}/reopen", headers=m_auth)
    assert reopened.get_json()["status"] == "open"


def test_reassign_and_consent_withdrawal(client, make, worker_api):
    user, auth = worker_api
    case_id = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()["id"]
    manager = make.user(Role.CASE_MANAGER, org=user.organization)
    colleague = make.user(Role.FIELD_WORKER, org=user.organization)
    m_auth = {"Authorization": f"Bearer {api_token(client, manager.email)}"}
    c_auth = {"Authorization": f"Bearer {api_token(client, colleague.email)}"}
    assert client.get(f"/api/v1/cases/{case_id}", headers=c_auth).status_code == 404
    done = client.post(f"/api/v1/cases/{case_id}/reassign",
                       json={"assignee_id": str(colleague.id)}, headers=m_auth)
    assert done.status_code == 200 and done.get_json()["assignee_id"] == str(colleague.id)
    assert client.get(f"/api/v1/cases/{case_id}", headers=c_auth).status_code == 200
    stranger = make.user(Role.FIELD_WORKER)
    refused = client.post(f"/api/v1/cases/{case_id}/reassign",
                          json={"assignee_id": str(stranger.id)}, headers=m_auth)
    assert refused.status_code == 422
    withdrawn = client.post(f"/api/v1/cases/{case_id}/consent/withdraw", headers=auth)
    assert withdrawn.get_json()["consent"]["withdrawn_at"]
    assert client.post(f"/api/v1/cases/{case_id}/consent/withdraw",
                       headers=auth).status_code == 409
