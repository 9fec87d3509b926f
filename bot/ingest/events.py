"""The diff engine's output: turn what an ingest did into events, written to the outbox.

Runs inside the ingest transaction (``PollHooks``), so an event exists exactly when the
data change that caused it was committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol, cast

from bot.changes.event_schema import (
    BaselineData,
    BaselineEvent,
    ChangedFiling,
    Event,
    FieldChanges,
    FilingRecord,
    GenaiCounts,
    GenaiTotals,
    KindTotals,
    ListEvent,
    ListEventData,
    ListEventType,
    split_event,
)
from bot.changes.findings import (
    cancelled_filings,
    findings_for_baseline,
    findings_for_list,
    renamed_filings,
    totals_mismatch,
)
from bot.changes.watchlist import Watchlist
from bot.delivery.notifiers.base import Notifier
from bot.delivery.outbox import enqueue, new_event_id
from bot.ingest.pipeline import PollHooks, PollReport
from scrapers.records import Kind, ListRef
from scrapers.sources.cac.discovery import batch_number
from storage.changes_repo import ChangesRepository
from storage.db import Session
from storage.repo import IngestOutcome, Repository, list_sizes
from storage.totals_repo import Reconciliation, TotalsRepository, registration_of

__all__ = [
    "OutboxHooks",
    "ListAbout",
    "list_event",
    "build_list_event",
    "baseline_event",
    "preview_events",
    "genai_counts",
    "genai_totals",
    "MAX_FILINGS_PER_EVENT",
]

# Large lists are split into several events so no webhook body is unbounded.
MAX_FILINGS_PER_EVENT = 500


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _records(session: Session, kind: str, numbers: Sequence[str]) -> list[FilingRecord]:
    # The repository returns export records (interfaces.md): exactly FilingRecord's keys.
    return cast(list[FilingRecord], ChangesRepository(session).filing_records(kind, numbers))


class ListAbout(Protocol):
    """What an event says about the list itself (a ``ListRef`` or a stored list)."""

    @property
    def list_month(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def page_url(self) -> str: ...
    @property
    def attachment_url(self) -> str: ...


def genai_counts(new: Sequence[Mapping[str, Any]]) -> GenaiCounts:
    """New GenAI filings split: filed (备案), registered (登记), on-device (filed with a 适用场景).

    A record without ``registration`` (stored before the GenAI parser set it) counts by the
    form of its number (``…S0054`` is a 上线编号, registered)."""
    counts: GenaiCounts = {"filed": 0, "registered": 0, "on_device": 0}
    for record in new:
        registration = registration_of(record.get("registration"), str(record.get("filing_number") or ""))
        if registration == "registered":
            counts["registered"] += 1
        else:
            counts["filed"] += 1
            if record.get("scenario"):
                counts["on_device"] += 1
    return counts


def genai_totals(reconciliation: Reconciliation) -> GenaiTotals:
    """``data.totals`` of a list event from a stored reconciliation."""
    return {
        "as_of": reconciliation.as_of,
        "stated": {"filed": reconciliation.stated_filed, "registered": reconciliation.stated_registered},
        "held": {"filed": reconciliation.held_filed, "registered": reconciliation.held_registered},
        "source_url": reconciliation.source_url,
    }


def build_list_event(
    event_id: str,
    event_type: ListEventType,
    kind: str,
    about: ListAbout,
    rows: Sequence[Mapping[str, Any]],
    filings: tuple[list[FilingRecord], list[ChangedFiling], list[FilingRecord]],
    sizes: Sequence[tuple[str, int]],
    watchlist: Watchlist | None,
    totals: GenaiTotals | None = None,
    published: tuple[str | None, str | None] = (None, None),
) -> ListEvent:
    """The one place a list event's payload is put together (polls and digest previews).

    ``filings``: the (new, changed, removed) filings of the event; ``totals``: CAC's stated
    totals reconciled for this list (GenAI), whose difference is the first finding;
    ``published``: (date, basis) of the list's first publication (``data.published``).
    """
    new, changed, removed = filings
    list_month = about.list_month
    notable = findings_for_list(
        kind=kind, list_month=list_month, rows=rows, new=new, changed=changed, sizes=sizes, watchlist=watchlist
    )
    mismatch = totals_mismatch(totals) if totals is not None else None
    if mismatch is not None:
        notable.insert(0, mismatch)  # the one finding that says the data may be incomplete
    # Counted as the findings count them (注销 N 项 includes new filings already cancelled).
    cancelled = len(cancelled_filings(new, changed))
    renamed = len(renamed_filings(changed))
    data: ListEventData = {
        "kind": kind,
        "list_month": list_month,
        "title": about.title,
        "name": about.name,
        "batch": batch_number(about.title),
        "page_url": about.page_url,
        "attachment_url": about.attachment_url,
        "counts": {
            "new": len(new),
            "changed": len(changed),
            "removed": len(removed),
            "rows": len(rows),
            "cancelled": cancelled,
            "renamed": renamed,
        },
        "new": new,
        "changed": changed,
        "removed": removed,
        "notable": notable,
        "sizes": [[month, count] for month, count in sizes],
    }
    if kind == Kind.GENAI_SERVICE.value:
        data["counts"]["genai"] = genai_counts(new)
    if totals is not None:
        data["totals"] = totals
    on, basis = published
    if on and basis in ("announced", "first_seen"):
        data["published"] = {"on": on, "basis": "first_seen" if basis == "first_seen" else "announced"}
    return {"id": event_id, "type": event_type, "timestamp": _timestamp(), "data": data}


def list_event(
    repo: Repository, ref: ListRef, outcome: IngestOutcome, watchlist: Watchlist | None
) -> ListEvent | None:
    """list.published for a list never seen, list.revised for a known one whose rows changed."""
    session = repo.session
    kind = ref.kind.value
    # (kind, number, changes): a 注销 notice changes filings of whichever series they are in.
    changed_items: list[tuple[str, str, FieldChanges]]
    event_type: ListEventType
    if outcome.is_new_list and ref.is_summary:
        # A summary repeats entries published before: it is no new batch, and its rows are
        # never new filings (storage.repo). Its stated totals are still reconciled: a
        # difference is an operator alert and shows in `cacwatch status` (bot.app.alerts).
        return None
    if outcome.is_new_list:
        event_type = "list.published"
        new_numbers = list(outcome.created)
        changed_items = [(u.kind, u.filing_number, u.changes) for u in outcome.filing_updates if u.changes]
        removed_numbers: list[str] = []
    else:
        event_type = "list.revised"
        created = set(outcome.created)
        new_numbers = [n for n in outcome.rows.added if n in created]
        changed_items = [(kind, number, changes) for number, changes in outcome.rows.changed.items()]
        removed_numbers = list(outcome.rows.removed)
    if not outcome.is_new_list and not (new_numbers or changed_items or removed_numbers):
        return None  # e.g. a filing moved position only

    new = _records(session, kind, new_numbers)
    removed = _records(session, kind, removed_numbers)
    current = {
        (item_kind, record["filing_number"]): record
        for item_kind in {k for k, _, _ in changed_items}
        for record in _records(session, item_kind, [n for k, n, _ in changed_items if k == item_kind])
    }
    changed: list[ChangedFiling] = []
    for item_kind, number, changes in changed_items:
        entry: ChangedFiling = {"kind": item_kind, "filing_number": number, "changes": changes}
        if (item_kind, number) in current:
            entry["name"] = current[(item_kind, number)]["name"]
            entry["entity"] = current[(item_kind, number)]["entity"]
        changed.append(entry)
    stored = repo.list_by_id(outcome.list_id)
    rows = repo.current_rows(stored)
    # A 注销 notice is not a batch: no rank or size change for it.
    sizes = [] if ref.is_cancellation else list_sizes(session, kind)
    totals = None
    if event_type == "list.published" and kind == Kind.GENAI_SERVICE.value and not ref.is_cancellation:
        reconciliation = TotalsRepository(session).for_list(outcome.list_id)
        totals = genai_totals(reconciliation) if reconciliation is not None else None
    return build_list_event(
        new_event_id(), event_type, kind, ref, rows, (new, changed, removed), sizes, watchlist, totals,
        (stored.first_published_on, stored.published_basis),
    )


def baseline_event(session: Session) -> BaselineEvent:
    """One event for the first successful poll: totals only, never the whole history."""
    totals = ChangesRepository(session).baseline_totals()
    by_kind: dict[str, KindTotals] = {
        kind: {"lists": t["lists"], "filings": t["filings"], "cancelled": t["cancelled"]}
        for kind, t in totals.by_kind.items()
    }
    data: BaselineData = {
        "counts": {
            "lists": sum(t["lists"] for t in by_kind.values()),
            "filings": sum(t["filings"] for t in by_kind.values()),
        },
        "by_kind": by_kind,
        "notable": findings_for_baseline(totals.by_kind, totals.entities),
    }
    return {"id": new_event_id(), "type": "baseline.established", "timestamp": _timestamp(), "data": data}


def preview_events(session: Session, *, watchlist: list[str] | None = None) -> list[ListEvent]:
    """The newest stored list of each kind as a ``list.published`` event, as if just published.

    Its ``new`` filings are those that first appeared in it (all its rows when none did,
    e.g. a list CAC updates in place); findings are computed as for a real event.
    """
    repo = Repository(session)
    changes = ChangesRepository(session)
    matcher = Watchlist(watchlist) if watchlist else None
    events: list[ListEvent] = []
    for newest in changes.newest_lists():
        kind = newest.kind
        rows = repo.current_rows(repo.list_by_id(newest.id))
        new = cast(list[FilingRecord], changes.first_seen_in(kind, newest.id))
        if not new:
            numbers = [str(r["filing_number"]) for r in rows]
            new = _records(session, kind, numbers[:5000])
        sizes = list_sizes(session, kind)
        reconciliation = TotalsRepository(session).for_list(newest.id) if kind == Kind.GENAI_SERVICE.value else None
        totals = genai_totals(reconciliation) if reconciliation is not None else None
        event = build_list_event(
            f"evt_preview_{kind}", "list.published", kind, newest, rows, (new, [], []), sizes, matcher, totals,
            (newest.first_published_on, newest.published_basis),
        )
        events.append(event)
    return events


class OutboxHooks(PollHooks):
    """Writes events and deliveries in the ingest transactions of a poll."""

    def __init__(self, notifiers: Sequence[Notifier], *, first_run: str = "baseline", watchlist: Watchlist | None = None):
        self.notifiers = list(notifiers)
        self.first_run = first_run
        self.watchlist = watchlist
        self.events_written: list[Event] = []

    def on_list(self, repo: Repository, ref: ListRef, outcome: IngestOutcome, *, first_run: bool) -> None:
        if not outcome.rows_changed:
            return  # same bytes, or same rows in new bytes: nothing to tell
        if first_run and self.first_run == "baseline":
            return  # history is summarised once by baseline.established
        event = list_event(repo, ref, outcome, self.watchlist)
        if event is None:
            return
        for part in split_event(event, max_filings=MAX_FILINGS_PER_EVENT):
            enqueue(repo.session, part, self.notifiers, list_id=outcome.list_id)
            self.events_written.append(part)

    def on_poll_done(self, repo: Repository, report: PollReport) -> None:
        if report.first_run and report.ok and self.first_run == "baseline":
            event = baseline_event(repo.session)
            enqueue(repo.session, event, self.notifiers)
            self.events_written.append(event)
