"""Operator alerts through any notifier: an Apprise entry with ``operator_alerts: true``
carries them (a real json:// endpoint), a webhook whose ``events`` name ``operator.alert`` gets a
signed ``operator.alert`` event through the outbox (a real local receiver; SQLite and
PostgreSQL), written once per incident opened or resolved; with no destination at all, the log
says so, ``check --once`` warns at start and ``status`` says where alerts go."""

from __future__ import annotations

import json
import logging
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from standardwebhooks import Webhook
from typer.testing import CliRunner

from bot.app.alerts import Alert, Alerter
from bot.app.cli import app
from bot.delivery.notifiers.base import notifiers_by_key
from bot.delivery.notifiers.factory import build_alert_carriers, build_notifiers
from bot.delivery.outbox import Replay, deliver_until_idle, enqueue, enqueue_operator_alert, replay
from bot.settings.config import ConfigError, Settings, settings_from_mapping
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.service_repo import ServiceRepository
from webhook_receiver import Receiver

try:
    from service_helpers import async_wait_until, running_service, service_settings
except ImportError:  # run from the repository root
    from tests.service_helpers import async_wait_until, running_service, service_settings

try:
    from builders import replica_source
    from sample_events import published_event
except ImportError:  # run from the repository root
    from tests.builders import replica_source
    from tests.sample_events import published_event

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
runner = CliRunner()


def _open_incident(db: Database) -> None:
    with db.session() as session:
        ServiceRepository(session).open_incident(
            "source:cac", "cacwatch: source cac has failed 3 polls in a row (unreachable).", 3, at=datetime.now(timezone.utc)
        )


async def test_apprise_entry_carries_operator_alerts(database: Database, receiver: Receiver) -> None:
    settings = settings_from_mapping(
        {
            "database": {"url": "sqlite://"},
            "notify": {"apprise": [
                {"urls": [f"json://127.0.0.1:{receiver.port}/alerts"], "allow_private": True, "operator_alerts": True},
                {"urls": [f"json://127.0.0.1:{receiver.port}/news"], "allow_private": True},  # lists only
            ]},
        },
        env={},
    )
    _open_incident(database)
    alerter = Alerter(settings, database)
    assert alerter.enabled
    sent = await alerter.send_due()
    assert [a.subject for a in sent] == ["[cacwatch] source cac is failing"]
    bodies = [json.loads(r.body) for r in receiver.received]
    assert [r.path for r in receiver.received] == ["/alerts"]
    assert bodies[0]["title"] == "[cacwatch] source cac is failing" and "unreachable" in bodies[0]["message"]
    assert await alerter.send_due() == []  # once per incident


