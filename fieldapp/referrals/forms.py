"""Forms of the referrals feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import TimeInput

from fieldapp.accounts.forms import MultiCheckboxField
from fieldapp.cases import vocab as case_vocab
from fieldapp.forms_support import RequiredMark, choices
from fieldapp.referrals import hours, vocab


class OpeningHoursForm(Form):
    """One row of opening hours: the days, and the times on those days (the service
    checks them, HH:MM and opening before closing, with its own messages)."""

    # Translators: days of the week on which the service is open.
    days = MultiCheckboxField(_l("Days"), choices=choices(hours.DAYS.items()))
    # Translators: "Opens at" and "Closes at" label a time of day (08:00).
    opens_at = StringField(_l("Opens at"), widget=TimeInput(),
                           render_kw={"placeholder": "08:00"})
    closes_at = StringField(_l("Closes at"), widget=TimeInput(),
                            render_kw={"placeholder": "16:00"})


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
    # What the directory publishes (HSDS): no personal data in any of these.
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=2000)],
        description=_l("What the service does, in plain words. Shown to every partner and "
                       "in the directory export."))
    url = URLField(_l("Web page"), validators=[Optional(), Length(max=300)],
                   render_kw={"placeholder": "https://"})
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=32)])
    eligibility_description = TextAreaField(
        _l("Who may use it"), validators=[Optional(), Length(max=1000)],
        description=_l("In words, for example: women and girls; no documents needed."))
    # The label names one row (the error summary says "Opening hours 2 – Days: ...").
    schedule = FieldList(FormField(OpeningHoursForm), label=_l("Opening hours %(n)d"),
                         min_entries=0, max_entries=hours.MAX_ROWS)
    schedule_description = StringField(
        _l("Opening hours in words"), validators=[Optional(), Length(max=300)],
        description=_l("For example: closed on public holidays; on Saturdays, call first."))
    location_name = StringField(
        _l("Place name"), validators=[Optional(), Length(max=200)],
        description=_l("Where people go, for example: Casa de la Mujer, second floor."))
    address_1 = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City or town"), validators=[Optional(), Length(max=100)])
    state_province = StringField(_l("Department, state or province"),
                                 validators=[Optional(), Length(max=100)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    submit = SubmitField(_l("Save"))


class DirectoryFilterForm(FlaskForm):
    class Meta:
        csrf = False

    type = SelectField(_l("Type of service"), validators=[Optional()],
                       choices=choices([("", _l("Any")), *vocab.SERVICE_TYPES.items()]))
    location_code = StringField(_l("Place code"), validators=[Optional(), Length(max=40)])


class ReferralForm(FlaskForm):
    """One or several services in one step, each with the flags it answers (values
    `<service id>:<flag>`, or `other:<flag>` for the services not suggested), under one
    consent. Two rounds: the form, then the consent screen that says exactly what each
    organization will know; only its "send" button (`confirm`) sends."""

    service_id = MultiCheckboxField(_l("Services"), validators=[InputRequired()])
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
    submit = SubmitField(_l("Continue"))
    confirm = SubmitField(_l("Send referral"))
    change = SubmitField(_l("Change"))


class UpdateForm(FlaskForm):
    """An entry of a referral's follow-up log (the service checks kind, text and date
    together, with its own messages)."""

    kind = RadioField(_l("What happened"), choices=choices([
        ("note", _l("A note")), ("appointment", _l("An appointment was set")),
        ("contact_attempt", _l("We tried to reach the person")),
        ("service_delivered", _l("A service was delivered"))]),
        default="note", validators=[InputRequired()])
    on_date = DateField(_l("Date"), validators=[Optional()],
                        description=_l("Of the appointment, the attempt or the delivery."))
    text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=2000)],
                         description=_l("For a delivered service, say what was delivered. "
                                        "Only what the other organization needs to know."))
    submit = SubmitField(_l("Add to the log"))


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
    news = BooleanField(_l("Only those with news"))


class RoutingForm(FlaskForm):
    first = SelectField(_l("First"))
    second = SelectField(_l("Second"))
    third = SelectField(_l("Third"))
    fourth = SelectField(_l("Fourth"))
    submit = SubmitField(_l("Save"))
