"""GET /openapi.json: the OpenAPI 3 description of what this API implements.

A test compares its paths with the app's routes, so it cannot drift.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import passwords
from fieldapp.api.blueprint import bp
from fieldapp.cases import vocab as case_vocab
from fieldapp.cases.inputs import MAX_HOUSEHOLD, MAX_NAME, MAX_TEXT
from fieldapp.contact_details import MAX_EMAIL, MAX_PHONE
from fieldapp.paging import MAX_PAGE

# Bounds on every list and text a request may carry (query and body), enforced by
# contract.py before any endpoint runs, so that nothing unbounded reaches the database
# (an IN list of 70,000 codes, a LIKE pattern of 200,000 characters). Texts take the
# limits the forms and services already apply; docs/api.md, "Limits".
CODE = 64  # a code: place, language, flag, type, any vocabulary
UUID_TEXT = 36
DATE_TEXT = 32  # a date or a month as text (its format is the service's to check)
ONE_TIME_CODE = 64  # an authenticator or recovery code (the login form's limit)
OWN_CODE = 32  # the same on the own security page (its forms' limit)
DOCUMENT_NUMBER = 40
ADDRESS = 300
DUPLICATE_REASON = 1000
SEARCH = 200  # the case search form's limit
REASON = 2000  # reasons, outcomes, a referral's note (the forms' limit)
SERVICE_NAME = 200
SERVICE_CONTACT = 300
MAX_PLACES = 200  # places a service covers
MAX_LANGUAGES = 20
MAX_CODES = 50  # flags, service types: a vocabulary's worth
MAX_SERVICES = 20  # services in one referral step


def _text(longest: int, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": longest, **extra}


def _code(**extra: Any) -> dict[str, Any]:
    return _text(CODE, **extra)


def _codes(most: int, **extra: Any) -> dict[str, Any]:
    return {"type": "array", "maxItems": most, "items": _code(), **extra}


def _uuid(**extra: Any) -> dict[str, Any]:
    return _text(UUID_TEXT, format="uuid", **extra)


def _error_responses(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed JSON", 401: "No or bad token, or wrong credentials",
            403: "Not allowed", 404: "Not found or not visible to this user",
            409: "Version conflict or illegal transition", 422: "Validation failed",
            428: "Missing If-Match", 429: "Throttled"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(c): {"description": text[c], "content": error} for c in codes}


def _paged(item_ref: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "page", "per_page", "total"],
            "properties": {"items": {"type": "array", "items": {"$ref": item_ref}},
                           "page": {"type": "integer"}, "per_page": {"type": "integer"},
                           "total": {"type": "integer"}}}


PAGE_PARAMS = [
    {"name": "page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
]


def document() -> dict[str, Any]:
    return _with_input_errors(_document())


def _with_input_errors(doc: dict[str, Any]) -> dict[str, Any]:
    """Every operation that reads input answers 400 (bytes refused by fieldapp.edge, bad
    JSON) and 422 (what contract.py checks). An optional query parameter sent empty
    means "not given" (allowEmptyValue)."""
    for operations in doc["paths"].values():
        for op in operations.values():
            params = [p for p in op.get("parameters", []) if p["in"] in ("query", "path")]
            if params or "requestBody" in op:
                op["responses"].update({k: v for k, v in _error_responses(400, 422).items()
                                        if k not in op["responses"]})
            for param in params:
                if param["in"] == "query" and not param.get("required"):
                    param.setdefault("allowEmptyValue", True)
    return doc


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "fieldapp API", "version": "1",
                 "description": "Case management and referrals. The contract, in the "
                                "repository: docs/api.md."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/auth/tokens": {"post": {
                "summary": "Issue a bearer token", "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email", "password"],
                    "properties": {
                        "email": _text(MAX_EMAIL), "password": _text(passwords.MAX_LENGTH),
                        "otp": {**_text(ONE_TIME_CODE), "description":
                                "the authenticator app's 6-digit code (accounts with a "
                                "second factor; each code works once)"},
                        "recovery_code": {**_text(ONE_TIME_CODE), "description":
                                          "one of the account's recovery codes (single use)"},
                    }}}}},
                "responses": {"201": {"description": "Token issued", "content": {
                    "application/json": {"schema": {"type": "object",
                                                     "required": ["token", "expires_at"],
                                                     "properties": {
                                                         "token": {"type": "string"},
                                                         "expires_at": {"type": "string",
                                                                        "format": "date-time"}}}}}},
                              **_error_responses(400, 401, 422, 429)}}},
            "/auth/tokens/current": {"delete": {
                "summary": "Revoke the token in use",
                "responses": {"204": {"description": "Revoked"}, **_error_responses(401)}}},
            "/audit": {"get": {
                "summary": "Audit events, newest first (admin: all; org_admin: own organization)",
                "parameters": [
                    {"name": "object_id", "in": "query", "schema": _code()},
                    {"name": "actor_id", "in": "query", "schema": _uuid()},
                    {"name": "action", "in": "query", "schema": _code()},
                    *PAGE_PARAMS],
                "responses": {"200": {"description": "A page of events", "content": {
                    "application/json": {"schema": _paged("#/components/schemas/AuditEvent")}}},
                    **_error_responses(400, 401, 403)}}},
            **_account_paths(),
            **_case_paths(),
            **_referral_paths(),
            **_referral_work_paths(),
            **_stats_paths(),
            **_intake_paths(),
            **_transfer_paths(),
            "/openapi.json": {"get": {
                "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                **_intake_security_schemes()},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {
                            "type": "array", "items": {"type": "string"}}}}}}},
                **_case_schemas(),
                **_referral_schemas(),
                **_referral_work_schemas(),
                **_intake_schemas(),
                **_transfer_schemas(),
                "AuditEvent": {"type": "object", "properties": {
                    "seq": {"type": "integer"},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "actor_id": {"type": "string", "format": "uuid", "nullable": True},
                    "organization_id": {"type": "string", "format": "uuid", "nullable": True},
                    "action": {"type": "string"},
                    "object_type": {"type": "string", "nullable": True},
                    "object_id": {"type": "string", "nullable": True},
                    "allowed": {"type": "boolean"},
                    "details": {"type": "object"},
                    "mac": {"type": "string"}}},
            },
        },
    }


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


CASE_ID = {"name": "case_id", "in": "path", "required": True,
           "schema": {"type": "string", "format": "uuid"}}


CURSOR_PARAM = {
    "name": "cursor", "in": "query",
    "description": "Where to go on from: next_cursor or previous_cursor of an earlier answer "
                   "(opaque). Costs the same at any depth, unlike page. Not with page, not "
                   "with q; the filters may be sent again and apply as usual.",
    "schema": {"type": "string", "maxLength": 200}}


def _case_page() -> dict[str, Any]:
    """The list's page, with the cursors of the pages next to it (docs/api.md, Cases)."""
    page = _paged("#/components/schemas/CaseSummary")
    cursor = {"type": "string", "nullable": True}
    page["properties"].update({
        "page": {"type": "integer", "description": "With a cursor: the page's number counted "
                                                  "along the walk (a label, not a position)"},
        "next_cursor": {**cursor, "description": "Send as ?cursor= for the next page; null "
                                                 "on the last page (and for q)"},
        "previous_cursor": {**cursor, "description": "Send as ?cursor= for the previous "
                                                     "page; null on the first (and for q)"}})
    page["required"] += ["next_cursor", "previous_cursor"]
    return page


