"""Forms of the security page: setting up, renewing and removing second factors.

Several of them share one page, so every field has an id of its own; their names stay
those the services use in their errors (`password`, `code`, `otp`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

PASSWORD_HELP = _l("Your password again, to show it is you.")
CODE_MISSING = _l("Type the 6-digit code that your authenticator app shows.")


def _password(field_id: str) -> PasswordField:
    return PasswordField(_l("Your password"), id=field_id, description=PASSWORD_HELP,
                         validators=[DataRequired(), Length(max=256)],
                         render_kw={"autocomplete": "current-password"})


def _code(label: object, field_id: str) -> StringField:
    return StringField(label, id=field_id,
                       validators=[DataRequired(message=CODE_MISSING), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "autocapitalize": "none", "spellcheck": "false"})


class TotpBeginForm(FlaskForm):
    """Step one of setting up an authenticator app: the password."""

    password = _password("totp-password")
    submit = SubmitField(_l("Set up an authenticator app"))


class TotpConfirmForm(FlaskForm):
    """Step two: the first code the app shows proves it was set up right."""

    code = _code(_l("6-digit code from the app"), "totp-code")
    submit = SubmitField(_l("Confirm"))


class RecoveryCodesForm(FlaskForm):
    password = _password("codes-password")
    submit = SubmitField(_l("Make new recovery codes"))


class TotpRemoveForm(FlaskForm):
    password = _password("remove-password")
    otp = _code(_l("Current code from the app"), "remove-otp")
    submit = SubmitField(_l("Remove the authenticator app"))
