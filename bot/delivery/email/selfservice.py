"""Self-service digest subscriptions: sign-up with double opt-in, confirmation, preferences.

The records are the ``email_subscribers`` rows the CLI makes (``cacwatch subscribers add``): a
self-service row is ``source = "web"`` and ``pending`` until its confirmation link is followed.

- ``sign_up``: an address not subscribed yet (or pending, or unsubscribed) becomes a pending row
  with the asked preferences and a fresh confirmation token (only its SHA-256 is stored, valid
  ``CONFIRM_HOURS``); an address already receiving digests (an active row, or a ``notify.email``
  recipient, whose preferences are the operator's) gets a notice mail instead — never a second
  subscription, and the caller answers the same "check your inbox" either way. Each address gets
  at most ``MAILS_PER_HOUR`` such mails an hour (confirmations and notices alike).
- ``confirm``: the token's row becomes active; a spent, unknown or expired token changes nothing.
- ``preferences`` / ``change_preferences`` / ``set_unsubscribed``: the row of a manage token (the
  link each digest carries) or of an id (the API, after ``check_owner``).
- ``confirmation_message`` / ``notice_message``: the two mails, in zh, en or both, every value
  escaped; ``send_message`` sends one with the ``notify.email`` relay (``smtp_connection``).

Nothing is ever sent to a pending address but its confirmation mail: the digest code skips
rows that are not ``active`` (``Subscriber.receives``).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Literal

from bot.settings.email_validation import (
    CADENCES,
    LANGUAGES,
    TOKEN_PATTERN,
    clean_name,
    normalize_address,
    parse_at,
    parse_weekday,
    WEEKDAYS,
)
from storage.db import Session
from storage.email_repo import EmailRepository, SubscriberFields
from storage.models_email import EmailSubscriber

if TYPE_CHECKING:
    from bot.settings.config import EmailSettings

__all__ = [
    "CONFIRM_HOURS",
    "MAILS_PER_HOUR",
    "MAX_WATCH_ITEMS",
    "WATCH_ITEM_LIMIT",
    "KINDS",
    "Preferences",
    "Subscription",
    "SignUp",
    "Confirmation",
    "check_preferences",
    "sign_up",
    "confirm",
    "subscription_by_id",
    "subscription_by_manage_token",
    "subscriptions",
    "change_preferences",
    "set_unsubscribed",
    "delete_subscription",
    "confirmation_message",
    "notice_message",
    "send_message",
    "hash_token",
    "is_configured",
]

CONFIRM_HOURS = 48
MAILS_PER_HOUR = 3
MAX_WATCH_ITEMS = 50
WATCH_ITEM_LIMIT = 200  # as the watch matcher's PATTERN_LIMIT
KINDS: tuple[str, ...] = ("deep_synthesis", "algorithm_recommendation", "genai_service")

Status = Literal["pending", "active", "unsubscribed"]


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a subscriber chooses, validated (``check_preferences``)."""

    kinds: tuple[str, ...] = ()
    cadence: str = "immediate"
    language: str = "both"
    watchlist: tuple[str, ...] = ()
    attach_brief: bool | None = None  # None: the notify.email default


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as the pages and the API show it."""

    id: int
    email: str
    status: Status
    source: str
    kinds: tuple[str, ...]
    cadence: str
    language: str
    watchlist: tuple[str, ...]
    attach_brief: bool | None
    owner_user_id: int | None
    created_at: datetime
    manage_token: str

    @property
    def configured(self) -> bool:
        """A ``notify.email`` recipient's bookkeeping row: preferences live in config.yaml."""
        return self.source == "config"


@dataclass(frozen=True, slots=True)
class SignUp:
    """What ``sign_up`` did. ``mail``: which mail to send (None: the hourly bound was reached);
    ``token``: the confirmation token (in the mail only); ``subscription``: the pending row
    (None when the address was already subscribed: the caller must not reveal that)."""

    address: str
    mail: Literal["confirm", "notice"] | None
    token: str | None
    manage_token: str | None
    language: str
    subscription: Subscription | None


