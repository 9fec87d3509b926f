"""Headers that must reach the wire exactly as written (``List-Unsubscribe``).

aiosmtplib flattens a message with ``email.policy.SMTP`` (or ``SMTPUTF8``), not the
message's own policy. That policy refolds any header with a line over 78 characters, and
a one-click URL with a real-length token is one long word, so the folder turned it into
RFC 2047 encoded words (``=?utf-8?q?=3Chttps=3A…?=``), which mail providers do not read as
a List-Unsubscribe link. RFC 2369 wants the plain form: angle-bracketed URIs separated by
commas, folded only at the whitespace after a comma.

``set_link_header`` stores a value object that folds itself: the generator asks a stored
value with a ``name`` attribute to fold itself instead of refolding it (``EmailPolicy._fold``),
whatever policy the flattening uses. Lines may then exceed 78 characters (RFC 5322 allows
998; providers read them), never 998.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import Policy

__all__ = ["LinkHeader", "set_link_header"]

# One URI in angle brackets: printable ASCII only (no space, no CR/LF, no '<' '>' inside),
# so nothing can end the header early or need encoding.
_LINK = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
_MAX_LINE = 998 - len("List-Unsubscribe: ,")


class LinkHeader(str):
    """A header value of ``<uri>`` links that folds at the commas between them, never inside."""

    name: str
    links: tuple[str, ...]

    def __new__(cls, name: str, links: tuple[str, ...]) -> "LinkHeader":
        value = super().__new__(cls, ", ".join(links))
        value.name = name
        value.links = links
        return value

    def __getnewargs__(self) -> tuple[str, tuple[str, ...]]:  # type: ignore[override]
        # Pickled with its message: a digest rendered in `cacwatch run`'s rendering child
        # (bot.delivery.render) comes back to the service by pickle.
        return self.name, self.links

    def fold(self, *, policy: Policy) -> str:
        """``Name: <a>,⏎ <b>⏎`` with the policy's line separator (CRLF on the wire)."""
        separator = "," + policy.linesep + " "
        return f"{self.name}: {separator.join(self.links)}{policy.linesep}"


def set_link_header(message: EmailMessage, name: str, links: list[str]) -> None:
    """Set ``name`` to the ``<uri>`` ``links``, in the plain form on the wire.

    A link that is not printable ASCII in brackets (or absurdly long) is not expected from
    our own URLs; should one appear, the header goes through the ordinary (encoding)
    path rather than risk a header that ends early.
    """
    del message[name]
    if links and all(_LINK.fullmatch(link) and len(link) <= _MAX_LINE for link in links):
        message.set_raw(name, LinkHeader(name, tuple(links)))
    else:
        message[name] = ", ".join(links)
