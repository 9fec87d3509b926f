"""A poll as users see it: ingest, write events to the outbox, deliver what is due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.app.config import Settings
from bot.changes.event_schema import Event
from bot.changes.events import OutboxHooks
from bot.delivery.notifiers.base import Notifier, notifiers_by_key
from bot.delivery.outbox import DeliveryRun, deliver_until_idle
from bot.ingest.pipeline import REVALIDATE, PollReport, check_once
from bot.app.progress import ProgressCallback
from bot.changes.watchlist import Watchlist
from storage.db import Database

__all__ = ["PollOutcome", "poll_and_deliver"]


@dataclass(slots=True)
class PollOutcome:
    report: PollReport
    events: list[Event]
    deliveries: DeliveryRun


async def poll_and_deliver(
    settings: Settings,
    db: Database,
    notifiers: Sequence[Notifier],
    *,
    progress: ProgressCallback | None = None,
    deliver_wait: float = 30.0,
    tier: str = REVALIDATE,
) -> PollOutcome:
    """One poll, then up to ``deliver_wait`` seconds of delivery; the rest stays queued."""
    watchlist = Watchlist(settings.notify.watchlist) if settings.notify.watchlist else None
    hooks = OutboxHooks(notifiers, first_run=settings.notify.first_run, watchlist=watchlist)
    report = await check_once(settings, db, hooks=hooks, progress=progress, tier=tier)
    deliveries = DeliveryRun()
    if notifiers and deliver_wait > 0:
        by_key = notifiers_by_key(notifiers)
        deliveries = await deliver_until_idle(db, by_key, max_wait=deliver_wait)
    return PollOutcome(report=report, events=hooks.events_written, deliveries=deliveries)
