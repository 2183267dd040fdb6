"""Withdrawing consent: a confirmation page with a required reason, the reason sealed at
rest and kept out of the audit trail, the API's optional reason."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from tests.conftest import api_token, csrf_from

REASON = "Dijo que su hermano Teodulfo Barrameda no quiere que se comparta nada"
EN = {"Accept-Language": "en"}


def _events(case: Case) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "case.consent_withdrawn", AuditEvent.object_id == str(case.id))))


def _database_bytes(database_url: str) -> bytes:
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database)
        return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    url = sa.engine.make_url(database_url)
    return subprocess.run(
        [shutil.which("pg_dump") or "pg_dump", "--no-owner", "-h", url.host or "127.0.0.1",
         "-p", str(url.port or 5432), "-U", url.username or "postgres", url.database or "test"],
        capture_output=True, check=True,
        env={**os.environ, "PGPASSWORD": url.password or ""}).stdout


def test_the_case_page_leads_to_a_confirmation_page(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker)
    page = client.get(f"/cases/{case.id}", headers=EN).get_data(as_text=True)
    url = f"/cases/{case.id}/withdraw-consent"
    assert f'href="{url}"' in page
    assert f'action="{url}"' not in page  # no one-tap form any more
    confirm = client.get(url, headers=EN)
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "No new referrals can be made for this case from now on." in html
    assert "Referrals already sent stay as they are" in html
    assert 'name="reason"' in html and 'name="csrf_token"' in html
    db.session.expire_all()
    assert db.session.get(Case, case.id).consent_withdrawn_at is None  # a GET changes nothing


def test_without_a_reason_nothing_changes(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker)
    url = f"/cases/{case.id}/withdraw-consent"
    token = csrf_from(client.get(url).get_data(as_text=True))
    for reason in ("", "   "):
        response = client.post(url, data={"csrf_token": token, "reason": reason}, headers=EN)
        assert response.status_code == 422
        assert "Write why consent is withdrawn." in response.get_data(as_text=True)
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert fresh.consent_withdrawn_at is None and fresh.consent_withdrawal_reason_enc is None
    assert fresh.version == case.version
    assert _events(fresh) == []


def test_withdrawal_with_a_reason_is_recorded_sealed_and_audited(client, auth, register,
                                                                 database_url):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker)
    url = f"/cases/{case.id}/withdraw-consent"
    token = csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "reason": f"  {REASON}  "})
    assert response.status_code == 302 and response.location.endswith(f"/cases/{case.id}")
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert fresh.consent_withdrawn_at is not None and fresh.consent_withdrawn_by_id == worker.id
    assert fresh.consent_withdrawal_reason == REASON
    [event] = _events(fresh)
    assert json.loads(event.details) == {"reason_given": True}
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert REASON in page  # shown to those who may see the case
    assert "withdraw-consent" not in page  # nothing left to withdraw
    again = client.get(url)
    assert again.status_code == 302
    assert len(_events(fresh)) == 1

    raw = _database_bytes(database_url)
    for encoded in (REASON.encode(), REASON.encode("utf-16-le"), base64.b64encode(
            REASON.encode()), REASON.encode().hex().encode(), b"Teodulfo Barrameda"):
        assert encoded not in raw
    details = " ".join(db.session.scalars(sa.select(AuditEvent.details)))
    assert "Teodulfo" not in details


def test_the_api_takes_an_optional_reason(client, make, register):
    worker = make.user(Role.FIELD_WORKER)
    auth = {"Authorization": f"Bearer {api_token(client, worker.email)}"}
    with_reason, without, wrong = (register(worker) for _ in range(3))

    bad = client.post(f"/api/v1/cases/{wrong.id}/consent/withdraw", json={"reason": 5},
                      headers=auth)
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Case, wrong.id).consent_withdrawn_at is None

    answer = client.post(f"/api/v1/cases/{with_reason.id}/consent/withdraw",
                         json={"reason": REASON}, headers=auth)
    assert answer.status_code == 200
    consent = answer.get_json()["consent"]
    assert consent["withdrawn_at"] and consent["withdrawal_reason"] == REASON
    assert consent["withdrawn_at"].endswith("+00:00")  # the API stays in UTC

    plain = client.post(f"/api/v1/cases/{without.id}/consent/withdraw", headers=auth)
    assert plain.status_code == 200
    assert plain.get_json()["consent"]["withdrawal_reason"] is None
    db.session.expire_all()
    assert [json.loads(e.details) for e in _events(db.session.get(Case, without.id))] == [
        {"reason_given": False}]


def test_the_openapi_document_makes_the_body_optional(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/cases/{case_id}/consent/withdraw"]["post"]
    assert operation["requestBody"]["required"] is False
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["reason"]["type"] == "string"
