"""Handing one message to the configured SMTP server (smtplib, standard library)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any


def send(message: EmailMessage, config: Mapping[str, Any]) -> None:
    """Raise OSError or smtplib.SMTPException when the server did not take it. Once it
    has, a failing QUIT is ignored: the message is on its way and must not go twice."""
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]),
                        timeout=config.get("MAIL_TIMEOUT") or 10)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def problem(exc: BaseException) -> tuple[str, bool]:
    """A short description for logs and the outbox (the exception's kind and SMTP
    codes, never its text: servers repeat addresses there), and whether it is
    permanent: this recipient or this message refused with a 5xx answer (a refused
    login or sender is the server's settings, and worth trying again once fixed)."""
    codes: list[int] = []
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _text in exc.recipients.values()})
    elif isinstance(exc, smtplib.SMTPResponseException):
        codes = [exc.smtp_code]
    text = type(exc).__name__ + "".join(f" {c}" for c in codes)
    permanent = isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError) \
        and bool(codes) and all(500 <= c < 600 for c in codes)
    return text[:200], permanent
