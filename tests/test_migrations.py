"""The schema comes from migrations: head matches the models; downgrade and upgrade run."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fieldapp.extensions import db
from fieldapp.locations.models import Location


def test_head_matches_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_locations_seeded_with_real_border_sites(app):
    for code in ("CO", "CO-NSA", "CO-NSA-CUCUTA", "CO-LAG-PARAGUACHON", "EC-C-TULCAN",
                 "PE-TUM-TUMBES", "BR-RR-PACARAIMA", "CL-AP-CHACALLUTA", "PE-PUN-DESAGUADERO",
                 "EC-O-HUAQUILLAS", "CO-ARA-ARAUCA", "CO-NAR-IPIALES"):
        assert db.session.get(Location, code) is not None, code
    orphans = db.session.scalars(sa.select(Location).where(
        Location.level != "country", Location.parent_code.is_(None))).all()
    assert orphans == []
    assert db.session.get(Location, "VE").alpha3 == "VEN"


def test_downgrade_to_base_and_upgrade_again(app):
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(revision="base")
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert db.session.get(Location, "CO-NSA-CUCUTA") is not None


def test_downgrade_and_upgrade_keep_existing_records_readable(app, make, register):
    """Table rebuilds on SQLite must not cascade: wrapped keys, indexes, flags survive."""
    from flask_migrate import downgrade, upgrade

    from fieldapp.cases.models import Case, CaseBlindIndex, CaseKey

    case = register(make.user(), document={"type": "passport", "number": "MIG-123"})
    case_id = case.id
    db.session.commit()
    db.session.remove()
    downgrade(revision="0003")
    upgrade()
    db.session.remove()
    survivor = db.session.get(Case, case_id)
    assert db.session.get(CaseKey, case_id) is not None
    assert survivor.given_name == "María José" and survivor.document_number == "MIG-123"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseBlindIndex).where(
        CaseBlindIndex.case_id == case_id)) == 3
    assert {g.code for g in survivor.groups} == {"WOMEN_GIRLS", "CHILDREN"}
