"""Issue 22's sign-up as a person does it, in headless Chromium (Playwright) against `cacwatch serve`
in its own process, with mail through a real SMTP server (aiosmtpd): sign up → confirmation mail →
confirm → change preferences → unsubscribe; a poll before the confirmation mails nothing to the
pending address. The console stays clean (no errors, no CSP violations)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from sqlalchemy import select

from service_helpers import free_port
from smtp_sink import Sink, smtp_server
from storage.db import Database
from storage.models_email import EmailSubscriber
from test_web_browser import ARGS, CHROMIUM, Watched
from web_helpers import ingest, running_server, write_config

READER = "reader@lawfirm.example"


def _row(url: str) -> EmailSubscriber:
    db = Database(url)
    try:
        with db.session() as session:
            row = session.scalar(select(EmailSubscriber).where(EmailSubscriber.address == READER))
            assert row is not None
            session.expunge(row)
            return row
    finally:
        db.dispose()


def test_sign_up_confirm_change_and_unsubscribe_in_a_browser(tmp_path: Path, replica: Any, make_settings: Any) -> None:
    sink = Sink()
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with smtp_server(sink) as smtp:
        email = {"smtp_host": "127.0.0.1", "smtp_port": smtp, "security": "none", "sender": "watch@cacwatch.example",
                 "digest": "immediate", "timeout": 5}
        settings = make_settings(replica, url, email=email)
        config = write_config(tmp_path / "config.yaml", settings, web={"public_url": base})
        with running_server(config, "--port", str(port)) as served, sync_playwright() as playwright:
            assert served == base
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
            watched = Watched(context.new_page())
            page = watched.page

            page.goto(base + "/")
            page.locator("footer a[href='/subscribe']").click()
            page.wait_for_url("**/subscribe")
            page.locator("#email").fill(READER)
            page.locator("input[name=kind_genai_service]").check()
            page.locator("#cadence").select_option("daily")
            page.locator("#language").select_option("en")
            page.locator("#watchlist").fill("字节跳动")
            page.locator("#attach_brief").check()
            page.locator("#subscribe").click()
            page.wait_for_selector("#sent")
            assert READER in page.locator("#sent").inner_text()
            page.screenshot(path=str(tmp_path / "subscribe-sent.png"))

            assert len(sink.received) == 1
            row = _row(url)
            assert (row.status, row.kinds, row.cadence, row.language, row.watchlist, row.attach_brief) == (
                "pending", ["genai_service"], "daily", "en", ["字节跳动"], True)
            ingest(config)  # a poll while pending: its baseline goes to no one
            assert len(sink.received) == 1

            body = sink.messages[0].get_body(("plain",))
            assert body is not None
            link = re.search(rf"{re.escape(base)}/subscribe/confirm\?token=[A-Za-z0-9_-]+", str(body.get_content()))
            assert link is not None
            page.goto(link.group(0))
            assert _row(url).status == "pending"  # opening the link changes nothing
            page.locator("#confirm").click()
            page.wait_for_selector("#confirmed")
            assert _row(url).status == "active"

            page.locator("#manage").click()
            page.wait_for_url("**/subscriptions/manage?token=*")
            assert page.locator("#address").inner_text() == READER
            assert page.locator("#cadence").input_value() == "daily"
            page.locator("#cadence").select_option("weekly")
            page.locator("input[name=kind_deep_synthesis]").check()
            page.locator("#watchlist").fill("腾讯\nAlibaba")
            page.locator("#save").click()
            page.wait_for_selector("#saved")
            assert page.locator("#cadence").input_value() == "weekly"
            row = _row(url)
            assert (row.cadence, row.kinds, row.watchlist) == ("weekly", ["deep_synthesis", "genai_service"], ["腾讯", "Alibaba"])

            page.locator("#unsubscribe").click()
            page.wait_for_selector("#unsubscribed")
            assert _row(url).unsubscribed is True
            page.screenshot(path=str(tmp_path / "subscribe-unsubscribed.png"))
            assert watched.unexpected() == []
            context.close()
            browser.close()
    assert len(sink.received) == 1  # only ever the confirmation
