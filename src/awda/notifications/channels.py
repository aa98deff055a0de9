"""Short text messages to a shopper's phone (SMS, WhatsApp…) behind one small interface.

``AWDA_TEXT_CHANNEL`` names the channel class by dotted path; it is built with no arguments
and reads its own settings. The default, :class:`ConsoleChannel`, sends nothing: it notes
each message in the log and appends it to ``DATA_DIR/sms.log``, for development and demos.
An empty setting turns text messages off.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from awda.core import clock

log = logging.getLogger(__name__)

DEFAULT_TEXT_CHANNEL = "awda.notifications.channels.ConsoleChannel"


class TextChannel(Protocol):
    def send(self, *, to: str, text: str, language: str) -> None:
        """Deliver ``text`` to the phone number ``to`` (E.164, ``+9665…``) or raise."""
        ...


class ConsoleChannel:
    """Writes each message as one line of ``DATA_DIR/sms.log`` instead of sending it."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(settings.DATA_DIR) / "sms.log"

    def send(self, *, to: str, text: str, language: str) -> None:
        line = " ".join(text.split())  # one message, one line
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"{clock.now().isoformat()}\t{to}\t{language}\t{line}\n")
        # The log gets no number and no text: a text carries a link that opens the order.
        log.info(
            "text message to …%s (%s, %d chars) in %s", to[-4:], language, len(line), self.path
        )


def text_channel() -> TextChannel | None:
    """The configured channel, or None when text messages are off."""
    path = getattr(settings, "AWDA_TEXT_CHANNEL", DEFAULT_TEXT_CHANNEL)
    if not path:
        return None
    channel: TextChannel = import_string(path)()
    return channel
