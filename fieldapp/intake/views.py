"""Offline intake pages: the phone's outbox, records kept for a person, possible
duplicates, phones; and what the service worker and the outbox script fetch.

The registration page itself stays `/cases/new` (cases.views): same URL, same field
names, working without JavaScript when online. `static/intake/capture.js` makes it
work without a connection.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts.models import User
from fieldapp.cases import choices as case_choices
from fieldapp.cases import inputs
from fieldapp.cases import vocab as case_vocab
from fieldapp.cases.forms import form_to_data, place_errors
from fieldapp.cases.models import Case
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import checkable
from fieldapp.intake import services
from fieldapp.intake.forms import ConfirmForm, DuplicateDecisionForm, case_form, fill_from_body
from fieldapp.intake.models import DuplicateReview, IntakeDevice, IntakeRecord

bp = Blueprint("intake", __name__, template_folder="templates")

View = Response | tuple[str, int] | str

# The pages the service worker keeps for offline use, fetched by the worker itself with
# this header (never a page the user was shown): the empty registration form and the
# outbox, without flashed messages and without anything from the server's lists.
SHELL_HEADER = "X-Fieldapp-Offline"
SHELL_ENDPOINTS = frozenset({"cases.new", "intake.outbox"})


def _shell_request() -> bool:
    return request.method == "GET" and request.headers.get(SHELL_HEADER) == "shell"


@bp.before_app_request
def _hold_flashes_for_the_user() -> Response | None:
    """A shell fetched while a message waits for the user would swallow the message, or
    cache it: fetch nothing this time (the worker tries again at the next visit)."""
    if _shell_request() and request.endpoint in SHELL_ENDPOINTS and "_flashes" in session:
        return Response(status=204)
    return None


@bp.after_app_request
def _mark_shell(response: Response) -> Response:
    """Only a 200 answer to the worker's own GET of a shell page may be cached offline."""
    if _shell_request() and request.endpoint in SHELL_ENDPOINTS \
            and response.status_code == 200:
        response.headers["X-Fieldapp-Offline-Shell"] = "1"
    return response


@bp.app_template_global()
def intake_duplicates(case: Case) -> list[DuplicateReview]:
    """For the case page: possible duplicates raised when a phone's record was registered."""
    return services.open_duplicates(case)


@bp.app_template_global()
def intake_same_person(case: Case) -> list[DuplicateReview]:
    return services.linked_as_same(case)


@bp.app_template_global()
def intake_shell() -> bool:
    """This page is being fetched to be kept offline: nothing from the server's lists."""
    return _shell_request()


@bp.app_template_global()
def intake_waiting_count() -> int:
    return len(services.waiting_records(current_user))


@bp.app_template_global()
def intake_texts() -> dict[str, str]:
    """What the outbox scripts say, in the reader's language. Placeholders stay as
    %(name)s for the script to fill (gettext without variables does not format)."""
    return {
        "ready": _("Ready to work without signal: this form and the key that seals "
                   "records are on this phone."),
        "not_ready": _("Not ready to work without signal yet: open this page once more "
                       "while connected."),
        "offline": _("No connection: what you save now is sealed and kept on this phone "
                     "until the connection returns."),
        "waiting": gettext("Waiting: %(count)s"),
        "oldest": gettext("Waiting: %(count)s, the oldest saved %(when)s"),
        "none_waiting": _("Nothing is waiting on this phone."),
        "summary_title": _("There is a problem"),
        "entry": gettext("%(field)s: %(message)s"),
        "required": _("This field is required."),
        "dob_or_age": _("Give the date of birth or, when unknown, the age in years."),
        "consent": _("Record the legal basis for processing and that it was explained."),
        "member": gettext("Member %(n)d"),
        "cannot_seal": _("This phone cannot keep records without signal yet (it has not "
                         "fetched the server's key). Nothing was saved: keep your notes and "
                         "register the person when connected."),
        "row": gettext("Saved %(when)s"),
        "state_waiting": _("waiting to be sent"),
        "state_conflict": _("refused: the server already has another record with the "
                            "same identifier; kept on this phone"),
        "state_refused": _("the server cannot open it; kept on this phone"),
        "state_other_org": _("saved for another organization's account; kept until it "
                             "logs in"),
        "sending": _("Sending…"),
        "sent": gettext("Sent: %(count)s"),
        "not_sent": _("Not sent now: no connection, or you are logged out. The records stay "
                      "on this phone."),
    }


# -- what scripts fetch ---------------------------------------------------------------------

