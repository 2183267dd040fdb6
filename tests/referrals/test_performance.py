"""Referral performance: medians, on-time and overdue shares, computed in the database."""

from __future__ import annotations

from datetime import timedelta

from fieldapp import clock
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.stats import services as stats


def test_median_and_shares_by_service_type_and_month(app, network, child_case, monkeypatch):
    start = clock.now().replace(microsecond=0, second=0, minute=0)
    worker = network["people"]["worker"]
    provider = network["people"]["child_provider"]
    hours = [1, 2, 3, 30, 50]  # urgent: 24 h to acknowledge; two are late
    for h in hours:
        referral = services.create_referral(worker, child_case, network["services"]["child"],
                                            flags=["UNACCOMPANIED_CHILD"], given_by="self",
                                            scope=["risk_summary"], note=None, now=start)
        services.transition(provider, referral, "acknowledge", now=start + timedelta(hours=h))
    waiting = services.create_referral(worker, child_case, network["services"]["child"],
                                       flags=["UNACCOMPANIED_CHILD"], given_by="self",
                                       scope=["risk_summary"], note=None, now=start)
    db.session.commit()
    assert waiting.status == "sent"
    manager = network["people"]["manager"]
    rows = stats.referral_performance(manager, now=start + timedelta(hours=25))
    row = next(r for r in rows if r["service_type"] == "child_protection")
    # Six referrals, published through the cell key method (k=5: six moves by one at most).
    assert row["referrals"] in (5, 6, 7) and not row["suppressed"]
    assert row["median_hours_to_acknowledge"] == 3.0
    assert row["share_on_time"] == round(3 / 6, 2)
    assert row["share_overdue"] == round(1 / 6, 2)
    early = stats.referral_performance(manager, now=start + timedelta(hours=1))
    assert next(r for r in early if r["service_type"] == "child_protection")[
        "share_overdue"] == 0


def test_small_groups_are_hidden(app, network, child_case):
    worker = network["people"]["worker"]
    services.create_referral(worker, child_case, network["services"]["asylum"],
                             flags=["UNACCOMPANIED_CHILD"], given_by="self",
                             scope=["risk_summary"], note=None)
    db.session.commit()
    rows = stats.referral_performance(network["people"]["manager"])
    row = next(r for r in rows if r["service_type"] == "legal_asylum")
    assert row["suppressed"] and row["referrals"] is None and row["share_overdue"] is None
