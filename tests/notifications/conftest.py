"""A real SMTP server (aiosmtpd) on a free local port, with Django's SMTP backend pointed at
it: the mails in these tests go over the wire and are parsed as a mail client would."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # An encoded (non-ASCII) subject is folded onto its own line: "Subject:\n =?utf-8?…",
        # which parses with the fold's leading space; readers show it without.
        return str(self.message["Subject"]).strip()

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "no text/plain part"
        return part.get_content()

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "no text/html part"
        return part.get_content()


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def only(self) -> Received:
        assert len(self.received) == 1, f"{len(self.received)} mails received"
        return self.received[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    # Whatever AWDA_SMTP_URL the environment has, this server speaks plain SMTP without login.
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.AWDA_PUBLIC_URL = "https://returns.example"
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass(frozen=True)
class Text:
    to: str
    text: str
    language: str


class RecordingChannel:
    """A text channel (``AWDA_TEXT_CHANNEL``) that keeps what it was given."""

    sent: list[Text] = []

    def send(self, *, to: str, text: str, language: str) -> None:
        RecordingChannel.sent.append(Text(to, text, language))


@pytest.fixture
def texts(settings: Any) -> Iterator[list[Text]]:
    settings.AWDA_TEXT_CHANNEL = "tests.notifications.conftest.RecordingChannel"
    RecordingChannel.sent = []
    yield RecordingChannel.sent
    RecordingChannel.sent = []


@pytest.fixture
def sandbox(merchant: Any) -> Any:
    """The sandbox carrier for every method, collecting on Riyadh time."""
    from awda.shipping.services import connect_carrier

    return connect_carrier(
        merchant=merchant, carrier="sandbox", name="Sandbox", settings={"timezone": "Asia/Riyadh"}
    )
