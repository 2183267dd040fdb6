"""Registration writes each table once and reads nothing back; the hot API requests run in
one transaction (docs/benchmarks.md, "Creating a case" and "Load test")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases.models import Case, CaseFlag, CaseGroup, HouseholdMember
from fieldapp.extensions import db
from tests.cases.conftest import case_data
from tests.conftest import api_token
from tests.perf.conftest import listing

MEMBERS = [{"given_name": "Luis", "family_name": "Pérez", "date_of_birth": "2015-06-01",
            "sex": "male", "relationship": "sibling"},
           {"given_name": "Ana", "date_of_birth": "2017-02-03", "sex": "female",
            "relationship": "sibling"}]


@contextmanager
def transactions() -> Iterator[list[int]]:
    """How many transactions the database saw meanwhile (one entry each)."""
    seen: list[int] = []

    def begin(conn) -> None:
        seen.append(1)

    sa.event.listen(db.engine, "begin", begin)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "begin", begin)


@pytest.fixture
def worker(client, make):
    user = make.user(Role.FIELD_WORKER, Role.CASE_MANAGER)
    return user, {"Authorization": f"Bearer {api_token(client, user.email)}"}


def test_registration_inserts_each_table_once_and_reads_nothing_back(client, statements,
                                                                      worker):
    user, auth = worker
    body = case_data(household=MEMBERS, age_years=None, date_of_birth="2012-03-04",
                     assessment={"answers": {"accompaniment": "alone",
                                             "fear_of_return": True}})
    with transactions() as begun, statements() as seen:
        response = client.post("/api/v1/cases", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert len(data["flags"]) >= 2 and data["groups"] and len(data["household"]) == 2
    assert data["version"] == 1 and data["possible_duplicates"] == []
    inserts = [s.split(" (")[0] for s in seen if s.startswith("INSERT INTO")]
    for table in ("cases", "case_keys", "household_members", "case_groups", "case_flags",
                  "case_blind_indexes"):
        assert inserts.count(f"INSERT INTO {table}") == 1, listing(seen)
    # Nothing the request wrote is read again: no SELECT of the case or what it holds.
    for table in ("cases", "case_keys", "household_members", "case_groups", "case_flags",
                  "duplicate_reviews"):
        assert not [s for s in seen if s.startswith("SELECT") and f" FROM {table}" in s], \
            listing(seen)
    assert len(begun) == 1
    # What was written is what a later reader finds.
    db.session.expire_all()
    case = db.session.scalar(sa.select(Case).where(Case.reference == data["reference"]))
    assert case.version == 1 and case.priority == data["priority"]
    assert case.given_name == body["given_name"] and case.date_of_birth == "2012-03-04"
    assert sorted(f.code for f in case.flags) == sorted(f["code"] for f in data["flags"])
    assert all(f.reasons and f.organization_id == user.organization_id
               and f.registered_month == case.registered_month
               and f.record_key == case.record_key for f in case.flags)
    assert sorted(g.code for g in case.groups) == sorted(data["groups"])
    members = db.session.scalars(sa.select(HouseholdMember).where(
        HouseholdMember.case_id == case.id).order_by(HouseholdMember.position)).all()
    assert [m.given_name for m in members] == ["Luis", "Ana"]
    assert [m.relationship_code for m in members] == ["sibling", "sibling"]
    flags = db.session.scalar(sa.select(sa.func.count()).select_from(CaseFlag).where(
        CaseFlag.case_id == case.id))
    groups = db.session.scalar(sa.select(sa.func.count()).select_from(CaseGroup).where(
        CaseGroup.case_id == case.id))
    assert (flags, groups) == (len(data["flags"]), len(data["groups"]))


def test_a_case_registered_in_a_request_can_be_changed_in_it(app, worker):
    """The objects handed to the session after the INSERTs behave as loaded ones: a change
    in the same transaction is an UPDATE with the version check, not a second INSERT."""
    from datetime import date

    from fieldapp.cases import inputs
    from fieldapp.cases import services as case_services

    user, _ = worker
    parsed = inputs.parse_case(case_data(), today=date.today())
    case = case_services.register_case(user, parsed)
    case.stage = "destination"
    db.session.flush()
    assert case.version == 2
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, case.id).stage == "destination"


@pytest.mark.parametrize("request_kind", ["duplicate_check", "list", "detail", "create"])
def test_hot_requests_run_in_one_transaction(client, worker, request_kind):
    user, auth = worker
    created = client.post("/api/v1/cases", json=case_data(), headers=auth).get_json()
    calls = {
        "duplicate_check": lambda: client.post(
            "/api/v1/cases/duplicate-check", headers=auth,
            json={"document": created["document"]}),
        "list": lambda: client.get("/api/v1/cases?page=1&per_page=25", headers=auth),
        "detail": lambda: client.get(f"/api/v1/cases/{created['id']}", headers=auth),
        "create": lambda: client.post("/api/v1/cases", headers=auth, json=case_data(
            document={"type": "national_id", "number": "X-7731"})),
    }
    with transactions() as begun:
        response = calls[request_kind]()
    assert response.status_code in (200, 201), response.get_json()
    if request_kind == "duplicate_check":
        assert [c["id"] for c in response.get_json()["candidates"]] == [created["id"]]
    assert len(begun) == 1
