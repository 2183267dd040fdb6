"""Helpers for case tests: valid case data in the API's shape, and registering through
the real services (encryption included)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from fieldapp.cases import inputs, services

BASE_CASE: dict[str, Any] = {
    "given_name": "María José",
    "family_name": "Pérez Rojas",
    "date_of_birth": "2011-04-02",
    "sex": "female",
    "nationality": "VEN",
    "document": {"type": "passport", "number": "V12345678"},
    "phone": "+57 300 000 0000",
    "location_code": "CO-NSA-CUCUTA",
    "stage": "border",
    "languages": ["es"],
    "notes": "Travelling with an aunt.",
    "consent": {"data_processing": True, "given_by": "guardian"},
    "household": [],
}


def case_data(**overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE_CASE)
    data.update(overrides)
    return data


@pytest.fixture
def register():
    """register(actor, **overrides) -> Case, through the real service."""
    def _register(actor, **overrides):
        from fieldapp.extensions import db

        parsed = inputs.parse_case(case_data(**overrides), today=date.today())
        case = services.register_case(actor, parsed)
        db.session.commit()
        return case
    return _register
