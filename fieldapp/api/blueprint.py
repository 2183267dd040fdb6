"""The API blueprint and its request helpers (JSON body, paging).

Before any endpoint runs, `contract.check_request` holds the request to what the
OpenAPI document declares (types, enums, ranges), and fieldapp.edge has refused
unusable bytes; the helpers below only read what passed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l

from fieldapp.api import contract
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import csrf
from fieldapp.paging import MAX_PAGE

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, no cookies: nothing for a cross-site form to ride on
bp.before_request(contract.check_request)

MAX_PER_PAGE = 100


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 when missing or malformed, 422 when not an object."""
    data = contract.request_json()
    if not isinstance(data, dict):
        raise ValidationFailed(_l("Some fields need attention."),
                               fields={"body": [_l("Must be an object.")]})
    return data


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw) if len(raw) <= 16 else high + 1
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationFailed(_l("Some fields need attention."), fields={
            name: [_l("Give a whole number from %(low)d to %(high)d.", low=low, high=high)]})
    return value


def paging() -> tuple[int, int]:
    """?page= (1..MAX_PAGE) and ?per_page= (1..100); anything else is a 422."""
    return (_int_arg("page", 1, 1, MAX_PAGE),
            _int_arg("per_page", 25, 1, MAX_PER_PAGE))
