"""Property-based tests over the OpenAPI document (Schemathesis, in-process).

For every operation, as a case manager and as an admin: no 5xx, JSON answers
that match the document (status codes, content types, response schemas), and
data that breaks the document's request schema refused with a 4xx. Bounded so
that `make test` stays within a few minutes; it runs on SQLite and PostgreSQL
like the rest of the suite.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fieldapp.accounts.roles import Role
from fieldapp.api.openapi import document
from tests.conftest import PASSWORD

# Bounded for `make test`; FIELDAPP_FUZZ_EXAMPLES=200 runs a deeper search by hand.
MAX_EXAMPLES = int(os.environ.get("FIELDAPP_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


# The document is a pure function of the code: load it at import, send in-process.
# Revoking the token in use would turn every later example into a 401.
# Authentication is tested elsewhere; here every call carries a valid token, so the
# document is loaded without its security requirements (no "missing token" cases).
def _fuzz_document() -> dict:
    doc = document()
    doc.pop("security", None)
    for operations in doc["paths"].values():
        for op in operations.values():
            op.pop("security", None)
    return doc


schema = schemathesis.openapi.from_dict(_fuzz_document()).exclude(path="/auth/tokens/current")


def _token(app, make, role: Role) -> dict[str, str]:
    user = make.user(role)
    client = app.test_client()
    body = client.post("/api/v1/auth/tokens",
                       json={"email": user.email, "password": PASSWORD}).get_json()
    return {"Authorization": f"Bearer {body['token']}"}


@pytest.fixture
def case_manager_headers(app, make):
    return _token(app, make, Role.CASE_MANAGER)


@pytest.fixture
def admin_headers(app, make):
    return _token(app, make, Role.ADMIN)


FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_fuzz_as_case_manager(case, app, case_manager_headers):
    case.call_and_validate(app=app, base_url="/api/v1", headers=case_manager_headers,
                           checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_fuzz_as_admin(case, app, admin_headers):
    case.call_and_validate(app=app, base_url="/api/v1", headers=admin_headers, checks=CHECKS)
