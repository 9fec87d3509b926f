"""What an operator does with a held (suspect) re-issue: confirm it or reject it.

``cacwatch lists confirm|reject`` and the web console (``/console``) call these, so both do the
same thing. Confirming makes the held version current and writes what it changes (removals
included) to the outbox exactly once, with the hook a poll uses, in one transaction; the
deliveries go out with the next ``check`` or with ``run``. Rejecting drops the hold, keeps the
list's current version and marks the held bytes rejected (``storage.holds.reject_held``): served
again, they are neither stored nor held again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings.config import Settings
from storage.db import Database
from storage.holds import HeldList, held_lists, reject_held

if TYPE_CHECKING:
    from bot.delivery.notifiers.base import Notifier

__all__ = ["Confirmed", "confirm_held", "reject", "held"]


@dataclass(frozen=True, slots=True)
class Confirmed:
    held: HeldList
    removed: int  # filings the confirmed version no longer lists


async def _close(notifiers: Sequence["Notifier"]) -> None:
    for notifier in notifiers:
        await notifier.aclose()


def held(db: Database) -> list[HeldList]:
    with db.session() as session:
        return held_lists(session)


def confirm_held(
    settings: Settings, db: Database, *, kind: str | None = None, list_month: str | None = None, list_id: int | None = None
) -> tuple[list[Confirmed], int]:
    """Confirm the held versions of KIND MONTH (or of one list); (what was confirmed, events queued).

    The notifiers are built from ``settings`` (their destinations get the deliveries); nothing is
    sent here."""
    from bot.ingest.events import OutboxHooks
    from bot.changes.watchlist import Watchlist
    from bot.delivery.notifiers.factory import build_notifiers
    from storage.repo import Repository

    notifiers = build_notifiers(settings, db)
    watchlist = Watchlist(settings.notify.watchlist) if settings.notify.watchlist else None
    hooks = OutboxHooks(notifiers, first_run=settings.notify.first_run, watchlist=watchlist)
    confirmed = []
    try:
        with db.session() as session:
            repo = Repository(session)
            for h in held_lists(session, kind=kind, list_month=list_month):
                if list_id is not None and h.list_id != list_id:
                    continue
                filing_list = repo.list_by_id(h.list_id)
                outcome = repo.confirm_held(filing_list)
                # The same hook a poll calls in its ingest transaction: events and deliveries or neither.
                hooks.on_list(repo, repo.list_ref(filing_list), outcome, first_run=False)
                confirmed.append(Confirmed(h, len(outcome.rows.removed)))
    finally:
        # Called from a thread without a running loop (the CLI, a web worker thread).
        asyncio.run(_close(notifiers))
    return confirmed, len(hooks.events_written)


def reject(db: Database, list_id: int) -> HeldList | None:
    """Reject the held version of one list; None when it holds nothing."""
    with db.session() as session:
        return reject_held(session, list_id)
