"""SIGHUP (``systemctl reload cacwatch``): the running service reads its watchlist and
destinations again — a webhook added to config.yaml gets the next list — and a broken
configuration changes nothing. Also: the warning at start when no operator alert destination
is configured."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from bot.settings.config import load_settings
from bot.app.service import Service
from scrapers.replica.server import ReplicaServer
from service_helpers import async_wait_until, service_settings, write_config
from storage.db import Database
from webhook_receiver import Receiver

BATCH2_PAGE = "/2023-09/01/c_1695224377544009.htm"  # the 2023-08 deep-synthesis list, published mid-test
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _published(receiver: Receiver) -> list[dict[str, Any]]:
    events = [json.loads(r.body) for r in receiver.received if r.path == "/hook"]
    return [e for e in events if e["type"] == "list.published"]


async def test_sighup_reads_destinations_again_and_a_broken_config_changes_nothing(
    tmp_path: Path, replica: ReplicaServer, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.service")
    publish = replica.withhold(BATCH2_PAGE)
    settings = service_settings(replica, f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "data", interval="1s")
    config = write_config(tmp_path / "config.yaml", settings)
    db = Database(settings.database.url)
    db.migrate()
    service = Service(settings, db, reload_settings=lambda: load_settings(config))
    task = asyncio.create_task(service.run(handle_signals=True))
    try:
        await async_wait_until(lambda: service.state.polls >= 1 or task.done(), timeout=60)
        assert "no operator alert destination configured" in caplog.text

        # A webhook and a watchlist added to the file, then SIGHUP, as `systemctl reload` sends it.
        raw = settings.model_dump(mode="json")
        raw["notify"]["webhooks"] = [{"url": receiver.base_url + "/hook", "secret": SECRET, "allow_private": True, "timeout": 3}]
        raw["notify"]["watchlist"] = ["深圳"]
        raw["sources"]["cac"]["interval"] = "1h"  # not the notify section: only logged
        write_config_raw(config, raw)
        os.kill(os.getpid(), signal.SIGHUP)
        await async_wait_until(lambda: bool(service.settings.notify.webhooks), timeout=10)
        assert service.settings.notify.watchlist == ["深圳"]
        assert service.settings.sources.cac.interval == 1.0  # the rest waits for a restart …
        assert "reload: sources changed: takes effect at the next restart" in caplog.text  # … and says so

        publish()  # the next poll finds the new list: the webhook added by the reload gets it
        await async_wait_until(lambda: bool(_published(receiver)), timeout=30)
        assert _published(receiver)[0]["data"]["list_month"] == "2023-08"

        # A broken file: one line in the log, the running configuration kept.
        config.write_text("notify:\n  webhooks: [{url: 'not a url'}]\n", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await async_wait_until(lambda: "keeping the running configuration" in caplog.text, timeout=10)
        assert service.settings.notify.webhooks[0].url == receiver.base_url + "/hook"
    finally:
        service.request_stop("test over")
        await asyncio.wait_for(task, timeout=30)
        db.dispose()


def write_config_raw(path: Path, raw: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def test_cacwatch_reload_signals_the_running_service(tmp_path: Path, replica: ReplicaServer, database_url: str) -> None:
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app
    from service_helpers import spawn, wait_until

    runner = CliRunner()
    settings = service_settings(replica, database_url, tmp_path / "data", interval="1h", service={"poll_process": True})
    config = write_config(tmp_path / "config.yaml", settings)
    assert runner.invoke(app, ["--config", str(config), "migrate"]).exit_code == 0
    nothing = runner.invoke(app, ["--config", str(config), "reload"])
    assert nothing.exit_code == 1 and "no running service found" in nothing.stderr
    with spawn(config, tmp_path / "run.log") as process:
        wait_until(lambda: "poll:" in process.output(), timeout=60)
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        raw["notify"]["watchlist"] = ["字节跳动"]
        config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        result = runner.invoke(app, ["--config", str(config), "reload"])
        assert result.exit_code == 0, result.output
        assert f":{process.pid}" in result.stdout and "SIGHUP sent to" in result.stdout
        wait_until(lambda: "reload: watchlist and destinations read again" in process.output(), timeout=20)
        assert process.popen.poll() is None  # reloaded, still running
        process.signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
