"""Which polling tier a poll is (README "Polling tiers"), the same for `cacwatch run` and cron.

The front door (new lists only) on every poll; a full revalidation (every known attachment
re-checked) only when ``sources.cac.revalidate_interval`` has passed since the last one. The
time of the last revalidation is read from the database (``sources.last_revalidated_at``,
written by every poll that revalidated, whoever ran it), so any mix of cron running
``check --once``, ``cacwatch run`` and several instances agrees on when the next one is due.

Kept apart from ``scheduling`` (APScheduler): ``check --once`` decides its tier without
importing the scheduler.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone

from scrapers.sources.cac.settings import CacSourceSettings
from storage.db import Database
from storage.repo import Repository

__all__ = ["JITTER", "MAX_JITTER", "revalidation_due", "tier_for"]

JITTER = 0.1  # up to 10 % of a period …
MAX_JITTER = 300.0  # … and at most 5 minutes


def revalidation_due(
    cac: CacSourceSettings,
    now: datetime,
    last_revalidated: datetime | None,
    random_fraction: Callable[[], float] = random.random,
) -> bool:
    """Whether a poll now should re-check every known attachment. Jittered (only ever
    earlier), so instances and restarts spread out; never more often than the front door."""
    if last_revalidated is None:
        return True
    period = max(cac.revalidate_interval, cac.interval)
    due = period - min(period * JITTER, MAX_JITTER) * random_fraction()
    return (now - last_revalidated).total_seconds() >= due


def tier_for(cac: CacSourceSettings, db: Database, source_name: str, *, now: datetime | None = None) -> str:
    """FRONT_DOOR or REVALIDATE for a ``check --once`` of ``source_name`` now, from the stored
    stamp. Cron sets the pace of the front door itself (``interval`` is the service's), so only
    ``revalidate_interval`` counts here: ``0`` makes every run a full re-check, as before."""
    from bot.ingest.pipeline import FRONT_DOOR, REVALIDATE

    # Through storage.repo (which the poll loads anyway), not storage.service_repo: cron's first
    # request waits for nothing it does not need (tests/test_cli_startup.py). The source's row
    # is made here if missing, as the poll itself would.
    with db.session() as session:
        last = Repository(session).source(source_name).last_revalidated_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)  # SQLite keeps no zone: stored as UTC
    if cac.revalidate_interval <= 0:
        return REVALIDATE
    when = now or datetime.now(timezone.utc)
    return REVALIDATE if revalidation_due(cac.model_copy(update={"interval": 0.0}), when, last) else FRONT_DOOR
