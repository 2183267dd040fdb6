"""Referrals end to end: consent-scoped sharing, isolation, transitions, deadlines, erasure."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldapp import clock
from fieldapp.cases import services as case_services
from fieldapp.exceptions import Conflict, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals import services, vocab
from fieldapp.referrals.models import Referral, ReferralKey
from tests.conftest import api_token, csrf_from, login
from tests.referrals.conftest import SECRET

ALL_SCOPES = list(vocab.SCOPES)


def _send(network, case, scope, *, service="child", flags=("UNACCOMPANIED_CHILD",),
          now=None, note="Please call before visiting"):
    referral = services.create_referral(
        network["people"]["worker"], case, network["services"][service], flags=list(flags),
        given_by="best_interest", scope=scope, note=note, now=now)
    db.session.commit()
    return referral


def _plaintexts() -> dict[str, list[bytes]]:
    out = {}
    for key, value in SECRET.items():
        raw = value.encode()
        out[key] = [raw, value.encode("unicode_escape"), json.dumps(value).encode(),
                    base64.b64encode(raw), value.lower().encode()]
    return out


def _leaks(body: bytes) -> set[str]:
    return {k for k, forms in _plaintexts().items() if any(f in body for f in forms)}


EXPECTED_BY_SCOPE = {
    "identity": {"given_name", "family_name", "date_of_birth"},
    "contact": {"phone"},
    "documents": {"document_number"},
    "risk_summary": set(),
    "assessment_details": set(),
    "notes": {"notes"},
}


@pytest.mark.parametrize("scope", [["risk_summary"], *[["risk_summary", s] for s in ALL_SCOPES
                                                       if s != "risk_summary"]])
def test_receiving_side_sees_exactly_the_consented_groups(app, network, child_case, scope):
    referral = _send(network, child_case, scope, note="Needs a place tonight")
    provider = network["people"]["child_provider"]
    expected = set().union(*(EXPECTED_BY_SCOPE[s] for s in scope))
    client = app.test_client()
    token = api_token(client, provider.email)
    api = client.get(f"/api/v1/referrals/{referral.id}",
                     headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert set(api.get_json()["shared"]) == set(scope)
    assert "case_id" not in api.get_json()
    assert _leaks(api.data) == expected
    login(client, provider.email)
    html = client.get(f"/referrals/{referral.id}")
    assert html.status_code == 200
    assert _leaks(html.data) == expected
    assert b"Needs a place tonight" in html.data  # the referral's own note


def test_the_snapshot_is_taken_at_sending_time(network, child_case):
    referral = _send(network, child_case, ["identity", "risk_summary"])
    child_case.given_name = "Changed Later"
    db.session.commit()
    shared = json.loads(referral.snapshot)["shared"]
    assert shared["identity"]["given_name"] == SECRET["given_name"]


def test_no_consent_or_empty_scope_is_422(app, network, child_case):
    client = app.test_client()
    token = api_token(client, network["people"]["worker"].email)
    body = {"case_id": str(child_case.id), "service_id": str(network["services"]["child"].id),
            "flags": ["UNACCOMPANIED_CHILD"], "consent": {"given_by": "self", "scope": []}}
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/referrals", json=body, headers=auth).status_code == 422
    body["consent"] = {"scope": ["risk_summary"]}
    assert client.post("/api/v1/referrals", json=body, headers=auth).status_code == 422
    body["consent"] = {"given_by": "self", "scope": ["risk_summary"]}
    created = client.post("/api/v1/referrals", json=body, headers=auth)
    assert created.status_code == 201
    data = created.get_json()
    assert data["status"] == "sent" and data["urgency"] == "urgent" and data["due_at"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1


def test_isolation_between_organizations(app, network, child_case):
    referral = _send(network, child_case, ["risk_summary"])
    people = network["people"]
    for who, status in (("other_provider", 404), ("clinic_provider", 404), ("supervisor", 404),
                        ("colleague", 404), ("child_provider", 200), ("worker", 200),
                        ("manager", 200)):
        client = app.test_client()
        token = api_token(client, people[who].email)
        got = client.get(f"/api/v1/referrals/{referral.id}",
                         headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == status, who
    other = app.test_client()
    token = api_token(other, people["other_provider"].email)
    inbox = other.get("/api/v1/referrals?box=inbox",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert inbox["total"] == 0


# (actor, action, from status) -> expected outcome
SIDES = {"child_provider": "receiver", "worker": "sender", "manager": "sender"}


@pytest.mark.parametrize("actor", sorted(SIDES))
@pytest.mark.parametrize("action", sorted(vocab.TRANSITIONS))
@pytest.mark.parametrize("start", ["sent", "acknowledged", "accepted", "declined", "completed",
                                   "cancelled"])
def test_every_transition_by_every_side(network, child_case, actor, action, start):
    referral = _send(network, child_case, ["risk_summary"])
    referral.status = start
    db.session.commit()
    side, sources, target = vocab.TRANSITIONS[action]
    kwargs = {"reason": "Because", "outcome": "Placed in a foster family"}
    user = network["people"][actor]
    if SIDES[actor] != side:
        with pytest.raises(NotAllowed):
            services.transition(user, referral, action, **kwargs)
    elif start not in sources:
        with pytest.raises(services.IllegalTransition):
            services.transition(user, referral, action, **kwargs)
    else:
        services.transition(user, referral, action, **kwargs)
        db.session.commit()
        assert referral.status == target
        assert referral.events[-1].actor_id == user.id
    db.session.rollback()


def test_reasons_and_outcomes_are_required(network, child_case):
    referral = _send(network, child_case, ["risk_summary"])
    provider = network["people"]["child_provider"]
    with pytest.raises(ValidationFailed):
        services.transition(provider, referral, "decline", reason=" ")
    services.transition(provider, referral, "acknowledge")
    services.transition(provider, referral, "accept")
    with pytest.raises(ValidationFailed):
        services.transition(provider, referral, "complete", outcome="")
    services.transition(provider, referral, "complete", outcome="Reunited with her aunt")
    db.session.commit()
    assert referral.status == "completed" and b"aunt" not in referral.outcome_enc


def test_transitions_through_the_api(app, network, child_case):
    referral = _send(network, child_case, ["risk_summary"])
    client = app.test_client()
    provider = {"Authorization": f"Bearer {api_token(client, network['people']['child_provider'].email)}"}  # noqa: E501
    sender = {"Authorization": f"Bearer {api_token(client, network['people']['worker'].email)}"}
    url = f"/api/v1/referrals/{referral.id}/transitions"
    assert client.post(url, json={"action": "accept"}, headers=provider).status_code == 409
    assert client.post(url, json={"action": "acknowledge"}, headers=sender).status_code == 403
    assert client.post(url, json={"action": "decline"}, headers=provider).status_code == 422
    ok = client.post(url, json={"action": "acknowledge"}, headers=provider)
    assert ok.status_code == 200 and ok.get_json()["status"] == "acknowledged"
    assert client.post(url, json={"action": "fly"}, headers=provider).status_code == 422
    cancelled = client.post(url, json={"action": "cancel"}, headers=sender)
    assert cancelled.get_json()["status"] == "cancelled"
    history = [h["to"] for h in cancelled.get_json()["history"]]
    assert history == ["sent", "acknowledged", "cancelled"]


def test_overdue_exactly_at_the_due_time(app, network, child_case, monkeypatch):
    start = clock.now().replace(microsecond=0)
    referral = _send(network, child_case, ["risk_summary"], now=start)
    assert referral.due_at == start + timedelta(hours=24)  # urgent
    provider = network["people"]["child_provider"]

    def overdue_at(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)
        rows, total = services.list_referrals(
            provider, services.ReferralFilters(box="inbox", overdue=True))
        counts = services.box_counts(provider)
        return total, counts["inbox"]["overdue"], referral.overdue(moment)

    assert overdue_at(referral.due_at - timedelta(seconds=1)) == (0, 0, False)
    assert overdue_at(referral.due_at) == (1, 1, True)
    client = app.test_client()
    token = api_token(client, provider.email)
    body = client.get("/api/v1/referrals?box=inbox&overdue=true",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["total"] == 1 and body["items"][0]["overdue"] is True
    services.transition(provider, referral, "acknowledge", now=referral.due_at)
    db.session.commit()
    assert overdue_at(referral.due_at + timedelta(days=3)) == (0, 0, False)


@pytest.mark.parametrize("severity,hours", [("urgent", 24), ("high", 72), ("medium", 168)])
def test_deadlines_follow_urgency(network, register, severity, hours):
    from fieldapp.cases import assessment

    worker = network["people"]["worker"]
    case = register(worker, date_of_birth="1980-01-01")
    assessment.add_manual_flag(worker, case, code="SERIOUS_MEDICAL_CONDITION",
                               severity=severity, reason="Seen at the post")
    db.session.commit()
    now = clock.now()
    referral = _send(network, case, ["risk_summary"], service="health",
                     flags=["SERIOUS_MEDICAL_CONDITION"], now=now)
    assert referral.urgency == severity and referral.due_at == now + timedelta(hours=hours)


def test_withdrawn_consent_blocks_new_referrals_but_keeps_old_ones(network, child_case):
    sent = _send(network, child_case, ["risk_summary"])
    worker = network["people"]["worker"]
    case_services.withdraw_consent(worker, child_case)
    db.session.commit()
    with pytest.raises(Conflict):
        _send(network, child_case, ["risk_summary"])
    db.session.rollback()
    assert db.session.get(Referral, sent.id).status == "sent"
    services.transition(worker, sent, "cancel", reason="Consent withdrawn")
    db.session.commit()
    assert sent.status == "cancelled"


def test_snapshot_is_not_in_the_database_in_clear(network, child_case, database_url):
    _send(network, child_case, ALL_SCOPES)
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database)
        blob = b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    else:
        import os
        import shutil
        import subprocess

        url = sa.engine.make_url(database_url)
        blob = subprocess.run(
            [shutil.which("pg_dump"), "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
             "-U", url.username or "postgres", url.database or "test"],
            capture_output=True, check=True, env=dict(os.environ)).stdout
        blob += bytes.fromhex("".join(  # bytea is dumped as hex: decode it all
            part[2:] for part in blob.decode("latin-1").split() if part.startswith("\\x")
            and all(c in "0123456789abcdef" for c in part[2:])) or "")
    assert b"referral_keys" in blob or b"sent" in blob
    assert _leaks(blob) == set()


def test_erasing_the_case_erases_its_referral_snapshots(network, child_case):
    referral = _send(network, child_case, ALL_SCOPES)
    case_services.erase_case(child_case, actor=network["people"]["manager"])
    db.session.commit()
    db.session.expire_all()
    erased = db.session.get(Referral, referral.id)
    assert erased.erased_at is not None and erased.snapshot_enc is None
    assert db.session.get(ReferralKey, referral.id) is None
    assert erased.status == "sent"  # still counts in statistics


def test_referrals_erase_command(app, network, child_case):
    referral = _send(network, child_case, ["risk_summary"])
    out = app.test_cli_runner().invoke(args=["referrals", "erase", str(referral.id), "--yes"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).erased_at is not None


def test_refer_page_and_inbox_through_html(app, network, child_case):
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    page = client.get(f"/cases/{child_case.id}/refer")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Child protection NSA" in html
    child = str(network["services"]["child"].id)
    form = {"csrf_token": csrf_from(html), "service_id": child,
            "flags": [f"{child}:UNACCOMPANIED_CHILD"], "given_by": "best_interest",
            "scope": ["risk_summary"], "note": "Urgent, she is at the bus terminal"}
    consent = client.post(f"/cases/{child_case.id}/refer", data=form)  # the consent screen
    assert consent.status_code == 200 and db.session.scalar(
        sa.select(sa.func.count()).select_from(Referral)) == 0
    response = client.post(f"/cases/{child_case.id}/refer", data={**form, "confirm": "1"})
    assert response.status_code == 302
    provider = app.test_client()
    login(provider, network["people"]["child_provider"].email)
    inbox = provider.get("/referrals").get_data(as_text=True)
    assert "Child protection NSA" in inbox and "‼" in inbox
    home = provider.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 open referral" in home
    referral = db.session.scalar(sa.select(Referral))
    detail = provider.get(f"/referrals/{referral.id}").get_data(as_text=True)
    provider.post(f"/referrals/{referral.id}/transition", data={
        "csrf_token": csrf_from(detail), "action": "acknowledge"})
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "acknowledged"
    outbox = client.get("/referrals?box=outbox", headers={"Accept-Language": "en"})
    assert "Acknowledged" in outbox.get_data(as_text=True)


def test_manual_flag_reasons_cross_only_with_consent_for_notes(network, child_case):
    from fieldapp.cases import assessment

    worker = network["people"]["worker"]
    assessment.add_manual_flag(worker, child_case, code="TRAFFICKING_RISK",
                               reason="Su tío Ramiro la retiene en la calle 5", severity="urgent")
    db.session.commit()
    without = _send(network, child_case, ["risk_summary"], flags=["TRAFFICKING_RISK"])
    with_notes = _send(network, child_case, ["risk_summary", "notes"],
                       flags=["TRAFFICKING_RISK"])
    provider = network["people"]["child_provider"]
    hidden = services.referral_to_dict(without, provider)
    shown = services.referral_to_dict(with_notes, provider)
    assert "Ramiro" not in json.dumps(hidden, ensure_ascii=False)
    assert "Ramiro" in json.dumps(shown, ensure_ascii=False)


def test_unassigned_field_worker_loses_the_referral(network, child_case):
    manager, colleague = network["people"]["manager"], network["people"]["colleague"]
    case_services.reassign_case(manager, child_case, assignee=colleague)
    db.session.commit()
    referral = services.create_referral(colleague, child_case, network["services"]["child"],
                                        flags=["UNACCOMPANIED_CHILD"], given_by="self",
                                        scope=["identity", "risk_summary"], note=None)
    db.session.commit()
    assert services.side_of(colleague, referral) == {"sender"}
    case_services.reassign_case(manager, child_case, assignee=None)
    db.session.commit()
    assert services.side_of(colleague, referral) == set()
    rows, total = services.list_referrals(colleague, services.ReferralFilters(box="outbox"))
    assert total == 0
