"""The rule file validates against its own schema at start-up; a broken one stops the app."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from fieldapp import ConfigurationError, create_app
from fieldapp.risk import RuleSetError, load_rule_set
from fieldapp.risk.engine import parse_rule_set

PACKAGED = yaml.safe_load(
    resources.files("fieldapp.risk").joinpath("rules.yaml").read_text(encoding="utf-8"))


def _broken(mutate) -> dict:
    import copy

    doc = copy.deepcopy(PACKAGED)
    mutate(doc)
    return doc


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.pop("version"), "version"),
    (lambda d: d["rules"][0].update(severity="catastrophic"), "rules[0]: severity"),
    (lambda d: d["rules"][1]["when"]["all"][1].update(answer="accompanyment"),
     "unknown answer key 'accompanyment'"),
    (lambda d: d["rules"][0]["when"]["all"][1].update({"in": ["with_a_dog"]}), "not among"),
    (lambda d: d["rules"][3].pop("reason"), "missing 'reason'"),
    (lambda d: d["rules"][2].update(groups=["ELVES"]), "groups must be among"),
    (lambda d: d["answers"]["gbv"].update(type="colour"), "answers.gbv"),
    (lambda d: d["rules"][4].update(when={"answer": "gbv", "is": True}), "'is' needs"),
    (lambda d: d.update(extra=1), "unknown top-level keys"),
    (lambda d: d.pop("sections"), "'sections' must be a non-empty list"),
    (lambda d: d["sections"][0]["answers"].remove("dependents"),
     "answer keys in no section: ['dependents']"),
    (lambda d: d["sections"][1]["answers"].append("dependents"),
     "'dependents' is already in section 'travel_family'"),
    (lambda d: d["sections"][2]["answers"].append("shoe_size"), "unknown answer key 'shoe_size'"),
    (lambda d: d["sections"][3].update(code="documents"), "listed twice"),
    (lambda d: d["sections"][3].update(code="../admin"), "code must be lower_case"),
    (lambda d: d["sections"][3].update(title="Violence"), "needs 'code' and 'answers'"),
])
def test_schema_violations_are_reported_with_their_place(mutate, message):
    with pytest.raises(RuleSetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rule_set(_broken(mutate))


def test_packaged_rules_are_valid_and_versioned():
    rules = load_rule_set()
    assert rules.version == PACKAGED["version"]
    assert len(rules.rules) == len(PACKAGED["rules"])


def test_broken_file_stops_the_app_with_a_clear_message(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("version: '1'\nanswers: {}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="risk rule set is broken.*answers"):
        create_app({"FIELDAPP_ENV": "testing", "RISK_RULES_PATH": str(path),
                    "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "x.sqlite3"),
                    "FIELDAPP_KEY_FILE": str(tmp_path / "k.json")})
    path.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        create_app({"FIELDAPP_ENV": "testing", "RISK_RULES_PATH": str(path),
                    "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "x.sqlite3"),
                    "FIELDAPP_KEY_FILE": str(tmp_path / "k.json")})


def test_every_answer_key_is_in_exactly_one_section():
    from collections import Counter

    rules = load_rule_set()
    placed = Counter(key for section in rules.sections for key in section.answers)
    assert set(placed) == set(rules.answers)
    assert set(placed.values()) == {1}


def test_every_section_and_question_has_words(app):
    from fieldapp.risk import labels

    rules = load_rule_set()
    assert [s.code for s in rules.sections] == list(labels.SECTION_TITLES)
    assert set(rules.answers) == set(labels.QUESTIONS)
