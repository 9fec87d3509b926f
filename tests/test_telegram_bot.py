"""The interactive bot, driven by real ``Update`` objects handed out by the fake's getUpdates."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import (
    Call,
    FakeTelegram,
    filing_record,
    seed_filings,
    seed_list,
    telegram_settings,
    validate_html,
)
from sqlalchemy import select

from bot.changes.companies import english_name
from bot.settings.config import TelegramSettings
from storage import telegram_repo
from bot.delivery.telegram.bot import run_bot
from bot.delivery.telegram.throttle import STILL_WORKING, TOO_MANY
from storage.db import Database
from storage.models_telegram import TelegramSubscription, TelegramWatch

ADMIN = 7
USER = 42
HOSTILE = "<script>alert(1)</script> & Co"
_message_ids = itertools.count(1)


def seed(db: Database) -> None:
    with db.session() as session:
        seed_list(session, "deep_synthesis", "2026-01", 50)
        ds = seed_list(session, "deep_synthesis", "2026-05", 103, name="境内深度合成服务算法备案清单（2026年5月）")
        genai = seed_list(session, "genai_service", "2026-05", 9)
        baidu = [
            filing_record(i, name=f"文心一言合成算法{i}", entity="北京百度网讯科技有限公司") for i in range(7)
        ]
        others = [filing_record(100, name=HOSTILE, entity=HOSTILE), filing_record(101, entity="深圳某某科技有限公司")]
        others[1]["province"] = "广东省"
        others[1]["products"] = ["风行视频（APP、网站、小程序）", "50%折扣_App"]
        seed_filings(session, ds, baidu + others)
        kimi = filing_record(200, kind="genai_service", name="Kimi 智能助手", entity="北京月之暗面科技有限公司")
        kimi["filing_number"] = "Beijing-Kimi-20240101"
        seed_filings(session, genai, [kimi])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    database.migrate()
    seed(database)
    yield database
    database.dispose()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def make_settings(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    return telegram_settings(fake, **{"channel": "@cac_test", "admin_ids": [ADMIN], **overrides})


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.01)
    raise AssertionError("timed out waiting for the bot")


@asynccontextmanager
async def running_bot(fake: FakeTelegram, db: Database, **overrides: Any) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(make_settings(fake, **overrides), db, stop))
    await until(lambda: fake.calls_of("getUpdates") or task.done())
    if task.done():
        task.result()  # raise what went wrong
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"U{user_id}", "language_code": "zh-hans"}


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": f"U{chat_id}"}


async def send(fake: FakeTelegram, text: str, *, chat_id: int = USER, user_id: int | None = None) -> Call:
    """Send a command as a user; wait for and return the bot's answer to that chat."""
    before = len(fake.messages(chat_id))
    command = text.split()[0]
    fake.push_update({
        "message": {
            "message_id": next(_message_ids), "date": int(time.time()), "chat": _chat(chat_id),
            "from": _user(user_id or chat_id), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}],
        }
    })
    return await until(lambda: fake.messages(chat_id)[before:] and fake.messages(chat_id)[-1])


async def press(fake: FakeTelegram, message: Call, data: str, *, chat_id: int = USER) -> None:
    fake.push_update({
        "callback_query": {
            "id": f"cb{next(_message_ids)}", "from": _user(chat_id), "chat_instance": "ci", "data": data,
            "message": {"message_id": message.message_id, "date": int(time.time()), "chat": _chat(chat_id),
                        "from": {"id": 123456, "is_bot": True, "first_name": "cacwatch"}, "text": "…"},
        }
    })


def text_of(call: Call) -> str:
    return validate_html(call.text or call.caption or "")


