"""Helpers between services and WTForms: choices, and per-field errors from services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from fieldapp.exceptions import DomainError, ValidationFailed


def apply_field_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Attach errors to the named fields; messages for fields the form does not have
    are flashed, and so is the overall message when no field took an error."""
    placed = False
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors or []) + [str(m) for m in messages]
            placed = True
        else:
            for message in messages:
                flash(str(message), "error")
    if exc.message and not placed and not exc.fields:
        flash(str(exc.message), "error")


def flash_errors(exc: DomainError) -> None:
    """For a form that is not shown again (a redirect follows): flash every field's
    messages, or the overall message when there are none."""
    for messages in exc.fields.values():
        for message in messages:
            flash(str(message), "error")
    if not exc.fields and exc.message:
        flash(str(exc.message), "error")


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices; labels may be lazy translations."""
    return [SelectChoice(value, label) for value, label in pairs]


def render_status(form: FlaskForm) -> int:
    """422 for a submitted form that did not validate, so clients and tests can tell."""
    return 422 if form.is_submitted() and form.errors else 200
