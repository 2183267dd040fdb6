"""The risk engine: reads rules.yaml and evaluates it with three-valued logic.

Unanswered is not "no": a condition on an unanswered question is unknown, and a
rule fires only when its condition is definitely true. Questions whose answer
would decide a rule that is still undecided are reported as open questions.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("low", "medium", "high", "urgent")
SEVERITY_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3, "urgent": 4}
ANSWER_TYPES = {"choice", "bool", "list", "int", "domains"}
APPLIES = {"child", "adult", "female", "lgbtiq"}
SEXES = {"female", "male", "intersex", "unknown"}
SECTION_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # it names the section in a URL


class RuleSetError(ValueError):
    """The rule file is malformed; the message says where."""


class AnswerError(ValueError):
    """Answers that do not fit the questionnaire; `fields` maps key -> problem code."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in sorted(fields.items())))
        self.fields = fields


Unknown = None  # the third truth value


@dataclass(frozen=True)
class Rule:
    flag: str
    severity: str
    groups: tuple[str, ...]
    plan: str
    unhcr: str | None
    unhcr_extra: tuple[tuple[str, Any], ...]
    when: Any
    reason: str


@dataclass(frozen=True)
class FlagResult:
    code: str
    severity: str
    reasons: tuple[str, ...]
    plan: str
    unhcr_codes: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    groups: tuple[str, ...]
    flags: tuple[FlagResult, ...]
    open_questions: tuple[str, ...]
    rule_set_version: str

    @property
    def priority(self) -> str:
        return max((f.severity for f in self.flags), key=SEVERITY_RANK.__getitem__,
                   default="none")


@dataclass(frozen=True)
class Section:
    """A page of the questionnaire: a few related questions, in the order asked."""

    code: str
    answers: tuple[str, ...]


# What the case record already says an answer can be, for questions left unanswered
# (e.g. a recorded passport: document_status is "valid" or "expired", never "none").
Known = Mapping[str, Collection[Any]]


