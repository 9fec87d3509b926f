"""The email notifier: one digest mail per subscriber and cadence, sent with aiosmtplib.

Outbox destinations are ``email:<address>``, one per subscriber whose filters accept the
event (``fan_out``). Each delivery waits for its subscriber's cadence (``immediate``: now;
``daily``: the next HH:MM; ``weekly``: the next weekday at HH:MM, in the subscriber's time
zone). The notifier ``batches``: the outbox hands all due deliveries of one address to
``deliver_batch`` at once, which renders and sends ONE mail over them — that is how a day
of lists becomes one digest, and how the first poll's baseline becomes one short mail.

Failures become ``DeliveryError``: a recipient refused with a 5xx code or a message
rejected with 5xx is permanent (dead-lettered at once); connection problems, timeouts, 4xx
replies and authentication failures are retried by the outbox (a fixed password lets the
queued digests go out). The same deliveries retried keep the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any, ClassVar

import aiosmtplib
from bot.settings.config import EmailSettings
from bot.delivery.email.digest import letterhead_of, render_digest, stable_message_id
from bot.delivery.render import renderer
from bot.delivery.email.subscribers import (
    DESTINATION_PREFIX,
    company_matcher,
    Subscriber,
    ensure_token,
    heartbeat_due,
    load_subscribers,
    narrow_event,
    next_due,
    normalize_address,
    record_sent,
)
from bot.changes.event_schema import Event
from bot.delivery.notifiers.base import DeliveryError, Notifier
from storage.db import Database, Session
from storage.email_repo import EmailRepository
from storage.outbox_repo import OutboxRepository
from storage.repo import list_sizes

__all__ = ["EmailNotifier", "delivery_error", "heartbeat_due", "SendFunction", "smtp_connection"]

log = logging.getLogger(__name__)



# aiosmtplib.send, or a stand-in with the same keywords (tests, dry runs).
SendFunction = Callable[..., Awaitable[Any]]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _code_class(code: int | None) -> str:
    return "permanent" if code is not None and 500 <= code < 600 else "temporary"


def delivery_error(err: BaseException) -> DeliveryError:
    """Map an SMTP or network failure to what the outbox should do with it."""
    if isinstance(err, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in err.recipients]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        detail = "; ".join(f"{r.code} {r.message}".strip() for r in err.recipients)[:300]
        return DeliveryError(f"recipient refused: {detail}", retryable=not permanent)
    if isinstance(err, aiosmtplib.SMTPRecipientRefused):
        return DeliveryError(f"recipient refused: {err.code} {err.message}"[:300], retryable=not 500 <= err.code < 600)
    if isinstance(err, aiosmtplib.SMTPAuthenticationError):
        # A configuration problem, not the digest's: keep it queued until the credentials are fixed.
        return DeliveryError(f"SMTP authentication failed ({err.code}): check username and password")
    if isinstance(err, aiosmtplib.SMTPSenderRefused):
        return DeliveryError(f"sender refused ({err.code} {err.message})"[:300])
    if isinstance(err, aiosmtplib.SMTPNotSupported):
        # E.g. security: starttls against a server without STARTTLS: never fall back to plain text.
        return DeliveryError(f"SMTP server does not support what was asked: {err}"[:300])
    if isinstance(err, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return DeliveryError(f"SMTP timeout: {err.__class__.__name__}")
    if isinstance(err, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected)):
        return DeliveryError(f"SMTP connection failed: {err}"[:300])
    if isinstance(err, aiosmtplib.SMTPResponseException):
        # 5xx to DATA (message too large, rejected as spam …): sending it again will not help.
        return DeliveryError(
            f"SMTP {err.code} ({_code_class(err.code)}): {err.message}"[:300], retryable=not 500 <= err.code < 600
        )
    if isinstance(err, ssl.SSLError):
        return DeliveryError(f"TLS failed: {err.__class__.__name__}: {err}"[:300])
    if isinstance(err, (aiosmtplib.SMTPException, OSError)):
        return DeliveryError(f"SMTP failed: {err.__class__.__name__}: {err}"[:300])
    return DeliveryError(f"{err.__class__.__name__}: {err}"[:300])


def smtp_connection(settings: EmailSettings) -> dict[str, Any]:
    """aiosmtplib.send keyword arguments for the configured relay (digests and operator alerts)."""
    kwargs: dict[str, Any] = {
        "hostname": settings.smtp_host,
        "port": settings.smtp_port,
        "use_tls": settings.security == "ssl",
        # False, not None, for "none": aiosmtplib would otherwise upgrade opportunistically
        # and a "starttls" that the server does not offer must fail, not go out in clear.
        "start_tls": settings.security == "starttls",
        "timeout": settings.timeout,
    }
    if settings.username:
        kwargs["username"] = settings.username
        kwargs["password"] = settings.password or ""
    if settings.ca_file:
        kwargs["cert_bundle"] = settings.ca_file
    return kwargs


def _delivery_pk(delivery_id: str) -> int | None:
    # bot.delivery.outbox.delivery_id_of: "msg_<event hex>_<delivery pk>".
    match = re.fullmatch(r"msg_.+_(\d+)", delivery_id or "")
    return int(match.group(1)) if match else None


def _event_time(event: Event) -> str:
    return event["timestamp"]


class EmailNotifier(Notifier):
    kind: ClassVar[str] = "email"

    @classmethod
    def from_settings(cls, settings: EmailSettings, db: Database | None = None) -> "Notifier":
        return cls(settings, db)

    def __init__(
        self,
        settings: EmailSettings,
        db: Database | None = None,
        *,
        send: SendFunction | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self._send_function: SendFunction = send or aiosmtplib.send
        self._clock = clock

    # --- outbox interface ------------------------------------------------------------------

    @property
    def destination(self) -> str:
        return "email"  # the notifier's key; its deliveries go to email:<address>

    @property
    def batches(self) -> bool:
        return True

    def accepts(self, event: Event) -> bool:
        return True  # every event type: list events go into digests, the baseline starts them

    def subscribers(self, session: Session | None = None) -> list[Subscriber]:
        """Every subscriber (config and database), unsubscribed ones included."""
        if session is not None:
            return load_subscribers(self.settings, session)
        if self.db is None:
            return load_subscribers(self.settings, None)
        with self.db.session() as own:
            return load_subscribers(self.settings, own)

    def fan_out(self, event: Event, session: Session) -> list[str]:
        """``email:<address>`` for each subscribed, not unsubscribed address whose filters accept the event."""
        if not self.accepts(event):
            return []
        destinations: list[str] = []
        for subscriber in load_subscribers(self.settings, session):
            if not subscriber.receives:
                continue  # unsubscribed, or a sign-up not confirmed yet
            try:
                matcher = company_matcher(subscriber.watchlist) if subscriber.watchlist else None
                if narrow_event(event, subscriber, matcher) is None:
                    continue
            except Exception:  # noqa: BLE001 - this runs inside the ingest: never break it
                # A bad stored value (pattern): queue it anyway, the delivery reports the error.
                log.exception("email subscriber %s: filters failed", subscriber.address)
            destinations.append(subscriber.destination)
        return destinations

    def not_before(self, event: Event, now: datetime, destination: str | None = None) -> datetime:
        """The subscriber's next digest time; without a destination, the ``notify.email`` default cadence."""
        subscriber = self._default_subscriber()
        if destination and destination.startswith(DESTINATION_PREFIX):
            address = destination[len(DESTINATION_PREFIX) :]
            subscriber = next((s for s in self.subscribers() if s.address == address), subscriber)
        try:
            return next_due(subscriber, now)
        except Exception:  # noqa: BLE001 - runs inside the ingest: a bad stored time zone must not break it
            log.exception("email subscriber %s: schedule failed; queued now", subscriber.address)
            return now

    async def deliver(self, event: Event, *, delivery_id: str) -> None:
        await self.deliver_batch([(event, delivery_id)])

    async def deliver_to(self, event: Event, *, delivery_id: str, destination: str) -> None:
        await self.deliver_batch([(event, delivery_id)], destination=destination)

    async def deliver_batch(self, events: Sequence[tuple[Event, str]], destination: str | None = None) -> None:
        """One digest over every due event of one address (the outbox groups them by destination)."""
        if not events:
            return
        if destination is not None:
            groups: dict[str, list[tuple[Event, str]]] = {destination: list(events)}
        else:
            groups = await asyncio.to_thread(self._destinations_of, events)
        for target, items in groups.items():
            await self._send_digest(target, items)

    def problems(self) -> list[str]:
        """Static checks for startup (no network call)."""
        found: list[str] = []
        settings = self.settings
        if not settings.recipients and not settings.subscribers and self.db is None:
            found.append("email: no recipients configured")
        if settings.security == "none" and settings.password:
            found.append("email: security is none, the SMTP password would cross the network in clear text")
        if bool(settings.username) != bool(settings.password):
            found.append("email: username and password must be set together")
        return found

    # --- heartbeat -----------------------------------------------------------------------------

    async def send_heartbeats(self, now: datetime | None = None) -> int:
        """The optional weekly "no news" mail (``heartbeat: true``), for the scheduler to call
        periodically (hourly is plenty). Needs the database (it remembers the last mail).
        Returns how many were sent; a failure is logged and tried again at the next call."""
        if not self.settings.heartbeat or self.db is None:
            return 0
        now = now or self._clock()
        due = await asyncio.to_thread(self._heartbeats_due, now)
        sent = 0
        for subscriber in due:
            message = await self._render([], subscriber, now, None)
            try:
                await self._smtp(message, subscriber.address)
            except DeliveryError as err:
                log.warning("heartbeat to %s failed: %s", subscriber.address, err.reason)
                continue
            await asyncio.to_thread(self._record_sent, subscriber.address, now, True)
            sent += 1
        return sent

    def _heartbeats_due(self, now: datetime) -> list[Subscriber]:
        assert self.db is not None
        due: list[Subscriber] = []
        with self.db.session() as session:
            rows = {row.address: row for row in EmailRepository(session).rows()}
            pending = OutboxRepository(session).waiting_destinations(self.destination)
            for subscriber in load_subscribers(self.settings, session):
                if subscriber.destination in pending:
                    continue  # a digest is on its way: the week was not quiet
                row = rows.get(subscriber.address)
                if heartbeat_due(
                    subscriber,
                    now=now,
                    last_sent_at=row.last_sent_at if row else None,
                    last_heartbeat_at=row.last_heartbeat_at if row else None,
                ):
                    due.append(ensure_token(session, subscriber))
        return due

    # --- internals -------------------------------------------------------------------------

    def _default_subscriber(self) -> Subscriber:
        s = self.settings
        return Subscriber(
            address=s.sender, cadence=s.digest, at=s.digest_at, weekday=s.digest_weekday, timezone=s.timezone
        )

    def _destinations_of(self, events: Sequence[tuple[Event, str]]) -> dict[str, list[tuple[Event, str]]]:
        """Which address each delivery is for (the outbox hands over events and delivery ids only)."""
        pks = {delivery_id: _delivery_pk(delivery_id) for _, delivery_id in events}
        found: dict[int, str] = {}
        if self.db is not None and any(pk is not None for pk in pks.values()):
            with self.db.session() as session:
                wanted = [pk for pk in pks.values() if pk is not None]
                found = OutboxRepository(session).destinations_by_pk(wanted)
        groups: dict[str, list[tuple[Event, str]]] = defaultdict(list)
        lone: str | None = None
        if self.db is None:
            subscribers = [s for s in load_subscribers(self.settings, None) if s.receives]
            lone = subscribers[0].destination if len(subscribers) == 1 else None
        for event, delivery_id in events:
            delivery_pk = pks[delivery_id]
            target = found.get(delivery_pk) if delivery_pk is not None else None
            target = target or lone
            if target is None:
                raise DeliveryError(f"cannot tell the address of delivery {delivery_id}", retryable=False)
            groups[target].append((event, delivery_id))
        return dict(groups)

    def _prepare(self, address: str) -> Subscriber | None:
        """The subscriber as of now (with stored tokens), or None when gone."""
        if self.db is None:
            return next((s for s in load_subscribers(self.settings, None) if s.address == address), None)
        with self.db.session() as session:
            subscriber = next((s for s in load_subscribers(self.settings, session) if s.address == address), None)
            if subscriber is None or not subscriber.receives:
                return subscriber
            return ensure_token(session, subscriber)

    def _chart_sizes(self, kinds: set[str]) -> dict[str, list[tuple[str, int]]]:
        if self.db is None or not kinds or not self.settings.chart:
            return {}
        sizes: dict[str, list[tuple[str, int]]] = {}
        with self.db.session() as session:
            for kind in kinds:
                sizes[kind] = list_sizes(session, kind)
        return sizes

    async def _render(
        self, events: list[Event], subscriber: Subscriber, now: datetime, message_id: str | None
    ) -> EmailMessage:
        """The digest message; drawn (chart, CSV/XLSX attachments) through the process's renderer,
        so in `cacwatch run` matplotlib and openpyxl never load into the service (bot.delivery.render)."""
        kinds = {e["data"]["kind"] for e in events if e["type"] == "list.published" and not e["data"].get("sizes")}
        chart_sizes = await asyncio.to_thread(self._chart_sizes, kinds)
        message = await renderer.run(
            render_digest,
            events,
            subscriber,
            now=now,
            sender=self.settings.sender,
            sender_name=self.settings.sender_name,
            public_base_url=self.settings.public_base_url,
            public_url=self.public_url,
            chart=self.settings.chart,
            chart_sizes=chart_sizes,
            message_id=message_id,
            letterhead=letterhead_of(self.settings),
        )
        if subscriber.attach_brief and self.db is not None:
            from bot.delivery.email.briefs import attach_briefs

            await attach_briefs(message, events, subscriber.language, self.db)
        return message

    def _record_sent(self, address: str, when: datetime, heartbeat: bool = False) -> None:
        if self.db is None:
            return
        with self.db.session() as session:
            record_sent(session, address, when, heartbeat=heartbeat)

    async def _send_digest(self, destination: str, items: Sequence[tuple[Event, str]]) -> None:
        if not destination.startswith(DESTINATION_PREFIX):
            raise DeliveryError(f"unknown destination {destination!r}", retryable=False)
        try:
            address = normalize_address(destination[len(DESTINATION_PREFIX) :])
        except ValueError:
            raise DeliveryError(f"bad destination {destination!r}", retryable=False) from None
        subscriber = await asyncio.to_thread(self._prepare, address)
        if subscriber is None or not subscriber.receives:
            # Unsubscribed (or removed from config) since the deliveries were queued, or a
            # sign-up not confirmed: honour it.
            log.info("email to %s dropped: not subscribed (or not confirmed)", address)
            return
        events = sorted((event for event, _ in items), key=_event_time)
        matcher = company_matcher(subscriber.watchlist) if subscriber.watchlist else None
        if not any(narrow_event(e, subscriber, matcher) is not None for e in events):
            log.info("email to %s: filters changed, nothing left to send", address)
            return
        now = self._clock()
        message_id = stable_message_id(self.settings.sender, [delivery_id for _, delivery_id in items])
        message = await self._render(events, subscriber, now, message_id)
        await self._smtp(message, address)
        await asyncio.to_thread(self._record_sent, address, now)

    async def _smtp(self, message: EmailMessage, address: str) -> None:
        settings = self.settings
        kwargs = {"sender": settings.sender, "recipients": [address], **smtp_connection(settings)}
        try:
            # The per-step timeout bounds each command; this bounds the whole conversation.
            await asyncio.wait_for(self._send_function(message, **kwargs), timeout=settings.timeout * 4)
        except DeliveryError:
            raise
        except Exception as err:  # noqa: BLE001 - every failure is mapped for the outbox
            raise delivery_error(err) from err
