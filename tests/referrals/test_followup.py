"""The follow-up log both sides of a referral share: who may read and write it, in what
order, when it closes, that its texts never reach the database in clear, and the news
it makes for the sender."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldapp import clock
from fieldapp.audit.models import AuditEvent
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals import followup, services
from fieldapp.referrals.models import Referral, ReferralUpdate
from tests.conftest import api_token, csrf_from, login

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _send(network, case, *, service="child", now=START):
    referral = services.create_referral(
        network["people"]["worker"], case, network["services"][service],
        flags=["UNACCOMPANIED_CHILD"], given_by="guardian", scope=["risk_summary"],
        note=None, now=now)
    db.session.commit()
    return referral


def _auth(client, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(client, user.email)}"}


# -- the service -----------------------------------------------------------------------------

def test_both_sides_write_and_read_the_log_oldest_first(network, child_case):
    referral = _send(network, child_case)
    provider, worker = network["people"]["child_provider"], network["people"]["worker"]
    followup.add_update(provider, referral, kind="contact_attempt", text="No answer",
                        on_date=date(2026, 3, 2), now=START + timedelta(hours=1))
    followup.add_update(worker, referral, kind="note", text="She has a new phone number",
                        now=START + timedelta(hours=2))
    followup.add_update(provider, referral, kind="appointment", text="With the psychologist",
                        on_date="2026-03-09", now=START + timedelta(hours=3))
    followup.add_update(provider, referral, kind="service_delivered", text="First session",
                        on_date=date(2026, 3, 9), now=START + timedelta(days=7))
    db.session.commit()
    log = followup.list_updates(referral)
    assert [u.kind for u in log] == ["contact_attempt", "note", "appointment",
                                     "service_delivered"]
    assert [u.author_org_id for u in log] == [network["orgs"]["child"].id,
                                              network["orgs"]["sender"].id,
                                              network["orgs"]["child"].id,
                                              network["orgs"]["child"].id]
    assert log[2].on_date == date(2026, 3, 9) and log[1].text == "She has a new phone number"
    # Audited, without the text.
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.update_added")).all()
    assert len(events) == 4
    assert not any("phone number" in e.details or "psychologist" in e.details for e in events)


@pytest.mark.parametrize(("kind", "text", "on_date", "wrong"), [
    ("note", "", None, {"text"}),
    ("appointment", "At nine", None, {"date"}),
    ("service_delivered", "", None, {"text", "date"}),
    ("service_delivered", "Legal advice", "2026-03-20", {"date"}),  # after "today"
    ("contact_attempt", None, "2026-03-20", {"date"}),
    ("appointment", None, "tomorrow", {"date"}),
    ("appointment", None, "1999-12-31", {"date"}),
    ("gossip", "x", None, {"kind"}),
    ("note", "x" * 2001, None, {"text"}),
])
def test_every_problem_of_an_update_at_once(network, child_case, kind, text, on_date, wrong):
    referral = _send(network, child_case)
    with pytest.raises(ValidationFailed) as caught:
        followup.add_update(network["people"]["child_provider"], referral, kind=kind,
                            text=text, on_date=on_date, now=START + timedelta(days=1))
    assert set(caught.value.fields) == wrong
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 0


def test_an_appointment_may_be_ahead_and_an_attempt_without_text(network, child_case):
    referral = _send(network, child_case)
    provider = network["people"]["child_provider"]
    ahead = followup.add_update(provider, referral, kind="appointment", text=None,
                                on_date=date(2026, 6, 1), now=START)
    tried = followup.add_update(provider, referral, kind="contact_attempt", text="  ",
                                on_date=None, now=START)
    assert ahead.text is None and tried.text is None and tried.on_date is None


def test_a_cancelled_referral_takes_no_updates_a_declined_one_does(network, child_case):
    worker, provider = network["people"]["worker"], network["people"]["child_provider"]
    cancelled = _send(network, child_case)
    services.transition(worker, cancelled, "cancel", reason="Moved on")
    with pytest.raises(Conflict):
        followup.add_update(provider, cancelled, kind="note", text="Too late")
    with pytest.raises(Conflict):
        followup.add_update(worker, cancelled, kind="note", text="Too late")
    declined = _send(network, child_case, service="tracing")
    services.transition(network["people"]["child_provider"], declined, "decline",
                        reason="No capacity")
    # The contract: either side while the referral is not cancelled (a refusal can be
    # explained, the sender can say where the person went instead).
    followup.add_update(worker, declined, kind="note", text="Referred elsewhere")
    followup.add_update(provider, declined, kind="note", text="Call us next month")
    db.session.commit()
    assert len(followup.list_updates(declined)) == 2


# -- the API -----------------------------------------------------------------------------------

def test_api_both_sides_oldest_first_and_third_organizations_get_404(app, network, child_case):
    referral = _send(network, child_case)
    url = f"/api/v1/referrals/{referral.id}/updates"
    people = network["people"]
    provider = app.test_client()
    p = _auth(provider, people["child_provider"])
    first = provider.post(url, json={"kind": "appointment", "text": "Tuesday 9:00, office 2",
                                     "date": (clock.now() + timedelta(days=3)).date()
                                     .isoformat()}, headers=p)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["kind"] == "appointment" and body["text"] == "Tuesday 9:00, office 2"
    assert body["author"] == {"name": people["child_provider"].name,
                              "organization": "Child Office"}
    sender = app.test_client()
    w = _auth(sender, people["worker"])
    second = sender.post(url, json={"kind": "note", "text": "She will come with her aunt"},
                         headers=w)
    assert second.status_code == 201
    for client, headers in ((provider, p), (sender, w)):
        items = client.get(url, headers=headers).get_json()["items"]
        assert [i["text"] for i in items] == ["Tuesday 9:00, office 2",
                                              "She will come with her aunt"]
        assert [i["author"]["organization"] for i in items] == ["Child Office", "Sender NGO"]
    manager = app.test_client()
    assert manager.get(url, headers=_auth(manager, people["manager"])).status_code == 200
    for who in ("clinic_provider", "other_provider", "supervisor", "colleague"):
        client = app.test_client()
        headers = _auth(client, people[who])
        assert client.get(url, headers=headers).status_code == 404, who
        assert client.post(url, json={"kind": "note", "text": "Hello"},
                           headers=headers).status_code == 404, who
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 2
    reads = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.updates_viewed")).all()
    assert len(reads) == 3 and not any("aunt" in e.details for e in reads)


def test_api_refuses_updates_to_a_cancelled_referral_with_409(app, network, child_case):
    referral = _send(network, child_case)
    services.transition(network["people"]["worker"], referral, "cancel")
    db.session.commit()
    client = app.test_client()
    answer = client.post(f"/api/v1/referrals/{referral.id}/updates",
                         json={"kind": "note", "text": "Anyone?"},
                         headers=_auth(client, network["people"]["child_provider"]))
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "conflict"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 0


def test_api_validates_the_body(app, network, child_case):
    referral = _send(network, child_case)
    client = app.test_client()
    headers = _auth(client, network["people"]["child_provider"])
    url = f"/api/v1/referrals/{referral.id}/updates"
    missing = client.post(url, json={"text": "x"}, headers=headers)
    assert missing.status_code == 422 and "kind" in missing.get_json()["error"]["fields"]
    wrong = client.post(url, json={"kind": "service_delivered", "text": ["a"]},
                        headers=headers)
    assert wrong.status_code == 422 and "text" in wrong.get_json()["error"]["fields"]
    undated = client.post(url, json={"kind": "service_delivered", "text": "Advice"},
                          headers=headers)
    assert undated.status_code == 422 and set(undated.get_json()["error"]["fields"]) == {"date"}


# -- the pages ------------------------------------------------------------------------------------

def test_pages_show_the_log_to_both_sides_and_take_entries(app, network, child_case):
    referral = _send(network, child_case)
    provider = app.test_client()
    login(provider, network["people"]["child_provider"].email)
    page = provider.get(f"/referrals/{referral.id}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert "Nothing logged yet." in html
    today = clock.now().date()
    wrong = provider.post(f"/referrals/{referral.id}/updates", data={
        "csrf_token": csrf_from(html), "kind": "service_delivered", "text": "",
        "on_date": ""}, headers={"Accept-Language": "en"})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert "There is a problem" in text and 'href="#text"' in text and 'href="#on_date"' in text
    done = provider.post(f"/referrals/{referral.id}/updates", data={
        "csrf_token": csrf_from(html), "kind": "service_delivered",
        "text": "Birth certificate requested", "on_date": today.isoformat()})
    assert done.status_code == 302 and done.headers["Location"].endswith("#log")
    sender = app.test_client()
    login(sender, network["people"]["worker"].email)
    seen = sender.get(f"/referrals/{referral.id}", headers={"Accept-Language": "en"})
    assert "Birth certificate requested" in seen.get_data(as_text=True)
    assert "Service delivered" in seen.get_data(as_text=True)
    case_page = sender.get(f"/cases/{child_case.id}").get_data(as_text=True)
    assert "Birth certificate requested" in case_page


def test_the_case_page_shows_the_latest_three(app, network, child_case):
    referral = _send(network, child_case)
    provider = network["people"]["child_provider"]
    for n in range(5):
        followup.add_update(provider, referral, kind="note", text=f"Entry number {n}",
                            now=START + timedelta(hours=n))
    db.session.commit()
    sender = app.test_client()
    login(sender, network["people"]["worker"].email)
    page = sender.get(f"/cases/{child_case.id}", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert "Entry number 0" not in page and "Entry number 1" not in page
    assert page.index("Entry number 2") < page.index("Entry number 3") \
        < page.index("Entry number 4")
    assert "2 earlier updates" in page


def test_a_third_organization_cannot_post_to_the_page(app, network, child_case):
    referral = _send(network, child_case)
    other = app.test_client()
    login(other, network["people"]["clinic_provider"].email)
    token = csrf_from(other.get("/account/password").get_data(as_text=True))
    answer = other.post(f"/referrals/{referral.id}/updates", data={
        "csrf_token": token, "kind": "note", "text": "Intrusion"})
    assert answer.status_code == 404
    assert other.get(f"/referrals/{referral.id}").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 0


def test_a_cancelled_referral_page_has_no_form(app, network, child_case):
    referral = _send(network, child_case)
    services.transition(network["people"]["worker"], referral, "cancel")
    db.session.commit()
    provider = app.test_client()
    login(provider, network["people"]["child_provider"].email)
    html = provider.get(f"/referrals/{referral.id}", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert "its log takes no more updates" in html and 'name="kind"' not in html


# -- at rest -------------------------------------------------------------------------------------

DISTINCTIVE = "Cita con la abogada Hermenegilda en Calle Quimérica 77"


def _encodings(value: str) -> list[bytes]:
    raw = value.encode()
    return [raw, value.encode("utf-16-le"), base64.b64encode(raw), raw.hex().encode(),
            value.lower().encode()]


def test_update_texts_never_reach_the_database_in_clear(app, network, child_case,
                                                        database_url):
    referral = _send(network, child_case)
    client = app.test_client()
    answer = client.post(f"/api/v1/referrals/{referral.id}/updates",
                         json={"kind": "note", "text": DISTINCTIVE},
                         headers=_auth(client, network["people"]["child_provider"]))
    assert answer.status_code == 201
    db.session.commit()
    stored = db.session.scalar(sa.select(ReferralUpdate.text_enc))
    assert stored and DISTINCTIVE.encode() not in stored
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database)
        blob = b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
        assert b"referral_updates" in blob
    else:
        url = sa.engine.make_url(database_url)
        blob = subprocess.run(
            [shutil.which("pg_dump") or "pg_dump", "--no-owner", "-h", url.host or "127.0.0.1",
             "-p", str(url.port or 5432), "-U", url.username or "postgres",
             url.database or "test"],
            capture_output=True, check=True,
            env={**os.environ, "PGPASSWORD": url.password or ""}).stdout
        assert b"referral_updates" in blob
    for encoded in _encodings(DISTINCTIVE):
        assert encoded not in blob, encoded[:20]
    details = " ".join(db.session.scalars(sa.select(AuditEvent.details)))
    assert "Hermenegilda" not in details


def test_erasing_the_referral_shreds_its_log(network, child_case):
    referral = _send(network, child_case)
    followup.add_update(network["people"]["child_provider"], referral, kind="note",
                        text=DISTINCTIVE)
    db.session.commit()
    services.erase_referral(referral)
    db.session.commit()
    assert db.session.scalar(sa.select(ReferralUpdate.text_enc)) is None


# -- news for the sender --------------------------------------------------------------------------

def _home(app, user) -> str:
    client = app.test_client()
    login(client, user.email)
    return client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_news_count_on_the_senders_home_page(app, network, child_case):
    worker, provider = network["people"]["worker"], network["people"]["child_provider"]
    quiet = _send(network, child_case)
    moved = _send(network, child_case, service="tracing")
    logged = _send(network, child_case, service="asylum")
    assert followup.news_count(worker) == 0 and "with news" not in _home(app, worker)
    services.transition(provider, moved, "acknowledge")
    followup.add_update(network["people"]["clinic_provider"], logged, kind="contact_attempt",
                        text="No answer")
    followup.add_update(worker, quiet, kind="note", text="Own note: no news for oneself")
    db.session.commit()
    assert followup.news_count(worker) == 2
    assert followup.news_count(network["people"]["manager"]) == 2
    assert followup.news_count(provider) == 0  # providers have no outbox
    assert "2 referrals with news" in _home(app, worker)
    client = app.test_client()
    login(client, worker.email)
    news = client.get("/referrals?box=outbox&news=y").get_data(as_text=True)
    assert moved.reference in news and logged.reference in news and quiet.reference not in news
    # Opening the referral reads its news; the other side opening it does not.
    client.get(f"/referrals/{moved.id}")
    receiver = app.test_client()
    login(receiver, network["people"]["clinic_provider"].email)
    receiver.get(f"/referrals/{logged.id}")
    db.session.expire_all()
    assert followup.news_count(worker) == 1
    assert db.session.get(Referral, moved.id).version == 2  # seen: no new version
    assert "1 referral with news" in _home(app, worker)
    # The API's reading counts as opening it.
    api = app.test_client()
    assert api.get(f"/api/v1/referrals/{logged.id}", headers=_auth(api, worker)) \
        .status_code == 200
    assert followup.news_count(worker) == 0 and "with news" not in _home(app, worker)
    listed = api.get("/api/v1/referrals?box=outbox&news=true", headers=_auth(api, worker))
    assert listed.get_json()["total"] == 0


def test_the_referrals_of_a_case_for_those_who_see_the_case(app, network, child_case):
    first = _send(network, child_case)
    second = _send(network, child_case, service="asylum", now=START + timedelta(hours=1))
    url = f"/api/v1/cases/{child_case.id}/referrals"
    for who in ("worker", "manager"):
        client = app.test_client()
        items = client.get(url, headers=_auth(client, network["people"][who])).get_json()["items"]
        assert [i["id"] for i in items] == [str(second.id), str(first.id)], who
        assert items[0]["reference"] == second.reference
    for who, status in (("colleague", 404), ("child_provider", 403), ("supervisor", 403)):
        client = app.test_client()
        assert client.get(url, headers=_auth(client, network["people"][who])).status_code \
            == status, who


def test_keys_verify_opens_the_follow_up_log(network, child_case):
    """`flask keys verify` opens every update's text; moved ciphertext is reported by id."""
    from fieldapp.keyops import services as keyops

    worker = network["people"]["worker"]
    referral = services.create_referral(worker, child_case, network["services"]["child"],
                                        flags=["UNACCOMPANIED_CHILD"], given_by="guardian",
                                        scope=["risk_summary"], note=None)
    first = followup.add_update(worker, referral, kind="note", text="Llamó la tía")
    second = followup.add_update(worker, referral, kind="note", text="Cita el lunes")
    db.session.commit()
    first_id, second_id = first.id, second.id
    assert keyops.verify().failures == []
    moved = db.session.get(ReferralUpdate, first_id).text_enc
    db.session.get(ReferralUpdate, second_id).text_enc = moved  # bound to the other row
    db.session.commit()
    assert keyops.verify().failures == [f"referral_updates {second_id} text"]
