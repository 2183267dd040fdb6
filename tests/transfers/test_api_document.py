"""The transfers endpoints answer what the OpenAPI document says (status codes, content
types, response schemas, nullable fields), walked with real objects from both sides."""

from __future__ import annotations

import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fieldapp.api.openapi import document
from fieldapp.extensions import db
from tests.conftest import api_token
from tests.transfers.conftest import in_days

SCHEMA = schemathesis.openapi.from_dict(document())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _call(app, token, path, method, *, path_parameters=None, query=None, body=None):
    kwargs = {"path_parameters": path_parameters or {}, "query": query or {}}
    if body is not None:
        kwargs["body"] = body
        kwargs["media_type"] = "application/json"
    case = SCHEMA[path][method].Case(**kwargs)
    db.session.commit()
    # Each call in its own app context, as in production (and as IsolatedClient does): the
    # signed-in user is not carried over from the previous call.
    with app.app_context():
        return case.call_and_validate(app=app, base_url="/api/v1", checks=CHECKS,
                                      headers={"Authorization": f"Bearer {token}"})


def test_answers_match_the_document(app, client, people, full_case):
    owner = api_token(client, people["owner"].email)
    manager = api_token(client, people["manager"].email)
    requester = api_token(client, people["requester"].email)
    case = {"case_id": str(full_case.id)}

    def code(scope: list[str]) -> dict:
        response = _call(app, owner, "/cases/{case_id}/continuity-codes", "POST",
                         path_parameters=case,
                         body={"scope": scope, "countries": ["EC"], "expires_on": in_days(30),
                               "consent": {"given_by": "self"}})
        assert response.status_code == 201
        return response.json()

    revoked = code(["contact"])
    _call(app, owner, "/cases/{case_id}/continuity-codes/{code_id}", "DELETE",
          path_parameters={**case, "code_id": revoked["id"]})
    _call(app, manager, "/cases/{case_id}/continuity-codes", "GET", path_parameters=case)
    refused = _call(app, requester, "/transfers", "POST", body={"code": "0000-0000-0000-0000"})
    assert refused.status_code in (404, 422)

    # Declined, with a reason.
    first = _call(app, requester, "/transfers", "POST",
                  body={"code": code(["identity"])["code"], "stage": None}).json()
    _call(app, manager, "/transfers/{transfer_id}/transitions", "POST",
          path_parameters={"transfer_id": first["id"]},
          body={"action": "decline", "reason": "No"})
    # Approved without identity: the new case has no names (nullable in the document).
    second = _call(app, requester, "/transfers", "POST",
                   body={"code": code(["assessment_details"])["code"]}).json()
    for token, box in ((manager, "incoming"), (requester, "outgoing")):
        _call(app, token, "/transfers", "GET", query={"box": box})
        _call(app, token, "/transfers/{transfer_id}", "GET",
              path_parameters={"transfer_id": second["id"]})
    approved = _call(app, owner, "/transfers/{transfer_id}/transitions", "POST",
                     path_parameters={"transfer_id": second["id"]},
                     body={"action": "approve", "keep_open": True}).json()
    assert approved["status"] == "approved"
    mine = _call(app, requester, "/transfers/{transfer_id}", "GET",
                 path_parameters={"transfer_id": second["id"]}).json()
    new_case = {"case_id": mine["case_id"]}
    got = _call(app, requester, "/cases/{case_id}", "GET", path_parameters=new_case).json()
    assert got["given_name"] is None and got["family_name"] is None
    _call(app, requester, "/cases/{case_id}/transfers", "GET", path_parameters=new_case)
    _call(app, owner, "/cases/{case_id}/transfers", "GET", path_parameters=case)
    _call(app, requester, "/cases", "GET", query={"per_page": 100})
    # Cancelled by the requester, then an illegal move.
    third = _call(app, requester, "/transfers", "POST",
                  body={"code": code(["notes"])["code"]}).json()
    _call(app, requester, "/transfers/{transfer_id}/transitions", "POST",
          path_parameters={"transfer_id": third["id"]}, body={"action": "cancel"})
    illegal = _call(app, owner, "/transfers/{transfer_id}/transitions", "POST",
                    path_parameters={"transfer_id": third["id"]}, body={"action": "approve"})
    assert illegal.status_code == 409
