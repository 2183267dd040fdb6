"""Case pages: list and search, register, view, edit, close, reopen, reassign."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz, keyset
from fieldapp.accounts.models import User
from fieldapp.cases import case_page, inputs, services, vocab
from fieldapp.cases import choices as case_choices
from fieldapp.cases.forms import (
    CaseForm,
    CloseForm,
    FilterForm,
    SearchForm,
    SimpleActionForm,
    WithdrawConsentForm,
    fill_from_case,
    form_to_data,
    place_errors,
)
from fieldapp.cases.models import Case
from fieldapp.db import utcnow
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import apply_field_errors, checkable, choices, render_status
from fieldapp.paging import page_number
from fieldapp.referrals import case_overview

bp = Blueprint("cases", __name__, url_prefix="/cases", template_folder="templates")

View = Response | tuple[str, int] | str
PER_PAGE = 25
FILTER_ARGS = ("status", "priority", "flag", "location_code", "stage")  # FilterForm's


def _filter_form() -> FilterForm:
    form = FilterForm(request.args)
    form.flag.choices = choices([("", _("Any")), *vocab.FLAG_LABELS.items()])
    form.location_code.choices = [*choices([("", _("Any"))]),
                                  *case_choices.location_choices(countries_too=True)]
    return form


def _list_page(cases: list[Case], total: int, page: int, filters: FilterForm,
               search: SearchForm, searched: bool, *, next_url: str | None = None,
               previous_url: str | None = None) -> str:
    return render_template("cases/list.html", cases=cases, total=total, page=page,
                           per_page=PER_PAGE, filters=filters, search=search,
                           searched=searched, next_url=next_url, previous_url=previous_url,
                           **case_page.labels())


def _page_url(position: keyset.Position | None) -> str | None:
    """The list at a cursor's position, with the same filters (and no page number)."""
    if position is None:
        return None
    args = {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}
    return url_for("cases.index", **args,
                   cursor=keyset.encode(position, purpose=services.CURSOR_PURPOSE))


@bp.get("")
@authz.rule("cases.list")
def index() -> str:
    filters = _filter_form()
    page = page_number(request.args)
    cursor = None
    if request.args.get("cursor"):
        try:
            cursor = keyset.decode(request.args["cursor"], purpose=services.CURSOR_PURPOSE)
        except keyset.BadCursor:
            flash(_("That page link no longer works; here is the first page."), "error")
            page = 1
    if not filters.validate():
        flash(_("Some filters were not understood and were ignored."), "error")
        filters_value = services.CaseFilters()
    else:
        filters_value = services.CaseFilters(**{k: v or None for k, v in filters.data.items()})
    found = services.list_page(current_user, filters_value, page=page, cursor=cursor,
                               per_page=PER_PAGE)
    html = _list_page(found.cases, found.total, found.page, filters, SearchForm(),
                      searched=False, next_url=_page_url(found.next),
                      previous_url=_page_url(found.previous))
    db.session.commit()  # the audit event of who saw which names
    return html


@bp.post("/search")
@authz.rule("cases.list")
def search() -> View:
    """Search by POST, so names and document numbers never appear in a URL."""
    form = SearchForm()
    if not form.validate_on_submit():
        return redirect(url_for("cases.index"))
    cases = services.search_cases(current_user, form.q.data or "")
    html = _list_page(cases, len(cases), 1, _filter_form(), form, searched=True)
    db.session.commit()
    return html


def _case_form(**kwargs: Any) -> CaseForm:
    form = CaseForm(**kwargs)
    form.nationality.choices = case_choices.nationality_choices()
    # A blank first: a place is chosen, never taken silently from the top of the list.
    form.location_code.choices = [*choices([("", "—")]), *case_choices.location_choices()]
    if not form.is_submitted():
        org_place = current_user.organization.location_code
        if not form.location_code.data and org_place:
            form.location_code.data = org_place
        if not form.nationality.data:
            form.nationality.data = "VEN"
    return form


def _render_form(form: CaseForm, case: Case | None, status: int = 200,
                 duplicates: list[services.DuplicateCandidate] | None = None,
                 current: dict[str, Any] | None = None) -> tuple[str, int]:
    return render_template("cases/form.html", form=form, case=case, duplicates=duplicates,
                           current=current, **case_page.labels()), status


