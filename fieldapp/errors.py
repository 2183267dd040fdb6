"""Error responses: a translated HTML page, or docs/api.md's JSON error format under /api/.

Messages are generic; no error page ever shows request data or a traceback.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.exceptions import DomainError
from fieldapp.extensions import db

MESSAGES: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Log in to continue.")),
    403: ("forbidden", _l("You are not allowed to do this.")),
    404: ("not_found", _l("Not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("Someone else changed this in the meantime.")),
    413: ("too_large", _l("The request is too large.")),
    422: ("validation_failed", _l("Some fields need attention.")),
    428: ("precondition_required", _l("The If-Match header is required.")),
    429: ("throttled", _l("Too many attempts. Wait a few minutes and try again.")),
    500: ("internal_error", _l("Something went wrong on our side. Nothing was saved.")),
}


def api_error(status: int, code: str | None = None, message: Any = None,
              fields: dict[str, list[Any]] | None = None) -> Response:
    default_code, default_message = MESSAGES.get(status, MESSAGES[500])
    body: dict[str, Any] = {"code": code or default_code,
                            "message": str(message or default_message)}
    if fields:
        body["fields"] = {k: [str(m) for m in v] for k, v in fields.items()}
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fieldapp"'
    return response


def _html_error(status: int, message: Any = None) -> tuple[str, int]:
    _code, default_message = MESSAGES.get(status, MESSAGES[500])
    return render_template("errors/error.html", status=status, lang_next="/",
                           message=message or default_message), status


def handle_http_exception(exc: HTTPException) -> Any:
    status = exc.code or 500
    message = None
    if isinstance(exc, CSRFError):
        message = _("Your form expired or was sent from elsewhere. Please try again.")
    elif isinstance(exc, RateLimitExceeded):
        db.session.rollback()
    if authz.is_api_request():
        response = api_error(status, message=message)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response
    return _html_error(status, message)


def handle_domain_error(exc: DomainError) -> Any:
    db.session.rollback()
    if authz.is_api_request():
        return api_error(exc.status, exc.code, exc.message, exc.fields)
    return _html_error(exc.status, exc.message)


def handle_unexpected(exc: Exception) -> Any:
    db.session.rollback()
    # Log the type and where, never the request body or values (they may be personal);
    # the engine hides SQL parameters from its exception messages.
    current_app.logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
    if authz.is_api_request():
        return api_error(500)
    return _html_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
