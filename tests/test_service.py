"""`cacwatch run`: the scheduler on the local replica, backoff while blocked, busy hours, SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from bot.settings.config import settings_from_mapping
from bot.app.service import PollSchedule, Service
from scrapers.replica.server import ReplicaServer
from service_helpers import (
    SECRET,
    async_wait_until,
    free_port,
    http_get,
    running_service,
    service_settings,
    spawn,
    wait_until,
    write_config,
)
from storage.db import Database
from storage.models import FilingList
from storage.models_outbox import Delivery, OutboxEvent
from webhook_receiver import Answer, Receiver


def _webhook(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    return {"webhooks": [{"url": receiver.base_url + "/hook", "secret": SECRET, "allow_private": True, "timeout": 3, **extra}]}


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    verifier = Webhook(SECRET)
    out = []
    for request in receiver.on("/hook"):
        headers = {k.lower(): v for k, v in request.headers.items()}
        out.append({"webhook_id": headers["webhook-id"], **verifier.verify(request.body, headers)})
    return out


CHANNEL_1 = "/wxzw/wxfb/A093702index_1.htm"
NOTICE_API = "/api/notice/list"
DS_BATCH_2_PAGE = "/2023-09/01/c_1695224377544009.htm"  # the 2023-08 deep-synthesis list


def hide_batch(replica: ReplicaServer, page: str = DS_BATCH_2_PAGE) -> Callable[[], None]:
    """Take an announcement off the channel and the notice API; returns "publish it" (as CAC does)."""
    channel = replica.read(CHANNEL_1)
    notices = replica.read(NOTICE_API)
    item = re.compile(r'<li><h5><a href="' + re.escape(page) + r'".*?</li>\n', re.S)
    replica.set_page(CHANNEL_1, item.sub("", channel.decode()))
    data = json.loads(notices)
    data["datas"] = [d for d in data["datas"] if page not in d["content"]]
    replica.add_route(NOTICE_API, json.dumps(data, ensure_ascii=False).encode(), "application/json")

    def publish() -> None:
        replica.set_page(CHANNEL_1, channel.decode())
        replica.add_route(NOTICE_API, notices, "application/json")

    return publish


def _poll_starts(service: Service) -> list[tuple[datetime, bool | None]]:
    return [(started, ok) for started, _finished, ok in service.state.history]


# --- the schedule -----------------------------------------------------------------------------------

BEIJING_WEDNESDAY_10H = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
BEIJING_WEDNESDAY_8H30 = datetime(2026, 11, 25, 0, 30, tzinfo=timezone.utc)
BEIJING_WEDNESDAY_18H59 = datetime(2026, 11, 25, 10, 59, tzinfo=timezone.utc)
BEIJING_WEDNESDAY_19H = datetime(2026, 11, 25, 11, 0, tzinfo=timezone.utc)
BEIJING_SATURDAY_10H = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


def _schedule(jitter: float = 0.0, **cac: Any) -> PollSchedule:
    settings = settings_from_mapping({"sources": {"cac": cac}, "service": {"backoff_max": "6h"}}, env={})
    return PollSchedule(settings.sources.cac, settings.service, random_fraction=lambda: jitter)


def test_busy_hours_poll_faster_in_beijing_office_hours() -> None:
    schedule = _schedule(interval="1h", busy_hours={"days": "mon-fri", "hours": "9-18", "interval": "10m"})
    assert schedule.busy(BEIJING_WEDNESDAY_10H) and schedule.gap(BEIJING_WEDNESDAY_10H) == 600
    assert schedule.busy(BEIJING_WEDNESDAY_18H59)
    assert not schedule.busy(BEIJING_WEDNESDAY_19H) and schedule.gap(BEIJING_WEDNESDAY_19H) == 3600
    assert not schedule.busy(BEIJING_SATURDAY_10H) and schedule.gap(BEIJING_SATURDAY_10H) == 3600
    # Half an hour before the window opens: the next poll is at 09:00 sharp, not at 09:30.
    assert schedule.gap(BEIJING_WEDNESDAY_8H30) == 1800
    assert _schedule(interval="1h").gap(BEIJING_WEDNESDAY_10H) == 3600  # no window configured


def test_backoff_doubles_while_failing_capped_and_jitter_only_shortens() -> None:
    schedule = _schedule(interval="1h")
    gaps = [schedule.gap(BEIJING_SATURDAY_10H, failures) for failures in range(6)]
    assert gaps == [3600, 3600, 7200, 14400, 21600, 21600]  # one glitch keeps the pace; cap 6h
    assert schedule.gap(BEIJING_SATURDAY_10H, 10_000) == 21600
    # An interval longer than backoff_max is never shortened by "backoff".
    assert _schedule(interval="12h").gap(BEIJING_SATURDAY_10H, 5) == 43200
    # Busy hours back off from the busy interval.
    busy = _schedule(interval="1h", busy_hours={"interval": "10m"})
    assert busy.gap(BEIJING_WEDNESDAY_10H, 3) == 2400
    # Jitter: at most 10 %, at most 5 minutes, never longer than the interval.
    assert _schedule(jitter=1.0, interval="1h").gap(BEIJING_SATURDAY_10H) == 3600 - 300
    assert _schedule(jitter=1.0, interval="10m").gap(BEIJING_SATURDAY_10H) == 540


def test_busy_hours_config_errors_name_the_key() -> None:
    from bot.settings.config import ConfigError

    with pytest.raises(ConfigError, match=r"busy_hours.*hours"):
        settings_from_mapping({"sources": {"cac": {"busy_hours": {"hours": "9-25"}}}}, env={})
    with pytest.raises(ConfigError, match=r"busy_hours.*timezone"):
        settings_from_mapping({"sources": {"cac": {"busy_hours": {"timezone": "Asia/Beijing"}}}}, env={})


# --- the scheduler on the replica ------------------------------------------------------------------


async def test_scheduler_polls_on_interval_and_a_new_list_arrives_within_it(
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver
) -> None:
    # SQLite here; the same scheduler on PostgreSQL, with three instances, is in test_leader.py.
    database_url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    publish = hide_batch(replica)  # the 2023-08 batch is not out yet
    settings = service_settings(replica, database_url, tmp_path / "data", interval="2s", notify=_webhook(receiver))
    async with running_service(settings) as service:
        assert await async_wait_until(lambda: len(_events(receiver)) == 1, timeout=20), "baseline not delivered"
        # The list appears on the site: the webhook follows within one interval plus a few seconds.
        publish()
        appeared = time.monotonic()
        assert await async_wait_until(lambda: len(_events(receiver)) >= 2, timeout=15)
        latency = time.monotonic() - appeared
        assert latency < 2 + 3, latency
        polls_before = service.state.polls
        await async_wait_until(lambda: service.state.polls >= polls_before + 2, timeout=10)
        starts = _poll_starts(service)
    events = _events(receiver)
    assert [e["type"] for e in events] == ["baseline.established", "list.published"]
    assert events[1]["data"]["list_month"] == "2023-08"
    assert len({e["webhook_id"] for e in events}) == len(events)  # each delivered once
    # Idle polls come about every interval (jitter only shortens it), never back to back.
    gaps = [(b[0] - a[0]).total_seconds() for a, b in zip(starts[1:], starts[2:])]
    assert gaps and all(1.0 <= gap <= 2.6 for gap in gaps), gaps
    assert all(ok for _, ok in starts)
    db = Database(database_url)
    with db.session() as session:
        states = session.scalars(select(Delivery.state)).all()
    db.dispose()
    assert states == ["delivered", "delivered"]


async def test_blocked_source_backs_off_changes_nothing_and_recovers(
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver
) -> None:
    replica.waf = True
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    settings = service_settings(
        replica, url, tmp_path / "data", interval="0.4s", service={"backoff_max": "1.2s"}, notify=_webhook(receiver)
    )
    async with running_service(settings) as service:
        assert await async_wait_until(lambda: service.state.polls >= 4, timeout=20)
        blocked = _poll_starts(service)
        with service.db.session() as session:
            assert session.scalar(select(FilingList.id)) is None  # nothing stored
            assert session.scalar(select(OutboxEvent.id)) is None  # nothing queued
        replica.waf = False
        polls = service.state.polls
        assert await async_wait_until(lambda: service.state.polls >= polls + 3, timeout=20)
        recovered = _poll_starts(service)
    assert blocked[:4] and not any(ok for _, ok in blocked[:4])
    gaps = [(b[0] - a[0]).total_seconds() for a, b in zip(blocked, blocked[1:4])]
    # 0.4 s after one failure (a glitch keeps the pace), then 0.8, then 1.2 (capped); jitter ≤ 10 %.
    assert 0.35 <= gaps[0] < 0.6 and 0.7 <= gaps[1] < 1.0 and 1.05 <= gaps[2] < 1.4, gaps
    oks = [started for started, ok in recovered if ok]
    assert len(oks) >= 2
    assert (oks[-1] - oks[-2]).total_seconds() < 0.9  # back to the normal pace
    assert [e["type"] for e in _events(receiver)] == ["baseline.established"]


# --- a real `cacwatch run` and signals --------------------------------------------------------------


def test_sigterm_mid_work_finishes_the_delivery_attempt_and_exits_0(
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    port = free_port()
    settings = service_settings(
        replica, url, tmp_path / "data", interval="1h", service={"health_port": port, "log_format": "json"},
        notify=_webhook(receiver),
    )
    config = write_config(tmp_path / "config.yaml", settings)

    # 1. SIGTERM while the first poll is running: out at once, exit 0, nothing half-stored.
    with spawn(config, tmp_path / "run1.log") as process:
        assert wait_until(lambda: http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200, timeout=20), process.output()
        process.signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, process.output()
    assert '"stopping (SIGTERM)' in process.output()
    connection = sqlite3.connect(tmp_path / "cacwatch.db")
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()

    # 2. SIGTERM while a webhook is in flight (the receiver hangs): the attempt is finished
    #    (it times out after 3 s and is recorded for a retry), never left half-claimed.
    receiver.answers["/hook"] = Answer(hang=True)
    with spawn(config, tmp_path / "run2.log") as process:
        assert wait_until(lambda: receiver.on("/hook"), timeout=30), process.output()
        process.signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, process.output()
    db = Database(url)
    with db.session() as session:
        delivery = session.scalars(select(Delivery)).one()
    db.dispose()
    assert delivery.state == "pending" and delivery.attempts == 1 and delivery.locked_by is None
    assert delivery.last_error

    # 3. SIGINT when idle: the same clean exit.
    receiver.answers["/hook"] = Answer()
    with spawn(config, tmp_path / "run3.log") as process:
        assert wait_until(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=30), process.output()
        process.signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, process.output()
