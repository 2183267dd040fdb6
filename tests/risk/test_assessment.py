"""Assessments on real cases: stored sealed, flags recomputed, dismissals respected."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases import assessment, inputs, services
from fieldapp.cases.models import Case, CaseFlag
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from tests.cases.conftest import case_data


def _flags(case: Case) -> dict[str, str]:
    return {f.code: f.severity for f in case.flags if f.counts}


def test_registration_derives_groups_and_flags(make, register):
    worker = make.user()
    case = register(worker)  # a 14-15 year old girl, no assessment yet
    assert {g.code for g in case.groups} == {"WOMEN_GIRLS", "CHILDREN"}
    assert case.priority == "none" and _flags(case) == {}


def test_assessment_is_sealed_and_sets_priority(make, register):
    worker = make.user()
    case = register(worker)
    result = assessment.save_assessment(worker, case, {"accompaniment": "alone",
                                                       "gbv": "past"})
    db.session.commit()
    assert result.priority == "urgent" and case.priority == "urgent" and case.priority_rank == 4
    assert _flags(case) == {"UNACCOMPANIED_CHILD": "urgent", "GBV_SURVIVOR": "high"}
    raw = db.session.execute(sa.select(Case.assessment_enc).where(Case.id == case.id)).scalar()
    assert b"alone" not in raw and b"gbv" not in raw
    flag = next(f for f in case.flags if f.code == "UNACCOMPANIED_CHILD")
    assert flag.source == "rule" and flag.rule_set_version == assessment.rule_set().version
    assert b"alone" not in flag.reasons_enc
    events = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "case.assessed" in events and events.count("flag.raised") == 2


def test_invalid_answers_are_422_and_change_nothing(make, register):
    worker = make.user()
    case = register(worker)
    with pytest.raises(ValidationFailed) as info:
        assessment.save_assessment(worker, case, {"accompaniment": "a dog"})
    assert "answers.accompaniment" in info.value.fields
    db.session.rollback()
    assert db.session.get(Case, case.id).assessment is None


def test_dismissed_flag_stays_dismissed_unless_its_reasons_change(make, register):
    worker = make.user()
    case = register(worker, date_of_birth="1990-01-01", sex="female")
    assessment.save_assessment(worker, case, {"gbv": "past"})
    assessment.dismiss_flag(worker, case, code="GBV_SURVIVOR", reason="Recorded by mistake")
    db.session.commit()
    assert case.priority == "none"
    assessment.save_assessment(worker, case, {"gbv": "past", "fear_of_return": False})
    db.session.commit()
    assert "GBV_SURVIVOR" not in _flags(case)  # same reasons: still dismissed
    assessment.save_assessment(worker, case, {"gbv": "recent"})
    db.session.commit()
    assert _flags(case)["GBV_SURVIVOR"] == "urgent"  # new reasons: back
    row = next(f for f in case.flags if f.code == "GBV_SURVIVOR")
    assert row.dismissed_at is None and row.dismissal_reason is None


def test_flag_clears_when_answer_changes(make, register):
    worker = make.user()
    case = register(worker, date_of_birth="1990-01-01")
    assessment.save_assessment(worker, case, {"fear_of_return": True})
    assert _flags(case) == {"INTERNATIONAL_PROTECTION_NEED": "high"}
    assessment.save_assessment(worker, case, {"fear_of_return": False})
    assert _flags(case) == {} and case.priority == "none"


def test_child_who_turns_18_loses_child_flags_on_reassessment(make, register):
    worker = make.user()
    born = date.today() - timedelta(days=18 * 365 - 30)  # turns 18 within about a month
    case = register(worker, date_of_birth=born.isoformat())
    assessment.save_assessment(worker, case, {"accompaniment": "alone"})
    assert "UNACCOMPANIED_CHILD" in _flags(case)
    later = datetime.now(UTC) + timedelta(days=60)
    assessment.save_assessment(worker, case, {"accompaniment": "alone"}, now=later)
    assert "UNACCOMPANIED_CHILD" not in _flags(case)
    assert "CHILDREN" not in {g.code for g in case.groups}


def test_age_years_counts_the_years_since_registration(make, register):
    worker = make.user()
    case = register(worker, date_of_birth=None, age_years=59)
    case.registered_on = date.today() - timedelta(days=400)
    assessment.save_assessment(worker, case, {"without_support": True})
    assert _flags(case) == {"OLDER_PERSON_AT_RISK": "high"}


def test_flags_recomputed_when_date_of_birth_or_sex_changes(make, register):
    worker = make.user()
    case = register(worker, date_of_birth="1990-01-01", sex="male")
    assessment.save_assessment(worker, case, {"pregnant_or_lactating": True})
    assert _flags(case) == {}
    data = inputs.parse_case(case_data(date_of_birth="1990-01-01", sex="female"),
                             today=date.today(), require_consent=False)
    services.update_case(worker, case, data, expected_version=case.version)
    db.session.commit()
    assert _flags(case) == {"WOMAN_AT_RISK": "medium"}
    data = inputs.parse_case(case_data(date_of_birth="2012-01-01", sex="female"),
                             today=date.today(), require_consent=False)
    services.update_case(worker, case, data, expected_version=case.version)
    assert _flags(case) == {} and "CHILDREN" in {g.code for g in case.groups}


def test_manual_flags(make, register):
    worker = make.user()
    case = register(worker, date_of_birth="1990-01-01")
    with pytest.raises(ValidationFailed):
        assessment.add_manual_flag(worker, case, code="DEFENDER_AT_RISK", reason=" ")
    with pytest.raises(ValidationFailed):
        assessment.add_manual_flag(worker, case, code="NOT_A_FLAG", reason="x")
    row = assessment.add_manual_flag(worker, case, code="DEFENDER_AT_RISK",
                                     reason="Leads a community kitchen; threatened")
    assert row.severity == "high" and row.source == "manual" and case.priority == "high"
    with pytest.raises(Conflict):
        assessment.add_manual_flag(worker, case, code="DEFENDER_AT_RISK", reason="again")
    urgent = assessment.add_manual_flag(worker, case, code="TRAFFICKING_RISK",
                                        reason="Told us about a debt", severity="urgent")
    assert urgent.severity == "urgent" and case.priority == "urgent"
    # The rule set leaves people's flags alone.
    assessment.save_assessment(worker, case, {"human_rights_defender_at_risk": False})
    assert _flags(case) == {"DEFENDER_AT_RISK": "high", "TRAFFICKING_RISK": "urgent"}
    db.session.commit()
    assert b"kitchen" not in db.session.scalar(sa.select(CaseFlag.manual_reason_enc).where(
        CaseFlag.code == "DEFENDER_AT_RISK"))
    with pytest.raises(assessment.FlagNotFound):
        assessment.dismiss_flag(worker, case, code="GBV_SURVIVOR", reason="x")


def test_lists_sort_urgent_first_and_filter_by_flag(make, register):
    manager = make.user(Role.CASE_MANAGER)
    calm = register(manager, given_name="Calm", date_of_birth="1990-01-01")
    urgent = register(manager, given_name="Urgent", date_of_birth="1990-01-01")
    high = register(manager, given_name="High", date_of_birth="1990-01-01")
    assessment.save_assessment(manager, urgent, {"detention_or_deportation_threat": True})
    assessment.save_assessment(manager, high, {"fear_of_return": True})
    db.session.commit()
    cases, _ = services.list_cases(manager, services.CaseFilters())
    assert [c.id for c in cases] == [urgent.id, high.id, calm.id]
    only, total = services.list_cases(manager, services.CaseFilters(flag="REFOULEMENT_RISK"))
    assert total == 1 and only[0].id == urgent.id
    by_priority, _ = services.list_cases(manager, services.CaseFilters(priority="high"))
    assert [c.id for c in by_priority] == [high.id]


def test_an_unknown_age_is_not_a_child(make, register):
    """A case that came by transfer without its identity group has no date of birth and
    no age: saving answers must not read that as age 0 (a child travelling alone), nor
    as an adult; only what holds at every age counts."""
    worker = make.user()
    case = register(worker)
    case.date_of_birth = None
    case.age_years = None
    assert not assessment.age_known(case)
    result = assessment.save_assessment(worker, case, {"accompaniment": "alone",
                                                       "gbv": "past"})
    db.session.commit()
    assert "UNACCOMPANIED_CHILD" not in _flags(case)
    assert _flags(case).get("GBV_SURVIVOR") == "high"
    assert "CHILDREN" not in {g.code for g in case.groups}
    assert "OLDER" not in {g.code for g in case.groups}
    assert result.priority == "high"
