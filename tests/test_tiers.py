"""Polling tiers through the real replica: the front door finds new lists without
re-checking known attachments; revalidation finds in-place re-issues; status shows both.

Runs on SQLite and PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from bot.settings.config import settings_from_mapping
from bot.app.scheduling import PollSchedule
from bot.ingest.pipeline import FRONT_DOOR, REVALIDATE, check_once
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.models import FilingList, Source
from storage.service_repo import ServiceRepository
from test_pipeline import DS_2023_08, REC_2022_10, _reissue

BATCH2_PAGE = "/2023-09/01/c_1695224377544009.htm"  # carries the 2023-08 deep-synthesis list (DS_2023_08)


@pytest.fixture
def settings(replica: ReplicaServer, database_url: str, make_settings: Any) -> Any:
    return make_settings(replica, database_url)


@pytest.fixture
def db(settings: Any) -> Any:
    database = Database(settings.database.url)
    database.migrate()
    yield database
    database.dispose()


def _downloads(replica: ReplicaServer) -> list[Any]:
    return [r for r in replica.requests if "downloadfile.jsp" in r.path]


def _tier_times(db: Database) -> tuple[datetime | None, datetime | None]:
    with db.session() as session:
        source = session.query(Source).filter_by(name="cac").one()
        return source.last_front_door_at, source.last_revalidated_at


async def test_front_door_fetches_only_the_new_list(settings: Any, db: Database, replica: ReplicaServer) -> None:
    publish = replica.withhold(BATCH2_PAGE)  # the 2023-08 batch is not out yet
    # Asked for the front door, the first poll still reads everything (nothing is known).
    first = await check_once(settings, db, tier=FRONT_DOOR)
    assert first.ok and first.tier == REVALIDATE and len(first.new_lists) == 8

    replica.reset_log()
    idle = await check_once(settings, db, tier=FRONT_DOOR)
    assert idle.ok and idle.tier == FRONT_DOOR and idle.lists_checked == 0
    assert _downloads(replica) == []  # no attachment touched, not even conditionally
    assert idle.requests <= 6  # channel page 1, two in-place pages, the notice API (+ nothing else)

    publish()
    replica.reset_log()
    found = await check_once(settings, db, tier=FRONT_DOOR)
    assert found.ok and found.tier == FRONT_DOOR
    assert [r.ref.list_month for r in found.new_lists] == ["2023-08"]
    downloads = _downloads(replica)
    assert len(downloads) == 1 and "TzOJPaVXUHMAhO249hx0J" in downloads[0].path  # DS_2023_08's filepath
    assert downloads[0].status == 200
    with db.session() as session:
        assert session.query(FilingList).count() == 9


async def test_front_door_retries_a_new_list_whose_fetch_failed(
    settings: Any, db: Database, replica: ReplicaServer
) -> None:
    publish = replica.withhold(BATCH2_PAGE)
    assert (await check_once(settings, db)).ok
    original = replica.read(DS_2023_08)
    replica.replace_file(DS_2023_08, b"not a list at all")
    publish()
    broken = await check_once(settings, db, tier=FRONT_DOOR)
    assert not broken.ok and broken.failures[0].cause == "unparseable list"
    # The list is stored without content now; the next front door must try it again.
    replica.replace_file(DS_2023_08, original)
    fixed = await check_once(settings, db, tier=FRONT_DOOR)
    assert fixed.ok and [r.ref.list_month for r in fixed.new_lists] == ["2023-08"]


async def test_revalidation_finds_an_in_place_reissue_the_front_door_leaves(
    settings: Any, db: Database, replica: ReplicaServer
) -> None:
    assert (await check_once(settings, db)).ok
    _reissue(replica, REC_2022_10, {"网信算备110108224236601220017号": {"备注": "已注销"}})

    replica.reset_log()
    front = await check_once(settings, db, tier=FRONT_DOOR)
    assert front.ok and front.revised_lists == [] and _downloads(replica) == []

    replica.reset_log()
    full = await check_once(settings, db, tier=REVALIDATE)
    assert full.ok and full.tier == REVALIDATE
    assert [r.ref.list_month for r in full.revised_lists] == ["2022-10"]
    downloads = _downloads(replica)
    assert len(downloads) == 9 and sum(d.status == 200 for d in downloads) == 1  # the rest answer 304


async def test_each_tier_records_when_it_last_ran(settings: Any, db: Database) -> None:
    assert (await check_once(settings, db)).ok
    front_1, revalidated_1 = _tier_times(db)
    assert front_1 is not None and revalidated_1 == front_1
    assert (await check_once(settings, db, tier=FRONT_DOOR)).ok
    front_2, revalidated_2 = _tier_times(db)
    assert front_2 is not None and front_2 > front_1 and revalidated_2 == revalidated_1
    with db.session() as session:
        assert ServiceRepository(session).last_revalidated_at("cac") is not None


def test_status_shows_both_tiers(settings: Any, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(config), "migrate"]).exit_code == 0  # status never makes a store
    before = runner.invoke(app, ["--config", str(config), "status"], env={"COLUMNS": "250"})
    assert "front door" in before.output and "revalidated" in before.output
    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code == 0
    db = Database(settings.database.url)
    try:
        with db.session() as session:
            # As if the last revalidation were three hours old and the front door just ran.
            source = session.query(Source).filter_by(name="cac").one()
            source.last_revalidated_at = datetime.now(timezone.utc) - timedelta(hours=3)
    finally:
        db.dispose()
    result = runner.invoke(app, ["--config", str(config), "status"], env={"COLUMNS": "250"})
    assert result.exit_code in (0, 1), result.output  # 1: "not ready" is an answer too
    row = next(line for line in result.output.splitlines() if " cac " in line)
    assert "180m ago" in row or "3h ago" in row, result.output  # revalidated
    assert "s ago" in row  # the front door ran seconds ago


def _schedule(jitter: float, **cac: Any) -> PollSchedule:
    settings = settings_from_mapping({"sources": {"cac": cac}}, env={})
    return PollSchedule(settings.sources.cac, settings.service, random_fraction=lambda: jitter)


def test_revalidation_is_due_after_its_interval_jittered_earlier_only() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    schedule = _schedule(0.0, interval="5m", revalidate_interval="12h")
    assert schedule.revalidation_due(now, None)  # never revalidated
    assert not schedule.revalidation_due(now, now - timedelta(hours=11, minutes=59))
    assert schedule.revalidation_due(now, now - timedelta(hours=12))
    jittered = _schedule(1.0, interval="5m", revalidate_interval="12h")  # at most 5 min earlier
    assert jittered.revalidation_due(now, now - timedelta(hours=11, minutes=55))
    assert not jittered.revalidation_due(now, now - timedelta(hours=11, minutes=54))
    # A revalidation period shorter than the front door's is the front door's.
    short = _schedule(0.0, interval="1h", revalidate_interval="10m")
    assert not short.revalidation_due(now, now - timedelta(minutes=30))


def test_default_tiers_are_fresh_and_light() -> None:
    cac = settings_from_mapping({}, env={}).sources.cac
    assert cac.interval <= 600  # a new list within 10 minutes
    # Idle: 4 front-door requests per poll, plus a conditional GET per known list per revalidation
    # (34 lists, the size of the real site today).
    per_hour = 4 * 3600 / cac.interval + (4 + 34) * 3600 / cac.revalidate_interval
    assert per_hour <= 60