def _case_paths() -> dict[str, Any]:
    ok_case = {"description": "The case, decrypted", "content": _json("Case")}
    return {
        "/cases": {
            "post": {"summary": "Register a case (personal fields are encrypted)",
                     "requestBody": {"required": True, "content": _json("CaseInput")},
                     "responses": {"201": ok_case, **_error_responses(400, 401, 403, 422)}},
            "get": {"summary": "Cases visible to the caller; q matches a reference, or exactly "
                               "a full name or document number",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": _text(SEARCH)}] + [
                        {"name": n, "in": "query", "schema": _code()}
                        for n in ("flag", "priority", "status", "location_code", "stage")
                    ] + PAGE_PARAMS + [CURSOR_PARAM],
                    "responses": {"200": {"description": "A page of cases", "content": {
                        "application/json": {"schema": _case_page()}}},
                        **_error_responses(400, 401, 403, 422)}}},
        "/cases/{case_id}": {
            "get": {"summary": "One case (audited as a view of personal data)",
                    "parameters": [CASE_ID],
                    "responses": {"200": ok_case, **_error_responses(401, 403, 404)}},
            "patch": {"summary": "Change fields; If-Match: <version> required",
                      "parameters": [CASE_ID, {"name": "If-Match", "in": "header",
                                               "required": True, "schema": {"type": "string"}}],
                      "requestBody": {"required": True, "content": _json("CaseInput")},
                      "responses": {"200": ok_case,
                                    **_error_responses(400, 401, 403, 404, 409, 422, 428)}}},
        "/cases/duplicate-check": {"post": {
            "summary": "Possible duplicates among the caller's visible cases",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "given_name": _text(MAX_NAME), "family_name": _text(MAX_NAME),
                    "date_of_birth": _text(DATE_TEXT,
                                           description="YYYY-MM-DD; empty: not given"),
                    "document": {"type": "object", "properties": {
                        "type": _code(), "number": _text(DOCUMENT_NUMBER)}}}}}}},
            "responses": {"200": {"description": "Candidates", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"candidates": {
                    "type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "reference": {"type": "string"},
                        "match": {"type": "array", "items": {
                            "type": "string", "enum": ["document", "name_dob", "name"]}}}}}}}}}},
                **_error_responses(400, 401, 403)}}},
        "/cases/{case_id}/close": {"post": {
            "summary": "Close with a reason (case managers)", "parameters": [CASE_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"],
                "properties": {"reason": _text(REASON)}}}}},
            "responses": {"200": ok_case, **_error_responses(400, 401, 403, 404, 409, 422)}}},
        "/cases/{case_id}/reopen": {"post": {
            "summary": "Reopen a closed case (case managers)", "parameters": [CASE_ID],
            "responses": {"200": ok_case, **_error_responses(401, 403, 404, 409)}}},
        "/cases/{case_id}/reassign": {"post": {
            "summary": "Assign to a colleague, or to nobody with null (case managers)",
            "parameters": [CASE_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "assignee_id": _uuid(nullable=True)}}}}},
            "responses": {"200": ok_case, **_error_responses(400, 401, 403, 404, 422)}}},
        "/cases/{case_id}/assessment": {
            "put": {"summary": "Replace the risk questionnaire (keys left out are unanswered)",
                    "parameters": [CASE_ID],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "answers": {"type": "object"}}}}}},
                    "responses": {"200": {"description": "Groups, flags, priority, open "
                                                         "questions",
                                          "content": _json("AssessmentResult")},
                                  **_error_responses(400, 401, 403, 404, 409, 422)}},
            "get": {"summary": "The current answers and what they mean",
                    "parameters": [CASE_ID],
                    "responses": {"200": {"description": "Assessment",
                                          "content": _json("AssessmentResult")},
                                  **_error_responses(401, 403, 404)}}},
        "/cases/{case_id}/flags": {"post": {
            "summary": "Add a manual flag with a reason (severity defaults to the rule table's)",
            "parameters": [CASE_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code", "reason"], "properties": {
                    "code": _code(), "reason": _text(REASON),
                    "severity": {"type": "string",
                                 "enum": ["low", "medium", "high", "urgent"]}}}}}},
            "responses": {"201": {"description": "The flag", "content": _json("Flag")},
                          **_error_responses(400, 401, 403, 404, 409, 422)}}},
        "/cases/{case_id}/flags/{code}/dismiss": {"post": {
            "summary": "Dismiss an active flag with a reason",
            "parameters": [CASE_ID, {"name": "code", "in": "path", "required": True,
                                     "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"],
                "properties": {"reason": _text(REASON)}}}}},
            "responses": {"200": {"description": "The flag", "content": _json("Flag")},
                          **_error_responses(400, 401, 403, 404, 422)}}},
        "/cases/{case_id}/consent/withdraw": {"post": {
            "summary": "Record that the person withdrew consent (blocks new referrals)",
            "description": "Referrals already sent stay; the sender may cancel them. The "
                           "body is optional; a reason given is stored encrypted and "
                           "returned as consent.withdrawal_reason.",
            "parameters": [CASE_ID],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "reason": {"type": "string", "maxLength": 2000,
                               "description": "what the person said (free text)"}}}}}},
            "responses": {"200": ok_case, **_error_responses(400, 401, 403, 404, 409, 422)}}},
    }


REFERRAL_ID = {"name": "referral_id", "in": "path", "required": True,
               "schema": {"type": "string", "format": "uuid"}}


