"""The case page (cases/detail.html): what it shows, and the forms on it.

Closing, reassigning, adding a flag by hand and dismissing one post from this page; when
one fails, the page is shown again with that form's problems (SPEC §11.3): an error
summary at the top linking to the fields, the fold-out that holds the form open, what
was typed kept, status 422 (409 for a conflict). One function builds the page for
cases.detail and for those forms, whichever blueprint they live in.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from fieldapp import authz, clock
from fieldapp.accounts.models import User
from fieldapp.cases import assessment as risk
from fieldapp.cases import choices as case_choices
from fieldapp.cases import services, vocab
from fieldapp.cases.forms import CloseForm, ReassignForm, SimpleActionForm
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.forms_support import choices
from fieldapp.referrals import case_overview, followup
from fieldapp.referrals import vocab as referral_vocab
from fieldapp.referrals.labels import status_line
from fieldapp.referrals.services import organization_name
from fieldapp.risk import labels as risk_labels
from fieldapp.risk.forms import DismissFlagForm, ManualFlagForm, flag_form
from fieldapp.transfers import services as transfers
from fieldapp.transfers import slips as transfer_slips
from fieldapp.transfers.vocab import GROUP_NAMES

# The bands are numbers ("18-59"); a case that came by transfer without the identity
# group has none.
AGE_BANDS = {"unknown": _l("Age not known")}


def labels() -> dict[str, Any]:
    """The words of the case pages' codes."""
    return {"age_bands": AGE_BANDS, "sexes": vocab.SEXES, "stages": vocab.STAGES,
            "priorities": vocab.PRIORITIES, "statuses": vocab.STATUSES,
            "flag_labels": vocab.FLAG_LABELS,
            "documents": vocab.DOCUMENT_TYPES, "relationships": vocab.RELATIONSHIPS,
            "languages": vocab.LANGUAGES, "bases": vocab.CONSENT_BASES,
            "givers": vocab.CONSENT_GIVERS, "country_name": case_choices.country_name,
            "location_name": case_choices.location_name}


def reassign_form(case: Case, *, submitted: bool = False) -> ReassignForm:
    """The reassign form, its choices the organization's assignable people."""
    form = ReassignForm() if submitted else ReassignForm(
        formdata=None, assignee_id=str(case.assignee_id or ""))
    form.assignee_id.choices = choices(
        [("", _("Nobody (owner only)"))]
        + [(str(u.id), u.name) for u in services.assignable_users(case)])
    return form


def render(case: Case, *, status: int = 200, close: CloseForm | None = None,
           reassign: ReassignForm | None = None, add_flag: ManualFlagForm | None = None,
           dismiss: tuple[str, DismissFlagForm] | None = None) -> tuple[str, int]:
    """The case page; a form passed in is one that failed, shown with its problems and
    what was typed (`dismiss`: the flag's code and its form)."""
    services.record_view(current_user, case, channel="web")
    db.session.commit()
    values = services.case_to_dict(case)
    may_reassign = authz.can(current_user, "cases.reassign", case)
    failed: FlaskForm | None = close or reassign or add_flag or (dismiss[1] if dismiss else None)
    # Fields drawn by hand, where the summary's link must go.
    anchors = {"reason": f"dismiss-{dismiss[0]}"} if dismiss else {}
    ids = [i for i in (case.owner_id, case.assignee_id, case.consent_recorded_by_id) if i]
    people = {u.id: u.name for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    open_questions = risk.evaluate(case).open_questions if case.status == "open" else ()
    return render_template(
        "cases/detail.html", case=case, v=values, people=people,
        open_questions=open_questions,
        group_labels=risk_labels.GROUP_LABELS, question_label=risk_labels.question_label,
        dismiss_form=dismiss[1] if dismiss else DismissFlagForm(formdata=None),
        dismissing=dismiss[0] if dismiss else None,
        flag_form=add_flag or flag_form(formdata=None),
        can_edit=authz.can(current_user, "cases.edit", case),
        languages_list=values["languages"],
        close_form=close or CloseForm(formdata=None, version=case.version),
        action_form=SimpleActionForm(formdata=None),
        reassign_form=(reassign or reassign_form(case)) if may_reassign else None,
        failed_form=failed, summary_anchors=anchors,
        can_close=authz.can(current_user, "cases.close", case),
        can_reopen=authz.can(current_user, "cases.reopen", case),
        **_overview(case, values, open_questions),
        **_continuity(case), **labels()), status


def _continuity(case: Case) -> dict[str, Any]:
    """The case's continuity codes and transfer history (SPEC §11.7), and whether this
    user may give or revoke codes."""
    return {"codes": transfers.codes_of(case),
            "case_transfers": transfers.transfers_of_case(case),
            "can_issue_code": transfers.may_issue(current_user, case),
            "today": clock.now().date(), "code_statuses": transfers.CODE_STATUSES,
            "transfer_statuses": transfers.STATUSES, "transfer_groups": GROUP_NAMES,
            "country_names": dict(transfer_slips.country_choices()),
            "may_see_transfer": lambda t: transfers.may_see(current_user, t)}


def _overview(case: Case, values: dict[str, Any], open_questions: Any) -> dict[str, Any]:
    """The top of the case page: flags by severity, the next step, the referrals."""
    now = clock.now()
    flags = case_overview.flags_by_severity(f for f in values["flags"] if f["active"])
    referrals = case_overview.referrals_of(case)
    latest = followup.latest_by_referral(referrals)
    return {"top_flags": [f for f in flags if f["severity"] in case_overview.PRESSING],
            "other_flags": [f for f in flags if f["severity"] not in case_overview.PRESSING],
            "referrals": referrals, "latest_updates": latest,
            "update_authors": followup.author_names(
                [u for items, _earlier in latest.values() for u in items]),
            "update_kinds": followup.KINDS,
            "next_step": case_overview.next_step(case, referrals, now=now,
                                                 open_questions=open_questions),
            "status_line": status_line, "org_name": organization_name, "now": now,
            "service_types": referral_vocab.SERVICE_TYPES}
