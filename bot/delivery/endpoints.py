"""Self-service webhook endpoints: stored destinations beside the configured webhooks.

An endpoint made in the browser or the API (``storage.endpoints_repo``) is a destination
``endpoint:<id>`` of one notifier, ``StoredEndpoints`` (kind ``endpoints``), which
``build_notifiers`` adds whenever it has a database:

- ``fan_out`` reads the enabled endpoints in the ingest transaction that writes the event, so
  an endpoint added a moment ago gets the next event without a restart (``run``, ``check
  --once``); each endpoint's filters (event types, kinds, watchlist) are applied there;
- ``deliver_to`` reads the endpoint's row when the delivery is sent and sends it with the same
  ``WebhookNotifier`` as a configured webhook (Standard Webhooks signature, the URL guard again
  before each send); during a secret's rotation the previous secret signs too, for 24 hours.

The actions of the API and the pages (``bot.web.endpoints``) are the functions below: they
check what they are given (bounds, known names, the outbound-URL guard) and raise
``EndpointError`` with a message meant for the person who sent it. No endpoint: no deliveries,
no rows, nothing different for a deployment configured by ``config.yaml`` only.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.settings.config import WebhookSettings
from bot.changes.event_schema import ALL_EVENT_TYPES, ENDPOINT_TEST, FILING_EVENT_TYPES, EndpointTestEvent, Event, FilingEvent
from bot.settings.netguard import UnsafeURL, validate_outbound_url
from bot.settings.patterns import check_pattern
from bot.delivery.notifiers.base import DeliveryError, Notifier, passes_filters
from bot.delivery.notifiers.webhook import WebhookNotifier
from bot.delivery.outbox import DeliveryRun, Replay, deliver_until_idle, new_event_id, replay
from scrapers.records import Kind
from storage.db import Database, Session
from storage.endpoints_repo import EndpointRepository, StoredEndpoint, endpoint_id_of
from storage.outbox_repo import OutboxRepository

if TYPE_CHECKING:
    from bot.changes.watchlist import Watchlist

__all__ = [
    "StoredEndpoints",
    "EndpointError",
    "EndpointInput",
    "NOTIFIER_KEY",
    "ROTATION_GRACE",
    "MAX_ENDPOINTS_PER_MEMBER",
    "MAX_URL",
    "MAX_DESCRIPTION",
    "MAX_WATCHLIST",
    "MAX_PATTERN",
    "MAX_TESTS_PER_HOUR",
    "new_secret",
    "check_input",
    "create_endpoint",
    "update_endpoint",
    "rotate_secret",
    "send_test",
    "replay_endpoint",
    "deliver_now",
    "endpoint_accepts",
]

NOTIFIER_KEY = "endpoints"
ROTATION_GRACE = timedelta(hours=24)
MAX_ENDPOINTS_PER_MEMBER = 20
MAX_ENDPOINTS = 1000  # the operator's and everyone's together
MAX_URL = 2000
MAX_DESCRIPTION = 200
MAX_WATCHLIST = 50
MAX_PATTERN = 200
MAX_TESTS_PER_HOUR = 30  # test events per endpoint: each is a stored event
_TIMEOUT = 10.0  # seconds per attempt, as a configured webhook's default
_KINDS = tuple(kind.value for kind in Kind)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class EndpointError(ValueError):
    """Input an endpoint cannot have (the message says which field and why), or an action it
    cannot take now (``status``: the HTTP status the API answers with)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# --- input -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointInput:
    """What a person asks for (API body or form), checked by ``check_input``."""

    url: str
    events: tuple[str, ...] | None = None  # None: every event type
    kinds: tuple[str, ...] | None = None  # None: every kind
    watchlist: tuple[str, ...] = ()
    allow_private: bool = False
    description: str = ""


