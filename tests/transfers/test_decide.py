"""Approving, declining and cancelling transfers: the new case holds exactly the
consented groups, re-evaluated at the requesting organization; afterwards each side
reads only its own case; reasons are sealed; nothing personal in audit or at rest."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from fieldapp.audit.models import AuditEvent
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case, CaseKey
from fieldapp.extensions import db
from fieldapp.keyops import services as keyops
from fieldapp.transfers import services
from fieldapp.transfers.codes import normalize_code
from fieldapp.transfers.models import Transfer, TransferKey
from tests.transfers.conftest import SECRET, bearer, database_bytes, issued_code

ALL = ["identity", "contact", "documents", "risk_summary", "assessment_details", "notes"]
# Which secret values each group carries (the household member and the original's
# consent note travel with none).
CARRIED_BY = {"given_name": "identity", "family_name": "identity",
              "date_of_birth": "identity", "phone": "contact", "address": "contact",
              "document_number": "documents", "notes": "notes", "flag_reason": "notes",
              "member": None, "consent_note": None}


def _requested(client, people, case, scope, *, countries=("EC",), requester="requester"):
    code = issued_code(client, people["owner"], case, scope=scope, countries=countries)
    response = client.post("/api/v1/transfers", json={"code": code, "stage": "host_community"},
                           headers=bearer(client, people[requester]))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"], code


def _act(client, user, transfer_id, action, **extra):
    return client.post(f"/api/v1/transfers/{transfer_id}/transitions",
                       json={"action": action, **extra}, headers=bearer(client, user))


def _new_case_json(client, people, transfer_id) -> dict:
    seen = client.get(f"/api/v1/transfers/{transfer_id}",
                      headers=bearer(client, people["requester"])).get_json()
    assert seen["status"] == "approved" and seen["case_id"]
    response = client.get(f"/api/v1/cases/{seen['case_id']}",
                          headers=bearer(client, people["requester"]))
    assert response.status_code == 200
    return response.get_json()


def _absent_and_present(text: str, scope: list[str]) -> None:
    for name, group in CARRIED_BY.items():
        if group in scope:
            assert SECRET[name] in text, f"{name} should have come with {group}"
        else:
            assert SECRET[name] not in text, f"{name} came without {group}"


def test_approve_identity_and_risk_summary(client, people, full_case):
    scope = ["identity", "risk_summary"]
    transfer_id, _code = _requested(client, people, full_case, scope)
    response = _act(client, people["owner"], transfer_id, "approve")
    assert response.status_code == 200
    issuer_view = response.get_json()
    assert issuer_view["status"] == "approved" and issuer_view["case_id"] == str(full_case.id)
    assert issuer_view["decided_at"] and issuer_view["keep_open"] is False

    new = _new_case_json(client, people, transfer_id)
    _absent_and_present(json.dumps(new, ensure_ascii=False), scope)
    ecuador = people["orgs"]["ecuador"]
    assert new["organization_id"] == str(ecuador.id)
    assert new["owner_id"] == str(people["requester"].id)
    assert new["location_code"] == "EC-C-TULCAN" and new["reference"].startswith("EC-C-")
    assert new["stage"] == "host_community" and new["status"] == "open"
    assert (new["sex"], new["nationality"], new["age_band"]) == ("female", "VEN", "12-17")
    assert new["household"] == [] and new["languages"] == [] and new["document"] is None
    assert new["consent"]["basis"] == "other" and new["consent"]["given_by"] == "guardian"
    assert "Frontera Test" in new["consent"]["note"]
    assert set(new["groups"]) == {"CHILDREN", "WOMEN_GIRLS"}
    # The risk summary: the flags that counted there, as flags here, saying where they
    # came from (rule reasons, never a person's words without notes).
    original = {f.code for f in full_case.flags if f.counts}
    flags = {f["code"]: f for f in new["flags"]}
    assert set(flags) == original
    assert flags["UNACCOMPANIED_CHILD"]["severity"] == "urgent"
    assert all(f["source"] == "manual" and "Frontera Test" in f["reasons"][0]
               for f in flags.values())
    assert new["priority"] == "urgent"
    # The original is closed as transferred and records the transfer.
    db.session.expire_all()
    original_case = db.session.get(Case, full_case.id)
    assert original_case.status == "closed" and "Casa Tulcán Test" in original_case.closure_reason
    history = client.get(f"/api/v1/cases/{full_case.id}/transfers",
                         headers=bearer(client, people["owner"])).get_json()["items"]
    assert [(h["to_organization"]["name"], h["scope"], h["status"]) for h in history] == [
        ("Casa Tulcán Test", scope, "approved")]
    came = client.get(f"/api/v1/cases/{new['id']}/transfers",
                      headers=bearer(client, people["requester"])).get_json()["items"]
    assert [c["id"] for c in came] == [transfer_id] and came[0]["case_id"] == new["id"]
    # Its own key, not the original's.
    assert db.session.get(CaseKey, uuid.UUID(new["id"])).wrapped != \
        db.session.get(CaseKey, full_case.id).wrapped


def test_neither_side_reads_the_others_case(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ALL)
    _act(client, people["manager"], transfer_id, "approve", keep_open=True)
    new = _new_case_json(client, people, transfer_id)
    for user in ("owner", "manager"):
        assert client.get(f"/api/v1/cases/{new['id']}",
                          headers=bearer(client, people[user])).status_code == 404
    for user in ("requester", "requester_manager"):
        assert client.get(f"/api/v1/cases/{full_case.id}",
                          headers=bearer(client, people[user])).status_code == 404
    # Later edits stay on their side.
    owner = bearer(client, people["owner"])
    version = client.get(f"/api/v1/cases/{full_case.id}", headers=owner).get_json()["version"]
    patched = client.patch(f"/api/v1/cases/{full_case.id}", json={"notes": "Nueva nota XYZ"},
                           headers={**owner, "If-Match": str(version)})
    assert patched.status_code == 200
    assert "Nueva nota XYZ" not in json.dumps(_new_case_json(client, people, transfer_id))
    # Searches find each side's own case only.
    found = client.get("/api/v1/cases", query_string={"q": SECRET["document_number"]},
                       headers=bearer(client, people["requester_manager"])).get_json()
    assert [c["id"] for c in found["items"]] == [new["id"]]
    found = client.get("/api/v1/cases", query_string={"q": SECRET["document_number"]},
                       headers=bearer(client, people["manager"])).get_json()
    assert [c["id"] for c in found["items"]] == [str(full_case.id)]
    db.session.expire_all()
    assert db.session.get(Case, full_case.id).status == "open"  # kept open for joint work


def test_everything_consented_comes_the_household_never(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ALL)
    assert _act(client, people["owner"], transfer_id, "approve").status_code == 200
    new = _new_case_json(client, people, transfer_id)
    _absent_and_present(json.dumps(new, ensure_ascii=False), ALL)
    assert new["document"] == {"type": "passport", "number": SECRET["document_number"]}
    flags = {f["code"]: f for f in new["flags"]}
    # Answers re-evaluated here: the rules raise their flags (age from the identity)...
    for code in ("UNACCOMPANIED_CHILD", "TRAFFICKING_RISK", "GBV_SURVIVOR",
                 "INTERNATIONAL_PROTECTION_NEED"):
        assert flags[code]["source"] == "rule", code
    # ...and the manual flag comes with the person's words, since notes may travel.
    assert flags["DEFENDER_AT_RISK"]["source"] == "manual"
    assert SECRET["flag_reason"] in flags["DEFENDER_AT_RISK"]["reasons"][0]
    answers = client.get(f"/api/v1/cases/{new['id']}/assessment",
                         headers=bearer(client, people["requester"])).get_json()["answers"]
    assert answers["accompaniment"] == "alone" and answers["fear_of_return"] is True


def test_without_identity_nothing_personal_is_invented(client, people, full_case):
    scope = ["assessment_details"]
    transfer_id, _code = _requested(client, people, full_case, scope)
    assert _act(client, people["owner"], transfer_id, "approve").status_code == 200
    new = _new_case_json(client, people, transfer_id)
    _absent_and_present(json.dumps(new, ensure_ascii=False), scope)
    assert new["given_name"] is None and new["date_of_birth"] is None
    assert (new["sex"], new["nationality"], new["age_band"]) == ("unknown", "UNKNOWN",
                                                                 "unknown")
    flags = {f["code"] for f in new["flags"]}
    # Unknown age is not "no": only what holds at every age is raised.
    assert {"TRAFFICKING_RISK", "INTERNATIONAL_PROTECTION_NEED", "GBV_SURVIVOR"} <= flags
    assert "UNACCOMPANIED_CHILD" not in flags and "DEFENDER_AT_RISK" not in flags
    assert "CHILDREN" not in new["groups"] and "WOMEN_GIRLS" not in new["groups"]


def test_decline_needs_a_reason_and_seals_it(client, people, full_case, database_url):
    reason = "La persona pidió esperar a que llegue su prima Zenaida Coromoto"
    transfer_id, code = _requested(client, people, full_case, ["identity"])
    assert _act(client, people["manager"], transfer_id, "decline").status_code == 422
    assert _act(client, people["manager"], transfer_id, "decline",
                reason="   ").status_code == 422
    response = _act(client, people["manager"], transfer_id, "decline", reason=reason)
    assert response.status_code == 200 and response.get_json()["reason"] == reason
    seen = client.get(f"/api/v1/transfers/{transfer_id}",
                      headers=bearer(client, people["requester"])).get_json()
    assert seen["status"] == "declined" and seen["reason"] == reason
    assert seen["case_id"] is None
    row = db.session.get(Transfer, uuid.UUID(transfer_id))
    assert row.reason_enc is not None and reason.encode() not in row.reason_enc
    # The code stays used: the person gets a new one.
    assert client.post("/api/v1/transfers", json={"code": code},
                       headers=bearer(client, people["requester"])).status_code == 404
    assert db.session.get(Case, full_case.id).status == "open"
    events = " ".join(db.session.scalars(sa.select(AuditEvent.details)))
    assert "Zenaida" not in events
    raw = database_bytes(database_url)
    for text in ("Zenaida Coromoto", reason):
        assert text.encode() not in raw and text.encode("utf-16-le") not in raw


def test_cancel_and_illegal_moves(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ["identity"])
    # Each side's action belongs to that side.
    assert _act(client, people["owner"], transfer_id, "cancel").status_code == 403
    assert _act(client, people["requester"], transfer_id, "approve").status_code == 403
    # A field worker of the requesting organization who did not ask does not see it.
    assert _act(client, people["requester_colleague"], transfer_id,
                "cancel").status_code == 404
    assert _act(client, people["requester"], transfer_id, "fly").status_code == 422
    cancelled = _act(client, people["requester_manager"], transfer_id, "cancel",
                     reason="Se fue a otra ciudad")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    for user, action in (("owner", "approve"), ("manager", "decline"),
                         ("requester", "cancel")):
        response = _act(client, people[user], transfer_id, action, reason="x")
        assert response.status_code == 409, (user, action)
        assert response.get_json()["error"]["code"] == "illegal_transition"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


def test_boxes_and_who_sees_what(client, people, full_case, register):
    transfer_id, _code = _requested(client, people, full_case, ["risk_summary"])
    other_case = register(people["colleague"])
    other_id, _ = _requested(client, {**people, "owner": people["colleague"]}, other_case,
                             ["identity"], requester="requester_manager")

    def box(user, which):
        body = client.get("/api/v1/transfers", query_string={"box": which},
                          headers=bearer(client, people[user])).get_json()
        assert body["total"] == len(body["items"])
        return sorted(t["id"] for t in body["items"])

    assert box("manager", "incoming") == sorted([transfer_id, other_id])
    assert box("owner", "incoming") == [transfer_id]
    assert box("colleague", "incoming") == [other_id]
    assert box("requester", "outgoing") == [transfer_id]
    assert box("requester_manager", "outgoing") == sorted([transfer_id, other_id])
    assert box("requester", "incoming") == [] and box("owner", "outgoing") == []
    assert box("bogota", "incoming") == [] and box("bogota", "outgoing") == []
    assert services.incoming_waiting_count(people["manager"]) == 2
    assert services.incoming_waiting_count(people["owner"]) == 1
    for user in ("colleague", "bogota", "requester_colleague"):
        assert client.get(f"/api/v1/transfers/{transfer_id}",
                          headers=bearer(client, people[user])).status_code == 404
    assert client.get("/api/v1/transfers", query_string={"box": "inbox"},
                      headers=bearer(client, people["owner"])).status_code == 422
    # The requester's view says nothing about the person, the issuer's names its case.
    requester_view = client.get(f"/api/v1/transfers/{transfer_id}",
                                headers=bearer(client, people["requester"]))
    text = requester_view.get_data(as_text=True)
    for value in [*SECRET.values(), str(full_case.id), full_case.reference]:
        assert value not in text
    assert requester_view.get_json()["allowed_actions"] == ["cancel"]
    issuer_view = client.get(f"/api/v1/transfers/{transfer_id}",
                             headers=bearer(client, people["owner"])).get_json()
    assert issuer_view["case_reference"] == full_case.reference
    assert issuer_view["allowed_actions"] == ["approve", "decline"]
    assert issuer_view["requested_by"]["email"] == people["requester"].email


def test_audit_trail_of_a_transfer(client, people, full_case):
    transfer_id, code = _requested(client, people, full_case, ALL)
    _act(client, people["owner"], transfer_id, "approve")
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.like("transfer.%")).order_by(AuditEvent.seq)).all()
    assert [e.action for e in events][:2] == ["transfer.requested", "transfer.approved"]
    approved = events[1]
    assert approved.organization_id == people["orgs"]["issuer"].id
    assert approved.object_id == transfer_id
    details = json.loads(approved.details)
    assert set(details) <= {"from_organization_id", "to_organization_id", "case_id",
                            "new_case_id", "keep_open"}
    created = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "case.created",
        AuditEvent.organization_id == people["orgs"]["ecuador"].id))
    assert json.loads(created.details)["via"] == "transfer"
    assert created.actor_id == people["owner"].id  # the approval made it
    everything = " ".join(db.session.scalars(sa.select(AuditEvent.details)))
    for value in [*SECRET.values(), code, normalize_code(code)]:
        assert value not in everything


def test_nothing_personal_or_code_at_rest(client, people, full_case, database_url):
    transfer_id, code = _requested(client, people, full_case, ALL)
    _act(client, people["owner"], transfer_id, "approve")
    raw = database_bytes(database_url)
    assert b"EC-C-" in raw  # the rows are really there
    for value in [*SECRET.values(), code, normalize_code(code)]:
        for encoded in (value.encode(), value.encode("utf-16-le"), value.encode().hex().encode()):
            assert encoded not in raw, value


def test_keys_verify_opens_transfer_reasons(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ["identity"])
    _act(client, people["manager"], transfer_id, "decline", reason="Otra vez")
    assert db.session.get(TransferKey, uuid.UUID(transfer_id)) is not None
    before = keyops.verify()
    assert before.failures == [] and before.records == 2  # the case and the transfer
    db.session.get(Transfer, uuid.UUID(transfer_id)).reason_enc = b"\x01" + bytes(40)
    db.session.commit()
    assert keyops.verify().failures == [f"transfers {transfer_id} reason"]
    assert "transfer" in {t.owner for t in keyops.wrapped_key_tables()}


def test_erasing_the_original_shreds_the_reason(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ["identity"])
    _act(client, people["manager"], transfer_id, "decline", reason="Motivo privado")
    case_services.erase_case(db.session.get(Case, full_case.id), actor=people["manager"])
    db.session.commit()
    row = db.session.get(Transfer, uuid.UUID(transfer_id))
    assert row.reason_enc is None and row.key is None and row.status == "declined"
    seen = client.get(f"/api/v1/transfers/{transfer_id}",
                      headers=bearer(client, people["requester"]))
    assert seen.status_code == 200 and seen.get_json()["reason"] is None


def test_approving_after_the_case_was_closed_keeps_its_closure(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ["identity"])
    case_services.close_case(people["manager"], full_case, reason="Se fue sin avisar")
    db.session.commit()
    assert _act(client, people["owner"], transfer_id, "approve").status_code == 200
    db.session.expire_all()
    original = db.session.get(Case, full_case.id)
    assert original.status == "closed" and original.closure_reason == "Se fue sin avisar"
    assert _new_case_json(client, people, transfer_id)["given_name"] == SECRET["given_name"]


def test_get_visible_for_the_pages(client, people, full_case):
    transfer_id, _code = _requested(client, people, full_case, ["identity"])
    assert services.get_visible(people["owner"], transfer_id).id == uuid.UUID(transfer_id)
    assert services.get_visible(people["requester"], uuid.UUID(transfer_id))
    for who in ("colleague", "requester_colleague", "bogota", "provider"):
        with pytest.raises(services.TransferNotFound):
            services.get_visible(people[who], transfer_id)
    with pytest.raises(services.TransferNotFound):
        services.get_visible(people["owner"], "not-an-id")
    assert services.transfers_for(people["requester"], "outgoing")[0].id == \
        uuid.UUID(transfer_id)
