"""Links from the messages to the web app (issue 12): with ``web.public_url`` set, Telegram posts
(through the fake Bot API) and email digests (through aiosmtpd) link each list and filing to its
page; escaped; without public_url the messages are as before. Notifiers built by
``build_notifiers`` from the settings, as `cacwatch run` builds them."""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fake_telegram import FakeTelegram, filing_record, list_event, validate_html

from bot.settings.config import Settings, settings_from_mapping
from bot.delivery.notifiers.factory import build_notifiers
from bot.delivery.outbox import deliver_until_idle, enqueue
from sample_events import published_event, revised_event
from smtp_sink import Sink, smtp_server
from storage.db import Database

PUBLIC = "https://cac.example.org"
CHANNEL = "@cac_links"
# A number with characters that must be escaped in HTML and quoted in a URL.
HOSTILE = '网信算备"><b>x</b>&1号'


def _settings(notify: dict[str, Any], public_url: str | None) -> Settings:
    raw: dict[str, Any] = {"notify": notify}
    if public_url:
        raw["web"] = {"public_url": public_url}
    return settings_from_mapping(raw, env={})


def _filing_url(kind: str, number: str) -> str:
    return f"{PUBLIC}/filings/{kind}/{quote(number, safe='')}"


# --- Telegram ------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def _telegram_event() -> dict[str, Any]:
    changed = [dict(filing_record(7), changes={"status": ["active", "cancelled"]})]
    return list_event("list.revised", new=[filing_record(1), filing_record(2, name="x")], changed=changed,
                      removed=[dict(filing_record(9), filing_number=HOSTILE)],
                      published={"on": "2026-05-08", "basis": "first_seen"})


async def _post(fake: FakeTelegram, public_url: str | None) -> list[str]:
    telegram = {"token": fake.token, "api_base_url": fake.base_url, "channel": CHANNEL, "timeout": 5,
                "max_per_second": 1000, "max_per_minute_per_chat": 60000, "chart": False}
    [notifier] = build_notifiers(_settings({"telegram": telegram}, public_url))
    before = len(fake.messages(CHANNEL))
    try:
        await notifier.deliver(_telegram_event(), delivery_id=f"msg_{bool(public_url)}")  # type: ignore[arg-type]
    finally:
        await notifier.aclose()
    return [c.text or "" for c in fake.messages(CHANNEL)[before:]]


async def test_telegram_posts_link_lists_and_filings(fake: FakeTelegram) -> None:
    texts = await _post(fake, PUBLIC)
    joined = "\n".join(texts)
    for text in texts:
        validate_html(text)  # Telegram would accept every post
    for record in (filing_record(1), filing_record(2), filing_record(7)):
        url = _filing_url("deep_synthesis", record["filing_number"])
        # Both languages link the number.
        assert joined.count(f'<a href="{html.escape(url)}">{html.escape(record["filing_number"])}</a>') == 2
    hostile_url = _filing_url("deep_synthesis", HOSTILE)
    assert f'<a href="{html.escape(hostile_url)}">{html.escape(HOSTILE, quote=False)}</a>' in joined
    assert "<b>x</b>" not in joined
    assert joined.count(f'<a href="{PUBLIC}/lists/deep_synthesis/2026-05">') == 2
    assert "清单页面" in joined and "List page" in joined
    # cacwatch's archived copy of the list's file, beside CAC's own attachment link.
    archived = f'<a href="{PUBLIC}/lists/deep_synthesis/2026-05/file">'
    assert joined.count(archived) == 2 and "存档原件</a>" in joined and "Archived file</a>" in joined
    assert joined.count(html.escape(_telegram_event()["data"]["attachment_url"])) == 2
    # The list's date says on what it rests.
    assert "首次见于页面 2026-05-08" in joined and "First seen on the page 2026-05-08" in joined
    assert not fake.rejected

    plain = "\n".join(await _post(fake, None))
    assert PUBLIC not in plain and "List page" not in plain and "Archived file" not in plain
    assert f"<code>{filing_record(1)['filing_number']}</code>" in plain  # today's output


