"""Forms of the referrals feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from fieldapp.accounts.forms import MultiCheckboxField
from fieldapp.cases import vocab as case_vocab
from fieldapp.forms_support import RequiredMark, choices
from fieldapp.referrals import vocab


class ServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    type = SelectField(_l("Type of service"), choices=choices(vocab.SERVICE_TYPES.items()),
                       validators=[RequiredMark()])
    organization_id = SelectField(_l("Organization"), validators=[RequiredMark()])
    location_codes = StringField(
        _l("Places covered"), validators=[InputRequired(), Length(max=400)],
        description=_l("Codes separated by commas: a site (CO-NSA-CUCUTA), a division "
                       "(CO-NSA) or a whole country (CO)."))
    languages = MultiCheckboxField(_l("Languages"),
                                   choices=choices(case_vocab.LANGUAGES.items()))
    # The range is the service's check (one message for "abc" and for 200, not two).
    min_age = IntegerField(_l("Minimum age"), validators=[Optional()])
    max_age = IntegerField(_l("Maximum age"), validators=[Optional()])
    sexes = MultiCheckboxField(_l("Only for (leave empty for everyone)"),
                               choices=choices(case_vocab.SEXES.items()))
    capacity = SelectField(_l("Capacity"), choices=choices(vocab.CAPACITIES.items()),
                           validators=[RequiredMark()])
    contact = StringField(_l("Contact for partners"), validators=[Optional(), Length(max=300)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class DirectoryFilterForm(FlaskForm):
    class Meta:
        csrf = False

    type = SelectField(_l("Type of service"), validators=[Optional()],
                       choices=choices([("", _l("Any")), *vocab.SERVICE_TYPES.items()]))
    location_code = StringField(_l("Place code"), validators=[Optional(), Length(max=40)])


class ReferralForm(FlaskForm):
    service_id = RadioField(_l("Service"), validators=[InputRequired()])
    flags = MultiCheckboxField(_l("Flags this referral answers"), validators=[RequiredMark()])
    given_by = RadioField(_l("Consent for this referral given by"),
                          choices=choices(case_vocab.CONSENT_GIVERS.items()),
                          validators=[InputRequired()])
    scope = MultiCheckboxField(_l("The person agrees to share"),
                               choices=choices(vocab.SCOPES.items()), default=["risk_summary"],
                               validators=[RequiredMark()])
    note = TextAreaField(_l("Note to the receiving organization"),
                         validators=[Optional(), Length(max=2000)],
                         description=_l("No names or details beyond what the person agreed "
                                        "to share."))
    submit = SubmitField(_l("Send referral"))


class TransitionForm(FlaskForm):
    action = HiddenField(validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Confirm"))


class BoxFilterForm(FlaskForm):
    class Meta:
        csrf = False

    box = HiddenField()
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=choices([("", _l("Any")), *vocab.STATUSES.items()]))
    urgency = SelectField(_l("Urgency"), validators=[Optional()],
                          choices=choices([("", _l("Any")), ("urgent", _l("Urgent")),
                                           ("high", _l("High")), ("medium", _l("Medium")),
                                           ("low", _l("Low"))]))
    overdue = BooleanField(_l("Only overdue"))


class RoutingForm(FlaskForm):
    first = SelectField(_l("First"))
    second = SelectField(_l("Second"))
    third = SelectField(_l("Third"))
    fourth = SelectField(_l("Fourth"))
    submit = SubmitField(_l("Save"))
