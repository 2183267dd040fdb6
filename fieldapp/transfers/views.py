"""Pages: giving a continuity code and printing its slip, revoking it, entering a code,
the transfers boxes, and deciding a transfer (SPEC §11.7)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from fieldapp import authz, clock
from fieldapp.accounts.views import login_limits
from fieldapp.api.transfers import code_account_limit
from fieldapp.cases import vocab as case_vocab
from fieldapp.cases.models import Case
from fieldapp.exceptions import Conflict, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import (
    apply_field_errors,
    checkable,
    choices,
    merge_errors,
    render_status,
    typed_or_raw,
)
from fieldapp.referrals.services import organization_name
from fieldapp.transfers import services, slips
from fieldapp.transfers.forms import (
    DEFAULT_DAYS,
    GROUP_CHOICES,
    ApproveForm,
    CancelForm,
    DeclineForm,
    EnterCodeForm,
    IssueCodeForm,
    RevokeCodeForm,
)
from fieldapp.transfers.models import Transfer
from fieldapp.transfers.vocab import GROUP_NAMES

bp = Blueprint("transfers", __name__, template_folder="templates")

View = Response | tuple[str, int] | str
# The service's names for the issue form's fields.
ISSUE_FIELDS = {"consent.given_by": "given_by"}


def _labels() -> dict[str, Any]:
    return {"statuses": services.STATUSES, "code_statuses": services.CODE_STATUSES,
            "group_names": GROUP_NAMES, "group_choices": GROUP_CHOICES,
            "givers": case_vocab.CONSENT_GIVERS, "stages": case_vocab.STAGES,
            "org_name": organization_name}


# -- giving a continuity code ------------------------------------------------------------

def _issuable(case_id: uuid.UUID) -> Case:
    """The case, for its owner or a case manager of its organization (others: 403)."""
    case = authz.get_or_404(Case, case_id, "cases.edit")
    if not services.may_issue(current_user, case):
        authz.deny("transfers.issue", object_type="case", object_id=case.id)
    return case


@bp.route("/cases/<uuid:case_id>/continuity-code", methods=["GET", "POST"])
@authz.rule("cases.edit")
def issue(case_id: uuid.UUID) -> View:
    """The person's consent to a code (what travels, where, until when, who consented);
    on success the slip, shown this once. Every problem in one round."""
    case = _issuable(case_id)
    if case.status != "open":
        flash(_("This case is closed. Reopen it first."), "error")
        return redirect(url_for("cases.detail", case_id=case.id))
    form = IssueCodeForm()
    form.countries.choices = choices(slips.country_choices())
    today = clock.now().date()
    # The browser's date picker offers only the days the service accepts.
    form.expires_on.render_kw = {"min": (today + timedelta(days=1)).isoformat(),
                                 "max": (today + timedelta(days=services.MAX_DAYS)).isoformat()}
    if not form.is_submitted():
        form.expires_on.data = today + timedelta(days=DEFAULT_DAYS)
    valid = form.validate_on_submit()
    status = render_status(form)
    if checkable(form):
        values = {"scope": form.scope.data or [], "countries": form.countries.data or [],
                  "expires_on": typed_or_raw(form.expires_on), "given_by": form.given_by.data}
        if valid:
            try:
                row, code = services.issue_code(current_user, case, **values)
            except (ValidationFailed, Conflict) as exc:
                db.session.rollback()
                apply_field_errors(form, exc, ISSUE_FIELDS)
                status = exc.status
            else:
                db.session.commit()
                return _slip_page(case, row, code)
        else:
            merge_errors(form, services.code_errors(case, today=today, **values), ISSUE_FIELDS)
    return render_template("transfers/issue.html", case=case, form=form,
                           **_labels()), status


def _slip_page(case: Case, row: Any, code: str) -> Response:
    """The slip, in the person's language, inside the worker's page. Never cached: the
    code is not kept anywhere, this response is its only copy."""
    language = slips.slip_language(case)
    with force_locale(language):
        slip = render_template("transfers/_slip.html", slip=slips.code_slip(row, code),
                               language=language)
    response = make_response(render_template(
        "transfers/slip.html", case=case, slip=Markup(slip),  # noqa: S704 - our template
        row=row, **_labels()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/cases/<uuid:case_id>/continuity-codes/<uuid:code_id>/revoke")
@authz.rule("cases.edit")
def revoke(case_id: uuid.UUID, code_id: uuid.UUID) -> Response:
    case = _issuable(case_id)
    if not RevokeCodeForm().validate_on_submit():
        flash(_("Your form expired or was sent from elsewhere. Please try again."), "error")
        return redirect(url_for("cases.detail", case_id=case.id, _anchor="continuity"))
    try:
        services.revoke_code(current_user, case, code_id)
    except (Conflict, NotAllowed) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("cases.detail", case_id=case.id, _anchor="continuity"))
    db.session.commit()
    flash(_("The code was revoked: the person's slip no longer works."), "success")
    return redirect(url_for("cases.detail", case_id=case.id, _anchor="continuity"))


# -- entering a code; the boxes --------------------------------------------------------------

def _index_page(form: EnterCodeForm, status: int = 200) -> tuple[str, int]:
    incoming = services.transfers_for(current_user, "incoming")
    outgoing = services.transfers_for(current_user, "outgoing")
    return render_template("transfers/index.html", form=form, incoming=incoming,
                           outgoing=outgoing, **_labels()), status


@bp.get("/transfers")
@authz.rule("cases.list")
def index() -> View:
    return _index_page(EnterCodeForm())


@bp.post("/transfers/code")
@authz.rule("cases.list")
@login_limits[0]
@code_account_limit
def enter_code() -> View:
    """A code the person brought: a request to the organization that gave it. Every code
    that cannot be used here gets one message and a 404, which the per-account budget
    of refused codes counts (as the API's)."""
    form = EnterCodeForm()
    if not form.validate_on_submit():
        if checkable(form):  # one round: the service's verdict on what was typed, too
            merge_errors(form, {"code": [services.NOT_A_CODE]}
                         if services.normalize_code(form.code.data or "") is None else {})
        return _index_page(form, render_status(form))
    try:
        transfer = services.request_transfer(current_user, form.code.data or "")
    except services.CodeRefused as exc:
        db.session.commit()  # the refusal's audit events, as after a failed login
        form.code.errors = [str(exc.message)]
        return _index_page(form, 404)
    except ValidationFailed as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        return _index_page(form, exc.status)
    issuer = organization_name(transfer.from_org_id)
    db.session.commit()
    flash(_("Request sent to %(org)s.", org=issuer), "success")
    return redirect(url_for("transfers.detail", transfer_id=transfer.id))


# -- one transfer ------------------------------------------------------------------------------

def _load(transfer_id: uuid.UUID) -> Transfer:
    """The transfer, for one of its sides; absent and not theirs look the same (404)."""
    try:
        return services.get_visible(current_user, transfer_id)
    except services.TransferNotFound:
        if db.session.get(Transfer, transfer_id) is not None:
            authz.deny("transfers.view", status=404, object_type="transfer",
                       object_id=transfer_id)
        raise


def _detail_page(transfer: Transfer, *, approve: ApproveForm | None = None,
                 decline: DeclineForm | None = None, cancel: CancelForm | None = None,
                 status: int = 200) -> tuple[str, int]:
    body = services.transfer_to_dict(transfer, current_user)
    return render_template(
        "transfers/detail.html", transfer=transfer, t=body,
        approve_form=approve or ApproveForm(prefix="approve"),
        decline_form=decline or DeclineForm(prefix="decline"),
        cancel_form=cancel or CancelForm(prefix="cancel"), **_labels()), status


@bp.get("/transfers/<uuid:transfer_id>")
@authz.rule("cases.list")
def detail(transfer_id: uuid.UUID) -> View:
    return _detail_page(_load(transfer_id))


def _decide(transfer_id: uuid.UUID, action: str,
            form: ApproveForm | DeclineForm | CancelForm) -> View:
    """One decision through its form; a refused one shows the page again with the
    problem on the form (422), or the reason it cannot be done (a flash)."""
    transfer = _load(transfer_id)
    back = url_for("transfers.detail", transfer_id=transfer_id)
    valid = form.validate_on_submit()
    if not checkable(form):
        flash(_("Your form expired or was sent from elsewhere. Please try again."), "error")
        return redirect(back)
    reason = getattr(form, "reason", None)
    keep_open = getattr(form, "keep_open", None)
    if valid:
        try:
            services.decide(current_user, transfer, action,
                            reason=reason.data if reason is not None else None,
                            keep_open=bool(keep_open.data) if keep_open is not None else False)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
        except (NotAllowed, Conflict, services.IllegalTransition) as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(back)
    if form.errors:
        return _detail_page(transfer, status=422, **{action: form})  # type: ignore[arg-type]
    db.session.commit()
    messages = {
        "approve": _("Transfer approved: %(org)s now has its own case.",
                     org=organization_name(transfer.to_org_id)),
        "decline": _("Transfer declined. %(org)s sees your reason.",
                     org=organization_name(transfer.to_org_id)),
        "cancel": _("Transfer request cancelled."),
    }
    flash(messages[action], "success")
    return redirect(back)


@bp.post("/transfers/<uuid:transfer_id>/approve")
@authz.rule("cases.list")
def approve(transfer_id: uuid.UUID) -> View:
    return _decide(transfer_id, "approve", ApproveForm(prefix="approve"))


@bp.post("/transfers/<uuid:transfer_id>/decline")
@authz.rule("cases.list")
def decline(transfer_id: uuid.UUID) -> View:
    return _decide(transfer_id, "decline", DeclineForm(prefix="decline"))


@bp.post("/transfers/<uuid:transfer_id>/cancel")
@authz.rule("cases.list")
def cancel(transfer_id: uuid.UUID) -> View:
    return _decide(transfer_id, "cancel", CancelForm(prefix="cancel"))