# --- email ---------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[int, Sink]]:
    sink = Sink()
    with smtp_server(sink) as port:
        yield port, sink


async def _digest(tmp_path: Path, port: int, sink: Sink, public_url: str | None) -> tuple[str, str]:
    db = Database(f"sqlite:///{tmp_path / f'links-{bool(public_url)}.db'}")
    db.migrate()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none", "sender": "watch@cacwatch.example",
             "recipients": ["legal@firm.example"], "timeout": 5, "chart": False}
    # With a database, the stored webhook endpoints come too: the email notifier is the one.
    [notifier] = [n for n in build_notifiers(_settings({"email": email}, public_url), db) if n.kind == "email"]
    published = published_event(3)
    revised = copy.deepcopy(revised_event(2, 1))
    revised["id"] = "evt_revised_1"
    revised["data"]["removed"][0]["filing_number"] = HOSTILE
    try:
        for event in (published, revised):
            with db.session() as session:
                enqueue(session, event, [notifier])
        run = await deliver_until_idle(db, {notifier.destination: notifier}, max_wait=15)
        assert run.delivered >= 1 and not run.errors
    finally:
        await notifier.aclose()
        db.dispose()
    _, message = sink.received.pop()
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return str(html_part.get_content()), str(text_part.get_content())


async def test_email_digest_links_lists_and_filings(tmp_path: Path, smtp: tuple[int, Sink]) -> None:
    port, sink = smtp
    body, text = await _digest(tmp_path, port, sink, PUBLIC)
    list_url = f"{PUBLIC}/lists/deep_synthesis/2026-05"
    assert f'href="{list_url}"' in body and list_url in text
    new = [r["filing_number"] for r in published_event(3)["data"]["new"]]
    changed = [r["filing_number"] for r in revised_event(2, 1)["data"]["changed"]]
    for number in new + changed:  # new filings previewed; cancellations listed
        url = _filing_url("deep_synthesis", number)
        assert f'href="{html.escape(url)}"' in body, number
        assert url in text, number
    hostile_url = _filing_url("deep_synthesis", HOSTILE)
    assert f'href="{hostile_url}"' in body and "&lt;b&gt;x&lt;/b&gt;&amp;1号" in body and hostile_url in text
    assert "<b>x</b>" not in body
    hrefs = re.findall(r'href="([^"]+)"', body)
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs)
    # cacwatch's archived copy of the list's file, beside CAC's attachment link.
    assert f'href="{list_url}/file"' in body and f"{list_url}/file" in text
    assert published_event(3)["data"]["attachment_url"] in text

    plain_body, plain_text = await _digest(tmp_path, port, sink, None)
    assert PUBLIC not in plain_body and PUBLIC not in plain_text and "List page" not in plain_body
    assert "/lists/deep_synthesis/2026-05/file" not in plain_text


def test_plain_summary_links_the_archived_file_and_dates_the_list() -> None:
    from bot.delivery.notifiers.text import plain_summary

    event = list_event(published={"on": "2024-04-02", "basis": "announced"})
    text = plain_summary(event, "both", PUBLIC)  # type: ignore[arg-type]
    assert f"Archived file: {PUBLIC}/lists/deep_synthesis/2026-05/file" in text
    assert event["data"]["attachment_url"] in text and event["data"]["page_url"] in text
    assert "发布 2024-04-02" in text and "published 2024-04-02" in text
    assert "/2026-05/file" not in plain_summary(event, "both")  # type: ignore[arg-type]
    # A 注销 notice is not the month's list: no archived-file link for it.
    notice = list_event(title="关于注销部分深度合成服务算法备案的公告", name="注销清单")
    assert "/2026-05/file" not in plain_summary(notice, "both", PUBLIC)  # type: ignore[arg-type]
