"""The outbox: events and deliveries written with the data, delivered once, retried, dead-lettered."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.changes.event_schema import Event
from bot.delivery.notifiers.base import DeliveryError, Notifier
from bot.delivery.outbox import RETRY_DELAYS, deliver_due, deliver_until_idle, enqueue, new_event_id, retry_dead, utcnow
from storage.db import Database
from storage.models_outbox import Delivery, DeliveryState, DisabledDestination, OutboxEvent


class Recorder(Notifier):
    """A real notifier that records what it was given and fails as told."""

    kind = "test-recorder"

    def __init__(self, name: str = "rec", fail_with: DeliveryError | None = None, delay: float = 0) -> None:
        self.name = name
        self.fail_with = fail_with
        self.delay = delay
        self.sent: list[str] = []

    @property
    def destination(self) -> str:
        return f"test:{self.name}"

    async def deliver(self, event: Event, *, delivery_id: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(delivery_id)


class Batcher(Recorder):
    kind = "test-batcher"

    def __init__(self) -> None:
        super().__init__("batch")
        self.batches_seen: list[int] = []

    @property
    def batches(self) -> bool:
        return True

    async def deliver_batch(self, events, destination=None) -> None:  # type: ignore[no-untyped-def]
        self.batches_seen.append(len(events))
        self.sent.extend(delivery_id for _, delivery_id in events)


def _event() -> Event:
    # A whole (empty) list event: the outbox reads stored payloads back through event_from_json.
    return {
        "id": new_event_id(),
        "type": "list.published",
        "timestamp": "2026-05-06T08:01:02Z",
        "data": {
            "kind": "deep_synthesis", "list_month": "2026-05", "title": "", "name": "", "batch": None,
            "page_url": "", "attachment_url": "", "counts": {"new": 0, "changed": 0, "removed": 0},
            "new": [], "changed": [], "removed": [], "notable": [],
        },
    }


def _states(db: Database) -> Counter[str]:
    with db.session() as session:
        return Counter(session.scalars(select(Delivery.state)))


def _make_due(db: Database) -> None:
    """Time passes: every pending retry is due now."""
    with db.session() as session:
        session.execute(update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_enqueue_is_part_of_the_callers_transaction(database: Database) -> None:
    notifier = Recorder()
    with pytest.raises(RuntimeError):
        with database.session() as session:
            enqueue(session, _event(), [notifier])
            raise RuntimeError("crash before commit")
    with database.session() as session:
        assert session.query(OutboxEvent).count() == 0
        assert session.query(Delivery).count() == 0
    with database.session() as session:
        assert enqueue(session, _event(), [notifier, Recorder("other")]) == 2


async def test_delivered_once(database: Database) -> None:
    notifier = Recorder()
    with database.session() as session:
        enqueue(session, _event(), [notifier])
    run = await deliver_due(database, {notifier.destination: notifier})
    assert run.delivered == 1 and len(notifier.sent) == 1
    again = await deliver_due(database, {notifier.destination: notifier})
    assert again.delivered == 0 and len(notifier.sent) == 1
    assert _states(database) == {"delivered": 1}


async def test_retry_keeps_the_delivery_id(database: Database) -> None:
    notifier = Recorder(fail_with=DeliveryError("HTTP 503"))
    with database.session() as session:
        enqueue(session, _event(), [notifier])
    run = await deliver_due(database, {notifier.destination: notifier})
    assert run.failed == 1
    with database.session() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.state == "pending" and delivery.attempts == 1 and delivery.last_error == "HTTP 503"
        assert delivery.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None)
    assert (await deliver_due(database, {notifier.destination: notifier})).failed == 0  # not due yet

    notifier.fail_with = None
    _make_due(database)
    await deliver_due(database, {notifier.destination: notifier})
    first_id = notifier.sent[0]
    assert first_id.startswith("msg_")
    assert _states(database) == {"delivered": 1}


async def test_retry_after_is_honoured(database: Database) -> None:
    notifier = Recorder(fail_with=DeliveryError("429", retry_after=3600))
    with database.session() as session:
        enqueue(session, _event(), [notifier])
    await deliver_due(database, {notifier.destination: notifier})
    with database.session() as session:
        due = session.scalars(select(Delivery.next_attempt_at)).one()
    wait = due.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)


async def test_permanent_failure_dead_letters_and_can_be_retried(database: Database) -> None:
    notifier = Recorder(fail_with=DeliveryError("HTTP 400", retryable=False))
    with database.session() as session:
        enqueue(session, _event(), [notifier])
    run = await deliver_due(database, {notifier.destination: notifier})
    assert run.dead == 1 and _states(database) == {"dead": 1}
    notifier.fail_with = None
    assert retry_dead(database) == (1, [])
    await deliver_due(database, {notifier.destination: notifier})
    assert _states(database) == {"delivered": 1}


async def test_last_retry_dead_letters(database: Database) -> None:
    notifier = Recorder(fail_with=DeliveryError("down"))
    with database.session() as session:
        enqueue(session, _event(), [notifier])
    for _ in range(len(RETRY_DELAYS) + 1):
        _make_due(database)
        await deliver_due(database, {notifier.destination: notifier})
    assert _states(database) == {"dead": 1}


def test_retries_span_more_than_a_day() -> None:
    assert sum(RETRY_DELAYS) * 0.8 > 24 * 3600


async def test_gone_disables_the_destination(database: Database) -> None:
    notifier = Recorder(fail_with=DeliveryError("HTTP 410", retryable=False, disable=True))
    with database.session() as session:
        enqueue(session, _event(), [notifier])
    await deliver_due(database, {notifier.destination: notifier})
    assert _states(database) == {"disabled": 1}
    with database.session() as session:
        assert session.get(DisabledDestination, notifier.destination) is not None
        assert enqueue(session, _event(), [notifier]) == 0  # nothing more queued for it


async def test_crashed_worker_lease_expires_and_delivery_is_sent_once(database: Database) -> None:
    notifier = Recorder()
    with database.session() as session:
        enqueue(session, _event(), [notifier])
        # A worker claimed it and died: state sending, lease still running.
        session.flush()
        session.execute(
            update(Delivery).values(state=DeliveryState.SENDING, locked_by="dead-worker", locked_until=utcnow() + timedelta(seconds=60))
        )
    assert (await deliver_due(database, {notifier.destination: notifier})).delivered == 0
    with database.session() as session:
        session.execute(update(Delivery).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert (await deliver_due(database, {notifier.destination: notifier})).delivered == 1
    assert len(notifier.sent) == 1


async def test_batching_notifier_gets_one_call_per_destination(database: Database) -> None:
    notifier = Batcher()
    with database.session() as session:
        for _ in range(3):
            enqueue(session, _event(), [notifier])
    await deliver_due(database, {notifier.destination: notifier})
    assert notifier.batches_seen == [3]
    assert _states(database) == {"delivered": 3}


async def test_unknown_destination_stays_queued(database: Database) -> None:
    with database.session() as session:
        enqueue(session, _event(), [Recorder("removed-from-config")])
    run = await deliver_due(database, {})
    assert run.failed == 1 and _states(database) == {"pending": 1}


async def test_deliver_until_idle_is_bounded(database: Database) -> None:
    slow = Recorder("slow", delay=5)
    with database.session() as session:
        enqueue(session, _event(), [slow])
    loop = asyncio.get_running_loop()
    started = loop.time()
    await deliver_until_idle(database, {slow.destination: slow}, max_wait=0.5)
    assert loop.time() - started < 3
    assert slow.sent == []  # left queued (its lease expires and it is retried)


async def test_two_workers_never_send_one_delivery_twice(database: Database) -> None:
    """Several processes deliver side by side (SKIP LOCKED on PostgreSQL)."""
    notifiers = [Recorder(f"n{i}", delay=0.01) for i in range(4)]
    with database.session() as session:
        for _ in range(50):
            enqueue(session, _event(), notifiers)
    by_key = {n.destination: n for n in notifiers}

    async def worker(name: str) -> None:
        for _ in range(20):
            await deliver_due(database, by_key, worker=name, limit=25)

    await asyncio.gather(worker("a"), worker("b"))
    sent = [d for n in notifiers for d in n.sent]
    assert len(sent) == 200
    assert len(set(sent)) == 200
    assert _states(database) == {"delivered": 200}
