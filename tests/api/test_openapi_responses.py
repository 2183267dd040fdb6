"""Real answers against the OpenAPI document: every field that can be null is declared
nullable, every status and content type is documented.

The fuzzing test mostly meets 404s (random ids); this one walks the API with real
objects (a case registered with the least data, so that optional fields are null; a
referral seen from both sides; statistics; the audit trail) and validates each answer.
"""

from __future__ import annotations

from datetime import date, timedelta

import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fieldapp.accounts.roles import Role
from fieldapp.api.openapi import document
from fieldapp.extensions import db
from tests.conftest import api_token

SCHEMA = schemathesis.openapi.from_dict(document())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _call(app, token, path, method, *, path_parameters=None, query=None, body=None,
          headers=None):
    operation = SCHEMA[path][method]
    kwargs = {"path_parameters": path_parameters or {}, "query": query or {}}
    if body is not None:
        kwargs["body"] = body
        kwargs["media_type"] = "application/json"
    case = operation.Case(**kwargs)
    # Each call in its own app context, as in production (and as tests.conftest's
    # IsolatedClient does): otherwise `g` (where Flask-Login keeps the user) would carry
    # the first caller into every later call, whatever token it sends.
    db.session.commit()
    with app.app_context():
        response = case.call_and_validate(
            app=app, base_url="/api/v1", checks=CHECKS,
            headers={"Authorization": f"Bearer {token}", **(headers or {})})
    return response


MINIMAL_CASE = {"given_name": "Nadia", "family_name": "Ortiz", "age_years": 30,
                "sex": "unknown", "nationality": "UNKNOWN", "location_code": "CO-NSA-CUCUTA",
                "stage": "transit", "consent": {"data_processing": True, "given_by": "self"}}