def _referral_paths() -> dict[str, Any]:
    service_body = {"required": True, "content": _json("ServiceInput")}
    return {
        "/services": {
            "get": {"summary": "The service directory (every signed-in user)",
                    "parameters": [{"name": "type", "in": "query", "schema": _code()},
                                   {"name": "location_code", "in": "query",
                                    "schema": _code()}, *PAGE_PARAMS],
                    "responses": {"200": {"description": "Services", "content": {
                        "application/json": {"schema": _paged("#/components/schemas/Service")}}},
                        **_error_responses(401, 422)}},
            "post": {"summary": "Add a service (org_admin of the offering organization, admin)",
                     "requestBody": service_body,
                     "responses": {"201": {"description": "The service",
                                           "content": _json("Service")},
                                   **_error_responses(400, 401, 403, 404, 422)}}},
        "/services.hsds.json": {"get": {
            "summary": "The service directory as Open Referral HSDS 3 JSON (every signed-in "
                       "user, as the directory)",
            "description": "An HSDS API page holding every service the caller's directory "
                           "shows, fully nested: organization, service_at_locations with "
                           "location and address, phones, schedules, languages, "
                           "service_areas (the places covered), eligibility and ages. "
                           "Ids of nested objects are stable UUIDs derived from the "
                           "service's.",
            "parameters": [{"name": "type", "in": "query", "schema": _code()},
                           {"name": "location_code", "in": "query", "schema": _code()}],
            "responses": {"200": {"description": "HSDS page of services", "content": {
                "application/json": {"schema": {
                    "type": "object",
                    "required": ["total_items", "total_pages", "page_number", "size",
                                 "first_page", "last_page", "empty", "contents"],
                    "properties": {
                        "total_items": {"type": "integer"},
                        "total_pages": {"type": "integer"},
                        "page_number": {"type": "integer"}, "size": {"type": "integer"},
                        "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
                        "empty": {"type": "boolean"},
                        "contents": {"type": "array", "items": {
                            "type": "object", "required": ["id", "name", "status"]}}}}}}},
                **_error_responses(401, 422)}}},
        "/services/{service_id}": {"patch": {
            "summary": "Change a service", "requestBody": service_body,
            "parameters": [{"name": "service_id", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": {"description": "The service", "content": _json("Service")},
                          **_error_responses(400, 401, 403, 404, 422)}}},
        "/routing-rules": {"get": {
            "summary": "Flag -> service types, in order",
            "responses": {"200": {"description": "The routing table"},
                          **_error_responses(401)}}},
        "/routing-rules/{flag_code}": {"put": {
            "summary": "Replace the service types for one flag (admin)",
            "parameters": [{"name": "flag_code", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["service_types"], "properties": {
                    "service_types": _codes(MAX_CODES)}}}}},
            "responses": {"200": {"description": "The routing table"},
                          **_error_responses(400, 401, 403, 422)}}},
        "/cases/{case_id}/referral-suggestions": {"get": {
            "summary": "Ranked services for the case's active flags, and unmet needs",
            "parameters": [CASE_ID],
            "responses": {"200": {"description": "Suggestions", "content": _json("Suggestions")},
                          **_error_responses(401, 403, 404)}}},
        "/referrals": {
            "post": {"summary": "Send a referral with consent for the groups it shares",
                     "description": "With `service_id`: one referral, answered as the "
                                    "referral. With `service_ids` instead: one referral per "
                                    "service under one consent (recorded once), answered as "
                                    "`{\"items\": [...]}`; each referral answers the flags of "
                                    "`flags` that the routing rules send to its service's "
                                    "type; all are sent or none.",
                     "requestBody": {"required": True, "content": _json("ReferralInput")},
                     "responses": {"201": {"description": "The referral, or the referrals",
                                           "content": {"application/json": {"schema": {
                                               "anyOf": [
                                                   {"$ref": "#/components/schemas/Referral"},
                                                   {"$ref": "#/components/schemas/"
                                                            "ReferralList"}]}}}},
                                   **_error_responses(400, 401, 403, 404, 409, 422)}},
            "get": {"summary": "Inbox (to the caller's organization) or outbox (from it)",
                    "parameters": [
                        {"name": "box", "in": "query",
                         "schema": {"type": "string", "enum": ["inbox", "outbox"]}},
                        {"name": "status", "in": "query", "schema": _code()},
                        {"name": "urgency", "in": "query", "schema": _code()},
                        {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                        {"name": "news", "in": "query", "schema": {"type": "boolean"},
                         "description": "outbox: only referrals the receiving side updated "
                                        "or moved since the sending side last opened them"},
                        *PAGE_PARAMS],
                    "responses": {"200": {"description": "Referrals", "content": {
                        "application/json": {
                            "schema": _paged("#/components/schemas/ReferralSummary")}}},
                                  **_error_responses(401, 403, 422)}}},
        "/referrals/{referral_id}": {"get": {
            "summary": "One referral; `shared` holds only the consented groups",
            "parameters": [REFERRAL_ID],
            "responses": {"200": {"description": "The referral", "content": _json("Referral")},
                          **_error_responses(401, 404)}}},
        "/referrals/{referral_id}/transitions": {"post": {
            "summary": "acknowledge | accept | decline (reason) | complete (outcome) | cancel",
            "parameters": [REFERRAL_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "enum": ["acknowledge", "accept", "decline",
                                                          "complete", "cancel"]},
                    "reason": _text(REASON), "outcome": _text(REASON)}}}}},
            "responses": {"200": {"description": "The referral", "content": _json("Referral")},
                          **_error_responses(400, 401, 403, 404, 409, 422)}}},
    }


