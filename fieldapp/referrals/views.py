"""Pages: the service directory, routing rules, referring a case, inbox and outbox."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz, clock
from fieldapp.accounts import services as accounts
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.cases import choices as case_choices
from fieldapp.cases import vocab as case_vocab
from fieldapp.cases.models import Case
from fieldapp.exceptions import Conflict, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import (
    apply_field_errors,
    checkable,
    choices,
    render_status,
    typed_or_raw,
)
from fieldapp.paging import page_number
from fieldapp.referrals import followup, hours, hsds, services, slips, vocab
from fieldapp.referrals.forms import (
    BoxFilterForm,
    DirectoryFilterForm,
    ReferralForm,
    RoutingForm,
    ServiceForm,
    TransitionForm,
    UpdateForm,
)
from fieldapp.referrals.labels import reason_line, shared_lines, status_line
from fieldapp.referrals.models import Referral, Service
from fieldapp.risk.engine import SEVERITY_RANK
from fieldapp.risk.labels import SEVERITY_LABELS, flag_label

bp = Blueprint("referrals", __name__, template_folder="templates")

View = Response | tuple[str, int] | str


def _labels() -> dict[str, Any]:
    return {"service_types": vocab.SERVICE_TYPES, "capacities": vocab.CAPACITIES,
            "statuses": vocab.STATUSES, "scopes": vocab.SCOPES, "actions": vocab.ACTIONS,
            "severities": SEVERITY_LABELS, "flag_label": flag_label,
            "priorities": case_vocab.PRIORITIES, "sexes": case_vocab.SEXES,
            "languages": case_vocab.LANGUAGES, "givers": case_vocab.CONSENT_GIVERS,
            "country_name": case_choices.country_name,
            "location_name": case_choices.location_name, "status_line": status_line}


# -- directory -------------------------------------------------------------------------

@bp.get("/services")
@authz.rule(authz.AUTHENTICATED)
def directory() -> str:
    form = DirectoryFilterForm(request.args)
    form.validate()
    items = services.list_services(
        type_=form.type.data or None,
        location_code=(form.location_code.data or "").strip().upper() or None,
        include_inactive=authz.can(current_user, "services.manage"))
    filters = {k: v for k, v in (("type", form.type.data),
                                 ("location_code", form.location_code.data)) if v}
    return render_template("referrals/directory.html", form=form, items=items,
                           can_manage=authz.can(current_user, "services.manage"),
                           export_url=url_for("referrals.directory_hsds", **filters),
                           hours_lines=hours.describe, **_labels())


@bp.get("/services.hsds.json")
@authz.rule(authz.AUTHENTICATED)
def directory_hsds() -> Response:
    """The directory's active services as Open Referral HSDS 3 JSON, to download."""
    form = DirectoryFilterForm(request.args)
    form.validate()
    items = services.list_services(
        type_=form.type.data if form.type.data in vocab.SERVICE_TYPES else None,
        location_code=(form.location_code.data or "").strip().upper() or None)
    return Response(json.dumps(hsds.directory_page(items), ensure_ascii=False, indent=1),
                    mimetype="application/json", headers={
                        "Content-Disposition": 'attachment; filename="directory-hsds.json"'})


def _service_form(service: Service | None) -> ServiceForm:
    if service is not None and request.method == "GET":
        form = ServiceForm(data={
            **{name: getattr(service, name) for name in (
                "name", "type", "min_age", "max_age", "capacity", "contact", "active",
                *services.DIRECTORY_TEXTS, *services.DIRECTORY_CONTACTS)},
            "location_codes": ", ".join(service.location_codes),
            "languages": service.language_list, "sexes": service.sex_list,
            "organization_id": str(service.organization_id),
            "schedule": [{"days": row["byday"].split(","), "opens_at": row["opens_at"],
                          "closes_at": row["closes_at"]} for row in service.schedule_rows]})
    else:
        form = ServiceForm()
    scope = None if current_user.has_role(Role.ADMIN) else current_user.organization_id
    form.organization_id.choices = choices(
        (str(o.id), o.name) for o in accounts.list_organizations(scope))
    return form


