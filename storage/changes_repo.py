"""What building events reads: export records of filings, totals for the baseline, newest lists.

``bot.ingest.events`` turns these answers into event payloads; nothing here knows the
payload's shape beyond the export record (``repo.filing_record``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Filing, FilingList, ListVersion
from storage.models_outbox import OutboxEvent
from storage.outbox_repo import TEST_EVENT_TYPE
from storage.repo import filing_record

__all__ = ["ChangesRepository", "StoredList", "BaselineTotals", "StoredEvent", "events_after", "events_recorded_between"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredList:
    """A stored list as events describe it."""

    id: int
    kind: str
    list_month: str
    title: str
    name: str
    page_url: str
    attachment_url: str
    # When CAC first published it and on what that rests (storage.list_dates).
    first_published_on: str | None = None
    published_basis: str | None = None


@dataclass(frozen=True, slots=True)
class BaselineTotals:
    by_kind: dict[str, dict[str, int]]  # kind → {"lists", "filings", "cancelled"}
    entities: list[tuple[str, str]]  # (kind, filer) of every present filing


class ChangesRepository:
    """Reads for event building within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def filing_records(self, kind: str, numbers: Sequence[str]) -> list[dict[str, Any]]:
        """Export records of the filings ``numbers`` of ``kind``, in the order given (unknown ones left out)."""
        if not numbers:
            return []
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(numbers), _CHUNK):
            chunk = numbers[start : start + _CHUNK]
            query = select(Filing).where(Filing.kind == kind, Filing.filing_number.in_(chunk))
            for filing in self.session.scalars(query):
                found[filing.filing_number] = filing_record(filing)
        return [found[n] for n in numbers if n in found]

    def baseline_totals(self) -> BaselineTotals:
        by_kind: dict[str, dict[str, int]] = {}
        for kind, lists in self.session.execute(
            select(FilingList.kind, func.count(FilingList.id))
            .where(FilingList.current_version_id.is_not(None))
            .group_by(FilingList.kind)
        ):
            by_kind[kind] = {"lists": lists, "filings": 0, "cancelled": 0}
        for kind, status, count in self.session.execute(
            select(Filing.kind, Filing.status, func.count(Filing.id))
            .where(Filing.present.is_(True))
            .group_by(Filing.kind, Filing.status)
        ):
            totals = by_kind.setdefault(kind, {"lists": 0, "filings": 0, "cancelled": 0})
            totals["filings"] += count
            if status == "cancelled":
                totals["cancelled"] += count
        entities = [
            (kind, entity)
            for kind, entity in self.session.execute(select(Filing.kind, Filing.entity).where(Filing.present.is_(True)))
        ]
        return BaselineTotals(by_kind, entities)

    def newest_lists(self) -> list[StoredList]:
        """The newest parsed list of each kind (cancellation notices and summaries excluded: neither
        is a batch to show as just published), kinds in name order."""
        newest: list[StoredList] = []
        kinds = list(self.session.scalars(select(FilingList.kind).distinct().order_by(FilingList.kind)))
        for kind in kinds:
            row = self.session.scalars(
                select(FilingList)
                .join(ListVersion, ListVersion.id == FilingList.current_version_id)
                .where(FilingList.kind == kind, FilingList.is_cancellation.is_(False), FilingList.is_summary.is_(False))
                .order_by(FilingList.list_month.desc(), FilingList.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                newest.append(
                    StoredList(row.id, row.kind, row.list_month, row.title, row.name, row.page_url, row.attachment_url,
                               row.first_published_on, row.published_basis)
                )
        return newest

    def list_of_month(self, kind: str, list_month: str) -> StoredList | None:
        """The parsed list of ``kind`` and ``list_month`` (a batch: cancellation notices and
        summaries excluded), the newest when a month has several; None when there is none."""
        row = self.session.scalars(
            select(FilingList)
            .join(ListVersion, ListVersion.id == FilingList.current_version_id)
            .where(
                FilingList.kind == kind,
                FilingList.list_month == list_month,
                FilingList.is_cancellation.is_(False),
                FilingList.is_summary.is_(False),
            )
            .order_by(FilingList.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return StoredList(row.id, row.kind, row.list_month, row.title, row.name, row.page_url, row.attachment_url)

    def first_seen_in(self, kind: str, list_id: int) -> list[dict[str, Any]]:
        """Export records of the filings that first appeared in this list."""
        query = select(Filing).where(Filing.kind == kind, Filing.first_list_id == list_id).order_by(Filing.id)
        return [filing_record(f) for f in self.session.scalars(query)]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as the outbox keeps it: ``seq`` is its row number, which only grows."""

    seq: int
    payload: dict[str, Any]


def events_after(
    session: Session, after: int, *, limit: int, types: Sequence[str] = (), leave_out: Sequence[str] = ()
) -> list[StoredEvent]:
    """Stored events with a sequence above ``after``, oldest first (the pull API's page): of
    ``types`` when given, never of the types in ``leave_out``."""
    # An endpoint's test event is not a change.
    query = select(OutboxEvent.id, OutboxEvent.payload).where(OutboxEvent.id > after, OutboxEvent.type != TEST_EVENT_TYPE)
    if types:
        query = query.where(OutboxEvent.type.in_(list(types)))
    if leave_out:
        query = query.where(OutboxEvent.type.not_in(list(leave_out)))
    rows = session.execute(query.order_by(OutboxEvent.id).limit(limit))
    return [StoredEvent(seq, dict(payload)) for seq, payload in rows]


def events_recorded_between(
    session: Session, since: datetime, until: datetime, *, types: Sequence[str], limit: int
) -> list[StoredEvent]:
    """Stored events of ``types`` recorded at or after ``since`` and before ``until``, oldest
    first, at most ``limit`` (a period report; the caller says when the cap cut it)."""
    query = (
        select(OutboxEvent.id, OutboxEvent.payload)
        .where(OutboxEvent.created_at >= since, OutboxEvent.created_at < until, OutboxEvent.type.in_(list(types)))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return [StoredEvent(seq, dict(payload)) for seq, payload in session.execute(query)]
