"""The benchmark's bulk seeding writes what registration writes (fieldapp.bench.seeding):
a seeded case reads, is found and counts like a registered one. If registration's sealing
path changes in a way the seeding's stand-in does not follow, this fails."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.bench import seeding
from fieldapp.cases import assessment, inputs
from fieldapp.cases import services as case_services
from fieldapp.cases.models import (
    Case,
    CaseBlindIndex,
    CaseFlag,
    CaseGroup,
    CaseKey,
    CaseTally,
)
from fieldapp.extensions import db
from fieldapp.stats.models import FlagTotal, GroupTotal
from tests.cases.conftest import case_data

SEEDED = 40


def _seed(worker) -> None:
    with seeding.statistics_totals_bulk_load():
        added = seeding.seed_cases(worker.id, worker.organization_id, have=0, target=SEEDED,
                                   batch=15, seed_value=3, workers=0, log=lambda _: None)
    assert added == SEEDED
    db.session.expire_all()


def test_seeded_cases_have_every_row_registration_writes(app, make):
    worker = make.user(Role.FIELD_WORKER, Role.CASE_MANAGER)
    _seed(worker)
    registered = case_services.register_case(
        worker, inputs.parse_case(case_data(), today=date.today()))
    db.session.commit()
    db.session.expire_all()
    cases = db.session.scalars(sa.select(Case).where(Case.id != registered.id)).all()
    assert len(cases) == SEEDED
    mine = db.session.get(Case, registered.id)

    def set_columns(case: Case) -> set[str]:
        return {c.key for c in Case.__table__.columns if getattr(case, c.key) is not None}

    always = set_columns(mine) - {"duplicate_reason_enc", "consent_note_enc"}
    for case in cases:
        # The columns registration always sets are set; names decrypt through the ORM.
        missing = always - set_columns(case) - {
            "document_type_enc", "document_number_enc", "phone_enc", "address_enc",
            "languages_enc", "notes_enc", "date_of_birth_enc", "age_years_enc"}
        assert not missing, missing
        assert case.given_name and case.family_name
        assert (case.date_of_birth is None) != (case.age_years is None)
        assert db.session.get(CaseKey, case.id) is not None
        # Flags and groups as the rule set raises them, with the copied columns; the
        # priority is the highest severity among them.
        for row in (*case.flags, *case.groups):
            assert (row.organization_id, row.registered_month, row.location_code,
                    row.record_key) == (case.organization_id, case.registered_month,
                                        case.location_code, case.record_key)
        assert all(f.reasons for f in case.flags)
        before = (case.priority, case.priority_rank)
        assessment.set_priority(case)
        assert (case.priority, case.priority_rank) == before
    db.session.rollback()
    # Found by the duplicate check (blind indexes), counted in the tally.
    with_document = next(c for c in cases if c.document_number)
    found = case_services.find_duplicates(worker, given_name=None, family_name=None,
                                          date_of_birth=None,
                                          document_number=with_document.document_number)
    assert with_document.id in {d.case.id for d in found}
    indexes = db.session.scalar(sa.select(sa.func.count()).select_from(CaseBlindIndex))
    assert indexes >= 2 * (SEEDED + 1)
    tally = db.session.scalar(sa.select(CaseTally.readable).where(
        CaseTally.organization_id == worker.organization_id))
    assert tally == SEEDED + 1
    # The reference sequence goes on after the seeded ones.
    assert mine.reference not in {c.reference for c in cases}


def test_seeded_flags_and_groups_are_in_the_statistics_totals(app, make):
    worker = make.user(Role.FIELD_WORKER)
    _seed(worker)
    flags = dict(((code, month, site), n) for code, month, site, n in db.session.execute(
        sa.select(CaseFlag.code, CaseFlag.registered_month, CaseFlag.location_code,
                  sa.func.count()).where(CaseFlag.active.is_(True),
                                         CaseFlag.dismissed_at.is_(None))
        .group_by(CaseFlag.code, CaseFlag.registered_month, CaseFlag.location_code)))
    totals = {(t.code, t.registered_month, t.location_code): t.n
              for t in db.session.scalars(sa.select(FlagTotal)) if t.n}
    assert flags and totals == flags
    groups = db.session.scalar(sa.select(sa.func.count()).select_from(CaseGroup))
    assert sum(t.n for t in db.session.scalars(sa.select(GroupTotal))) == groups
