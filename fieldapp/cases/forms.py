"""Forms of the cases feature. They collect input; `inputs.parse_case` validates it,
in the same round as the form's own checks (`RequiredMark` shows what it requires)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
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
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from fieldapp.accounts.forms import MultiCheckboxField
from fieldapp.cases import vocab
from fieldapp.forms_support import RequiredMark, choices, typed_or_raw

BLANK = [("", "—")]


class MemberForm(Form):
    given_name = StringField(_l("Given name(s)"), validators=[Optional(), Length(max=120)])
    family_name = StringField(_l("Family name(s)"), validators=[Optional(), Length(max=120)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    sex = SelectField(_l("Sex"), choices=choices(vocab.SEXES.items()), default="unknown")
    relationship = SelectField(_l("Relationship to the person"),
                               choices=choices([*BLANK, *vocab.RELATIONSHIPS.items()]))

    def is_blank(self) -> bool:
        return not (self.given_name.data or self.family_name.data or self.date_of_birth.data)


class CaseForm(FlaskForm):
    given_name = StringField(_l("Given name(s)"), validators=[InputRequired(), Length(max=120)],
                             render_kw={"autocomplete": "off"})
    family_name = StringField(_l("Family name(s)"), validators=[InputRequired(),
                                                                Length(max=120)],
                              render_kw={"autocomplete": "off"})
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()],
                              description=_l("Give the date of birth or, when unknown, "
                                             "the age in years."))
    # The range is the validator's (one message for "abc" and for 200, not two).
    age_years = IntegerField(_l("Age in years, if the date is unknown"),
                             validators=[Optional()])
    sex = SelectField(_l("Sex"), choices=choices([*BLANK, *vocab.SEXES.items()]),
                      validators=[RequiredMark()])
    nationality = SelectField(_l("Nationality"), validators=[RequiredMark()])
    document_type = SelectField(_l("Identity document"),
                                choices=choices([("", _l("None / not shown")),
                                                 *vocab.DOCUMENT_TYPES.items()]))
    document_number = StringField(_l("Document number"), validators=[Optional(),
                                                                      Length(max=40)],
                                  render_kw={"autocomplete": "off"})
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=32)],
                     render_kw={"autocomplete": "off"})
    address = StringField(_l("Address or where to find the person"),
                          validators=[Optional(), Length(max=300)],
                          render_kw={"autocomplete": "off"})
    location_code = SelectField(_l("Place of registration"), validators=[RequiredMark()])
    stage = SelectField(_l("Stage of displacement"),
                        choices=choices([*BLANK, *vocab.STAGES.items()]),
                        validators=[RequiredMark()])
    languages = MultiCheckboxField(_l("Languages spoken"), choices=choices(vocab.LANGUAGES.items()))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)],
                          description=_l("Only what the work needs. Notes are encrypted."))
    # The label names one entry (the error summary says "Member 2 – Sex: ...").
    household = FieldList(FormField(MemberForm), label=_l("Member %(n)d"), min_entries=0,
                          max_entries=30)
    add_member = SubmitField(_l("Add a household member"))

    consent_basis = RadioField(_l("Legal basis for processing"),
                               choices=choices(vocab.CONSENT_BASES.items()), default="consent",
                               validators=[RequiredMark()])
    consent_given_by = RadioField(_l("Given by"), choices=choices(vocab.CONSENT_GIVERS.items()),
                                  default="self", validators=[RequiredMark()])
    consent_language = SelectField(_l("Explained in"), choices=choices(vocab.LANGUAGES.items()),
                                   default="es", validators=[RequiredMark()])
    consent_note = TextAreaField(_l("Notes on the basis (required for another basis)"),
                                 validators=[Optional(), Length(max=4000)])
    data_processing = BooleanField(
        _l("I explained why and how these data are kept, and recorded the basis above."),
        description=_l("Registration never depends on agreeing to share data with others."),
        validators=[RequiredMark()])

    duplicate_reason = TextAreaField(_l("Why register anyway?"),
                                     validators=[Optional(), Length(max=1000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))


ERROR_FIELDS = {
    "document.number": "document_number",
    "document.type": "document_type",
    "consent.data_processing": "data_processing",
    "consent.basis": "consent_basis",
    "consent.given_by": "consent_given_by",
    "consent.language": "consent_language",
    "consent.note": "consent_note",
}


def form_to_data(form: CaseForm) -> tuple[dict[str, Any], list[int]]:
    """The form's values in the API's shape, plus which form rows the members came from."""
    rows = [i for i, entry in enumerate(form.household) if not entry.form.is_blank()]
    data = {
        "given_name": form.given_name.data,
        "family_name": form.family_name.data,
        "date_of_birth": typed_or_raw(form.date_of_birth),
        "age_years": typed_or_raw(form.age_years),
        "sex": form.sex.data,
        "nationality": form.nationality.data,
        "document": {"type": form.document_type.data or None,
                     "number": form.document_number.data},
        "phone": form.phone.data,
        "address": form.address.data,
        "location_code": form.location_code.data,
        "stage": form.stage.data,
        "languages": form.languages.data or [],
        "notes": form.notes.data,
        "consent": {"data_processing": bool(form.data_processing.data),
                    "basis": form.consent_basis.data, "given_by": form.consent_given_by.data,
                    "language": form.consent_language.data, "note": form.consent_note.data},
        "household": [
            {"given_name": form.household[i].form.given_name.data,
             "family_name": form.household[i].form.family_name.data,
             "date_of_birth": typed_or_raw(form.household[i].form.date_of_birth),
             "sex": form.household[i].form.sex.data,
             "relationship": form.household[i].form.relationship.data}
            for i in rows],
    }
    return data, rows


def place_errors(form: CaseForm, fields: dict[str, list[Any]], rows: list[int]) -> list[str]:
    """Put API-named errors on form fields; return messages that found no field. A field
    the form's own checks already found wrong keeps that one message."""
    leftover = []
    for name, messages in fields.items():
        target = None
        if name.startswith("household."):
            parts = name.split(".")
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
                target = getattr(form.household[rows[int(parts[1])]].form, parts[2], None)
        else:
            target = getattr(form, ERROR_FIELDS.get(name, name), None)
        if target is None:
            leftover.extend(str(m) for m in messages)
        elif not target.errors:
            target.errors = [str(m) for m in messages]
    return leftover


