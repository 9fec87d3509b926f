"""The transactional outbox: enqueue events with their deliveries, and deliver what is due.

Exactly-once bookkeeping lives here, not in notifiers:
- ``enqueue`` runs inside the ingest transaction: event + one delivery per destination.
- ``deliver_due`` claims due deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
  workers run side by side), sends them concurrently, and records the outcome. A worker
  that dies mid-send leaves a lease that expires, and the delivery is retried with the same
  id (webhook-id), so a receiver can drop the duplicate of a send it did get.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


from bot.changes.event_schema import (
    AnyEvent,
    ENDPOINT_TEST,
    Event,
    EventPayloadError,
    OperatorAlertEvent,
    any_event_from_json,
    endpoint_test_from_json,
    event_from_json,
    is_filing_event,
    operator_alert_from_json,
    with_seq,
)
from bot.settings.event_types import OPERATOR_ALERT
from bot.delivery.notifiers.base import DeliveryError, Notifier
from bot.delivery.runs import DeliveryRun
from storage.db import Database, Session
from storage.outbox_due import anything_due
from storage.outbox_repo import AttemptRecord, ClaimedDelivery, DeliveryState, OutboxRepository

__all__ = [
    "RETRY_DELAYS",
    "new_event_id",
    "enqueue",
    "enqueue_operator_alert",
    "enqueue_many",
    "filing_event_types",
    "wants",
    "deliver_due",
    "deliver_until_idle",
    "anything_due",
    "DeliveryRun",
    "retry_dead",
    "replay",
    "Replay",
    "DestinationDisabled",
    "enable_destination",
    "delivery_counts",
    "delivery_id_of",
    "ATTEMPTS_KEPT",
    "ATTEMPTS_MAX_AGE",
]

log = logging.getLogger(__name__)

# Backoff between attempts, in seconds: about 1.5 days in all before dead-lettering.
RETRY_DELAYS: tuple[float, ...] = (5, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200)
LEASE = timedelta(seconds=120)
# The attempt log of webhook destinations (``delivery_attempts``): at most this many attempts
# per destination, none older than this; pruned at most once a minute per process.
ATTEMPTS_KEPT = 1000
ATTEMPTS_MAX_AGE = timedelta(days=30)
_PRUNE_EVERY = 60.0
_last_prune: list[float] = []


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def delivery_id_of(event_id: str, delivery_pk: int) -> str:
    """Stable across retries: this is the ``webhook-id`` receivers deduplicate on."""
    return f"msg_{event_id[4:]}_{delivery_pk}"


def filing_event_types(notifiers: Iterable[Notifier]) -> frozenset[str]:
    """The per-filing event types any of these destinations asked for (through its own event
    filter, whatever made the notifier: config.yaml or the database): only those are made."""
    asked: frozenset[str] = frozenset()
    for notifier in notifiers:
        asked |= notifier.filing_event_types
    return asked


def wants(notifier: Notifier, event: AnyEvent) -> bool:
    """Whether ``notifier``'s own destination gets ``event`` (its filters; per-filing events
    only when it asked for their type)."""
    if is_filing_event(event):
        return event["type"] in notifier.filing_event_types and notifier.accepts_filing(event)
    return notifier.accepts(event)


def _destinations(notifier: Notifier, event: AnyEvent, session: Session) -> list[str]:
    if is_filing_event(event):
        return list(dict.fromkeys(notifier.fan_out_filing(event, session)))
    return list(dict.fromkeys(notifier.fan_out(event, session)))


def enqueue_many(
    session: Session, events: Iterable[AnyEvent], notifiers: Sequence[Notifier], *, list_id: int | None = None
) -> list[tuple[int, int]]:
    """Write events and their deliveries in the caller's transaction, in order (each event's
    ``seq`` is its row number, so the order given is the order readers see).
    Returns (event pk, deliveries) per event."""
    repo = OutboxRepository(session)
    events = list(events)
    disabled = repo.disabled_destinations()
    now = utcnow()
    # Destinations are asked before the rows are written (as one batch): a notifier's fan-out
    # reads its subscribers in this same session.
    planned: list[list[tuple[str, str, datetime]]] = []
    for event in events:
        deliveries = []
        for notifier in notifiers:
            for destination in _destinations(notifier, event, session):
                if destination not in disabled:
                    not_before = now if is_filing_event(event) else notifier.not_before(event, now, destination)
                    deliveries.append((notifier.destination, destination, not_before))
        planned.append(deliveries)
    pks = repo.add_events([(e["id"], e["type"], dict(e)) for e in events], list_id=list_id)
    repo.add_deliveries([(pk, *delivery) for pk, deliveries in zip(pks, planned) for delivery in deliveries])
    return [(pk, len(deliveries)) for pk, deliveries in zip(pks, planned)]


def enqueue(session: Session, event: AnyEvent, notifiers: Iterable[Notifier], *, list_id: int | None = None) -> int:
    """Write one event and its deliveries in the caller's transaction. Returns the delivery count."""
    ((_, count),) = enqueue_many(session, [event], list(notifiers), list_id=list_id)
    return count


