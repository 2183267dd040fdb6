"""The risk questionnaire as a form, built from the rule set's question list.

Every question can stay unanswered ("Not asked / no answer"), because an
unanswered question is not a "no".
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from fieldapp.accounts.forms import MultiCheckboxField
from fieldapp.cases import risk_labels as labels
from fieldapp.forms_support import choices
from fieldapp.risk import RuleSet

NOT_ANSWERED = ("", _l("Not asked / no answer"))
TRI_STATE = [NOT_ANSWERED, ("yes", _l("Yes")), ("no", _l("No"))]


def _field(key: str, spec: dict[str, Any]) -> dict[str, Any]:
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
            Optional(), NumberRange(min=spec.get("min", 0), max=spec.get("max", 99))])}
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


def build_form(rule_set: RuleSet, *, age: int, sex: str, answers: dict[str, Any],
               formdata: Any = None) -> tuple[FlaskForm, list[tuple[Any, list[str]]]]:
    """A form for the questions that apply to this person, and its sections
    (title, [field names]) in display order."""

    class AssessmentForm(FlaskForm):
        submit = SubmitField(_l("Save the assessment"))

    sections = []
    for title, keys in labels.SECTIONS:
        names = []
        for key in keys:
            if key not in rule_set.answers or not rule_set.applicable(
                    key, age=age, sex=sex, answers=answers):
                continue
            for name, field in _field(key, rule_set.answers[key]).items():
                setattr(AssessmentForm, name, field)
                names.append(name)
        if names:
            sections.append((title, names))
    form = AssessmentForm(formdata=formdata) if formdata is not None else AssessmentForm()
    if formdata is None:
        _fill(form, rule_set, answers)
    return form, sections


def _fill(form: FlaskForm, rule_set: RuleSet, answers: dict[str, Any]) -> None:
    for key, value in answers.items():
        kind = rule_set.answers[key]["type"]
        if kind == "bool" and hasattr(form, key):
            getattr(form, key).data = "yes" if value else "no"
        elif kind in ("choice", "int") and hasattr(form, key):
            getattr(form, key).data = value
        elif kind == "list" and hasattr(form, key):
            getattr(form, key).data = list(value)
            getattr(form, key + "__none").data = not value
        elif kind == "domains":
            for domain, v in value.items():
                if hasattr(form, f"{key}__{domain}"):
                    getattr(form, f"{key}__{domain}").data = v


def form_answers(form: FlaskForm, rule_set: RuleSet,
                 previous: dict[str, Any]) -> dict[str, Any]:
    """The answers in the form; questions not shown keep their previous answer."""
    answers: dict[str, Any] = {}
    for key, spec in rule_set.answers.items():
        kind = spec["type"]
        if kind == "domains":
            names = [f"{key}__{d}" for d in spec["domains"]]
            if not any(hasattr(form, n) for n in names):
                if key in previous:
                    answers[key] = previous[key]
                continue
            domains = {d: getattr(form, f"{key}__{d}").data for d in spec["domains"]
                       if getattr(form, f"{key}__{d}").data}
            if domains:
                answers[key] = domains
            continue
        if not hasattr(form, key):
            if key in previous:
                answers[key] = previous[key]
            continue
        data = getattr(form, key).data
        if kind == "bool" and data in ("yes", "no"):
            answers[key] = data == "yes"
        elif kind == "choice" and data:
            answers[key] = data
        elif kind == "int" and data is not None:
            answers[key] = data
        elif kind == "list":
            if data:
                answers[key] = list(data)
            elif getattr(form, key + "__none").data:
                answers[key] = []
    return answers


class ManualFlagForm(FlaskForm):
    code = SelectField(_l("Flag"), validators=[InputRequired()])
    severity = SelectField(_l("Severity"), validators=[Optional()])
    reason = TextAreaField(_l("Why"), validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Add flag"))


class DismissFlagForm(FlaskForm):
    reason = TextAreaField(_l("Why dismiss this flag?"),
                           validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Dismiss"))
