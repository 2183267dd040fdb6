"""POST /api/v1/intake and GET /api/v1/intake/key, on SQLite and PostgreSQL: the key's
format, records sealed in Python registered at their capture time, replays, conflicts,
what does not open, what does not validate, duplicates, organizations kept apart, no
plaintext at rest, and two requests carrying the same record at once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import Case, CaseBlindIndex
from fieldapp.extensions import db, keys
from fieldapp.intake import services as intake
from fieldapp.intake.models import DuplicateReview, IntakeRecord
from tests.cases.conftest import case_data
from tests.conftest import api_token
from tests.intake.conftest import b64, database_bytes, encodings, public_key, seal


def _auth(client, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(client, user.email)}"}


def _post(client, headers, record):
    return client.post("/api/v1/intake", json=record, headers=headers)


def test_key_is_a_public_rsa_oaep_256_jwk_of_3072_bits_or_more(client):
    response = client.get("/api/v1/intake/key")  # public: phones fetch it before going out
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"kid", "alg", "jwk"}
    assert body["alg"] == "RSA-OAEP-256" and body["kid"] == keys.ring.intake_primary
    jwk = body["jwk"]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RSA-OAEP-256" and jwk["kid"] == body["kid"]
    assert "d" not in jwk and "p" not in jwk and "q" not in jwk  # the public half only
    assert public_key(jwk).key_size >= 3072
    assert "wrapKey" in jwk["key_ops"]


def test_a_sealed_record_registers_the_decrypted_case_at_its_capture_time(
        client, make, intake_key):
    worker = make.user(Role.FIELD_WORKER)
    headers = _auth(client, worker)
    captured = (datetime.now(UTC) - timedelta(hours=7)).replace(microsecond=0)
    body = case_data(given_name="Yorgelis", family_name="Camacaro Ruiz",
                     document={"type": "passport", "number": "VX-771"})
    record = seal(intake_key, body, created_at=captured.isoformat().replace("+00:00", "Z"))
    response = _post(client, headers, record)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "registered" and answer["possible_duplicates"] == []
    case = client.get(f"/api/v1/cases/{answer['case_id']}", headers=headers).get_json()
    assert case["reference"] == answer["reference"]
    assert (case["given_name"], case["family_name"]) == ("Yorgelis", "Camacaro Ruiz")
    assert case["document"] == {"type": "passport", "number": "VX-771"}
    assert datetime.fromisoformat(case["registered_at"]) == captured
    assert case["owner_id"] == str(worker.id)
    assert {"WOMEN_GIRLS", "CHILDREN"} <= set(case["groups"])  # flags from the answers
    assert case["possible_duplicates"] == []
    # The normal path: blind indexes (found by document) and the audit trail.
    found = client.get("/api/v1/cases", query_string={"q": "VX 771"}, headers=headers)
    assert [c["id"] for c in found.get_json()["items"]] == [answer["case_id"]]
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"case.created", "intake.received"} <= actions


def test_a_replay_answers_200_with_the_same_answer_and_registers_nothing_more(
        client, make, intake_key):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    record = seal(intake_key, case_data())
    first = _post(client, headers, record)
    again = _post(client, headers, record)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


def test_other_content_under_the_same_instance_id_is_a_409(client, make, intake_key):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    record = seal(intake_key, case_data())
    assert _post(client, headers, record).status_code == 201
    other = seal(intake_key, case_data(given_name="Otra Persona"),
                 instance_id=record["instance_id"])
    response = _post(client, headers, other)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


@pytest.mark.parametrize("spoil", ["wrong_aad", "garbage", "bad_base64", "unknown_kid",
                                   "not_json", "swapped_key"])
def test_what_does_not_open_is_422_undecryptable_and_nothing_is_kept(
        client, make, intake_key, spoil):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    record = seal(intake_key, case_data())
    if spoil == "wrong_aad":
        record = seal(intake_key, case_data(), instance_id=str(uuid.uuid4()),
                      aad=str(uuid.uuid4()))
    elif spoil == "garbage":
        record["ciphertext"] = b64(b"\x00" * 64)
    elif spoil == "bad_base64":
        record["wrapped_key"] = "not base64 at all!"
    elif spoil == "unknown_kid":
        record["kid"] = "intake-19990101-deadbeef"
    elif spoil == "not_json":
        record = seal(intake_key, None, plaintext=b"\xff\xfe not json")
    elif spoil == "swapped_key":
        record["wrapped_key"] = seal(intake_key, case_data())["wrapped_key"]
    response = _post(client, headers, record)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "undecryptable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntakeRecord)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    assert db.session.scalar(sa.select(AuditEvent.action).where(
        AuditEvent.action == "intake.undecryptable")) is not None


def test_invalid_content_is_kept_sealed_for_review_202(client, make, intake_key):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    body = case_data(family_name="", sex="martian", date_of_birth="2999-01-01",
                     notes="Zulay dijo que viene de Barquisimeto")
    record = seal(intake_key, body)
    response = _post(client, headers, record)
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "needs_review" and uuid.UUID(answer["review_id"])
    kept = db.session.get(IntakeRecord, uuid.UUID(answer["review_id"]))
    assert kept.status == "needs_review" and kept.body_enc and kept.key is not None
    assert b"Barquisimeto" not in kept.body_enc
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    again = _post(client, headers, record)
    assert again.status_code == 200 and again.get_json() == answer


def test_unstorable_text_is_kept_for_review_not_a_server_error(client, make, intake_key):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    record = seal(intake_key, case_data(given_name="Ana\x00Luisa", location_code="CO\x00"))
    response = _post(client, headers, record)
    assert response.status_code == 202, response.get_json()


def test_possible_duplicates_become_a_review_item_on_the_new_case(
        client, make, register, intake_key):
    worker = make.user(Role.FIELD_WORKER)
    headers = _auth(client, worker)
    earlier = register(worker, document={"type": "passport", "number": "DUP-4242"})
    record = seal(intake_key, case_data(document={"type": "passport", "number": "DUP 4242"}))
    response = _post(client, headers, record)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["possible_duplicates"] == [{
        "id": str(earlier.id), "reference": earlier.reference,
        "match": ["document", "name_dob", "name"]}]
    case = client.get(f"/api/v1/cases/{answer['case_id']}", headers=headers).get_json()
    assert case["possible_duplicates"] == answer["possible_duplicates"]
    review = db.session.scalar(sa.select(DuplicateReview))
    assert review.case_id == uuid.UUID(answer["case_id"]) and review.status == "open"


def test_organizations_are_kept_apart(client, make, register, intake_key):
    org_a, org_b = make.org("A"), make.org("B")
    worker_a = make.user(Role.FIELD_WORKER, org=org_a)
    manager_b = make.user(Role.CASE_MANAGER, org=org_b)
    register(make.user(Role.FIELD_WORKER, org=org_b),
             document={"type": "passport", "number": "SAME-1"})
    record = seal(intake_key, case_data(document={"type": "passport", "number": "SAME-1"}))
    answer = _post(client, _auth(client, worker_a), record).get_json()
    assert answer["possible_duplicates"] == []  # org B's case is not a candidate
    # Org B replaying org A's record learns nothing: a 409, no ids, no reference.
    replay = _post(client, _auth(client, manager_b), record)
    assert replay.status_code == 409
    assert answer["case_id"] not in replay.get_data(as_text=True)
    assert answer["reference"] not in replay.get_data(as_text=True)
    # A record org A kept for review is not org B's to open.
    kept = _post(client, _auth(client, worker_a), seal(intake_key, case_data(sex="x")))
    review_id = kept.get_json()["review_id"]
    from tests.conftest import login

    login(client, manager_b.email)
    assert client.get(f"/intake/records/{review_id}").status_code == 404
    # A record captured for another organization never registers there.
    foreign = seal(intake_key, case_data())
    foreign["organization_id"] = str(org_a.id)
    assert _post(client, _auth(client, manager_b), foreign).status_code == 409


def test_no_plaintext_of_a_sealed_record_in_the_raw_database(
        client, make, intake_key, database_url):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    distinctive = {"given_name": "Wuilmary Eloína", "family_name": "Tovar Quintero",
                   "notes": "Viene huyendo de Guasdualito", "document": "QP-5550123",
                   "address": "Galpón detrás de la bomba"}
    registered = case_data(given_name=distinctive["given_name"],
                           family_name=distinctive["family_name"], notes=distinctive["notes"],
                           document={"type": "passport", "number": distinctive["document"]},
                           address=distinctive["address"])
    kept = dict(registered, sex="not a sex")  # kept for review, sealed
    kept["given_name"] = "Eloína Wuilmary"
    assert _post(client, headers, seal(intake_key, registered)).status_code == 201
    assert _post(client, headers, seal(intake_key, kept)).status_code == 202
    raw = database_bytes(database_url)
    assert b"CO-NSA-" in raw  # the rows are really there
    for label, value in {**distinctive, "kept": "Eloína Wuilmary"}.items():
        for encoded in encodings(value):
            assert encoded not in raw, (label, encoded[:20])


def test_capture_times_a_phone_cannot_have_are_replaced_by_the_arrival(
        client, make, intake_key):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    for created in ("2001-01-01T00:00:00Z",
                    (datetime.now(UTC) + timedelta(days=3)).isoformat()):
        before = datetime.now(UTC)
        answer = _post(client, headers, seal(intake_key, case_data(),
                                             created_at=created)).get_json()
        case = db.session.get(Case, uuid.UUID(answer["case_id"]))
        assert before - timedelta(seconds=1) <= case.registered_at <= datetime.now(UTC)
    audit = db.session.scalars(sa.select(AuditEvent.details).where(
        AuditEvent.action == "intake.received")).all()
    assert all('"capture_time_believed":false' in d for d in audit)


def test_a_malformed_request_is_a_422_with_fields(client, make, intake_key):
    headers = _auth(client, make.user(Role.FIELD_WORKER))
    record = seal(intake_key, case_data())
    record["instance_id"] = "not-a-uuid"
    response = _post(client, headers, record)
    assert response.status_code == 422
    assert "instance_id" in response.get_json()["error"]["fields"]
    missing = {k: v for k, v in seal(intake_key, case_data()).items() if k != "ciphertext"}
    assert _post(client, headers, missing).status_code == 422


def test_two_requests_with_the_same_record_at_once_register_it_once(
        app, make, intake_key, monkeypatch):
    worker = make.user(Role.FIELD_WORKER)
    token = api_token(app.test_client(), worker.email)
    record = seal(intake_key, case_data())
    if db.engine.dialect.name == "postgresql":
        # Both requests pass the "is it here?" look before either inserts: only the
        # database's unique constraint can keep them apart.
        barrier = threading.Barrier(2, timeout=20)
        real_open = intake._open

        def racing_open(actor, sub):
            barrier.wait()
            return real_open(actor, sub)

        monkeypatch.setattr(intake, "_open", racing_open)
    answers = []

    def send():
        with app.app_context():
            response = app.test_client().post("/api/v1/intake", json=record,
                                              headers={"Authorization": f"Bearer {token}"})
            answers.append((response.status_code, response.get_json()))
            db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.commit()
    assert sorted(status for status, _ in answers) == [200, 201], answers
    assert answers[0][1] == answers[1][1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntakeRecord)) == 1
    case_id = uuid.UUID(answers[0][1]["case_id"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseBlindIndex).where(
        CaseBlindIndex.case_id == case_id)) == 3


def test_a_possible_duplicate_is_decided_through_the_api(client, make, register, intake_key):
    org = make.org()
    worker = make.user(Role.FIELD_WORKER, org=org)
    headers = _auth(client, worker)
    earlier = register(worker)
    answer = _post(client, headers, seal(intake_key, case_data())).get_json()
    url = f"/api/v1/cases/{answer['case_id']}/possible-duplicates"

    def decide(body, who=headers):
        return client.post(url, json={"candidate_id": str(earlier.id), **body}, headers=who)

    missing = decide({"decision": "different_person"})
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    assert decide({"decision": "maybe"}).status_code == 422
    decided = decide({"decision": "different_person", "reason": "Distinta madre"})
    assert decided.status_code == 200 and decided.get_json()["possible_duplicates"] == []
    assert decide({"decision": "same_person"}).status_code == 409
    other = _auth(client, make.user(Role.CASE_MANAGER, org=make.org()))
    assert decide({"decision": "same_person"}, other).status_code == 404
    unknown = client.post(url, json={"candidate_id": str(uuid.uuid4()),
                                     "decision": "same_person"}, headers=headers)
    assert unknown.status_code == 404
    malformed = client.post(url, json={"candidate_id": "x", "decision": "same_person"},
                            headers=headers)
    assert malformed.status_code == 422