def test_answers_match_the_document(app, client, network, child_case):
    worker = network["people"]["worker"]
    manager = network["people"]["manager"]
    provider = network["people"]["child_provider"]
    w = api_token(client, worker.email)
    m = api_token(client, manager.email)
    p = api_token(client, provider.email)
    s = api_token(client, network["people"]["supervisor"].email)

    created = _call(app, w, "/cases", "POST", body=MINIMAL_CASE).json()
    assert created["date_of_birth"] is None and created["phone"] is None
    case_id = created["id"]
    _call(app, w, "/cases/{case_id}", "GET", path_parameters={"case_id": case_id})
    _call(app, w, "/cases/{case_id}", "PATCH", path_parameters={"case_id": case_id},
          body={"phone": "+57 300 1"}, headers={"If-Match": str(created["version"])})
    _call(app, w, "/cases", "GET", query={"per_page": 100})
    _call(app, w, "/cases/duplicate-check", "POST", body={"given_name": "Nadia",
                                                          "family_name": "Ortiz"})
    _call(app, w, "/cases/{case_id}/assessment", "PUT", path_parameters={"case_id": case_id},
          body={"answers": {"fear_of_return": True}})
    _call(app, w, "/cases/{case_id}/assessment", "GET", path_parameters={"case_id": case_id})
    _call(app, w, "/cases/{case_id}/flags", "POST", path_parameters={"case_id": case_id},
          body={"code": "DISABILITY", "reason": "Observed"})
    _call(app, w, "/cases/{case_id}/flags/{code}/dismiss", "POST",
          path_parameters={"case_id": case_id, "code": "DISABILITY"},
          body={"reason": "Not so"})

    child_id = str(child_case.id)
    _call(app, w, "/cases/{case_id}/referral-suggestions", "GET",
          path_parameters={"case_id": child_id})
    referral = _call(app, w, "/referrals", "POST", body={
        "case_id": child_id, "service_id": str(network["services"]["child"].id),
        "flags": ["UNACCOMPANIED_CHILD"],
        "consent": {"given_by": "guardian", "scope": ["risk_summary"]}}).json()
    rid = referral["id"]
    _call(app, w, "/referrals", "GET", query={"box": "outbox"})
    _call(app, p, "/referrals", "GET", query={"box": "inbox"})
    _call(app, p, "/referrals/{referral_id}", "GET", path_parameters={"referral_id": rid})
    _call(app, p, "/referrals/{referral_id}/transitions", "POST",
          path_parameters={"referral_id": rid}, body={"action": "acknowledge"})
    _call(app, w, "/referrals/{referral_id}", "GET", path_parameters={"referral_id": rid})
    # Working the referral: the log from both sides, the case's referrals, several at once.
    logged = _call(app, p, "/referrals/{referral_id}/updates", "POST",
                   path_parameters={"referral_id": rid},
                   body={"kind": "appointment", "text": "Monday",
                         "date": (date.today() + timedelta(days=7)).isoformat()})
    assert logged.status_code == 201
    assert _call(app, w, "/referrals/{referral_id}/updates", "POST",
                 path_parameters={"referral_id": rid},
                 body={"kind": "contact_attempt"}).status_code == 201
    _call(app, p, "/referrals/{referral_id}/updates", "GET",
          path_parameters={"referral_id": rid})
    _call(app, w, "/referrals/{referral_id}/updates", "GET",
          path_parameters={"referral_id": rid})
    _call(app, w, "/cases/{case_id}/referrals", "GET", path_parameters={"case_id": child_id})
    _call(app, w, "/referrals", "GET", query={"box": "outbox", "news": "true"})
    several = _call(app, w, "/referrals", "POST", body={
        "case_id": child_id, "service_ids": [str(network["services"]["child"].id),
                                             str(network["services"]["asylum"].id)],
        "flags": ["UNACCOMPANIED_CHILD"],
        "consent": {"given_by": "guardian", "scope": ["risk_summary", "contact"]}}).json()
    assert len(several["items"]) == 2
    _call(app, w, "/referrals/{referral_id}/transitions", "POST",
          path_parameters={"referral_id": several["items"][0]["id"]},
          body={"action": "cancel"})
    assert _call(app, p, "/referrals/{referral_id}/updates", "POST",
                 path_parameters={"referral_id": several["items"][0]["id"]},
          body={"kind": "note", "text": "Too late"}).status_code == 409
    _call(app, w, "/services", "GET", query={"per_page": 100})
    _call(app, w, "/routing-rules", "GET")

    _call(app, m, "/cases/{case_id}/close", "POST", path_parameters={"case_id": case_id},
          body={"reason": "Moved on"})
    _call(app, m, "/cases/{case_id}/reopen", "POST", path_parameters={"case_id": case_id})
    _call(app, m, "/cases/{case_id}/reassign", "POST", path_parameters={"case_id": case_id},
          body={"assignee_id": None})
    _call(app, m, "/cases/{case_id}/consent/withdraw", "POST",
          path_parameters={"case_id": case_id})

    for rows in ("flag", "month", "country", "nationality"):
        _call(app, s, "/stats", "GET", query={"rows": rows})
    _call(app, s, "/stats", "GET", query={"rows": "flag", "cols": "month"})
    _call(app, s, "/stats.csv", "GET", query={"rows": "sex", "format": "hxl"})
    _call(app, s, "/stats/referral-performance", "GET")


def test_audit_and_services_as_admin(app, client, make):
    admin = make.user(Role.ADMIN)
    token = api_token(client, admin.email)
    service = _call(app, token, "/services", "POST", body={
        "name": "Clínica", "type": "legal_nationality",
        "organization_id": str(admin.organization_id), "location_codes": ["CO"]}).json()
    assert service["min_age"] is None
    _call(app, token, "/services/{service_id}", "PATCH",
          path_parameters={"service_id": service["id"]}, body={"capacity": "full"})
    _call(app, token, "/routing-rules/{flag_code}", "PUT",
          path_parameters={"flag_code": "STATELESSNESS_RISK"},
          body={"service_types": ["legal_nationality"]})
    _call(app, token, "/audit", "GET", query={"per_page": 100})
