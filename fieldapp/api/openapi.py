"""GET /openapi.json: the OpenAPI 3 description of what this API implements.

A test compares its paths with the app's routes, so it cannot drift.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.api.blueprint import bp


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
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
]


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "fieldapp API", "version": "1",
                 "description": "Case management and referrals. Contract: API.md."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/auth/tokens": {"post": {
                "summary": "Issue a bearer token", "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email", "password"],
                    "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}}}},
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
                    {"name": "object_id", "in": "query", "schema": {"type": "string"}},
                    {"name": "actor_id", "in": "query", "schema": {"type": "string",
                                                                    "format": "uuid"}},
                    {"name": "action", "in": "query", "schema": {"type": "string"}},
                    *PAGE_PARAMS],
                "responses": {"200": {"description": "A page of events", "content": {
                    "application/json": {"schema": _paged("#/components/schemas/AuditEvent")}}},
                    **_error_responses(400, 401, 403)}}},
            "/openapi.json": {"get": {
                "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {
                            "type": "array", "items": {"type": "string"}}}}}}},
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


@bp.get("/openapi.json")
@authz.rule(authz.PUBLIC)
def openapi_json() -> Response:
    return jsonify(document())
