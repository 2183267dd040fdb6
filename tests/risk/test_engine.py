"""The rule engine on its own: every rule of SPEC §4, each boundary, unanswered inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.risk import load_rule_set
from fieldapp.risk.engine import SEVERITY_RANK, AnswerError

RULES = load_rule_set()
WG_NONE = {d: "none" for d in RULES.answers["washington_group"]["domains"]}


def flags(answers=None, *, age=30, sex="male", nationality="VEN") -> dict[str, str]:
    result = RULES.evaluate(answers or {}, age=age, sex=sex, nationality=nationality)
    return {f.code: f.severity for f in result.flags}


def groups(answers=None, *, age=30, sex="male") -> set[str]:
    return set(RULES.evaluate(answers or {}, age=age, sex=sex).groups)


# (flag, answers, age, sex, nationality, expected severity or None)
CASES = [
    # UNACCOMPANIED_CHILD / SEPARATED_CHILD: every accompaniment value, 17 vs 18
    ("UNACCOMPANIED_CHILD", {"accompaniment": "alone"}, 17, "female", "VEN", "urgent"),
    ("UNACCOMPANIED_CHILD", {"accompaniment": "unrelated_adult"}, 0, "male", "VEN", "urgent"),
    ("UNACCOMPANIED_CHILD", {"accompaniment": "alone"}, 18, "female", "VEN", None),
    ("UNACCOMPANIED_CHILD", {"accompaniment": "other_adult_relative"}, 10, "male", "VEN", None),
    ("UNACCOMPANIED_CHILD", {"accompaniment": "parent_or_legal_guardian"}, 10, "male", "VEN",
     None),
    ("UNACCOMPANIED_CHILD", {}, 10, "male", "VEN", None),
    ("SEPARATED_CHILD", {"accompaniment": "other_adult_relative"}, 17, "male", "VEN", "high"),
    ("SEPARATED_CHILD", {"accompaniment": "other_adult_relative"}, 18, "male", "VEN", None),
    ("SEPARATED_CHILD", {"accompaniment": "alone"}, 12, "male", "VEN", None),
    ("SEPARATED_CHILD", {"accompaniment": "parent_or_legal_guardian"}, 12, "male", "VEN", None),
    ("SEPARATED_CHILD", {"accompaniment": "unrelated_adult"}, 12, "male", "VEN", None),
    # CHILD_WITHOUT_DOCUMENTS
    ("CHILD_WITHOUT_DOCUMENTS", {"document_status": "none"}, 17, "female", "VEN", "high"),
    ("CHILD_WITHOUT_DOCUMENTS", {"document_status": "none"}, 18, "female", "VEN", None),
    ("CHILD_WITHOUT_DOCUMENTS", {"document_status": "expired"}, 5, "female", "VEN", None),
    ("CHILD_WITHOUT_DOCUMENTS", {"document_status": "valid"}, 5, "female", "VEN", None),
    # TRAFFICKING_RISK: each indicator, none, unanswered
    *[("TRAFFICKING_RISK", {"trafficking_indicators": [i]}, 25, "female", "VEN", "urgent")
      for i in RULES.answers["trafficking_indicators"]["values"]],
    ("TRAFFICKING_RISK", {"trafficking_indicators": []}, 25, "female", "VEN", None),
    ("TRAFFICKING_RISK", {}, 25, "female", "VEN", None),
    # GBV_SURVIVOR: each value
    ("GBV_SURVIVOR", {"gbv": "recent"}, 25, "female", "VEN", "urgent"),
    ("GBV_SURVIVOR", {"gbv": "past"}, 25, "female", "VEN", "high"),
    ("GBV_SURVIVOR", {"gbv": "at_risk"}, 40, "male", "VEN", "high"),
    ("GBV_SURVIVOR", {"gbv": "none"}, 25, "female", "VEN", None),
    # STATELESSNESS_RISK: each path
    ("STATELESSNESS_RISK", {}, 30, "male", "STATELESS", "high"),
    ("STATELESSNESS_RISK", {"can_prove_nationality": False}, 30, "male", "VEN", "high"),
    ("STATELESSNESS_RISK", {"can_prove_nationality": True}, 30, "male", "VEN", None),
    ("STATELESSNESS_RISK", {"born_outside_nationality_country": True,
                            "birth_registered": False}, 3, "male", "VEN", "high"),
    ("STATELESSNESS_RISK", {"born_outside_nationality_country": True,
                            "birth_registered": True, "can_prove_nationality": True}, 3, "male",
     "VEN", None),
    ("STATELESSNESS_RISK", {"born_outside_nationality_country": False,
                            "birth_registered": False, "can_prove_nationality": True}, 3,
     "male", "VEN", None),
    # DISABILITY_AT_RISK: every Washington Group value, with and without separation
    *[("DISABILITY_AT_RISK", {"washington_group": {**WG_NONE, "walking": v}}, 40, "male", "VEN",
       {"none": None, "some": None, "a_lot": "medium", "cannot": "medium"}[v])
      for v in ("none", "some", "a_lot", "cannot")],
    *[("DISABILITY_AT_RISK", {"washington_group": {d: "a_lot"}}, 40, "male", "VEN", "medium")
      for d in RULES.answers["washington_group"]["domains"]],
    ("DISABILITY_AT_RISK", {"washington_group": {"seeing": "cannot"},
                            "separated_from_caregiver_or_device": True}, 40, "male", "VEN",
     "high"),
    ("DISABILITY_AT_RISK", {"washington_group": WG_NONE,
                            "separated_from_caregiver_or_device": True}, 40, "male", "VEN", None),
    # OLDER_PERSON_AT_RISK: 59 vs 60
    ("OLDER_PERSON_AT_RISK", {"without_support": True}, 60, "female", "VEN", "high"),
    ("OLDER_PERSON_AT_RISK", {"chronic_illness": True}, 75, "male", "VEN", "high"),
    ("OLDER_PERSON_AT_RISK", {"without_support": True}, 59, "female", "VEN", None),
    ("OLDER_PERSON_AT_RISK", {"without_support": False, "chronic_illness": False}, 70, "male",
     "VEN", None),
    # LGBTIQ_AT_RISK
    ("LGBTIQ_AT_RISK", {"lgbtiq": True, "lgbtiq_violence_or_discrimination": True}, 25, "male",
     "VEN", "high"),
    ("LGBTIQ_AT_RISK", {"lgbtiq": True, "needs_gender_identity_documents": True}, 25, "female",
     "VEN", "medium"),
    ("LGBTIQ_AT_RISK", {"lgbtiq": True, "lgbtiq_violence_or_discrimination": True,
                        "needs_gender_identity_documents": True}, 25, "male", "VEN", "high"),
    ("LGBTIQ_AT_RISK", {"lgbtiq": False, "lgbtiq_violence_or_discrimination": True}, 25, "male",
     "VEN", None),
    # WOMAN_AT_RISK: 17 vs 18, female only, dependents boundary
    ("WOMAN_AT_RISK", {"pregnant_or_lactating": True}, 18, "female", "VEN", "medium"),
    ("WOMAN_AT_RISK", {"pregnant_or_lactating": True}, 17, "female", "VEN", None),
    ("WOMAN_AT_RISK", {"pregnant_or_lactating": True}, 30, "male", "VEN", None),
    ("WOMAN_AT_RISK", {"single_head_of_household": True, "dependents": 1}, 30, "female", "VEN",
     "medium"),
    ("WOMAN_AT_RISK", {"single_head_of_household": True, "dependents": 0}, 30, "female", "VEN",
     None),
    ("WOMAN_AT_RISK", {"single_head_of_household": True}, 30, "female", "VEN", None),
    # INTERPRETER_NEEDED: every ethnicity value
    *[("INTERPRETER_NEEDED", {"ethnicity": e, "speaks_host_language": False}, 30, "male",
       "VEN", None if e == "none" else "medium")
      for e in ("none", "indigenous", "afro_descendant", "roma", "other_minority")],
    ("INTERPRETER_NEEDED", {"ethnicity": "indigenous", "speaks_host_language": True}, 30,
     "male", "VEN", None),
    # single-answer rules
    ("INTERNATIONAL_PROTECTION_NEED", {"fear_of_return": True}, 30, "male", "VEN", "high"),
    ("INTERNATIONAL_PROTECTION_NEED", {"fear_of_return": False}, 30, "male", "VEN", None),
    ("REFOULEMENT_RISK", {"detention_or_deportation_threat": True}, 30, "male", "VEN", "urgent"),
    ("REFOULEMENT_RISK", {"detention_or_deportation_threat": False}, 30, "male", "VEN", None),
    ("FAMILY_SEPARATION", {"family_member_missing": True}, 30, "male", "VEN", "high"),
    ("FAMILY_SEPARATION", {"family_separated_in_transit": True}, 30, "male", "VEN", "high"),
    ("FAMILY_SEPARATION", {"family_member_missing": False,
                           "family_separated_in_transit": False}, 30, "male", "VEN", None),
    ("SERIOUS_MEDICAL_CONDITION", {"serious_medical_condition": True}, 30, "male", "VEN", "high"),
    ("SERIOUS_MEDICAL_CONDITION", {"serious_medical_condition": False}, 30, "male", "VEN", None),
    ("DEFENDER_AT_RISK", {"human_rights_defender_at_risk": True}, 30, "male", "VEN", "high"),
    ("DEFENDER_AT_RISK", {"human_rights_defender_at_risk": False}, 30, "male", "VEN", None),
    *[("IRREGULAR_STATUS", {"regular_status": s}, 30, "male", "VEN",
       "medium" if s == "irregular" else None)
      for s in ("regular", "irregular", "asylum_pending", "regularization_pending")],
]


@pytest.mark.parametrize("flag,answers,age,sex,nationality,expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_table(flag, answers, age, sex, nationality, expected):
    assert flags(answers, age=age, sex=sex, nationality=nationality).get(flag) == expected


def test_every_flag_of_the_spec_is_covered():
    assert {c[0] for c in CASES} == set(RULES.flag_codes())
    assert len(RULES.flag_codes()) == 17


def test_groups():
    assert groups(age=17) == {"CHILDREN"}
    assert groups(age=18) == set()
    assert groups(age=60) == {"OLDER"}
    assert groups(age=59, sex="female") == {"WOMEN_GIRLS"}
    assert groups({"lgbtiq": True, "ethnicity": "indigenous",
                   "washington_group": {"hearing": "cannot"}}) == {"LGBTIQ", "ETHNIC",
                                                                  "DISABILITY"}
    assert groups({"ethnicity": "none", "washington_group": {"hearing": "some"}}) == set()


def test_reasons_unhcr_codes_and_priority():
    result = RULES.evaluate({"accompaniment": "alone", "gbv": "past",
                             "pregnant_or_lactating": True}, age=14, sex="female")
    by_code = {f.code: f for f in result.flags}
    assert by_code["UNACCOMPANIED_CHILD"].reasons
    assert by_code["UNACCOMPANIED_CHILD"].unhcr_codes == ("SC-UC",)
    assert by_code["UNACCOMPANIED_CHILD"].plan == "B.3, III.12"
    assert result.priority == "urgent"
    adult = RULES.evaluate({"pregnant_or_lactating": True}, age=25, sex="female")
    assert adult.flags[0].unhcr_codes == ("WR", "PG")


def test_unanswered_is_not_no_and_open_questions_fit_the_person():
    child = RULES.evaluate({}, age=12, sex="male")
    assert child.flags == ()
    assert "accompaniment" in child.open_questions
    assert "pregnant_or_lactating" not in child.open_questions  # not for a boy
    adult = RULES.evaluate({}, age=40, sex="female")
    assert "accompaniment" not in adult.open_questions  # children only
    assert "pregnant_or_lactating" in adult.open_questions
    answered = RULES.evaluate({"fear_of_return": False}, age=40, sex="male")
    assert "fear_of_return" not in answered.open_questions


def test_answer_validation():
    assert RULES.validate_answers({"gbv": "past", "dependents": 2, "lgbtiq": None}) == {
        "gbv": "past", "dependents": 2}
    with pytest.raises(AnswerError) as info:
        RULES.validate_answers({"gbv": "sometimes", "nonsense": 1, "dependents": True,
                                "washington_group": {"smell": "none"}})
    assert set(info.value.fields) == {"gbv", "nonsense", "dependents", "washington_group"}


# -- properties -------------------------------------------------------------------------

def _answer_strategy(key: str, spec: dict):
    kind = spec["type"]
    if kind == "bool":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(spec["values"])
    if kind == "int":
        return st.integers(min_value=spec.get("min", 0), max_value=spec.get("max", 30))
    if kind == "list":
        return st.lists(st.sampled_from(spec["values"]), unique=True)
    return st.dictionaries(st.sampled_from(spec["domains"]), st.sampled_from(spec["values"]))


answers_strategy = st.fixed_dictionaries(
    {}, optional={k: _answer_strategy(k, s) for k, s in RULES.answers.items()})
person = dict(age=st.integers(min_value=0, max_value=110),
              sex=st.sampled_from(["female", "male", "intersex", "unknown"]),
              nationality=st.sampled_from(["VEN", "COL", "STATELESS", "UNKNOWN"]))


@settings(max_examples=300, deadline=None)
@given(answers=answers_strategy, **person)
def test_engine_never_raises_and_priority_is_max_severity(answers, age, sex, nationality):
    clean = RULES.validate_answers(answers)
    result = RULES.evaluate(clean, age=age, sex=sex, nationality=nationality)
    expected = max((f.severity for f in result.flags), key=SEVERITY_RANK.__getitem__,
                   default="none")
    assert result.priority == expected
    assert len({f.code for f in result.flags}) == len(result.flags)
    assert all(f.reasons for f in result.flags)
    for key in set(result.open_questions) & set(clean):  # only a partly answered grid
        assert key == "washington_group" and len(clean[key]) < 6


YES_KEYS = [k for k, s in RULES.answers.items() if s["type"] == "bool"
            and k not in ("can_prove_nationality", "birth_registered", "speaks_host_language")]


@settings(max_examples=300, deadline=None)
@given(answers=answers_strategy, key=st.sampled_from(YES_KEYS), **person)
def test_adding_a_yes_never_removes_a_flag(answers, key, age, sex, nationality):
    """Monotone rules: turning an unanswered or "no" question into "yes" keeps every flag
    (questions whose "no" is the risk, like can_prove_nationality, are left out)."""
    before = RULES.evaluate(answers, age=age, sex=sex, nationality=nationality)
    after = RULES.evaluate({**answers, key: True}, age=age, sex=sex, nationality=nationality)
    assert {f.code for f in before.flags} <= {f.code for f in after.flags}
    for f in before.flags:
        new = next(g for g in after.flags if g.code == f.code)
        assert SEVERITY_RANK[new.severity] >= SEVERITY_RANK[f.severity]


def test_the_answers_a_flags_rules_read():
    """What a referral for a flag may share of the assessment: its rules' questions, the
    groups they name (DISABILITY: the Washington Group grid), their extra UNHCR codes'."""
    assert RULES.answers_read_by(["STATELESSNESS_RISK"]) == [
        "can_prove_nationality", "born_outside_nationality_country", "birth_registered"]
    assert RULES.answers_read_by(["DISABILITY_AT_RISK"]) == [
        "washington_group", "separated_from_caregiver_or_device"]
    assert "pregnant_or_lactating" in RULES.answers_read_by(["WOMAN_AT_RISK"])
    assert RULES.answers_read_by(["TRAFFICKING_RISK", "UNACCOMPANIED_CHILD"]) == [
        "accompaniment", "trafficking_indicators"]
    assert RULES.answers_read_by([]) == [] == RULES.answers_read_by(["NOT_A_FLAG"])


@settings(max_examples=300, deadline=None)
@given(answers=answers_strategy, flag=st.sampled_from(RULES.flag_codes()), **person)
def test_a_flag_is_decided_by_the_answers_its_rules_read(answers, flag, age, sex,
                                                         nationality):
    """The answers a flag's rules read are enough to decide it (same severity, same UNHCR
    codes): nothing else of the assessment is needed to explain the flag."""
    read = set(RULES.answers_read_by([flag]))
    clean = RULES.validate_answers(answers)
    only = {k: v for k, v in clean.items() if k in read}

    def outcome(given_answers):
        result = RULES.evaluate(given_answers, age=age, sex=sex, nationality=nationality)
        return next(((f.severity, f.unhcr_codes) for f in result.flags if f.code == flag),
                    None)

    assert outcome(only) == outcome(clean)