def buttons(call: Call) -> list[dict[str, str]]:
    markup = call.json("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_start_help_latest_and_stats(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db):
        assert "cacwatch" in text_of(await send(fake, "/start"))
        assert "/watch" in text_of(await send(fake, "/help"))
        latest = text_of(await send(fake, "/latest"))
        assert "境内深度合成服务算法备案清单（2026年5月）" in latest and "103 行 rows" in latest and "#1 of 2" in latest
        assert "生成式人工智能服务备案" in latest
        only = text_of(await send(fake, "/latest 生成式"))
        assert "生成式人工智能服务备案" in only and "深度合成" not in only
        assert "unknown kind" in text_of(await send(fake, "/latest nonsense"))
        stats = text_of(await send(fake, "/stats"))
        assert "Top filers" in stats and f"北京百度网讯科技有限公司 · {english_name('北京百度网讯科技有限公司')} — 7" in stats
        assert "北京市" in stats and "广东省" in stats
    assert fake.calls_of("setMyCommands")
    assert not fake.rejected


async def test_search_paginates_with_inline_buttons(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db):
        first = await send(fake, "/search 百度")
        text = text_of(first)
        assert "共 7 项" in text and "1/2" in text and "文心一言合成算法" in text
        next_button = next(b for b in buttons(first) if "Next" in b["text"])
        assert next_button["callback_data"].endswith(":1")
        assert len(next_button["callback_data"].encode()) <= 64
        await press(fake, first, next_button["callback_data"])
        edited = await until(lambda: fake.calls_of("editMessageText"))
        page_two = text_of(edited[-1])
        assert "2/2" in page_two and page_two.count("文心一言合成算法") == 2
        assert any("Prev" in b["text"] for b in buttons(edited[-1]))
        assert fake.calls_of("answerCallbackQuery")

        english = text_of(await send(fake, "/search baidu"))
        assert "共 7 项" in english
        spaced = text_of(await send(fake, "/search Kimi 智能助手"))
        assert "共 1 项" in spaced and "Beijing-Kimi-20240101" in spaced
        by_number = text_of(await send(fake, "/search " + filing_record(3)["filing_number"][:16]))
        assert "共" in by_number
        product = text_of(await send(fake, "/search 风行视频"))  # inside the JSON products column
        assert "共 1 项" in product
        wildcard = text_of(await send(fake, "/search 50%折扣_"))  # LIKE wildcards are literal
        assert "共 1 项" in wildcard
        hostile = text_of(await send(fake, "/search <script>"))
        assert HOSTILE in hostile
        assert "no results" in text_of(await send(fake, "/search 不存在的公司"))
        assert "usage" in text_of(await send(fake, "/search"))
    assert not fake.rejected


async def test_export_sends_a_csv_with_bom(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db):
        found = await send(fake, "/search 百度")
        document = await send(fake, "/export")
        assert document.method == "sendDocument"
        name, body = document.files["document"]
        assert name.endswith(".csv") and body.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0][:3] == ["kind", "list_month", "filing_number"] and len(rows) == 8
        csv_button = next(b for b in buttons(found) if "CSV" in b["text"])
        await press(fake, found, csv_button["callback_data"])
        await until(lambda: len(fake.messages(USER, "sendDocument")) == 2)
        direct = await send(fake, "/export Kimi")
        assert direct.method == "sendDocument"
    assert not fake.rejected


async def test_watch_and_subscribe_persist(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db):
        watched = text_of(await send(fake, "/watch 百度"))
        assert "now watching" in watched and "7 filings match" in watched
        assert "already watching" in text_of(await send(fake, "/watch 百度"))
        await send(fake, "/watch Tencent")
        assert "Watching\n• 百度\n• Tencent" in text_of(await send(fake, "/watch"))
        assert "2 to 100" in text_of(await send(fake, "/watch x"))
        # A known company with no filing says so, never a bare 0 (one meaning per word).
        tesla = text_of(await send(fake, "/watch Tesla"))
        assert "0 filings match" in tesla and "Tesla: no filing on record" in tesla and "特斯拉：暂无备案记录" in tesla
        await send(fake, "/unwatch Tesla")
        assert "subscribed" in text_of(await send(fake, "/subscribe genai"))
        assert "unknown kind" in text_of(await send(fake, "/subscribe nonsense"))
        await send(fake, "/subscribe all")
    with db.session() as session:
        assert sorted(session.scalars(select(TelegramWatch.pattern).where(TelegramWatch.chat_id == USER))) == [
            "Tencent", "百度"]
        assert sorted(session.scalars(select(TelegramSubscription.kind))) == ["all", "genai_service"]
    # A restart keeps them.
    async with running_bot(fake, db):
        listing = text_of(await send(fake, "/watch"))
        assert "百度" in listing and "Tencent" in listing
        assert "stopped watching: 百度" in text_of(await send(fake, "/unwatch 百度"))
        assert "no such watch" in text_of(await send(fake, "/unwatch 百度"))
        assert "unsubscribed: genai_service" in text_of(await send(fake, "/unsubscribe genai"))
        await send(fake, "/unwatch")
        await send(fake, "/unsubscribe")
    with db.session() as session:
        assert telegram_repo.watches_of(session, USER) == [] and telegram_repo.subscriptions_of(session, USER) == []