def _stats_paths() -> dict[str, Any]:
    dims = ["month", "country", "division", "site", "stage", "sex", "age_band", "nationality",
            "group", "flag", "referral_status", "service_type", "unmet_need"]
    params = [
        {"name": "rows", "in": "query", "required": True,
         "schema": {"type": "string", "enum": dims}},
        {"name": "cols", "in": "query", "schema": {"type": "string", "enum": dims}},
        {"name": "from", "in": "query", "schema": _text(DATE_TEXT, example="2026-01")},
        {"name": "to", "in": "query", "schema": _text(DATE_TEXT, example="2026-12")},
        *[{"name": d, "in": "query", "description": f"filter: one {d} value",
           "schema": _code()} for d in dims]]
    return {
        "/stats": {"get": {
            "summary": "A protected count table (supervisors: network; case managers: own)",
            "parameters": params,
            "responses": {"200": {"description": "Counts; small ones suppressed",
                                  "content": _json("StatsTable")},
                          **_error_responses(401, 403, 422)}}},
        "/stats.csv": {"get": {
            "summary": "The same table as CSV; format=hxl adds an HXL hashtag row",
            "parameters": [*params, {"name": "format", "in": "query",
                                     "schema": {"type": "string", "enum": ["hxl"]}}],
            "responses": {"200": {"description": "CSV",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **_error_responses(401, 403, 422)}}},
        "/stats/referral-performance": {"get": {
            "summary": "Median time to acknowledgement, shares on time and overdue, by "
                       "service type and month",
            "responses": {"200": {"description": "Rows; small groups suppressed"},
                          **_error_responses(401, 403)}}},
    }


def _directory_fields() -> dict[str, Any]:
    """A service's HSDS fields (Open Referral's Human Services Data Specification 3): in
    answers always present (texts "" and contact details null when unknown); in inputs
    optional, null clearing them."""
    def text(longest: int, description: str) -> dict[str, Any]:
        return {"type": "string", "nullable": True, "maxLength": longest,
                "description": description}

    return {
        "description": text(2000, "what the service does (HSDS service.description)"),
        "url": text(300, "http(s) address of the service's page"),
        "email": text(254, "the service's public e-mail address"),
        "phone": text(32, "the service's public phone: digits, spaces and + ( ) - ."),
        "eligibility_description": text(1000, "who may use it, in words"),
        "schedule": {"type": "array", "nullable": True, "maxItems": 7,
                     "description": "weekly opening hours, local time of the service "
                                    "(HSDS schedule: freq WEEKLY)",
                     "items": {"type": "object",
                               "required": ["byday", "opens_at", "closes_at"],
                               "properties": {
                                   "byday": _code(example="MO,TU,WE,TH,FR",
                                                  description="iCal day codes, "
                                                              "comma-separated"),
                                   "opens_at": _code(example="08:00",
                                                     description="HH:MM, 24 hours"),
                                   "closes_at": _code(example="16:00",
                                                      description="HH:MM, after opens_at")}}},
        "schedule_description": text(300, "the opening hours in words"),
        "location_name": text(200, "where the person goes (HSDS location.name)"),
        "address_1": text(200, "street and number"),
        "city": text(100, "town or city"),
        "state_province": text(100, "department, state or province"),
        "postal_code": text(20, "postal code"),
    }


def _account_paths() -> dict[str, Any]:
    """One's own account and its second factors (docs/api.md, "Two-factor sign-in")."""
    password = {"password": _text(passwords.MAX_LENGTH,
                                  description="the account's password")}
    body = {"type": "object", "required": ["id", "email", "name", "organization_id",
                                           "roles", "two_factor"], "properties": {
        "id": {"type": "string", "format": "uuid"}, "email": {"type": "string"},
        "name": {"type": "string"}, "organization_id": {"type": "string", "format": "uuid"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "two_factor": {"type": "object", "required": ["totp", "passkeys"], "properties": {
            "totp": {"type": "boolean"}, "passkeys": {"type": "integer"}}}}}
    return {
        "/account": {"get": {
            "summary": "The caller's account and which second factors it has",
            "responses": {"200": {"description": "The account",
                                  "content": {"application/json": {"schema": body}}},
                          **_error_responses(401)}}},
        "/account/2fa/totp": {"post": {
            "summary": "Start TOTP enrolment (pending until confirmed); 409 when one is "
                       "already confirmed",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["password"], "properties": password}}}},
            "responses": {"201": {"description": "The secret (RFC 6238: SHA-1, 6 digits, "
                                                 "30 s) and its otpauth URI",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["secret", "otpauth_uri"],
                                      "properties": {"secret": {"type": "string"},
                                                     "otpauth_uri": {"type": "string"}}}}}},
                          **_error_responses(400, 401, 403, 409, 422)}}},
        "/account/2fa/totp/confirm": {"post": {
            "summary": "Confirm TOTP enrolment with a first code; ten recovery codes, "
                       "shown once",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"],
                "properties": {"code": _text(OWN_CODE)}}}}},
            "responses": {"200": {"description": "Recovery codes", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["recovery_codes"], "properties": {
                        "recovery_codes": {"type": "array", "items": {"type": "string"},
                                           "minItems": 10, "maxItems": 10}}}}}},
                          **_error_responses(400, 401, 403, 409, 422)}}},
        "/account/2fa": {"delete": {
            "summary": "Remove the caller's TOTP and recovery codes (password and a "
                       "current code)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["password", "otp"],
                "properties": {**password, "otp": _text(OWN_CODE)}}}}},
            "responses": {"204": {"description": "Removed"},
                          **_error_responses(400, 401, 403, 409, 422)}}},
    }


def _referral_work_paths() -> dict[str, Any]:
    """Working a referral: the shared follow-up log, the referrals of a case."""
    return {
        "/referrals/{referral_id}/updates": {
            "get": {"summary": "The follow-up log, oldest first (both sides of the referral)",
                    "parameters": [REFERRAL_ID],
                    "responses": {"200": {"description": "Updates", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["items"], "properties": {
                                "items": {"type": "array", "items": {
                                    "$ref": "#/components/schemas/ReferralUpdate"}}}}}}},
                        **_error_responses(401, 404)}},
            "post": {"summary": "Add to the follow-up log (either side, unless the referral "
                                "was cancelled: 409)",
                     "description": "A note or a delivered service needs text; an "
                                    "appointment or a delivered service needs its date; a "
                                    "contact attempt or a delivery cannot be in the future. "
                                    "The text is stored encrypted and is never audited.",
                     "parameters": [REFERRAL_ID],
                     "requestBody": {"required": True,
                                     "content": _json("ReferralUpdateInput")},
                     "responses": {"201": {"description": "The update",
                                           "content": _json("ReferralUpdate")},
                                   **_error_responses(400, 401, 404, 409, 422)}}},
        "/cases/{case_id}/referrals": {"get": {
            "summary": "The referrals of a case, newest first (those who may see the case)",
            "parameters": [CASE_ID],
            "responses": {"200": {"description": "Referrals",
                                  "content": _json("ReferralSummaries")},
                          **_error_responses(401, 403, 404)}}},
    }


def _referral_work_schemas() -> dict[str, Any]:
    update_input = {"type": "object", "required": ["kind"], "properties": {
        "kind": {"type": "string",
                 "enum": ["note", "appointment", "contact_attempt", "service_delivered"]},
        "text": {"type": "string", "nullable": True, "maxLength": 2000,
                 "description": "free text (encrypted at rest); what was delivered"},
        "date": _text(DATE_TEXT, format="date", nullable=True,
                      description="YYYY-MM-DD: the appointment, the attempt, the delivery")}}
    update = {"type": "object",
              "required": ["id", "at", "kind", "text", "date", "author"], "properties": {
                  "id": {"type": "string", "format": "uuid"},
                  "at": {"type": "string", "format": "date-time"},
                  "kind": update_input["properties"]["kind"],
                  "text": {"type": "string", "nullable": True},
                  "date": {"type": "string", "format": "date", "nullable": True},
                  "author": {"type": "object", "required": ["name", "organization"],
                             "properties": {"name": {"type": "string", "nullable": True},
                                            "organization": {"type": "string"}}}}}
    summary = {"type": "object", "required": ["id", "reference", "status", "urgency"],
               "properties": {
                   "id": {"type": "string", "format": "uuid"},
                   "reference": {"type": "string"}, "status": {"type": "string"},
                   "urgency": {"type": "string"},
                   "due_at": {"type": "string", "format": "date-time"},
                   "overdue": {"type": "boolean"},
                   "created_at": {"type": "string", "format": "date-time"},
                   "service_type": {"type": "string"}, "service_name": {"type": "string"},
                   "flags": {"type": "array", "items": {"type": "string"}},
                   "receiving_organization": {"type": "string"},
                   "sending_organization": {"type": "string"}}}
    return {
        "ReferralUpdateInput": update_input, "ReferralUpdate": update,
        "ReferralSummary": summary,
        "ReferralList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Referral"}}}},
        "ReferralSummaries": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array",
                      "items": {"$ref": "#/components/schemas/ReferralSummary"}}}},
    }