@dataclass
class RuleSet:
    version: str
    answers: dict[str, dict[str, Any]]
    groups: list[tuple[str, str, Any]]  # (code, plan, condition)
    rules: list[Rule] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    # -- the questionnaire -------------------------------------------------------------
    def flag_codes(self) -> list[str]:
        return list(dict.fromkeys(r.flag for r in self.rules))

    def section(self, code: str) -> Section | None:
        return next((s for s in self.sections if s.code == code), None)

    def answers_read_by(self, flags: Collection[str]) -> list[str]:
        """The questions the rules of these flags read, in the questionnaire's order: their
        conditions, the groups those name, and the conditions of their extra UNHCR codes.
        What a referral for these flags may share of the answers (minimum necessary)."""
        keys: set[str] = set()
        for rule in self.rules:
            if rule.flag in flags:
                self._read_by(rule.when, keys, set())
                for _code, cond in rule.unhcr_extra:
                    self._read_by(cond, keys, set())
        return [key for key in self.answers if key in keys]

    def _read_by(self, cond: dict[str, Any], keys: set[str], groups: set[str]) -> None:
        for op in ("all", "any"):
            for part in cond.get(op, ()):
                self._read_by(part, keys, groups)
        if "not" in cond:
            self._read_by(cond["not"], keys, groups)
        if "group" in cond and cond["group"] not in groups:
            groups.add(cond["group"])
            for code, _plan, gcond in self.groups:
                if code == cond["group"]:
                    self._read_by(gcond, keys, groups)
        if "washington_group" in cond:
            keys.add("washington_group")
        if "answer" in cond:
            keys.add(cond["answer"])

    def default_severity(self, code: str) -> str:
        """The highest severity the rule table gives this flag (for manual flags)."""
        return max((r.severity for r in self.rules if r.flag == code),
                   key=SEVERITY_RANK.__getitem__)

    def applicable(self, key: str, *, age: int, sex: str, answers: dict[str, Any]) -> bool:
        applies = self.answers[key].get("applies")
        if applies == "child":
            return age < 18
        if applies == "adult":
            return age >= 18
        if applies == "female":
            return sex in ("female", "intersex", "unknown")
        if applies == "lgbtiq":
            return answers.get("lgbtiq") is not False
        return True

    def validate_answers(self, answers: Any) -> dict[str, Any]:
        """Check types and values; return a clean copy (unknown keys are errors)."""
        if not isinstance(answers, dict):
            raise AnswerError({"answers": "not_an_object"})
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        for key, value in answers.items():
            spec = self.answers.get(key)
            if spec is None:
                errors[key] = "unknown_question"
                continue
            if value is None:
                continue  # explicitly unanswered
            kind = spec["type"]
            if kind == "bool" and isinstance(value, bool):
                clean[key] = value
            elif kind == "choice" and isinstance(value, str) and value in spec["values"]:
                clean[key] = value
            elif kind == "int" and isinstance(value, int) and not isinstance(value, bool) \
                    and spec.get("min", 0) <= value <= spec.get("max", 10**6):
                clean[key] = value
            elif kind == "list" and isinstance(value, list) \
                    and all(isinstance(v, str) and v in spec["values"] for v in value):
                clean[key] = sorted(set(value))
            elif kind == "domains" and isinstance(value, dict) \
                    and set(value) <= set(spec["domains"]) \
                    and all(v is None or (isinstance(v, str) and v in spec["values"])
                            for v in value.values()):
                domains = {d: v for d, v in value.items() if v is not None}
                if domains:  # no domain answered is the question unanswered
                    clean[key] = domains
            else:
                errors[key] = "invalid_value"
        if errors:
            raise AnswerError(errors)
        return clean

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, answers: dict[str, Any], *, age: int, sex: str,
                 nationality: str = "UNKNOWN", known: Known | None = None) -> Assessment:
        """Groups, flags and open questions. An answer given wins over what `known` says
        it can be; `known` only narrows questions left unanswered."""
        ctx = _Context(answers, age, sex, nationality, self, known or {})
        groups = []
        for code, _plan, cond in self.groups:
            if ctx.eval(cond) is True:
                groups.append(code)
        ctx.groups = set(groups)
        fired: dict[str, list[Rule]] = {}
        undecided_keys: set[str] = set()
        for rule in self.rules:
            ctx.missing = set()
            result = ctx.eval(rule.when)
            if result is True:
                fired.setdefault(rule.flag, []).append(rule)
            elif result is Unknown:
                undecided_keys |= ctx.missing
        flags = []
        for code, rules in fired.items():
            top = max(rules, key=lambda r: SEVERITY_RANK[r.severity])
            codes = [r.unhcr for r in rules if r.unhcr]
            for r in rules:
                for extra_code, cond in r.unhcr_extra:
                    if ctx.eval(cond) is True:
                        codes.append(extra_code)
            flags.append(FlagResult(
                code=code, severity=top.severity,
                reasons=tuple(dict.fromkeys(r.reason for r in rules)),
                plan=top.plan, unhcr_codes=tuple(dict.fromkeys(codes)),
                groups=tuple(dict.fromkeys(g for r in rules for g in r.groups))))
        flags.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.code))
        open_questions = tuple(k for k in self.answers if k in undecided_keys
                               and self.applicable(k, age=age, sex=sex, answers=answers))
        return Assessment(tuple(groups), tuple(flags), open_questions, self.version)


