"""Domain exceptions raised by services; views and the API turn them into messages.

Messages are lazy translatable strings, so they render in the language of
whoever reads them. They never contain personal data.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class. `code` is the API's machine code; `status` the HTTP status."""

    code = "error"
    status = 400

    def __init__(self, message: Any = None, *, fields: dict[str, list[Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422


class NotAllowed(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class LoginFailed(DomainError):
    """Unknown account, wrong password, locked or inactive: callers cannot tell which."""

    code = "invalid_credentials"
    status = 401


class SecondFactorRequired(LoginFailed):
    """The password was right, but the account has a second factor: send a code too."""

    code = "second_factor_required"


class FreshSecondFactorRequired(DomainError):
    """A dangerous act (export, role change, password reset, key operation) needs a
    second factor proved within the last few minutes."""

    code = "fresh_second_factor_required"
    status = 403
