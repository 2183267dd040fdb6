"""Hostile input against every JSON endpoint: 400 or 422 in the error format, never 5xx,
and nothing changes. Table-driven: the values a security review sent, and every
declared field of every request body set to a value of the wrong type.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from fieldapp.accounts.models import User
from fieldapp.accounts.roles import Role
from fieldapp.api.contract import resolve
from fieldapp.api.openapi import document
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import Case
from fieldapp.edge import MAX_JSON_DEPTH
from fieldapp.extensions import db
from fieldapp.referrals.models import Referral, Service
from tests.cases.conftest import case_data
from tests.conftest import api_token, csrf_from

EVERY_ROLE = tuple(Role)

# Values of the wrong JSON type, by the type the document declares.
WRONG = {
    "string": [[], {}, 7, True, ["female"]],
    "integer": ["12", True, 1.5, [], {}],
    "number": ["1", True, []],
    "boolean": ["true", 1, [], {}],
    "array": ["es", 1, {}],
    "object": ["x", 1, []],
}


@pytest.fixture
def everyone(client, make) -> tuple[User, dict[str, str]]:
    """A user holding every role, so that each route's rule lets the request reach its
    input checks."""
    user = make.user(*EVERY_ROLE)
    return user, {"Authorization": f"Bearer {api_token(client, user.email)}"}


def _counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Case, Service, Referral, User)}


def _assert_refused(response, statuses=(400, 422)) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body["error"]) >= {"code", "message"} and body["error"]["message"]
    return body


def _path(template: str) -> str:
    """The template with its placeholders filled: a flag code, or a new id."""
    return "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: "TRAFFICKING_RISK" if m[1] in (
        "code", "flag_code") else str(uuid.uuid4()), template)


def _fields(schema: dict[str, Any], prefix: tuple = ()) -> list[tuple[tuple, dict]]:
    """(path, declared schema) of every field of a request schema, arrays by element 0."""
    schema = resolve(schema)
    out: list[tuple[tuple, dict]] = []
    if schema.get("type") == "object":
        for key, sub in schema.get("properties", {}).items():
            sub = resolve(sub)
            out.append(((*prefix, key), sub))
            out += _fields(sub, (*prefix, key))
    elif schema.get("type") == "array":
        out += _fields(schema.get("items", {}), (*prefix, 0))
    return out


def _field_paths(schema: dict[str, Any]) -> list[tuple[tuple, str]]:
    """(path, declared type) of every field of a request schema, arrays by element 0."""
    return [(path, sub.get("type", "object")) for path, sub in _fields(schema)]


def _nest(path: tuple, value: Any) -> Any:
    for part in reversed(path):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def _body_operations() -> list[tuple[str, str, tuple, str]]:
    cases = []
    for template, operations in document()["paths"].items():
        for method, op in operations.items():
            if "requestBody" not in op:
                continue
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            for path, type_ in _field_paths(schema):
                cases.append((method.upper(), template, path, type_))
    return cases


BODY_FIELDS = _body_operations()


@pytest.mark.parametrize(("method", "template", "path", "type_"), BODY_FIELDS,
                         ids=[f"{m} {t} {'.'.join(map(str, p))}" for m, t, p, _ in BODY_FIELDS])
def test_every_declared_field_refuses_wrong_types(client, everyone, method, template, path,
                                                   type_):
    _, headers = everyone
    before = _counts()
    for bad in WRONG[type_]:
        response = client.open(_path(template), method=method, json=_nest(path, bad),
                               headers=headers)
        body = _assert_refused(response)
        if response.status_code == 422 and "fields" in body["error"]:
            # The field is named, in the API's dotted form.
            assert any(name.startswith(str(path[0])) for name in body["error"]["fields"])
    assert _counts() == before


def test_every_body_operation_is_covered():
    """A new endpoint with a body appears here by itself (it must be in the document)."""
    assert len({(m, t) for m, t, _, _ in BODY_FIELDS}) >= 12


# -- too long, too many: every bound the document declares, one past it ------------------

def _body_schemas() -> list[tuple[str, str, dict]]:
    return [(method.upper(), template,
             op["requestBody"]["content"]["application/json"]["schema"])
            for template, operations in document()["paths"].items()
            for method, op in operations.items() if "requestBody" in op]


def _query_params() -> list[tuple[str, str, str, dict]]:
    return [(method.upper(), template, param["name"], resolve(param.get("schema", {})))
            for template, operations in document()["paths"].items()
            for method, op in operations.items()
            for param in op.get("parameters", []) if param["in"] == "query"]


def _unbounded(path: str, schema: dict[str, Any]) -> list[str]:
    """Where a request schema lets a text or a list grow without a bound: strings without
    maxLength (a fixed set of values is its own bound), arrays without maxItems."""
    schema = resolve(schema)
    type_ = schema.get("type")
    if type_ == "string" and "maxLength" not in schema and "enum" not in schema:
        return [path]
    if type_ == "array":
        return ([path] if "maxItems" not in schema else []) + \
            _unbounded(f"{path}.0", schema.get("items", {}))
    if type_ == "object":
        return [name for key, sub in schema.get("properties", {}).items()
                for name in _unbounded(f"{path}.{key}", sub)]
    return []


def test_every_text_and_list_of_a_request_is_bounded():
    """A new field or parameter without a bound fails here: nothing a client sends
    reaches the database unbounded (an IN list, a LIKE pattern)."""
    unbounded = [f"{m} {t} {name}" for m, t, schema in _body_schemas()
                 for name in _unbounded("body", schema)]
    unbounded += [f"{m} {t} ?{name}" for m, t, name, schema in _query_params()
                  if _unbounded(name, schema)]
    assert unbounded == []


def _sample(schema: dict[str, Any]) -> Any:
    """A value of the declared type (the bound is checked before the items are)."""
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    return {"string": "x", "integer": 1, "number": 1, "boolean": True, "array": [],
            "object": {}}.get(schema.get("type", "object"), {})


def _past_bounds() -> list[tuple[str, str, tuple, str, Any, Any]]:
    """(method, template, field path, which bound, a value one past it, one at it)."""
    rows = []
    for method, template, schema in _body_schemas():
        for path, sub in _fields(schema):
            if sub.get("type") == "string" and "maxLength" in sub:
                n = sub["maxLength"]
                rows.append((method, template, path, "too long", "x" * (n + 1), "x" * n))
            if sub.get("type") == "array" and "maxItems" in sub:
                n, item = sub["maxItems"], _sample(sub.get("items", {}))
                rows.append((method, template, path, "too many items", [item] * (n + 1),
                             [item] * n))
    return rows


PAST_BOUNDS = _past_bounds()


@pytest.mark.parametrize(("method", "template", "path", "bound", "over", "at"), PAST_BOUNDS,
                         ids=[f"{m} {t} {'.'.join(map(str, p))} {b}"
                              for m, t, p, b, _o, _a in PAST_BOUNDS])
def test_every_declared_bound_of_a_body_is_enforced(client, everyone, method, template, path,
                                                    bound, over, at):
    _, headers = everyone
    name = ".".join(map(str, path))
    before = _counts()
    response = client.open(_path(template), method=method, json=_nest(path, over),
                           headers=headers)
    body = _assert_refused(response, statuses=(422,))
    refused = body["error"]["fields"][name]
    assert refused
    assert _counts() == before
    # At the bound itself the value is not refused for its size.
    response = client.open(_path(template), method=method, json=_nest(path, at),
                           headers=headers)
    assert response.status_code < 500
    fields = (response.get_json() or {}).get("error", {}).get("fields", {})
    assert not set(refused) & set(fields.get(name, []))


def test_bounds_cover_the_lists_and_texts_of_the_review():
    """The lists and texts a review sent by the tens of thousands are among the rows."""
    rows = {(m, t, ".".join(map(str, p)), b) for m, t, p, b, _o, _a in PAST_BOUNDS}
    assert {("POST", "/services", "location_codes", "too many items"),
            ("PATCH", "/services/{service_id}", "location_codes", "too many items"),
            ("POST", "/referrals", "service_ids", "too many items"),
            ("POST", "/referrals", "flags", "too many items"),
            ("PUT", "/routing-rules/{flag_code}", "service_types", "too many items"),
            ("POST", "/cases", "languages", "too many items"),
            ("POST", "/cases", "household", "too many items"),
            ("POST", "/cases", "location_code", "too long"),
            ("POST", "/cases", "given_name", "too long"),
            ("POST", "/auth/tokens", "email", "too long"),
            ("POST", "/cases/{case_id}/flags", "code", "too long")} <= rows


QUERY_BOUNDS = [(m, t, name, schema["maxLength"]) for m, t, name, schema in _query_params()
                if schema.get("type") == "string" and "maxLength" in schema]


@pytest.mark.parametrize(("method", "template", "name", "longest"), QUERY_BOUNDS,
                         ids=[f"{m} {t} ?{n}" for m, t, n, _l in QUERY_BOUNDS])
def test_every_declared_bound_of_a_query_is_enforced(client, everyone, method, template, name,
                                                     longest):
    _, headers = everyone
    response = client.open(f"{_path(template)}?{name}={'x' * (longest + 1)}", method=method,
                           headers=headers)
    body = _assert_refused(response, statuses=(422,))
    assert name in body["error"]["fields"]
    response = client.open(f"{_path(template)}?{name}={'x' * longest}", method=method,
                           headers=headers)
    assert response.status_code < 500


@pytest.mark.parametrize(("path", "query"), [
    ("/api/v1/cases", "location_code=" + "a" * 200_000), ("/api/v1/cases", "q=" + "a" * 200_000),
    ("/api/v1/services", "location_code=" + "a" * 200_000),
    ("/api/v1/audit", "object_id=" + "a" * 200_000), ("/api/v1/audit", "action=" + "a" * 5000)])
def test_long_query_filters_are_422(client, everyone, path, query):
    _, headers = everyone
    body = _assert_refused(client.get(f"{path}?{query}", headers=headers), statuses=(422,))
    assert query.split("=")[0] in body["error"]["fields"]


def test_seventy_thousand_places_are_422(client, everyone):
    user, headers = everyone
    valid = {"name": "Clínica", "type": "legal_nationality",
             "organization_id": str(user.organization_id),
             "location_codes": ["CO-NSA-CUCUTA"], "languages": ["es"], "sexes": ["female"],
             "capacity": "open", "contact": "Calle 1"}
    many = [f"A{i}" for i in range(70_000)]
    created = client.post("/api/v1/services", json=valid, headers=headers)
    assert created.status_code == 201
    before = _counts()
    for response in (client.post("/api/v1/services", json={**valid, "location_codes": many},
                                 headers=headers),
                     client.patch(f"/api/v1/services/{created.get_json()['id']}",
                                  json={"location_codes": many}, headers=headers)):
        body = _assert_refused(response, statuses=(422,))
        assert "location_codes" in body["error"]["fields"]
    assert _counts() == before


# -- the values of the review, on a body that is otherwise valid ---------------------------

CASE_BAD = [
    {"sex": ["female"]}, {"sex": {"x": 1}}, {"nationality": ["VEN"]}, {"nationality": {}},
    {"stage": ["border"]}, {"languages": [["es"]]}, {"languages": [{"es": 1}]},
    {"document": {"type": ["passport"], "number": "X1"}},
    {"document": {"type": {}, "number": "X1"}},
    {"consent": {"data_processing": True, "given_by": ["self"]}},
    {"consent": {"data_processing": True, "given_by": "self", "basis": {}}},
    {"consent": {"data_processing": True, "given_by": "self", "language": []}},
    {"household": [{"given_name": "Ana", "relationship": ["child"]}]},
    {"household": [{"given_name": "Ana", "relationship": "child", "sex": {}}]},
    {"age_years": True, "date_of_birth": None}, {"age_years": 15.5, "date_of_birth": None},
    {"age_years": 10**30, "date_of_birth": None}, {"age_years": "15", "date_of_birth": None},
    {"assessment": {"answers": {"accompaniment": ["alone"]}}},
    {"assessment": {"answers": {"trafficking_indicators": [["debt_bondage"]]}}},
    {"assessment": {"answers": {"gbv": {"x": 1}}}},
    {"given_name": "Ana\u0000Luisa"}, {"notes": "\u0000"},
]


@pytest.mark.parametrize("bad", CASE_BAD, ids=[json.dumps(b)[:60] for b in CASE_BAD])
def test_case_registration_refuses_bad_values(client, everyone, bad):
    _, headers = everyone
    before = _counts()
    _assert_refused(client.post("/api/v1/cases", json=case_data(**bad), headers=headers))
    assert _counts() == before


def test_age_true_is_not_one(client, everyone):
    _, headers = everyone
    response = client.post("/api/v1/cases", json=case_data(age_years=True, date_of_birth=None),
                           headers=headers)
    assert response.status_code == 422
    assert "age_years" in response.get_json()["error"]["fields"]


RAW_NUMBERS = ["1e400", "-1e400", "Infinity", "-Infinity", "NaN", "1" + "0" * 5000,
               "9007199254740993"]


@pytest.mark.parametrize("raw", RAW_NUMBERS, ids=[r[:12] for r in RAW_NUMBERS])
def test_numbers_out_of_range_are_400(client, everyone, raw):
    _, headers = everyone
    body = json.dumps(case_data(date_of_birth=None, age_years=0)).replace(
        '"age_years": 0', f'"age_years": {raw}')
    before = _counts()
    _assert_refused(client.post("/api/v1/cases", data=body, content_type="application/json",
                                headers=headers), statuses=(400,))
    assert _counts() == before


def test_lone_surrogate_in_a_sealed_field_is_400(client, everyone):
    _, headers = everyone
    body = json.dumps(case_data(given_name="PLACEHOLDER")).replace("PLACEHOLDER", "Ana\\ud800")
    before = _counts()
    _assert_refused(client.post("/api/v1/cases", data=body, content_type="application/json",
                                headers=headers), statuses=(400,))
    assert _counts() == before


SERVICE_BAD = [{"type": ["legal_nationality"]}, {"type": {}}, {"capacity": ["open"]},
               {"capacity": {"a": 1}}, {"sexes": [["female"]]}, {"sexes": [{}]},
               {"languages": [[]]}, {"location_codes": [{}]}, {"min_age": True},
               {"max_age": 1e300}, {"name": "Clinic\u0000"}, {"active": "yes"}]


@pytest.mark.parametrize("bad", SERVICE_BAD, ids=[json.dumps(b)[:40] for b in SERVICE_BAD])
def test_services_refuse_bad_values(client, everyone, bad):
    user, headers = everyone
    valid = {"name": "Clínica", "type": "legal_nationality",
             "organization_id": str(user.organization_id),
             "location_codes": ["CO-NSA-CUCUTA"], "languages": ["es"], "sexes": ["female"],
             "capacity": "open", "contact": "Calle 1"}
    before = _counts()
    _assert_refused(client.post("/api/v1/services", json={**valid, **bad}, headers=headers))
    assert _counts() == before
    assert client.post("/api/v1/services", json=valid, headers=headers).status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/audit", "/api/v1/referrals",
                                  "/api/v1/services"])
@pytest.mark.parametrize("query", ["page=10000000000000000000000", "page=0", "page=-1",
                                   "page=1.5", "page=x", "per_page=0", "per_page=101",
                                   "per_page=99999999999999999999", "page=1&page=2"])
def test_paging_out_of_range_is_422(client, everyone, path, query):
    _, headers = everyone
    body = _assert_refused(client.get(f"{path}?{query}", headers=headers), statuses=(422,))
    assert set(body["error"]["fields"]) & {"page", "per_page"}


def test_per_page_bounds_are_accepted(client, everyone):
    _, headers = everyone
    for per_page in (1, 100):
        response = client.get(f"/api/v1/cases?per_page={per_page}", headers=headers)
        assert response.status_code == 200 and response.get_json()["per_page"] == per_page


@pytest.mark.parametrize("query", ["q=ana%00", "location_code=CO%00", "status=open%00",
                                   "flag=%00", "stage=border%00"])
def test_nul_in_query_filters_is_400(client, everyone, query):
    _, headers = everyone
    _assert_refused(client.get(f"/api/v1/cases?{query}", headers=headers), statuses=(400,))


def _deep(depth: int) -> str:
    return '{"email": ' + "[" * depth + "]" * depth + ', "password": "x"}'


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_before_login_is_400(client, depth):
    response = client.post("/api/v1/auth/tokens", data=_deep(depth),
                           content_type="application/json")
    _assert_refused(response, statuses=(400,))


def test_nesting_within_the_limit_is_read(client):
    response = client.post("/api/v1/auth/tokens", data=_deep(MAX_JSON_DEPTH - 2),
                           content_type="application/json")
    assert response.status_code == 422  # read, then refused as a wrong type


def test_nul_in_the_login_email_before_login(client, make):
    make.user(Role.FIELD_WORKER, email="nul@example.org")
    response = client.post("/api/v1/auth/tokens",
                           json={"email": "nul@example.org\u0000", "password": "x"})
    _assert_refused(response, statuses=(400,))
    page = client.get("/login")
    html = client.post("/login", data={"email": "nul@example.org\x00", "password": "x",
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert html.status_code == 400
    assert "nul@example.org" not in html.get_data(as_text=True)


MALFORMED_IDS = [("GET", "/api/v1/cases/not-a-uuid"), ("GET", "/api/v1/referrals/123"),
                 ("GET", "/api/v1/cases/not-a-uuid/assessment"),
                 ("PATCH", "/api/v1/cases/" + "a" * 5000),
                 ("PATCH", "/api/v1/services/not-a-uuid"), ("GET", "/api/v1/services/%00"),
                 ("PATCH", "/api/v1/services/%00"),
                 ("POST", "/api/v1/referrals/x/transitions"),
                 ("GET", "/api/v1/transfers/%7B" + str(uuid.uuid4()) + "%7D"),
                 ("DELETE", f"/api/v1/cases/{uuid.uuid4()}/continuity-codes/..x"),
                 ("GET", "/api/v1/nothing"), ("POST", "/api/v1/nothing/at/all")]


@pytest.mark.parametrize(("method", "path"), MALFORMED_IDS,
                         ids=[f"{m} {p[:50]}" for m, p in MALFORMED_IDS])
def test_unknown_paths_are_404_json(client, everyone, method, path):
    """A malformed id is a path that does not exist: 404, as the contract says (not a
    400 for the id's shape)."""
    _, headers = everyone
    response = client.open(path, method=method, json={}, headers=headers)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "not_found"


VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNDECLARED = [(verb, template, sorted(m.upper() for m in operations))
              for template, operations in document()["paths"].items()
              for verb in VERBS if verb.lower() not in operations]


@pytest.mark.parametrize(("method", "template", "declared"), UNDECLARED,
                         ids=[f"{m} {t}" for m, t, _d in UNDECLARED])
def test_undeclared_method_is_405_json_with_allow(client, everyone, method, template,
                                                  declared):
    _, headers = everyone
    response = client.open(_path(template), method=method, json={}, headers=headers)
    assert response.status_code == 405 and response.mimetype == "application/json"
    assert set(declared) <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_every_path_is_tried_with_an_undeclared_method():
    assert len({t for _m, t, _d in UNDECLARED}) == len(document()["paths"])
    assert len(UNDECLARED) >= 3 * len(document()["paths"])


def test_refused_requests_write_no_audit_of_values(client, everyone):
    """A refused body leaves no trace of its values anywhere in the audit trail."""
    _, headers = everyone
    client.post("/api/v1/cases", json=case_data(given_name="Zoraida\u0000", sex=["x"]),
                headers=headers)
    details = " ".join(db.session.scalars(sa.select(AuditEvent.details)))
    assert "Zoraida" not in details