def _referral_schemas() -> dict[str, Any]:
    from fieldapp.referrals.vocab import SCOPES

    scopes = list(SCOPES)
    service_input = {"type": "object", "properties": {
        "name": _text(SERVICE_NAME), "type": _code(), "organization_id": _uuid(),
        "location_codes": _codes(MAX_PLACES), "languages": _codes(MAX_LANGUAGES),
        "min_age": {"type": "integer", "nullable": True},
        "max_age": {"type": "integer", "nullable": True},
        "sexes": _codes(len(case_vocab.SEXES)),
        "capacity": {"type": "string", "enum": ["open", "limited", "full"]},
        "contact": _text(SERVICE_CONTACT), "active": {"type": "boolean"},
        **_directory_fields()}}
    service = {"allOf": [{"$ref": "#/components/schemas/ServiceInput"}, {
        "type": "object", "properties": {"id": {"type": "string", "format": "uuid"},
                                         "organization": {"type": "string"}}}]}
    suggestions = {"type": "object", "properties": {
        "suggestions": {"type": "array", "items": {"type": "object", "properties": {
            "service_id": {"type": "string", "format": "uuid"},
            "service_name": {"type": "string"}, "organization": {"type": "string"},
            "service_type": {"type": "string"},
            "flags": {"type": "array", "items": {"type": "string"}},
            "rank": {"type": "integer"},
            "reasons": {"type": "array", "items": {"type": "string"}}}}},
        "unmet_needs": {"type": "array", "items": {"type": "object", "properties": {
            "flag": {"type": "string"},
            "service_types": {"type": "array", "items": {"type": "string"}}}}}}}
    referral_input = {"type": "object", "required": ["case_id", "flags", "consent"],
                      "description": "Exactly one of service_id and service_ids.",
                      "properties": {
        "case_id": _uuid(),
        "service_id": _uuid(),
        "service_ids": {"type": "array", "minItems": 1, "maxItems": MAX_SERVICES,
                        "items": _uuid(),
                        "description": "several services in one step: one referral each, "
                                       "one consent"},
        "flags": _codes(MAX_CODES),
        "consent": {"type": "object", "properties": {
            "given_by": {"type": "string", "enum": ["self", "guardian", "best_interest"]},
            "scope": {"type": "array", "maxItems": len(scopes), "items": {
                "type": "string", "enum": scopes}}}},
        "note": _text(REASON)}}
    referral = {"type": "object", "required": ["id", "reference", "status", "urgency",
                                               "flags", "shared", "sender_contact"],
                "properties": {
        "id": {"type": "string", "format": "uuid"},
        "reference": {"type": "string", "example": "R-26-000123"},
        "status": {"type": "string"},
        "urgency": {"type": "string"}, "due_at": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "acknowledged_at": {"type": "string", "format": "date-time", "nullable": True},
        "closed_at": {"type": "string", "format": "date-time", "nullable": True},
        "overdue": {"type": "boolean"}, "flags": {"type": "array", "items": {"type": "string"}},
        "service": {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
            "type": {"type": "string"}}},
        "sending_organization": {"type": "string"},
        "receiving_organization": {"type": "string"},
        "your_side": {"type": "array", "items": {"type": "string",
                                                 "enum": ["receiver", "sender"]}},
        "case_id": {"type": "string", "format": "uuid",
                    "description": "the sending side only"},
        "cancel_reason": {"type": "string", "nullable": True,
                          "description": "the sending side only"},
        "sender_contact": {
            "type": "object", "required": ["name", "organization", "phone", "email"],
            "description": "the sending staff member's work contact, to call back",
            "properties": {"name": {"type": "string", "nullable": True},
                           "organization": {"type": "string"},
                           "phone": {"type": "string", "nullable": True},
                           "email": {"type": "string", "nullable": True}}},
        "motivation": {"type": "array", "items": {"type": "object"}},
        "consent": {"type": "object"},
        "shared": {"type": "object", "description": (
            "exactly the consented groups of the snapshot taken when the referral was "
            "sent; risk_summary holds only the flags the referral answers and its "
            "urgency"), "properties": {"risk_summary": {"type": "object", "properties": {
                "flags": {"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "severity": {"type": "string"}}}},
                "urgency": {"type": "string", "nullable": True}}}}},
        "history": {"type": "array", "items": {"type": "object"}},
        "note": {"type": "string", "nullable": True},
        "decline_reason": {"type": "string", "nullable": True},
        "outcome": {"type": "string", "nullable": True}}}
    cell = {"type": "object", "properties": {"count": {"type": "integer"},
                                             "suppressed": {"type": "boolean"}}}
    stats = {"type": "object", "properties": {
        "k": {"type": "integer"}, "rows": {"type": "array", "items": {"type": "string"}},
        "cols": {"type": "array", "items": {"type": "string"}},
        "row_labels": {"type": "array", "items": {"type": "string"}},
        "col_labels": {"type": "array", "items": {"type": "string"}},
        "cells": {"type": "array", "items": {"type": "array", "items": cell}},
        "row_totals": {"type": "array", "items": cell},
        "col_totals": {"type": "array", "items": cell}, "total": cell,
        "suppressed": {"type": "integer", "description": "how many of the values shown are "
                                                         "hidden (counts of 1 to k-1)"},
        "protection": {"type": "object", "description": (
            "the cell key method: every count moved by a consistent noise of at most "
            "max_deviation; totals perturbed on their own (they need not add up)"),
            "properties": {"method": {"type": "string", "enum": ["cell_key"]},
                           "perturbation_table_version": {"type": "integer"},
                           "max_deviation": {"type": "integer"}, "k": {"type": "integer"},
                           "k_sensitive_flags": {"type": "integer"},
                           "sensitive_flags": {"type": "array", "items": {"type": "string"}},
                           "totals_add_up": {"type": "boolean"},
                           "note": {"type": "string"}}}}}
    return {"ServiceInput": service_input, "Service": service, "Suggestions": suggestions,
            "ReferralInput": referral_input, "Referral": referral, "StatsTable": stats}


