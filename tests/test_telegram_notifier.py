"""TelegramNotifier end to end against the local fake Bot API (reached through ``api_base_url``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from fake_telegram import (
    FakeTelegram,
    baseline,
    filing_record,
    list_event,
    seed_list,
    telegram_settings,
    validate_html,
)
from sqlalchemy import select, update

from bot.settings.config import TelegramSettings
from bot.delivery.notifiers.base import DeliveryError
from bot.delivery.outbox import deliver_due, enqueue
from storage import telegram_repo
from bot.delivery.telegram.format import render_event
from bot.delivery.telegram.notifier import SlidingWindowGate, TelegramNotifier, make_bot
from storage.models_outbox import Delivery, DeliveryState, DisabledDestination
from storage.models_telegram import TelegramPostedPart

CHANNEL = "@cac_test"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def make_settings(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    return telegram_settings(fake, **{"channel": CHANNEL, **overrides})


def long_revision(n: int = 14) -> dict[str, Any]:
    changed = [
        {"kind": "deep_synthesis", "filing_number": f"网信算备11010800000{i:02d}01240011号", "name": "很长的名称" * 60,
         "entity": f"公司{i}", "changes": {"status": ["active", "cancelled"]}}
        for i in range(n)
    ]
    return list_event("list.revised", new=[], changed=changed)


async def test_channel_thread_is_chart_then_text(fake: FakeTelegram) -> None:
    notifier = TelegramNotifier(make_settings(fake))
    event = list_event(sizes=[["2026-01", 50], ["2026-03", 80], ["2026-05", 103]])
    try:
        await notifier.deliver(event, delivery_id="msg_1")
    finally:
        await notifier.aclose()
    sent = fake.messages(CHANNEL)
    assert [c.method for c in sent] == ["sendPhoto"] + ["sendMessage"] * len(render_event(event))
    photo = sent[0]
    assert photo.files["photo"][1].startswith(b"\x89PNG")
    assert "第十七批" in validate_html(photo.caption or "")
    assert photo.params["parse_mode"] == "HTML"
    text = validate_html(sent[1].text or "")
    assert "新增备案 3 项" in text and "3 new filings" in text
    assert '"is_disabled": true' in sent[1].params["link_preview_options"]
    assert not fake.rejected


async def test_chart_sizes_come_from_the_database_when_the_event_has_none(fake: FakeTelegram, database: Any) -> None:
    with database.session() as session:
        for month, rows in (("2026-01", 50), ("2026-03", 80), ("2026-05", 103)):
            seed_list(session, "deep_synthesis", month, rows)
        seed_list(session, "genai_service", "2026-05", 9)  # another kind: not charted
        assert telegram_repo.list_sizes(session, "deep_synthesis") == [("2026-01", 50), ("2026-03", 80), ("2026-05", 103)]
    notifier = TelegramNotifier(make_settings(fake), database)
    try:
        await notifier.deliver(list_event(), delivery_id="msg_db")
    finally:
        await notifier.aclose()
    assert fake.messages(CHANNEL)[0].method == "sendPhoto"


async def test_no_chart_for_revisions_and_when_disabled(fake: FakeTelegram) -> None:
    notifier = TelegramNotifier(make_settings(fake, chart=False))
    try:
        await notifier.deliver(list_event(sizes=[["2026-05", 3]]), delivery_id="a")
        await notifier.deliver(list_event("list.revised", sizes=[["2026-05", 3]]), delivery_id="b")
    finally:
        await notifier.aclose()
    assert {c.method for c in fake.messages(CHANNEL)} == {"sendMessage"}


async def test_baseline_is_a_single_message(fake: FakeTelegram) -> None:
    notifier = TelegramNotifier(make_settings(fake))
    try:
        await notifier.deliver(baseline(), delivery_id="base")
    finally:
        await notifier.aclose()
    assert [c.method for c in fake.messages(CHANNEL)] == ["sendMessage"]


async def test_429_mid_thread_surfaces_retry_after_and_the_retry_posts_only_the_rest(
    database: Any,
) -> None:
    event = long_revision()
    posts = render_event(event)
    assert len(posts) >= 3
    # The fake enforces 2 posts per minute in the channel: the third post is refused.
    with FakeTelegram(enforce_limits=True, group_per_minute=2) as fake:
        notifier = TelegramNotifier(make_settings(fake), database)
        try:
            with pytest.raises(DeliveryError) as caught:
                await notifier.deliver(event, delivery_id="msg_thread")
            assert caught.value.retryable and caught.value.retry_after is not None
            assert 0 < caught.value.retry_after <= 60
            assert fake.too_many_requests == 1
            with database.session() as session:
                assert sorted(session.scalars(select(TelegramPostedPart.part_index))) == [1, 2]
            fake.group_per_minute = 1000  # the minute has passed
            await notifier.deliver(event, delivery_id="msg_thread")
        finally:
            await notifier.aclose()
        texts = [c.text for c in fake.messages(CHANNEL)]
    assert texts == posts  # every post once, in order


async def test_429_storm_through_the_outbox_honours_retry_after(fake: FakeTelegram, database: Any) -> None:
    notifier = TelegramNotifier(make_settings(fake), database)
    event = list_event(sizes=[["2026-05", 103]])
    with database.session() as session:
        assert enqueue(session, event, [notifier]) == 1
    fake.fail_next(5, retry_after=42)
    try:
        run = await deliver_due(database, {notifier.destination: notifier})
        assert run.failed == 1 and "429" in run.errors[0]
        with database.session() as session:
            delivery = session.scalars(select(Delivery)).one()
            assert delivery.state == DeliveryState.PENDING
            wait = (delivery.next_attempt_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds()
            assert 35 < wait <= 42
        for _ in range(6):
            with database.session() as session:  # time passes…
                session.execute(update(Delivery).values(next_attempt_at=datetime.now(timezone.utc)))
            run = await deliver_due(database, {notifier.destination: notifier})
            if run.delivered:
                break
    finally:
        await notifier.aclose()
    assert run.delivered == 1
    assert fake.too_many_requests == 5
    sent = fake.messages(CHANNEL)
    assert [c.method for c in sent].count("sendPhoto") == 1  # nothing posted twice


async def test_user_who_blocked_the_bot_is_disabled_not_retried(fake: FakeTelegram, database: Any) -> None:
    with database.session() as session:
        telegram_repo.add_watch(session, 42, "示例科技")
    notifier = TelegramNotifier(make_settings(fake), database)
    event = list_event()
    fake.blocked.add("42")
    try:
        with pytest.raises(DeliveryError) as caught:
            await notifier.deliver_to(event, delivery_id="u1", destination="telegram:user:42")
        assert not caught.value.retryable and caught.value.disable
        with database.session() as session:
            enqueue(session, event, [notifier])
        run = await deliver_due(database, {notifier.destination: notifier})
    finally:
        await notifier.aclose()
    assert run.disabled == 1 and run.delivered == 1  # the channel still got its post
    with database.session() as session:
        assert session.get(DisabledDestination, "telegram:user:42") is not None


async def test_fan_out_to_watchers_and_subscribers(fake: FakeTelegram, database: Any) -> None:
    notifier = TelegramNotifier(make_settings(fake), database)
    with database.session() as session:
        telegram_repo.add_watch(session, 42, "示例科技")  # matches the event's filers
        telegram_repo.add_watch(session, 43, "Nothing Matches")
        telegram_repo.add_watch(session, 46, "新名称")  # matches a rename's new entity
        telegram_repo.add_subscription(session, 44, "deep_synthesis")
        telegram_repo.add_subscription(session, 45, "genai_service")
        telegram_repo.add_subscription(session, 47, "all")
        event = list_event(changed=[{"kind": "deep_synthesis", "filing_number": "网信算备X号", "name": "n",
                                     "entity": "新名称有限公司", "changes": {"entity": ["旧名称有限公司", "新名称有限公司"]}}])
        assert notifier.fan_out(event, session) == [
            "telegram:channel:@cac_test", "telegram:user:42", "telegram:user:44", "telegram:user:46",
            "telegram:user:47",
        ]
        assert notifier.fan_out(baseline(), session) == ["telegram:channel:@cac_test"]
        second_part = list_event(part={"index": 2, "total": 2}, new=[filing_record(1)])
        # Later parts: no channel, no subscribers (told once), but watchers of the filings in it.
        assert notifier.fan_out(second_part, session) == ["telegram:user:42"]
        genai_only = TelegramNotifier(make_settings(fake, kinds=["genai_service"]), database)
        assert genai_only.fan_out(event, session)[0] == "telegram:user:42"


async def test_private_alert_for_a_watcher(fake: FakeTelegram, database: Any) -> None:
    with database.session() as session:
        telegram_repo.add_watch(session, 42, "示例科技有限公司1")
        telegram_repo.add_subscription(session, 44, "deep_synthesis")
    notifier = TelegramNotifier(make_settings(fake, language="en"), database)
    event = list_event()
    try:
        await notifier.deliver_to(event, delivery_id="u42", destination="telegram:user:42")
        await notifier.deliver_to(event, delivery_id="u44", destination="telegram:user:44")
        await notifier.deliver_to(event, delivery_id="u99", destination="telegram:user:99")  # nothing for them
    finally:
        await notifier.aclose()
    (alert,) = fake.messages(42)
    text = validate_html(alert.text or "")
    assert "Watch alert: 示例科技有限公司1" in text
    assert filing_record(1)["filing_number"] in text and filing_record(2)["filing_number"] not in text
    (summary,) = fake.messages(44)
    assert "3 new filings" in validate_html(summary.text or "")
    assert fake.messages(99) == []


async def test_bad_destination_and_bad_request_are_not_retried(fake: FakeTelegram) -> None:
    notifier = TelegramNotifier(make_settings(fake))
    try:
        with pytest.raises(DeliveryError) as caught:
            await notifier.deliver_to(list_event(), delivery_id="x", destination="telegram:user:abc")
        assert not caught.value.retryable
        fake.fail_next(1, status=400, description="Bad Request: chat not found", retry_after=None)
        with pytest.raises(DeliveryError) as caught:
            await notifier.deliver(list_event(), delivery_id="y")
        assert not caught.value.retryable and not caught.value.disable  # the channel is never disabled
    finally:
        await notifier.aclose()


def test_destination_and_problems() -> None:
    settings = TelegramSettings(token="123:abc", channel="@cac_filings")
    notifier = TelegramNotifier(settings)
    assert notifier.destination == "telegram:channel:@cac_filings"
    assert notifier.problems() == []
    assert TelegramNotifier(TelegramSettings(token="nonsense", channel="@cac_filings")).problems()


async def test_sliding_window_gate_holds_at_the_server_whatever_the_delays() -> None:
    import asyncio
    import random

    gate = SlidingWindowGate(limit=3, period=0.2)
    arrivals: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> None:
        async with gate:
            await asyncio.sleep(random.uniform(0, 0.03))  # network delay before the server sees it
            arrivals.append(loop.time())
            await asyncio.sleep(random.uniform(0, 0.03))  # and before the answer is back

    started = loop.time()
    await asyncio.gather(*(send() for _ in range(12)))
    arrivals.sort()
    for i, moment in enumerate(arrivals):
        assert sum(1 for other in arrivals[i:] if other - moment < 0.2) <= 3
    assert loop.time() - started >= 0.6  # 12 sends, 3 per 0.2 s: at least three full windows


async def test_rate_limiter_throttles_channels_per_minute(fake: FakeTelegram) -> None:
    import asyncio

    bot = make_bot(make_settings(fake, max_per_minute_per_chat=2))
    async with bot:
        await bot.send_message(CHANNEL, "one")
        await bot.send_message(CHANNEL, "two")
        third = asyncio.create_task(bot.send_message(CHANNEL, "three"))
        await bot.send_message(42, "a private chat is not held back")
        await asyncio.sleep(0.3)
        assert not third.done()  # waits for the minute to pass
        third.cancel()
    assert [c.text for c in fake.messages(CHANNEL)] == ["one", "two"]


async def test_old_posted_parts_are_forgotten(fake: FakeTelegram, database: Any) -> None:
    from datetime import timedelta

    with database.session() as session:
        telegram_repo.record_part(session, "msg_old", 1, CHANNEL, 1)
        session.flush()
        session.execute(update(TelegramPostedPart).values(posted_at=datetime.now(timezone.utc) - timedelta(days=30)))
    notifier = TelegramNotifier(make_settings(fake), database)
    try:
        await notifier.deliver(baseline(), delivery_id="msg_new")
    finally:
        await notifier.aclose()
    with database.session() as session:
        assert list(session.scalars(select(TelegramPostedPart.delivery_id))) == ["msg_new"]


def test_check_once_on_the_replica_posts_baseline_once_then_the_new_list(
    tmp_path: Any, replica: Any, make_settings: Any
) -> None:
    """`cacwatch check --once` with Telegram configured: the issue's "done when", on the replica."""
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app
    from test_pipeline import DS_2023_08

    runner = CliRunner()
    with FakeTelegram(enforce_limits=True) as fake:
        telegram = {"token": fake.token, "api_base_url": fake.base_url, "channel": CHANNEL, "timeout": 5}
        settings = make_settings(replica, f"sqlite:///{tmp_path / 'e2e.db'}", telegram=telegram)
        config = tmp_path / "config.yaml"
        raw = settings.model_dump(mode="json")
        raw["parse_workers"] = 0  # parse in-process: no worker pool to start for three small polls
        config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

        def check() -> None:
            result = runner.invoke(app, ["--config", str(config), "check", "--once"])
            assert result.exit_code == 0, result.output

        # The 2023-08 batch (announced on this page) is not out yet: the channel list and the
        # notice API do not show its announcement.
        page = "/2023-09/01/c_1695224377544009.htm"
        assert DS_2023_08.split("filepath=")[1].encode() in replica.read(page)
        channel, notices = "/wxzw/wxfb/A093702index_1.htm", "/api/notice/list"
        channel_html = replica.read(channel).decode("utf-8")
        notices_json = json.loads(replica.read(notices))
        item = re.search(rf'<li><h5><a href="{re.escape(page)}"[^\n]*</li>\n?', channel_html)
        assert item is not None
        replica.set_page(channel, channel_html.replace(item.group(0), ""))
        without = dict(notices_json, datas=[n for n in notices_json["datas"] if page not in json.dumps(n)])
        replica.add_route(notices, json.dumps(without).encode(), "application/json")
        check()
        first = fake.messages(CHANNEL)
        assert [c.method for c in first] == ["sendMessage"]  # the first poll: one baseline post
        check()
        assert len(fake.messages(CHANNEL)) == 1  # an idle poll posts nothing

        replica.set_page(channel, channel_html)  # published
        replica.add_route(notices, json.dumps(notices_json).encode(), "application/json")
        check()
        posts = fake.messages(CHANNEL)[1:]
        assert posts[0].method == "sendPhoto" and posts[0].files["photo"][1].startswith(b"\x89PNG")
        text = "\n".join(validate_html(c.text or "") for c in posts[1:])
        assert "第二批深度合成服务算法备案" in text and "2nd batch of deep-synthesis filings" in text
        assert "新增备案 110 项" in text and "110 new filings" in text
        assert not fake.rejected and fake.too_many_requests == 0


