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
    """One call to action. `kind`: assess | refer | overdue | none.

    `open_questions` and `assessed` travel with every kind, so that a page can offer the
    assessment as a second step when a referral comes first."""

    kind: str
    open_questions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # refer: flag codes, most severe first
    referral: Referral | None = None  # overdue: the one due longest ago
    assessed: bool = True

    @property
    def assessment_pending(self) -> bool:
        """No assessment was saved, or questions of it are still open."""
        return not self.assessed or bool(self.open_questions)


PRESSING = ("urgent", "high")


def next_step(case: Case, referrals: list[Referral], *, now: datetime | None = None,
              open_questions: Iterable[str] | None = None) -> NextStep | None:
    """The most overdue referral first (a partner has not answered in time: the person
    may be waiting, so a call is the most urgent thing); then a referral to make when an
    urgent or high flag that a service in the directory would serve has no referral
    answering it (the person should not wait for the rest of the questionnaire); then the
    assessment when none was saved or questions are open; then a referral to make for
    the other served flags; else nothing. None for a closed case.

    `open_questions`: the assessment's, when the caller has them already."""
    if case.status != "open":
        return None
    now = now or clock.now()
    questions = tuple(assessment.evaluate(case).open_questions if open_questions is None
                      else open_questions)
    assessed = case.assessed_at is not None
    overdue = sorted((r for r in referrals if r.overdue(now)), key=lambda r: r.due_at)
    if overdue:
        return NextStep("overdue", referral=overdue[0], open_questions=questions,
                        assessed=assessed)
    to_refer = _flags_to_refer(case, referrals, now)
    pressing = any(severity in PRESSING for _code, severity in to_refer)
    codes = tuple(code for code, _severity in to_refer)
    if pressing:
        return NextStep("refer", flags=codes, open_questions=questions, assessed=assessed)
    if not assessed or questions:
        return NextStep("assess", open_questions=questions, assessed=assessed)
    if codes:
        return NextStep("refer", flags=codes)
    return NextStep("none")


def _flags_to_refer(case: Case, referrals: list[Referral],
                    now: datetime) -> list[tuple[str, str]]:
    """(code, severity) of the active flags that a service would serve and that no
    referral answers, most severe first; none once consent is withdrawn."""
    if case.consent_withdrawn:
        return []
    answered = {code for r in referrals if r.status in ANSWERING for code in r.flag_list}
    waiting = [f for f in case.flags if f.counts and f.code not in answered]
    if not waiting:
        return []
    served = {code for s in services.suggest(case, now=now).suggestions for code in s.flags}
    return [(f.code, f.severity) for f in sorted(waiting, key=lambda f: (
        -SEVERITY_RANK[f.severity], f.set_at, f.code)) if f.code in served]