class _Context:
    def __init__(self, answers: dict[str, Any], age: int, sex: str, nationality: str,
                 rule_set: RuleSet, known: Known) -> None:
        self.answers = answers
        self.known = known
        self.age = age
        self.sex = sex
        self.nationality = nationality
        self.rule_set = rule_set
        self.groups: set[str] = set()
        self.missing: set[str] = set()

    def eval(self, cond: dict[str, Any]) -> bool | None:
        if "all" in cond:
            results = [self.eval(c) for c in cond["all"]]
            if any(r is False for r in results):
                return False
            return Unknown if any(r is Unknown for r in results) else True
        if "any" in cond:
            results = [self.eval(c) for c in cond["any"]]
            if any(r is True for r in results):
                return True
            return Unknown if any(r is Unknown for r in results) else False
        if "not" in cond:
            r = self.eval(cond["not"])
            return Unknown if r is Unknown else not r
        if "age" in cond:
            bound = cond["age"]
            return self.age < bound["lt"] if "lt" in bound else self.age >= bound["gte"]
        if "sex" in cond:
            if self.sex == "unknown":
                return Unknown
            return self.sex in cond["sex"]
        if "nationality" in cond:
            return self.nationality in cond["nationality"]
        if "group" in cond:
            if cond["group"] in self.groups:
                return True
            # A group decided by unanswered questions is itself undecided.
            for code, _plan, gcond in self.rule_set.groups:
                if code == cond["group"]:
                    return self.eval(gcond)
            return False
        if "washington_group" in cond:
            key = "washington_group"
            domains = self.answers.get(key)
            spec = self.rule_set.answers[key]
            if not domains:
                self.missing.add(key)
                return Unknown
            if any(v in cond[key] for v in domains.values()):
                return True
            if len(domains) < len(spec["domains"]):
                self.missing.add(key)
                return Unknown
            return False
        key = cond["answer"]
        if key in self.answers:
            return self._compare(cond, self.answers[key])
        possible = self.known.get(key)
        if possible:
            # Decided only when every value the record allows gives the same outcome.
            outcomes = {self._compare(cond, v) for v in possible}
            if len(outcomes) == 1:
                return outcomes.pop()
        self.missing.add(key)
        return Unknown

    @staticmethod
    def _compare(cond: dict[str, Any], value: Any) -> bool:
        if "in" in cond:
            return value in cond["in"]
        if "not_in" in cond:
            return value not in cond["not_in"]
        if "is" in cond:
            return value is cond["is"]
        if "gt" in cond:
            return value > cond["gt"]
        if "nonempty" in cond:
            return bool(value) is cond["nonempty"]
        raise RuleSetError(f"unknown condition {cond!r}")  # caught by validation first


# -- loading and validating the rule file ---------------------------------------------

def _check_condition(cond: Any, answers: dict[str, dict[str, Any]], groups: set[str],
                     where: str) -> None:
    if not isinstance(cond, dict) or not cond:
        raise RuleSetError(f"{where}: a condition must be a mapping")
    if set(cond) & {"all", "any"}:
        (op,) = set(cond) & {"all", "any"}
        if len(cond) != 1 or not isinstance(cond[op], list) or not cond[op]:
            raise RuleSetError(f"{where}: '{op}' takes a non-empty list and nothing else")
        for i, c in enumerate(cond[op]):
            _check_condition(c, answers, groups, f"{where}.{op}[{i}]")
        return
    if "not" in cond:
        _check_condition(cond["not"], answers, groups, f"{where}.not")
        return
    if "age" in cond:
        bound = cond["age"]
        if not isinstance(bound, dict) or len(bound) != 1 or not set(bound) <= {"lt", "gte"} \
                or not isinstance(next(iter(bound.values())), int):
            raise RuleSetError(f"{where}: age takes {{lt: N}} or {{gte: N}}")
        return
    if "sex" in cond:
        if not isinstance(cond["sex"], list) or not set(cond["sex"]) <= SEXES:
            raise RuleSetError(f"{where}: sex takes a list of {sorted(SEXES)}")
        return
    if "nationality" in cond:
        if not isinstance(cond["nationality"], list):
            raise RuleSetError(f"{where}: nationality takes a list")
        return
    if "group" in cond:
        if cond["group"] not in groups:
            raise RuleSetError(f"{where}: unknown group {cond['group']!r}")
        return
    if "washington_group" in cond:
        values = answers.get("washington_group", {}).get("values", [])
        if not isinstance(cond["washington_group"], list) \
                or not set(cond["washington_group"]) <= set(values):
            raise RuleSetError(f"{where}: washington_group takes a list of {values}")
        return
    key = cond.get("answer")
    if key not in answers:
        raise RuleSetError(f"{where}: unknown answer key {key!r}")
    spec = answers[key]
    ops = set(cond) - {"answer"}
    if len(ops) != 1:
        raise RuleSetError(f"{where}: one operator per answer condition")
    (op,) = ops
    kind = spec["type"]
    if op in ("in", "not_in"):
        if kind != "choice" or not isinstance(cond[op], list) \
                or not set(cond[op]) <= set(spec["values"]):
            raise RuleSetError(f"{where}: {key} {op} {cond[op]!r} is not among its values")
    elif op == "is":
        if kind != "bool" or not isinstance(cond[op], bool):
            raise RuleSetError(f"{where}: 'is' needs a yes/no question and true/false")
    elif op == "gt":
        if kind != "int" or not isinstance(cond[op], int):
            raise RuleSetError(f"{where}: 'gt' needs a number question")
    elif op == "nonempty":
        if kind != "list" or not isinstance(cond[op], bool):
            raise RuleSetError(f"{where}: 'nonempty' needs a list question")
    else:
        raise RuleSetError(f"{where}: unknown operator {op!r}")


