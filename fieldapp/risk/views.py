"""The risk questionnaire of a case, one short section per page, and the flag actions.

/cases/<id>/assessment is the summary ("check your answers") page, or the first section
when nothing has been answered yet; /cases/<id>/assessment/<section> asks one section
and saves it at once, so a lost connection loses one section at most. Plain form posts,
no JavaScript.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.cases import assessment, case_page
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import apply_field_errors
from fieldapp.risk import labels, services
from fieldapp.risk.engine import SEVERITY_RANK
from fieldapp.risk.forms import (
    DismissFlagForm,
    build_section_form,
    error_entries,
    flag_form,
    section_answers,
)

bp = Blueprint("risk", __name__, url_prefix="/cases", template_folder="templates")

View = Response | tuple[str, int] | str

# The pages used to live on the cases blueprint. Templates not yet moved over still build
# these names; they give the same URLs as before. Remove once nothing uses them.
OLD_ENDPOINTS = {"cases.assessment": "risk.assessment", "cases.add_flag": "risk.add_flag",
                 "cases.dismiss_flag": "risk.dismiss_flag"}


@bp.record_once
def _keep_old_endpoint_names(state: Any) -> None:
    state.app.url_build_error_handlers.append(_old_endpoint_url)


def _old_endpoint_url(error: BuildError, endpoint: str, values: dict[str, Any]) -> str | None:
    new = OLD_ENDPOINTS.get(endpoint)
    return url_for(new, **values) if new else None


def _load(case_id: uuid.UUID) -> Case:
    return authz.get_or_404(Case, case_id, "cases.edit")


@bp.get("/<uuid:case_id>/assessment", endpoint="assessment")
@authz.rule("cases.edit")
def summary(case_id: uuid.UUID) -> View:
    """Every section's answers with a "Change" link each, and what they add up to."""
    case = _load(case_id)
    plan = services.plan(case)
    first = next((p for p in plan if p.asked), None)
    if case.assessed_at is None and first is not None:
        return redirect(url_for("risk.section", case_id=case.id, code=first.code))
    case_services.record_view(current_user, case, channel="web")
    db.session.commit()
    rules, answers = assessment.rule_set(), assessment.answers_of(case)
    known = assessment.known_answers(case)
    sections = [(p, labels.section_title(p.code),
                 [(labels.question_label(k), labels.answer_lines(rules, k, answers, known))
                  for k in rules.section(p.code).answers
                  if k in p.asked or k in p.from_registration]) for p in plan]
    flags = sorted((f for f in case.flags if f.counts),
                   key=lambda f: (-SEVERITY_RANK[f.severity], f.code))
    return render_template("risk/summary.html", case=case, sections=sections, flags=flags,
                           open_questions=assessment.evaluate(case).open_questions,
                           labels=labels)


# -- one section -----------------------------------------------------------------------

@bp.route("/<uuid:case_id>/assessment/<code>", methods=["GET", "POST"])
@authz.rule("cases.edit")
def section(case_id: uuid.UUID, code: str) -> View:
    """One section's questions; "Save and continue" saves them at once."""
    case = _load(case_id)
    pages = services.pages(case)
    index = next((i for i, p in enumerate(pages) if p.code == code), None)
    if index is None:
        if assessment.rule_set().section(code) is None:
            abort(404)
        # Nothing to ask this person here (it does not apply, or registration answered).
        return redirect(url_for("risk.assessment", case_id=case.id))
    asked = list(pages[index].asked)
    rules = assessment.rule_set()
    to_summary = request.args.get("return") == "summary"  # a fixed value, never a URL
    form, questions = build_section_form(
        rules, asked, assessment.answers_of(case),
        formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        case_services.record_view(current_user, case, channel="web")
        db.session.commit()
    elif form.validate_on_submit():
        try:
            services.save_answers(current_user, case, section_answers(form, rules, asked),
                                  replacing=asked)
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
            return _render(case, form, questions, pages, index, to_summary, exc.status)
        db.session.commit()
        flash(_("Saved: %(section)s.", section=labels.section_title(code)), "success")
        following = None if to_summary else services.next_page(case, code)
        return redirect(url_for("risk.section", case_id=case.id, code=following.code)
                        if following else url_for("risk.assessment", case_id=case.id))
    return _render(case, form, questions, pages, index, to_summary,
                   422 if form.errors else 200)


def _render(case: Case, form: Any, questions: list, pages: list, index: int,
            to_summary: bool, status: int) -> tuple[str, int]:
    page = pages[index]
    if to_summary or (index == 0 and case.assessed_at is not None):
        back = url_for("risk.assessment", case_id=case.id)
    elif index == 0:
        back = url_for("cases.detail", case_id=case.id)
    else:
        back = url_for("risk.section", case_id=case.id, code=pages[index - 1].code)
    _say_what_registration_recorded(case, form, questions)
    errors = [(None, message) for message in form.form_errors] + error_entries(form)
    if errors:
        g.error_summary = True  # base.html may title the page and focus the summary
    return render_template(
        "risk/section.html", case=case, form=form, questions=questions,
        title=labels.section_title(page.code), number=index + 1, total=len(pages),
        from_registration=[labels.question_label(k) for k in page.from_registration],
        errors=errors, back=back, rules=assessment.rule_set(), labels=labels), status


def _say_what_registration_recorded(case: Case, form: Any, questions: list) -> None:
    """The document question is asked when registration recorded none (or when an answer
    contradicts the document it recorded): show beside it what registration recorded,
    and when that was "none / not shown", put the question so that the worker sees why
    it is asked again."""
    if "document_status" not in dict(questions):
        return
    field = form["document_status"]
    recorded = case.document_type if case.document_number else None
    if recorded is None:
        field.label.text = str(labels.DOCUMENT_NOT_RECORDED)
    field.description = _("At registration: %(answer)s.",
                          answer=labels.recorded_document(recorded))


# -- flags -------------------------------------------------------------------------------

@bp.post("/<uuid:case_id>/flags")
@authz.rule("cases.edit")
def add_flag(case_id: uuid.UUID) -> View:
    """A flag by hand; the case page again, the form open with its problems, when not."""
    case = _load(case_id)
    form = flag_form()
    # The form checks every field the service does (choices, a reason), in one round.
    if not form.validate_on_submit():
        return case_page.render(case, add_flag=form, status=422)
    try:
        assessment.add_manual_flag(current_user, case, code=form.code.data,
                                   reason=form.reason.data or "",
                                   severity=form.severity.data or None)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        return case_page.render(case, add_flag=form, status=exc.status)
    db.session.commit()
    flash(_("Flag added."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.post("/<uuid:case_id>/flags/<code>/dismiss")
@authz.rule("cases.edit")
def dismiss_flag(case_id: uuid.UUID, code: str) -> View:
    """Dismiss with a reason; the case page again, that flag's form open, when not."""
    case = _load(case_id)
    form = DismissFlagForm()
    if not form.validate_on_submit():
        return case_page.render(case, dismiss=(code, form), status=422)
    try:
        assessment.dismiss_flag(current_user, case, code=code, reason=form.reason.data or "")
    except (ValidationFailed, assessment.FlagNotFound) as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        return case_page.render(case, dismiss=(code, form), status=exc.status)
    db.session.commit()
    flash(_("Flag dismissed."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))
