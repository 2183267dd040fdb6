"""Several services in one step: one request, one referral per service (each in its
organization's inbox, each with only its own flags), one consent recorded once; all
or nothing."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.referrals.models import Referral
from tests.conftest import api_token, csrf_from, login


@pytest.fixture
def tracing(network):
    """Family tracing at a third organization, so three services mean three inboxes."""
    data = services.parse_service({
        "name": "Tracing elsewhere", "type": "family_tracing",
        "organization_id": str(network["orgs"]["other"].id), "location_codes": ["CO"]})
    service = services.create_service(network["admin"], data)
    db.session.commit()
    return service


def _count(model=Referral) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _consents() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.consent")))


def _post(app, user, body):
    client = app.test_client()
    token = api_token(client, user.email)
    return client.post("/api/v1/referrals", json=body,
                       headers={"Authorization": f"Bearer {token}"})


def _inbox(app, user) -> list[dict]:
    client = app.test_client()
    token = api_token(client, user.email)
    return client.get("/api/v1/referrals?box=inbox",
                      headers={"Authorization": f"Bearer {token}"}).get_json()["items"]


def test_one_request_n_referrals_in_n_inboxes_under_one_consent(app, network, child_case,
                                                                tracing):
    svc = network["services"]
    ids = [str(svc["child"].id), str(svc["asylum"].id), str(tracing.id)]
    answer = _post(app, network["people"]["worker"], {
        "case_id": str(child_case.id), "service_ids": ids,
        "flags": ["UNACCOMPANIED_CHILD", "INTERNATIONAL_PROTECTION_NEED"],
        "consent": {"given_by": "guardian", "scope": ["risk_summary", "contact"]},
        "note": "Same family, three needs"})
    assert answer.status_code == 201, answer.get_json()
    items = answer.get_json()["items"]
    assert [i["service"]["id"] for i in items] == ids
    assert len({i["reference"] for i in items}) == 3
    # Each answers only the flags the routing sends to its type.
    flags = {i["service"]["id"]: i["flags"] for i in items}
    assert flags == {ids[0]: ["UNACCOMPANIED_CHILD"],
                     ids[1]: ["INTERNATIONAL_PROTECTION_NEED", "UNACCOMPANIED_CHILD"],
                     ids[2]: ["UNACCOMPANIED_CHILD"]}
    assert [f["code"] for f in items[0]["shared"]["risk_summary"]["flags"]] == \
        ["UNACCOMPANIED_CHILD"]
    # N inboxes.
    people = network["people"]
    for who, service_id in (("child_provider", ids[0]), ("clinic_provider", ids[1]),
                            ("other_provider", ids[2])):
        inbox = _inbox(app, people[who])
        assert [i["id"] for i in inbox] == [next(x["id"] for x in items
                                                 if x["service"]["id"] == service_id)], who
    # One consent: one record of it, naming every referral; each referral points to it.
    consents = _consents()
    assert len(consents) == 1
    record = json.loads(consents[0].details)
    assert sorted(record["referrals"]) == sorted(i["id"] for i in items)
    assert record["given_by"] == "guardian" and record["scope"] == ["contact", "risk_summary"]
    sent = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.sent")).all()
    assert len(sent) == 3
    assert {json.loads(e.details)["consent_id"] for e in sent} == {consents[0].object_id}
    rows = db.session.scalars(sa.select(Referral)).all()
    assert len({(r.consent_given_by, r.consent_scope, r.created_at) for r in rows}) == 1


@pytest.mark.parametrize("problem", ["unknown", "twice", "answers_nothing", "no_consent"])
def test_all_or_nothing(app, network, child_case, problem):
    svc = network["services"]
    ids = [str(svc["child"].id), str(svc["asylum"].id)]
    consent = {"given_by": "guardian", "scope": ["risk_summary"]}
    if problem == "unknown":
        ids.append(str(uuid.uuid4()))
    elif problem == "twice":
        ids.append(ids[0])
    elif problem == "answers_nothing":
        ids.append(str(svc["health"].id))  # no flag of this case asks for health care
    else:
        consent = {"given_by": "guardian", "scope": []}
    answer = _post(app, network["people"]["worker"], {
        "case_id": str(child_case.id), "service_ids": ids,
        "flags": ["UNACCOMPANIED_CHILD"], "consent": consent})
    assert answer.status_code == 422, answer.get_json()
    fields = answer.get_json()["error"]["fields"]
    assert ("consent.scope" in fields) if problem == "no_consent" else ("service_ids.2" in fields)
    assert _count() == 0 and _consents() == []


def test_a_flag_no_chosen_service_answers_is_refused(app, network, child_case):
    answer = _post(app, network["people"]["worker"], {
        "case_id": str(child_case.id), "service_ids": [str(network["services"]["child"].id)],
        "flags": ["UNACCOMPANIED_CHILD", "INTERNATIONAL_PROTECTION_NEED"],
        "consent": {"given_by": "guardian", "scope": ["risk_summary"]}})
    assert answer.status_code == 422
    assert "flags" in answer.get_json()["error"]["fields"]
    assert _count() == 0


def test_one_shape_or_the_other(app, network, child_case):
    child = str(network["services"]["child"].id)
    base = {"case_id": str(child_case.id), "flags": ["UNACCOMPANIED_CHILD"],
            "consent": {"given_by": "self", "scope": ["risk_summary"]}}
    both = _post(app, network["people"]["worker"], {**base, "service_id": child,
                                                    "service_ids": [child]})
    neither = _post(app, network["people"]["worker"], base)
    assert both.status_code == neither.status_code == 422
    single = _post(app, network["people"]["worker"], {**base, "service_id": child})
    assert single.status_code == 201 and "items" not in single.get_json()
    assert single.get_json()["status"] == "sent"
    assert len(_consents()) == 1  # a single referral records its own consent too


def test_several_services_from_the_referral_page(app, network, child_case):
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    en = {"Accept-Language": "en"}
    url = f"/cases/{child_case.id}/refer"
    html = client.get(url, headers=en).get_data(as_text=True)
    child, asylum = (str(network["services"][k].id) for k in ("child", "asylum"))
    form = {"csrf_token": csrf_from(html), "service_id": [child, asylum],
            "flags": [f"{child}:UNACCOMPANIED_CHILD", f"{asylum}:INTERNATIONAL_PROTECTION_NEED",
                      # ticked under a service that is not chosen: goes nowhere
                      f"{network['services']['tracing'].id}:UNACCOMPANIED_CHILD"],
            "given_by": "self", "scope": ["risk_summary"]}
    consent = client.post(url, data=form, headers=en)
    assert consent.status_code == 200 and _count() == 0
    said = consent.get_data(as_text=True)
    assert "Child Office, for Child protection NSA, will know:" in said
    assert "Clinic, for Asylum clinic, will know:" in said
    assert "send 2 referrals" in said
    changed = client.post(url, data={**form, "change": "1"}, headers=en)  # back to the form
    assert changed.status_code == 200 and 'name="note"' in changed.get_data(as_text=True)
    sent = client.post(url, data={**form, "confirm": "1"}, headers=en)
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/cases/{child_case.id}")
    rows = {r.service_id: r.flag_list for r in db.session.scalars(sa.select(Referral))}
    assert rows == {network["services"]["child"].id: ["UNACCOMPANIED_CHILD"],
                    network["services"]["asylum"].id: ["INTERNATIONAL_PROTECTION_NEED"]}
    assert len(_consents()) == 1


def test_a_chosen_service_without_flags_is_named(app, network, child_case):
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    url = f"/cases/{child_case.id}/refer"
    html = client.get(url).get_data(as_text=True)
    child, asylum = (str(network["services"][k].id) for k in ("child", "asylum"))
    answer = client.post(url, headers={"Accept-Language": "en"}, data={
        "csrf_token": csrf_from(html), "service_id": [child, asylum],
        "flags": [f"{child}:UNACCOMPANIED_CHILD"], "given_by": "self",
        "scope": ["risk_summary"], "confirm": "1"})
    assert answer.status_code == 422
    assert "Asylum clinic: Choose the case" in answer.get_data(as_text=True)
    assert _count() == 0