def enqueue_operator_alert(session: Session, alert: OperatorAlertEvent, notifiers: Iterable[Notifier]) -> int:
    """Write an operator alert once (its id is stable per incident opened or resolved) with one
    delivery per destination that carries operator alerts and has none for it yet. Writing it
    again (a crash before the incident was marked announced, the next poll) adds nothing twice.
    Returns how many destinations have it queued or delivered."""
    repo = OutboxRepository(session)
    event_pk = repo.event_pk(alert["id"])
    if event_pk is None:
        event_pk = repo.add_event(alert["id"], alert["type"], dict(alert), list_id=None)
    disabled = repo.disabled_destinations()
    now = utcnow()
    count = 0
    for notifier in notifiers:
        destination = notifier.destination
        if not notifier.carries_operator_alerts or destination in disabled:
            continue
        if not repo.delivery_states(destination, [event_pk]):
            repo.add_delivery(event_pk, destination, destination, not_before=now)
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class _Claimed:
    pk: int
    notifier: str
    destination: str
    attempts: int
    payload: Mapping[str, object]  # the stored event as JSON, read into an Event when sent
    delivery_id: str


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What the attempt log keeps of one send besides its outcome."""

    status_code: int | None
    latency_ms: int


def _claim(db: Database, worker: str, limit: int, now: datetime, only: Sequence[str] | None = None) -> list[_Claimed]:
    with db.session() as session:
        claimed = OutboxRepository(session).claim_due(worker, limit, now, LEASE, only=only)
    return [_claimed(row) for row in claimed]


def _claimed(row: ClaimedDelivery) -> _Claimed:
    return _Claimed(
        pk=row.pk,
        notifier=row.notifier,
        destination=row.destination,
        attempts=row.attempts,
        payload=with_seq(row.payload, row.seq),
        delivery_id=delivery_id_of(row.event_id, row.pk),
    )


def _backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(0.0, retry_after)
    base = RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)]
    return base * random.uniform(0.8, 1.2)  # jitter spreads retries of a burst


# A claimed delivery, its error (None: delivered) and, for a notifier that logs its attempts,
# the attempt's status code and latency.
Outcome = tuple[_Claimed, DeliveryError | None, _Attempt | None]


def _finish(db: Database, worker: str, outcomes: Sequence[Outcome]) -> DeliveryRun:
    """Record several delivery outcomes (and the attempt log's lines) in one transaction."""
    run = DeliveryRun()
    now = utcnow()
    logged: list[AttemptRecord] = []
    with db.session() as session:
        repo = OutboxRepository(session)
        for item, error, attempt in outcomes:
            attempts = item.attempts + 1
            next_retry: datetime | None = None
            if error is None:
                repo.mark_delivered(item.pk, worker, attempts, at=now)
                run.delivered += 1
                outcome = "delivered"
            elif error.disable:
                repo.mark_disabled(item.pk, worker, attempts, destination=item.destination, error=error.reason)
                run.disabled += 1
                outcome = "disabled"
            elif not error.retryable or attempts > len(RETRY_DELAYS):
                repo.mark_dead(item.pk, worker, attempts, error=error.reason)
                run.dead += 1
                outcome = "dead"
            else:
                delay = _backoff(attempts, error.retry_after)
                next_retry = now + timedelta(seconds=delay)
                repo.mark_retry(item.pk, worker, attempts, error=error.reason, next_attempt_at=next_retry)
                run.failed += 1
                outcome = "retry"
            if error is not None:
                run.errors.append(f"{item.destination}: {error.reason}")
            if attempt is not None:
                logged.append(
                    AttemptRecord(
                        id=0,
                        destination=item.destination,
                        delivery_pk=item.pk,
                        event_id=str(item.payload.get("id", "")),
                        event_type=str(item.payload.get("type", "")),
                        attempt=attempts,
                        at=now,
                        outcome=outcome,
                        status_code=error.status_code if error is not None else attempt.status_code,
                        latency_ms=attempt.latency_ms,
                        error=None if error is None else error.reason,
                        next_retry_at=next_retry,
                    )
                )
        if logged:
            repo.record_attempts(logged)
            clock = time.monotonic()
            if not _last_prune or clock - _last_prune[0] >= _PRUNE_EVERY:
                _last_prune[:] = [clock]
                repo.prune_attempts(keep=ATTEMPTS_KEPT, before=now - ATTEMPTS_MAX_AGE)
    return run


class _OutcomeWriter:
    """Commits outcomes in small batches from one thread of its own.

    One transaction per delivery would make 1,000 webhooks wait on 1,000 SQLite commits, and
    would crowd out the default executor that DNS lookups of the sends run in. A crash loses
    at most the last ``interval`` of bookkeeping: those deliveries are sent again with the
    same webhook-id, which receivers deduplicate.
    """

    def __init__(self, db: Database, worker: str, interval: float = 0.2) -> None:
        self.db, self.worker, self.interval = db, worker, interval
        self.run = DeliveryRun()
        self._pending: list[Outcome] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-writer")
        self._task: asyncio.Task[None] | None = None

    def add(self, item: _Claimed, error: DeliveryError | None, attempt: _Attempt | None = None) -> None:
        self._pending.append((item, error, attempt))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.interval)
        await self.flush()

    async def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            loop = asyncio.get_running_loop()
            self.run.add(await loop.run_in_executor(self._executor, _finish, self.db, self.worker, batch))

    async def close(self) -> DeliveryRun:
        if self._task is not None:
            await self._task
        await self.flush()
        self._executor.shutdown(wait=True)
        return self.run


