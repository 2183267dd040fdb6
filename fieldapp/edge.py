"""What every request must satisfy before any view reads it.

Bad bytes are refused here, once, for every page and endpoint, so that no
feature can forget them and no database sees them: NUL characters (PostgreSQL
refuses them in text), lone surrogates (they cannot be encoded, so they cannot
be sealed), JSON nested deeper than MAX_JSON_DEPTH, `NaN`/`Infinity`, numbers
that overflow a float or a 64-bit column. A refused request answers 400 with a
translated message (JSON under /api/, a page elsewhere) and changes nothing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l

from fieldapp.exceptions import DomainError

MAX_JSON_DEPTH = 32
# JSON's "safe integers": every value a JavaScript client can hold exactly, and
# well inside the 64-bit columns of both databases.
MAX_JSON_INT = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadInput(DomainError):
    """The request's bytes are unusable (400): malformed JSON, NUL, surrogates, depth."""

    code = "bad_request"
    status = 400


class JSONInputError(ValueError):
    """Raised while decoding JSON; a ValueError so that `get_json(silent=True)` says None."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def text_problem(value: str) -> Any:
    """Why a string cannot be stored, or None when it can."""
    if "\x00" in value:
        return _l("Text may not contain NUL characters.")
    if not value.isascii() and _SURROGATE.search(value):
        return _l("Text must be valid Unicode (a lone surrogate was sent).")
    return None


def _reject_constant(name: str) -> Any:
    raise JSONInputError(_l("Numbers must be finite (NaN and Infinity are not JSON)."))


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(_l("A number is out of range."))
    return value


def _parse_int(text: str) -> int:
    value = int(text)  # Python refuses more than 4,300 digits with a ValueError
    if abs(value) > MAX_JSON_INT:
        raise JSONInputError(_l("A number is out of range."))
    return value


def _check_tree(value: Any) -> None:
    """Depth, strings and keys of a decoded document, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem is not None:
                raise JSONInputError(problem)
        elif isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise JSONInputError(_l("The JSON document is nested too deeply (at most "
                                        "%(n)d levels).", n=MAX_JSON_DEPTH))
            if isinstance(node, dict):
                for key, item in node.items():
                    stack.append((key, depth + 1))
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)


def strict_loads(data: str | bytes, **kwargs: Any) -> Any:
    """`json.loads` that refuses what the app cannot store (see the module's docstring)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JSONInputError(_l("The request body is not valid UTF-8.")) from None
    kwargs.setdefault("parse_constant", _reject_constant)
    kwargs.setdefault("parse_float", _parse_float)
    kwargs.setdefault("parse_int", _parse_int)
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise JSONInputError(_l("The JSON document is nested too deeply (at most %(n)d "
                                "levels).", n=MAX_JSON_DEPTH)) from None
    _check_tree(value)
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """The app's JSON: every `request.get_json()` decodes through `strict_loads`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s, **kwargs)


def check_request_text() -> None:
    """before_request: no NUL or lone surrogate in the query string or a posted form."""
    for source in (request.args, request.form if request.method != "GET" else None):
        if not source:
            continue
        for key, value in source.items(multi=True):
            problem = text_problem(key) or text_problem(value)
            if problem is not None:
                raise BadInput(problem)


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.before_request(check_request_text)