async def test_no_alert_destination_is_said_in_the_log(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.alerts")
    settings = settings_from_mapping({"database": {"url": "sqlite://"}}, env={})
    _open_incident(database)
    alerter = Alerter(settings, database)
    assert not alerter.enabled and await alerter.send_due() == []
    assert "operator alert not sent (no alert destination configured): [cacwatch] source cac is failing" in caplog.text


def _webhooks(receiver: Receiver) -> list[dict[str, Any]]:
    """One endpoint for alerts only, one for everything but alerts (no events filter), one for lists."""
    hook = {"secret": SECRET, "allow_private": True, "timeout": 3}
    return [
        {**hook, "url": receiver.base_url + "/ops", "events": ["operator.alert"]},
        {**hook, "url": receiver.base_url + "/all"},
        {**hook, "url": receiver.base_url + "/lists", "events": ["list.published", "list.revised"]},
    ]


def _alerts_at(receiver: Receiver, path: str) -> list[dict[str, Any]]:
    got = [r for r in receiver.received if r.path == path]
    for request in got:  # signed as every webhook: a receiver verifies it with its secret
        Webhook(SECRET).verify(request.body, request.headers)
    return [json.loads(r.body) for r in got]


async def test_a_webhook_that_asks_for_them_gets_signed_operator_alerts_once(database: Database, receiver: Receiver) -> None:
    settings = settings_from_mapping({"database": {"url": "sqlite://"}, "notify": {"webhooks": _webhooks(receiver)}}, env={})
    notifiers = build_notifiers(settings)
    by_key = notifiers_by_key(notifiers)
    _open_incident(database)
    # A run that wrote the alert and crashed before marking the incident announced: the next
    # poll writes it again, with the same id, so the outbox keeps it once.
    with database.session() as session:
        [due] = ServiceRepository(session).due_incidents()
    crashed = Alert(
        "[cacwatch] source cac is failing", due.last_message, incident_id=due.id, key=due.key, state="opened", opened_at=due.opened_at
    )
    with database.session() as session:
        assert enqueue_operator_alert(session, crashed.event(datetime.now(timezone.utc)), build_alert_carriers(settings)) == 1

    alerter = Alerter(settings, database)
    assert alerter.enabled
    [sent] = await alerter.send_due()
    assert sent.subject == "[cacwatch] source cac is failing" and alerter.queued == 1
    run = await deliver_until_idle(database, by_key, max_wait=20)
    assert (run.delivered, run.failed, run.dead) == (1, 0, 0)
    [opened] = _alerts_at(receiver, "/ops")
    assert [r.path for r in receiver.received] == ["/ops"]  # not /all (no events filter), not /lists
    assert opened["type"] == "operator.alert" and opened["id"].startswith("evt_alert_")
    assert receiver.received[0].headers["webhook-id"].startswith(f"msg_{opened['id'][4:]}_")
    data = opened["data"]
    assert data["incident"] == "source:cac" and data["state"] == "opened" and data["resolved_at"] is None
    assert data["subject"] == "[cacwatch] source cac is failing" and "unreachable" in data["text"]
    assert crashed.event(datetime.now(timezone.utc) + timedelta(hours=1))["id"] == opened["id"]  # whenever written

    # Announced: the next poll sends nothing.
    assert await alerter.send_due() == []
    assert (await deliver_until_idle(database, by_key, max_wait=5)).delivered == 0

    # Resolved: one more event, its own id, the same incident.
    with database.session() as session:
        ServiceRepository(session).close_incident("source:cac", at=datetime.now(timezone.utc))
    [recovered] = await Alerter(settings, database).send_due()
    assert recovered.subject == "[cacwatch] recovered: source cac"
    assert (await deliver_until_idle(database, by_key, max_wait=20)).delivered == 1
    first, second = _alerts_at(receiver, "/ops")
    assert second["data"]["state"] == "resolved" and second["data"]["incident"] == "source:cac"
    assert second["id"] != first["id"] and second["data"]["opened_at"] == first["data"]["opened_at"]
    assert second["data"]["resolved_at"] is not None and "works again" in second["data"]["text"]
    assert [r.path for r in receiver.received] == ["/ops", "/ops"]

    # Never in the pull API, never replayed to an endpoint; list events still go where they went.
    with database.session() as session:
        enqueue(session, published_event(1), notifiers)  # type: ignore[arg-type]
    since = datetime.now(timezone.utc) - timedelta(days=1)
    # An endpoint catching up gets the list event (queued already here), never an incident's alert.
    assert replay(database, notifiers[1], since=since) == Replay(queued=0, skipped=1, filtered=2)
    assert (await deliver_until_idle(database, by_key, max_wait=20)).delivered == 2  # /all and /lists
    assert sorted(r.path for r in receiver.received[2:]) == ["/all", "/lists"]
    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    web = create_app(database, web=WebSettings(cache_mb=0), refresh_on_start=False, refresh_in_child=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as client:
        changes = (await client.get("/api/v1/changes")).json()
    assert [e["type"] for e in changes["items"]] == ["list.published"]


def test_only_webhooks_may_ask_for_operator_alerts_by_event_name() -> None:
    with pytest.raises(ConfigError, match=r"operator_alerts: true"):
        settings_from_mapping(
            {"notify": {"apprise": [{"urls": ["json://127.0.0.1/x"], "allow_private": True, "events": ["operator.alert"]}]}}, env={}
        )
    with pytest.raises(ConfigError, match=r"unknown event type 'operator.alerts'"):
        settings_from_mapping(
            {"notify": {"webhooks": [{"url": "https://hooks.example/x", "secret": SECRET, "events": ["operator.alerts"]}]}}, env={}
        )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(path: Path, database_url: str, tmp_path: Path, cac: dict[str, Any], notify: dict[str, Any]) -> Path:
    raw = {
        "database": {"url": database_url},
        "data_dir": str(tmp_path / "data"),
        "sources": {"cac": cac},
        "notify": notify,
        "service": {"alert_after": 1},
    }
    settings: Settings = settings_from_mapping(raw, env={})  # valid as written
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True), allow_unicode=True), encoding="utf-8")
    return path


