"""A real SMTP server on 127.0.0.1 (aiosmtpd) that the tests read, can stop and start
again on the same port; and the app's mail settings pointing at it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.referrals.conftest import child_case, network  # noqa: F401

BASE_URL = "https://fieldapp.example.org"
SENDER = "fieldapp <notices@fieldapp.example.org>"


@dataclass
class Arrived:
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """Subject and body, decoded (quoted-printable or base64 hide nothing)."""
        message = self.message
        return str(message["Subject"]) + "\n" + message.get_content()


@dataclass
class Inbox:
    arrived: list[Arrived] = field(default_factory=list)
    refuse_recipients: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.append(Arrived(list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_on(app, smtp, monkeypatch) -> SmtpServer:
    """Notices on, through the test's SMTP server (plain SMTP on 127.0.0.1)."""
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                       "MAIL_USE_TLS": False, "MAIL_DEFAULT_SENDER": SENDER,
                       "FIELDAPP_BASE_URL": BASE_URL, "MAIL_TIMEOUT": 5}.items():
        monkeypatch.setitem(app.config, key, value)
    return smtp