async def test_help_lists_status_for_admins_only(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db):
        user_help = text_of(await send(fake, "/help"))
        admin_help = text_of(await send(fake, "/help", chat_id=ADMIN))
        admin_start = text_of(await send(fake, "/start", chat_id=ADMIN))
    assert "/watch" in user_help and "/status" not in user_help
    assert "/watch" in admin_help and "/status — 运行状态" in admin_help and "admins" in admin_help
    assert "/status" in admin_start
    assert not fake.rejected


async def test_status_is_for_admins_only(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db):
        refused = text_of(await send(fake, "/status"))
        assert "admins only" in refused and "Deliveries" not in refused
        status = text_of(await send(fake, "/status", chat_id=ADMIN))
        assert "Status" in status and "Deliveries" in status
    assert not fake.rejected


async def test_start_re_enables_a_user_who_had_blocked_the_bot(fake: FakeTelegram, db: Database) -> None:
    from storage.models_outbox import DisabledDestination

    with db.session() as session:
        session.add(DisabledDestination(destination=f"telegram:user:{USER}", reason="403 blocked"))
    async with running_bot(fake, db):
        await send(fake, "/start")
    with db.session() as session:
        assert session.get(DisabledDestination, f"telegram:user:{USER}") is None


WEBHOOK_SECRET = "tg-webhook-0123456789abcdef"


async def test_webhook_mode(fake: FakeTelegram, db: Database, unused_tcp_port: int) -> None:
    import httpx

    settings = {"mode": "webhook", "webhook_url": "https://bot.example/tg/hook", "webhook_listen": "127.0.0.1",
                "webhook_port": unused_tcp_port, "webhook_secret": WEBHOOK_SECRET}
    async with _webhook_bot(fake, db, settings):
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": int(time.time()), "chat": _chat(USER), "from": _user(USER), "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        # A forged update "from" an admin asking for /status: no header, or a wrong one, gets 403.
        forged = {"update_id": 2, "message": {
            "message_id": 2, "date": int(time.time()), "chat": _chat(USER), "from": _user(ADMIN), "text": "/status",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}}
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{unused_tcp_port}/tg/hook"
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "nope"},
                            {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1]}):
                assert (await client.post(url, json=forged, headers=headers)).status_code == 403
            right = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
            assert right.status_code == 200
        answer = await until(lambda: fake.messages(USER))
        assert "/watch" in text_of(answer[-1])
        await asyncio.sleep(0.2)
        assert len(fake.messages(USER)) == 1  # only /help was answered, never the forged /status
    (registered,) = fake.calls_of("setWebhook")
    assert registered.params["url"] == "https://bot.example/tg/hook"
    assert registered.params["secret_token"] == WEBHOOK_SECRET


@asynccontextmanager
async def _webhook_bot(fake: FakeTelegram, db: Database, settings: dict[str, Any]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(make_settings(fake, **settings), db, stop))
    await until(lambda: fake.calls_of("setWebhook") or task.done())
    if task.done():
        task.result()
    await asyncio.sleep(0.1)  # the HTTP server starts right after setWebhook
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


# --- many users at once, each within limits (bot.delivery.telegram.throttle) -----------------


