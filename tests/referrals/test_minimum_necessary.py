"""Minimum necessary: a referral shares the flags it answers and no other, and the
consent screen says exactly what each organization will know."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from fieldapp.cases import assessment
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.risk.labels import flag_label
from tests.conftest import api_token, csrf_from, login

LOCALES = ("en", "es", "pt_BR")
OTHER_FLAGS = ("UNACCOMPANIED_CHILD", "TRAFFICKING_RISK", "INTERNATIONAL_PROTECTION_NEED")
# The girl's answers that the statelessness rule reads, and the other flags' evidence.
STATELESSNESS_ANSWERS = {"can_prove_nationality": False,
                         "born_outside_nationality_country": True, "birth_registered": True}
OTHER_EVIDENCE = ("accompaniment", "fear_of_return", "trafficking_indicators",
                  "documents_withheld")


@pytest.fixture
def nationality(network):
    data = services.parse_service({
        "name": "Nationality desk", "type": "legal_nationality",
        "organization_id": str(network["orgs"]["clinic"].id), "location_codes": ["CO"]})
    service = services.create_service(network["admin"], data)
    db.session.commit()
    return service


@pytest.fixture
def girl(network, register):
    """A girl travelling alone, with trafficking indicators, who cannot prove a
    nationality: four active flags."""
    worker = network["people"]["worker"]
    case = register(worker, given_name="Yuleidy", family_name="Marcano",
                    date_of_birth="2012-05-05")
    assessment.save_assessment(worker, case, {
        "accompaniment": "alone", "fear_of_return": True, "can_prove_nationality": False,
        "born_outside_nationality_country": True, "birth_registered": True,
        "trafficking_indicators": ["documents_withheld"]})
    db.session.commit()
    assert {f.code for f in case.flags if f.counts} == {"STATELESSNESS_RISK", *OTHER_FLAGS}
    return case


def _labels(app, codes) -> set[str]:
    with app.test_request_context():
        out = set()
        for locale in LOCALES:
            with force_locale(locale):
                out |= {flag_label(code) for code in codes}
        return out


def _mentions(text: str, app) -> set[str]:
    found = {code for code in OTHER_FLAGS if code in text}
    found |= {label for label in _labels(app, OTHER_FLAGS) if label in text}
    return found


@pytest.mark.parametrize("scope", [
    ["risk_summary"], ["risk_summary", "identity", "notes"], ["assessment_details"],
    ["risk_summary", "assessment_details"],
    ["identity", "contact", "documents", "risk_summary", "assessment_details", "notes"]])
def test_a_statelessness_referral_shares_no_other_flag(app, network, girl, nationality,
                                                       scope):
    referral = services.create_referral(
        network["people"]["worker"], girl, nationality, flags=["STATELESSNESS_RISK"],
        given_by="guardian", scope=scope, note=None)
    db.session.commit()
    provider = network["people"]["clinic_provider"]
    client = app.test_client()
    api = client.get(f"/api/v1/referrals/{referral.id}",
                     headers={"Authorization": f"Bearer {api_token(client, provider.email)}"})
    body = api.get_json()
    if "risk_summary" in scope:
        assert body["shared"]["risk_summary"] == {
            "flags": [{"code": "STATELESSNESS_RISK", "severity": "high"}], "urgency": "high"}
    if "assessment_details" in scope:
        # The answers its own rule reads, and none of the other flags' evidence.
        assert body["shared"]["assessment_details"] == {"answers": STATELESSNESS_ANSWERS}
    else:
        assert "assessment_details" not in body["shared"]
    assert [m["code"] for m in body["motivation"]] == ["STATELESSNESS_RISK"]
    assert _mentions(api.get_data(as_text=True), app) == set()
    assert [word for word in OTHER_EVIDENCE if word in api.get_data(as_text=True)] == []
    login(client, provider.email)
    for locale in LOCALES:
        html = client.get(f"/referrals/{referral.id}",
                          headers={"Accept-Language": locale.replace("_", "-")})
        assert html.status_code == 200
        text = html.get_data(as_text=True)
        assert any(label in text for label in _labels(app, ["STATELESSNESS_RISK"]))
        assert _mentions(text, app) == set(), locale
        assert [word for word in OTHER_EVIDENCE if word in text] == [], locale


def test_the_answers_shared_are_those_of_the_flags_each_referral_answers(
        app, network, girl, nationality):
    """Several flags: the union of their rules' answers. Several services in one step:
    each referral its own flags' answers only."""
    worker = network["people"]["worker"]
    both = services.create_referral(
        worker, girl, nationality, flags=["STATELESSNESS_RISK", "TRAFFICKING_RISK"],
        given_by="guardian", scope=["assessment_details"], note=None)
    db.session.commit()
    provider = network["people"]["clinic_provider"]
    shared = services.referral_to_dict(both, provider)["shared"]
    assert shared["assessment_details"]["answers"] == {
        **STATELESSNESS_ANSWERS, "trafficking_indicators": ["documents_withheld"]}
    nationality_desk, child_office = services.create_referrals(
        worker, girl, [(nationality, ["STATELESSNESS_RISK"]),
                       (network["services"]["child"], ["UNACCOMPANIED_CHILD"])],
        given_by="guardian", scope=["risk_summary", "assessment_details"], note=None)
    db.session.commit()
    assert services.referral_to_dict(nationality_desk, provider)["shared"][
        "assessment_details"] == {"answers": STATELESSNESS_ANSWERS}
    assert services.referral_to_dict(child_office, network["people"]["child_provider"])[
        "shared"]["assessment_details"] == {"answers": {"accompaniment": "alone"}}


