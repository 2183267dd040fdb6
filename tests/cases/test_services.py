"""Case services: registration, references, search, duplicates, editing, erasure, visibility."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldapp import authz
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases import inputs, services
from fieldapp.cases.models import Case, CaseBlindIndex, CaseKey
from fieldapp.crypto import DecryptionError
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from tests.cases.conftest import case_data


def test_registration_seals_fields_and_wraps_a_data_key(make, register):
    worker = make.user(Role.FIELD_WORKER)
    case = register(worker)
    assert re.fullmatch(r"CO-NSA-\d{2}-000001", case.reference)
    row = db.session.execute(sa.text(
        "SELECT given_name_enc, family_name_enc FROM cases WHERE id = :id"),
        {"id": case.id.hex if db.engine.dialect.name == "sqlite" else case.id}).one()
    assert b"Mar" not in row.given_name_enc and row.given_name_enc[:1] == b"\x01"
    key = db.session.get(CaseKey, case.id)
    assert key.kek_id.startswith("kek-") and len(key.wrapped) == 1 + 12 + 32 + 16
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert (fresh.given_name, fresh.family_name, fresh.date_of_birth) == (
        "María José", "Pérez Rojas", "2011-04-02")
    assert fresh.age_band == "12-17" and fresh.sex == "female"
    kinds = sorted(db.session.scalars(sa.select(CaseBlindIndex.kind).where(
        CaseBlindIndex.case_id == case.id)))
    assert kinds == ["document", "name", "name_dob"]


def test_references_count_per_division_and_year(make, register):
    worker = make.user(Role.FIELD_WORKER)
    a = register(worker)
    b = register(worker, location_code="CO-NSA-VILLADELROSARIO", given_name="Otra")
    c = register(worker, location_code="EC-C-TULCAN", given_name="Tercera")
    assert a.reference.endswith("-000001") and b.reference.endswith("-000002")
    assert c.reference.startswith("EC-C-") and c.reference.endswith("-000001")


def test_validation_errors_name_the_fields(app):
    with pytest.raises(ValidationFailed) as info:
        inputs.parse_case(case_data(location_code="XX-NOWHERE", stage="lost", sex="x",
                                    consent={"given_by": "self"}, date_of_birth="2999-01-01"),
                          today=date.today())
    assert {"location_code", "stage", "sex", "consent.data_processing",
            "date_of_birth"} <= set(info.value.fields)


def test_age_from_age_years_when_date_unknown(make, register):
    case = register(make.user(), date_of_birth=None, age_years=67)
    assert case.age_band == "60+" and case.date_of_birth is None and case.age_years == "67"


@pytest.mark.parametrize("query", ["maria jose perez rojas", "MARÍA  JOSÉ PÉREZ ROJAS",
                                   "María José Pérez Rojas", "v-12345678", "V12345678"])
def test_search_finds_differently_accented_and_cased(make, register, query):
    worker = make.user()
    case = register(worker)
    assert [c.id for c in services.search_cases(worker, query)] == [case.id]


@pytest.mark.parametrize("query", ["Maria Jose Perez", "Maria Jose Perez Rojass",
                                   "V1234567", "Pérez Rojas María José"])
def test_search_near_misses_do_not_match(make, register, query):
    worker = make.user()
    register(worker)
    assert services.search_cases(worker, query) == []


def test_search_by_reference_and_audit_has_no_query_text(make, register):
    worker = make.user()
    case = register(worker)
    assert services.search_cases(worker, case.reference.lower()) == [case]
    services.search_cases(worker, "María José Pérez Rojas")
    db.session.commit()
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "cases.searched")).all()
    assert len(events) == 2
    assert all("Mar" not in e.details and "rez" not in e.details for e in events)


def test_truncated_index_collisions_are_filtered_by_decryption(app, make, register):
    worker = make.user()
    case = register(worker)
    # Force a collision: another case whose name index has the same value.
    other = register(worker, given_name="Completely", family_name="Different",
                     document={"type": "passport", "number": "ZZ999"})
    name_value = db.session.scalar(sa.select(CaseBlindIndex.value).where(
        CaseBlindIndex.case_id == case.id, CaseBlindIndex.kind == "name"))
    db.session.execute(sa.update(CaseBlindIndex).where(
        CaseBlindIndex.case_id == other.id, CaseBlindIndex.kind == "name").values(
        value=name_value))
    db.session.commit()
    assert services.search_cases(worker, "María José Pérez Rojas") == [case]


def test_duplicate_detection(make, register):
    worker = make.user()
    case = register(worker)
    found = services.find_duplicates(worker, given_name="maria jose", family_name="PEREZ ROJAS",
                                     date_of_birth="2011-04-02", document_number=None)
    assert [(d.case.id, d.match) for d in found] == [(case.id, ["name_dob", "name"])]
    by_doc = services.find_duplicates(worker, given_name="X", family_name="Y",
                                      date_of_birth=None, document_number="v 12345678")
    assert [d.match for d in by_doc] == [["document"]]
    none = services.find_duplicates(worker, given_name="Maria", family_name="Perez",
                                    date_of_birth=None, document_number="V999")
    assert none == []


def test_visibility_rules(make, register):
    org, other_org = make.org(), make.org()
    owner = make.user(Role.FIELD_WORKER, org=org)
    colleague = make.user(Role.FIELD_WORKER, org=org)
    manager = make.user(Role.CASE_MANAGER, org=org)
    outsider = make.user(Role.CASE_MANAGER, org=other_org)
    provider = make.user(Role.SERVICE_PROVIDER, org=org)
    case = register(owner)
    assert authz.can(owner, "cases.view", case)
    assert not authz.can(colleague, "cases.view", case)
    assert authz.can(manager, "cases.view", case)
    assert not authz.can(outsider, "cases.view", case)
    assert not authz.can(provider, "cases.view", case)
    assert services.search_cases(colleague, "V12345678") == []
    assert services.find_duplicates(outsider, given_name=None, family_name=None,
                                    date_of_birth=None, document_number="V12345678") == []
    services.reassign_case(manager, case, assignee=colleague)
    db.session.commit()
    assert authz.can(colleague, "cases.view", case)
    assert services.list_cases(colleague, services.CaseFilters())[1] == 1


def test_update_with_stale_version_changes_nothing(make, register):
    worker = make.user()
    case = register(worker)
    edit = inputs.parse_case(case_data(phone="+57 311 111 1111"), today=date.today(),
                             require_consent=False)
    assert services.update_case(worker, case, edit, expected_version=1) == ["phone"]
    db.session.commit()
    assert case.version == 2
    stale = inputs.parse_case(case_data(notes="written on an old copy"), today=date.today(),
                              require_consent=False)
    with pytest.raises(Conflict):
        services.update_case(worker, case, stale, expected_version=1)
    db.session.rollback()
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert fresh.notes == "Travelling with an aunt." and fresh.phone == "+57 311 111 1111"


def test_concurrent_flush_is_caught_by_the_version_column(app, make, register):
    """Request A has read version 1; request B saves in between; A's UPDATE finds no
    row at version 1 and nothing of B's is overwritten."""
    from sqlalchemy.orm import Session

    worker = make.user()
    case = register(worker)
    case_id = case.id
    session = db.session()
    session.expire_on_commit = False
    try:
        case = session.get(Case, case_id)
        assert case.version == 1 and case.given_name and case.household == []
        session.commit()  # A's read is done; it keeps version 1 in memory
        with Session(db.engine) as other:  # B
            twin = other.get(Case, case_id)
            twin.stage = "transit"
            other.commit()
        edit = inputs.parse_case(case_data(notes="mine"), today=date.today(),
                                 require_consent=False)
        with pytest.raises(Conflict):
            services.update_case(worker, case, edit, expected_version=1)
    finally:
        session.expire_on_commit = True
    db.session.rollback()
    db.session.expire_all()
    fresh = db.session.get(Case, case_id)
    assert fresh.stage == "transit" and fresh.notes == "Travelling with an aunt."
    assert fresh.version == 2


