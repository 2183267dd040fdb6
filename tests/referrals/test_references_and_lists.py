"""Referral references, what outbox and inbox rows say, and deadline text that follows
the status (on the referral page, in the lists)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.referrals.labels import status_line
from tests.conftest import api_token, login

EN = {"Accept-Language": "en"}
REFERENCE = re.compile(r"^R-\d{2}-\d{6}$")


def _send(network, case, *, service="child", flags=("UNACCOMPANIED_CHILD",), now=None):
    referral = services.create_referral(
        network["people"]["worker"], case, network["services"][service], flags=list(flags),
        given_by="guardian", scope=["risk_summary"], note=None, now=now)
    db.session.commit()
    return referral


def test_references_are_short_unique_and_in_sequence_per_year(network, child_case):
    first = _send(network, child_case, now=datetime(2026, 3, 1, tzinfo=UTC))
    second = _send(network, child_case, service="asylum", flags=["UNACCOMPANIED_CHILD"],
                   now=datetime(2026, 3, 2, tzinfo=UTC))
    next_year = _send(network, child_case, service="tracing",
                      flags=["UNACCOMPANIED_CHILD"], now=datetime(2027, 1, 2, tzinfo=UTC))
    assert (first.reference, second.reference, next_year.reference) == (
        "R-26-000001", "R-26-000002", "R-27-000001")
    assert all(REFERENCE.match(r.reference) for r in (first, second, next_year))
    assert child_case.reference not in first.reference  # nothing of the case in it


def test_the_api_gives_the_reference_to_both_sides(app, network, child_case):
    referral = _send(network, child_case)
    client = app.test_client()
    for person in ("worker", "child_provider"):
        token = api_token(client, network["people"][person].email)
        body = client.get(f"/api/v1/referrals/{referral.id}",
                          headers={"Authorization": f"Bearer {token}"}).get_json()
        assert body["reference"] == referral.reference
        assert body["created_at"].endswith("+00:00")  # the API stays in UTC
    token = api_token(client, network["people"]["worker"].email)
    listed = client.get("/api/v1/referrals?box=outbox",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    assert listed["items"][0]["reference"] == referral.reference


def test_outbox_rows_name_the_case_and_inbox_rows_the_referral(app, network, child_case):
    referral = _send(network, child_case)
    sender = app.test_client()
    login(sender, network["people"]["worker"].email)
    outbox = sender.get("/referrals?box=outbox", headers=EN).get_data(as_text=True)
    assert f"Case {child_case.reference}" in outbox
    assert f'href="/cases/{child_case.id}"' in outbox
    assert referral.reference in outbox

    receiver = app.test_client()
    login(receiver, network["people"]["child_provider"].email)
    inbox = receiver.get("/referrals?box=inbox", headers=EN).get_data(as_text=True)
    assert f"Referral {referral.reference}" in inbox
    assert child_case.reference not in inbox and f"/cases/{child_case.id}" not in inbox
    page = receiver.get(f"/referrals/{referral.id}", headers=EN).get_data(as_text=True)
    assert f"Referral {referral.reference}" in page
    assert child_case.reference not in page


def test_a_case_manager_sees_the_case_link_a_supervisor_has_no_outbox(app, network,
                                                                      child_case):
    _send(network, child_case)
    manager = app.test_client()
    login(manager, network["people"]["manager"].email)
    outbox = manager.get("/referrals?box=outbox").get_data(as_text=True)
    assert f'href="/cases/{child_case.id}"' in outbox
    supervisor = app.test_client()
    login(supervisor, network["people"]["supervisor"].email)
    assert supervisor.get("/referrals?box=outbox").status_code == 403


def test_deadline_text_follows_the_status(app, network, child_case):
    sent_at = datetime(2026, 1, 15, 17, 5, tzinfo=UTC)
    referral = _send(network, child_case, now=sent_at)
    provider = network["people"]["child_provider"]
    with app.test_request_context(headers=EN):
        assert status_line(referral) == (
            "Sent on Jan 15, 2026; acknowledge before Jan 16, 2026, 5:05\u202fPM (UTC)")
        services.transition(provider, referral, "acknowledge",
                            now=datetime(2026, 1, 15, 18, 0, tzinfo=UTC))
        assert status_line(referral).startswith("Acknowledged on Jan 15, 2026, 6:00")
        services.transition(provider, referral, "accept",
                            now=datetime(2026, 1, 16, 9, 0, tzinfo=UTC))
        assert status_line(referral).startswith("Accepted; acknowledged on Jan 15, 2026")
        services.transition(provider, referral, "complete", outcome="Placed",
                            now=datetime(2026, 2, 1, 12, 0, tzinfo=UTC))
        assert status_line(referral).startswith("Completed on Feb 1, 2026")
        declined = _send(network, child_case, service="asylum")
        services.transition(network["people"]["clinic_provider"], declined, "decline",
                            reason="Out of scope", now=datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
        assert status_line(declined).startswith("Declined on Mar 3, 2026")
        cancelled = _send(network, child_case, service="tracing")
        services.transition(network["people"]["worker"], cancelled, "cancel",
                            now=datetime(2026, 4, 4, 12, 0, tzinfo=UTC))
        assert status_line(cancelled).startswith("Cancelled on Apr 4, 2026")
    db.session.commit()

    for who, box in (("child_provider", "inbox"), ("worker", "outbox")):
        client = app.test_client()
        login(client, network["people"][who].email)
        listing = client.get(f"/referrals?box={box}", headers=EN).get_data(as_text=True)
        page = client.get(f"/referrals/{referral.id}", headers=EN).get_data(as_text=True)
        for html in (listing, page):
            assert "Completed on Feb 1, 2026" in html
            assert "acknowledge before" not in html
        assert "Placed" in page
