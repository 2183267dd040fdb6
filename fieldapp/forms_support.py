"""Putting a service's per-field validation errors onto a WTForms form."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

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