async def _send(notifier: Notifier, batch: Sequence[_Claimed]) -> tuple[DeliveryError | None, int | None]:
    """Send one delivery (or a batch): (the error, None when delivered; the receiver's status)."""
    status: int | None = None
    try:
        if batch[0].payload.get("type") == OPERATOR_ALERT:
            (item,) = batch  # only carriers get these, and none of them batches
            alert = operator_alert_from_json(item.payload)
            status = await notifier.deliver_operator_alert(alert, delivery_id=item.delivery_id)
        elif notifier.batches:
            events = [(event_from_json(c.payload), c.delivery_id) for c in batch]
            await notifier.deliver_batch(events, destination=batch[0].destination)
        else:
            (item,) = batch
            if item.payload.get("type") == ENDPOINT_TEST:
                test = endpoint_test_from_json(item.payload)
                status = await notifier.deliver_test(test, delivery_id=item.delivery_id, destination=item.destination)
            else:
                event = any_event_from_json(item.payload)
                if is_filing_event(event):
                    status = await notifier.deliver_filing_to(event, delivery_id=item.delivery_id, destination=item.destination)
                else:
                    status = await notifier.deliver_to(event, delivery_id=item.delivery_id, destination=item.destination)
    except DeliveryError as err:
        return err, err.status_code
    except EventPayloadError as err:
        # Stored by a version whose events this one cannot read: retrying will not help.
        return DeliveryError(f"unreadable event: {err}", retryable=False), None
    except Exception as err:  # noqa: BLE001 - a notifier bug must not lose the delivery
        log.exception("notifier %s failed", notifier.destination)
        return DeliveryError(f"{err.__class__.__name__}: {err}"), None
    return None, status


async def deliver_due(
    db: Database,
    notifiers: Mapping[str, Notifier],
    *,
    worker: str | None = None,
    limit: int = 2000,
    concurrency: int = 500,
    only: Sequence[str] | None = None,
) -> DeliveryRun:
    """Claim and send every due delivery once (``only``: of these destinations); returns what happened."""
    worker = worker or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
    claimed = await asyncio.to_thread(_claim, db, worker, limit, utcnow(), only)
    if not claimed:
        return DeliveryRun()
    writer = _OutcomeWriter(db, worker)
    groups: dict[tuple[str, str], list[_Claimed]] = defaultdict(list)
    singles: list[tuple[Notifier, list[_Claimed]]] = []
    for item in claimed:
        notifier = notifiers.get(item.notifier)
        if notifier is None:
            # Configuration no longer has this destination: keep it queued, visibly.
            writer.add(item, DeliveryError("destination no longer configured"))
            continue
        if notifier.batches:
            groups[(item.notifier, item.destination)].append(item)
        else:
            singles.append((notifier, [item]))
    jobs = singles + [(notifiers[key[0]], items) for key, items in groups.items()]
    gate = asyncio.Semaphore(concurrency)

    async def one(notifier: Notifier, batch: list[_Claimed]) -> None:
        async with gate:
            started = time.perf_counter()
            error, status = await _send(notifier, batch)
            latency = round((time.perf_counter() - started) * 1000)
        attempt = _Attempt(status, latency) if notifier.logs_attempts else None
        for item in batch:
            writer.add(item, error, attempt)

    try:
        await asyncio.gather(*(one(notifier, batch) for notifier, batch in jobs))
    finally:
        # Cancelled (bounded wait) or not, what is known is recorded; the rest stays leased.
        run = await asyncio.shield(writer.close())
    return run


