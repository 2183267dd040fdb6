"""What a case page shows before the rest (SPEC §11.3): its flags by severity, the one
next step, and the case's referrals.

Read-only: nothing here changes the case or writes the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from fieldapp import clock
from fieldapp.cases import assessment
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.referrals.models import Referral
from fieldapp.risk.engine import SEVERITY_RANK

# A flag is being taken care of while a referral for it is under way or was completed;
# a declined or cancelled one leaves it waiting for another referral.
ANSWERING = ("sent", "acknowledged", "accepted", "completed")


def flags_by_severity(flags: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Urgent, then high, medium, low; the earliest raised first within a severity."""
    return sorted(flags, key=lambda f: (-SEVERITY_RANK.get(f["severity"], 0), f["set_at"],
                                        f["code"]))


def referrals_of(case: Case) -> list[Referral]:
    """The case's referrals (erased ones are gone), newest first."""
    return list(db.session.scalars(
        sa.select(Referral).where(Referral.case_id == case.id, Referral.erased_at.is_(None))
        .order_by(Referral.created_at.desc(), Referral.id)))


@dataclass(frozen=True)
class NextStep:
    """One call to action. `kind`: assess | refer | overdue | none."""

    kind: str
    open_questions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # refer: flag codes, most severe first
    referral: Referral | None = None  # overdue: the one due longest ago


def next_step(case: Case, referrals: list[Referral], *, now: datetime | None = None,
              open_questions: Iterable[str] | None = None) -> NextStep | None:
    """The most overdue referral first (a partner has not answered in time: the person
    may be waiting, so a call is the most urgent thing); else the assessment when none
    was saved or questions are open; else a referral to make for active flags that a
    service in the directory would serve and that no referral answers; else nothing.
    None for a closed case.

    `open_questions`: the assessment's, when the caller has them already."""
    if case.status != "open":
        return None
    now = now or clock.now()
    questions = tuple(assessment.evaluate(case).open_questions if open_questions is None
                      else open_questions)
    overdue = sorted((r for r in referrals if r.overdue(now)), key=lambda r: r.due_at)
    if overdue:
        return NextStep("overdue", referral=overdue[0])
    if case.assessed_at is None or questions:
        return NextStep("assess", open_questions=questions)
    if not case.consent_withdrawn:
        answered = {code for r in referrals if r.status in ANSWERING for code in r.flag_list}
        waiting = [f for f in case.flags if f.counts and f.code not in answered]
        if waiting:
            served = {code for s in services.suggest(case, now=now).suggestions
                      for code in s.flags}
            to_refer = [f.code for f in sorted(waiting, key=lambda f: (
                -SEVERITY_RANK[f.severity], f.set_at, f.code)) if f.code in served]
            if to_refer:
                return NextStep("refer", flags=tuple(to_refer))
    return NextStep("none")
