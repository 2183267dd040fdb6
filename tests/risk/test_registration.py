"""What registration already answers: derived from the record, used by the rules, and
never more than the record says."""

from __future__ import annotations

import pytest

from fieldapp.risk import load_rule_set
from fieldapp.risk.registration import HOST_LANGUAGES, known_answers

RULES = load_rule_set()


def _known(document_type=None, nationality="VEN", languages=("es",), country_code="CO"):
    return known_answers(document_type=document_type, nationality=nationality,
                         languages=languages, country_code=country_code)


def _evaluate(answers=None, *, age=10, known=None, nationality="VEN"):
    result = RULES.evaluate(answers or {}, age=age, sex="male", nationality=nationality,
                            known=known)
    return {f.code for f in result.flags}, set(result.open_questions)


def test_a_recorded_document_is_held_valid_or_expired():
    assert _known("passport")["document_status"] == {"valid", "expired"}
    assert _known("birth_certificate")["document_status"] == {"valid", "expired"}


def test_no_recorded_document_derives_nothing_about_documents():
    # "None / not shown" at registration is not "none": the question stays open.
    known = _known(None)
    assert "document_status" not in known and "can_prove_nationality" not in known


@pytest.mark.parametrize("document_type,nationality,expected", [
    ("passport", "VEN", {True}),
    ("national_id", "COL", {True}),
    ("residence_permit", "VEN", None),   # a permit does not prove a nationality
    ("birth_certificate", "VEN", None),
    (None, "VEN", None),
    (None, "STATELESS", {False}),
    ("passport", "STATELESS", {False}),  # a stateless person's travel document
])
def test_proving_a_nationality(document_type, nationality, expected):
    assert _known(document_type, nationality).get("can_prove_nationality") == expected


def test_host_language_only_when_ticked():
    assert _known(languages=["es"])["speaks_host_language"] == {True}
    assert _known(languages=["pt"], country_code="BR")["speaks_host_language"] == {True}
    assert "speaks_host_language" not in _known(languages=["warao"])
    assert "speaks_host_language" not in _known(languages=["es"], country_code="BR")
    assert "speaks_host_language" not in _known(languages=["es"], country_code="XX")
    assert all(lang in ("es", "pt", "en", "fr") for lang in HOST_LANGUAGES.values())


def test_derived_values_are_values_of_the_rule_set():
    for known in (_known("passport"), _known(None, "STATELESS")):
        for key, values in known.items():
            spec = RULES.answers[key]
            allowed = spec.get("values", [True, False])
            assert set(values) <= set(allowed), key


def test_the_rules_use_what_registration_settles():
    flags, open_questions = _evaluate(known=_known("passport"))
    assert "CHILD_WITHOUT_DOCUMENTS" not in flags
    assert "document_status" not in open_questions
    flags, open_questions = _evaluate(known=_known(None))
    assert "CHILD_WITHOUT_DOCUMENTS" not in flags and "document_status" in open_questions
    # A recorded passport settles the "cannot prove a nationality" branch.
    _, open_questions = _evaluate(age=30, known=_known("passport"))
    assert "can_prove_nationality" not in open_questions
    # Stateless at registration: the flag fires from the record alone.
    flags, _ = _evaluate(age=30, known=_known(None, "STATELESS"), nationality="STATELESS")
    assert "STATELESSNESS_RISK" in flags
    # Speaking the host language settles the interpreter question.
    flags, open_questions = _evaluate({"ethnicity": "indigenous"}, age=30, known=_known())
    assert "INTERPRETER_NEEDED" not in flags and "speaks_host_language" not in open_questions
    _, open_questions = _evaluate({"ethnicity": "indigenous"}, age=30,
                                  known=_known(languages=["warao"]))
    assert "speaks_host_language" in open_questions


def test_an_answer_given_wins_over_the_record():
    flags, _ = _evaluate({"document_status": "none"}, known=_known("passport"))
    assert "CHILD_WITHOUT_DOCUMENTS" in flags
    flags, _ = _evaluate({"can_prove_nationality": False}, age=30, known=_known("passport"))
    assert "STATELESSNESS_RISK" in flags


def test_a_record_that_cannot_decide_a_rule_leaves_the_question_open():
    # Known to be valid or expired: a rule about expired documents stays undecided.
    from fieldapp.risk.engine import _Context

    ctx = _Context({}, 10, "male", "VEN", RULES, {"document_status": {"valid", "expired"}})
    assert ctx.eval({"answer": "document_status", "in": ["expired"]}) is None
    assert ctx.missing == {"document_status"}
    assert ctx.eval({"answer": "document_status", "not_in": ["none"]}) is True