def parse_rule_set(doc: Any) -> RuleSet:
    """Validate the document against the rule-set schema; raise RuleSetError on the first
    problem found, saying where."""
    if not isinstance(doc, dict):
        raise RuleSetError("the rule file must be a mapping")
    extra = set(doc) - {"version", "answers", "groups", "rules", "sections"}
    if extra:
        raise RuleSetError(f"unknown top-level keys {sorted(extra)}")
    version = doc.get("version")
    if not isinstance(version, str) or not version:
        raise RuleSetError("'version' must be a non-empty string")
    answers = doc.get("answers")
    if not isinstance(answers, dict) or not answers:
        raise RuleSetError("'answers' must map question keys to their types")
    for key, spec in answers.items():
        if not isinstance(spec, dict) or spec.get("type") not in ANSWER_TYPES:
            raise RuleSetError(f"answers.{key}: type must be one of {sorted(ANSWER_TYPES)}")
        if spec["type"] in ("choice", "list", "domains") and not spec.get("values"):
            raise RuleSetError(f"answers.{key}: needs 'values'")
        if spec["type"] == "domains" and not spec.get("domains"):
            raise RuleSetError(f"answers.{key}: needs 'domains'")
        if "applies" in spec and spec["applies"] not in APPLIES:
            raise RuleSetError(f"answers.{key}: applies must be one of {sorted(APPLIES)}")
    group_docs = doc.get("groups")
    if not isinstance(group_docs, list) or not group_docs:
        raise RuleSetError("'groups' must be a non-empty list")
    group_codes = {g.get("code") for g in group_docs if isinstance(g, dict)}
    groups = []
    for i, g in enumerate(group_docs):
        if not isinstance(g, dict) or not isinstance(g.get("code"), str) or "when" not in g:
            raise RuleSetError(f"groups[{i}]: needs 'code' and 'when'")
        _check_condition(g["when"], answers, group_codes - {g["code"]}, f"groups[{i}].when")
        groups.append((g["code"], str(g.get("plan", "")), g["when"]))
    rule_docs = doc.get("rules")
    if not isinstance(rule_docs, list) or not rule_docs:
        raise RuleSetError("'rules' must be a non-empty list")
    rules = []
    allowed = {"flag", "severity", "groups", "plan", "unhcr", "unhcr_extra", "when", "reason"}
    for i, r in enumerate(rule_docs):
        where = f"rules[{i}]"
        if not isinstance(r, dict):
            raise RuleSetError(f"{where}: must be a mapping")
        if set(r) - allowed:
            raise RuleSetError(f"{where}: unknown keys {sorted(set(r) - allowed)}")
        for key in ("flag", "severity", "plan", "when", "reason"):
            if key not in r:
                raise RuleSetError(f"{where}: missing '{key}'")
        if not isinstance(r["flag"], str) or not r["flag"].isupper():
            raise RuleSetError(f"{where}: flag must be an UPPER_CASE code")
        if r["severity"] not in SEVERITIES:
            raise RuleSetError(f"{where}: severity must be one of {list(SEVERITIES)}")
        if not isinstance(r["reason"], str) or not r["reason"].strip():
            raise RuleSetError(f"{where}: reason must be text")
        rule_groups = r.get("groups", [])
        if not isinstance(rule_groups, list) or not set(rule_groups) <= group_codes:
            raise RuleSetError(f"{where}: groups must be among {sorted(group_codes)}")
        _check_condition(r["when"], answers, group_codes, f"{where}.when")
        extras = r.get("unhcr_extra") or {}
        if not isinstance(extras, dict):
            raise RuleSetError(f"{where}: unhcr_extra maps codes to conditions")
        for code, cond in extras.items():
            _check_condition(cond, answers, group_codes, f"{where}.unhcr_extra.{code}")
        rules.append(Rule(flag=r["flag"], severity=r["severity"], groups=tuple(rule_groups),
                          plan=str(r["plan"]), unhcr=r.get("unhcr"),
                          unhcr_extra=tuple(extras.items()), when=r["when"],
                          reason=r["reason"].strip()))
    sections = _parse_sections(doc.get("sections"), answers)
    return RuleSet(version=version, answers=answers, groups=groups, rules=rules,
                   sections=sections)


