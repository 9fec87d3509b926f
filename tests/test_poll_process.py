"""Polls with service.poll_process (the default for `cacwatch run`): the service looks at the
site itself and hands the rest of a poll to a short-lived child process only when there is
something to fetch (and for revalidations)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from bot.settings.config import settings_from_mapping
from bot.ingest import isolated
from bot.ingest.isolated import poll_in_child, poll_looking_first, release_memory
from bot.ingest.pipeline import FRONT_DOOR, REVALIDATE, Look, PollReport, configured_sources, look_first, poll_source
from scrapers.replica.server import ReplicaServer
from service_helpers import async_wait_until, running_service, service_settings
from storage.db import Database
from storage.models import FilingList, ListVersion, Poll, Source
from storage.repo import Repository
from test_service import CHANNEL_1, DS_BATCH_2_PAGE, _events, _webhook, hide_batch
from webhook_receiver import Receiver


def _poll_children() -> list[int]:
    """Our own ``python -m bot.ingest.isolated`` children still alive."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"bot.ingest.isolated" in command:
            found.append(int(entry))
    return found


@pytest.fixture
def settings(replica: ReplicaServer, database_url: str, tmp_path: Path) -> Any:
    settings = service_settings(replica, database_url, tmp_path / "data", service={"poll_process": True})
    db = Database(database_url)
    db.migrate()
    db.dispose()
    return settings


async def test_a_poll_in_a_child_stores_everything_and_reports(settings: Any, database_url: str) -> None:
    first = await poll_in_child(settings, REVALIDATE)
    assert first.report.ok and len(first.report.new_lists) == 9 and first.report.first_run
    assert first.events == 1  # baseline.established
    again = await poll_in_child(settings, FRONT_DOOR)
    assert again.report.ok and again.report.tier == FRONT_DOOR and again.report.lists_checked == 0
    assert again.events == 0
    db = Database(database_url)
    with db.session() as session:
        assert session.query(FilingList).filter(FilingList.current_version_id.isnot(None)).count() == 9
    db.dispose()
    assert _poll_children() == []


async def test_a_cancelled_poll_kills_its_child_and_leaves_whole_lists(
    settings: Any, replica: ReplicaServer, database_url: str
) -> None:
    replica.delay = 0.2  # slow enough to cancel in the middle
    task = asyncio.create_task(poll_in_child(settings, REVALIDATE))
    assert await async_wait_until(lambda: any("downloadfile" in r.path for r in replica.requests), timeout=30)
    assert _poll_children()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _poll_children() == []
    db = Database(database_url)
    with db.session() as session:
        # Each list is one transaction: stored whole (a version with its rows) or not at all.
        for filing_list in session.query(FilingList):
            assert filing_list.current_version_id is not None
            assert session.get(ListVersion, filing_list.current_version_id).row_count > 0
    db.dispose()
    replica.delay = 0
    finished = await poll_in_child(settings, REVALIDATE)  # the next poll completes the ingest
    assert finished.report.ok
    with Database(database_url).session() as session:
        assert session.query(FilingList).count() == 9


async def test_the_service_announces_a_new_list_through_child_polls(
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver, children: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.service")
    publish = hide_batch(replica)
    database_url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    settings = service_settings(
        replica, database_url, tmp_path / "data", interval="1s", service={"poll_process": True},
        notify=_webhook(receiver),
    )
    assert settings.service.poll_process and settings_from_mapping({}, env={}).service.poll_process
    async with running_service(settings) as service:
        assert await async_wait_until(lambda: len(_events(receiver)) == 1, timeout=60), "baseline not delivered"
        # The baseline's event may be delivered before its poll ends: count polls, not events.
        assert await async_wait_until(lambda: service.state.polls >= 3, timeout=60)
        assert children == [(REVALIDATE, ["cac"])]  # the baseline only: idle polls start no child
        publish()
        assert await async_wait_until(lambda: len(_events(receiver)) >= 2, timeout=60)
        assert service.state.last_poll_ok
        assert children[-1] == (FRONT_DOOR, ["cac"]) and len(children) == 2
    logged = [r for r in caplog.records if r.getMessage().startswith("poll:")]
    # The baseline and two idle polls; the one that found the list may still be finishing
    # (its event is delivered from the outbox before the child ends) when the test stops.
    assert len(logged) >= 3
    # Each poll's time from when it was due to its report: never less than the poll itself.
    assert all(r.since_due_s >= r.duration_s - 0.002 for r in logged)  # type: ignore[attr-defined]
    events = _events(receiver)
    assert [e["type"] for e in events] == ["baseline.established", "list.published"]
    assert events[1]["data"]["list_month"] == "2023-08"


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str] | None]]:
    """Every poll child started through ``poll_looking_first``: (tier, the sources handed over)."""
    started: list[tuple[str, list[str] | None]] = []
    real = isolated.poll_in_child

    async def counted(settings: Any, tier: str, looks: Any = None) -> Any:
        started.append((tier, None if looks is None else sorted(looks)))
        return await real(settings, tier, looks)

    monkeypatch.setattr(isolated, "poll_in_child", counted)
    return started


def _db(database_url: str) -> Database:
    return Database(database_url)


