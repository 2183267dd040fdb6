"""The top of a case page: urgent and high flags first, one next step, the case's
referrals with their status in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fieldapp import clock
from fieldapp.accounts.roles import Role
from fieldapp.cases import assessment
from fieldapp.cases import services as case_services
from fieldapp.extensions import db
from fieldapp.referrals import case_overview, services
from fieldapp.referrals.models import Referral
from tests.conftest import login

EN = {"Accept-Language": "en"}


def _send(network, case, service, flags, *, now=None):
    referral = services.create_referral(
        network["people"]["worker"], case, network["services"][service], flags=list(flags),
        given_by="guardian", scope=["risk_summary"], note=None, now=now)
    db.session.commit()
    return referral


def _refer_everything(network, case, *, now=None):
    """One referral per suggested service, so that no served flag is left waiting."""
    sent, covered = [], set()
    by_service = {s.id: name for name, s in network["services"].items()}
    for suggestion in services.suggest(case).suggestions:
        flags = [f for f in suggestion.flags if f not in covered]
        if flags:
            sent.append(_send(network, case, by_service[suggestion.service.id], flags, now=now))
            covered.update(flags)
    return sent


def _step(case, **kwargs):
    return case_overview.next_step(case, case_overview.referrals_of(case), **kwargs)


# -- flags by severity ---------------------------------------------------------------------

def test_flags_by_severity_then_time():
    t = "2026-01-0{}T10:00:00+00:00".format
    flags = [{"code": "A", "severity": "low", "set_at": t(1)},
             {"code": "B", "severity": "medium", "set_at": t(2)},
             {"code": "C", "severity": "urgent", "set_at": t(5)},
             {"code": "D", "severity": "high", "set_at": t(3)},
             {"code": "E", "severity": "urgent", "set_at": t(4)},
             {"code": "F", "severity": "medium", "set_at": t(1)}]
    assert [f["code"] for f in case_overview.flags_by_severity(flags)] == \
        ["E", "C", "D", "F", "B", "A"]


def test_the_page_shows_urgent_and_high_first_then_next_step_then_referrals(
        app, network, child_case):
    worker = network["people"]["worker"]
    base = clock.now()
    for code, severity, minutes in (("DISABILITY_AT_RISK", "low", 1),
                                    ("SERIOUS_MEDICAL_CONDITION", "medium", 2),
                                    ("GBV_SURVIVOR", "high", 3),
                                    ("TRAFFICKING_RISK", "urgent", 4)):
        assessment.add_manual_flag(worker, child_case, code=code, reason="Observed",
                                   severity=severity, now=base + timedelta(minutes=minutes))
    db.session.commit()
    referral = _send(network, child_case, "child", ["UNACCOMPANIED_CHILD"])
    client = app.test_client()
    login(client, worker.email)
    html = client.get(f"/cases/{child_case.id}", headers=EN).get_data(as_text=True)
    rows = [(m.start(), m.group(1)) for m in re.finditer(r'class="flag flag-(\w+)"', html)]
    severities = [s for _, s in rows]
    rank = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
    assert severities == sorted(severities, key=rank.__getitem__)
    assert {"urgent", "high", "medium", "low"} <= set(severities)
    last_top = max(pos for pos, s in rows if s in ("urgent", "high"))
    first_other = min(pos for pos, s in rows if s in ("medium", "low"))
    next_at, referrals_at = html.index('id="next-h"'), html.index('id="referrals-h"')
    assert last_top < next_at < referrals_at < first_other
    # Within the urgent flags, the earliest raised comes first.
    codes = re.findall(r'data-severity="urgent">.*?id="dismiss-(\w+)"', html, re.S)
    assert codes.index("UNACCOMPANIED_CHILD") < codes.index("TRAFFICKING_RISK")
    section = html[referrals_at:first_other]
    assert f"/referrals/{referral.id}" in section
    assert referral.reference in section and "Child Office" in section
    assert "Sent on" in section and "acknowledge before" in section


# -- the next step -------------------------------------------------------------------------

def test_next_step_is_the_assessment_until_one_is_saved(network, register):
    case = register(network["people"]["worker"])
    assert case.assessed_at is None
    step = _step(case)
    assert step.kind == "assess" and step.referral is None


def test_next_step_is_the_assessment_while_questions_are_open(network, child_case):
    _refer_everything(network, child_case)  # no urgent or high flag is left waiting
    # A medium flag a service serves waits for the assessment to be finished.
    assessment.add_manual_flag(network["people"]["worker"], child_case,
                               code="SERIOUS_MEDICAL_CONDITION", reason="Asthma",
                               severity="medium")
    db.session.commit()
    step = _step(child_case, open_questions=("fear_of_return", "accompaniment"))
    assert step.kind == "assess" and step.open_questions == ("fear_of_return",
                                                             "accompaniment")
    step = _step(child_case, open_questions=())
    assert step.kind == "refer" and step.flags == ("SERIOUS_MEDICAL_CONDITION",)


def test_an_urgent_served_flag_is_referred_before_open_questions(network, child_case):
    """An unaccompanied child should not wait for 18 more answers to be referred."""
    questions = tuple(f"q{i}" for i in range(18))
    step = _step(child_case, open_questions=questions)
    assert step.kind == "refer" and step.flags[0] == "UNACCOMPANIED_CHILD"
    assert step.open_questions == questions and step.assessment_pending


def test_an_urgent_served_flag_comes_before_a_first_assessment(network, register):
    worker = network["people"]["worker"]
    case = register(worker, date_of_birth="2015-03-03")
    assessment.add_manual_flag(worker, case, code="UNACCOMPANIED_CHILD",
                               reason="Alone at the crossing", severity="urgent")
    db.session.commit()
    assert case.assessed_at is None
    step = _step(case)
    assert step.kind == "refer" and "UNACCOMPANIED_CHILD" in step.flags
    assert step.assessment_pending


def test_the_page_offers_the_referral_first_and_the_assessment_second(
        app, network, child_case, monkeypatch):
    monkeypatch.setattr(case_overview.assessment, "evaluate",
                        lambda case: type("A", (), {"open_questions": ("fear_of_return",) * 18})())
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/cases/{child_case.id}", headers=EN).get_data(as_text=True)
    step = html[html.index('id="next-h"'):html.index('id="referrals-h"')]
    refer = step.index(f'href="/cases/{child_case.id}/refer"')
    assess = step.index(f'href="/cases/{child_case.id}/assessment"')
    assert refer < assess
    assert "18 questions are still open" in step
    # The referrals section has its own way to refer, even before any referral exists.
    section = html[html.index('id="referrals-h"'):html.index('id="flags-h"')]
    assert "No referrals yet." in section
    assert f'href="/cases/{child_case.id}/refer"' in section


def test_no_refer_link_once_consent_is_withdrawn(app, network, child_case):
    case_services.withdraw_consent(network["people"]["worker"], child_case, reason="No")
    db.session.commit()
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/cases/{child_case.id}", headers=EN).get_data(as_text=True)
    assert f'href="/cases/{child_case.id}/refer"' not in html


def test_next_step_is_a_referral_for_the_served_flags_most_severe_first(network, child_case):
    step = _step(child_case, open_questions=())
    assert step.kind == "refer"
    assert step.flags[0] == "UNACCOMPANIED_CHILD"  # urgent
    served = {c for s in services.suggest(child_case).suggestions for c in s.flags}
    assert set(step.flags) == served & {f.code for f in child_case.flags if f.counts}


def test_flags_without_a_service_are_not_a_referral_to_make(network, child_case):
    _refer_everything(network, child_case)
    worker = network["people"]["worker"]
    # Nothing in the directory answers this flag: an unmet need, not a step to take.
    assessment.add_manual_flag(worker, child_case, code="STATELESSNESS_RISK",
                               reason="No nationality", severity="urgent")
    db.session.commit()
    assert "STATELESSNESS_RISK" in {code for code, _ in services.suggest(child_case).unmet_needs}
    assert _step(child_case, open_questions=()).kind == "none"


def test_a_declined_referral_leaves_its_flag_waiting(network, child_case):
    sent = _refer_everything(network, child_case)
    assert _step(child_case, open_questions=()).kind == "none"
    first = next(r for r in sent if "UNACCOMPANIED_CHILD" in r.flag_list)
    provider = network["people"]["child_provider"]
    services.transition(provider, first, "decline", reason="No places")
    db.session.commit()
    step = _step(child_case, open_questions=())
    assert step.kind == "refer" and "UNACCOMPANIED_CHILD" in step.flags


def test_next_step_names_the_most_overdue_referral(app, network, child_case):
    long_ago = clock.now() - timedelta(days=10)
    sent = _refer_everything(network, child_case, now=long_ago)
    assert sent
    oldest = min(sent, key=lambda r: r.due_at)
    step = _step(child_case, open_questions=())
    assert step.kind == "overdue" and step.referral.id == oldest.id
    # Once acknowledged, it is no longer overdue.
    for r in sent:
        provider = network["people"]["child_provider" if r.receiving_org_id ==
                                     network["orgs"]["child"].id else "clinic_provider"]
        services.transition(provider, r, "acknowledge")
    db.session.commit()
    assert _step(child_case, open_questions=()).kind == "none"


def test_an_overdue_referral_comes_before_the_assessment(app, network, child_case):
    """A partner that has not answered in time is the most urgent thing on the case: the
    person may be waiting. It comes before open questions of the assessment."""
    _refer_everything(network, child_case, now=clock.now() - timedelta(days=10))
    step = _step(child_case, open_questions=("fear_of_return",))
    assert step.kind == "overdue"


def test_the_overdue_step_on_the_page_names_and_links_the_referral(app, network, child_case,
                                                                   monkeypatch):
    sent = _refer_everything(network, child_case, now=clock.now() - timedelta(days=10))
    oldest = min(sent, key=lambda r: r.due_at)
    monkeypatch.setattr(case_overview.assessment, "evaluate",
                        lambda case: type("A", (), {"open_questions": ()})())
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/cases/{child_case.id}", headers=EN).get_data(as_text=True)
    step = html[html.index('id="next-h"'):html.index('id="referrals-h"')]
    assert f"Referral {oldest.reference} to " in step and "is overdue" in step
    assert f'href="/referrals/{oldest.id}"' in step


def test_withdrawn_consent_or_a_closed_case(network, child_case):
    worker = network["people"]["worker"]
    case_services.withdraw_consent(worker, child_case, reason="Changed her mind")
    db.session.commit()
    assert _step(child_case, open_questions=()).kind == "none"  # no referral can be made
    manager = network["people"]["manager"]
    case_services.close_case(manager, child_case, reason="Moved on")
    db.session.commit()
    assert _step(child_case, open_questions=()) is None


def test_the_case_page_lists_every_referral_with_status_and_outcome(app, network, child_case):
    sent = _refer_everything(network, child_case)
    assert len(sent) >= 2
    child_ref = next(r for r in sent if r.receiving_org_id == network["orgs"]["child"].id)
    other = next(r for r in sent if r is not child_ref)
    provider = network["people"]["child_provider"]
    for action in ("acknowledge", "accept"):
        services.transition(provider, child_ref, action)
    services.transition(provider, child_ref, "complete", outcome="Placed with a foster family")
    services.transition(network["people"]["worker"], other, "cancel")
    db.session.commit()
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/cases/{child_case.id}", headers=EN).get_data(as_text=True)
    section = html[html.index('id="referrals-h"'):html.index('id="flags-h"')]
    for r in sent:
        assert f'href="/referrals/{r.id}"' in section and r.reference in section
    assert "Completed on" in section and "Placed with a foster family" in section
    assert "Cancelled on" in section
    assert "acknowledge before" not in section


def test_referrals_of_a_case_leave_out_erased_ones(network, child_case):
    [first, *_] = _refer_everything(network, child_case)
    services.erase_referral(first)
    db.session.commit()
    assert first.id not in {r.id for r in case_overview.referrals_of(child_case)}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) >= 1


def test_reading_the_case_page_needs_the_case(app, network, child_case, make):
    stranger = make.user(Role.FIELD_WORKER, org=network["orgs"]["sender"])
    client = app.test_client()
    login(client, stranger.email)
    assert client.get(f"/cases/{child_case.id}").status_code == 404


def test_times_in_the_next_step_use_the_sending_organizations_zone(app, network, child_case,
                                                                  monkeypatch):
    network["orgs"]["sender"].time_zone = "America/Santiago"
    db.session.commit()
    january = datetime(2026, 1, 15, 17, 5, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: january + timedelta(days=30))
    sent = _refer_everything(network, child_case, now=january)
    urgent = next(r for r in sent if r.urgency == "urgent")  # due 24 h later, 17:05 UTC
    assert urgent.due_at == january + timedelta(hours=24)
    monkeypatch.setattr(case_overview.assessment, "evaluate",
                        lambda case: type("A", (), {"open_questions": ()})())
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/cases/{child_case.id}", headers=EN).get_data(as_text=True)
    step = html[html.index('id="next-h"'):html.index('id="referrals-h"')]
    assert "Jan 16, 2026, 2:05\u202fPM (Chile Time)" in step or \
        "Jan 16, 2026, 2:05 PM (Chile Time)" in step
