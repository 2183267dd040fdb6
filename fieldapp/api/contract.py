"""Requests checked against the OpenAPI document before any endpoint runs.

The document (`openapi.py`) declares every operation's query parameters and
request body; this module enforces those declarations once, for every
endpoint, so that a new field cannot forget its type check: a list where a
string is expected, `true` where an integer is expected, a page number out of
range all answer 422 naming the field, before a service sees the value.

It checks what the document says (type, enum, nullable, integer bounds, array
items, object properties) and nothing more; the services still validate
meaning (a known place, a date in the past) with their own messages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from fieldapp.edge import BadInput, JSONInputError
from fieldapp.exceptions import ValidationFailed

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")
_INT = re.compile(r"^[+-]?[0-9]{1,16}$")


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    from fieldapp.api.openapi import document

    return document()


def openapi_path(rule: str) -> str:
    """`/api/v1/cases/<uuid:case_id>` -> `/cases/{case_id}`."""
    return _CONVERTER.sub(r"{\1}", rule.removeprefix(PREFIX))


def operation(rule: str, method: str) -> dict[str, Any] | None:
    return _document()["paths"].get(openapi_path(rule), {}).get(method.lower())


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` and merge `allOf` (the only composition the document uses)."""
    while "$ref" in schema:
        schema = _document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolve(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return schema


# -- messages ------------------------------------------------------------------------------

MUST_BE = {
    "string": _l("Must be text."),
    "integer": _l("Must be a whole number."),
    "number": _l("Must be a number."),
    "boolean": _l("Must be true or false."),
    "array": _l("Must be a list."),
    "object": _l("Must be an object."),
}


def _is_type(value: Any, type_: str | None) -> bool:
    if type_ is None:
        return True
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and value.is_integer())
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "array":
        return isinstance(value, list)
    if type_ == "object":
        return isinstance(value, dict)
    return True


def check_value(value: Any, schema: dict[str, Any], path: str,
                errors: dict[str, list[Any]]) -> None:
    """Add to `errors` (keyed by dotted path) where `value` breaks `schema`."""
    schema = resolve(schema)
    name = path or "body"
    if value is None:
        if not schema.get("nullable"):
            errors.setdefault(name, []).append(_l("May not be null."))
        return
    type_ = schema.get("type")
    if not _is_type(value, type_):
        errors.setdefault(name, []).append(MUST_BE.get(type_, _l("Not one of the allowed "
                                                                  "values.")))
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.setdefault(name, []).append(_l("Not one of the allowed values."))
        return
    if type_ in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            errors.setdefault(name, []).append(_l("Out of range."))
    elif type_ == "string" and "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.setdefault(name, []).append(_l("At most %(n)d characters.",
                                              n=schema["maxLength"]))
    elif type_ == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.setdefault(name, []).append(_l("Too many items."))
            return
        for i, item in enumerate(value):
            check_value(item, schema.get("items", {}), f"{path}.{i}" if path else str(i),
                        errors)
    elif type_ == "object":
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.setdefault(f"{path}.{key}" if path else key, []).append(
                    _l("This field is required."))
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                check_value(item, sub, f"{path}.{key}" if path else key, errors)


def _query_value(raw: str, schema: dict[str, Any]) -> Any:
    """A query string's text as the declared type, or raise ValueError."""
    type_ = schema.get("type")
    if type_ == "integer":
        if not _INT.match(raw.strip()):
            raise ValueError(raw)
        return int(raw)
    if type_ == "boolean":
        if raw not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return raw in ("true", "1")
    return raw


def check_query(op: dict[str, Any], errors: dict[str, list[Any]]) -> None:
    for param in op.get("parameters", []):
        if param.get("in") != "query":
            continue
        name, schema = param["name"], resolve(param.get("schema", {}))
        values = request.args.getlist(name)
        if not values:
            if param.get("required"):
                errors.setdefault(name, []).append(_l("This field is required."))
            continue
        if len(values) > 1:
            errors.setdefault(name, []).append(_l("Give this parameter once."))
            continue
        if values[0] == "" and not param.get("required"):
            continue  # an empty filter means no filter, as the endpoints always read it
        try:
            value = _query_value(values[0], schema)
        except ValueError:
            errors.setdefault(name, []).append(MUST_BE.get(schema.get("type"),
                                                           _l("Not one of the allowed "
                                                              "values.")))
            continue
        check_value(value, schema, name, errors)


def request_json() -> Any:
    """The request's decoded JSON (strictly: see fieldapp.edge), or raise BadInput."""
    if not request.is_json:
        raise BadInput(_l("Send a JSON body with Content-Type: application/json."))
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadInput(_l("The request body is empty."))
    from flask import current_app

    try:
        return current_app.json.loads(raw)
    except JSONInputError as exc:
        raise BadInput(exc.message) from None
    except ValueError:
        raise BadInput(_l("The request body is not valid JSON.")) from None


def check_request() -> None:
    """before_request of the API blueprint: query and body against the document."""
    if request.url_rule is None:
        return
    op = operation(request.url_rule.rule, request.method)
    if op is None:
        return  # HEAD/OPTIONS; a route missing from the document fails the test suite
    errors: dict[str, list[Any]] = {}
    check_query(op, errors)
    body = op.get("requestBody")
    if body is not None:
        has_body = bool(request.get_data(cache=True).strip())
        if has_body or body.get("required"):
            value = request_json()
            schema = body["content"]["application/json"]["schema"]
            check_value(value, schema, "", errors)
    if errors:
        raise ValidationFailed(_l("Some fields need attention."), fields=errors)
