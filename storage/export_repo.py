"""What ``cacwatch export`` reads: filings with when they were first seen, last changed and
whether they left every list, and the history of changes as records of their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Filing, FilingChange, FilingList, ListVersion
from storage.models_outbox import OutboxEvent
from storage.repo import filing_record

__all__ = ["ExportRepository", "stored_record"]


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def stored_record(filing: Filing) -> dict[str, Any]:
    """The export record plus ``first_seen``, ``updated_at`` (ISO 8601) and ``removed``."""
    record = filing_record(filing)
    record["first_seen"] = _when(filing.first_seen_at)
    record["updated_at"] = _when(filing.updated_at)
    record["removed"] = not filing.present
    return record


class ExportRepository:
    """Reads for exports within the caller's session (streamed: a large store stays small in memory)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def filings(
        self, *, kind: str | None = None, since: datetime | None = None, include_removed: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Filings (first seen or changed at or after ``since``), oldest list first."""
        query = select(Filing)
        if kind:
            query = query.where(Filing.kind == kind)
        if not include_removed:
            query = query.where(Filing.present.is_(True))
        if since is not None:
            query = query.where(Filing.updated_at >= since)
        query = query.order_by(Filing.kind, Filing.list_month, Filing.id)
        for filing in self.session.scalars(query).yield_per(1000):
            yield stored_record(filing)

    def changes(self, *, kind: str | None = None, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every recorded change (created, changed, cancelled, renamed, removed), oldest first:
        the filing's current record, ``change``, ``list`` (the list whose version caused it),
        ``changes`` ({field: [before, after]}), ``updated_at`` = when the change was seen, and
        ``event_id`` / ``seq``: the event that announced it (webhooks, /api/v1/changes), None
        when none did (a baseline poll, a summary list, history from before events were linked)."""
        query = (
            select(FilingChange, Filing, FilingList.name, OutboxEvent.event_id)
            .join(Filing, Filing.id == FilingChange.filing_id)
            .outerjoin(ListVersion, ListVersion.id == FilingChange.version_id)
            .outerjoin(FilingList, FilingList.id == ListVersion.list_id)
            .outerjoin(OutboxEvent, OutboxEvent.id == FilingChange.event_pk)
        )
        if kind:
            query = query.where(Filing.kind == kind)
        if since is not None:
            query = query.where(FilingChange.at >= since)
        query = query.order_by(FilingChange.at, FilingChange.id)
        for change, filing, list_name, event_id in self.session.execute(query).yield_per(1000):
            record = stored_record(filing)
            record["change"] = change.change_type
            record["list"] = list_name or ""
            record["changes"] = dict(change.changes or {})
            record["updated_at"] = _when(change.at)
            record["event_id"] = event_id
            record["seq"] = change.event_pk if event_id is not None else None
            yield record
