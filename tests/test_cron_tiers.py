"""Cron is a first-class way to run cacwatch: ``check --once`` keeps the service's tiers.

The front door on every run; every known list re-checked only when ``revalidate_interval``
has passed since the last re-check — whoever made it (a cron run, ``cacwatch run``), since the
time is stored in the database. Requests are counted at the replica. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.app.cli import app
from scrapers.replica.server import ReplicaServer
from service_helpers import async_wait_until, running_service, service_settings, write_config
from storage.db import Database
from storage.models import Source
from storage.service_repo import ServiceRepository

runner = CliRunner()
REVALIDATE_EVERY = "1h"


def _downloads(replica: ReplicaServer) -> int:
    return sum("downloadfile.jsp" in r.path for r in replica.requests)


def _cron(config: Path, *args: str) -> str:
    result = runner.invoke(app, ["--config", str(config), "check", "--once", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _age_the_last_recheck(url: str) -> None:
    """What an hour passing does to the stored stamp (instead of waiting for it)."""
    db = Database(url, create=False)
    try:
        with db.session() as session:
            source = session.query(Source).filter_by(name="cac").one()
            source.last_revalidated_at = source.last_revalidated_at - timedelta(hours=1, minutes=1)
    finally:
        db.dispose()


def _last_revalidated(url: str) -> datetime | None:
    db = Database(url, create=False)
    try:
        with db.session() as session:
            return ServiceRepository(session).last_revalidated_at("cac")
    finally:
        db.dispose()


async def _one_service_poll(settings: Any) -> None:
    async with running_service(settings) as service:
        await async_wait_until(lambda: service.state.polls >= 1, timeout=60)


def test_cron_keeps_the_tiers_mixed_with_the_service(tmp_path: Path, replica: ReplicaServer, database_url: str) -> None:
    # One configuration for both (cron's interval is cron's own; the service's equals the re-check period here).
    interval = REVALIDATE_EVERY
    settings = service_settings(replica, database_url, tmp_path / "data", interval=interval, cac={"revalidate_interval": interval})
    config = write_config(tmp_path / "config.yaml", settings)

    first = _cron(config)  # nothing known: everything read
    assert "9 new" in first and "front door" not in first
    full_downloads = _downloads(replica)
    assert full_downloads >= 9
    revalidated = _last_revalidated(database_url)
    assert revalidated is not None

    # Idle cron runs: the front door only, ≤ 5 requests each, the re-check time untouched.
    for _ in range(2):
        replica.reset_log()
        idle = _cron(config)
        assert "0 new" in idle and "(front door: new lists only)" in idle
        assert len(replica.requests) <= 5, [r.path for r in replica.requests]
        assert _downloads(replica) == 0
    assert _last_revalidated(database_url) == revalidated

    # The service, started now, agrees the re-check is not due: its poll is a front door too.
    replica.reset_log()
    asyncio.run(_one_service_poll(settings))
    assert _downloads(replica) == 0 and 0 < len(replica.requests) <= 5
    assert _last_revalidated(database_url) == revalidated

    # Once the period has passed, the service's poll re-checks every list …
    _age_the_last_recheck(database_url)
    revalidated = _last_revalidated(database_url)
    assert revalidated is not None
    replica.reset_log()
    asyncio.run(_one_service_poll(settings))
    assert _downloads(replica) >= full_downloads  # conditional GETs of every known list
    by_service = _last_revalidated(database_url)
    assert by_service is not None and by_service > revalidated
    # … and cron, right after, knows it: front door only.
    replica.reset_log()
    assert "(front door: new lists only)" in _cron(config)
    assert _downloads(replica) == 0 and len(replica.requests) <= 5
    assert _last_revalidated(database_url) == by_service

    # Due again: cron re-checks; --full re-checks whenever asked.
    _age_the_last_recheck(database_url)
    by_service = _last_revalidated(database_url)
    assert by_service is not None
    replica.reset_log()
    assert "front door" not in _cron(config)
    assert _downloads(replica) >= full_downloads
    by_cron = _last_revalidated(database_url)
    assert by_cron is not None and by_cron > by_service
    replica.reset_log()
    assert "front door" not in _cron(config, "--full")
    assert _downloads(replica) >= full_downloads


def test_revalidate_interval_zero_makes_every_cron_run_a_full_check(tmp_path: Path, replica: ReplicaServer) -> None:
    settings = service_settings(replica, f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "data", cac={"revalidate_interval": 0})
    config = write_config(tmp_path / "config.yaml", settings)
    _cron(config)
    replica.reset_log()
    assert "front door" not in _cron(config)
    assert _downloads(replica) >= 9