async def test_an_idle_front_door_is_looked_at_and_recorded_in_the_service_alone(
    settings: Any, database_url: str, replica: ReplicaServer, children: list[Any]
) -> None:
    db = _db(database_url)
    first = await poll_looking_first(settings, db, FRONT_DOOR)  # a first poll: a revalidation, in a child
    assert first.report.ok and first.report.tier == REVALIDATE and first.events == 1
    assert children == [(FRONT_DOOR, ["cac"])]

    replica.reset_log()
    idle = await poll_looking_first(settings, db, FRONT_DOOR)
    assert children == [(FRONT_DOOR, ["cac"])]  # no child for a poll with nothing to fetch
    assert idle.report.ok and idle.report.tier == FRONT_DOOR and idle.events == 0
    assert idle.report.lists_checked == 0 and idle.report.requests == len(replica.requests) > 0
    assert not any("downloadfile" in r.path for r in replica.requests)
    with db.session() as session:  # recorded like any front-door poll
        last = session.query(Poll).order_by(Poll.id.desc()).first()
        assert last is not None and last.ok and last.requests == idle.report.requests and last.lists_seen == 0
        source = session.query(Source).filter_by(name="cac").one()
        assert source.last_front_door_at is not None and source.last_front_door_at > source.last_revalidated_at

    revalidation = await poll_looking_first(settings, db, REVALIDATE)
    assert revalidation.report.ok and revalidation.report.lists_checked == 9 and revalidation.report.lists_unchanged == 9
    assert children[-1] == (REVALIDATE, ["cac"])  # every attachment re-checked: in a child
    db.dispose()


async def test_a_new_list_is_fetched_by_a_child_that_does_not_ask_for_the_pages_again(
    settings: Any, database_url: str, replica: ReplicaServer, children: list[Any]
) -> None:
    publish = hide_batch(replica)
    db = _db(database_url)
    assert (await poll_looking_first(settings, db, REVALIDATE)).report.ok
    publish()
    replica.reset_log()
    found = await poll_looking_first(settings, db, FRONT_DOOR)
    assert children[-1] == (FRONT_DOOR, ["cac"])
    report = found.report
    assert report.ok and report.tier == FRONT_DOOR and found.events == 1
    assert [r.ref.list_month for r in report.new_lists] == ["2023-08"]
    paths = [r.path for r in replica.requests]
    assert len(paths) == len(set(paths)), "a page asked for twice: the child must use the look"
    assert sum(CHANNEL_1 in p for p in paths) == 1 and sum("downloadfile" in p for p in paths) == 1
    assert report.requests == len(replica.requests)  # the look's requests and the child's
    with db.session() as session:
        validators = Repository(session).all_validators()
        # The new announcement page's validators came back from the look through the child.
        assert any(url.endswith(DS_BATCH_2_PAGE) for url in validators)
        assert session.query(FilingList).filter(FilingList.current_version_id.isnot(None)).count() == 9
    db.dispose()


async def test_min_delay_holds_across_the_hand_off(
    replica: ReplicaServer, database_url: str, tmp_path: Path
) -> None:
    publish = hide_batch(replica)
    settings = service_settings(replica, database_url, tmp_path / "data", cac={"min_delay": "0.3s"})
    db = _db(database_url)
    db.migrate()
    source = configured_sources(settings)[0]
    assert (await poll_source(source, settings, db, tier=REVALIDATE)).ok
    publish()
    replica.reset_log()
    look = await look_first(source, settings, db, tier=FRONT_DOOR)
    assert isinstance(look, Look) and look.requests == len(replica.requests)
    # Finished at once, in this process: the new fetcher must still wait for min_delay.
    report = await poll_source(source, settings, db, tier=FRONT_DOOR, look=look)
    assert report.ok and len(report.new_lists) == 1
    starts = sorted(r.started for r in replica.requests)
    # Measured on the server, so allow for scheduling noise on a loaded machine.
    assert all(b - a >= 0.25 for a, b in zip(starts, starts[1:]))
    db.dispose()


async def test_a_look_at_a_failing_site_is_a_failed_poll_recorded_in_the_service(
    settings: Any, database_url: str, replica: ReplicaServer, children: list[Any]
) -> None:
    db = _db(database_url)
    assert (await poll_looking_first(settings, db, REVALIDATE)).report.ok
    replica.fail_status = 503
    failed = await poll_looking_first(settings, db, FRONT_DOOR)
    assert not failed.report.ok and failed.report.failures[0].cause == "HTTP error"
    assert len(children) == 1  # nothing to fetch from a failing site: no child
    with db.session() as session:
        source = session.query(Source).filter_by(name="cac").one()
        assert source.consecutive_failures == 1
    db.dispose()


async def test_looks_leave_no_parsed_page_behind(settings: Any, database_url: str) -> None:
    db = _db(database_url)
    assert (await poll_looking_first(settings, db, REVALIDATE)).report.ok
    for _ in range(3):
        idle = await poll_looking_first(settings, db, FRONT_DOOR)
        assert isinstance(idle.report, PollReport) and idle.report.ok
        release_memory()
        # Parsed pages are reference cycles: without the collection they pile up poll by poll.
        assert not [o for o in gc.get_objects() if isinstance(o, BeautifulSoup)]
    db.dispose()