def test_check_once_sends_the_alert_in_the_same_run_and_status_says_where_alerts_go(
    tmp_path: Path, database_url: str, receiver: Receiver, replica: ReplicaServer
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    unreachable = {"base_url": dead, "beian_url": dead + "/beian", "min_delay": 0, "timeout": 2, "retries": 0}
    config = _config(tmp_path / "config.yaml", database_url, tmp_path, unreachable, {"webhooks": _webhooks(receiver)})

    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert result.exit_code != 0
    assert "no operator alert destination" not in result.stderr  # there is one
    [opened] = _alerts_at(receiver, "/ops")  # delivered by this very run, not the next one
    assert opened["data"]["state"] == "opened" and opened["data"]["incident"] == "source:cac"
    assert [r.path for r in receiver.received] == ["/ops"]

    status = runner.invoke(app, ["--config", str(config), "status"])
    assert status.exit_code == 0, status.output
    assert f"operator alerts go to: webhook {receiver.base_url}/ops" in status.stdout

    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code != 0
    assert len(_alerts_at(receiver, "/ops")) == 1  # still the same incident: told once

    # The site answers again: the recovery goes out in that run.
    _config(config, database_url, tmp_path, replica_source(replica, retries=0), {"webhooks": _webhooks(receiver)})
    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code == 0
    alerts = _alerts_at(receiver, "/ops")
    assert [a["data"]["state"] for a in alerts] == ["opened", "resolved"]


def test_without_an_alert_destination_check_once_says_so_when_it_fails_and_status_says_so(
    tmp_path: Path, database_url: str, replica: ReplicaServer
) -> None:
    """Cron mails what a job prints: a good run prints nothing on stderr; a failing one prints
    its one-line reason, which then says that no operator alert went out."""
    config = _config(tmp_path / "config.yaml", database_url, tmp_path, replica_source(replica, retries=0), {})
    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    replica.waf = True
    failed = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert failed.exit_code != 0
    (line,) = failed.stderr.splitlines()
    assert line.startswith("cacwatch: source cac:") and line.endswith("(no operator alert destination configured: see `cacwatch status`)")
    status = runner.invoke(app, ["--config", str(config), "status"])
    assert "operator alerts go to: nowhere" in status.stdout


async def test_the_service_delivers_operator_alerts_to_the_webhook_at_once(
    replica: ReplicaServer, tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    replica.waf = True
    settings = service_settings(
        replica, database_url, tmp_path / "data", interval="0.3s",
        service={"alert_after": 1, "backoff_max": "0.6s", "delivery_interval": "30s"},
        notify={"webhooks": _webhooks(receiver)},
    )  # fmt: skip
    async with running_service(settings) as service:
        # The delivery worker idles 30 s between rounds: the alert wakes it.
        assert await async_wait_until(lambda: _alerts_at(receiver, "/ops"), timeout=15)
        polls = service.state.polls
        assert await async_wait_until(lambda: service.state.polls >= polls + 2, timeout=15)
        assert len(_alerts_at(receiver, "/ops")) == 1  # once, however many polls fail
        replica.waf = False
        assert await async_wait_until(lambda: len(_alerts_at(receiver, "/ops")) >= 2, timeout=30)
    opened, resolved = _alerts_at(receiver, "/ops")
    assert (opened["data"]["state"], resolved["data"]["state"]) == ("opened", "resolved")
    assert "blocked" in opened["data"]["text"] and opened["data"]["incident"] == resolved["data"]["incident"] == "source:cac"
