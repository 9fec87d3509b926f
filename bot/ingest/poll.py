"""A poll as users see it: ingest, write events to the outbox, deliver what is due.

The event machinery (``bot.changes``: findings, the company resolver, the watchlist) and the
outbox are imported when the poll first needs them — when it stores a list or records its
end — not before its first request: ``check --once`` reaches the site sooner, and a poll
that stores nothing never waits for them before asking the site anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

from bot.settings.config import Settings
from bot.ingest.pipeline import REVALIDATE, Look, PollHooks, PollReport, check_once
from scrapers.records import ListRef
from storage.db import Database
from storage.repo import IngestOutcome, Repository

if TYPE_CHECKING:
    from bot.ingest.progress import ProgressCallback
    from bot.changes.event_schema import Event
    from bot.ingest.events import OutboxHooks
    from bot.delivery.notifiers.base import Notifier
    from bot.delivery.runs import DeliveryRun

__all__ = ["NotifiersOnFirstUse", "PollOutcome", "poll_and_deliver"]


@dataclass(slots=True)
class PollOutcome:
    report: PollReport
    events: list["Event"]
    deliveries: "DeliveryRun"


class NotifiersOnFirstUse(Sequence["Notifier"]):
    """The configured notifiers, built the first time something needs them.

    Building them imports what they send with (python-telegram-bot, the SMTP client, Apprise):
    about a second of a cron run's start-up (docs/benchmarks.md, "Cron"). An idle `check --once`
    writes no event and finds nothing due in the outbox, so it never builds them."""

    def __init__(self, build: Callable[[], Sequence["Notifier"]]) -> None:
        self._build = build
        self._built: list["Notifier"] | None = None

    @property
    def built(self) -> list["Notifier"]:
        """The notifiers built so far (none when nothing needed them): what to close."""
        return self._built or []

    def _all(self) -> list["Notifier"]:
        if self._built is None:
            self._built = list(self._build())
        return self._built

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> "Notifier": ...

    @overload
    def __getitem__(self, index: slice) -> Sequence["Notifier"]: ...

    def __getitem__(self, index: int | slice) -> "Notifier | Sequence[Notifier]":
        return self._all()[index]


class _OutboxHooksOnFirstUse(PollHooks):
    """``bot.ingest.events.OutboxHooks``, built (and imported) the first time a hook runs."""

    def __init__(self, settings: Settings, notifiers: Sequence["Notifier"]) -> None:
        self._settings = settings
        self._notifiers = notifiers
        self._hooks: OutboxHooks | None = None

    def _outbox_hooks(self) -> "OutboxHooks":
        if self._hooks is None:
            from bot.ingest.events import OutboxHooks
            from bot.changes.watchlist import Watchlist

            notify = self._settings.notify
            watchlist = Watchlist(notify.watchlist) if notify.watchlist else None
            self._hooks = OutboxHooks(self._notifiers, first_run=notify.first_run, watchlist=watchlist)
        return self._hooks

    @property
    def events_written(self) -> list["Event"]:
        return [] if self._hooks is None else self._hooks.events_written

    def on_list(self, repo: Repository, ref: ListRef, outcome: IngestOutcome, *, first_run: bool) -> None:
        if not outcome.rows_changed and self._hooks is None:
            return  # nothing to tell (OutboxHooks.on_list says the same): no event machinery to load
        self._outbox_hooks().on_list(repo, ref, outcome, first_run=first_run)

    def on_poll_done(self, repo: Repository, report: PollReport) -> None:
        if not report.first_run and self._hooks is None:
            return  # only a first poll ends with an event (baseline.established)
        self._outbox_hooks().on_poll_done(repo, report)


async def poll_and_deliver(
    settings: Settings,
    db: Database,
    notifiers: Sequence["Notifier"],
    *,
    progress: "ProgressCallback | None" = None,
    deliver_wait: float = 30.0,
    tier: str = REVALIDATE,
    looks: Mapping[str, Look] | None = None,
) -> PollOutcome:
    """One poll, then up to ``deliver_wait`` seconds of delivery; the rest stays queued.
    ``looks``: the sources already looked at (``pipeline.look_first``), the only ones polled."""
    hooks = _OutboxHooksOnFirstUse(settings, notifiers)
    report = await check_once(settings, db, hooks=hooks, progress=progress, tier=tier, looks=looks)
    from bot.delivery.runs import DeliveryRun
    from storage.outbox_due import anything_due

    deliveries = DeliveryRun()
    # Lazily built notifiers stay unbuilt when the poll wrote nothing and nothing waits; the
    # delivery machinery is not even loaded then (one indexed probe says so).
    idle = isinstance(notifiers, NotifiersOnFirstUse) and not hooks.events_written and not anything_due(db)
    if not idle and notifiers and deliver_wait > 0:
        from bot.delivery.notifiers.base import notifiers_by_key
        from bot.delivery.outbox import deliver_until_idle

        by_key = notifiers_by_key(notifiers)
        deliveries = await deliver_until_idle(db, by_key, max_wait=deliver_wait)
    return PollOutcome(report=report, events=hooks.events_written, deliveries=deliveries)
