"""The questionnaire of one case: its sections as this person gets them, and saving one
section at a time through the assessment service (fieldapp.cases.assessment)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from fieldapp.accounts.models import User
from fieldapp.cases import assessment
from fieldapp.cases.models import Case
from fieldapp.db import utcnow
from fieldapp.risk import Assessment


@dataclass(frozen=True)
class SectionPlan:
    """One section for one person: what it asks, and what registration already answered."""

    code: str
    asked: tuple[str, ...]
    from_registration: tuple[str, ...]


def plan(case: Case, *, on: date | None = None) -> list[SectionPlan]:
    """The sections that have something for this person, in order.

    A question is left out when it does not apply (age, sex, an earlier answer) or when
    the registration record settles it for every rule (assessment.known_answers). It is
    asked again only if a saved answer contradicts the record, so that one can be fixed.
    """
    on = on or utcnow().date()
    rules = assessment.rule_set()
    answers = assessment.answers_of(case)
    age = assessment.age_of(case, on)
    known = assessment.known_answers(case)
    still_open = set(assessment.evaluate(case, answers, on=on).open_questions)
    out = []
    for section in rules.sections:
        asked: list[str] = []
        settled: list[str] = []
        for key in section.answers:
            if not rules.applicable(key, age=age, sex=case.sex, answers=answers):
                continue
            if key in known and (any(answers[key] == v for v in known[key]) if key in answers
                                 else key not in still_open):
                settled.append(key)
            else:
                asked.append(key)
        if asked or settled:
            out.append(SectionPlan(section.code, tuple(asked), tuple(settled)))
    return out


def pages(case: Case) -> list[SectionPlan]:
    """The sections that ask something: the questionnaire's pages, in order."""
    return [p for p in plan(case) if p.asked]


def next_page(case: Case, after: str) -> SectionPlan | None:
    """The page that follows section `after`, as things are now (an answer just saved may
    have changed what applies)."""
    order = [s.code for s in assessment.rule_set().sections]
    return next((p for p in pages(case) if order.index(p.code) > order.index(after)), None)


def save_answers(actor: User, case: Case, answers: dict[str, Any], *,
                 replacing: Collection[str]) -> Assessment:
    """Replace the answers to the questions in `replacing` (one section's) and keep every
    other saved answer; then recompute groups, flags and priority.

    Keys outside `replacing` in `answers` are ignored. A follow-up that no longer applies
    after this save (LGBTIQ+ questions once the person said no) loses its answer.
    """
    rules = assessment.rule_set()
    merged = {k: v for k, v in assessment.answers_of(case).items() if k not in replacing}
    merged.update({k: v for k, v in answers.items() if k in replacing})
    age = assessment.age_of(case, utcnow().date())
    for key in replacing:
        if key in merged and key in rules.answers and not rules.applicable(
                key, age=age, sex=case.sex, answers=merged):
            del merged[key]
    return assessment.save_assessment(actor, case, merged)
