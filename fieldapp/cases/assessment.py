"""Risk assessment of a case: sealed answers, derived groups and flags, manual flags.

The engine (fieldapp.risk) decides; this module stores what it decided, keeps
people's decisions (manual flags, dismissals) and records who did what.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from fieldapp.accounts.models import User
from fieldapp.audit import services as audit
from fieldapp.cases import vocab
from fieldapp.cases.models import Case, CaseFlag, CaseGroup
from fieldapp.db import utcnow
from fieldapp.exceptions import Conflict, DomainError, ValidationFailed
from fieldapp.risk import Assessment, RuleSet, registration
from fieldapp.risk.engine import SEVERITIES, SEVERITY_RANK, AnswerError, FlagResult, Known

INVALID_ANSWER = {
    "unknown_question": _l("Not a question of this questionnaire."),
    "invalid_value": _l("Not one of the allowed values."),
    "not_an_object": _l("Some fields need attention."),
}


class FlagNotFound(DomainError):
    code = "not_found"
    status = 404


def rule_set() -> RuleSet:
    return current_app.extensions["fieldapp.rules"]


def answers_of(case: Case) -> dict[str, Any]:
    return json.loads(case.assessment) if case.assessment else {}


def age_known(case: Case) -> bool:
    """False for a case that came by transfer without its identity group (no date of
    birth, no age) until someone records one."""
    return bool(case.date_of_birth) or bool(case.age_years)


def age_of(case: Case, on: date) -> int:
    """Age on `on`: from the date of birth, else the recorded age plus the years since
    (0 when neither is known: see age_known; evaluate() does not use it then)."""
    if case.date_of_birth:
        return vocab.age_on(date.fromisoformat(case.date_of_birth), on)
    recorded = int(case.age_years or 0)
    return recorded + max(0, vocab.age_on(case.registered_on, on))


def known_answers(case: Case) -> Known:
    """What the registration record already answers (fieldapp.risk.registration)."""
    return registration.known_answers(
        document_type=case.document_type if case.document_number else None,
        nationality=case.nationality, country_code=case.country_code,
        languages=json.loads(case.languages) if case.languages else [])


def evaluate(case: Case, answers: dict[str, Any] | None = None,
             on: date | None = None) -> Assessment:
    on = on or case.assessed_on or utcnow().date()
    answers = answers_of(case) if answers is None else answers
    if not age_known(case):
        return evaluate_at_every_age(case, answers)
    return rule_set().evaluate(answers, age=age_of(case, on), sex=case.sex,
                               nationality=case.nationality, known=known_answers(case))


def _ages(rules: RuleSet) -> list[int]:
    """One age from each span the rule set's age conditions tell apart."""
    bounds = {0}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("age"), dict):
                bounds.update(v for v in node["age"].values() if isinstance(v, int))
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    for _code, _plan, cond in rules.groups:
        walk(cond)
    for rule in rules.rules:
        walk(rule.when)
        walk([cond for _code, cond in rule.unhcr_extra])
    return sorted(bounds)


def evaluate_at_every_age(case: Case, answers: dict[str, Any]) -> Assessment:
    """For a case whose age is unknown: unknown is not "no", so a group or flag counts
    only when it holds at every age (the engine's three-valued logic, applied to age).
    Without this, a missing age would read as 0 and make anyone a child."""
    rules = rule_set()
    known = known_answers(case)
    results = [rules.evaluate(answers, age=years, sex=case.sex,
                              nationality=case.nationality, known=known)
               for years in _ages(rules)]
    first = results[0]
    groups = tuple(g for g in first.groups if all(g in r.groups for r in results))
    flags = []
    for flag in first.flags:
        same = [next((f for f in r.flags if f.code == flag.code), None) for r in results]
        if any(f is None for f in same):
            continue
        fired = [f for f in same if f is not None]
        reasons = tuple(x for x in flag.reasons if all(x in f.reasons for f in fired))
        flags.append(FlagResult(
            code=flag.code,
            severity=min((f.severity for f in fired), key=SEVERITY_RANK.__getitem__),
            reasons=reasons or flag.reasons, plan=flag.plan, unhcr_codes=flag.unhcr_codes,
            groups=flag.groups))
    return Assessment(groups, tuple(flags), (), first.rule_set_version)