@dataclass(frozen=True, slots=True)
class Confirmation:
    outcome: Literal["confirmed", "expired", "unknown"]
    subscription: Subscription | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def check_preferences(
    *,
    kinds: Sequence[str] = (),
    cadence: str = "immediate",
    language: str = "both",
    watchlist: Sequence[str] = (),
    attach_brief: bool | None = None,
) -> Preferences:
    """Validated preferences, or ValueError naming the field (every input bounded)."""
    from bot.settings.patterns import check_pattern

    if len(kinds) > len(KINDS) * 2:
        raise ValueError("kinds: too many values")
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds: {str(kind)[:40]!r} is not one of {', '.join(KINDS)}")
    if cadence not in CADENCES:
        raise ValueError(f"cadence: {str(cadence)[:20]!r} is not one of {', '.join(CADENCES)}")
    if language not in LANGUAGES:
        raise ValueError(f"language: {str(language)[:20]!r} is not one of {', '.join(LANGUAGES)}")
    if len(watchlist) > MAX_WATCH_ITEMS:
        raise ValueError(f"watchlist: at most {MAX_WATCH_ITEMS} entries")
    cleaned: list[str] = []
    for item in watchlist:
        if not isinstance(item, str) or len(item) > WATCH_ITEM_LIMIT:
            raise ValueError(f"watchlist: an entry is longer than {WATCH_ITEM_LIMIT} characters")
        text = clean_name(item, limit=WATCH_ITEM_LIMIT)
        if not text:
            continue
        try:
            check_pattern(text)
        except ValueError as err:
            raise ValueError(f"watchlist: {err}") from None
        if text not in cleaned:
            cleaned.append(text)
    ordered = tuple(k for k in KINDS if k in kinds)
    return Preferences(ordered, cadence, language, tuple(cleaned), attach_brief)


def _fields(settings: EmailSettings, preferences: Preferences, row: EmailSubscriber | None = None) -> SubscriberFields:
    """The row's fields: schedule and name kept from the row (or the notify.email defaults)."""
    return SubscriberFields(
        name=row.name if row is not None else "",
        language=preferences.language,
        cadence=preferences.cadence,
        at=row.at if row is not None else parse_at(settings.digest_at).strftime("%H:%M"),
        weekday=row.weekday if row is not None else WEEKDAYS[parse_weekday(settings.digest_weekday)],
        timezone=row.timezone if row is not None else settings.timezone,
        kinds=list(preferences.kinds),
        provinces=list(row.provinces or ()) if row is not None else [],
        watchlist=list(preferences.watchlist),
        watch_only=bool(row.watch_only) if row is not None else True,
        attach_brief=preferences.attach_brief,
    )


def _view(row: EmailSubscriber) -> Subscription:
    status: Status = "unsubscribed" if row.unsubscribed else ("pending" if row.status == "pending" else "active")
    return Subscription(
        id=row.id,
        email=row.address,
        status=status,
        source=row.source,
        kinds=tuple(row.kinds or ()),
        cadence=row.cadence,
        language=row.language,
        watchlist=tuple(row.watchlist or ()),
        attach_brief=row.attach_brief,
        owner_user_id=row.owner_user_id,
        created_at=_utc(row.created_at),
        manage_token=row.manage_token or "",
    )


def _configured(settings: EmailSettings, address: str) -> bool:
    from bot.delivery.email.subscribers import config_subscribers

    return address in {s.address for s in config_subscribers(settings)}


