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

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models_outbox import Delivery, DeliveryState, DisabledDestination, OutboxEvent

__all__ = ["ClaimedDelivery", "DestinationReport", "OutboxRepository", "DELIVERY_LABELS", "DeliveryState", "delivery_label"]

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
class ClaimedDelivery:
    """A delivery this worker now holds (state ``sending`` until its lease ends)."""

    pk: int
    notifier: str
    destination: str
    attempts: int
    event_id: str
    payload: dict[str, Any]


class OutboxRepository:
    """Outbox reads and writes within one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- enqueue (inside the ingest transaction) ------------------------------------------

    def add_event(self, event_id: str, event_type: str, payload: dict[str, Any], *, list_id: int | None) -> int:
        row = OutboxEvent(event_id=event_id, type=event_type, list_id=list_id, payload=payload)
        self.session.add(row)
        self.session.flush()
        return row.id

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

    def claim_due(self, worker: str, limit: int, now: datetime, lease: timedelta) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries (pending and due, or sending with an expired lease)."""
        due = or_(
            (Delivery.state == DeliveryState.PENDING) & (Delivery.next_attempt_at <= now),
            (Delivery.state == DeliveryState.SENDING) & (Delivery.locked_until < now),
        )
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
            )
            for delivery, event in rows
        ]

    def anything_due(self, now: datetime) -> bool:
        """Is any delivery due now (pending and due, or in flight past its lease)? One indexed probe."""
        due = or_(
            (Delivery.state == DeliveryState.PENDING) & (Delivery.next_attempt_at <= now),
            (Delivery.state == DeliveryState.SENDING) & (Delivery.locked_until < now),
        )
        return self.session.scalar(select(Delivery.id).where(due).limit(1)) is not None

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

    def events_since(self, since: datetime) -> list[tuple[int, dict[str, Any]]]:
        """(pk, event) of every stored event made at or after ``since``, oldest first."""
        query = select(OutboxEvent.id, OutboxEvent.payload).where(OutboxEvent.created_at >= since).order_by(OutboxEvent.id)
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