@bp.get("/sw.js")
@authz.rule(authz.PUBLIC)
def service_worker() -> Response:
    """At the root, so that its scope covers /cases/new and /intake/outbox."""
    path = Path(current_app.static_folder or "") / "intake" / "sw.js"
    response = Response(path.read_bytes(), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/intake/ping")
@authz.rule(authz.PUBLIC)
def ping() -> Response:
    """Is the server reachable? Asked every half minute while the form is open, so it
    must not keep a session alive: it looks at nobody (no session, no user)."""
    return Response(status=204)


@bp.get("/intake/session")
@authz.rule("cases.create")
def session_token() -> Response:
    """A fresh CSRF token for the outbox's API calls, and whose phone this is now. A
    logged-out phone gets the login redirect instead, and keeps its records."""
    return jsonify({"csrf_token": generate_csrf(),
                    "organization_id": str(current_user.organization_id)})


# -- pages ----------------------------------------------------------------------------------

@bp.get("/intake/outbox")
@authz.rule("cases.create")
def outbox() -> str:
    shell = _shell_request()
    records = [] if shell else services.waiting_records(current_user)
    senders = _names({r.sender_id for r in records})
    return render_template("intake/outbox.html", records=records, senders=senders,
                           shell=shell)


def _names(ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {u.id: u.name for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def _load_record(record_id: uuid.UUID) -> IntakeRecord:
    return authz.get_or_404(IntakeRecord, record_id, "intake.review")


@bp.route("/intake/records/<uuid:record_id>", methods=["GET", "POST"])
@authz.rule("intake.review")
def review(record_id: uuid.UUID) -> View:
    """A kept record, opened in the registration form with every problem listed; fixed,
    it is registered through the normal path, dated at capture."""
    record = _load_record(record_id)
    if not record.waiting:
        if record.case_id:
            return redirect(url_for("cases.detail", case_id=record.case_id))
        return redirect(url_for("intake.outbox"))
    form = case_form()
    if not form.is_submitted():
        body = services.waiting_body(current_user, record)
        db.session.commit()  # the audit event of who opened it
        fill_from_body(form, body)
        if not form.household.entries:
            form.household.append_entry()
        _check(form, record, body)
        return _render(form, record)
    if form.add_member.data:
        form.household.append_entry()
        return _render(form, record)
    parsed = _validate(form, record)
    if parsed is None:
        return _render(form, record, 422)
    try:
        case, duplicates = services.register_waiting(current_user, record, parsed)
    except ValidationFailed as exc:
        db.session.rollback()
        form.form_errors.extend(place_errors(form, exc.fields, []))
        if not exc.fields and exc.message:
            form.form_errors.append(str(exc.message))
        return _render(form, record, 422)
    except Conflict as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("intake.outbox"))
    db.session.commit()
    flash(_("Case %(ref)s registered.", ref=case.reference), "success")
    if duplicates:
        flash(_("This person may already be registered: decide on the case page."), "error")
    return redirect(url_for("cases.detail", case_id=case.id))


def _check(form: Any, record: IntakeRecord, body: dict[str, Any]) -> None:
    """Every problem of the kept record, on the form at once (nothing is saved)."""
    try:
        inputs.parse_case(body, today=record.captured_at.date())
    except ValidationFailed as exc:
        rows = list(range(len(form.household.entries)))
        form.form_errors.extend(place_errors(form, exc.fields, rows))


def _validate(form: Any, record: IntakeRecord) -> inputs.CaseInput | None:
    valid = form.validate_on_submit()
    if not checkable(form):
        return None
    data, rows = form_to_data(form)
    try:
        parsed = inputs.parse_case(data, today=record.captured_at.date())
    except ValidationFailed as exc:
        form.form_errors.extend(place_errors(form, exc.fields, rows))
        return None
    return parsed if valid else None


def _render(form: Any, record: IntakeRecord, status: int = 200) -> tuple[str, int]:
    return render_template(
        "intake/review.html", form=form, case=None, record=record, duplicates=None,
        current=None, sender=_names({record.sender_id}).get(record.sender_id),
        sexes=case_vocab.SEXES, location_name=case_choices.location_name), status


@bp.post("/intake/duplicates/<uuid:review_id>")
@authz.rule("cases.edit")
def resolve_duplicate(review_id: uuid.UUID) -> View:
    review = db.session.get(DuplicateReview, review_id)
    if review is None:
        abort(404)
    authz.require("cases.edit", review.case, object_type="case")
    form = DuplicateDecisionForm()
    back = url_for("cases.detail", case_id=review.case_id, _anchor="duplicates")
    if not form.validate_on_submit():
        flash(_("Choose whether it is the same person; for a different person, say why."),
              "error")
        return redirect(back)
    try:
        services.resolve_duplicate(current_user, review, decision=form.decision.data,
                                   reason=form.reason.data)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        messages = [str(m) for ms in exc.fields.values() for m in ms] or [str(exc.message)]
        for message in messages:
            flash(message, "error")
        return redirect(back)
    db.session.commit()
    flash(_("Decision saved."), "success")
    return redirect(back)


@bp.get("/intake/devices")
@authz.rule("intake.device")
def devices() -> str:
    rows = services.visible_devices(current_user)
    return render_template("intake/devices.html", devices=rows,
                           owners=_names({d.user_id for d in rows}), form=ConfirmForm())


@bp.post("/intake/devices/<uuid:device_id>/revoke")
@authz.rule("intake.device")
def revoke_device(device_id: uuid.UUID) -> Response:
    device = authz.get_or_404(IntakeDevice, device_id, "intake.device")
    form = ConfirmForm()
    if form.validate_on_submit():
        services.revoke_device(current_user, device)
        db.session.commit()
        flash(_("Phone revoked: what it sends from now on waits for a case manager."),
              "success")
    return redirect(url_for("intake.devices"))