@bp.route("/new", methods=["GET", "POST"])
@authz.rule("cases.create")
def new() -> View:
    form = _case_form()
    if not form.is_submitted():
        form.household.append_entry()
        return _render_form(form, None)
    if form.add_member.data:
        form.household.append_entry()
        return _render_form(form, None)
    parsed = _validate(form, require_consent=True)
    if parsed is None:
        return _render_form(form, None, 422)
    duplicates = services.find_duplicates(
        current_user, given_name=parsed.given_name, family_name=parsed.family_name,
        date_of_birth=parsed.date_of_birth.isoformat() if parsed.date_of_birth else None,
        document_number=parsed.document_number)
    reason = (form.duplicate_reason.data or "").strip()
    if duplicates and not reason:
        db.session.commit()  # the audit event of the check
        form.duplicate_reason.errors = [_("Explain why this is a different person, "
                                          "or open the existing case instead.")]
        return _render_form(form, None, 409, duplicates=duplicates)
    case = services.register_case(current_user, parsed,
                                  duplicate_reason=reason if duplicates else None)
    db.session.commit()
    flash(_("Case %(ref)s registered.", ref=case.reference), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


def _validate(form: CaseForm, *, require_consent: bool) -> inputs.CaseInput | None:
    """The form's own checks and the case validator in one round: every problem is on
    the form when this returns None. Saves nothing."""
    valid = form.validate_on_submit()
    if not checkable(form):
        return None
    data, rows = form_to_data(form)
    try:
        parsed = inputs.parse_case(data, today=utcnow().date(), require_consent=require_consent)
    except ValidationFailed as exc:
        form.form_errors.extend(place_errors(form, exc.fields, rows))
        return None
    return parsed if valid else None


def _load(case_id: uuid.UUID, need: str = "cases.view") -> Case:
    return authz.get_or_404(Case, case_id, need)


@bp.get("/<uuid:case_id>")
@authz.rule("cases.view")
def detail(case_id: uuid.UUID) -> View:
    return case_page.render(_load(case_id))


@bp.route("/<uuid:case_id>/edit", methods=["GET", "POST"])
@authz.rule("cases.edit")
def edit(case_id: uuid.UUID) -> View:
    case = _load(case_id, "cases.edit")
    form = _case_form()
    if not form.is_submitted():
        fill_from_case(form, services.current_input(case))
        form.version.data = str(case.version)
        services.record_view(current_user, case, channel="web")
        db.session.commit()
        return _render_form(form, case)
    if form.add_member.data:
        form.household.append_entry()
        return _render_form(form, case)
    parsed = _validate(form, require_consent=False)
    if parsed is None:
        return _render_form(form, case, 422)
    try:
        expected = int(form.version.data or 0)
        services.update_case(current_user, case, parsed, expected_version=expected)
    except ValidationFailed as exc:
        db.session.rollback()
        form.form_errors.extend(place_errors(form, exc.fields, []))
        if not exc.fields and exc.message:
            form.form_errors.append(str(exc.message))
        return _render_form(form, case, 422)
    except Conflict as exc:
        # Nothing was saved. Keep what the user typed, show what is there now.
        db.session.rollback()
        fresh = _load(case_id, "cases.edit")
        form.form_errors.append(str(exc.message))
        form.version.data = str(fresh.version)
        return _render_form(form, fresh, 409, current=services.case_to_dict(fresh))
    db.session.commit()
    flash(_("Case %(ref)s saved.", ref=case.reference), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.post("/<uuid:case_id>/close")
@authz.rule("cases.close")
def close(case_id: uuid.UUID) -> View:
    """Close with a reason; the case page again with the problem when it fails."""
    case = _load(case_id, "cases.close")
    form = CloseForm()
    if not form.validate_on_submit():
        return case_page.render(case, close=form, status=422)
    try:
        services.close_case(current_user, case, reason=form.reason.data or "",
                            expected_version=int(form.version.data or 0))
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        form.version.data = str(case.version)  # what is there now: a second try may pass
        return case_page.render(case, close=form, status=exc.status)
    db.session.commit()
    flash(_("Case closed."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.post("/<uuid:case_id>/reopen")
@authz.rule("cases.reopen")
def reopen(case_id: uuid.UUID) -> Response:
    case = _load(case_id, "cases.reopen")
    if SimpleActionForm().validate_on_submit():
        services.reopen_case(current_user, case)
        db.session.commit()
        flash(_("Case reopened."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.post("/<uuid:case_id>/reassign")
@authz.rule("cases.reassign")
def reassign(case_id: uuid.UUID) -> View:
    case = _load(case_id, "cases.reassign")
    form = case_page.reassign_form(case, submitted=True)
    if not form.validate_on_submit():
        return case_page.render(case, reassign=form, status=422)
    assignee = db.session.get(User, uuid.UUID(form.assignee_id.data)) \
        if form.assignee_id.data else None
    services.reassign_case(current_user, case, assignee=assignee)
    db.session.commit()
    flash(_("Case reassigned."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.route("/<uuid:case_id>/withdraw-consent", methods=["GET", "POST"])
@authz.rule("cases.edit")
def withdraw_consent(case_id: uuid.UUID) -> View:
    """A confirmation page saying what withdrawing does, with the reason required."""
    case = _load(case_id, "cases.edit")
    if case.consent_withdrawn:
        flash(_("Consent was already withdrawn."), "error")
        return redirect(url_for("cases.detail", case_id=case_id))
    form = WithdrawConsentForm()
    if form.validate_on_submit():
        try:
            services.withdraw_consent(current_user, case, reason=form.reason.data)
        except Conflict as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("cases.detail", case_id=case_id))
        db.session.commit()
        flash(_("Withdrawal of consent recorded. No new referrals can be made for this case."),
              "success")
        return redirect(url_for("cases.detail", case_id=case_id))
    services.record_view(current_user, case, channel="web")  # the page names the person
    db.session.commit()
    open_referrals = [r for r in case_overview.referrals_of(case)
                      if r.status in ("sent", "acknowledged", "accepted")]
    return render_template("cases/withdraw_consent.html", case=case, form=form,
                           names=case.names_or_none(), open_referrals=open_referrals,
                           **case_page.labels()), render_status(form)

