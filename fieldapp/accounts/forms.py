"""Forms of the accounts feature. Labels are lazy so they follow the request's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from fieldapp.accounts.roles import ORGANIZATION_KIND_LABELS, ROLE_LABELS
from fieldapp.forms_support import RequiredMark, choices
from fieldapp.i18n import LANGUAGE_NAMES


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class SecondFactorForm(FlaskForm):
    """The login's second step, and confirming it is you before a dangerous act."""

    code = StringField(_l("Code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(max=64)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                                  "spellcheck": "false"})
    next = HiddenField()
    submit = SubmitField(_l("Continue"))


class LanguageForm(FlaskForm):
    language = RadioField(
        _l("Language"),
        choices=choices([("", _l("Browser language")), *LANGUAGE_NAMES.items()]),
        validators=[Optional()],
        validate_choice=True,
    )
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired()],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password, again"), validators=[DataRequired()],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Change password"))


class ProfileForm(FlaskForm):
    """What a staff member tells partners about themselves: a work phone."""

    work_phone = TelField(
        _l("Work phone"), validators=[Optional(), Length(max=32)],
        description=_l("Organizations that receive your referrals see it with your name and "
                       "e-mail, to call you back. Leave it empty to show none."),
        render_kw={"autocomplete": "tel"})
    submit = SubmitField(_l("Save"))


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(ORGANIZATION_KIND_LABELS.items()),
                       validators=[InputRequired()])
    country_code = SelectField(_l("Country"), validators=[InputRequired()])
    location_code = StringField(_l("Place code"),
                                validators=[Optional(), Length(max=40)],
                                description=_l("For example CO-NSA-CUCUTA."))
    # Choices (the country's zones first, then all) are set by the view; the service
    # checks the name against the zone database.
    time_zone = SelectField(
        _l("Time zone"), validate_choice=False,
        description=_l("Dates and times on every page are shown in this zone."))
    shares_statistics = BooleanField(_l("Contributes to network-wide anonymized statistics"))
    # Public contact details (the service directory) and the notice address; the
    # service checks them, with its own messages.
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=2000)],
        description=_l("What the organization does, in plain words. Shown in the service "
                       "directory and its export."))
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    website = URLField(_l("Website"), validators=[Optional(), Length(max=300)],
                       render_kw={"placeholder": "https://"})
    notice_email = EmailField(
        _l("Address for referral notices"), validators=[Optional(), Length(max=254)],
        description=_l("New, overdue and completed referrals are announced to this address "
                       "by e-mail: the referral's reference and a link, never personal "
                       "data. Leave it empty for no e-mails."))
    submit = SubmitField(_l("Save"))


class UserCreateForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    organization_id = SelectField(_l("Organization"), validators=[InputRequired()])
    roles = MultiCheckboxField(_l("Roles"), choices=choices(ROLE_LABELS.items()),
                               validators=[RequiredMark()])
    password = PasswordField(
        _l("Initial password"), validators=[DataRequired()],
        description=_l("At least 12 characters. Give it to the person by a safe channel; "
                       "they must change it when they first log in."),
        render_kw={"autocomplete": "new-password"})
    # Checked by the service (so a missing one gets the same message as a wrong one).
    actor_password = PasswordField(
        _l("Your own password"), description=_l("Needed to create a user."),
        validators=[RequiredMark()], render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Create user"))


def second_factor_code_field() -> StringField:
    """Next to a dangerous act (roles, passwords): shown when the session has not proved a
    second factor in the last 5 minutes (login_flow.fresh_errors)."""
    return StringField(
        _l("Code from your authenticator app"), validators=[Optional(), Length(max=64)],
        description=_l("Changing roles and passwords needs your second factor again. "
                       "A recovery code works too."),
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                   "spellcheck": "false"})


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=choices(ROLE_LABELS.items()),
                               validators=[RequiredMark()])
    actor_password = PasswordField(
        _l("Your own password"),
        description=_l("Needed when you change roles."),
        render_kw={"autocomplete": "current-password"})
    second_factor_code = second_factor_code_field()
    submit = SubmitField(_l("Save"))


class SecondFactorResetForm(FlaskForm):
    """Remove every second factor of a user who lost them (use with prefix="sfreset")."""

    actor_password = PasswordField(
        _l("Your own password"),
        description=_l("Needed to reset someone's second factor."),
        validators=[RequiredMark()], render_kw={"autocomplete": "current-password"})
    second_factor_code = second_factor_code_field()
    submit = SubmitField(_l("Reset second factor"))


class UserStatusForm(FlaskForm):
    submit = SubmitField(_l("Change status"))


class PasswordResetForm(FlaskForm):
    """Shown on the user page next to UserEditForm: use it with prefix="reset"."""

    new_password = PasswordField(
        _l("New password"), validators=[DataRequired()],
        description=_l("Give it to the person by a safe channel; "
                       "they must change it when they next log in."),
        render_kw={"autocomplete": "new-password"})
    actor_password = PasswordField(
        _l("Your own password"), description=_l("Needed to set someone's password."),
        validators=[RequiredMark()], render_kw={"autocomplete": "current-password"})
    second_factor_code = second_factor_code_field()
    submit = SubmitField(_l("Set password"))