def _room_for_hours(form: ServiceForm) -> ServiceForm:
    """Blank rows of opening hours to fill in: one more than used, three at least."""
    wanted = min(hours.MAX_ROWS, max(3, len(_schedule_rows(form)[0]) + 1))
    while len(form.schedule) < wanted:
        form.schedule.append_entry()
    return form


def _schedule_rows(form: ServiceForm) -> tuple[list[dict[str, str]], list[int]]:
    """The rows of opening hours that were filled in (blank rows are skipped), and the
    form's row number of each, to put the service's messages on the right row."""
    rows, positions = [], []
    for position, entry in enumerate(form.schedule):
        row = entry.form
        days = row.days.data or []
        opens, closes = (row.opens_at.data or "").strip(), (row.closes_at.data or "").strip()
        if days or opens or closes:
            rows.append({"byday": ",".join(days), "opens_at": opens, "closes_at": closes})
            positions.append(position)
    return rows, positions


def _service_data(form: ServiceForm) -> dict[str, Any]:
    return {"name": form.name.data, "type": form.type.data,
            "organization_id": form.organization_id.data,
            "location_codes": [c for c in (form.location_codes.data or "").replace(" ", "")
                               .split(",") if c],
            "languages": form.languages.data or [], "min_age": typed_or_raw(form.min_age),
            "max_age": typed_or_raw(form.max_age), "sexes": form.sexes.data or [],
            "capacity": form.capacity.data, "contact": form.contact.data or "",
            "active": bool(form.active.data),
            **{name: getattr(form, name).data for name in (
                *services.DIRECTORY_TEXTS, *services.DIRECTORY_CONTACTS)},
            "schedule": _schedule_rows(form)[0]}


def _service_errors(form: ServiceForm, exc: ValidationFailed) -> None:
    """The service's messages on the form: `schedule.<i>.opens_at` on its row."""
    positions = _schedule_rows(form)[1]
    rest: dict[str, list[Any]] = {}
    for name, messages in exc.fields.items():
        parts = name.split(".")
        if parts[0] != "schedule" or len(parts) != 3 or not parts[1].isdigit() \
                or int(parts[1]) >= len(positions):
            rest[name] = messages
            continue
        row = form.schedule[positions[int(parts[1])]].form
        target = row.days if parts[2] == "byday" else getattr(row, parts[2], None)
        if target is None:
            rest[name] = messages
        elif not target.errors:
            target.errors = [str(m) for m in messages]
    if rest or not exc.fields:
        apply_field_errors(form, ValidationFailed(exc.message, fields=rest))


def _service_page(service: Service | None) -> View:
    """New (service None) or existing service: the form, then create or update. The
    service's validation runs on what was sent even when the form's own checks fail:
    every problem in one round."""
    form = _service_form(service)
    valid = form.validate_on_submit()
    data = None
    if checkable(form):
        try:
            data = services.parse_service(_service_data(form), current=service)
        except ValidationFailed as exc:
            _service_errors(form, exc)
    if valid and data is not None:
        authz.require("services.manage", data.organization_id, object_type="organization")
        if service is None:
            services.create_service(current_user, data)
        else:
            services.update_service(current_user, service, data)
        db.session.commit()
        flash(_("Service saved."), "success")
        return redirect(url_for("referrals.directory"))
    return render_template("referrals/service_form.html", form=_room_for_hours(form),
                           service=service), render_status(form)


@bp.route("/services/new", methods=["GET", "POST"])
@authz.rule("services.manage")
def service_new() -> View:
    return _service_page(None)


@bp.route("/services/<uuid:service_id>", methods=["GET", "POST"])
@authz.rule("services.manage")
def service_edit(service_id: uuid.UUID) -> View:
    return _service_page(authz.get_or_404(Service, service_id, "services.manage"))


# -- routing rules ----------------------------------------------------------------------------

