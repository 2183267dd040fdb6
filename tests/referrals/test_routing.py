"""Suggestions: every default rule routes; eligibility, coverage, capacity, activity and
ranking as SPEC §5 says; unmet needs reported."""

from __future__ import annotations

import pytest

from fieldapp.accounts.roles import Role
from fieldapp.cases import assessment
from fieldapp.extensions import db
from fieldapp.referrals import services, vocab

# One answer set per flag that makes exactly that flag fire (plus age/sex).
TRIGGERS = {
    "UNACCOMPANIED_CHILD": ({"accompaniment": "alone"}, "2012-01-01", "female"),
    "SEPARATED_CHILD": ({"accompaniment": "other_adult_relative"}, "2012-01-01", "female"),
    "CHILD_WITHOUT_DOCUMENTS": ({"document_status": "none"}, "2012-01-01", "female"),
    "TRAFFICKING_RISK": ({"trafficking_indicators": ["debt_bondage"]}, "1990-01-01", "male"),
    "GBV_SURVIVOR": ({"gbv": "past"}, "1990-01-01", "female"),
    "STATELESSNESS_RISK": ({"can_prove_nationality": False}, "1990-01-01", "male"),
    "DISABILITY_AT_RISK": ({"washington_group": {"walking": "cannot"}}, "1990-01-01", "male"),
    "OLDER_PERSON_AT_RISK": ({"without_support": True}, "1950-01-01", "male"),
    "LGBTIQ_AT_RISK": ({"lgbtiq": True, "lgbtiq_violence_or_discrimination": True},
                       "1990-01-01", "male"),
    "WOMAN_AT_RISK": ({"pregnant_or_lactating": True}, "1990-01-01", "female"),
    "INTERPRETER_NEEDED": ({"ethnicity": "indigenous", "speaks_host_language": False},
                           "1990-01-01", "male"),
    "INTERNATIONAL_PROTECTION_NEED": ({"fear_of_return": True}, "1990-01-01", "male"),
    "REFOULEMENT_RISK": ({"detention_or_deportation_threat": True}, "1990-01-01", "male"),
    "FAMILY_SEPARATION": ({"family_member_missing": True}, "1990-01-01", "male"),
    "SERIOUS_MEDICAL_CONDITION": ({"serious_medical_condition": True}, "1990-01-01", "male"),
    "DEFENDER_AT_RISK": ({"human_rights_defender_at_risk": True}, "1990-01-01", "male"),
    "IRREGULAR_STATUS": ({"regular_status": "irregular"}, "1990-01-01", "male"),
}


def test_triggers_cover_every_flag(app):
    assert set(TRIGGERS) == set(vocab.DEFAULT_ROUTING) == set(assessment.rule_set().flag_codes())


@pytest.mark.parametrize("flag", sorted(TRIGGERS))
def test_each_default_rule_routes_to_a_matching_service(app, make, register, flag):
    answers, born, sex = TRIGGERS[flag]
    org = make.org()
    worker = make.user(Role.FIELD_WORKER, org=org)
    provider_org = make.org()
    admin = make.user(Role.ADMIN)
    first_type = vocab.DEFAULT_ROUTING[flag][0]
    service = services.create_service(admin, services.parse_service({
        "name": f"{first_type} here", "type": first_type, "organization_id": str(provider_org.id),
        "location_codes": ["CO-NSA-CUCUTA"]}))
    case = register(worker, date_of_birth=born, sex=sex)
    assessment.save_assessment(worker, case, answers)
    db.session.commit()
    result = services.suggest(case)
    assert flag in {f.code for f in case.flags if f.counts}
    matched = [s for s in result.suggestions if s.service.id == service.id]
    assert matched and flag in matched[0].flags
    assert flag not in {f for f, _ in result.unmet_needs}


