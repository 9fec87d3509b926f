"""The outbox's SQL: events and deliveries written, claimed, settled and counted.

The policy (which state an outcome leads to, backoff, batching) is ``bot.delivery.outbox``;
this module only says how each step reads and writes the tables of ``models_outbox``.
Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several workers run side by side,
and every settling update is conditional on the claim still being this worker's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Filing, FilingChange, as_utc, utcnow
from storage.models_endpoints import DeliveryAttempt
from storage.models_outbox import Delivery, DeliveryState, DisabledDestination, OutboxEvent
from storage.outbox_due import due_now

__all__ = [
    "AttemptRecord",
    "ClaimedDelivery",
    "DestinationReport",
    "OutboxRepository",
    "DELIVERY_LABELS",
    "DeliveryState",
    "TEST_EVENT_TYPE",
    "delivery_label",
]

# The type of the event an endpoint's "send test event" makes: one delivery, to that endpoint
# only; never a change (not in /api/v1/changes, never replayed).
TEST_EVENT_TYPE = "endpoint.test"

# The states an operator sees (``cacwatch status`` per kind, ``cacwatch deliveries`` per
# destination): ``failed`` is a pending delivery that has been tried and waits for its retry.
DELIVERY_LABELS: tuple[str, ...] = ("pending", "failed", "sending", "delivered", "dead", "disabled")


def delivery_label(state: str, tried: bool) -> str:
    """The operator's label of a delivery: its state, ``failed`` for a tried pending one."""
    return "failed" if state == DeliveryState.PENDING and tried else state


@dataclass(frozen=True, slots=True)
class DestinationReport:
    """One destination as ``cacwatch deliveries`` shows it."""

    destination: str
    notifier: str
    counts: dict[str, int]  # DELIVERY_LABELS → deliveries
    attempts: int  # most attempts of a delivery still failing (failed or dead)
    last_error: str | None  # of the newest failing delivery
    next_retry: datetime | None  # earliest retry of a failed delivery


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt to a webhook destination, as the delivery log shows it."""

    id: int
    destination: str
    delivery_pk: int
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    outcome: str  # delivered | retry | dead | disabled
    status_code: int | None
    latency_ms: int | None
    error: str | None
    next_retry_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this worker now holds (state ``sending`` until its lease ends)."""

    pk: int
    notifier: str
    destination: str
    attempts: int
    event_id: str
    payload: dict[str, Any]
    seq: int  # the event's row number: its place in the sequence of every event