@bp.route("/admin/routing", methods=["GET", "POST"])
@authz.rule("routing.manage")
def routing() -> View:
    from fieldapp.cases import assessment

    table = services.routing_table()
    type_choices = choices([("", "—"), *vocab.SERVICE_TYPES.items()])
    forms = {}
    for code in assessment.rule_set().flag_codes():
        form = RoutingForm(prefix=code)
        for field, value in zip((form.first, form.second, form.third, form.fourth),
                                table.get(code, []) + [""] * 4, strict=False):
            field.choices = type_choices
            if request.method == "GET":
                field.data = value
        forms[code] = form
    problems: list[str] = []
    if request.method == "POST":
        code = request.form.get("flag", "")
        form = forms.get(code)
        for other_code, other in forms.items():  # the other flags' forms show what is saved
            if other is not form:
                for field, value in zip((other.first, other.second, other.third, other.fourth),
                                        table.get(other_code, []) + [""] * 4, strict=False):
                    field.data = value
        if form is None:
            problems.append(_("Not one of the allowed values."))
        elif form.validate_on_submit():
            wanted = [f.data for f in (form.first, form.second, form.third, form.fourth)
                      if f.data]
            services.set_routing(current_user, code, wanted)
            db.session.commit()
            flash(_("Routing for %(flag)s saved.", flag=flag_label(code)), "success")
            return redirect(url_for("referrals.routing"))
    return render_template("referrals/routing.html", forms=forms, problems=problems,
                           **_labels()), 422 if request.method == "POST" else 200


# -- referring a case ----------------------------------------------------------------------------

# The service's names for the referral form's fields.
REFERRAL_FIELDS = {"consent.given_by": "given_by", "consent.scope": "scope"}
OTHER = "other"  # the flags' prefix for the services not suggested


def _referral_form(case: Case, result: services.SuggestionResult,
                   every: list[Service]) -> ReferralForm:
    """The form with its choices: every active service (the suggested ones first), and
    for each suggested service each active flag of the case (those it answers first),
    then the flags for the other services."""
    form = ReferralForm()
    suggested = {s.service.id for s in result.suggestions}
    form.service_id.choices = choices(
        [(str(s.service.id), s.service.name) for s in result.suggestions]
        + [(str(s.id), s.name) for s in every if s.id not in suggested])
    active = [f.code for f in sorted((f for f in case.flags if f.counts), key=lambda f: (
        -SEVERITY_RANK[f.severity], f.code))]
    pairs = []
    for s in result.suggestions:
        pairs += [(f"{s.service.id}:{code}", flag_label(code))
                  for code in [*s.flags, *(c for c in active if c not in s.flags)]]
    pairs += [(f"{OTHER}:{code}", flag_label(code)) for code in active]
    form.flags.choices = choices(pairs)
    return form


def _chosen(form: ReferralForm, result: services.SuggestionResult,
            every: list[Service]) -> list[tuple[Service | None, list[str]]]:
    """The services ticked, each with the flags ticked for it."""
    if form.service_id.errors:
        return []
    by_id = {str(s.id): s for s in every}
    suggested = {str(s.service.id) for s in result.suggestions}
    ticked = [value.split(":", 1) for value in form.flags.data or [] if ":" in value]
    out: list[tuple[Service | None, list[str]]] = []
    for service_id in form.service_id.data or []:
        prefix = service_id if service_id in suggested else OTHER
        out.append((by_id.get(service_id), [code for p, code in ticked if p == prefix]))
    return out


def _referral_errors(form: ReferralForm, exc: ValidationFailed | Conflict,
                     chosen: list[tuple[Service | None, list[str]]]) -> None:
    """The service's refusal on the form: a problem of one of several services names
    it ("Asylum clinic: ..."), on the services' or the flags' field."""
    fields: dict[str, list[Any]] = {}
    for name, messages in exc.fields.items():
        head, _dot, index = name.partition(".")
        target = {"service_ids": "service_id", "flags": "flags"}.get(
            head, REFERRAL_FIELDS.get(name, name))
        service = chosen[int(index)][0] if index.isdigit() and int(index) < len(chosen) \
            else None
        for message in messages:
            text = _("%(service)s: %(message)s", service=service.name, message=message) \
                if service is not None and len(chosen) > 1 else str(message)
            if text not in fields.setdefault(target, []):
                fields[target].append(text)
    apply_field_errors(form, type(exc)(exc.message, fields=fields))