def _case_schemas() -> dict[str, Any]:
    def opt(schema: dict[str, Any]) -> dict[str, Any]:
        """An optional input field: null means 'not given' (or 'clear it' in a PATCH)."""
        return {**schema, "nullable": True}

    sexes = {"type": "string", "enum": ["female", "male", "intersex", "unknown"]}
    member = {"type": "object", "required": ["given_name", "relationship"], "properties": {
        "given_name": _text(MAX_NAME), "family_name": opt(_text(MAX_NAME)),
        "date_of_birth": opt(_text(DATE_TEXT, format="date")),
        "sex": opt(sexes), "relationship": _code()}}
    # Names are null only in answers: a case that came by transfer without the identity
    # group has none until someone records them (a null in a request is "not given").
    case_input = {"type": "object", "properties": {
        "given_name": opt(_text(MAX_NAME)), "family_name": opt(_text(MAX_NAME)),
        "date_of_birth": opt(_text(DATE_TEXT, format="date")),
        "age_years": opt({"type": "integer", "minimum": 0, "maximum": 120}),
        "sex": sexes,
        "nationality": _code(description="ISO 3166-1 alpha-3, STATELESS or UNKNOWN"),
        "document": opt({"type": "object", "properties": {
            "type": opt(_code()), "number": opt(_text(DOCUMENT_NUMBER))}}),
        "phone": opt(_text(MAX_PHONE)), "address": opt(_text(ADDRESS)),
        "location_code": _code(),
        "stage": {"type": "string", "enum": ["transit", "border", "host_community",
                                             "local_integration", "resettlement",
                                             "repatriation"]},
        "languages": opt(_codes(MAX_LANGUAGES)),
        "notes": opt(_text(MAX_TEXT)),
        "consent": opt({"type": "object", "properties": {
            "data_processing": opt({"type": "boolean"}),
            "basis": opt({"type": "string", "enum": ["consent", "vital_interest", "other"]}),
            "given_by": opt({"type": "string", "enum": ["self", "guardian", "best_interest"]}),
            "language": opt(_code()), "note": opt(_text(MAX_TEXT))}}),
        "household": opt({"type": "array", "maxItems": MAX_HOUSEHOLD, "items": member}),
        "duplicate_reason": opt(_text(DUPLICATE_REASON)),
        "assessment": opt({"type": "object", "properties": {
            "answers": opt({"type": "object"})}})}}
    summary = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "reference": {"type": "string"},
        "version": {"type": "integer"}, "status": {"type": "string"},
        "priority": {"type": "string"},
        "given_name": {"type": "string", "nullable": True},
        "family_name": {"type": "string", "nullable": True}, "sex": {"type": "string"},
        "readable": {"type": "boolean",
                     "description": "false when this record cannot be decrypted"},
        "age_band": {"type": "string"}, "location_code": {"type": "string"},
        "stage": {"type": "string"}, "registered_at": {"type": "string", "format": "date-time"},
        "flags": {"type": "array", "items": {"type": "string"}}}}
    case = {"allOf": [{"$ref": "#/components/schemas/CaseInput"}, {"type": "object",
             "properties": {
                 "id": {"type": "string", "format": "uuid"}, "reference": {"type": "string"},
                 "version": {"type": "integer"},
                 "organization_id": {"type": "string", "format": "uuid"},
                 "owner_id": {"type": "string", "format": "uuid"},
                 "assignee_id": {"type": "string", "format": "uuid", "nullable": True},
                 "status": {"type": "string", "enum": ["open", "closed"]},
                 "priority": {"type": "string",
                              "enum": ["urgent", "high", "medium", "low", "none"]},
                 "age_band": {"type": "string"},
                 "groups": {"type": "array", "items": {"type": "string"}},
                 "flags": {"type": "array", "items": {"type": "object"}},
                 "closed_at": {"type": "string", "format": "date-time", "nullable": True},
                 "closure_reason": {"type": "string", "nullable": True},
                 "possible_duplicates": {
                     "type": "array", "items": {"$ref": "#/components/schemas/PossibleDuplicate"},
                     "description": "raised when a record from a phone was registered; "
                                    "listed until someone decides"}}}]}
    flag = {"type": "object", "properties": {
        "code": {"type": "string"},
        "severity": {"type": "string", "enum": ["low", "medium", "high", "urgent"]},
        "source": {"type": "string", "enum": ["rule", "manual"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "active": {"type": "boolean"}, "dismissed": {"type": "boolean"},
        "dismissal_reason": {"type": "string", "nullable": True},
        "set_at": {"type": "string", "format": "date-time"},
        "set_by": {"type": "string", "format": "uuid", "nullable": True},
        "rule_set_version": {"type": "string", "nullable": True},
        "plan": {"type": "string", "nullable": True},
        "unhcr_codes": {"type": "array", "items": {"type": "string"}}}}
    result = {"type": "object", "properties": {
        "flags": {"type": "array", "items": {"$ref": "#/components/schemas/Flag"}},
        "groups": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "string"},
        "open_questions": {"type": "array", "items": {"type": "string"}},
        "open_question_labels": {"type": "object",
                                 "additionalProperties": {"type": "string"}},
        "rule_set_version": {"type": "string"},
        "answers": {"type": "object"}}}
    return {"CaseInput": case_input, "CaseSummary": summary, "Case": case, "Flag": flag,
            "AssessmentResult": result}


def _intake_security_schemes() -> dict[str, Any]:
    return {"browserSession": {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "The app's own pages only (the offline outbox): the session cookie, "
                       "and the page's CSRF token in the X-CSRFToken header."}}


def _intake_paths() -> dict[str, Any]:
    either = [{"bearer": []}, {"browserSession": []}]
    answer = {"application/json": {"schema": {"$ref": "#/components/schemas/IntakeAnswer"}}}
    return {
        "/intake/key": {"get": {
            "summary": "The public intake key phones seal records under (RSA-OAEP-256 JWK)",
            "security": [],
            "responses": {"200": {"description": "The key", "content": _json("IntakeKey")},
                          "503": {"description": "No intake key in the key ring yet",
                                  "content": _json("Error")}}}},
        "/intake": {"post": {
            "summary": "A record sealed on a phone: registered (201), the same again (200), "
                       "kept for review (202)",
            "description": "Idempotent on instance_id: the same record again answers 200 "
                           "with the first answer; other content under the same id 409. "
                           "422 with code undecryptable when it does not open; with code "
                           "bad_signature when a device is named but its signature fails "
                           "(and always without a device, for browser sessions).",
            "security": either,
            "requestBody": {"required": True, "content": _json("IntakeRecord")},
            "responses": {"200": {"description": "A replay: the first answer",
                                  "content": answer},
                          "201": {"description": "Registered", "content": answer},
                          "202": {"description": "Kept, sealed, for a person to fix",
                                  "content": answer},
                          **_error_responses(400, 401, 403, 409, 422)}}},
        "/cases/{case_id}/possible-duplicates": {"post": {
            "summary": "Decide about a possible duplicate raised by a record from a phone",
            "description": "same_person links the two cases; different_person needs a "
                           "reason (stored encrypted). Either removes the candidate from "
                           "the case's possible_duplicates; deciding twice is a 409.",
            "parameters": [CASE_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["candidate_id", "decision"], "properties": {
                    "candidate_id": {"type": "string", "format": "uuid", "maxLength": 36,
                                     "description": "possible_duplicates[].id"},
                    "decision": {"type": "string",
                                 "enum": ["same_person", "different_person"]},
                    "reason": {"type": "string", "nullable": True, "maxLength": 1000}}}}}},
            "responses": {"200": {"description": "The case, decrypted",
                                  "content": _json("Case")},
                          **_error_responses(400, 401, 403, 404, 409, 422)}}},
        "/intake/devices": {"post": {
            "summary": "Register this phone's signing key (ECDSA P-256) at first use",
            "security": either,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["public_key"], "properties": {
                    "public_key": {"type": "object", "description": "a public JWK: kty EC, "
                                   "crv P-256, x, y", "properties": {
                                       "kty": {"type": "string", "maxLength": 8},
                                       "crv": {"type": "string", "maxLength": 8},
                                       "x": {"type": "string", "maxLength": 64},
                                       "y": {"type": "string", "maxLength": 64}}}}}}}},
            "responses": {"200": {"description": "Known already", "content": _json("Device")},
                          "201": {"description": "Registered", "content": _json("Device")},
                          **_error_responses(400, 401, 403, 409, 422)}}},
    }


