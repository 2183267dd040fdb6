"""The app's own pages with offline intake: the browser session on the API (CSRF token
required), the phone's signing key and its revocation, records kept for review opened,
fixed and registered, possible duplicates decided on the case page, and the service
worker's empty pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.intake.models import DuplicateReview, IntakeDevice, IntakeRecord
from tests.cases.conftest import case_data
from tests.conftest import api_token, csrf_from, login
from tests.intake.conftest import Phone, seal


def _session(client) -> dict:
    response = client.get("/intake/session")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def _register_phone(client, phone: Phone, token: str):
    return client.post("/api/v1/intake/devices", json={"public_key": phone.jwk},
                       headers={"X-CSRFToken": token})


def test_the_browser_session_counts_on_the_intake_api_only_with_its_csrf_token(
        client, make, intake_key):
    worker = make.user(Role.FIELD_WORKER)
    login(client, worker.email)
    who = _session(client)
    assert who["organization_id"] == str(worker.organization_id)
    record = seal(intake_key, case_data())
    # The cookie alone, as a cross-site form or fetch would send it: not logged in.
    assert client.post("/api/v1/intake", json=record).status_code == 401
    assert client.post("/api/v1/intake", json=record,
                       headers={"X-CSRFToken": "forged"}).status_code == 401
    # The rest of the API still never looks at the cookie.
    assert client.get("/api/v1/cases", headers={"X-CSRFToken": who["csrf_token"]}
                      ).status_code == 401
    # With the token, but not signed by a registered phone: refused, nothing kept.
    unsigned = client.post("/api/v1/intake", json=record,
                           headers={"X-CSRFToken": who["csrf_token"]})
    assert unsigned.status_code == 422
    assert unsigned.get_json()["error"]["code"] == "bad_signature"
    phone = Phone()
    assert _register_phone(client, phone, who["csrf_token"]).status_code == 201
    assert _register_phone(client, phone, who["csrf_token"]).status_code == 200
    signed = phone.sign(dict(record, organization_id=who["organization_id"]))
    response = client.post("/api/v1/intake", json=signed,
                           headers={"X-CSRFToken": who["csrf_token"]})
    assert response.status_code == 201, response.get_json()
    device = db.session.scalar(sa.select(IntakeDevice))
    assert db.session.scalar(sa.select(IntakeRecord.device_id)) == device.id
    # A signature that does not match what was sent.
    tampered = phone.sign(seal(intake_key, case_data()))
    tampered["created_at"] = "2020-01-01T00:00:00Z"
    bad = client.post("/api/v1/intake", json=tampered,
                      headers={"X-CSRFToken": who["csrf_token"]})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_signature"


def test_session_endpoint_sends_a_logged_out_phone_to_the_login(client):
    response = client.get("/intake/session")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_revoked_phone_sends_to_quarantine_for_a_case_manager(client, make, intake_key):
    org = make.org()
    worker = make.user(Role.FIELD_WORKER, org=org)
    manager = make.user(Role.CASE_MANAGER, org=org)
    login(client, worker.email)
    who = _session(client)
    phone = Phone()
    _register_phone(client, phone, who["csrf_token"])
    device = db.session.scalar(sa.select(IntakeDevice))
    page = client.get("/intake/devices").get_data(as_text=True)
    assert device.thumbprint[:8] in page
    revoked = client.post(f"/intake/devices/{device.id}/revoke",
                          data={"csrf_token": csrf_from(page)})
    assert revoked.status_code == 302
    db.session.expire_all()
    assert db.session.get(IntakeDevice, device.id).revoked_at is not None
    # What it sent afterwards leaves the phone (202), but nobody's case list gets it.
    record = phone.sign(seal(intake_key, case_data(given_name="Robada")))
    response = client.post("/api/v1/intake", json=record,
                           headers={"X-CSRFToken": who["csrf_token"]})
    assert response.status_code == 202 and response.get_json()["status"] == "needs_review"
    kept = db.session.scalar(sa.select(IntakeRecord))
    assert (kept.status, kept.problem) == ("quarantined", "revoked_device")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    # The worker (whose phone it was) does not see it; a case manager does, and decides.
    assert str(kept.id) not in client.get("/intake/outbox").get_data(as_text=True)
    assert client.get(f"/intake/records/{kept.id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(
        client.get("/").get_data(as_text=True))})
    login(client, manager.email)
    assert f"/intake/records/{kept.id}" in client.get("/intake/outbox").get_data(as_text=True)
    form = client.get(f"/intake/records/{kept.id}").get_data(as_text=True)
    assert "Robada" in form


def _form_fields(html: str) -> dict[str, str]:
    """What the registration form would post, from the page (values as rendered)."""
    import re

    fields: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        if name not in ("add_member",):
            fields.setdefault(name, value)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                           body)
        fields[name] = (chosen.group(1) or chosen.group(2)) if chosen else ""
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\s*(.*?)</textarea>',
                                  html, re.S):
        fields[name] = value
    return fields


def test_a_kept_record_is_opened_fixed_and_registered_at_capture_time(
        client, make, intake_key):
    worker = make.user(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    captured = datetime.now(UTC) - timedelta(days=2)
    body = case_data(given_name="Dayana", family_name="Urdaneta", sex="",
                     date_of_birth="2030-02-02", stage="nowhere")
    original = seal(intake_key, body, created_at=captured.isoformat())
    first = client.post("/api/v1/intake", json=original,
                        headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 202
    answer = first.get_json()
    review_id = answer["review_id"]
    login(client, worker.email)
    new_form = client.get("/cases/new").get_data(as_text=True)
    assert '<p class="flash flash-error"><a href="/intake/outbox">' in new_form
    outbox = client.get("/intake/outbox").get_data(as_text=True)
    assert f"/intake/records/{review_id}" in outbox
    page = client.get(f"/intake/records/{review_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dayana" in html and "Urdaneta" in html
    assert 'class="error-summary"' in html  # every problem listed at once
    fields = _form_fields(html)
    fields.update({"sex": "female", "date_of_birth": "2012-02-02", "stage": "border",
                   "data_processing": "y", "submit": "1"})
    done = client.post(f"/intake/records/{review_id}", data=fields)
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    case = db.session.scalar(sa.select(Case))
    assert case.given_name == "Dayana" and case.date_of_birth == "2012-02-02"
    assert abs(case.registered_at - captured) < timedelta(seconds=1)
    record = db.session.get(IntakeRecord, uuid.UUID(review_id))
    assert record.status == "registered" and record.case_id == case.id
    assert record.body_enc is None and record.key is None  # no second copy
    # The phone's replay of the very same record (it never heard the first answer): a 200
    # carrying the first answer, word for word; no second record, no second case.
    replay = client.post("/api/v1/intake", json=original,
                         headers={"Authorization": f"Bearer {token}"})
    assert replay.status_code == 200 and replay.get_json() == answer
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntakeRecord)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    # The same content under a new instance id is another record to the server (another
    # capture, as far as it can tell): kept for review again, not taken for a replay.
    again = client.post("/api/v1/intake", json=seal(intake_key, body, created_at=captured
                                                    .isoformat(), instance_id=str(uuid.uuid4())),
                        headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 202 and again.get_json()["review_id"] != review_id
    # The first record's page now leads to the case.
    assert client.get(f"/intake/records/{review_id}").status_code == 302


def test_duplicates_are_decided_on_the_case_page(client, make, register, intake_key):
    worker = make.user(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    first = register(worker)
    second = register(worker, given_name="Otra", family_name="Persona",
                      document={"type": "passport", "number": "P-2"})
    answer = client.post("/api/v1/intake", json=seal(intake_key, case_data()),
                         headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [d["id"] for d in answer["possible_duplicates"]] == [str(first.id)]
    case_id = answer["case_id"]
    login(client, worker.email)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert first.reference in page and 'id="duplicates"' in page
    review = db.session.scalar(sa.select(DuplicateReview))
    token_form = csrf_from(page)
    no_reason = client.post(f"/intake/duplicates/{review.id}",
                            data={"csrf_token": token_form, "decision": "different_person"})
    assert no_reason.status_code == 302
    db.session.expire_all()
    assert db.session.get(DuplicateReview, review.id).status == "open"
    decided = client.post(f"/intake/duplicates/{review.id}", data={
        "csrf_token": token_form, "decision": "different_person",
        "reason": "Otra fecha de llegada, otra madre"})
    assert decided.status_code == 302
    db.session.expire_all()
    done = db.session.get(DuplicateReview, review.id)
    assert done.status == "different_person" and done.reason == "Otra fecha de llegada, otra madre"
    assert b"Otra fecha" not in done.reason_enc
    api_case = client.get(f"/api/v1/cases/{case_id}",
                          headers={"Authorization": f"Bearer {token}"}).get_json()
    assert api_case["possible_duplicates"] == []
    # "Same person": the two cases show each other.
    other = client.post("/api/v1/intake", json=seal(intake_key, case_data(
        given_name="Otra", family_name="Persona", document={"type": "passport",
                                                            "number": "P-2"})),
        headers={"Authorization": f"Bearer {token}"}).get_json()
    review2 = db.session.scalar(sa.select(DuplicateReview).where(
        DuplicateReview.case_id == uuid.UUID(other["case_id"])))
    client.post(f"/intake/duplicates/{review2.id}",
                data={"csrf_token": token_form, "decision": "same_person"})
    assert second.reference in client.get(f"/cases/{other['case_id']}").get_data(as_text=True)
    assert client.get(f"/cases/{second.id}").get_data(as_text=True).count(
        other["reference"]) >= 1


def test_a_field_worker_cannot_decide_on_a_case_they_cannot_edit(
        client, make, register, intake_key):
    org = make.org()
    owner = make.user(Role.FIELD_WORKER, org=org)
    stranger = make.user(Role.FIELD_WORKER, org=org)
    register(owner)
    answer = client.post("/api/v1/intake", json=seal(intake_key, case_data()), headers={
        "Authorization": f"Bearer {api_token(client, owner.email)}"}).get_json()
    assert answer["possible_duplicates"]
    review = db.session.scalar(sa.select(DuplicateReview))
    login(client, stranger.email)
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post(f"/intake/duplicates/{review.id}",
                           data={"csrf_token": token, "decision": "same_person"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(DuplicateReview, review.id).status == "open"


def test_a_case_manager_of_the_organization_sees_and_resolves_a_phones_duplicate(
        client, make, register, intake_key):
    org = make.org()
    owner = make.user(Role.FIELD_WORKER, org=org)
    manager = make.user(Role.CASE_MANAGER, org=org)
    earlier = register(owner)
    answer = client.post("/api/v1/intake", json=seal(intake_key, case_data()), headers={
        "Authorization": f"Bearer {api_token(client, owner.email)}"}).get_json()
    assert [d["id"] for d in answer["possible_duplicates"]] == [str(earlier.id)]
    review = db.session.scalar(sa.select(DuplicateReview))
    login(client, manager.email)
    page = client.get(f"/cases/{answer['case_id']}").get_data(as_text=True)
    assert 'id="duplicates"' in page and earlier.reference in page
    assert f"/intake/duplicates/{review.id}" in page  # the manager may decide
    decided = client.post(f"/intake/duplicates/{review.id}", data={
        "csrf_token": csrf_from(page), "decision": "different_person",
        "reason": "Otra madre, otra fecha de llegada"})
    assert decided.status_code == 302
    db.session.expire_all()
    done = db.session.get(DuplicateReview, review.id)
    assert done.status == "different_person" and done.resolved_by_id == manager.id
    assert done.resolved_at is not None
    page = client.get(f"/cases/{answer['case_id']}").get_data(as_text=True)
    assert f"/intake/duplicates/{review.id}" not in page  # decided: no form any more


def test_erasing_a_case_forgets_its_possible_duplicates(client, make, register, intake_key):
    worker = make.user(Role.FIELD_WORKER)
    register(worker)
    answer = client.post("/api/v1/intake", json=seal(intake_key, case_data()), headers={
        "Authorization": f"Bearer {api_token(client, worker.email)}"}).get_json()
    case = db.session.get(Case, uuid.UUID(answer["case_id"]))
    case_services.erase_case(case)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DuplicateReview)) == 0


def test_the_worker_keeps_only_empty_pages_and_never_swallows_a_message(client, make):
    worker = make.user(Role.FIELD_WORKER)
    login(client, worker.email)
    shell = {"X-Fieldapp-Offline": "shell"}
    page = client.get("/cases/new", headers=shell)
    assert page.status_code == 200 and page.headers["X-Fieldapp-Offline-Shell"] == "1"
    assert "Cache-Control" in page.headers  # no-store: only the worker's cache keeps it
    outbox = client.get("/intake/outbox", headers=shell)
    assert outbox.headers["X-Fieldapp-Offline-Shell"] == "1"
    # The user's own page is never marked; a POST answer never is.
    assert "X-Fieldapp-Offline-Shell" not in client.get("/cases/new").headers
    token = csrf_from(client.get("/cases/new").get_data(as_text=True))
    posted = client.post("/cases/new", data={"csrf_token": token, "given_name": "Typed"},
                         headers=shell)
    assert "X-Fieldapp-Offline-Shell" not in posted.headers
    # A flashed message waiting for the user: the worker gets nothing this time.
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Case CO-NSA-26-000001 registered.")]
    assert client.get("/cases/new", headers=shell).status_code == 204
    assert "CO-NSA-26-000001" in client.get("/cases/new").get_data(as_text=True)


def test_the_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "worker-src 'self'" in response.headers["Content-Security-Policy"]
    assert b"X-Fieldapp-Offline" in response.data


def test_the_reachability_ping_keeps_no_session_alive(client, make):
    """The form asks every half minute whether the server answers: that must not stretch
    the 30-minute idle timeout of a phone left on the form."""
    from fieldapp.accounts.models import UserSession

    login(client, make.user(Role.FIELD_WORKER).email)
    row = db.session.scalar(sa.select(UserSession))
    earlier = datetime.now(UTC) - timedelta(minutes=20)
    row.last_seen_at = earlier
    db.session.commit()
    assert client.get("/intake/ping").status_code == 204
    db.session.expire_all()
    assert db.session.scalar(sa.select(UserSession.last_seen_at)) == earlier
