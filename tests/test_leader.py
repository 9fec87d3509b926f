"""Several `cacwatch run` processes: one scheduler on PostgreSQL (advisory lock), takeover after
SIGKILL, every event delivered once; on SQLite a second instance refuses to start."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from bot.app.leader import InstanceLock, current_leader, lock_key
from bot.app.service import EXIT_ALREADY_RUNNING
from scrapers.replica.server import ReplicaServer
from service_helpers import SECRET, Process, free_port, http_get, service_settings, spawn, wait_until, write_config
from storage.db import Database
from storage.models_outbox import Delivery, OutboxEvent
from test_service import hide_batch
from conftest import fresh_postgres_schema
from webhook_receiver import Receiver


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (its own advisory-lock key), dropped afterwards."""
    with fresh_postgres_schema() as url:
        yield url


def _role(port: int) -> str | None:
    status, body = http_get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    if status != 200:
        return None
    return body.split()[-1]  # "ok host:pid leader|follower"


def _webhook_ids(receiver: Receiver) -> list[str]:
    verifier = Webhook(SECRET)
    ids = []
    for request in receiver.on("/hook"):
        headers = {k.lower(): v for k, v in request.headers.items()}
        verifier.verify(request.body, headers)
        ids.append(headers["webhook-id"])
    return ids


def _states(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(sa.select(Delivery.state).order_by(Delivery.id)))


def test_lock_key_differs_per_schema() -> None:
    assert lock_key("test", "a") != lock_key("test", "b")
    assert -(2**63) <= lock_key("test", "a") < 2**63


@pytest.mark.postgres
def test_three_instances_one_scheduler_takeover_after_sigkill_every_event_once(
    replica: ReplicaServer, pg_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    publish = hide_batch(replica)
    ports = [free_port() for _ in range(3)]
    notify = {"webhooks": [{"url": receiver.base_url + "/hook", "secret": SECRET, "allow_private": True, "timeout": 3}]}
    configs = []
    for index, port in enumerate(ports):
        settings = service_settings(
            replica, pg_url, tmp_path / "data", interval="1s",
            service={"health_port": port, "leader_retry": "0.5s"}, notify=notify,
        )
        configs.append(write_config(tmp_path / f"config{index}.yaml", settings))
    # Migrate once up front: three processes creating the schema at the same moment would race.
    Database(pg_url).migrate()

    with ExitStack() as stack:
        processes: list[Process] = [
            stack.enter_context(spawn(config, tmp_path / f"run{index}.log")) for index, config in enumerate(configs)
        ]

        def roles() -> list[str | None]:
            return [_role(port) if process.popen.poll() is None else "exited" for port, process in zip(ports, processes)]

        assert wait_until(lambda: all(roles()), timeout=30), [p.output() for p in processes]
        assert wait_until(lambda: roles().count("leader") == 1, timeout=10), roles()
        first = roles().index("leader")
        db = Database(pg_url)
        try:
            leader_name = current_leader(db)
            assert leader_name and str(processes[first].pid) in leader_name
            # The baseline, delivered once (the other instances deliver too: SKIP LOCKED).
            assert wait_until(lambda: len(_webhook_ids(receiver)) == 1, timeout=30), [p.output() for p in processes]
            # Killed only once that delivery is recorded: a kill between the receiver's answer and
            # the commit would (rightly) send it again after the lease, with the same webhook-id.
            assert wait_until(lambda: _states(db) == ["delivered"], timeout=10), _states(db)

            processes[first].popen.send_signal(signal.SIGKILL)
            processes[first].popen.wait(timeout=10)
            # Another instance holds the scheduler within seconds (its lock attempts every 0.5 s).
            assert wait_until(
                lambda: [r for i, r in enumerate(roles()) if i != first].count("leader") == 1, timeout=8
            ), roles()
            second = roles().index("leader")
            assert second != first
            leader_name = current_leader(db)
            assert leader_name and str(processes[second].pid) in leader_name

            # The new leader polls: a new list is found and delivered, once.
            publish()
            assert wait_until(lambda: len(_webhook_ids(receiver)) >= 2, timeout=30), [p.output() for p in processes]
            assert wait_until(lambda: _states(db) == ["delivered", "delivered"], timeout=10), _states(db)
            wait_until(lambda: False, timeout=1.0)  # a duplicate would arrive within this
            with db.session() as session:
                events = session.scalars(sa.select(OutboxEvent.type).order_by(OutboxEvent.id)).all()
            states = _states(db)
        finally:
            db.dispose()
        for index, process in enumerate(processes):
            if index != first:
                process.signal(signal.SIGTERM)
        for index, process in enumerate(processes):
            if index != first:
                assert process.wait(timeout=30) == 0, process.output()
    ids = _webhook_ids(receiver)
    assert events == ["baseline.established", "list.published"]
    assert states == ["delivered", "delivered"]
    assert len(ids) == len(set(ids)) == 2
    db = Database(pg_url)
    assert current_leader(db) is None  # nobody holds the lock any more
    db.dispose()


def test_sqlite_second_instance_refuses_to_start(replica: ReplicaServer, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    port = free_port()
    settings = service_settings(replica, url, tmp_path / "data", interval="1h", service={"health_port": port})
    config = write_config(tmp_path / "config.yaml", settings)
    with spawn(config, tmp_path / "first.log") as first:
        assert wait_until(lambda: http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200, timeout=20), first.output()
        with spawn(config, tmp_path / "second.log") as second:
            assert second.wait(timeout=20) == EXIT_ALREADY_RUNNING
            message = second.output()
        assert "another `cacwatch run` is already using this SQLite database" in message
        assert f"{first.pid}" in message  # who holds it
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200  # the first one is untouched
        db = Database(url)
        assert str(first.pid) in (current_leader(db) or "")
        db.dispose()
        first.signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
    assert InstanceLock.holder(tmp_path / "cacwatch.db.lock") is None  # released with the process
