"""Administration pages: organizations and users.

An org_admin manages the own organization's users; a platform admin manages
organizations and their administrators, never an account that reaches case data
(`services.grantable_roles` says what each may do).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from fieldapp import authz, times
from fieldapp.accounts import login_flow, services, two_factor
from fieldapp.accounts.forms import (
    OrganizationForm,
    PasswordResetForm,
    SecondFactorResetForm,
    UserCreateForm,
    UserEditForm,
    UserStatusForm,
)
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import ORGANIZATION_KIND_LABELS, ROLE_LABELS, Role
from fieldapp.exceptions import NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import (
    apply_field_errors,
    checkable,
    choices,
    merge_errors,
    render_status,
)

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

View = Response | tuple[str, int] | str


def _scope() -> uuid.UUID | None:
    """None for a platform admin (everything), else the own organization."""
    return None if current_user.has_role(Role.ADMIN) else current_user.organization_id


def _country_choices() -> list[SelectChoice]:
    return choices((c.code, f"{c.code} — {c.name}") for c in services.countries())


# -- organizations ------------------------------------------------------------------------

@bp.get("/organizations")
@authz.rule("organizations.view")
def organizations() -> str:
    return render_template("accounts/organizations.html",
                           organizations=services.list_organizations(_scope()),
                           kind_labels=ORGANIZATION_KIND_LABELS,
                           can_create=authz.can(current_user, "organizations.create"))


def _organization_values(form: OrganizationForm) -> dict[str, Any]:
    return {"name": form.name.data or "", "kind": form.kind.data or "",
            "country_code": form.country_code.data or "",
            "location_code": (form.location_code.data or "").strip().upper() or None,
            "shares_statistics": bool(form.shares_statistics.data),
            "time_zone": form.time_zone.data or "",
            "contact": {name: getattr(form, name).data for name in (
                "description", *services.CONTACT_FIELDS)}}


def _zone_choices(country_code: str) -> dict[str, list[tuple[str, str]]]:
    """The country's zones first (named as people say them), then every other zone."""
    own = times.country_zones(country_code)
    return {
        _("Zones of the country (%(code)s)", code=country_code): [
            ("", _("The country's usual zone")),
            *[(z, f"{z} · {times.zone_name(z)}") for z in own]],
        _("All zones"): [(z, z) for z in sorted(times.all_zones() - set(own))],
    }


def _organization_page(org: Organization | None) -> View:
    """New (org None) or existing organization: the form, then create or update. Every
    problem in one round: the service's checks run on what was sent even when the
    form's own fail."""
    form = OrganizationForm(shares_statistics=True) if org is None else OrganizationForm(obj=org)
    form.country_code.choices = _country_choices()
    form.time_zone.choices = _zone_choices(
        form.country_code.data or (org.country_code if org is not None
                                   else current_user.organization.country_code))
    values = _organization_values(form)
    if form.validate_on_submit():
        try:
            if org is None:
                services.create_organization(current_user, **values)
            else:
                services.update_organization(current_user, org, **values)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return render_template("accounts/organization_form.html", form=form,
                                   organization=org), 422
        db.session.commit()
        flash(_("Organization created.") if org is None else _("Organization saved."),
              "success")
        return redirect(url_for("admin.organizations"))
    if checkable(form):
        merge_errors(form, services.organization_errors(
            values["name"], values["country_code"], values["location_code"],
            exclude_id=org.id if org is not None else None, time_zone=values["time_zone"],
            contact=values["contact"]))
    return render_template("accounts/organization_form.html", form=form,
                           organization=org), render_status(form)


@bp.route("/organizations/new", methods=["GET", "POST"])
@authz.rule("organizations.create")
def organization_new() -> View:
    return _organization_page(None)


@bp.route("/organizations/<uuid:org_id>", methods=["GET", "POST"])
@authz.rule("organizations.edit")
def organization_edit(org_id: uuid.UUID) -> View:
    return _organization_page(authz.get_or_404(Organization, org_id, "organizations.edit"))


# -- users --------------------------------------------------------------------------------

