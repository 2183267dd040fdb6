"""Checks of public contact details (a phone number, an e-mail address, a web address)
that organizations and services publish in the directory. Each check returns None or
one translated message; callers gather them, so a form reports every problem at once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

PHONE_CHARS = re.compile(r"^\+?[0-9 ().-]+$")
MAX_PHONE = 32
MAX_EMAIL = 254
MAX_URL = 300


def phone_problem(value: str) -> LazyString | None:
    """Digits with the usual separators, 6 to 20 digits (E.164 allows 15, plus an
    extension); letters and anything else are refused."""
    digits = sum(c.isdigit() for c in value)
    if len(value) > MAX_PHONE or not PHONE_CHARS.match(value) or not 6 <= digits <= 20:
        return _l("Give a phone number: digits, spaces and + ( ) - . only.")
    return None


def email_problem(value: str) -> LazyString | None:
    if len(value) > MAX_EMAIL:
        return _l("At most %(n)d characters.", n=MAX_EMAIL)
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return _l("Give an e-mail address such as name@example.org.")
    return None


def url_problem(value: str) -> LazyString | None:
    """An absolute http(s) address with a host: what a link on a page may point to."""
    if len(value) > MAX_URL:
        return _l("At most %(n)d characters.", n=MAX_URL)
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or any(c.isspace() for c in value):
        return _l("Give a web address starting with https://, such as https://example.org.")
    return None


def cleaned(value: object) -> str | None:
    """Text as given, trimmed; None for nothing (None, empty or blanks); raises TypeError
    for anything that is not text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError
    return value.strip() or None
