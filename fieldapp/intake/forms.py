"""Forms of offline intake: the registration form again (to fix a kept record), a
decision about a possible duplicate, and confirmations."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from fieldapp.cases import choices as case_choices
from fieldapp.cases.forms import BLANK, CaseForm
from fieldapp.forms_support import choices


def case_form(**kwargs: Any) -> CaseForm:
    """The registration form with its lists of places and nationalities, as on /cases/new."""
    form = CaseForm(**kwargs)
    form.nationality.choices = case_choices.nationality_choices()
    form.location_code.choices = [*choices(BLANK), *case_choices.location_choices()]
    return form


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _set(field: Any, value: Any) -> None:
    """A value from the kept record onto a field; what the field cannot hold as data
    (a date that is no date) is shown as typed, for the person to correct."""
    if value is None:
        return
    if field.type == "DateField":
        try:
            field.data = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            field.data = None
        if field.data is None:
            field.raw_data = [str(value)]
        return
    if field.type == "IntegerField":
        field.data = value if isinstance(value, int) and not isinstance(value, bool) else None
        if field.data is None:
            field.raw_data = [str(value)]
        return
    if field.type == "BooleanField":
        field.data = value is True
        return
    if field.type == "MultiCheckboxField":
        field.data = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        return
    field.data = _text(value) if not isinstance(value, int | float) else str(value)


def fill_from_body(form: CaseForm, body: dict[str, Any]) -> None:
    """A kept record's body (API shape, possibly malformed: that is why it was kept) onto
    the registration form, member rows included."""
    for name in ("given_name", "family_name", "date_of_birth", "age_years", "sex",
                 "nationality", "phone", "address", "location_code", "stage", "languages",
                 "notes"):
        _set(form[name], body.get(name))
    document = body.get("document") if isinstance(body.get("document"), dict) else {}
    _set(form.document_type, document.get("type"))
    _set(form.document_number, document.get("number"))
    consent = body.get("consent") if isinstance(body.get("consent"), dict) else {}
    _set(form.consent_basis, consent.get("basis"))
    _set(form.consent_given_by, consent.get("given_by"))
    _set(form.consent_language, consent.get("language"))
    _set(form.consent_note, consent.get("note"))
    _set(form.data_processing, consent.get("data_processing"))
    members = body.get("household") if isinstance(body.get("household"), list) else []
    for member in members[:30]:
        form.household.append_entry()
        if not isinstance(member, dict):
            continue
        sub = form.household[-1].form
        for name in ("given_name", "family_name", "date_of_birth", "sex", "relationship"):
            _set(sub[name], member.get(name))


DECISIONS = {"same_person": _l("The same person"),
             "different_person": _l("A different person")}


class DuplicateDecisionForm(FlaskForm):
    decision = RadioField(_l("Is this the same person?"), choices=choices(DECISIONS.items()),
                          validators=[InputRequired()])
    reason = TextAreaField(_l("Why are they different people?"),
                           validators=[Optional(), Length(max=1000)],
                           description=_l("Needed for “a different person”. Stored "
                                          "encrypted with the case."))
    submit = SubmitField(_l("Save the decision"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Revoke this phone"))
