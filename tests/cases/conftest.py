"""Valid case data in the API's shape (the `register` fixture lives in tests/conftest.py)."""

from __future__ import annotations

import copy
from typing import Any

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
