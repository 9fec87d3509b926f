"""Polls in a short-lived child process (service.poll_process, the default for `cacwatch run`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from bot.app.config import settings_from_mapping
from bot.ingest.isolated import poll_in_child
from bot.ingest.pipeline import FRONT_DOOR, REVALIDATE
from scrapers.replica.server import ReplicaServer
from service_helpers import async_wait_until, running_service, service_settings
from storage.db import Database
from storage.models import FilingList, ListVersion
from test_service import _events, _webhook, hide_batch
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
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver
) -> None:
    publish = hide_batch(replica)
    database_url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    settings = service_settings(
        replica, database_url, tmp_path / "data", interval="1s", service={"poll_process": True},
        notify=_webhook(receiver),
    )
    assert settings.service.poll_process and settings_from_mapping({}, env={}).service.poll_process
    async with running_service(settings) as service:
        assert await async_wait_until(lambda: len(_events(receiver)) == 1, timeout=60), "baseline not delivered"
        publish()
        assert await async_wait_until(lambda: len(_events(receiver)) >= 2, timeout=60)
        assert service.state.last_poll_ok
    events = _events(receiver)
    assert [e["type"] for e in events] == ["baseline.established", "list.published"]
    assert events[1]["data"]["list_month"] == "2023-08"
