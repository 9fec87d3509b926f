"""When the service polls: the gap before the next poll (``PollSchedule``) and the APScheduler
trigger that leaves the choice to each poll (``AdaptiveTrigger``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.settings.config import ServiceSettings
from bot.app.tiers import JITTER, MAX_JITTER, revalidation_due
from scrapers.sources.cac.settings import CacSourceSettings

__all__ = ["PollSchedule", "AdaptiveTrigger", "JITTER", "MAX_JITTER", "MIN_GAP"]

MIN_GAP = 1.0  # never two polls back to back, even after a poll longer than the interval (or the interval, if shorter)


class PollSchedule:
    """The gap before the next poll.

    - normally ``sources.cac.interval``; inside ``busy_hours`` its shorter ``interval``;
      outside them, never past the start of the next busy window;
    - while the source fails, ``interval · 2^(failures-1)`` — one failure keeps the pace
      (a glitch should not delay news), then each further one doubles the gap, capped at
      ``service.backoff_max`` (or the interval, if longer): a site that blocks us is not
      hammered, and we are back to normal with the first success;
    - a poll is a front-door poll (new lists only) unless ``revalidate_interval`` has passed
      since the last revalidation (``revalidation_due``): then every known list is re-checked;
    - jitter only ever shortens the gap (by up to 10 %, at most 5 min), so "a list reaches
      you within one interval" holds while instances and restarts still spread out.
    """

    def __init__(
        self,
        cac: CacSourceSettings,
        service: ServiceSettings,
        *,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self.cac = cac
        self.service = service
        self._random = random_fraction
        busy = cac.busy_hours
        self._window: CronTrigger | None = None
        if busy is not None:
            # Every minute of the window is a "fire time": membership is one trigger lookup.
            self._window = CronTrigger(day_of_week=busy.days, hour=busy.hours, minute="*", timezone=ZoneInfo(busy.timezone))

    def busy(self, now: datetime) -> bool:
        if self._window is None:
            return False
        minute = now.replace(second=0, microsecond=0)
        fire = self._window.get_next_fire_time(None, minute)
        return fire is not None and fire == minute

    def next_busy_start(self, now: datetime) -> datetime | None:
        if self._window is None:
            return None
        fire: datetime | None = self._window.get_next_fire_time(None, now)
        return fire

    def interval(self, now: datetime) -> float:
        if self.cac.busy_hours is not None and self.busy(now):
            return min(self.cac.busy_hours.interval, self.cac.interval)  # busy hours never poll slower
        return self.cac.interval

    def revalidation_due(self, now: datetime, last_revalidated: datetime | None) -> bool:
        """Whether this poll should re-check every known attachment (the long tier) rather
        than only the front door. Jittered like the gap (only ever earlier), so instances
        and restarts spread out; never more often than the front door itself."""
        return revalidation_due(self.cac, now, last_revalidated, self._random)  # the rule cron follows too

    def longest(self) -> float:
        return max(self.cac.interval, self.service.backoff_max)

    def gap(self, now: datetime, failures: int = 0) -> float:
        interval = self.interval(now)
        floor = min(MIN_GAP, interval)
        if failures > 0:
            gap: float = min(interval * 2 ** min(failures - 1, 32), max(interval, self.service.backoff_max))
        else:
            gap = interval
            start = None if self.busy(now) else self.next_busy_start(now)
            if start is not None and (start - now).total_seconds() < gap:
                return max(floor, (start - now).total_seconds())  # the window opens: poll then, exactly
        return max(floor, gap - min(gap * JITTER, MAX_JITTER) * self._random())


class AdaptiveTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Asked by APScheduler for the next run when it starts one. Each poll sets the real next
    run itself when it ends (it knows its outcome); this is only the fallback, far enough
    out not to fire while a poll is still running."""

    def __init__(self, fallback: Callable[[], float]) -> None:
        self._fallback = fallback

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        return now + timedelta(seconds=self._fallback())

    def __str__(self) -> str:
        return "adaptive"