def sign_up(
    session: Session,
    settings: EmailSettings,
    address: str,
    preferences: Preferences,
    *,
    owner_user_id: int | None,
    now: datetime | None = None,
) -> SignUp:
    """Record a sign-up (see the module's doc); the caller sends the mail it names."""
    now = _utc(now or datetime.now(timezone.utc))
    address = normalize_address(address, key="email")
    repo = EmailRepository(session)
    repo.drop_expired_pending(now - timedelta(days=7))
    row = repo.by_address(address)
    configured = _configured(settings, address)
    receiving = configured or (row is not None and row.source != "config" and row.status == "active" and not row.unsubscribed)
    if receiving:
        # Already subscribed (or the operator's recipient): a notice, never a second subscription.
        if row is None:
            row = repo.ensure_row(address)
        mail: Literal["confirm", "notice"] | None = "notice"
        if not repo.take_mail_slot(row, now, limit=MAILS_PER_HOUR, window=timedelta(hours=1)):
            mail = None
        return SignUp(address, mail, None, row.manage_token, row.language or preferences.language, None)
    if row is not None and not repo.take_mail_slot(row, now, limit=MAILS_PER_HOUR, window=timedelta(hours=1)):
        return SignUp(address, None, None, None, preferences.language, None)
    token = secrets.token_urlsafe(32)
    row = repo.save_pending(
        address,
        _fields(settings, preferences, row),
        owner_user_id=owner_user_id,
        confirm_hash=hash_token(token),
        expires_at=now + timedelta(hours=CONFIRM_HOURS),
    )
    if row.mails_window_at is None:  # a new row: its first mail
        repo.take_mail_slot(row, now, limit=MAILS_PER_HOUR, window=timedelta(hours=1))
    return SignUp(address, "confirm", token, row.manage_token, preferences.language, _view(row))


def confirm(session: Session, token: str, *, now: datetime | None = None) -> Confirmation:
    """Follow a confirmation link: the pending row becomes active."""
    now = _utc(now or datetime.now(timezone.utc))
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        return Confirmation("unknown")
    repo = EmailRepository(session)
    row = repo.by_confirm_hash(hash_token(token))
    if row is None:
        return Confirmation("unknown")
    if row.confirm_expires_at is None or _utc(row.confirm_expires_at) < now:
        return Confirmation("expired", _view(row))
    repo.activate(row)
    return Confirmation("confirmed", _view(row))


def subscription_by_manage_token(session: Session, token: str) -> Subscription | None:
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        return None
    row = EmailRepository(session).by_manage_token(token)
    return None if row is None else _view(row)


def subscription_by_id(session: Session, row_id: int) -> Subscription | None:
    row = EmailRepository(session).by_id(row_id)
    return None if row is None or row.source == "config" else _view(row)


def subscriptions(session: Session, owner_user_id: int | None, *, everyone: bool) -> list[Subscription]:
    return [_view(row) for row in EmailRepository(session).subscriptions(owner_user_id, everyone=everyone)]


def _row(session: Session, row_id: int) -> EmailSubscriber:
    row = EmailRepository(session).by_id(row_id)
    if row is None:
        raise LookupError("subscription not found")
    return row


def change_preferences(session: Session, settings: EmailSettings, row_id: int, preferences: Preferences) -> Subscription:
    """New preferences for a subscription (a config recipient's live in config.yaml: ValueError)."""
    row = _row(session, row_id)
    if row.source == "config":
        raise ValueError("this address's digests are set in config.yaml by the operator")
    EmailRepository(session).update_preferences(row, _fields(settings, preferences, row))
    return _view(row)


def set_unsubscribed(session: Session, row_id: int, unsubscribed: bool) -> Subscription:
    """Unsubscribe (or subscribe again, which a pending row cannot: it needs its confirmation)."""
    row = _row(session, row_id)
    EmailRepository(session).set_unsubscribed(row, unsubscribed)
    return _view(row)


def delete_subscription(session: Session, row_id: int) -> None:
    EmailRepository(session).delete_row(_row(session, row_id))


# --- the mails ---------------------------------------------------------------------------------