def test_close_reopen(make, register):
    manager = make.user(Role.CASE_MANAGER)
    case = register(manager)
    with pytest.raises(ValidationFailed):
        services.close_case(manager, case, reason="  ")
    services.close_case(manager, case, reason="Moved on to Lima")
    db.session.commit()
    assert case.status == "closed" and case.closure_reason == "Moved on to Lima"
    with pytest.raises(Conflict):
        services.close_case(manager, case, reason="again")
    services.reopen_case(manager, case)
    db.session.commit()
    assert case.status == "open" and case.closed_at is None


def _clear_counts() -> list[tuple]:
    return db.session.execute(sa.select(Case.sex, Case.age_band, Case.location_code,
                                        sa.func.count()).group_by(
        Case.sex, Case.age_band, Case.location_code).order_by(Case.sex)).all()


def test_erase_shreds_the_case_but_counts_survive(make, register):
    manager = make.user(Role.CASE_MANAGER)
    case = register(manager, household=[{"given_name": "Hijo", "sex": "male",
                                         "relationship": "child",
                                         "date_of_birth": "2020-01-01"}])
    register(manager, given_name="Someone", family_name="Else", document=None)
    before = _clear_counts()
    services.erase_case(case, actor=manager)
    db.session.commit()
    db.session.expire_all()
    erased = db.session.get(Case, case.id)
    assert erased.erased and erased.key is None
    assert db.session.get(CaseKey, case.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseBlindIndex).where(
        CaseBlindIndex.case_id == case.id)) == 0
    with pytest.raises(DecryptionError):
        erased.data_key()
    assert not authz.can(manager, "cases.view", erased)
    assert services.search_cases(manager, "María José Pérez Rojas") == []
    assert services.search_cases(manager, erased.reference) == []
    assert _clear_counts() == before


