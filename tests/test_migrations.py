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