async def test_one_slow_request_does_not_block_other_users(fake: FakeTelegram, db: Database) -> None:
    slow_user = 4242
    fake.slow_chats[str(slow_user)] = 3.0  # the answer to this user takes 3 s to be accepted
    async with running_bot(fake, db):
        fake.push_update({"message": {
            "message_id": next(_message_ids), "date": int(time.time()), "chat": _chat(slow_user),
            "from": _user(slow_user), "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}})
        await until(lambda: fake.messages(slow_user) or [c for c in fake.calls if c.chat_id == str(slow_user)])
        answer = await send(fake, "/help")  # another user, while the slow reply is in flight
        assert "/watch" in text_of(answer)
        assert fake.messages(slow_user) == []  # answered first: updates are not served one at a time
        await until(lambda: fake.messages(slow_user), timeout=10)


async def test_a_flooding_user_is_told_once_and_others_are_served(fake: FakeTelegram, db: Database) -> None:
    flooder = 5151
    async with running_bot(fake, db, user_requests_per_minute=5):
        for _ in range(12):
            fake.push_update({"message": {
                "message_id": next(_message_ids), "date": int(time.time()), "chat": _chat(flooder),
                "from": _user(flooder), "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}})
        def polite(text: str) -> bool:
            return text in (TOO_MANY, STILL_WORKING)

        await until(lambda: any(polite(m.text or "") for m in fake.messages(flooder)))
        answer = await send(fake, "/help")  # everyone else is unaffected
        assert "/watch" in text_of(answer)
        await until(lambda: sum("/watch" in (m.text or "") for m in fake.messages(flooder)) >= 2)
        texts = [m.text or "" for m in fake.messages(flooder)]
        assert sum(polite(t) for t in texts) == 1  # one polite answer a minute, not one per message
        assert sum("/watch" in t for t in texts) <= 5  # at most the allowed five were served
        assert len(texts) <= 6


async def test_the_rate_limit_is_per_user(fake: FakeTelegram, db: Database) -> None:
    async with running_bot(fake, db, user_requests_per_minute=3):
        for _ in range(3):  # one at a time: only the rate applies
            assert "/watch" in text_of(await send(fake, "/help"))
        assert text_of(await send(fake, "/help")) == TOO_MANY
        assert "/watch" in text_of(await send(fake, "/help", chat_id=7777))  # another user: own allowance


async def test_search_marks_removed_filings_and_export_has_no_formulas(fake: FakeTelegram, db: Database) -> None:
    """A filing that left every list never looks current in /search (issue 14 §4); /export's CSV
    has the export columns and no cell that would run as a formula (issue 10 #5)."""
    from bot.changes.export import FILING_COLUMNS
    from storage.models import Filing

    with db.session() as session:
        ds = seed_list(session, "deep_synthesis", "2026-06", 2)
        formula = filing_record(300, name='=HYPERLINK("http://evil.example","x")', entity="杭州公式科技有限公司")
        gone = filing_record(301, name="公式科技已移出算法", entity="杭州公式科技有限公司")
        seed_filings(session, ds, [formula, gone])
        row = session.scalars(select(Filing).where(Filing.filing_number == gone["filing_number"])).one()
        row.present = False
    async with running_bot(fake, db):
        text = text_of(await send(fake, "/search 公式科技"))
        (removed_entry,) = [block for block in text.split("\n\n") if "公式科技已移出算法" in block]
        assert "已移出名单 removed" in removed_entry
        (current_entry,) = [block for block in text.split("\n\n") if "HYPERLINK" in block]
        assert "removed" not in current_entry
        document = await send(fake, "/export 公式科技")
        _, body = document.files["document"]
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0] == list(FILING_COLUMNS)
        by_name = {r[FILING_COLUMNS.index("filing_number")]: r for r in rows[1:]}
        assert by_name[formula["filing_number"]][FILING_COLUMNS.index("name")] == "'" + formula["name"]
        assert by_name[gone["filing_number"]][FILING_COLUMNS.index("removed")] == "true"
        assert by_name[gone["filing_number"]][FILING_COLUMNS.index("entity_en")]
    assert not fake.rejected
