"""Log in and out, the home page, one's own password, profile and language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import services, sessions
from fieldapp.accounts.forms import ChangePasswordForm, LoginForm, ProfileForm
from fieldapp.accounts.roles import ROLE_DESCRIPTIONS, ROLE_LABELS, Role
from fieldapp.exceptions import LoginFailed, ValidationFailed
from fieldapp.extensions import db, limiter
from fieldapp.forms_support import apply_field_errors, checkable, merge_errors, render_status
from fieldapp.http_redirects import redirect_target

bp = Blueprint("accounts", __name__, template_folder="templates")


def _login_account_key() -> str:
    email = request.form.get("email", "") if request.form else ""
    if not email and request.is_json:
        email = str((request.get_json(silent=True) or {}).get("email", ""))
    return "login-account:" + services.normalize_email(email)[:254]


def _failed(response: Response) -> bool:
    return response.status_code == 401


def client_login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_CLIENT"]


def account_login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"]


# Shared limits: the HTML login and POST /api/v1/auth/tokens (which uses these same
# decorators) draw on one bucket per client address and one per account, so that
# switching between them buys no extra guesses.
login_limits = [
    limiter.shared_limit(client_login_limit, "login-client", methods=["POST"]),
    limiter.shared_limit(account_login_limit, "login-account", methods=["POST"],
                         key_func=_login_account_key, deduct_when=_failed),
]


@bp.route("/login", methods=["GET", "POST"])
@authz.rule(authz.PUBLIC)
@login_limits[0]
@login_limits[1]
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "",
                                         channel="web")
        except LoginFailed as exc:
            db.session.commit()  # the failure count and the audit event
            form.password.errors = [str(exc.message)]
            return render_template("accounts/login.html", form=form), 401
        sessions.begin(user)
        db.session.commit()
        return redirect(redirect_target(form.next.data, url_for("accounts.home")))
    return render_template("accounts/login.html", form=form), render_status(form)


@bp.post("/logout")
@authz.rule(authz.AUTHENTICATED)
def logout() -> Response:
    sessions.finish(current_user._get_current_object())
    db.session.commit()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/")
@authz.rule(authz.AUTHENTICATED)
def home() -> str:
    from fieldapp.referrals.followup import news_count
    from fieldapp.referrals.services import box_counts

    roles = sorted(current_user.roles, key=lambda r: list(Role).index(r))
    counts = box_counts(current_user) if current_user.has_role(
        Role.FIELD_WORKER, Role.CASE_MANAGER, Role.SERVICE_PROVIDER) else None
    if counts is not None:
        counts["outbox"]["news"] = news_count(current_user)
    outside_changes = services.account_changes_from_outside(
        current_user.organization_id) if current_user.has_role(Role.ORG_ADMIN) else None
    return render_template(
        "accounts/home.html", roles=roles, role_labels=ROLE_LABELS, counts=counts,
        role_descriptions=ROLE_DESCRIPTIONS, outside_changes=outside_changes,
        can_admin_users=authz.can(current_user, "users.view"),
        can_admin_orgs=authz.can(current_user, "organizations.view"),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@authz.rule(authz.AUTHENTICATED)
def change_password() -> Response | tuple[str, int] | str:
    form = ChangePasswordForm()
    values = {"current": form.current_password.data or "", "new": form.new_password.data or "",
              "confirm": form.confirm.data or ""}
    if form.validate_on_submit():
        try:
            services.change_own_password(current_user._get_current_object(), **values)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return render_template("accounts/password.html", form=form), 422
        sessions.finish(None)
        db.session.commit()
        flash(_("Your password was changed. Every session has ended: log in again."), "info")
        return redirect(url_for("accounts.login"))
    if checkable(form):  # one round: the service's verdict on what was sent, too
        merge_errors(form, services.own_password_errors(current_user._get_current_object(),
                                                        **values))
    return render_template("accounts/password.html", form=form), render_status(form)


@bp.route("/account/profile", methods=["GET", "POST"])
@authz.rule(authz.AUTHENTICATED)
def profile() -> Response | tuple[str, int] | str:
    """One's own work phone (partners who receive one's referrals see it)."""
    user = current_user._get_current_object()
    form = ProfileForm(data={"work_phone": user.work_phone} if request.method == "GET"
                       else None)
    if form.validate_on_submit():
        try:
            services.set_work_phone(user, form.work_phone.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return render_template("accounts/profile.html", form=form), 422
        db.session.commit()
        flash(_("Your profile was saved."), "success")
        return redirect(url_for("accounts.profile"))
    if checkable(form):  # one round: the service's verdict on what was sent, too
        merge_errors(form, services.work_phone_errors(form.work_phone.data))
    return render_template("accounts/profile.html", form=form), render_status(form)


# The security page (second factors) and passkeys add their routes to this blueprint.
from fieldapp.accounts import passkey_views, security_views  # noqa: E402,F401
