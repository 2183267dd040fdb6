"""The risk assessment page and the flag actions of a case."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.cases import assessment
from fieldapp.cases import risk_labels as labels
from fieldapp.cases.assessment_forms import (
    DismissFlagForm,
    ManualFlagForm,
    build_form,
    form_answers,
)
from fieldapp.cases.models import Case
from fieldapp.cases.views import bp
from fieldapp.db import utcnow
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db

View = Response | tuple[str, int] | str


@bp.route("/<uuid:case_id>/assessment", methods=["GET", "POST"], endpoint="assessment")
@authz.rule("cases.edit")
def assessment_page(case_id: uuid.UUID) -> View:
    case = authz.get_or_404(Case, case_id, "cases.edit")
    rules = assessment.rule_set()
    previous = assessment.answers_of(case)
    age = assessment.age_of(case, utcnow().date())
    form, sections = build_form(rules, age=age, sex=case.sex, answers=previous,
                                formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            result = assessment.save_assessment(current_user, case,
                                                form_answers(form, rules, previous))
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return _render(case, form, sections, 422)
        db.session.commit()
        if result.flags:
            flash(_("Assessment saved. Priority: %(priority)s.",
                    priority=labels.SEVERITY_LABELS.get(case.priority, case.priority)),
                  "success")
        else:
            flash(_("Assessment saved. No risk flags."), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    if request.method == "GET":
        from fieldapp.cases import services

        services.record_view(current_user, case, channel="web")
        db.session.commit()
    return _render(case, form, sections, 422 if form.errors else 200)


def _render(case: Case, form, sections, status: int) -> tuple[str, int]:
    return render_template("cases/assessment.html", case=case, form=form, sections=sections,
                           labels=labels), status


@bp.post("/<uuid:case_id>/flags")
@authz.rule("cases.edit")
def add_flag(case_id: uuid.UUID) -> Response:
    case = authz.get_or_404(Case, case_id, "cases.edit")
    form = flag_form()
    if form.validate_on_submit():
        try:
            assessment.add_manual_flag(current_user, case, code=form.code.data,
                                       reason=form.reason.data or "",
                                       severity=form.severity.data or None)
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("cases.detail", case_id=case_id))
        db.session.commit()
        flash(_("Flag added."), "success")
    else:
        flash(_("Choose a flag and give a reason."), "error")
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.post("/<uuid:case_id>/flags/<code>/dismiss")
@authz.rule("cases.edit")
def dismiss_flag(case_id: uuid.UUID, code: str) -> Response:
    case = authz.get_or_404(Case, case_id, "cases.edit")
    form = DismissFlagForm()
    if form.validate_on_submit():
        try:
            assessment.dismiss_flag(current_user, case, code=code, reason=form.reason.data or "")
        except (ValidationFailed, assessment.FlagNotFound) as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("cases.detail", case_id=case_id))
        db.session.commit()
        flash(_("Flag dismissed."), "success")
    else:
        flash(_("Give a reason for dismissing the flag."), "error")
    return redirect(url_for("cases.detail", case_id=case_id))


def flag_form() -> ManualFlagForm:
    from fieldapp.forms_support import choices

    form = ManualFlagForm()
    rules = assessment.rule_set()
    form.code.choices = choices((c, labels.flag_label(c)) for c in rules.flag_codes())
    form.severity.choices = choices([("", _("As in the rule table"))]
                                    + list(labels.SEVERITY_LABELS.items()))
    return form
