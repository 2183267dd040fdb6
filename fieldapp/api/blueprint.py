"""The API blueprint and its request helpers (JSON body, paging)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from fieldapp.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, no cookies: nothing for a cross-site form to ride on

MAX_PER_PAGE = 100


def json_body() -> dict[str, Any]:
    """The request's JSON object, or 400 when it is missing or malformed."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def paging() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PER_PAGE, max(1, int(request.args.get("per_page", 25))))
    except ValueError:
        abort(400)
    return page, per_page