def test_eligibility_coverage_capacity_and_activity_exclude(network, child_case):
    svc = network["services"]
    admin = network["admin"]
    names = lambda: [s.service.name for s in services.suggest(child_case).suggestions]  # noqa: E731
    assert "Child protection NSA" in names()
    services.update_service(admin, svc["child"], services.parse_service(
        {"max_age": 12}, current=svc["child"]))  # the child is 14-15: too old now
    assert "Child protection NSA" not in names()
    services.update_service(admin, svc["child"], services.parse_service(
        {"max_age": None, "sexes": ["male"]}, current=svc["child"]))
    assert "Child protection NSA" not in names()
    services.update_service(admin, svc["child"], services.parse_service(
        {"sexes": [], "location_codes": ["EC"]}, current=svc["child"]))
    assert "Child protection NSA" not in names()
    services.update_service(admin, svc["child"], services.parse_service(
        {"location_codes": ["CO-NSA"], "capacity": "full"}, current=svc["child"]))
    assert "Child protection NSA" not in names()
    services.update_service(admin, svc["child"], services.parse_service(
        {"capacity": "open", "active": False}, current=svc["child"]))
    assert "Child protection NSA" not in names()
    services.update_service(admin, svc["child"], services.parse_service(
        {"active": True}, current=svc["child"]))
    assert "Child protection NSA" in names()


def test_ranking_and_reasons(network, child_case):
    result = services.suggest(child_case)
    order = [s.service.name for s in result.suggestions]
    # urgent UNACCOMPANIED_CHILD first: child_protection (rule position 0), then
    # family_tracing (1), then legal_asylum (2); the high INTERNATIONAL_PROTECTION_NEED
    # also asks for legal_asylum but ranks by the better (urgent) match.
    assert order == ["Child protection NSA", "Family tracing Cúcuta", "Asylum clinic"]
    asylum = result.suggestions[2]
    assert asylum.flags == ["UNACCOMPANIED_CHILD", "INTERNATIONAL_PROTECTION_NEED"]
    first = result.suggestions[0]
    assert first.proximity == 2 and first.shared_language == "es"
    assert result.unmet_needs == []


def test_proximity_capacity_and_language_break_ties(app, make, register):
    org, provider = make.org(), make.org()
    worker = make.user(Role.FIELD_WORKER, org=org)
    admin = make.user(Role.ADMIN)

    def add(name, places, capacity="open", languages=()):
        return services.create_service(admin, services.parse_service({
            "name": name, "type": "health", "organization_id": str(provider.id),
            "location_codes": places, "capacity": capacity, "languages": list(languages)}))

    add("Country-wide", ["CO"])
    add("Division, limited", ["CO-NSA"], capacity="limited")
    add("Division, open", ["CO-NSA"])
    add("Division, open, Spanish", ["CO-NSA"], languages=["es"])
    add("Same site", ["CO-NSA-CUCUTA"], capacity="limited")
    case = register(worker, date_of_birth="1980-01-01")
    assessment.save_assessment(worker, case, {"serious_medical_condition": True})
    order = [s.service.name for s in services.suggest(case).suggestions]
    assert order == ["Same site", "Division, open, Spanish", "Division, open",
                     "Division, limited", "Country-wide"]


def test_unmet_needs(network, register):
    worker = network["people"]["worker"]
    case = register(worker, date_of_birth="1980-01-01")
    assessment.save_assessment(worker, case, {"human_rights_defender_at_risk": True,
                                              "serious_medical_condition": True})
    result = services.suggest(case)
    assert ("DEFENDER_AT_RISK", ["defender_protection", "legal_asylum"]) not in \
        result.unmet_needs  # the clinic's asylum service covers CO
    assessment.save_assessment(worker, case, {"ethnicity": "indigenous",
                                              "speaks_host_language": False})
    result = services.suggest(case)
    assert result.unmet_needs == [("INTERPRETER_NEEDED", ["interpretation",
                                                          "indigenous_support"])]


def test_routing_rules_are_editable_and_audited(network, child_case):
    admin = network["admin"]
    services.set_routing(admin, "UNACCOMPANIED_CHILD", ["legal_asylum"])
    db.session.commit()
    names = [s.service.name for s in services.suggest(child_case).suggestions]
    assert "Child protection NSA" not in names and names[0] == "Asylum clinic"
    import sqlalchemy as sa

    from fieldapp.audit.models import AuditEvent
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "routing.changed"))
    assert '"after":["legal_asylum"]' in event.details
