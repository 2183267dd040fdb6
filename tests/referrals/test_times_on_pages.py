"""Pages show times in each organization's own zone; the API stays in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from fieldapp.extensions import db
from fieldapp.referrals import services
from tests.conftest import api_token, login

JANUARY = datetime(2026, 1, 15, 17, 5, tzinfo=UTC)  # Santiago in summer time: UTC-3
JULY = datetime(2026, 7, 15, 17, 5, tzinfo=UTC)  # Santiago in winter time: UTC-4


def test_pages_show_each_organizations_own_time(app, network, child_case):
    network["orgs"]["sender"].time_zone = "America/Santiago"
    db.session.commit()
    summer = services.create_referral(
        network["people"]["worker"], child_case, network["services"]["child"],
        flags=["UNACCOMPANIED_CHILD"], given_by="guardian", scope=["risk_summary"],
        note=None, now=JANUARY)
    winter = services.create_referral(
        network["people"]["worker"], child_case, network["services"]["asylum"],
        flags=["UNACCOMPANIED_CHILD"], given_by="guardian", scope=["risk_summary"],
        note=None, now=JULY)
    db.session.commit()
    sender = app.test_client()
    login(sender, network["people"]["worker"].email)
    page = sender.get(f"/referrals/{summer.id}").get_data(as_text=True)
    assert "15 ene 2026, 14:05 (hora de Chile)" in page  # history: sent
    page = sender.get(f"/referrals/{winter.id}").get_data(as_text=True)
    assert "15 jul 2026, 13:05 (hora de Chile)" in page
    assert "UTC" not in page.replace("UTC-", "")
    # The receiving organization is in Colombia: the same instant, its own clock.
    receiver = app.test_client()
    login(receiver, network["people"]["child_provider"].email)
    page = receiver.get(f"/referrals/{summer.id}").get_data(as_text=True)
    assert "15 ene 2026, 12:05 (hora de Colombia)" in page
    # The API keeps UTC ISO 8601.
    token = api_token(receiver, network["people"]["child_provider"].email)
    body = receiver.get(f"/api/v1/referrals/{summer.id}",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["created_at"] == "2026-01-15T17:05:00+00:00"