_CONFIRM_TEXT = {
    "zh": (
        "确认订阅 cacwatch 算法备案邮件摘要",
        "有人（可能是您）请求向 {address} 发送 cacwatch 算法备案邮件摘要。",
        "请打开以下链接确认订阅（{hours} 小时内有效）：",
        "如果不是您本人的请求，请忽略此邮件：未经确认，我们不会再向您发送任何邮件。",
    ),
    "en": (
        "Confirm your cacwatch filing digest subscription",
        "Someone (probably you) asked for cacwatch digests of CAC algorithm filings to be sent to {address}.",
        "Open this link to confirm (valid for {hours} hours):",
        "If it was not you, ignore this mail: without confirmation nothing more is sent to you.",
    ),
}
_NOTICE_TEXT = {
    "zh": (
        "您已订阅 cacwatch 邮件摘要",
        "有人（可能是您）请求向 {address} 发送 cacwatch 算法备案邮件摘要，但该地址已在接收摘要，因此没有新增订阅。",
        "您可以在此管理偏好或退订：",
        "该地址的摘要由运营方在配置中设置；如需更改请联系运营方。",
    ),
    "en": (
        "You already receive cacwatch digests",
        "Someone (probably you) asked for cacwatch digests to be sent to {address}; this address already receives them, so nothing was added.",
        "Manage your preferences or unsubscribe here:",
        "This address's digests are set up by the operator; ask them for changes.",
    ),
}


def _languages(language: str) -> tuple[str, ...]:
    return ("zh", "en") if language not in ("zh", "en") else (language,)


def _message(
    settings: EmailSettings, address: str, subject: str, paragraphs: list[tuple[str, str | None]]
) -> EmailMessage:
    """A plain and an HTML part of ``paragraphs`` (text, link or None); every value escaped."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=clean_name(settings.sender_name, limit=80), addr_spec=settings.sender)
    message["To"] = Address(addr_spec=normalize_address(address))
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    text = "\n\n".join(f"{t}\n{link}" if link else t for t, link in paragraphs) + "\n"
    parts = []
    for t, link in paragraphs:
        body = f"<p>{html.escape(t)}"
        if link:
            safe = html.escape(link, quote=True)
            body += f'<br><a href="{safe}">{safe}</a>'
        parts.append(body + "</p>")
    page = '<!doctype html><html><head><meta charset="utf-8"></head><body>' + "".join(parts) + "</body></html>"
    message.set_content(text, charset="utf-8")
    message.add_alternative(page, subtype="html", charset="utf-8")
    return message


def confirmation_message(settings: EmailSettings, address: str, language: str, link: str) -> EmailMessage:
    """The double opt-in mail: the one mail a pending address ever gets."""
    paragraphs: list[tuple[str, str | None]] = []
    subjects = []
    for lang in _languages(language):
        subject, intro, action, ignore = _CONFIRM_TEXT[lang]
        subjects.append(subject)
        paragraphs += [(intro.format(address=address), None), (action.format(hours=CONFIRM_HOURS), link), (ignore, None)]
    return _message(settings, address, " / ".join(subjects), paragraphs)


def notice_message(settings: EmailSettings, address: str, language: str, manage_link: str | None, *, configured: bool) -> EmailMessage:
    """The "already subscribed" mail a sign-up of a receiving address gets instead."""
    paragraphs: list[tuple[str, str | None]] = []
    subjects = []
    for lang in _languages(language):
        subject, intro, manage, operator = _NOTICE_TEXT[lang]
        subjects.append(subject)
        paragraphs.append((intro.format(address=address), None))
        if manage_link:
            paragraphs.append((manage, manage_link))
        if configured:
            paragraphs.append((operator, None))
    return _message(settings, address, " / ".join(subjects), paragraphs)


async def send_message(settings: EmailSettings, message: EmailMessage, address: str, send: object | None = None) -> str | None:
    """Send one self-service mail with the notify.email relay; None when sent, else the reason."""
    import aiosmtplib

    from bot.delivery.email.notifier import delivery_error, smtp_connection

    function = send if callable(send) else aiosmtplib.send
    kwargs = {"sender": settings.sender, "recipients": [address], **smtp_connection(settings)}
    try:
        await asyncio.wait_for(function(message, **kwargs), timeout=settings.timeout * 4)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line for the page
        return delivery_error(err).reason
    return None


def is_configured(settings: EmailSettings, address: str) -> bool:
    """Whether ``address`` is a ``notify.email`` recipient (its preferences live in config)."""
    return _configured(settings, normalize_address(address))

