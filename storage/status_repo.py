"""Read-only counts of the database's state: ``cacwatch status`` and the /metrics gauges.

Every instance reads the same truth here at each scrape: sources and their polls, lists
and present filings per kind, deliveries per notifier and state, open incidents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import Filing, FilingList, Poll, Source
from storage.models_outbox import Delivery
from storage.models_service import Incident

__all__ = ["SourceStatus", "IncidentStatus", "PollStatus", "StatusRepository"]


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written as UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    polls_ok: int
    polls_failed: int
    last_front_door_at: datetime | None = None  # polling tiers: new lists only …
    last_revalidated_at: datetime | None = None  # … and every known attachment re-checked


@dataclass(frozen=True, slots=True)
class IncidentStatus:
    key: str
    opened_at: datetime
    failures: int
    last_message: str
    notified: bool


@dataclass(frozen=True, slots=True)
class PollStatus:
    source: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    error: str | None
    lists_seen: int
    lists_changed: int
    requests: int


class StatusRepository:
    """Counts for status and metrics, within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def sources(self) -> list[SourceStatus]:
        polls: dict[tuple[int, bool], int] = {
            (source_id, bool(ok)): count
            for source_id, ok, count in self.session.execute(
                select(Poll.source_id, Poll.ok, func.count(Poll.id)).group_by(Poll.source_id, Poll.ok)
            )
        }
        return [
            SourceStatus(
                name=row.name,
                last_success_at=_aware(row.last_success_at),
                last_failure_at=_aware(row.last_failure_at),
                last_error=row.last_error,
                consecutive_failures=row.consecutive_failures or 0,
                polls_ok=polls.get((row.id, True), 0),
                polls_failed=polls.get((row.id, False), 0),
                last_front_door_at=_aware(row.last_front_door_at),
                last_revalidated_at=_aware(row.last_revalidated_at),
            )
            for row in self.session.scalars(select(Source).order_by(Source.name))
        ]

    def recent_polls(self, limit: int = 10) -> list[PollStatus]:
        """The newest polls of every source, newest first."""
        query = select(Poll, Source.name).join(Source, Source.id == Poll.source_id).order_by(Poll.id.desc()).limit(limit)
        return [
            PollStatus(
                source=name, started_at=_aware(poll.started_at) or poll.started_at, finished_at=_aware(poll.finished_at),
                ok=bool(poll.ok), error=poll.error, lists_seen=poll.lists_seen or 0, lists_changed=poll.lists_changed or 0,
                requests=poll.requests or 0,
            )
            for poll, name in self.session.execute(query)
        ]

    def lists_per_kind(self) -> dict[str, int]:
        return {
            kind: count
            for kind, count in self.session.execute(
                select(FilingList.kind, func.count(FilingList.id)).group_by(FilingList.kind)
            )
        }

    def present_filings_per_kind(self) -> dict[str, dict[str, int]]:
        """kind → status → filings present in some current list."""
        filings: dict[str, dict[str, int]] = defaultdict(dict)
        for kind, status, count in self.session.execute(
            select(Filing.kind, Filing.status, func.count(Filing.id))
            .where(Filing.present.is_(True))
            .group_by(Filing.kind, Filing.status)
        ):
            filings[kind][status] = count
        return dict(filings)

    def delivery_counts(self) -> list[tuple[str, str, bool, int]]:
        """(notifier key, state, tried at least once, deliveries)."""
        retried = case((Delivery.attempts > 0, 1), else_=0)
        return [
            (notifier, state, bool(was_tried), count)
            for notifier, state, was_tried, count in self.session.execute(
                select(Delivery.notifier, Delivery.state, retried, func.count(Delivery.id)).group_by(
                    Delivery.notifier, Delivery.state, retried
                )
            )
        ]

    def open_incidents(self) -> list[IncidentStatus]:
        return [
            IncidentStatus(
                key=row.key,
                opened_at=_aware(row.opened_at) or datetime.now(timezone.utc),
                failures=row.failures,
                last_message=row.last_message,
                notified=row.notified_at is not None,
            )
            for row in self.session.scalars(select(Incident).where(Incident.closed_at.is_(None)).order_by(Incident.id))
        ]
