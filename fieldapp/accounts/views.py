"""Log in and out, the home page, one's own password, profile and language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import login_flow, services, sessions, two_factor
from fieldapp.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    ProfileForm,
    SecondFactorForm,
)
from fieldapp.accounts.models import User
from fieldapp.accounts.roles import ROLE_DESCRIPTIONS, ROLE_LABELS, Role
from fieldapp.exceptions import LoginFailed, ValidationFailed
from fieldapp.extensions import db, limiter
from fieldapp.forms_support import apply_field_errors, checkable, merge_errors, render_status
from fieldapp.http_redirects import redirect_target
from fieldapp.times import local_time

bp = Blueprint("accounts", __name__, template_folder="templates")


def _login_account_key() -> str:
    email = request.form.get("email", "") if request.form else ""
    if not email and request.is_json:
        email = str((request.get_json(silent=True) or {}).get("email", ""))
    if not email:  # the second step: the account whose password was given
        pending = login_flow.pending_user()
        email = pending.email if pending is not None else ""
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
            user = services.check_password(form.email.data or "", form.password.data or "",
                                           channel="web")
        except LoginFailed as exc:
            db.session.commit()  # the failure count and the audit event
            form.password.errors = [str(exc.message)]
            return render_template("accounts/login.html", form=form), 401
        if two_factor.is_enrolled(user):
            login_flow.start_pending(user, form.next.data or "")
            db.session.commit()
            return redirect(url_for("accounts.login_second_factor"))
        next_url = login_flow.complete(user, second_factor=None)
        _tell_about_reset(user)
        db.session.commit()
        return redirect(redirect_target(next_url or form.next.data, url_for("accounts.home")))
    return render_template("accounts/login.html", form=form), render_status(form)


@bp.route("/login/second-factor", methods=["GET", "POST"])
@authz.rule(authz.PUBLIC)
@login_limits[0]
@login_limits[1]
def login_second_factor() -> Response | tuple[str, int] | str:
    """The second step: a code from the authenticator app, a recovery code, or a passkey
    (passkeys.js posts to accounts.passkey_login). A wrong code counts like a wrong
    password; after PENDING_TTL the login starts over."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    user = login_flow.pending_user()
    if user is None:
        login_flow.clear_pending()
        flash(_("Log in again: the time for the second step ran out."), "info")
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        method = two_factor.verify_any_code(user, form.code.data)
        if method is None:
            login_flow.second_factor_failed(user)
            db.session.commit()
            form.code.errors = [str(two_factor.WRONG_CODE)]
            return _second_factor_page(form, user), 401
        next_url = login_flow.complete(user, second_factor=method)
        _tell_about_reset(user)
        if method == "recovery_code":
            flash(_("You used a recovery code: %(n)d left. Renew them on your security page "
                    "if few remain.", n=two_factor.recovery_codes_left(user)), "info")
        db.session.commit()
        return redirect(redirect_target(next_url, url_for("accounts.home")))
    return _second_factor_page(form, user), render_status(form)


def _second_factor_page(form: SecondFactorForm, user: User) -> str:
    return render_template("accounts/login_second_factor.html", form=form,
                           has_totp=two_factor.has_totp(user),
                           has_passkeys=two_factor.passkey_count(user) > 0)


def _tell_about_reset(user: User) -> None:
    """Once, at the first login after an administrator removed the second factors."""
    if user.second_factor_reset_at is not None:
        flash(_("An administrator of your organization removed your second factor on "
                "%(date)s. If you did not ask for it, tell your organization at once.",
                date=local_time(user.second_factor_reset_at)), "error")
        user.second_factor_reset_at = None


@bp.route("/account/verify", methods=["GET", "POST"])
@authz.rule(authz.AUTHENTICATED)
def verify() -> Response | tuple[str, int] | str:
    """Confirm it is you (a code or a passkey) before a dangerous act; then back to
    `next`. Wrong codes count toward the lockout, as at login."""
    user = current_user._get_current_object()
    next_url = request.values.get("next", "")
    if not two_factor.is_enrolled(user):
        return redirect(redirect_target(next_url, url_for("accounts.home")))
    form = SecondFactorForm(next=next_url)
    if form.validate_on_submit():
        method = two_factor.verify_any_code(user, form.code.data)
        if method is None:
            services.count_failed_login(user, reason="wrong_second_factor", channel="web")
            locked = services.is_locked(user)
            if locked:
                sessions.finish(user)
            db.session.commit()
            if locked:
                flash(_("Too many wrong codes: the account is locked for a while."), "error")
                return redirect(url_for("accounts.login"))
            form.code.errors = [str(two_factor.WRONG_CODE)]
            return _verify_page(form, user), 401
        login_flow.confirmed(user, method)
        db.session.commit()
        return redirect(redirect_target(form.next.data, url_for("accounts.home")))
    return _verify_page(form, user), render_status(form)


def _verify_page(form: SecondFactorForm, user: User) -> str:
    return render_template("accounts/verify.html", form=form, next=form.next.data or "",
                           has_totp=two_factor.has_totp(user),
                           has_passkeys=two_factor.passkey_count(user) > 0)


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
    from fieldapp.transfers.services import incoming_waiting_count

    roles = sorted(current_user.roles, key=lambda r: list(Role).index(r))
    counts = box_counts(current_user) if current_user.has_role(
        Role.FIELD_WORKER, Role.CASE_MANAGER, Role.SERVICE_PROVIDER) else None
    if counts is not None:
        counts["outbox"]["news"] = news_count(current_user)
    # Transfer requests waiting for this user's decision (the case's owner or a manager).
    transfers_waiting = incoming_waiting_count(current_user) if current_user.has_role(
        Role.FIELD_WORKER, Role.CASE_MANAGER) else 0
    outside_changes = services.account_changes_from_outside(
        current_user.organization_id) if current_user.has_role(Role.ORG_ADMIN) else None
    return render_template(
        "accounts/home.html", roles=roles, role_labels=ROLE_LABELS, counts=counts,
        transfers_waiting=transfers_waiting,
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