@bp.route("/cases/<uuid:case_id>/refer", methods=["GET", "POST"])
@authz.rule("referrals.create")
def new(case_id: uuid.UUID) -> View:
    """Refer to one or several services: the form, then the consent screen (what each
    organization will know, in the words read to the person), then send."""
    case = authz.get_or_404(Case, case_id, "cases.edit")
    every = services.list_services()
    result = services.suggest(case, directory=every)
    form = _referral_form(case, result, every)
    if request.method == "GET":
        # The flags each suggested service answers are ticked; the worker adds more.
        form.flags.data = [f"{s.service.id}:{code}" for s in result.suggestions
                           for code in s.flags]
        preselect = request.args.get("service")
        if preselect in {str(s.service.id) for s in result.suggestions}:
            form.service_id.data = [preselect]
    status = 200
    valid = form.validate_on_submit()
    values = {"given_by": form.given_by.data or "", "scope": form.scope.data or [],
              "note": form.note.data}
    chosen = _chosen(form, result, every)
    if checkable(form) and (form.change.data or not valid):
        # Back from the consent screen to change something; or the form's own problems,
        # with the service's verdict on what was sent too (one round).
        if not form.change.data:
            status = 422
            try:
                services.check_referrals(case, chosen, **values)
            except (ValidationFailed, Conflict) as exc:
                _referral_errors(form, exc, chosen)
                status = exc.status
    elif valid:
        try:
            services.check_referrals(case, chosen, **values)
            if form.confirm.data:
                referrals = services.create_referrals(current_user, case, chosen, **values)
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            _referral_errors(form, exc, chosen)
            status = exc.status
        else:
            if not form.confirm.data:
                return render_template("referrals/consent.html", case=case, form=form,
                                       said=_consent_words(case, chosen, values), **_labels())
            db.session.commit()
            if len(referrals) == 1:
                flash(_("Referral sent to %(org)s.",
                        org=referrals[0].service.organization.name), "success")
                return redirect(url_for("referrals.detail", referral_id=referrals[0].id))
            flash(ngettext("%(num)d referral sent: %(refs)s.", "%(num)d referrals sent: %(refs)s.",
                           len(referrals), refs=", ".join(r.reference for r in referrals)),
                  "success")
            return redirect(url_for("cases.detail", case_id=case.id))
    elif form.is_submitted():
        status = 422
    lines = {str(s.service.id): [reason_line(r) for r in s.reasons]
             for s in result.suggestions}
    options: dict[str, list[Any]] = {}
    for option in form.flags:
        options.setdefault(str(option.data).split(":", 1)[0], []).append(option)
    suggested = {s.service.id for s in result.suggestions}
    return render_template("referrals/new.html", case=case, form=form, result=result,
                           lines=lines, flag_options=options,
                           others=[s for s in every if s.id not in suggested],
                           **_labels()), status


def _consent_words(case: Case, chosen: list[tuple[Service | None, list[str]]],
                   values: dict[str, Any]) -> list[tuple[Service, list[str]]]:
    """For the consent screen: each service and what its organization will know."""
    severity = {f.code: f.severity for f in case.flags if f.counts}
    out = []
    for service, flags in chosen:
        if service is None:
            continue
        urgency = max((severity[c] for c in flags), key=SEVERITY_RANK.__getitem__)
        out.append((service, shared_lines(scope=[g for g in vocab.SCOPES
                                                 if g in values["scope"]],
                                          flags=flags, urgency=urgency, note=values["note"])))
    return out


# -- inbox and outbox -----------------------------------------------------------------------------

@bp.get("/referrals")
@authz.rule(authz.AUTHENTICATED)
def index() -> View:
    form = BoxFilterForm(request.args)
    box = form.box.data or services.default_box(current_user)
    if box not in ("inbox", "outbox") or not authz.can(current_user, f"referrals.{box}"):
        authz.deny(f"referrals.{box}")
    form.validate()
    now = clock.now()
    page = page_number(request.args)
    rows, total = services.list_referrals(
        current_user, services.ReferralFilters(box=box, status=form.status.data or None,
                                               urgency=form.urgency.data or None,
                                               overdue=bool(form.overdue.data),
                                               news=bool(form.news.data) and box == "outbox"),
        page=page, now=now)
    # Outbox rows name their case (its reference is the sender's own); inbox rows only
    # the referral's reference: the receiving side never learns the case's.
    cases = {c.id: c for c in db.session.scalars(sa.select(Case).where(
        Case.id.in_({r.case_id for r in rows})))} if box == "outbox" else {}
    return render_template("referrals/index.html", rows=rows, total=total, box=box, form=form,
                           now=now, page=page, org_name=services.organization_names(rows),
                           cases=cases,
                           can_inbox=authz.can(current_user, "referrals.inbox"),
                           can_outbox=authz.can(current_user, "referrals.outbox"), **_labels())


