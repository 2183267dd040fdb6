"""API authentication, error format, token lifecycle and the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from fieldapp.accounts.models import ApiToken
from fieldapp.accounts.roles import Role
from fieldapp.db import utcnow
from fieldapp.extensions import db
from tests.conftest import PASSWORD, api_token, login


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issue_use_and_revoke_token(client, make):
    admin = make.user(Role.ADMIN)
    response = client.post("/api/v1/auth/tokens", json={"email": admin.email,
                                                        "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("fa_") and body["expires_at"].endswith("+00:00")
    assert "Set-Cookie" not in response.headers
    # Only a hash is stored.
    stored = db.session.scalar(sa.select(ApiToken))
    assert stored.token_hash != body["token"] and body["token"] not in stored.token_hash
    assert client.get("/api/v1/audit", headers=_bearer(body["token"])).status_code == 200
    assert client.delete("/api/v1/auth/tokens/current",
                         headers=_bearer(body["token"])).status_code == 204
    after = client.get("/api/v1/audit", headers=_bearer(body["token"]))
    assert after.status_code == 401
    assert after.get_json()["error"]["code"] == "unauthorized"


def test_wrong_credentials_same_answer_for_unknown_account(client, make):
    user = make.user()
    wrong = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "nope" * 4})
    unknown = client.post("/api/v1/auth/tokens", json={"email": "ghost@example.org",
                                                       "password": "nope" * 4})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_malformed_json_is_400_and_missing_fields_422(client):
    bad = client.post("/api/v1/auth/tokens", data="{not json",
                      content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    missing = client.post("/api/v1/auth/tokens", json={"email": "a@b.example"})
    assert missing.status_code == 422
    assert set(missing.get_json()["error"]["fields"]) == {"password"}


def test_expired_token_is_refused(client, make):
    admin = make.user(Role.ADMIN)
    token = api_token(client, admin.email)
    row = db.session.scalar(sa.select(ApiToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/audit", headers=_bearer(token)).status_code == 401


def test_deactivated_user_token_is_refused(client, make):
    admin = make.user(Role.ADMIN)
    token = api_token(client, admin.email)
    admin.active = False
    db.session.commit()
    assert client.get("/api/v1/audit", headers=_bearer(token)).status_code == 401


def test_api_ignores_the_browser_session(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    assert client.get("/").status_code == 200
    response = client.get("/api/v1/audit")  # cookie only, no token
    assert response.status_code == 401


def test_api_forbidden_and_error_format(client, make):
    worker = make.user(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    response = client.get("/api/v1/audit", headers=_bearer(token))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "forbidden" and error["message"]


def test_api_messages_follow_accept_language(client, make):
    worker = make.user(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    pt = client.get("/api/v1/audit", headers={**_bearer(token), "Accept-Language": "pt-BR"})
    en = client.get("/api/v1/audit", headers={**_bearer(token), "Accept-Language": "en"})
    es = client.get("/api/v1/audit", headers=_bearer(token))
    assert len({pt.get_json()["error"]["message"], en.get_json()["error"]["message"],
                es.get_json()["error"]["message"]}) == 3
    assert en.get_json()["error"]["message"] == "You are not allowed to do this."


def test_org_admin_sees_only_own_organization_events(client, make):
    org_a, org_b = make.org(), make.org()
    admin_a = make.user(Role.ORG_ADMIN, org=org_a)
    make.user(Role.FIELD_WORKER, org=org_b)
    login(client.application.test_client(), make.user(Role.FIELD_WORKER, org=org_b).email)
    token = api_token(client, admin_a.email)
    items = client.get("/api/v1/audit?per_page=100", headers=_bearer(token)).get_json()["items"]
    assert items and {i["organization_id"] for i in items} == {str(org_a.id)}


def test_audit_paging(client, make):
    admin = make.user(Role.ADMIN)
    token = api_token(client, admin.email)
    body = client.get("/api/v1/audit?per_page=1&page=1", headers=_bearer(token)).get_json()
    assert body["per_page"] == 1 and len(body["items"]) == 1 and body["total"] >= 2
    too_many = client.get("/api/v1/audit?per_page=1000", headers=_bearer(token))
    assert too_many.status_code == 422
    assert "per_page" in too_many.get_json()["error"]["fields"]
    assert client.get("/api/v1/audit?page=x", headers=_bearer(token)).status_code == 422


def test_openapi_describes_exactly_the_implemented_routes(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    implemented = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule[len("/api/v1"):]
        for converter in ("<uuid:", "<int:", "<"):
            path = path.replace(converter, "{")
        path = path.replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            implemented.add((path, method))
    assert documented == implemented
