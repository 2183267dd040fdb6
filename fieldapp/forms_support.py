"""Helpers between services and WTForms: choices, errors from services in the same
round as the form's own, and the error summary shown at the top of a form page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, Form, FormField, HiddenField, SelectChoice, widgets
from wtforms.csrf.core import CSRFTokenField

from fieldapp.exceptions import DomainError


class RequiredMark:
    """Marks a field as required (the label says so, the input gets `required`) without
    checking it here: the service checks it, with its own message, in the same round."""

    field_flags = {"required": True}

    def __call__(self, form: Form, field: Field) -> None:
        return None


def checkable(form: FlaskForm) -> bool:
    """A submitted form whose CSRF token passed: what was sent may go through the
    service's validation even when WTForms found problems, so that one response
    reports every problem. A forged or expired form is not looked at further."""
    return form.is_submitted() and "csrf_token" not in form.errors


def merge_errors(form: Form, fields: Mapping[str, Iterable[Any]],
                 names: Mapping[str, str] | None = None) -> None:
    """A service's field errors onto the form, in the same round as its own.

    `names` maps the service's names to the form's (`consent.scope` -> `scope`). A
    field that WTForms already found wrong keeps its message (one problem, one
    message); errors for fields the form does not have become form-level errors,
    which the error summary lists."""
    for name, messages in fields.items():
        target = (names or {}).get(name, name)
        field = form[target] if target in form else None
        texts = [str(m) for m in messages]
        if field is None:
            form.form_errors.extend(t for t in texts if t not in form.form_errors)
        elif not field.errors:
            field.errors = texts


def apply_field_errors(form: Form, exc: DomainError,
                       names: Mapping[str, str] | None = None) -> None:
    """A refusal by the service shown on the form: its field errors on the fields, its
    overall message as a form-level error when no field took one."""
    merge_errors(form, exc.fields, names)
    if exc.message and not exc.fields:
        form.form_errors.append(str(exc.message))


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices; labels may be lazy translations."""
    return [SelectChoice(value, label) for value, label in pairs]


def render_status(form: FlaskForm) -> int:
    """422 for a submitted form that did not validate, so clients and tests can tell."""
    return 422 if form.is_submitted() and form.errors else 200


def typed_or_raw(field: Field) -> Any:
    """The field's value, or what was typed when WTForms could not read it (a date or a
    number): the service then gives its own verdict, and nothing typed goes unchecked."""
    if field.data is None and field.raw_data and str(field.raw_data[0]).strip():
        return field.raw_data[0]
    return field.data


# -- the error summary ----------------------------------------------------------------------

def is_choice_group(field: Field) -> bool:
    """Radios or checkboxes, shown as a group of inputs in a fieldset."""
    return isinstance(field.widget, widgets.ListWidget)


def _anchor(field: Field) -> str:
    """The id a summary link goes to: the input itself, or a group's first option."""
    if is_choice_group(field):
        first = next(iter(field), None)
        if first is not None:
            return str(first.id)
    return str(field.id)


def _field_entries(form: Form, anchors: Mapping[str, str],
                   prefix: str = "") -> list[tuple[str | None, str]]:
    entries: list[tuple[str | None, str]] = []
    for field in form:
        if isinstance(field, FieldList):
            for number, entry in enumerate(field, start=1):
                if isinstance(entry, FormField):
                    # The list's label names one entry, with its number: "Member %(n)d".
                    group = str(field.label.text) % {"n": number} + " – "
                    entries += _field_entries(entry.form, anchors, prefix + group)
            continue
        if isinstance(field, FormField):
            entries += _field_entries(field.form, anchors, prefix)
            continue
        if not field.errors:
            continue
        if isinstance(field, CSRFTokenField):
            entries.append((None, _("Your form expired or was sent from elsewhere. "
                                    "Please try again.")))
        elif isinstance(field, HiddenField):
            entries += [(None, str(message)) for message in field.errors]
        else:
            label = prefix + str(field.label.text).rstrip(".:")
            href = anchors.get(field.name) or _anchor(field)
            entries += [(href, _("%(field)s: %(message)s", field=label, message=message))
                        for message in field.errors]
    return entries


def error_summary_entries(forms: Any, extra: Iterable[Any] = (),
                          anchors: Mapping[str, str] | None = None,
                          ) -> list[tuple[str | None, str]]:
    """Every problem of the page, in page order, as (id to link to or None, text).

    `forms` is a form, a list of forms or None; `extra` adds messages that belong to
    no field (a text, or an (id, text) pair); `anchors` names the element a field's
    link goes to when the page renders the field by hand. When there is a problem,
    the page is marked (`g.error_summary`), so that base.html titles it "Error: ..."
    and loads the small script that focuses the summary."""
    if forms is None:
        forms = []
    elif isinstance(forms, Form):
        forms = [forms]
    entries: list[tuple[str | None, str]] = []
    for item in extra:
        entries.append(tuple(item) if isinstance(item, tuple) else (None, str(item)))
    for form in forms:
        if form is None:
            continue
        entries += [(None, str(message)) for message in form.form_errors]
        entries += _field_entries(form, anchors or {})
    if entries:
        g.error_summary = True
    return entries