def test_notifier_and_command_bot_share_the_flood_windows(fake: FakeTelegram) -> None:
    from bot.delivery.telegram.notifier import make_rate_limiter

    settings = make_settings(fake)
    notifier_limiter = make_rate_limiter(settings)
    bot_limiter = make_rate_limiter(settings, max_retries=2)
    other_bot = make_rate_limiter(make_settings(fake, token="999:other"))
    assert notifier_limiter._overall is bot_limiter._overall
    assert notifier_limiter._chat_gate("@x") is bot_limiter._chat_gate("@x")
    assert other_bot._overall is not notifier_limiter._overall


WATCH_FINDING = {
    "type": "watchlist",
    "zh": "关注名单命中 1 项备案：“阿里巴巴” 1 项（杭州阿里巴巴广告有限公司）",
    "en": "Watchlist: 1 filing matched — “Alibaba” 1 (Hangzhou Alibaba Advertising Co., Ltd.)",
    "data": {"hits": [{"pattern": "阿里巴巴", "entity": "杭州阿里巴巴广告有限公司", "filing_number": "网信算备330110000000001240011号",
                       "name": "甲算法", "score": 1.0}]},
}


@pytest.mark.parametrize("show", [False, True])
async def test_watchlist_hits_stay_out_of_the_channel_unless_asked_for(fake: FakeTelegram, show: bool) -> None:
    """The operator's watchlist is a law firm's client list: a public post never names it by default."""
    notifier = TelegramNotifier(make_settings(fake, chart=False, show_watchlist=show))
    event = list_event(notable=[{"type": "rank", "zh": "本批为 7 批中第二大。", "en": "The second-largest of 7 lists.",
                                 "data": {"size": 3, "rank": 2, "of": 7, "kind": "deep_synthesis"}}, WATCH_FINDING])
    try:
        await notifier.deliver(event, delivery_id="msg_watch")
    finally:
        await notifier.aclose()
    text = "\n".join(validate_html(m.text or "") for m in fake.messages(CHANNEL))
    assert "第二大" in text
    assert ("关注名单" in text and "Watchlist" in text) is show
    assert ("阿里巴巴广告" in text) is show
    assert [f["type"] for f in event["data"]["notable"]] == ["rank", "watchlist"]  # the stored event is untouched