def _intake_schemas() -> dict[str, Any]:
    def text(n: int, **extra: Any) -> dict[str, Any]:
        return {"type": "string", "maxLength": n, **extra}

    record = {"type": "object", "required": ["instance_id", "kid", "wrapped_key", "iv",
                                             "ciphertext", "created_at"], "properties": {
        "instance_id": text(36, format="uuid"),
        "kid": text(64),
        "wrapped_key": text(2048, description="base64: the AES key, RSA-OAEP-256"),
        "iv": text(32, description="base64: 96 bits"),
        "ciphertext": text(2_000_000, description="base64: AES-256-GCM of the POST /cases "
                                                  "body, additional data = instance_id"),
        "created_at": text(40, format="date-time", description="the moment of capture"),
        "form_version": text(40, nullable=True),
        "organization_id": text(36, format="uuid", nullable=True,
                                description="the organization the phone captured for; "
                                            "another than the sender's answers 409"),
        "device": text(64, nullable=True,
                       description="RFC 7638 thumbprint of the phone's signing key"),
        "signature": text(200, nullable=True,
                          description="base64 ECDSA P-256 SHA-256 (r||s) over the other "
                                      "fields (docs/api.md)")}}
    duplicate = {"type": "object", "required": ["id", "reference", "match"], "properties": {
        "id": {"type": "string", "format": "uuid"}, "reference": {"type": "string"},
        "match": {"type": "array", "items": {"type": "string",
                                             "enum": ["document", "name_dob", "name"]}}}}
    return {
        "IntakeKey": {"type": "object", "required": ["kid", "alg", "jwk"], "properties": {
            "kid": {"type": "string"}, "alg": {"type": "string", "enum": ["RSA-OAEP-256"]},
            "jwk": {"type": "object", "required": ["kty", "n", "e"], "properties": {
                "kty": {"type": "string", "enum": ["RSA"]}, "kid": {"type": "string"},
                "alg": {"type": "string"}, "use": {"type": "string"},
                "key_ops": {"type": "array", "items": {"type": "string"}},
                "n": {"type": "string"}, "e": {"type": "string"}}}}},
        "IntakeRecord": record,
        "IntakeAnswer": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["registered", "needs_review"]},
            "case_id": {"type": "string", "format": "uuid"},
            "reference": {"type": "string"},
            "possible_duplicates": {"type": "array", "items": duplicate},
            "review_id": {"type": "string", "format": "uuid"}}},
        "PossibleDuplicate": duplicate,
        "Device": {"type": "object", "required": ["id", "registered_at"], "properties": {
            "id": {"type": "string"},
            "registered_at": {"type": "string", "format": "date-time"}}},
    }


TRANSFER_ID = {"name": "transfer_id", "in": "path", "required": True,
               "schema": {"type": "string", "format": "uuid"}}


def _transfer_paths() -> dict[str, Any]:
    """The case follows the person: continuity codes, transfer requests, decisions."""
    code_id = {"name": "code_id", "in": "path", "required": True,
               "schema": {"type": "string", "format": "uuid"}}
    transfer = {"description": "The transfer, as the caller's side sees it",
                "content": _json("Transfer")}
    transfers = {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Transfer"}}}}
    return {
        "/cases/{case_id}/continuity-codes": {
            "post": {"summary": "Issue a continuity code the person carries (the case's "
                                "owner or a case manager)",
                     "description": "The code is in this answer only (Cache-Control: "
                                    "no-store); it is stored as a keyed hash and cannot be "
                                    "shown again. 16 characters of Crockford base32 with a "
                                    "check character, grouped in fours. expires_on: after "
                                    "today, at most 180 days away. Withdrawn consent or bad "
                                    "values: 422 naming every field; a closed case: 409; "
                                    "an assigned field worker who is not the owner: 403.",
                     "parameters": [CASE_ID],
                     "requestBody": {"required": True,
                                     "content": _json("ContinuityCodeInput")},
                     "responses": {"201": {"description": "The code, shown once",
                                           "content": _json("ContinuityCode")},
                                   **_error_responses(400, 401, 403, 404, 409, 422)}},
            "get": {"summary": "The case's codes, newest first, with their status (an "
                               "extension: those who may see the case)",
                    "parameters": [CASE_ID],
                    "responses": {"200": {"description": "Codes (never the codes "
                                                         "themselves)", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["items"], "properties": {
                                "items": {"type": "array", "items": {
                                    "$ref": "#/components/schemas/ContinuityCode"}}}}}}},
                        **_error_responses(401, 403, 404)}}},
        "/cases/{case_id}/continuity-codes/{code_id}": {"delete": {
            "summary": "Revoke a code (the case's owner or a case manager)",
            "description": "Revoking a revoked code changes nothing (204); a used code "
                           "cannot be revoked (409): decline its transfer instead.",
            "parameters": [CASE_ID, code_id],
            "responses": {"204": {"description": "Revoked"},
                          **_error_responses(401, 403, 404, 409)}}},
        "/cases/{case_id}/transfers": {"get": {
            "summary": "The case's transfer history: transfers from it, and the one it came "
                       "from (an extension: those who may see the case)",
            "parameters": [CASE_ID],
            "responses": {"200": {"description": "Transfers", "content": {
                "application/json": {"schema": transfers}}},
                **_error_responses(401, 403, 404)}}},
        "/transfers": {
            "post": {"summary": "Request the case behind a code (a field worker or case "
                                "manager of another organization, in one of the code's "
                                "countries)",
                     "description": "The code becomes used now, whatever the decision. "
                                    "Unknown, used, revoked or expired codes, the own "
                                    "organization's code and organizations outside the "
                                    "code's countries: one 404, same code and message. "
                                    "Text that cannot be a code (length, characters, check "
                                    "character): 422. Throttled like the login (429).",
                     "requestBody": {"required": True, "content": _json("TransferRequest")},
                     "responses": {"201": {"description": "Requested; nothing about the "
                                                         "person until approval",
                                           "content": _json("Transfer")},
                                   **_error_responses(400, 401, 403, 404, 422, 429)}},
            "get": {"summary": "Incoming (to the caller's organization as issuer) or outgoing "
                               "(requested by it) transfers, waiting ones first",
                    "parameters": [
                        {"name": "box", "in": "query", "schema": {
                            "type": "string", "enum": ["incoming", "outgoing"],
                            "default": "incoming"}},
                        {"name": "status", "in": "query", "schema": {
                            "type": "string",
                            "enum": ["requested", "approved", "declined", "cancelled"]}},
                        *PAGE_PARAMS],
                    "responses": {"200": {"description": "Transfers", "content": {
                        "application/json": {"schema": _paged("#/components/schemas/"
                                                              "Transfer")}}},
                        **_error_responses(401, 403, 422)}}},
        "/transfers/{transfer_id}": {"get": {
            "summary": "One transfer (either side); nothing personal",
            "parameters": [TRANSFER_ID],
            "responses": {"200": transfer, **_error_responses(401, 403, 404)}}},
        "/transfers/{transfer_id}/transitions": {"post": {
            "summary": "approve | decline (reason) by the issuer; cancel by the requester",
            "description": "Only from requested. approve creates the new case at the "
                           "requesting organization with the consented groups, and closes "
                           "the original as transferred unless keep_open is true. The other "
                           "side's action: 403; a decided transfer: 409; decline without a "
                           "reason: 422. Reasons are stored encrypted.",
            "parameters": [TRANSFER_ID],
            "requestBody": {"required": True, "content": _json("TransferTransition")},
            "responses": {"200": transfer,
                          **_error_responses(400, 401, 403, 404, 409, 422)}}},
    }


