"""Helpers between services and WTForms: choices, and per-field errors from services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from fieldapp.exceptions import ValidationFailed


def apply_field_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Attach errors to the named fields; anything unmatched becomes a flash message."""
    placed = False
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors or []) + [str(m) for m in messages]
            placed = True
    if exc.message and not placed:
        flash(str(exc.message), "error")


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices; labels may be lazy translations."""
    return [SelectChoice(value, label) for value, label in pairs]


def render_status(form: FlaskForm) -> int:
    """422 for a submitted form that did not validate, so clients and tests can tell."""
    return 422 if form.is_submitted() and form.errors else 200
