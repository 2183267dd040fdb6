"""Issuing, listing and revoking continuity codes; consent withdrawal revokes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fieldapp import clock
from fieldapp.audit.models import AuditEvent
from fieldapp.cases import services as case_services
from fieldapp.extensions import db
from fieldapp.transfers import services
from fieldapp.transfers.codes import normalize_code
from fieldapp.transfers.models import ContinuityCode
from tests.transfers.conftest import bearer, in_days, issue, issued_code


def _url(case) -> str:
    return f"/api/v1/cases/{case.id}/continuity-codes"


def test_the_owner_issues_a_code_shown_once(client, people, full_case):
    response = issue(client, people["owner"], full_case, scope=["identity", "notes"],
                     countries=["ec", "PE", "EC"], days=180)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) >= {"id", "code", "expires_on", "countries", "scope"}
    assert normalize_code(body["code"]) is not None and len(body["code"]) == 19
    assert body["countries"] == ["EC", "PE"] and body["scope"] == ["identity", "notes"]
    assert body["expires_on"] == in_days(180) and body["status"] == "active"
    row = db.session.get(ContinuityCode, uuid.UUID(body["id"]))
    assert row.code_hash != body["code"].encode() and row.given_by == "guardian"
    # Listed with its status, never with the code.
    listed = client.get(_url(full_case), headers=bearer(client, people["manager"])).get_json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]
    assert "code" not in listed["items"][0] and listed["items"][0]["status"] == "active"
    assert body["code"] not in str(listed) and normalize_code(body["code"]) not in str(listed)


def test_a_case_manager_issues_too_an_assignee_may_not(client, people, full_case):
    assert issue(client, people["manager"], full_case).status_code == 201
    full_case.assignee_id = people["colleague"].id
    db.session.commit()
    # The assignee sees the case and its codes, but issuing is the owner's or a manager's.
    assert client.get(_url(full_case),
                      headers=bearer(client, people["colleague"])).status_code == 200
    assert issue(client, people["colleague"], full_case).status_code == 403
    # Another organization does not see the case at all.
    assert issue(client, people["requester_manager"], full_case).status_code == 404
    assert client.get(_url(full_case),
                      headers=bearer(client, people["requester"])).status_code == 404


def test_every_problem_at_once(client, people, full_case):
    response = client.post(_url(full_case), headers=bearer(client, people["owner"]), json={
        "scope": [], "countries": ["XX"], "expires_on": "soon",
        "consent": {"given_by": "self"}})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"scope", "countries", "expires_on"}
    response = client.post(_url(full_case), headers=bearer(client, people["owner"]), json={
        "scope": ["identity"], "countries": [], "expires_on": in_days(0),
        "consent": {"given_by": "self"}})
    assert set(response.get_json()["error"]["fields"]) == {"countries", "expires_on"}
    # Missing fields are named by the document's check, all of them.
    response = client.post(_url(full_case), headers=bearer(client, people["owner"]), json={})
    assert set(response.get_json()["error"]["fields"]) == {"scope", "countries",
                                                           "expires_on", "consent"}
    # And the service says the same for forms, in one round.
    errors = services.code_errors(full_case, scope=["bogus"], countries=None,
                                  expires_on=None, given_by="nobody")
    assert set(errors) == {"scope", "countries", "expires_on", "consent.given_by"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContinuityCode)) == 0


def test_at_most_180_days_by_the_app_clock(client, people, full_case, monkeypatch):
    later = datetime(2031, 1, 30, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: later)
    headers = bearer(client, people["owner"])

    def until(days: int):
        return client.post(_url(full_case), headers=headers, json={
            "scope": ["identity"], "countries": ["EC"],
            "expires_on": (later.date() + timedelta(days=days)).isoformat(),
            "consent": {"given_by": "self"}})

    too_far = until(181)
    assert too_far.status_code == 422
    assert "2031-07-29" in too_far.get_json()["error"]["fields"]["expires_on"][0]
    assert until(180).status_code == 201
    assert until(1).status_code == 201
    assert until(0).status_code == 422 and until(-3).status_code == 422


def test_withdrawn_consent_is_422_a_closed_case_409(client, people, full_case):
    case_services.withdraw_consent(people["owner"], full_case)
    db.session.commit()
    response = issue(client, people["owner"], full_case)
    assert response.status_code == 422
    assert "consent" in response.get_json()["error"]["fields"]
    case_services.close_case(people["manager"], full_case, reason="Moved on")
    db.session.commit()
    assert issue(client, people["owner"], full_case).status_code == 409


def test_revoke_and_it_cannot_be_used(client, people, full_case):
    code = issued_code(client, people["owner"], full_case)
    code_id = client.get(_url(full_case),
                         headers=bearer(client, people["owner"])).get_json()["items"][0]["id"]
    assert client.delete(f"{_url(full_case)}/{code_id}",
                         headers=bearer(client, people["colleague"])).status_code == 404
    headers = bearer(client, people["manager"])
    assert client.delete(f"{_url(full_case)}/{code_id}", headers=headers).status_code == 204
    assert client.delete(f"{_url(full_case)}/{code_id}", headers=headers).status_code == 204
    listed = client.get(_url(full_case), headers=headers).get_json()["items"]
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_at"]
    refused = client.post("/api/v1/transfers", json={"code": code},
                          headers=bearer(client, people["requester"]))
    assert refused.status_code == 404
    # A used code cannot be revoked: its transfer is declined instead.
    other = issued_code(client, people["owner"], full_case)
    assert client.post("/api/v1/transfers", json={"code": other},
                       headers=bearer(client, people["requester"])).status_code == 201
    used_id = next(c["id"] for c in client.get(_url(full_case), headers=headers)
                   .get_json()["items"] if c["status"] == "used")
    assert client.delete(f"{_url(full_case)}/{used_id}", headers=headers).status_code == 409
    # A code is not found through another case (here, one that does not exist), nor an
    # unknown code through this one.
    assert client.delete(f"/api/v1/cases/{uuid.uuid4()}/continuity-codes/{code_id}",
                         headers=headers).status_code == 404
    assert client.delete(f"{_url(full_case)}/{uuid.uuid4()}", headers=headers).status_code == 404


def test_a_code_is_revoked_through_its_own_case_only(client, people, full_case, register):
    other = register(people["owner"])
    issued_code(client, people["owner"], other)
    headers = bearer(client, people["manager"])
    other_code = client.get(_url(other), headers=headers).get_json()["items"][0]["id"]
    assert client.delete(f"{_url(full_case)}/{other_code}", headers=headers).status_code == 404
    assert client.get(_url(other), headers=headers).get_json()["items"][0]["status"] == "active"


def test_withdrawing_consent_revokes_every_live_code_and_ends_waiting_requests(
        client, people, full_case):
    first = issued_code(client, people["owner"], full_case)
    second = issued_code(client, people["owner"], full_case, countries=["CO"])
    requested = client.post("/api/v1/transfers", json={"code": first},
                            headers=bearer(client, people["requester"])).get_json()
    response = client.post(f"/api/v1/cases/{full_case.id}/consent/withdraw",
                           headers=bearer(client, people["owner"]), json={})
    assert response.status_code == 200
    statuses = sorted(c["status"] for c in client.get(
        _url(full_case), headers=bearer(client, people["owner"])).get_json()["items"])
    assert statuses == ["revoked", "used"]
    assert client.post("/api/v1/transfers", json={"code": second},
                       headers=bearer(client, people["bogota"])).status_code == 404
    seen = client.get(f"/api/v1/transfers/{requested['id']}",
                      headers=bearer(client, people["requester"])).get_json()
    assert seen["status"] == "declined" and seen["reason"] is None
    assert "ended_by" not in seen  # the requester is not told why
    issuer = client.get(f"/api/v1/transfers/{requested['id']}",
                        headers=bearer(client, people["owner"])).get_json()
    assert issuer["ended_by"] == "consent_withdrawn" and issuer["allowed_actions"] == []
    revoked = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "continuity_code.revoked")).all()
    assert len(revoked) == 1 and '"why":"consent_withdrawn"' in revoked[0].details


def test_erasing_the_case_revokes_its_codes(client, people, full_case):
    issued_code(client, people["owner"], full_case)
    case_services.erase_case(full_case, actor=people["manager"])
    db.session.commit()
    row = db.session.scalar(sa.select(ContinuityCode))
    assert row.revoked_why == "case_erased" and row.status(clock.now().date()) == "revoked"


def test_audit_events_hold_no_code(client, people, full_case):
    code = issued_code(client, people["owner"], full_case, scope=["contact"])
    code_id = client.get(_url(full_case),
                         headers=bearer(client, people["owner"])).get_json()["items"][0]["id"]
    client.delete(f"{_url(full_case)}/{code_id}", headers=bearer(client, people["owner"]))
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.like("continuity_code.%")).order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["continuity_code.issued", "continuity_code.revoked"]
    assert '"scope":["contact"]' in events[0].details and '"countries":["EC"]' in events[0].details
    row = db.session.get(ContinuityCode, uuid.UUID(code_id))
    for event in events:
        for text in (code, normalize_code(code), row.code_hash.hex()):
            assert text not in event.details