class OutboxRepository:
    """Outbox reads and writes within one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- enqueue (inside the ingest transaction) ------------------------------------------

    def add_event(self, event_id: str, event_type: str, payload: dict[str, Any], *, list_id: int | None) -> int:
        """Write one event; its pk (the event's seq)."""
        return self.add_events([(event_id, event_type, payload)], list_id=list_id)[0]

    def add_events(self, events: Sequence[tuple[str, str, dict[str, Any]]], *, list_id: int | None) -> list[int]:
        """Write (event id, type, payload) rows in one batched INSERT … RETURNING; their pks
        (each event's seq), in the order given. Per-filing events come by the hundred."""
        if not events:
            return []
        now = utcnow()
        rows = [
            {"event_id": event_id, "type": event_type, "list_id": list_id, "payload": payload, "created_at": now}
            for event_id, event_type, payload in events
        ]
        return list(self.session.scalars(insert(OutboxEvent).returning(OutboxEvent.id, sort_by_parameter_order=True), rows))

    def add_deliveries(self, deliveries: Sequence[tuple[int, str, str, datetime]]) -> None:
        """Write (event pk, notifier, destination, not before) deliveries in one executemany."""
        if deliveries:
            now = utcnow()
            self.session.execute(
                insert(Delivery),
                [
                    {"event_pk": pk, "notifier": notifier, "destination": destination, "state": DeliveryState.PENDING,
                     "attempts": 0, "next_attempt_at": not_before, "created_at": now}
                    for pk, notifier, destination, not_before in deliveries
                ],
            )

    def link_changes(self, event_pk: int, version_id: int | None, filings: Sequence[tuple[str, str]]) -> int:
        """Mark the history rows that list version ``version_id`` wrote for these (kind, number)
        filings as announced by event ``event_pk`` (the first event to carry them keeps them).
        Returns how many rows were marked."""
        if version_id is None or not filings:
            return 0
        marked = 0
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, number in filings:
            by_kind[kind].append(number)
        for kind, numbers in by_kind.items():
            for start in range(0, len(numbers), 500):
                ids = select(Filing.id).where(Filing.kind == kind, Filing.filing_number.in_(numbers[start : start + 500]))
                result = self.session.execute(
                    update(FilingChange)
                    .where(FilingChange.version_id == version_id, FilingChange.event_pk.is_(None), FilingChange.filing_id.in_(ids))
                    .values(event_pk=event_pk)
                    .execution_options(synchronize_session=False)
                )
                marked += int(getattr(result, "rowcount", 0) or 0)
        return marked

    def event_pk(self, event_id: str) -> int | None:
        """The row of an event already written under this id (operator alerts are written once)."""
        return self.session.scalar(select(OutboxEvent.id).where(OutboxEvent.event_id == event_id))

    def disabled_destinations(self) -> set[str]:
        return set(self.session.scalars(select(DisabledDestination.destination)))

    def add_delivery(self, event_pk: int, notifier: str, destination: str, *, not_before: datetime) -> None:
        self.session.add(
            Delivery(
                event_pk=event_pk,
                notifier=notifier,
                destination=destination,
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=not_before,
            )
        )

    # --- claim and settle ------------------------------------------------------------------

    def claim_due(
        self, worker: str, limit: int, now: datetime, lease: timedelta, *, only: Sequence[str] | None = None
    ) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries (pending and due, or sending with an expired lease);
        ``only``: of these destinations only."""
        due = or_(
            (Delivery.state == DeliveryState.PENDING) & (Delivery.next_attempt_at <= now),
            (Delivery.state == DeliveryState.SENDING) & (Delivery.locked_until < now),
        )
        if only is not None:
            due = due & Delivery.destination.in_(list(only))
        ids = list(
            self.session.scalars(
                select(Delivery.id)
                .where(due)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # ignored by SQLite, which has one writer anyway
            )
        )
        if not ids:
            return []
        # The state condition is repeated so a competing claim cannot take a row twice.
        self.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), due)
            .values(state=DeliveryState.SENDING, locked_by=worker, locked_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        rows = self.session.execute(
            select(Delivery, OutboxEvent)
            .join(OutboxEvent, OutboxEvent.id == Delivery.event_pk)
            .where(Delivery.id.in_(ids), Delivery.locked_by == worker, Delivery.state == DeliveryState.SENDING)
        ).all()
        return [
            ClaimedDelivery(
                pk=delivery.id,
                notifier=delivery.notifier,
                destination=delivery.destination,
                attempts=delivery.attempts,
                event_id=event.event_id,
                payload=event.payload,
                seq=event.id,
            )
            for delivery, event in rows
        ]

    def anything_due(self, now: datetime) -> bool:
        """Is any delivery due now (pending and due, or in flight past its lease)? One indexed probe."""
        return due_now(self.session, now)

    def _settle(self, pk: int, worker: str, attempts: int, **values: Any) -> None:
        owned: ColumnElement[bool] = (Delivery.id == pk) & (Delivery.locked_by == worker)
        self.session.execute(
            update(Delivery)
            .where(owned)
            .values(attempts=attempts, locked_by=None, locked_until=None, **values)
            .execution_options(synchronize_session=False)
        )

    def mark_delivered(self, pk: int, worker: str, attempts: int, *, at: datetime) -> None:
        self._settle(pk, worker, attempts, state=DeliveryState.DELIVERED, delivered_at=at, last_error=None)

    def mark_retry(self, pk: int, worker: str, attempts: int, *, error: str, next_attempt_at: datetime) -> None:
        self._settle(pk, worker, attempts, state=DeliveryState.PENDING, last_error=error, next_attempt_at=next_attempt_at)

    def mark_dead(self, pk: int, worker: str, attempts: int, *, error: str) -> None:
        self._settle(pk, worker, attempts, state=DeliveryState.DEAD, last_error=error)

    def mark_disabled(self, pk: int, worker: str, attempts: int, *, destination: str, error: str) -> None:
        """The destination said it is gone: this delivery stops, and nothing more is queued for it."""
        if self.session.get(DisabledDestination, destination) is None:
            self.session.add(DisabledDestination(destination=destination, reason=error))
            self.session.flush()
        self._settle(pk, worker, attempts, state=DeliveryState.DISABLED, last_error=error)

    # --- operators ------------------------------------------------------------------------

    def retry_dead(self, *, destination: str | None, now: datetime) -> int:
        """Put dead-lettered deliveries back in the queue; returns how many."""
        query = update(Delivery).where(Delivery.state == DeliveryState.DEAD)
        if destination:
            query = query.where(Delivery.destination == destination)
        result = self.session.execute(
            query.values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now).execution_options(
                synchronize_session=False
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def disabled_reason(self, destination: str) -> str | None:
        """Why ``destination`` is disabled (its 410 answer), or None when it is not."""
        row = self.session.get(DisabledDestination, destination)
        return None if row is None else (row.reason or "disabled")

    def enable(self, destination: str, *, now: datetime) -> tuple[bool, int]:
        """Lift a destination's 410 mark and queue again the deliveries it stopped.

        Returns (whether it was disabled, deliveries queued again). The requeued deliveries keep
        their rows, so their ``webhook-id`` is the one the receiver may already have seen."""
        row = self.session.get(DisabledDestination, destination)
        if row is not None:
            self.session.delete(row)
            self.session.flush()
        result = self.session.execute(
            update(Delivery)
            .where(Delivery.destination == destination, Delivery.state == DeliveryState.DISABLED)
            .values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return row is not None, int(getattr(result, "rowcount", 0) or 0)

    def delivery_states(self, destination: str, event_pks: Sequence[int]) -> dict[int, str]:
        """{event pk: state} of the deliveries of these events to ``destination`` (at most one each)."""
        states: dict[int, str] = {}
        for start in range(0, len(event_pks), 500):
            chunk = list(event_pks[start : start + 500])
            query = select(Delivery.event_pk, Delivery.state).where(Delivery.destination == destination, Delivery.event_pk.in_(chunk))
            states.update({pk: state for pk, state in self.session.execute(query)})
        return states

    def requeue(self, event_pk: int, destination: str, *, now: datetime) -> None:
        """Queue an existing delivery again (dead, disabled, or delivered and asked to resend):
        the same row, so the same ``webhook-id``; attempts start over."""
        self.session.execute(
            update(Delivery)
            .where(Delivery.event_pk == event_pk, Delivery.destination == destination)
            .values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, last_error=None, delivered_at=None)
            .execution_options(synchronize_session=False)
        )

    def waiting_destinations(self, notifier: str) -> set[str]:
        """Destinations of ``notifier`` with a delivery pending or being sent."""
        return set(
            self.session.scalars(
                select(Delivery.destination)
                .where(Delivery.notifier == notifier)
                .where(Delivery.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)))
            )
        )

    def destinations_by_pk(self, pks: Sequence[int]) -> dict[int, str]:
        """{delivery pk: destination} of the given deliveries."""
        query = select(Delivery.id, Delivery.destination).where(Delivery.id.in_(list(pks)))
        return {pk: destination for pk, destination in self.session.execute(query)}

    def dead_letters(self, limit: int = 20) -> list[tuple[int, str, str | None]]:
        """(pk, destination, last error) of the oldest dead-lettered deliveries."""
        query = (
            select(Delivery.id, Delivery.destination, Delivery.last_error)
            .where(Delivery.state == DeliveryState.DEAD)
            .order_by(Delivery.id)
            .limit(limit)
        )
        return [(pk, destination, error) for pk, destination, error in self.session.execute(query)]

    def destination_reports(self) -> list[DestinationReport]:
        """Every destination with its deliveries per label and, when failing, why and when next."""
        tried = Delivery.attempts > 0
        rows = self.session.execute(
            select(Delivery.destination, Delivery.notifier, Delivery.state, tried.label("tried"), func.count(Delivery.id))
            .group_by(Delivery.destination, Delivery.notifier, Delivery.state, tried)
        )
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for destination, notifier, state, was_tried, count in rows:
            by_label = counts.setdefault((destination, notifier), dict.fromkeys(DELIVERY_LABELS, 0))
            label = delivery_label(state, bool(was_tried))
            by_label[label] = by_label.get(label, 0) + count
        failing = or_(
            Delivery.state.in_((DeliveryState.DEAD, DeliveryState.DISABLED)),
            (Delivery.state == DeliveryState.PENDING) & tried,
        )
        reports = []
        for (destination, notifier), by_label in sorted(counts.items()):
            attempts, next_retry = 0, None
            last_error = None
            if by_label["failed"] or by_label["dead"] or by_label["disabled"]:
                where = (Delivery.destination == destination, Delivery.notifier == notifier, failing)
                attempts = int(self.session.scalar(select(func.max(Delivery.attempts)).where(*where)) or 0)
                last_error = self.session.scalar(
                    select(Delivery.last_error).where(*where, Delivery.last_error.is_not(None)).order_by(Delivery.id.desc()).limit(1)
                )
                next_retry = self.session.scalar(
                    select(func.min(Delivery.next_attempt_at)).where(
                        Delivery.destination == destination, Delivery.notifier == notifier,
                        Delivery.state == DeliveryState.PENDING, tried,
                    )
                )
            reports.append(DestinationReport(destination, notifier, by_label, attempts, last_error, next_retry))
        return reports

    def queued_for(self, destination: str) -> list[tuple[dict[str, Any], datetime]]:
        """(event, due time) of every delivery to ``destination`` not yet sent (pending, failed
        or in flight), oldest event first: what its next message would carry."""
        query = (
            select(OutboxEvent.payload, Delivery.next_attempt_at)
            .join(OutboxEvent, OutboxEvent.id == Delivery.event_pk)
            .where(
                Delivery.destination == destination,
                Delivery.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)),
            )
            .order_by(OutboxEvent.id)
        )
        return [(dict(payload), due) for payload, due in self.session.execute(query)]

    # --- replay ------------------------------------------------------------------------------

    def events_with_id(self, event_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(pk, event) of the stored event with this id (none, or one: ids are unique)."""
        query = select(OutboxEvent.id, OutboxEvent.payload).where(OutboxEvent.event_id == event_id, OutboxEvent.type != TEST_EVENT_TYPE)
        return [(pk, dict(payload)) for pk, payload in self.session.execute(query)]

    def events_since(self, since: datetime) -> list[tuple[int, dict[str, Any]]]:
        """(pk, event) of every stored event made at or after ``since``, oldest first."""
        query = (
            select(OutboxEvent.id, OutboxEvent.payload)
            .where(OutboxEvent.created_at >= since, OutboxEvent.type != TEST_EVENT_TYPE)
            .order_by(OutboxEvent.id)
        )
        return [(pk, dict(payload)) for pk, payload in self.session.execute(query)]

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """{destination: {state: count}} for status pages."""
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for destination, state, count in self.session.execute(
            select(Delivery.destination, Delivery.state, func.count(Delivery.id)).group_by(
                Delivery.destination, Delivery.state
            )
        ):
            counts[destination][state] = count
        return dict(counts)

    # --- the attempt log (webhook destinations) -----------------------------------------------

    def record_attempts(self, attempts: Sequence[AttemptRecord]) -> None:
        """Log attempts of deliveries (``id`` is ignored: the log numbers them)."""
        self.session.add_all(
            DeliveryAttempt(
                destination=a.destination,
                delivery_pk=a.delivery_pk,
                event_id=a.event_id[:80],
                event_type=a.event_type[:40],
                attempt=a.attempt,
                at=a.at,
                outcome=a.outcome,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=None if a.error is None else a.error[:1000],
                next_retry_at=a.next_retry_at,
            )
            for a in attempts
        )

    def prune_attempts(self, *, keep: int, before: datetime) -> None:
        """Bound the log: attempts older than ``before`` go, and all but the newest ``keep`` of
        each destination."""
        self.session.flush()
        self.session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.at < before).execution_options(synchronize_session=False))
        crowded = self.session.scalars(
            select(DeliveryAttempt.destination).group_by(DeliveryAttempt.destination).having(func.count(DeliveryAttempt.id) > keep)
        )
        for destination in list(crowded):
            cut = self.session.scalar(
                select(DeliveryAttempt.id)
                .where(DeliveryAttempt.destination == destination)
                .order_by(DeliveryAttempt.id.desc())
                .offset(keep)
                .limit(1)
            )
            if cut is not None:
                self.session.execute(
                    delete(DeliveryAttempt)
                    .where(DeliveryAttempt.destination == destination, DeliveryAttempt.id <= cut)
                    .execution_options(synchronize_session=False)
                )

    def attempts_page(self, destination: str, *, before_id: int | None, limit: int) -> list[AttemptRecord]:
        """Attempts to ``destination``, newest first, older than ``before_id`` when given."""
        query = select(DeliveryAttempt).where(DeliveryAttempt.destination == destination)
        if before_id is not None:
            query = query.where(DeliveryAttempt.id < before_id)
        rows = self.session.scalars(query.order_by(DeliveryAttempt.id.desc()).limit(limit))
        return [
            AttemptRecord(
                id=row.id,
                destination=row.destination,
                delivery_pk=row.delivery_pk,
                event_id=row.event_id,
                event_type=row.event_type,
                attempt=row.attempt,
                at=as_utc(row.at) or row.at,
                outcome=row.outcome,
                status_code=row.status_code,
                latency_ms=row.latency_ms,
                error=row.error,
                next_retry_at=as_utc(row.next_retry_at),
            )
            for row in rows
        ]

    def test_events_since(self, destination: str, since: datetime) -> int:
        """How many ``endpoint.test`` events were made for ``destination`` since ``since``."""
        query = (
            select(func.count(Delivery.id))
            .join(OutboxEvent, OutboxEvent.id == Delivery.event_pk)
            .where(Delivery.destination == destination, OutboxEvent.type == TEST_EVENT_TYPE, OutboxEvent.created_at >= since)
        )
        return int(self.session.scalar(query) or 0)

    def destination_counts(self, destination: str) -> dict[str, int]:
        """{label: deliveries} of one destination (``DELIVERY_LABELS``)."""
        tried = Delivery.attempts > 0
        counts = dict.fromkeys(DELIVERY_LABELS, 0)
        for state, was_tried, count in self.session.execute(
            select(Delivery.state, tried.label("tried"), func.count(Delivery.id))
            .where(Delivery.destination == destination)
            .group_by(Delivery.state, tried)
        ):
            label = delivery_label(state, bool(was_tried))
            counts[label] = counts.get(label, 0) + count
        return counts
