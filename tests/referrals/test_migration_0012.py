"""Migration 0012 on existing rows: organizations get their country's zone, referrals
are numbered in the order they were sent and the sequence goes on from there."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from fieldapp.accounts.models import Organization, User
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.referrals.models import Referral, Service


def _send(network, case, service, now):
    return services.create_referral(
        network["people"]["worker"], case, network["services"][service],
        flags=["UNACCOMPANIED_CHILD"], given_by="guardian", scope=["risk_summary"], note=None,
        now=now)


def test_upgrade_fills_zones_and_references_and_downgrade_removes_them(app, make, network,
                                                                     child_case):
    from flask_migrate import downgrade, upgrade

    chile = make.org("Chile org", country="CL", location="CL-AP-CHACALLUTA")
    roraima = make.org("Roraima org", country="BR", location="BR-RR-PACARAIMA")
    peru = make.org("Peru org", country="PE", location=None)
    peru.time_zone = "Europe/Madrid"  # an administrator's choice; a downgrade forgets it
    sent = [_send(network, child_case, "asylum", datetime(2026, 12, 30, tzinfo=UTC)),
            _send(network, child_case, "child", datetime(2025, 6, 1, tzinfo=UTC)),
            _send(network, child_case, "tracing", datetime(2026, 2, 1, tzinfo=UTC))]
    ids = {r.id: r.created_at for r in sent}
    org_ids = {chile.id: "America/Santiago", roraima.id: "America/Boa_Vista",
               peru.id: "America/Lima", network["orgs"]["sender"].id: "America/Bogota"}
    worker_id, case_id = network["people"]["worker"].id, child_case.id
    asylum_id = network["services"]["asylum"].id
    db.session.commit()
    db.session.remove()

    downgrade(revision="0011")
    with db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert "reference" not in {c["name"] for c in inspector.get_columns("referrals")}
        assert "time_zone" not in {c["name"] for c in inspector.get_columns("organizations")}
        assert "consent_withdrawal_reason_enc" not in {
            c["name"] for c in inspector.get_columns("cases")}
        assert conn.execute(sa.text(
            "SELECT count(*) FROM reference_counters WHERE prefix LIKE 'R-%'")).scalar() == 0
    upgrade()
    db.session.remove()

    for org_id, zone in org_ids.items():
        assert db.session.get(Organization, org_id).time_zone == zone
    by_time = sorted(ids, key=ids.__getitem__)
    references = [db.session.get(Referral, i).reference for i in by_time]
    assert references == ["R-25-000001", "R-26-000001", "R-26-000002"]
    # New referrals continue each year's sequence.
    again = services.create_referral(
        db.session.get(User, worker_id), db.session.get(Case, case_id),
        db.session.get(Service, asylum_id), flags=["UNACCOMPANIED_CHILD"],
        given_by="guardian", scope=["risk_summary"], note=None,
        now=datetime(2026, 12, 31, tzinfo=UTC))
    assert again.reference == "R-26-000003"
    db.session.commit()
