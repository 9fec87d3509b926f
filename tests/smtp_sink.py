"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, keeping every message it accepts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from service_helpers import free_port

__all__ = ["Sink", "smtp_server"]


@dataclass
class Sink:
    """aiosmtpd handler: keeps every message with its envelope recipients, and refuses the
    recipients listed in ``refuse`` with their reply (e.g. "550 5.1.1 no such user")."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message in self.received]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]) -> str:  # noqa: N802 - aiosmtpd hook
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@contextmanager
def smtp_server(sink: Sink, **options: Any) -> Iterator[int]:
    """Serve ``sink`` on a free local port and yield the port; ``options`` are aiosmtpd's
    (``tls_context`` and ``require_starttls``, ``ssl_context``, ``authenticator`` …)."""
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