@contextmanager
def _refusal_audited(permission: str, user_id: uuid.UUID | None = None) -> Iterator[None]:
    """A refusal by the accounts services is a denial like a route's: rolled back,
    audited (an admin probing accounts it may not touch is seen), 403 with its reason."""
    try:
        yield
    except NotAllowed as exc:
        flash(str(exc.message), "error")
        authz.deny(permission, object_type="user", object_id=user_id)


def _role_choices(organization: Organization | None) -> list[SelectChoice]:
    allowed = set(services.grantable_roles(current_user, organization)) if organization else set()
    return choices((r.value, label) for r, label in ROLE_LABELS.items() if r in allowed)


def _roles(values: list[str] | None) -> set[Role]:
    """The roles chosen, leaving out anything that names no role (the form says so)."""
    known = {r.value for r in Role}
    return {Role(v) for v in values or [] if v in known}


@bp.get("/users")
@authz.rule("users.view")
def users() -> str:
    listed = services.list_users(_scope())
    manageable = {u.id for u in listed if services.can_manage(current_user, u)}
    return render_template("accounts/users.html", users=listed, manageable=manageable,
                           role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@authz.rule("users.create")
def user_new() -> View:
    orgs = services.list_organizations(_scope())
    form = UserCreateForm(organization_id=str(current_user.organization_id))
    form.organization_id.choices = choices((str(o.id), o.name) for o in orgs)
    # The roles offered are those grantable in the organization chosen (own by default).
    chosen = next((o for o in orgs if str(o.id) == form.organization_id.data), None)
    form.roles.choices = _role_choices(chosen)
    if current_user.has_role(Role.ADMIN):
        form.roles.description = _(
            "Platform administrators give only the administrator roles (and, in their own "
            "organization, the supervisor role); each organization's own administrators "
            "give the others.")
    values = {"email": form.email.data or "", "roles": _roles(form.roles.data),
              "password": form.password.data or "",
              "actor_password": form.actor_password.data}
    if form.validate_on_submit() and chosen is not None:
        org = authz.get_or_404(Organization, chosen.id, "users.create")
        try:
            with _refusal_audited("users.create"):
                services.create_user(current_user, name=form.name.data or "",
                                     organization=org, **values)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return render_template("accounts/user_new.html", form=form), 422
        db.session.commit()
        flash(_("User created. They must change the password when they first log in."),
              "success")
        return redirect(url_for("admin.users"))
    if form.roles.errors:
        form.roles.errors = [_("Choose among the roles offered for this organization.")]
    if checkable(form):
        merge_errors(form, services.new_user_errors(current_user, **values))
    return render_template("accounts/user_new.html", form=form), render_status(form)


@bp.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@authz.rule("users.edit")
def user_edit(user_id: uuid.UUID) -> View:
    user = authz.get_or_404(User, user_id, "users.edit")
    with _refusal_audited("users.edit", user.id):
        services.require_manageable(current_user, user)
    form = UserEditForm(name=user.name, roles=[r.value for r in user.roles])
    form.roles.choices = _role_choices(user.organization)
    values = {"roles": _roles(form.roles.data), "actor_password": form.actor_password.data}
    changes_roles = form.is_submitted() and values["roles"] != set(user.roles)
    if form.validate_on_submit():
        fresh = _fresh_errors(form) if changes_roles else {}
        if fresh:
            db.session.commit()  # a wrong code counts toward the lockout
            merge_errors(form, {**services.user_update_errors(current_user, user, **values),
                                **fresh})
            return _user_page(user, form=form), 422
        try:
            with _refusal_audited("users.edit", user.id):
                services.update_user(current_user, user, name=form.name.data or "", **values)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return _user_page(user, form=form), 422
        db.session.commit()
        flash(_("User saved."), "success")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    if checkable(form):
        merge_errors(form, services.user_update_errors(current_user, user, **values))
        if changes_roles:
            merge_errors(form, _fresh_needed(form))
    return _user_page(user, form=form), render_status(form)


def _fresh_errors(form: Any) -> dict[str, list]:
    """The acting administrator's second factor, proved in the last 5 minutes or by the
    code in this form (login_flow.fresh_errors). The caller commits (a wrong code counts)."""
    return login_flow.fresh_errors(current_user._get_current_object(),
                                   form.second_factor_code.data)


def _fresh_needed(form: Any) -> dict[str, list]:
    """For the one-round check of a form that failed elsewhere: say the code is needed,
    without spending the one typed (it is checked when the rest is right)."""
    if form.second_factor_code.data or not login_flow.needs_fresh(current_user):
        return {}
    return {"second_factor_code": [login_flow.FRESH_NEEDED]}


def _user_page(user: User, *, form: UserEditForm | None = None,
               reset_form: PasswordResetForm | None = None,
               sf_form: SecondFactorResetForm | None = None) -> str:
    if form is None:
        form = UserEditForm(formdata=None, name=user.name,
                            roles=[r.value for r in user.roles])
        form.roles.choices = _role_choices(user.organization)
    return render_template(
        "accounts/user_edit.html", user=user, form=form, role_labels=ROLE_LABELS,
        status_form=UserStatusForm(),
        reset_form=reset_form or PasswordResetForm(formdata=None, prefix="reset"),
        sf_form=sf_form or SecondFactorResetForm(formdata=None, prefix="sfreset"),
        two_factor_status=two_factor.status(user),
        needs_fresh=login_flow.needs_fresh(current_user._get_current_object()))


@bp.post("/users/<uuid:user_id>/status")
@authz.rule("users.edit")
def user_status(user_id: uuid.UUID) -> Response:
    user = authz.get_or_404(User, user_id, "users.edit")
    form = UserStatusForm()
    if form.validate_on_submit():
        with _refusal_audited("users.edit", user.id):
            services.set_active(current_user, user, active=not user.active)
        db.session.commit()
        flash(_("User reactivated.") if user.active else
              _("User deactivated; every session has ended."), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<uuid:user_id>/password")
@authz.rule("users.edit")
def user_password(user_id: uuid.UUID) -> View:
    user = authz.get_or_404(User, user_id, "users.edit")
    with _refusal_audited("users.edit", user.id):
        services.require_password_settable(current_user, user)
    form = PasswordResetForm(prefix="reset")
    values = {"new": form.new_password.data or "", "actor_password": form.actor_password.data}
    if form.validate_on_submit():
        fresh = _fresh_errors(form)
        if fresh:
            db.session.commit()  # a wrong code counts toward the lockout
            merge_errors(form, {**services.reset_password_errors(current_user, user, **values),
                                **fresh})
            return _user_page(user, reset_form=form), 422
        try:
            with _refusal_audited("users.edit", user.id):
                services.reset_password(current_user, user, **values)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return _user_page(user, reset_form=form), 422
        db.session.commit()
        flash(_("Password set; the user's sessions have ended. They must change it when "
                "they next log in."), "success")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    if checkable(form):
        merge_errors(form, services.reset_password_errors(current_user, user, **values))
        merge_errors(form, _fresh_needed(form))
    return _user_page(user, reset_form=form), 422


@bp.post("/users/<uuid:user_id>/second-factor")
@authz.rule("users.edit")
def user_second_factor_reset(user_id: uuid.UUID) -> View:
    """Remove every second factor of a user who lost them (two_factor.reset): their
    sessions end; they are told at the next login."""
    user = authz.get_or_404(User, user_id, "users.edit")
    with _refusal_audited("users.edit", user.id):
        services.require_manageable(current_user, user)
    form = SecondFactorResetForm(prefix="sfreset")
    if form.validate_on_submit():
        fresh = _fresh_errors(form)
        if fresh:
            db.session.commit()  # a wrong code counts toward the lockout
            merge_errors(form, fresh)
            return _user_page(user, sf_form=form), 422
        try:
            with _refusal_audited("users.edit", user.id):
                two_factor.reset(current_user, user, actor_password=form.actor_password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return _user_page(user, sf_form=form), 422
        db.session.commit()
        flash(_("Second factor removed; the user's sessions have ended. They will be told "
                "when they next log in."), "success")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    merge_errors(form, _fresh_needed(form))
    return _user_page(user, sf_form=form), 422
