"""A `cacwatch check --once` killed with SIGKILL mid-poll or mid-delivery: the next run finishes
the work, nothing is lost, invented or sent twice (beyond a resend with the same webhook-id)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from standardwebhooks import Webhook

from conftest import WEBHOOK_SECRET
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.models import ListVersion
from storage.models_outbox import Delivery
from test_pipeline import _expected, _field_mismatches
from webhook_receiver import Answer, Receiver

SECRET = WEBHOOK_SECRET


@pytest.fixture
def config(webhook_config: Path) -> Path:
    return webhook_config


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "check", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )


def _wait_until(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _count(db: Database, query: Any) -> int:
    with db.session() as session:
        return session.scalar(query) or 0


def _stored_versions(db: Database) -> int:
    try:
        return _count(db, select(func.count(ListVersion.id)))
    except DBAPIError:  # the child has not created the tables yet
        return 0


def _export(db: Database) -> dict:
    from storage.repo import Repository, filing_record

    with db.session() as session:
        return {(f.kind, f.filing_number): filing_record(f) for f in Repository(session).filings()}


def _verified_ids(receiver: Receiver) -> list[str]:
    verifier = Webhook(SECRET)
    ids = []
    for request in receiver.on("/hook"):
        headers = {k.lower(): v for k, v in request.headers.items()}
        payload = verifier.verify(request.body, headers)
        assert payload["type"] == "baseline.established"
        ids.append(headers["webhook-id"])
    return ids


def test_sigkill_mid_poll_then_next_run_finishes(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    replica.delay = 0.25  # a slow site: the poll is still storing lists when it is killed
    db = Database(database_url)
    process = _start(config)
    try:
        _wait_until(lambda: _stored_versions(db) >= 2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    stored = _count(db, select(func.count(ListVersion.id)))
    assert 2 <= stored < 9  # killed mid-poll
    assert receiver.received == []

    replica.delay = 0
    second = _start(config)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert _field_mismatches(_expected(), _export(db)) == []
    assert _count(db, select(func.count(ListVersion.id))) == 9  # no list stored twice
    assert len(_verified_ids(receiver)) == 1  # the first successful poll: one baseline, nothing else
    db.dispose()


def test_sigkill_mid_delivery_resends_with_the_same_id(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    receiver.answers["/hook"] = Answer(hang=True)  # the receiver takes the request, never answers
    process = _start(config)
    try:
        _wait_until(lambda: len(receiver.on("/hook")) >= 1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    db = Database(database_url)
    assert _field_mismatches(_expected(), _export(db)) == []  # the ingest had committed

    receiver.answers["/hook"] = Answer(status=200)
    with db.session() as session:  # the dead worker's lease runs out
        session.execute(update(Delivery).values(locked_until=Delivery.created_at))
    second = _start(config)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    ids = _verified_ids(receiver)
    assert len(ids) == 2 and len(set(ids)) == 1  # one event, resent once under its webhook-id
    with db.session() as session:
        states = list(session.scalars(select(Delivery.state)))
    assert states == ["delivered"]

    third = _start(config)  # and nothing more afterwards
    third.communicate(timeout=120)
    assert len(receiver.on("/hook")) == 2
    db.dispose()
