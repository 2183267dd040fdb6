"""The questionnaire in short sections: each saves on its own, the summary lists every
answer, and nothing registration recorded is asked again."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import escape

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases import assessment
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.risk import services
from fieldapp.risk.labels import question_label
from tests.conftest import csrf_from

CHILD = "2014-05-01"
ADULT = "1988-02-03"


def _fresh(case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def _plan(case) -> dict[str, services.SectionPlan]:
    return {p.code: p for p in services.plan(case)}


def _post(client, case, code, data, *, query=""):
    url = f"/cases/{case.id}/assessment/{code}{query}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                  **data})


# -- what is asked -------------------------------------------------------------------------

def test_a_recorded_document_is_not_asked_again_and_settles_the_child_flag(make, register):
    worker = make.user()
    case = register(worker, date_of_birth=CHILD)  # BASE_CASE records a passport
    documents = _plan(case)["documents"]
    assert "document_status" not in documents.asked
    assert "can_prove_nationality" not in documents.asked  # a passport states it
    assert set(documents.from_registration) == {"document_status", "can_prove_nationality"}
    assert "born_outside_nationality_country" in documents.asked
    result = assessment.evaluate(case)
    # Settled, not open, and the child is not flagged as without documents.
    assert "document_status" not in result.open_questions
    assert "CHILD_WITHOUT_DOCUMENTS" not in {f.code for f in result.flags}
    # An answer given through the API still wins over what registration implies.
    assessment.save_assessment(worker, case, {"document_status": "none"})
    assert "CHILD_WITHOUT_DOCUMENTS" in {f.code for f in case.flags if f.counts}
    # ...and, contradicting the record, it is asked again so that it can be put right.
    assert "document_status" in _plan(case)["documents"].asked


def test_no_document_recorded_is_asked_not_taken_as_none(make, register):
    worker = make.user()
    case = register(worker, date_of_birth=CHILD, document=None)
    documents = _plan(case)["documents"]
    # "None / not shown" at registration may be papers left with a relative: ask.
    assert "document_status" in documents.asked and "can_prove_nationality" in documents.asked
    result = assessment.evaluate(case)
    assert "document_status" in result.open_questions
    assert "CHILD_WITHOUT_DOCUMENTS" not in {f.code for f in result.flags}
    services.save_answers(worker, case, {"document_status": "none"},
                          replacing=documents.asked)
    assert {f.code for f in case.flags if f.counts} == {"CHILD_WITHOUT_DOCUMENTS"}


def test_other_answers_registration_gives(make, register):
    worker = make.user()
    stateless = register(worker, date_of_birth=ADULT, nationality="STATELESS",
                         document={"type": "other", "number": "TD-1"})
    assert "can_prove_nationality" in _plan(stateless)["documents"].from_registration
    assert "STATELESSNESS_RISK" in {f.code for f in stateless.flags if f.counts}
    # A residence permit is a document, but says nothing of a nationality.
    permit = register(worker, date_of_birth=ADULT, given_name="Ana",
                      document={"type": "residence_permit", "number": "PPT-9"})
    assert "can_prove_nationality" in _plan(permit)["documents"].asked
    # Spanish ticked at registration in Colombia: speaks the host language.
    spanish = _plan(permit)["identity_language"]
    assert "speaks_host_language" in spanish.from_registration
    # Only Warao ticked: maybe not asked about Spanish, so the question is asked.
    warao = register(worker, date_of_birth=ADULT, given_name="Luis", languages=["warao"])
    assert "speaks_host_language" in _plan(warao)["identity_language"].asked


def test_only_questions_that_apply_are_asked(make, register):
    worker = make.user()
    boy = register(worker, date_of_birth=CHILD, sex="male")
    woman = register(worker, date_of_birth=ADULT, sex="female", given_name="Rosa")
    boy_plan, woman_plan = _plan(boy), _plan(woman)
    assert "accompaniment" in boy_plan["travel_family"].asked
    assert "accompaniment" not in woman_plan["travel_family"].asked
    assert "single_head_of_household" in woman_plan["travel_family"].asked
    assert "pregnant_or_lactating" not in boy_plan["health"].asked
    assert "pregnant_or_lactating" in woman_plan["health"].asked


# -- saving one section at a time ------------------------------------------------------------

def test_a_section_replaces_its_own_answers_and_keeps_the_others(make, register):
    worker = make.user()
    case = register(worker, date_of_birth=ADULT, sex="female")
    plan = _plan(case)
    services.save_answers(worker, case, {"fear_of_return": True, "gbv": "recent"},
                          replacing=plan["protection"].asked)
    # Keys of another section are ignored: a section cannot write elsewhere.
    assert assessment.answers_of(case) == {"fear_of_return": True}
    services.save_answers(worker, case, {"gbv": "past", "trafficking_indicators": []},
                          replacing=plan["violence"].asked)
    assert assessment.answers_of(case) == {"fear_of_return": True, "gbv": "past",
                                           "trafficking_indicators": []}
    assert {f.code for f in case.flags if f.counts} == {"INTERNATIONAL_PROTECTION_NEED",
                                                        "GBV_SURVIVOR"}
    # Left unanswered in its section: unanswered, and its flag clears.
    services.save_answers(worker, case, {}, replacing=plan["protection"].asked)
    assert assessment.answers_of(case) == {"gbv": "past", "trafficking_indicators": []}
    assert {f.code for f in case.flags if f.counts} == {"GBV_SURVIVOR"}


def test_follow_ups_that_no_longer_apply_lose_their_answer(make, register):
    worker = make.user()
    case = register(worker, date_of_birth=ADULT)
    keys = _plan(case)["identity_language"].asked
    services.save_answers(worker, case, {"lgbtiq": True,
                                         "lgbtiq_violence_or_discrimination": True},
                          replacing=keys)
    assert "LGBTIQ_AT_RISK" in {f.code for f in case.flags if f.counts}
    services.save_answers(worker, case, {"lgbtiq": False,
                                         "lgbtiq_violence_or_discrimination": True},
                          replacing=keys)
    assert assessment.answers_of(case) == {"lgbtiq": False}
    assert "lgbtiq_violence_or_discrimination" not in _plan(case)["identity_language"].asked


# -- the pages --------------------------------------------------------------------------------

def test_a_new_assessment_starts_at_the_first_section(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=CHILD)
    response = client.get(f"/cases/{case.id}/assessment")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}/assessment/travel_family"
    assert client.get(f"/cases/{case.id}/assessment/no_such_section").status_code == 404


def test_each_section_saves_on_its_own(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=CHILD, sex="male")
    page = client.get(f"/cases/{case.id}/assessment/travel_family",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Section 1 of 7" in page and "Save and continue" in page
    assert 'name="accompaniment"' in page and no_inline_script(page)
    response = _post(client, case, "travel_family", {"accompaniment": "alone",
                                                     "family_member_missing": "no"})
    # Saved at once, and on to the next section.
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}/assessment/documents"
    saved = _fresh(case.id)
    assert assessment.answers_of(saved) == {"accompaniment": "alone",
                                            "family_member_missing": False}
    assert saved.priority == "urgent"
    assert {f.code for f in saved.flags if f.counts} == {"UNACCOMPANIED_CHILD"}
    # Reloaded, the section shows what was saved.
    again = client.get(f"/cases/{case.id}/assessment/travel_family").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="alone"|<input[^>]*value="alone"[^>]*checked',
                     again)
    # Another section, later: the first one's answers stay.
    _post(client, case, "protection", {"detention_or_deportation_threat": "yes"})
    saved = _fresh(case.id)
    assert assessment.answers_of(saved) == {"accompaniment": "alone",
                                            "family_member_missing": False,
                                            "detention_or_deportation_threat": True}
    assert {f.code for f in saved.flags if f.counts} == {"UNACCOMPANIED_CHILD",
                                                         "REFOULEMENT_RISK"}
    assessed = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "case.assessed")).all()
    assert len(assessed) == 2


def test_the_last_section_leads_to_the_summary_and_back_goes_back(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=ADULT)
    last = _post(client, case, "identity_language", {"ethnicity": "indigenous",
                                                     "speaks_host_language": "no"})
    assert last.headers["Location"] == f"/cases/{case.id}/assessment"
    page = client.get(f"/cases/{case.id}/assessment/protection").get_data(as_text=True)
    assert f'href="/cases/{case.id}/assessment/documents"' in page  # Back: the one before


def test_summary_lists_every_answer_with_change_links(app, client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=ADULT, sex="female")
    _post(client, case, "violence", {"trafficking_indicators": ["debt_bondage"], "gbv": "past"})
    _post(client, case, "disability", {"washington_group__walking": "a_lot",
                                       "separated_from_caregiver_or_device": "yes"})
    _post(client, case, "travel_family", {"single_head_of_household": "yes",
                                          "dependents": "2"})
    response = client.get(f"/cases/{case.id}/assessment", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in ("Check the answers", "Owes a debt to whoever brought them",
                 "In the past", "Walking or climbing steps: A lot of difficulty",
                 "Heads a household alone?", "How many dependants?", ">2<",
                 "Valid / Expired (from the registration record)", "Not answered",
                 "Risk of trafficking", "Woman at risk"):
        assert text in html, text
    plan = services.plan(_fresh(case.id))
    assert len(plan) == 7
    for p in plan:  # every question of every section, and a Change link per section
        with app.test_request_context(), force_locale("en"):
            questions = [question_label(k) for k in (*p.asked, *p.from_registration)]
        for question in questions:
            assert question in html, question
        assert (f'href="/cases/{case.id}/assessment/{p.code}?return=summary"' in html) \
            == bool(p.asked)
    # Change, then back to the summary rather than on to the next section.
    response = _post(client, case, "violence", {"gbv": "none"}, query="?return=summary")
    assert response.headers["Location"] == f"/cases/{case.id}/assessment"
    odd = _post(client, case, "violence", {"gbv": "none"}, query="?return=//evil.example")
    assert odd.headers["Location"] == f"/cases/{case.id}/assessment/health"


def test_document_question_absent_from_the_page_when_registration_recorded_one(
        client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    with_passport = register(worker, date_of_birth=CHILD)
    without = register(worker, date_of_birth=CHILD, document=None, given_name="Yeison")
    page = client.get(f"/cases/{with_passport.id}/assessment/documents",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="document_status"' not in page and 'name="can_prove_nationality"' not in page
    assert "Recorded at registration, so not asked again:" in page
    assert "Identity document" in page
    _post(client, with_passport, "documents", {"birth_registered": "yes"})
    assert "CHILD_WITHOUT_DOCUMENTS" not in {f.code for f in _fresh(with_passport.id).flags}
    page = client.get(f"/cases/{without.id}/assessment/documents").get_data(as_text=True)
    assert 'name="document_status"' in page
    _post(client, without, "documents", {"document_status": "none"})
    assert "CHILD_WITHOUT_DOCUMENTS" in {f.code for f in _fresh(without.id).flags
                                         if f.counts}


def test_a_section_with_errors_shows_them_all_and_saves_nothing(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=ADULT, sex="female")
    response = _post(client, case, "travel_family", {"family_member_missing": "yes",
                                                     "dependents": "lots",
                                                     "single_head_of_household": "maybe"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = html[html.index('class="error-summary'):html.index("</div>",
                                                                 html.index("error-summary"))]
    assert 'href="#dependents"' in summary
    assert 'href="#single_head_of_household-0"' in summary
    assert 'aria-invalid="true"' in html
    saved = _fresh(case.id)
    assert saved.assessment is None and saved.assessed_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "case.assessed")) == 0
    # A forged or expired form saves nothing either.
    forged = client.post(f"/cases/{case.id}/assessment/travel_family",
                         data={"family_member_missing": "yes"})
    assert forged.status_code == 400
    assert _fresh(case.id).assessment is None


def test_closed_case_section_is_refused_with_the_reason(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=ADULT)
    case.status = "closed"
    db.session.commit()
    response = _post(client, case, "protection", {"fear_of_return": "yes"})
    assert response.status_code == 409
    assert _fresh(case.id).assessment is None


def test_api_put_still_replaces_the_whole_questionnaire(client, auth, register):
    from tests.conftest import api_token

    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=CHILD)
    headers = {"Authorization": f"Bearer {api_token(client, worker.email)}"}
    _post(client, case, "protection", {"fear_of_return": "yes"})
    body = client.put(f"/api/v1/cases/{case.id}/assessment", headers=headers,
                      json={"answers": {"accompaniment": "parent_or_legal_guardian"}}).get_json()
    assert body["answers"] == {"accompaniment": "parent_or_legal_guardian"}
    assert "document_status" not in body["open_questions"]  # settled by the passport
    assert json.loads(_fresh(case.id).assessment) == body["answers"]


def no_inline_script(html: str) -> bool:
    """Scripts only as modules served by the app: the page works without them (the CSP
    forbids inline scripts anyway)."""
    tags = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    return all(("src=" in attrs and not body.strip()) or 'type="application/json"' in attrs
               for attrs, body in tags)


def _words(app, lang, text, **values):
    from flask_babel import gettext
    with app.test_request_context(), force_locale(lang):
        return str(escape(gettext(text, **values)))


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_document_question_says_what_registration_recorded_and_why_it_asks(
        app, client, auth, register, lang):
    """Registration's "None / not shown" does not tell a person without papers from one
    who did not show them: the question is asked, beside what registration recorded."""
    worker = auth(Role.FIELD_WORKER)
    case = register(worker, date_of_birth=CHILD, document=None)
    page = client.get(f"/cases/{case.id}/assessment/documents",
                      headers={"Accept-Language": lang}).get_data(as_text=True)
    recorded = _words(app, lang, "At registration: %(answer)s.",
                      answer=_words(app, lang, "None / not shown"))
    question = _words(app, lang, "Does the person have an identity document, even one "
                                 "not shown at registration?")
    fieldset = re.search(r'<fieldset class="choices" id="document_status"'
                         r' aria-describedby="document_status-help">\s*<legend>(.*?)</legend>'
                         r'\s*<p class="help" id="document_status-help">(.*?)</p>', page, re.S)
    assert fieldset, page
    assert fieldset.group(1).strip() == question
    assert fieldset.group(2).strip() == recorded
    # An answer given through the API that contradicts the recorded passport: asked again,
    # beside the passport that registration recorded.
    with_passport = register(worker, date_of_birth=CHILD, given_name="Yeison")
    assessment.save_assessment(worker, with_passport, {"document_status": "none"})
    db.session.commit()
    page = client.get(f"/cases/{with_passport.id}/assessment/documents",
                      headers={"Accept-Language": lang}).get_data(as_text=True)
    passport = _words(app, lang, "At registration: %(answer)s.",
                      answer=_words(app, lang, "Passport"))
    assert f'<p class="help" id="document_status-help">{passport}</p>' in page
    assert question not in page