def test_a_flag_added_one_by_one_is_shared(app, network, girl, nationality):
    referral = services.create_referral(
        network["people"]["worker"], girl, nationality,
        flags=["STATELESSNESS_RISK", "TRAFFICKING_RISK"], given_by="guardian",
        scope=["risk_summary"], note=None)
    db.session.commit()
    shared = services.referral_to_dict(referral, network["people"]["clinic_provider"])["shared"]
    assert {f["code"] for f in shared["risk_summary"]["flags"]} == {"STATELESSNESS_RISK",
                                                                    "TRAFFICKING_RISK"}
    assert shared["risk_summary"]["urgency"] == "urgent"
    assert set(shared["risk_summary"]) == {"flags", "urgency"}  # no groups, place, age


def test_the_form_ticks_what_each_service_answers_and_the_consent_screen_says_it(
        app, network, girl, nationality):
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    en = {"Accept-Language": "en"}
    page = client.get(f"/cases/{girl.id}/refer", headers=en)
    html = page.get_data(as_text=True)
    sid = str(nationality.id)

    def box(value):
        found = re.search(r'<input[^>]*value="' + re.escape(value) + r'"[^>]*>', html)
        assert found, value
        return found.group(0)

    assert "checked" in box(f"{sid}:STATELESSNESS_RISK")
    for code in OTHER_FLAGS:  # offered one by one, each with its label, not ticked
        assert "checked" not in box(f"{sid}:{code}")
    assert html.count(f'value="{sid}:') == 4
    consent = client.post(f"/cases/{girl.id}/refer", headers=en, data={
        "csrf_token": csrf_from(html), "service_id": sid,
        "flags": [f"{sid}:STATELESSNESS_RISK"], "given_by": "guardian",
        "scope": ["risk_summary", "contact"]})
    assert consent.status_code == 200
    said = consent.get_data(as_text=True)
    assert "Read this to the person" in said
    assert "Clinic, for Nationality desk, will know:" in said
    assert "a summary of these risks: Risk of statelessness; and how urgent it is: High" in said
    assert "your phone number and your address" in said
    assert "your name" not in said  # identity was not consented
    assert _mentions(said, app) == set()
    answers = client.post(f"/cases/{girl.id}/refer", headers=en, data={
        "csrf_token": csrf_from(html), "service_id": sid,
        "flags": [f"{sid}:STATELESSNESS_RISK"], "given_by": "guardian",
        "scope": ["assessment_details"]})
    said = answers.get_data(as_text=True)
    assert "only your answers to the questions about the risks this referral is for" in said
    assert "the risks you face" not in said
