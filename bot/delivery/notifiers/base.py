"""Notifiers are small classes registered by ``kind`` (urlwatch style).

The outbox (``bot.delivery.outbox``) owns retries and exactly-once bookkeeping; a notifier only
knows how to deliver one event to one destination, and says how a failure should be
treated by raising ``DeliveryError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from bot.changes.event_schema import Event, OperatorAlertEvent, event_kind
from storage.db import Database, Session

__all__ = ["Notifier", "DeliveryError", "NOTIFIER_KINDS", "DestinationFilters", "passes_filters", "notifiers_by_key"]

NOTIFIER_KINDS: dict[str, type["Notifier"]] = {}


class DestinationFilters(Protocol):
    """The per-destination filters of config.yaml (``events``, ``kinds``, ``watchlist_only``)."""

    @property
    def events(self) -> list[str] | None: ...
    @property
    def kinds(self) -> list[str] | None: ...
    @property
    def watchlist_only(self) -> bool: ...


def passes_filters(filters: DestinationFilters, event: Event) -> bool:
    """Whether a destination with these filters gets the event."""
    if filters.events is not None and event["type"] not in filters.events:
        return False
    kind = event_kind(event)
    # Baseline events span every kind, so a kinds filter lets them through.
    if filters.kinds is not None and kind is not None and kind not in filters.kinds:
        return False
    if filters.watchlist_only:
        return any(finding["type"] == "watchlist" for finding in event["data"]["notable"])
    return True


class DeliveryError(Exception):
    """A failed delivery attempt.

    ``retryable=False`` dead-letters at once (e.g. 4xx); ``disable=True`` also disables the
    destination (e.g. HTTP 410 Gone); ``retry_after`` (seconds) overrides the backoff (429).
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = True,
        disable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.disable = disable
        self.retry_after = retry_after


class Notifier(ABC):
    """One configured destination. Subclasses declare ``kind`` and are registered by it."""

    kind: ClassVar[str]
    # web.public_url: where the web app's pages are, so messages can link each list and filing
    # to its page (set by build_notifiers; None: no links, the messages as before).
    public_url: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            NOTIFIER_KINDS[kind] = cls

    @classmethod
    def from_settings(cls, settings: Any, db: Database | None = None) -> "Notifier":
        """The notifier for one ``notify:`` entry (``build_notifiers``). Each configurable kind
        says how it is built from its settings model; notifiers made by hand (tests) need not."""
        raise NotImplementedError(f"notifier kind {cls.kind!r} cannot be built from settings")

    @property
    @abstractmethod
    def destination(self) -> str:
        """A stable key for this destination (one delivery per event and destination)."""

    @property
    def aliases(self) -> list[str]:
        """Older keys of this notifier whose queued deliveries it still delivers (default: none)."""
        return []

    def accepts(self, event: Event) -> bool:
        """Per-destination filters (kinds, event types, watchlist only…)."""
        return True

    def fan_out(self, event: Event, session: Session) -> list[str]:
        """Destinations that get this event (one delivery each). Default: this one, if accepted.

        Notifiers with per-user destinations (Telegram watchers, email subscribers) add theirs,
        reading them in the same transaction that writes the event.
        """
        return [self.destination] if self.accepts(event) else []

    def not_before(self, event: Event, now: datetime, destination: str | None = None) -> datetime:
        """Earliest time to deliver to ``destination`` (digests wait for their cadence); default: now."""
        return now

    @abstractmethod
    async def deliver(self, event: Event, *, delivery_id: str) -> None:
        """Deliver one event; raise DeliveryError on failure. ``delivery_id`` is stable across retries."""

    async def deliver_to(self, event: Event, *, delivery_id: str, destination: str) -> None:
        """Deliver to one of this notifier's fan-out destinations; default: ``deliver``."""
        await self.deliver(event, delivery_id=delivery_id)

    async def deliver_batch(self, events: Sequence[tuple[Event, str]], destination: str | None = None) -> None:
        """Deliver several due events of one destination at once (digests: one mail)."""
        for event, delivery_id in events:
            if destination is None:
                await self.deliver(event, delivery_id=delivery_id)
            else:
                await self.deliver_to(event, delivery_id=delivery_id, destination=destination)

    @property
    def carries_operator_alerts(self) -> bool:
        """True when this destination asked for operator alerts (``operator.alert``); default: no."""
        return False

    async def deliver_operator_alert(self, alert: OperatorAlertEvent, *, delivery_id: str) -> None:
        """Deliver one operator alert (only called when ``carries_operator_alerts``)."""
        raise DeliveryError(f"{self.kind} does not carry operator alerts", retryable=False)

    @property
    def batches(self) -> bool:
        """True when due events should be handed over together through deliver_batch."""
        return False

    async def aclose(self) -> None:
        """Release clients and connections."""


def notifiers_by_key(notifiers: Sequence[Notifier]) -> dict[str, Notifier]:
    """Each notifier under its destination key and its aliases (for the delivery worker)."""
    by_key: dict[str, Notifier] = {}
    for notifier in notifiers:
        for key in notifier.aliases:
            by_key.setdefault(key, notifier)
    by_key.update({notifier.destination: notifier for notifier in notifiers})
    return by_key