def _transfer_schemas() -> dict[str, Any]:
    from fieldapp.cases.vocab import STAGES
    from fieldapp.referrals.vocab import SCOPES

    uuid_ = {"type": "string", "format": "uuid"}
    stamp = {"type": "string", "format": "date-time"}
    org = {"type": "object", "required": ["id", "name"],
           "properties": {"id": uuid_, "name": {"type": "string"}}}
    scope = {"type": "array", "maxItems": len(SCOPES),
             "items": {"type": "string", "enum": list(SCOPES)}}
    code_input = {"type": "object", "required": ["scope", "countries", "expires_on", "consent"],
                  "properties": {
                      "scope": scope,
                      "countries": {"type": "array", "maxItems": 30,
                                    "items": {"type": "string", "maxLength": 2},
                                    "description": "ISO 3166-1 alpha-2 codes of countries "
                                                   "in the locations table (the own one "
                                                   "too)"},
                      "expires_on": _text(DATE_TEXT, format="date",
                                          description="valid through this day (UTC)"),
                      "consent": {"type": "object", "required": ["given_by"], "properties": {
                          "given_by": {"type": "string",
                                       "enum": ["self", "guardian", "best_interest"]}}}}}
    code = {"type": "object",
            "required": ["id", "status", "scope", "countries", "expires_on", "issued_at"],
            "properties": {
                "id": uuid_,
                "code": {"type": "string", "description": "only when issued: "
                                                          "XXXX-XXXX-XXXX-XXXX"},
                "status": {"type": "string", "enum": ["active", "used", "revoked", "expired"]},
                "scope": scope, "countries": {"type": "array", "items": {"type": "string"}},
                "expires_on": {"type": "string", "format": "date"},
                "given_by": {"type": "string"}, "issued_at": stamp,
                "issued_by": {"type": "object", "properties": {
                    "id": uuid_, "name": {"type": "string", "nullable": True}}},
                "used_at": {**stamp, "nullable": True},
                "revoked_at": {**stamp, "nullable": True}}}
    request_ = {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "maxLength": 64,
                 "description": "as printed; case, spaces and dashes do not matter"},
        "stage": {"type": "string", "nullable": True, "enum": list(STAGES),
                  "description": "the stage of displacement of the new case (default "
                                 "transit)"}}}
    transition = {"type": "object", "required": ["action"], "properties": {
        "action": {"type": "string", "enum": ["approve", "decline", "cancel"]},
        "reason": {"type": "string", "nullable": True, "maxLength": 2000,
                   "description": "free text, encrypted at rest; required to decline"},
        "keep_open": {"type": "boolean", "nullable": True,
                      "description": "approve: keep the original case open for joint "
                                     "work (default false: closed as transferred)"}}}
    transfer = {"type": "object",
                "required": ["id", "status", "from_organization", "to_organization", "scope",
                             "requested_at", "decided_at", "case_id"],
                "properties": {
                    "id": uuid_,
                    "status": {"type": "string",
                               "enum": ["requested", "approved", "declined", "cancelled"]},
                    "from_organization": org, "to_organization": org, "scope": scope,
                    "stage": {"type": "string"}, "requested_at": stamp,
                    "decided_at": {**stamp, "nullable": True},
                    "case_id": {**uuid_, "nullable": True,
                                "description": "the issuer: its case; the requester: the "
                                               "new case once approved; else null"},
                    "case_reference": {"type": "string", "nullable": True},
                    "reason": {"type": "string", "nullable": True,
                               "description": "why it was declined or cancelled"},
                    "requested_by": {"type": "object", "properties": {
                        "name": {"type": "string", "nullable": True},
                        "email": {"type": "string", "nullable": True},
                        "phone": {"type": "string", "nullable": True}}},
                    "your_side": {"type": "array", "items": {
                        "type": "string", "enum": ["issuer", "requester"]}},
                    "allowed_actions": {"type": "array", "items": {
                        "type": "string", "enum": ["approve", "decline", "cancel"]}},
                    "keep_open": {"type": "boolean", "description": "the issuer only"},
                    "ended_by": {"type": "string", "nullable": True,
                                 "enum": ["consent_withdrawn", "case_erased"],
                                 "description": "the issuer only: declined by the system"},
                    "code_id": {**uuid_, "description": "the issuer only"}}}
    return {"ContinuityCodeInput": code_input, "ContinuityCode": code,
            "TransferRequest": request_, "TransferTransition": transition,
            "Transfer": transfer}


@bp.get("/openapi.json")
@authz.rule(authz.PUBLIC)
def openapi_json() -> Response:
    return jsonify(document())
