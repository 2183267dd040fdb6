"""The risk questionnaire's forms, one per section, built from the rule set; the flag forms.

Every question can stay unanswered ("Not asked / no answer"), because an
unanswered question is not a "no".
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from fieldapp.accounts.forms import MultiCheckboxField
from fieldapp.forms_support import choices
from fieldapp.risk import RuleSet, labels

NOT_ANSWERED = ("", _l("Not asked / no answer"))
TRI_STATE = [NOT_ANSWERED, ("yes", _l("Yes")), ("no", _l("No"))]


def _fields(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Form fields for one question, keyed by their form names."""
    label = labels.QUESTIONS.get(key, key)
    help_text = labels.HELP.get(key, "")
    kind = spec["type"]
    if kind == "bool":
        return {key: RadioField(label, choices=choices(TRI_STATE), default="",
                                description=help_text, validators=[Optional()])}
    if kind == "choice":
        values = labels.VALUES.get(key, {})
        return {key: RadioField(label, choices=choices(
            [NOT_ANSWERED, *((v, values.get(v, v)) for v in spec["values"])]), default="",
            description=help_text, validators=[Optional()])}
    if kind == "int":
        return {key: IntegerField(label, description=help_text, validators=[
            Optional(), NumberRange(min=spec.get("min", 0), max=spec.get("max", 99))],
            render_kw={"inputmode": "numeric"})}
    if kind == "list":
        values = labels.VALUES.get(key, {})
        return {
            key: MultiCheckboxField(label, choices=choices(
                (v, values.get(v, v)) for v in spec["values"]), description=help_text),
            key + "__none": BooleanField(_l("Asked: none of these")),
        }
    if kind == "domains":
        values = labels.VALUES.get(key, {})
        return {f"{key}__{domain}": SelectField(
            labels.DOMAINS.get(domain, domain),
            choices=choices([NOT_ANSWERED, *((v, values.get(v, v)) for v in spec["values"])]),
            default="", validators=[Optional()]) for domain in spec["domains"]}
    raise ValueError(f"unknown question type {kind}")


def build_section_form(rule_set: RuleSet, keys: list[str], answers: dict[str, Any],
                       formdata: Any = None) -> tuple[FlaskForm, list[tuple[str, list[str]]]]:
    """A form asking these questions (the section's, those that apply and that
    registration did not answer), and the questions as (key, [field names]) in order."""

    class SectionForm(FlaskForm):
        submit = SubmitField(_l("Save and continue"))

    questions = []
    for key in keys:
        names = []
        for name, field in _fields(key, rule_set.answers[key]).items():
            setattr(SectionForm, name, field)
            names.append(name)
        questions.append((key, names))
    form = SectionForm(formdata=formdata) if formdata is not None else SectionForm()
    if formdata is None:
        _fill(form, rule_set, {k: v for k, v in answers.items() if k in keys})
    return form, questions


def _fill(form: FlaskForm, rule_set: RuleSet, answers: dict[str, Any]) -> None:
    for key, value in answers.items():
        kind = rule_set.answers[key]["type"]
        if kind == "bool":
            form[key].data = "yes" if value else "no"
        elif kind in ("choice", "int"):
            form[key].data = value
        elif kind == "list":
            form[key].data = list(value)
            form[key + "__none"].data = not value
        elif kind == "domains":
            for domain, v in value.items():
                if f"{key}__{domain}" in form:
                    form[f"{key}__{domain}"].data = v


def section_answers(form: FlaskForm, rule_set: RuleSet, keys: list[str]) -> dict[str, Any]:
    """The answers given in the form to these questions; a key left out is unanswered."""
    answers: dict[str, Any] = {}
    for key in keys:
        spec = rule_set.answers[key]
        kind = spec["type"]
        if kind == "domains":
            domains = {d: form[f"{key}__{d}"].data for d in spec["domains"]
                       if form[f"{key}__{d}"].data}
            if domains:
                answers[key] = domains
            continue
        data = form[key].data
        if kind == "bool" and data in ("yes", "no"):
            answers[key] = data == "yes"
        elif kind == "choice" and data:
            answers[key] = data
        elif kind == "int" and data is not None:
            answers[key] = data
        elif kind == "list":
            if data:
                answers[key] = list(data)
            elif form[key + "__none"].data:
                answers[key] = []
    return answers


def error_entries(form: FlaskForm) -> list[tuple[str | None, str]]:
    """Every problem of a section form, in page order: (id of the input to go to, text)."""
    entries: list[tuple[str | None, str]] = []
    for field in form:
        if not field.errors:
            continue
        if isinstance(field, CSRFTokenField):
            entries.append((None, _("Your form expired or was sent from elsewhere. "
                                    "Please try again.")))
            continue
        first = next(iter(field), None) if isinstance(field, (RadioField,
                                                              MultiCheckboxField)) else None
        anchor = str(first.id) if first is not None else str(field.id)
        entries += [(anchor, _("%(field)s: %(message)s", field=field.label.text,
                               message=message)) for message in field.errors]
    return entries


class ManualFlagForm(FlaskForm):
    code = SelectField(_l("Flag"), validators=[InputRequired()])
    severity = SelectField(_l("Severity"), validators=[Optional()])
    reason = TextAreaField(_l("Why"), validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Add flag"))


class DismissFlagForm(FlaskForm):
    reason = TextAreaField(_l("Why dismiss this flag?"),
                           validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Dismiss"))


def flag_form(rule_set: RuleSet | None = None, **kwargs: Any) -> ManualFlagForm:
    """The manual-flag form with the rule set's flags and the severities as choices
    (`formdata=None`: an empty one, while another form of the page is being posted)."""
    rule_set = rule_set or current_app.extensions["fieldapp.rules"]
    form = ManualFlagForm(**kwargs)
    form.code.choices = choices((c, labels.flag_label(c)) for c in rule_set.flag_codes())
    form.severity.choices = choices([("", _("As in the rule table"))]
                                    + list(labels.SEVERITY_LABELS.items()))
    return form