def fill_from_case(form: CaseForm, values: dict[str, Any]) -> None:
    """Pre-fill an edit form with the case's current values (API shape)."""
    from datetime import date

    form.given_name.data = values["given_name"]
    form.family_name.data = values["family_name"]
    form.date_of_birth.data = date.fromisoformat(values["date_of_birth"]) \
        if values["date_of_birth"] else None
    form.age_years.data = values["age_years"]
    form.sex.data = values["sex"]
    form.nationality.data = values["nationality"]
    doc = values["document"] or {}
    form.document_type.data = doc.get("type") or ""
    form.document_number.data = doc.get("number")
    form.phone.data = values["phone"]
    form.address.data = values["address"]
    form.location_code.data = values["location_code"]
    form.stage.data = values["stage"]
    form.languages.data = values["languages"]
    form.notes.data = values["notes"]
    for member in values["household"]:
        form.household.append_entry()
        sub = form.household[-1].form
        sub.given_name.data = member["given_name"]
        sub.family_name.data = member["family_name"]
        sub.date_of_birth.data = date.fromisoformat(member["date_of_birth"]) \
            if member["date_of_birth"] else None
        sub.sex.data = member["sex"]
        sub.relationship.data = member["relationship"]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form of non-personal filters

    status = SelectField(_l("Status"), choices=choices([("", _l("Any")),
                                                        *vocab.STATUSES.items()]),
                         validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=choices([("", _l("Any")),
                                                            *vocab.PRIORITIES.items()]),
                           validators=[Optional()])
    flag = SelectField(_l("Flag"), validators=[Optional()])
    location_code = SelectField(_l("Place"), validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=choices([("", _l("Any")), *vocab.STAGES.items()]),
                        validators=[Optional()])


class SearchForm(FlaskForm):
    q = StringField(_l("Reference, full name or document number"),
                    validators=[InputRequired(), Length(max=200)],
                    render_kw={"autocomplete": "off"})
    submit = SubmitField(_l("Search"))


class CloseForm(FlaskForm):
    # Its own id: the case page also has the add-flag form's "reason".
    reason = TextAreaField(_l("Reason for closing"), validators=[InputRequired(),
                                                                 Length(max=2000)],
                           id="close-reason")
    version = HiddenField()
    submit = SubmitField(_l("Close case"))


class SimpleActionForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


class ReassignForm(FlaskForm):
    assignee_id = SelectField(_l("Assign to"))
    submit = SubmitField(_l("Reassign"))


class WithdrawConsentForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is consent withdrawn?"),
        validators=[DataRequired(message=_l("Write why consent is withdrawn.")),
                    Length(max=2000)],
        description=_l("In a few words, what the person said. It is stored encrypted "
                       "with the case."))
    submit = SubmitField(_l("Withdraw consent"))
