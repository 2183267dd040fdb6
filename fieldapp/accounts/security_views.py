"""The security page: one's own second factors (authenticator app, recovery codes; the
passkeys section comes from passkey_views) and the account's latest sign-in events.

Setting up an authenticator app needs no JavaScript: the password, then a page with the
QR code (drawn here as inline SVG) and the key to type by hand, then the first code,
then the recovery codes, shown once."""

from __future__ import annotations

import segno
from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts import login_flow, security_events, sessions, two_factor
from fieldapp.accounts.models import User
from fieldapp.accounts.security_forms import (
    RecoveryCodesForm,
    TotpBeginForm,
    TotpConfirmForm,
    TotpRemoveForm,
)
from fieldapp.accounts.views import bp
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms_support import apply_field_errors

Page = Response | tuple[str, int]


def _user() -> User:
    return current_user._get_current_object()


def _security_page(status: int = 200, **forms: object) -> tuple[str, int]:
    """The page, with the form that was sent (and its errors) in place of a blank one."""
    user = _user()
    blank = {"begin_form": TotpBeginForm(formdata=None),
             "renew_form": RecoveryCodesForm(formdata=None),
             "remove_form": TotpRemoveForm(formdata=None)}
    return render_template(
        "accounts/security.html", **{**blank, **forms},
        has_totp=two_factor.has_totp(user), enrolled=two_factor.is_enrolled(user),
        passkeys=two_factor.passkey_count(user), required=two_factor.is_required(user),
        must_enrol=two_factor.must_enrol(user),
        codes_left=two_factor.recovery_codes_left(user),
        events=security_events.recent_events(user),
        confirm_first=login_flow.changing_factors_refused(user)), status


def _refused(exc: Conflict) -> Response:
    """The act does not fit the account's state any more (another tab, another device):
    back to the page, which shows the state as it is."""
    db.session.rollback()
    flash(str(exc.message), "error")
    return redirect(url_for("accounts.security"))


def _confirm_first() -> Response:
    """A new factor or new recovery codes for an account that has a factor: prove it in
    the last 5 minutes first (a stolen session alone plants nothing)."""
    flash(_("Confirm it is you first, then try again."), "info")
    return redirect(url_for("accounts.verify", next=url_for("accounts.security")))


def qr_svg(uri: str) -> Markup:
    """The otpauth:// URI as a QR code, an <svg> element sized by CSS (class "qr")."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr", lineclass=None,
        dark="#000", light="#fff",
        # Translators: the accessible name of the picture to scan with a phone.
        title=_("QR code to scan with your authenticator app"))
    # segno writes only numbers and the escaped title: safe to put in the page as is.
    return Markup(svg.replace("<svg ", '<svg role="img" shape-rendering="crispEdges" ', 1))  # noqa: S704


def _enrolment_page(secret: str, form: TotpConfirmForm, status: int = 200) -> tuple[str, int]:
    uri = two_factor.provisioning_uri(_user(), secret)
    groups = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("accounts/security_totp.html", form=form, qr=qr_svg(uri),
                           uri=uri, secret_groups=groups), status


def _codes_page(codes: list[str], *, renewed: bool) -> Response:
    response = make_response(render_template("accounts/security_codes.html", codes=codes,
                                             renewed=renewed))
    # Shown once: never kept by the browser or anything in between.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account/security")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def security() -> Page:
    return _security_page()


@bp.post("/account/security/totp")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def totp_begin() -> Page:
    """The password, then a new secret pending until the first code confirms it."""
    if login_flow.changing_factors_refused(_user()):
        return _confirm_first()
    form = TotpBeginForm()
    if form.validate_on_submit():
        try:
            secret, _uri = two_factor.begin_totp(_user(), form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
        except Conflict as exc:
            return _refused(exc)
        else:
            db.session.commit()
            return _enrolment_page(secret, TotpConfirmForm(formdata=None))
    return _security_page(422, begin_form=form)


@bp.post("/account/security/totp/confirm")
@authz.rule(authz.AUTHENTICATED)
@sessions.enrolment_endpoint
def totp_confirm() -> Page:
    """The first code: right, and the app is a factor (recovery codes shown once);
    wrong, and the same QR code again with the error."""
    user = _user()
    secret = two_factor.pending_secret(user)
    if secret is None:
        return _refused(Conflict(
            _("An authenticator app is already set up for this account.")
            if two_factor.has_totp(user) else
            _("There is no authenticator app waiting for confirmation: start again.")))
    form = TotpConfirmForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_totp(user, form.code.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
        except Conflict as exc:
            return _refused(exc)
        else:
            login_flow.mark_fresh()  # the session just proved the new factor
            db.session.commit()
            return _codes_page(codes, renewed=False)
    return _enrolment_page(secret, form, 422)


@bp.post("/account/security/recovery-codes")
@authz.rule(authz.AUTHENTICATED)
def recovery_codes_renew() -> Page:
    if login_flow.changing_factors_refused(_user()):
        return _confirm_first()
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.new_recovery_codes(_user(), password=form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
        except Conflict as exc:
            return _refused(exc)
        else:
            db.session.commit()
            return _codes_page(codes, renewed=True)
    return _security_page(422, renew_form=form)


@bp.post("/account/security/totp/remove")
@authz.rule(authz.AUTHENTICATED)
def totp_remove() -> Page:
    """The password and a current code: the app and the recovery codes go."""
    user = _user()
    form = TotpRemoveForm()
    if form.validate_on_submit():
        try:
            two_factor.disable_totp(user, password=form.password.data, otp=form.otp.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
        except Conflict as exc:
            return _refused(exc)
        else:
            db.session.commit()
            if two_factor.must_enrol(user):
                flash(_("The authenticator app was removed. Your role requires a second "
                        "factor: set one up again before doing anything else."), "info")
            else:
                flash(_("The authenticator app was removed, and its recovery codes no "
                        "longer work."), "success")
            return redirect(url_for("accounts.security"))
    return _security_page(422, remove_form=form)