def _reasons(row: CaseFlag) -> list[str]:
    return json.loads(row.reasons) if row.reasons else []


def recompute(case: Case, *, actor: User | None, now: datetime | None = None) -> Assessment:
    """Bring groups, rule flags and priority in line with the answers and the record.

    Manual flags are people's decisions and are left alone. A dismissed rule flag stays
    dismissed unless the reasons it fires for change.
    """
    now = now or utcnow()
    result = evaluate(case, on=case.assessed_on or now.date())
    wanted_groups = set(result.groups)
    for row in list(case.groups):
        if row.code not in wanted_groups:
            case.groups.remove(row)
    for code in sorted(wanted_groups - {g.code for g in case.groups}):
        case.groups.append(CaseGroup(code=code, **_stats_copy(case)))

    rows = {f.code: f for f in case.flags}
    for fired in result.flags:
        row = rows.get(fired.code)
        reasons = list(fired.reasons)
        if row is None:
            row = CaseFlag(id=uuid.uuid4(), code=fired.code, severity=fired.severity,
                           source="rule", active=True, rule_set_version=result.rule_set_version,
                           set_at=now, **_stats_copy(case))
            case.flags.append(row)
            row.reasons = json.dumps(reasons)
            _flag_event("flag.raised", case, row, actor)
            continue
        if row.source == "manual":
            continue
        same_reasons = _reasons(row) == reasons
        if row.dismissed_at is not None:
            if same_reasons:
                continue  # people said no to exactly this; respect it
            row.dismissed_at = None
            row.dismissed_by_id = None
            row.dismissal_reason = None
            row.active = True
            _flag_event("flag.reinstated", case, row, actor)
        elif not row.active:
            row.active = True
            _flag_event("flag.raised", case, row, actor)
        if not same_reasons or row.severity != fired.severity:
            row.severity = fired.severity
            row.reasons = json.dumps(reasons)
            row.set_at = now
        row.rule_set_version = result.rule_set_version
    fired_codes = {f.code for f in result.flags}
    for code, row in rows.items():
        if row.source == "rule" and code not in fired_codes and row.active:
            row.active = False
            _flag_event("flag.cleared", case, row, actor)
    set_priority(case)
    return result


def _stats_copy(case: Case) -> dict[str, Any]:
    """The clear fields flags and groups carry for statistics."""
    return {"organization_id": case.organization_id,
            "registered_month": case.registered_month, "location_code": case.location_code,
            "record_key": case.record_key}


def set_priority(case: Case) -> None:
    """Priority is the highest severity among the flags that count."""
    top = max((f.severity for f in case.flags if f.counts), key=SEVERITY_RANK.__getitem__,
              default="none")
    case.priority = top
    case.priority_rank = vocab.PRIORITY_RANK[top]


def _flag_event(action: str, case: Case, row: CaseFlag, actor: User | None) -> None:
    audit.record(action, actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id,
                 details={"flag": row.code, "severity": row.severity, "source": row.source})


def save_assessment(actor: User, case: Case, answers: Any, *,
                    now: datetime | None = None) -> Assessment:
    """Replace the whole questionnaire (keys left out are unanswered) and recompute."""
    now = now or utcnow()
    if case.status != "open":
        raise Conflict(_l("This case is closed. Reopen it first."))
    try:
        clean = rule_set().validate_answers(answers)
    except AnswerError as exc:
        raise ValidationFailed(
            _l("Some answers need attention."),
            fields={f"answers.{k}": [INVALID_ANSWER.get(v, INVALID_ANSWER["invalid_value"])]
                    for k, v in exc.fields.items()}) from None
    case.assessment = json.dumps(clean, sort_keys=True) if clean else None
    case.assessed_on = now.date()
    case.assessed_at = now
    case.assessed_by_id = actor.id
    case.updated_at = now
    result = recompute(case, actor=actor, now=now)
    audit.record("case.assessed", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id,
                 details={"answered": len(clean), "rule_set_version": result.rule_set_version})
    return result