def test_purge_erases_only_cases_closed_before_the_cutoff(make, register):
    manager = make.user(Role.CASE_MANAGER)
    old, recent, still_open = (register(manager, given_name=n) for n in ("Old", "Recent", "Open"))
    services.close_case(manager, old, reason="done")
    services.close_case(manager, recent, reason="done")
    old.closed_at = old.closed_at - timedelta(days=400)
    db.session.commit()
    cutoff = date.today() - timedelta(days=365)
    assert services.purge_closed_before(cutoff) == 1
    db.session.expire_all()
    assert db.session.get(Case, old.id).erased
    assert not db.session.get(Case, recent.id).erased
    assert not db.session.get(Case, still_open.id).erased


def test_swapped_ciphertexts_fail_loudly(make, register):
    worker = make.user()
    a = register(worker)
    b = register(worker, given_name="Otra", family_name="Persona")
    # Between columns of one row.
    a.given_name_enc, a.family_name_enc = a.family_name_enc, a.given_name_enc
    with pytest.raises(DecryptionError):
        _ = a.given_name
    # Between rows (each case has its own data key; even with one key the AAD differs).
    b.notes_enc = a.notes_enc
    with pytest.raises(DecryptionError):
        _ = b.notes
    db.session.rollback()


def test_tally_matches_the_readable_cases_of_the_organization(make, register):
    from fieldapp.cases.models import CaseTally

    manager = make.user(Role.CASE_MANAGER)
    cases = [register(manager, given_name=f"P{i}") for i in range(3)]
    services.erase_case(cases[0], actor=manager)
    db.session.commit()
    tally = db.session.get(CaseTally, manager.organization_id).readable
    listed, total = services.list_cases(manager, services.CaseFilters())
    assert tally == total == len(listed) == 2
    filtered, filtered_total = services.list_cases(manager, services.CaseFilters(stage="border"))
    assert filtered_total == 2