def _parse_sections(docs: Any, answers: dict[str, Any]) -> list[Section]:
    """The questionnaire's pages: every answer key in exactly one, so that a new question
    cannot be left off the questionnaire."""
    if not isinstance(docs, list) or not docs:
        raise RuleSetError("'sections' must be a non-empty list")
    sections: list[Section] = []
    placed: dict[str, str] = {}
    for i, s in enumerate(docs):
        where = f"sections[{i}]"
        if not isinstance(s, dict) or set(s) != {"code", "answers"}:
            raise RuleSetError(f"{where}: needs 'code' and 'answers' and nothing else")
        code = s["code"]
        if not isinstance(code, str) or not SECTION_CODE.match(code):
            raise RuleSetError(f"{where}: code must be lower_case letters, digits and _")
        if any(other.code == code for other in sections):
            raise RuleSetError(f"{where}: section {code!r} is listed twice")
        keys = s["answers"]
        if not isinstance(keys, list) or not keys:
            raise RuleSetError(f"{where}: 'answers' must be a non-empty list")
        for key in keys:
            if key not in answers:
                raise RuleSetError(f"{where}: unknown answer key {key!r}")
            if key in placed:
                raise RuleSetError(f"{where}: {key!r} is already in section {placed[key]!r}")
            placed[key] = code
        sections.append(Section(code=code, answers=tuple(keys)))
    missing = [k for k in answers if k not in placed]
    if missing:
        raise RuleSetError(f"sections: answer keys in no section: {missing}")
    return sections


def load_rule_set(path: str | Path | None = None) -> RuleSet:
    """The rule set from `path`, or the packaged rules.yaml."""
    if path is None:
        return _packaged()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError(f"cannot read rule file {path}: {exc.strerror}") from exc
    return _parse_text(text, str(path))


def _parse_text(text: str, name: str) -> RuleSet:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleSetError(f"{name}: not valid YAML: {exc}") from exc
    try:
        return parse_rule_set(doc)
    except RuleSetError as exc:
        raise RuleSetError(f"{name}: {exc}") from exc


@lru_cache(maxsize=1)
def _packaged() -> RuleSet:
    text = resources.files("fieldapp.risk").joinpath("rules.yaml").read_text(encoding="utf-8")
    return _parse_text(text, "rules.yaml")