def add_manual_flag(actor: User, case: Case, *, code: str, reason: str,
                    severity: str | None = None, now: datetime | None = None) -> CaseFlag:
    now = now or utcnow()
    fields: dict[str, list] = {}
    if code not in rule_set().flag_codes():
        fields["code"] = [_l("Not one of the allowed values.")]
    if severity is not None and severity not in SEVERITIES:
        fields["severity"] = [_l("Not one of the allowed values.")]
    if not reason or not reason.strip():
        fields["reason"] = [_l("Give a reason.")]
    if fields:
        raise ValidationFailed(_l("The flag was not added."), fields=fields)
    severity = severity or rule_set().default_severity(code)
    row = next((f for f in case.flags if f.code == code), None)
    if row is not None and row.counts:
        raise Conflict(_l("This flag is already active on the case."))
    if row is None:
        row = CaseFlag(id=uuid.uuid4(), code=code, **_stats_copy(case))
        case.flags.append(row)
    row.source = "manual"
    row.severity = severity
    row.active = True
    row.dismissed_at = None
    row.dismissed_by_id = None
    row.dismissal_reason = None
    row.set_by_id = actor.id
    row.set_at = now
    row.rule_set_version = None
    row.manual_reason = reason.strip()[:2000]
    case.updated_at = now
    set_priority(case)
    _flag_event("flag.added", case, row, actor)
    return row


def dismiss_flag(actor: User, case: Case, *, code: str, reason: str,
                 now: datetime | None = None) -> CaseFlag:
    now = now or utcnow()
    row = next((f for f in case.flags if f.code == code), None)
    if row is None or not row.counts:
        raise FlagNotFound(_l("No active flag with this code on the case."))
    if not reason or not reason.strip():
        raise ValidationFailed(_l("Give a reason."), fields={"reason": [_l("Give a reason.")]})
    row.active = False
    row.dismissed_at = now
    row.dismissed_by_id = actor.id
    row.dismissal_reason = reason.strip()[:2000]
    case.updated_at = now
    set_priority(case)
    _flag_event("flag.dismissed", case, row, actor)
    return row


def flag_to_dict(row: CaseFlag) -> dict[str, Any]:
    from fieldapp.risk.labels import reason_text

    rules = [r for r in rule_set().rules if r.flag == row.code]
    unhcr = list(dict.fromkeys(r.unhcr for r in rules if r.unhcr))
    return {
        "code": row.code,
        "severity": row.severity,
        "source": row.source,
        "reasons": ([reason_text(r) for r in _reasons(row)] if row.source == "rule"
                    else [row.manual_reason] if row.manual_reason else []),
        "active": row.counts,
        "dismissed": row.dismissed_at is not None,
        "dismissal_reason": row.dismissal_reason,
        "set_at": row.set_at.isoformat(),
        "set_by": str(row.set_by_id) if row.set_by_id else None,
        "rule_set_version": row.rule_set_version,
        "plan": rules[0].plan if rules else None,
        "unhcr_codes": unhcr,
    }


def assessment_response(case: Case, result: Assessment | None = None) -> dict[str, Any]:
    from fieldapp.risk.labels import question_label

    result = result or evaluate(case)
    return {
        "flags": [flag_to_dict(f) for f in case.flags],
        "groups": [g.code for g in case.groups],
        "priority": case.priority,
        "open_questions": list(result.open_questions),
        "open_question_labels": {k: question_label(k) for k in result.open_questions},
        "rule_set_version": result.rule_set_version,
        "answers": answers_of(case),
    }