@bp.get("/referrals/<uuid:referral_id>")
@authz.rule(authz.AUTHENTICATED)
def detail(referral_id: uuid.UUID) -> View:
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    return _detail_page(referral, UpdateForm())


def _detail_page(referral: Referral, update_form: UpdateForm, status: int = 200,
                 transition_form: TransitionForm | None = None) -> View:
    """The referral as this side may see it, its follow-up log and what can be done;
    `transition_form`: an action that failed, shown with its problem and what was typed."""
    services.record_view(current_user, referral)
    followup.mark_seen(current_user, referral)
    body = services.referral_to_dict(referral, current_user)
    updates = followup.list_updates(referral)
    authors = followup.author_names(updates)
    db.session.commit()
    return render_template("referrals/detail.html", r=body, referral=referral,
                           org_name=services.organization_name,
                           allowed=services.allowed_actions(current_user, referral),
                           form=transition_form or TransitionForm(formdata=None),
                           failed_action=transition_form.action.data if transition_form
                           else None, updates=updates, authors=authors,
                           update_form=update_form, kinds=followup.KINDS,
                           can_update=referral.status != "cancelled", **_labels()), status


@bp.post("/referrals/<uuid:referral_id>/updates")
@authz.rule(authz.AUTHENTICATED)
def add_update(referral_id: uuid.UUID) -> View:
    """An entry in the follow-up log, by either side; the page again with every problem
    when something is wrong."""
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    form = UpdateForm()
    valid = form.validate_on_submit()
    values = {"kind": form.kind.data or "", "text": form.text.data,
              "on_date": typed_or_raw(form.on_date)}
    if valid:
        try:
            followup.add_update(current_user, referral, **values)
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            apply_field_errors(form, exc, UPDATE_FIELDS)
            return _detail_page(referral, form, exc.status)
        db.session.commit()
        flash(_("Added to the log."), "success")
        return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="log"))
    if checkable(form):  # one round: the service's checks on what was sent, too
        try:
            followup.check_update(current_user, referral, **values)
        except (ValidationFailed, Conflict) as exc:
            apply_field_errors(form, exc, UPDATE_FIELDS)
            return _detail_page(referral, form, exc.status)
    return _detail_page(referral, form, 422)


# The service's names for the update form's fields.
UPDATE_FIELDS = {"date": "on_date"}


@bp.get("/referrals/<uuid:referral_id>/slip")
@authz.rule(authz.AUTHENTICATED)
def slip(referral_id: uuid.UUID) -> View:
    """A slip the person carries to the service, in the person's language: where to go,
    when, whom to call, and the referral's reference; nothing about the person."""
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    if "sender" not in services.side_of(current_user, referral):
        authz.deny("referrals.slip", status=404, object_type="referral",
                   object_id=referral.id)
    case = db.session.get(Case, referral.case_id)
    language = slips.language_of(case)
    audit.record("referral.slip_viewed", actor=current_user, object_type="referral",
                 object_id=referral.id)
    db.session.commit()
    with force_locale(language):
        return render_template("referrals/slip.html", referral=referral,
                               place=slips.where_to_go(referral), language=language,
                               sender_org=services.organization_name(referral.sending_org_id))


@bp.post("/referrals/<uuid:referral_id>/transition")
@authz.rule(authz.AUTHENTICATED)
def transition(referral_id: uuid.UUID) -> View:
    """Acknowledge, accept, decline, complete or cancel; the referral page again, with
    the problem at the top and what was typed kept, when it fails."""
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    form = TransitionForm()
    if not form.validate_on_submit():
        return _detail_page(referral, UpdateForm(formdata=None), 422, form)
    try:
        services.transition(current_user, referral, form.action.data,
                            reason=form.reason.data, outcome=form.outcome.data)
    except (ValidationFailed, NotAllowed, services.IllegalTransition) as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        return _detail_page(referral, UpdateForm(formdata=None), exc.status, form)
    db.session.commit()
    flash(_("Referral is now: %(status)s.", status=vocab.STATUSES[referral.status]),
          "success")
    return redirect(url_for("referrals.detail", referral_id=referral_id))
