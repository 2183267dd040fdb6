"""Requesting a transfer with a code: the right place gets a request and the issuing
organization's name, every other code or place the same 404; throttled like logins."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from fieldapp import clock
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db, limiter
from fieldapp.transfers import codes
from fieldapp.transfers.models import ContinuityCode, Transfer
from tests.transfers.conftest import SECRET, bearer, issued_code


def _request(client, user, code, **extra):
    return client.post("/api/v1/transfers", json={"code": code, **extra},
                       headers=bearer(client, user))


def test_an_organization_in_a_consented_country_requests(client, people, full_case):
    code = issued_code(client, people["owner"], full_case, countries=["EC", "CO"])
    response = _request(client, people["requester"], code.lower().replace("-", " "))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "requested"
    issuer = people["orgs"]["issuer"]
    assert body["from_organization"] == {"id": str(issuer.id), "name": issuer.name}
    assert body["case_id"] is None and body["case_reference"] is None
    # Nothing about the person, before approval: no value of any group, no case id.
    text = response.get_data(as_text=True)
    for value in [*SECRET.values(), str(full_case.id), full_case.reference]:
        assert value not in text
    transfer = db.session.get(Transfer, uuid.UUID(body["id"]))
    assert transfer.to_org_id == people["orgs"]["ecuador"].id
    assert db.session.get(ContinuityCode, transfer.code_id).used_at is not None


def test_the_own_country_other_organization_may_request(client, people, full_case):
    code = issued_code(client, people["owner"], full_case, countries=["CO"])
    assert _request(client, people["bogota"], code).status_code == 201


def test_every_unusable_code_answers_the_same_404(client, people, full_case, monkeypatch):
    owner, requester = people["owner"], people["requester"]
    ec_only = issued_code(client, owner, full_case, countries=["EC"])
    used = issued_code(client, owner, full_case, countries=["EC"])
    assert _request(client, requester, used).status_code == 201
    revoked = issued_code(client, owner, full_case, countries=["EC"])
    row = db.session.scalars(sa.select(ContinuityCode).order_by(
        ContinuityCode.issued_at.desc())).first()
    row.revoked_at = clock.now()
    db.session.commit()
    expiring = issued_code(client, owner, full_case, countries=["EC"], days=1)
    unknown = codes.format_code(codes.new_code())
    answers = {
        "unknown": _request(client, requester, unknown),
        "used": _request(client, people["requester_colleague"], used),
        "revoked": _request(client, requester, revoked),
        "wrong country": _request(client, people["peru"], ec_only),
        "own organization": _request(client, people["manager"], ec_only),
        "own organization, field worker": _request(client, people["colleague"], ec_only),
    }
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    answers["expired"] = _request(client, requester, expiring)
    bodies = {name: (r.status_code, r.get_data()) for name, r in answers.items()}
    first = next(iter(bodies.values()))
    assert first[0] == 404
    assert all(b == first for b in bodies.values()), bodies
    # The Ecuadorian code still works where it may: refusals did not use it.
    monkeypatch.undo()
    assert _request(client, requester, ec_only).status_code == 201
    # Each refusal is audited, without the code.
    refused = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "transfer.code_refused")).all()
    assert len(refused) == len(answers) and not any(e.allowed for e in refused)
    for event in db.session.scalars(sa.select(AuditEvent)):
        for code in (ec_only, used, revoked, expiring, unknown):
            assert code not in event.details and code.replace("-", "") not in event.details
    # The issuer learns its codes were tried elsewhere (not the requester's own-org tries).
    tried = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "continuity_code.refused")).all()
    assert sorted(e.details.split('"why":"')[1].split('"')[0] for e in tried) == [
        "country", "expired", "revoked", "used"]
    assert {e.organization_id for e in tried} == {people["orgs"]["issuer"].id}


def test_text_that_cannot_be_a_code_is_422_and_not_counted(client, people, full_case):
    code = issued_code(client, people["owner"], full_case)
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = _request(client, people["requester"], typo)
    assert response.status_code == 422 and "code" in response.get_json()["error"]["fields"]
    assert _request(client, people["requester"], "hello").status_code == 422
    assert _request(client, people["requester"], code, stage="nowhere").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "transfer.code_refused")) == 0
    assert _request(client, people["requester"], code).status_code == 201


def test_other_roles_cannot_request(client, people, full_case):
    code = issued_code(client, people["owner"], full_case)
    assert _request(client, people["provider"], code).status_code == 403
    assert _request(client, people["requester"], code).status_code == 201


def test_refused_codes_are_throttled_per_account(app, client, people, full_case):
    code = issued_code(client, people["owner"], full_case)
    headers = bearer(client, people["requester"])
    other = bearer(client, people["requester_colleague"])
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per hour"
    try:
        limiter.reset()
        statuses = [client.post("/api/v1/transfers", headers=headers,
                                json={"code": codes.format_code(codes.new_code())}).status_code
                    for _ in range(4)]
        # The account's budget is spent: even the right code waits.
        blocked = client.post("/api/v1/transfers", headers=headers, json={"code": code})
        colleague = client.post("/api/v1/transfers", headers=other, json={"code": code})
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "10000 per minute"
        limiter.reset()
    assert statuses == [404, 404, 404, 429]
    assert blocked.status_code == 429 and blocked.headers.get("Retry-After", "").isdigit()
    assert blocked.get_json()["error"]["code"] == "throttled"
    assert colleague.status_code == 201  # another account is not throttled


def test_requests_share_the_clients_login_budget(app, client, people, full_case):
    code = issued_code(client, people["owner"], full_case)
    headers = bearer(client, people["requester"])
    app.config["LOGIN_RATE_LIMIT_CLIENT"] = "3 per minute"
    try:
        limiter.reset()
        statuses = [client.post("/api/v1/transfers", headers=headers,
                                json={"code": codes.format_code(codes.new_code())}).status_code
                    for _ in range(3)]
        login = client.post("/api/v1/auth/tokens",
                            json={"email": people["requester"].email, "password": "x" * 12})
        right = client.post("/api/v1/transfers", headers=headers, json={"code": code})
    finally:
        app.config["LOGIN_RATE_LIMIT_CLIENT"] = "10000 per minute"
        limiter.reset()
    assert statuses == [404, 404, 404]
    assert login.status_code == 429 and right.status_code == 429


def test_one_code_two_requests_at_once_one_wins(app, client, people, full_case):
    """Two organizations type the same code at the same moment: one request, one 404."""
    import threading

    code = issued_code(client, people["owner"], full_case, countries=["EC", "CO"])
    tokens = [bearer(client, people["requester"]), bearer(client, people["bogota"])]
    db.session.commit()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def go(headers: dict[str, str]) -> None:
        with app.app_context():
            mine = app.test_client()
            barrier.wait()
            statuses.append(mine.post("/api/v1/transfers", json={"code": code},
                                      headers=headers).status_code)

    threads = [threading.Thread(target=go, args=(h,)) for h in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [201, 404]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1