def _printable(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if len(text) > limit:
        raise EndpointError(f"{field}: longer than {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise EndpointError(f"{field}: control characters are not allowed")
    return text


def _names(values: Sequence[str] | None, field: str, known: Sequence[str]) -> tuple[str, ...] | None:
    if values is None:
        return None
    if len(values) > len(known):
        raise EndpointError(f"{field}: at most {len(known)} entries")
    for value in values:
        if value not in known:
            raise EndpointError(f"{field}: unknown {value[:40]!r} (one of {', '.join(known)})")
    return tuple(dict.fromkeys(values))


def check_input(given: EndpointInput, *, operator: bool, resolve: bool = True) -> EndpointInput:
    """The input cleaned, or EndpointError. ``allow_private`` is the operator's alone; the URL
    goes through the outbound-URL guard (with DNS unless ``resolve`` is False)."""
    if given.allow_private and not operator:
        raise EndpointError("allow_private: only the operator may send to loopback or private networks", 403)
    url = _printable(given.url, "url", MAX_URL)
    if not url:
        raise EndpointError("url: required")
    watchlist = []
    if len(given.watchlist) > MAX_WATCHLIST:
        raise EndpointError(f"watchlist: at most {MAX_WATCHLIST} patterns")
    for pattern in given.watchlist:
        text = _printable(pattern, "watchlist", MAX_PATTERN)
        if not text:
            continue
        if text.startswith("re:"):
            try:
                check_pattern(text)
            except ValueError as err:
                raise EndpointError(f"watchlist: {err}") from None
        watchlist.append(text)
    cleaned = EndpointInput(
        url=url,
        events=_names(given.events, "events", ALL_EVENT_TYPES),
        kinds=_names(given.kinds, "kinds", _KINDS),
        watchlist=tuple(dict.fromkeys(watchlist)),
        allow_private=given.allow_private,
        description=_printable(given.description, "description", MAX_DESCRIPTION),
    )
    try:  # the webhook's own settings model: http(s) URL, the guard's static part
        _settings(cleaned.url, new_secret(), cleaned.allow_private)
    except ValidationError as err:
        first = err.errors()[0]
        raise EndpointError(f"url: {str(first.get('msg', 'invalid')).removeprefix('Value error, ')}") from None
    if resolve:
        try:
            validate_outbound_url(cleaned.url, allow_private=cleaned.allow_private)
        except UnsafeURL as err:
            raise EndpointError(f"url: {err}") from None
    return cleaned


def _settings(url: str, secret: str, allow_private: bool) -> WebhookSettings:
    return WebhookSettings(url=url, secret=secret, allow_private=allow_private, timeout=_TIMEOUT)


# --- filters -----------------------------------------------------------------------------------


_matchers: dict[tuple[int, datetime], "Watchlist"] = {}


def _matcher(endpoint: StoredEndpoint) -> "Watchlist":
    key = (endpoint.id, endpoint.updated_at)
    found = _matchers.get(key)
    if found is None:
        from bot.changes.watchlist import Watchlist

        if len(_matchers) >= 256:
            _matchers.clear()
        found = _matchers[key] = Watchlist(endpoint.watchlist)
    return found


@dataclass(frozen=True, slots=True)
class _Filters:
    """An endpoint's event types and kinds as a configured destination's filters."""

    events: list[str] | None
    kinds: list[str] | None
    watchlist_only: bool = False


def endpoint_accepts(endpoint: StoredEndpoint, event: Event) -> bool:
    """Whether this endpoint gets the event: its event types and kinds as a configured webhook's
    (``passes_filters``), and with a watchlist only an event touching a watched filer."""
    filters = _Filters(
        events=None if endpoint.events is None else list(endpoint.events),
        kinds=None if endpoint.kinds is None else list(endpoint.kinds),
    )
    if not passes_filters(filters, event):
        return False
    if endpoint.watchlist:
        from bot.changes.watchlist import filing_hits

        return bool(filing_hits(event, _matcher(endpoint)))
    return True


def endpoint_accepts_filing(endpoint: StoredEndpoint, event: FilingEvent) -> bool:
    """Whether this endpoint gets one per-filing event: its type named in the endpoint's event
    types, the filing's kind in its kinds, and with a watchlist a filing of a watched filer."""
    if endpoint.events is None or event["type"] not in endpoint.events:
        return False
    if endpoint.kinds is not None and event["data"]["kind"] not in endpoint.kinds:
        return False
    if endpoint.watchlist:
        return bool(_matcher(endpoint).match(event["data"]["filing"]["entity"]))
    return True


# --- the notifier ------------------------------------------------------------------------------


class _EndpointWebhook(WebhookNotifier):
    """A configured webhook's notifier for one stored endpoint's row."""

    def __init__(self, endpoint: StoredEndpoint, now: datetime) -> None:
        current, *previous = endpoint.signing_secrets(now)
        super().__init__(_settings(endpoint.url, current, endpoint.allow_private), previous_secrets=tuple(previous))
        self.endpoint = endpoint

    @property
    def destination(self) -> str:
        return self.endpoint.destination

    @property
    def aliases(self) -> list[str]:
        return []

    def accepts(self, event: Event) -> bool:
        return endpoint_accepts(self.endpoint, event)


class StoredEndpoints(Notifier):
    """Every stored endpoint, read from the database when an event is written and when a
    delivery is sent."""

    kind = "endpoints"
    logs_attempts = True

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return "StoredEndpoints()"

    @property
    def destination(self) -> str:
        return NOTIFIER_KEY

    def accepts(self, event: Event) -> bool:
        return False  # only through fan_out, per endpoint

    def fan_out(self, event: Event, session: Session) -> list[str]:
        return [e.destination for e in EndpointRepository(session).enabled_endpoints() if endpoint_accepts(e, event)]

    @property
    def filing_event_types(self) -> frozenset[str]:
        # Asked once per stored list (the ingest's hooks): the types any enabled endpoint names.
        with self.db.session() as session:
            endpoints = EndpointRepository(session).enabled_endpoints()
        return frozenset(t for e in endpoints for t in (e.events or ()) if t in FILING_EVENT_TYPES)

    def fan_out_filing(self, event: FilingEvent, session: Session) -> list[str]:
        # Asked once per filing of a list, all in the ingest's transaction: one read of the endpoints.
        endpoints = EndpointRepository(session).enabled_endpoints_in_transaction()
        return [e.destination for e in endpoints if endpoint_accepts_filing(e, event)]

    def _load(self, endpoint_id: int) -> StoredEndpoint | None:
        with self.db.session() as session:
            return EndpointRepository(session).get(endpoint_id)

    async def _webhook(self, destination: str) -> _EndpointWebhook:
        endpoint_id = endpoint_id_of(destination)
        endpoint = None if endpoint_id is None else await asyncio.to_thread(self._load, endpoint_id)
        if endpoint is None:
            raise DeliveryError("endpoint deleted", retryable=False)
        if not endpoint.enabled:
            raise DeliveryError("endpoint disabled by its owner", retryable=False)
        try:
            return _EndpointWebhook(endpoint, utcnow())
        except ValidationError:
            raise DeliveryError("refused unsafe URL: the endpoint's URL is no longer accepted", retryable=False) from None

    async def deliver(self, event: Event, *, delivery_id: str) -> int | None:
        raise DeliveryError("a stored endpoint's delivery names its endpoint", retryable=False)

    async def deliver_to(self, event: Event, *, delivery_id: str, destination: str) -> int | None:
        webhook = await self._webhook(destination)
        try:
            return await webhook.deliver(event, delivery_id=delivery_id)
        finally:
            await webhook.aclose()

    async def deliver_filing_to(self, event: FilingEvent, *, delivery_id: str, destination: str) -> int | None:
        webhook = await self._webhook(destination)
        try:
            return await webhook.deliver_filing(event, delivery_id=delivery_id)
        finally:
            await webhook.aclose()

    async def deliver_test(self, event: EndpointTestEvent, *, delivery_id: str, destination: str) -> int | None:
        webhook = await self._webhook(destination)
        try:
            return await webhook.deliver_test(event, delivery_id=delivery_id, destination=destination)
        finally:
            await webhook.aclose()


# --- actions (the API's and the pages') --------------------------------------------------------


def create_endpoint(db: Database, given: EndpointInput, *, owner_user_id: int | None, operator: bool) -> tuple[StoredEndpoint, str]:
    """A new endpoint and its secret (to be shown this once)."""
    cleaned = check_input(given, operator=operator)
    secret = new_secret()
    with db.session() as session:
        repo = EndpointRepository(session)
        if not operator and repo.count_owned_by(owner_user_id) >= MAX_ENDPOINTS_PER_MEMBER:
            raise EndpointError(f"at most {MAX_ENDPOINTS_PER_MEMBER} endpoints per member: delete one first", 409)
        if repo.count_all() >= MAX_ENDPOINTS:
            raise EndpointError(f"at most {MAX_ENDPOINTS} endpoints in all", 409)
        endpoint = repo.create(
            owner_user_id=owner_user_id,
            url=cleaned.url,
            description=cleaned.description,
            events=cleaned.events,
            kinds=cleaned.kinds,
            watchlist=cleaned.watchlist,
            allow_private=cleaned.allow_private,
            secret=secret,
            now=utcnow(),
        )
    return endpoint, secret


def update_endpoint(
    db: Database, endpoint: StoredEndpoint, given: EndpointInput | None, *, enabled: bool | None, operator: bool
) -> StoredEndpoint:
    """Change an endpoint's settings (``given``, checked like a new one) and/or switch it on or
    off. Switching on also lifts a 410 mark and queues again what died or was stopped for it."""
    cleaned = None
    if given is not None:
        # A member keeps an allow_private the operator set only on the URL the operator vouched for.
        vouched = endpoint.allow_private and given.url.strip() == endpoint.url
        cleaned = check_input(given, operator=operator or vouched)
    now = utcnow()
    with db.session() as session:
        repo = EndpointRepository(session)
        changed = repo.update(
            endpoint.id,
            now=now,
            url=None if cleaned is None else cleaned.url,
            description=None if cleaned is None else cleaned.description,
            events=False if cleaned is None else cleaned.events,
            kinds=False if cleaned is None else cleaned.kinds,
            watchlist=None if cleaned is None else cleaned.watchlist,
            allow_private=None if cleaned is None else cleaned.allow_private,
            enabled=enabled,
        )
        if changed is None:
            raise EndpointError("not found", 404)
        if enabled:
            outbox = OutboxRepository(session)
            outbox.enable(endpoint.destination, now=now)
            outbox.retry_dead(destination=endpoint.destination, now=now)
    return changed


def rotate_secret(db: Database, endpoint: StoredEndpoint) -> str:
    """A new secret; the old one keeps signing alongside for ``ROTATION_GRACE``."""
    secret = new_secret()
    now = utcnow()
    with db.session() as session:
        if EndpointRepository(session).rotate_secret(endpoint.id, secret=secret, previous_valid_until=now + ROTATION_GRACE, now=now) is None:
            raise EndpointError("not found", 404)
    return secret


async def deliver_now(db: Database, endpoint: StoredEndpoint, *, max_wait: float = 30.0) -> DeliveryRun:
    """Send what is due for this endpoint now, from this process (the web app's "send test
    event" and replay), bounded in time; the delivery worker of ``cacwatch run`` or the next
    ``check --once`` sends anything left."""
    notifier = StoredEndpoints(db)
    return await deliver_until_idle(db, {NOTIFIER_KEY: notifier}, max_wait=max_wait, only=[endpoint.destination])


def send_test(db: Database, endpoint: StoredEndpoint) -> str:
    """Queue a signed ``endpoint.test`` event for this endpoint only (through the outbox, so it
    is retried and logged like any delivery); returns its event id."""
    if not endpoint.enabled:
        raise EndpointError("the endpoint is disabled: enable it first", 409)
    event_id = new_event_id()
    now = utcnow()
    payload: EndpointTestEvent = {
        "id": event_id,
        "type": "endpoint.test",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"endpoint_id": endpoint.id, "message": "cacwatch test event: this endpoint receives and verifies signed webhooks"},
    }
    assert payload["type"] == ENDPOINT_TEST
    with db.session() as session:
        outbox = OutboxRepository(session)
        if outbox.disabled_reason(endpoint.destination) is not None:
            raise EndpointError("the endpoint answered 410 Gone and is disabled: enable it first", 409)
        if outbox.test_events_since(endpoint.destination, now - timedelta(hours=1)) >= MAX_TESTS_PER_HOUR:
            raise EndpointError(f"at most {MAX_TESTS_PER_HOUR} test events per endpoint an hour: try again later", 429)
        event_pk = outbox.add_event(event_id, ENDPOINT_TEST, dict(payload), list_id=None)
        outbox.add_delivery(event_pk, NOTIFIER_KEY, endpoint.destination, not_before=now)
    return event_id


def replay_endpoint(
    db: Database, endpoint: StoredEndpoint, *, since: datetime | None = None, resend: bool, event_id: str | None = None
) -> Replay:
    """``cacwatch deliveries replay`` for one stored endpoint: every stored event since
    ``since`` (or the one event ``event_id``) that its filters accept, queued again (same
    ``webhook-id`` per event)."""
    from bot.delivery.outbox import DestinationDisabled

    if not endpoint.enabled:
        raise EndpointError("the endpoint is disabled: enable it first", 409)
    try:
        return replay(
            db, _EndpointWebhook(endpoint, utcnow()), since=since, resend=resend, notifier_key=NOTIFIER_KEY, event_id=event_id
        )
    except DestinationDisabled:
        raise EndpointError("the endpoint answered 410 Gone and is disabled: enable it first", 409) from None
