"""A case's detail reads the case with what it shows, and a page of the case list sends as
many statements for 25 rows as for 3 (docs/benchmarks.md, "Load test", lever 3)."""

from __future__ import annotations

import sqlalchemy as sa

from fieldapp.audit.models import AuditEvent
from fieldapp.cases import assessment
from fieldapp.extensions import db
from tests.conftest import api_token
from tests.perf.conftest import get_counted, listing

# The token (with its user, roles and second factor), the case (its key, flags and
# groups), its household, its open duplicate reviews, the audit chain's head, the event.
CASE_DETAIL = 6
# The token, the organization's tally, the page, its cases' flags, the audit head, the
# event.
CASE_LIST = 6
MEMBERS = [{"given_name": "Luis", "family_name": "Pérez", "date_of_birth": "2015-06-01",
            "sex": "male", "relationship": "sibling"},
           {"given_name": "Ana", "date_of_birth": "2017-02-03", "sex": "female",
            "relationship": "sibling"}]


def test_case_detail_reads_the_case_with_what_it_shows(client, statements, network,
                                                        register):
    worker, manager = network["people"]["worker"], network["people"]["manager"]
    case = register(worker, household=MEMBERS)
    assessment.save_assessment(worker, case, {"accompaniment": "alone", "fear_of_return": True})
    db.session.commit()
    flags = sorted(f.code for f in case.flags)
    groups = sorted(g.code for g in case.groups)
    assert len(flags) >= 2 and groups
    token = api_token(client, manager.email)

    response, seen = get_counted(client, statements, f"/api/v1/cases/{case.id}", token)
    body = response.get_json()
    assert [m["given_name"] for m in body["household"]] == ["Luis", "Ana"]
    assert sorted(f["code"] for f in body["flags"]) == flags
    assert sorted(body["groups"]) == groups
    assert body["given_name"] == "María José" and body["possible_duplicates"] == []
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert len(seen) <= CASE_DETAIL, listing(seen)
    viewed = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "case.viewed", AuditEvent.object_id == str(case.id))).all()
    assert len(viewed) == 1 and viewed[0].actor_id == manager.id


def test_case_detail_of_a_hidden_case_is_404_and_audits_nothing(client, network, register,
                                                                 make):
    outsider = make.user(*network["people"]["manager"].roles)
    case = register(network["people"]["worker"])
    token = api_token(client, outsider.email)
    response = client.get(f"/api/v1/cases/{case.id}", headers={
        "Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}x", headers={
        "Authorization": f"Bearer {token}"}).status_code == 404
    viewed = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "case.viewed"))
    assert viewed == 0


def test_case_list_page_of_25_sends_what_a_page_of_3_sends(client, statements, network,
                                                            register):
    worker, manager = network["people"]["worker"], network["people"]["manager"]
    for i in range(3):
        register(worker, given_name=f"Persona {i}", document=None)
    token = api_token(client, manager.email)
    url = "/api/v1/cases?page=1&per_page=25"
    _, three = get_counted(client, statements, url, token)

    for i in range(3, 30):
        register(worker, given_name=f"Persona {i}", document=None)
    response, full = get_counted(client, statements, url, token)
    assert len(response.get_json()["items"]) == 25
    assert len(full) == len(three), listing(full)
    assert len(full) <= CASE_LIST, listing(full)