async def deliver_until_idle(
    db: Database, notifiers: Mapping[str, Notifier], *, max_wait: float = 30.0, only: Sequence[str] | None = None
) -> DeliveryRun:
    """Deliver what is due now, for at most ``max_wait`` seconds; the rest stays queued.
    ``only``: deliveries to these destinations only (the others are left to their worker)."""
    total = DeliveryRun()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait
    while loop.time() < deadline:
        try:
            run = await asyncio.wait_for(deliver_due(db, notifiers, only=only), timeout=max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            break  # claimed-but-unfinished deliveries are reclaimed after their lease
        total.add(run)
        if not (run.delivered or run.failed or run.dead or run.disabled):
            break
    return total


@dataclass(frozen=True, slots=True)
class Replay:
    queued: int  # new deliveries of past events
    skipped: int  # already delivered or queued to that destination
    filtered: int  # not for that destination (its kinds / events / watchlist filters)


def replay(
    db: Database,
    notifier: Notifier,
    *,
    since: datetime | None = None,
    resend: bool = False,
    notifier_key: str | None = None,
    event_id: str | None = None,
) -> Replay:
    """Queue every stored event made since ``since`` again for ``notifier``'s own destination
    (``cacwatch deliveries replay``, an endpoint's replay): a new endpoint catches up on the past,
    a repaired one gets what died. An event has one delivery per destination: one never made is
    added; a dead or disabled one is queued again (same row, same ``webhook-id``); a delivered one
    only with ``resend``; one queued or in flight is left alone. The body's ``id`` is the event's.
    ``notifier_key``: the notifier the delivery worker sends them with, when it is not
    ``notifier`` itself (a stored endpoint is sent by the endpoints' notifier). ``event_id``
    instead of ``since``: that one stored event only (a line of the delivery log).

    Raises DestinationDisabled when the destination answered 410: enable it first."""
    queued = skipped = filtered = 0
    with db.session() as session:
        repo = OutboxRepository(session)
        reason = repo.disabled_reason(notifier.destination)
        if reason is not None:
            raise DestinationDisabled(notifier.destination, reason)
        now = utcnow()
        if event_id is not None:
            events = repo.events_with_id(event_id)
        elif since is not None:
            events = repo.events_since(since)
        else:
            raise ValueError("replay needs since or event_id")
        states = repo.delivery_states(notifier.destination, [pk for pk, _ in events])
        for pk, payload in events:
            state = states.get(pk)
            if state in (DeliveryState.PENDING, DeliveryState.SENDING) or (state == DeliveryState.DELIVERED and not resend):
                skipped += 1
                continue
            if payload.get("type") == OPERATOR_ALERT:
                filtered += 1  # an incident's alert is news once, never replayed to an endpoint
                continue
            try:
                event = any_event_from_json(payload)
            except EventPayloadError:
                log.warning("outbox event %s is not an event this version reads; not replayed", pk)
                filtered += 1
                continue
            if not wants(notifier, event):
                filtered += 1
            elif state is None:
                repo.add_delivery(pk, notifier_key or notifier.destination, notifier.destination, not_before=now)
                queued += 1
            else:
                repo.requeue(pk, notifier.destination, now=now)
                queued += 1
    return Replay(queued, skipped, filtered)


class DestinationDisabled(Exception):
    """A destination that answered 410 Gone: nothing is queued for it until it is enabled."""

    def __init__(self, destination: str, reason: str) -> None:
        super().__init__(f"{destination} is disabled ({reason}): run `cacwatch deliveries enable --destination …` first")
        self.destination = destination
        self.reason = reason


def enable_destination(db: Database, destination: str) -> tuple[bool, int]:
    """Lift a 410 mark (``cacwatch deliveries enable``): (was disabled, deliveries queued again)."""
    with db.session() as session:
        return OutboxRepository(session).enable(destination, now=utcnow())


def retry_dead(db: Database, *, destination: str | None = None) -> tuple[int, list[str]]:
    """Put dead-lettered deliveries back in the queue (``cacwatch deliveries retry``): how many,
    and the disabled destinations (410) whose deliveries only ``enable_destination`` frees."""
    with db.session() as session:
        repo = OutboxRepository(session)
        count = repo.retry_dead(destination=destination, now=utcnow())
        disabled = sorted(d for d in repo.disabled_destinations() if destination in (None, d))
        return count, disabled


def delivery_counts(session: Session) -> dict[str, dict[str, int]]:
    """{destination: {state: count}} for status pages."""
    return OutboxRepository(session).delivery_counts()
