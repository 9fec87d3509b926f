"""Operator alerts through any notifier: an Apprise entry with ``operator_alerts: true``
carries them (a real json:// endpoint); with no destination at all, the log says so."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest

from bot.app.alerts import Alerter
from bot.settings.config import settings_from_mapping
from storage.db import Database
from storage.service_repo import ServiceRepository
from webhook_receiver import Receiver


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
