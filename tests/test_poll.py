"""bot.ingest.poll: a poll, its events and their delivery; notifiers built only when needed."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.delivery.notifiers.factory import build_notifiers
from bot.ingest.poll import NotifiersOnFirstUse, poll_and_deliver
from conftest import WEBHOOK_SECRET
from storage.db import Database
from webhook_receiver import Receiver


def test_an_idle_poll_never_builds_the_notifiers_and_a_poll_with_news_does(
    replica: Any, database_url: str, make_settings: Any, receiver: Receiver
) -> None:
    settings = make_settings(replica, database_url, webhooks=[
        {"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}])
    db = Database(settings.database.url)
    db.migrate()
    builds: list[int] = []

    def build() -> Any:
        builds.append(1)
        return build_notifiers(settings, db)

    def poll() -> Any:
        notifiers = NotifiersOnFirstUse(build)

        async def run() -> Any:
            try:
                return await poll_and_deliver(settings, db, notifiers, deliver_wait=10)
            finally:
                for notifier in notifiers.built:
                    await notifier.aclose()

        return asyncio.run(run())

    try:
        publish = replica.withhold("/2024-01/05/c_1706119043746644.htm")
        first = poll()  # the baseline: an event, so the notifiers are built and deliver it
        assert [e["type"] for e in first.events] == ["baseline.established"] and builds == [1]
        assert first.deliveries.delivered == 1 and len(receiver.on("/hook")) == 1

        idle = poll()  # nothing new, nothing due: nothing built
        assert idle.report.ok and idle.events == [] and builds == [1]

        publish()
        news = poll()
        assert [e["type"] for e in news.events] == ["list.published"] and builds == [1, 1]
        assert len(receiver.on("/hook")) == 2
    finally:
        db.dispose()


def test_deliveries_left_due_are_sent_by_the_next_idle_poll(
    replica: Any, database_url: str, make_settings: Any, receiver: Receiver
) -> None:
    from webhook_receiver import Answer

    settings = make_settings(replica, database_url, webhooks=[
        {"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}])
    db = Database(settings.database.url)
    db.migrate()
    try:
        async def run(wait: float) -> Any:
            notifiers = NotifiersOnFirstUse(lambda: build_notifiers(settings, db))
            try:
                return await poll_and_deliver(settings, db, notifiers, deliver_wait=wait)
            finally:
                for notifier in notifiers.built:
                    await notifier.aclose()

        asyncio.run(run(0))  # the baseline is queued, not sent
        assert receiver.on("/hook") == []
        receiver.answers["/hook"] = Answer(status=200)
        asyncio.run(run(10))  # idle, but a delivery is due: the notifiers are built to send it
        assert len(receiver.on("/hook")) == 1
    finally:
        db.dispose()
