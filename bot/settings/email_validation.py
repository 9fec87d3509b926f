"""Validation of subscriber settings: addresses, display names, schedules, tokens.

Kept apart from ``subscribers`` (which reads and writes the table) so that configuration
loading can validate ``notify.email`` without importing the database layer.
"""

from __future__ import annotations

import hashlib
import re
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Cadence",
    "Language",
    "CADENCES",
    "LANGUAGES",
    "WEEKDAYS",
    "DESTINATION_PREFIX",
    "LIST_EVENTS",
    "TOKEN_PATTERN",
    "normalize_address",
    "clean_name",
    "parse_at",
    "parse_weekday",
    "check_timezone",
    "check_schedule",
    "check_cadence",
    "clean_letter_text",
    "LETTER_LIMITS",
    "fallback_token",
]

Cadence = Literal["immediate", "daily", "weekly", "monthly"]
Language = Literal["zh", "en", "both"]
CADENCES: tuple[str, ...] = ("immediate", "daily", "weekly", "monthly")
# Bounds of the sender's letterhead (notify.email.firm_name, introduction, disclaimer).
LETTER_LIMITS: dict[str, int] = {"firm_name": 200, "introduction": 2000, "disclaimer": 4000}
LANGUAGES: tuple[str, ...] = ("zh", "en", "both")
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DESTINATION_PREFIX = "email:"
LIST_EVENTS = ("list.published", "list.revised")

# --- validation ------------------------------------------------------------------------------

# Plain ASCII addresses only (no SMTPUTF8, no quoted local parts, no comments, no display
# names): every address ends up in an SMTP envelope and a header, so anything unusual is
# refused rather than interpreted. IDN domains are written in their xn-- form.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^(?P<local>{_LOCAL})@(?P<domain>{_LABEL}(?:\.{_LABEL})+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def normalize_address(value: str, *, key: str = "address") -> str:
    """A validated, lower-cased address, or ValueError naming ``key``."""
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be an email address")
    if _CONTROL.search(value):
        # CR/LF would let an address smuggle in a header or an SMTP command.
        raise ValueError(f"{key}: contains a line break or control character")
    text = value.strip()
    match = _ADDRESS.match(text)
    if not match or len(text) > 254 or len(match.group("local")) > 64:
        raise ValueError(f"{key}: {text[:80]!r} is not a plain email address such as name@example.com")
    # Lower-cased whole: one subscriber per mailbox whatever the spelling. RFC 5321 lets a
    # server treat local parts case-sensitively, but no mail system in use does.
    return text.lower()


def clean_name(value: str | None, *, limit: int = 100) -> str:
    """A display name safe for headers and layout: no control characters, one line, bounded."""
    if not value:
        return ""
    # No NFKC here: full-width punctuation is correct Chinese typography (matching folds it).
    text = _CONTROL.sub(" ", str(value))
    return re.sub(r"\s+", " ", text).strip()[:limit]


def parse_at(value: str, *, key: str = "at") -> time:
    """``"08:00"`` → 08:00 (24-hour clock)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"{key}: {value!r} is not a time such as 08:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_weekday(value: str, *, key: str = "weekday") -> int:
    """``"monday"`` / ``"Mon"`` → 0 … ``"sunday"`` → 6."""
    text = str(value).strip().lower()
    for index, name in enumerate(WEEKDAYS):
        if text in (name, name[:3]):
            return index
    raise ValueError(f"{key}: {value!r} is not a weekday (monday … sunday)")


def check_timezone(value: str, *, key: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{key}: {value!r} is not an IANA time zone such as Asia/Shanghai") from None


def check_schedule(
    *, at: str | None = None, weekday: str | None = None, timezone: str | None = None, prefix: str = ""
) -> None:
    """Validate the parts of a schedule that are given; ``prefix`` names the keys (``digest_at``)."""
    if at is not None:
        parse_at(at, key=f"{prefix}at")
    if weekday is not None:
        parse_weekday(weekday, key=f"{prefix}weekday")
    if timezone is not None:
        check_timezone(timezone)


_CADENCE_OF: dict[str, Cadence] = {"immediate": "immediate", "daily": "daily", "weekly": "weekly", "monthly": "monthly"}


def check_cadence(value: object, *, key: str = "cadence") -> Cadence:
    """The one check of a digest cadence (config, ``subscribers add``, stored rows, self-service
    sign-up): immediate, daily, weekly or monthly; ValueError naming ``key`` otherwise."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    found = _CADENCE_OF.get(text)
    if found is not None:
        return found
    shown = repr(value)[:40]
    raise ValueError(f"{key}: {shown} is not one of {', '.join(CADENCES)}")


def clean_letter_text(value: str | None, *, key: str) -> str:
    """The sender's firm name, introduction or disclaimer: no control characters but line
    breaks (the firm name is one line), at most ``LETTER_LIMITS[key]`` characters; ValueError
    naming the key when longer (never cut silently)."""
    if value is None:
        return ""
    limit = LETTER_LIMITS[key]
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if key == "firm_name":
        text = " ".join(text.split())
    text = re.sub(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", " ", text).strip()
    if len(text) > limit:
        raise ValueError(f"{key}: longer than {limit} characters ({len(text)})")
    return text


def fallback_token(sender: str, address: str) -> str:
    """A stable token for a mail rendered without a database (previews, DB-less tests).

    Not secret: with a database every subscriber gets a random token (``ensure_token``).
    """
    return hashlib.sha256(f"cacwatch-unsubscribe\n{sender}\n{address}".encode()).hexdigest()[:32]
