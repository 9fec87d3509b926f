"""bot.web.console: the operator console over a real poll of the replica — sources and polls,
held re-issues confirmed and rejected, dead letters retried and then delivered to a local
receiver, a Telegram test post to the local fake Bot API — through the pages (forms with
CSRF) and the JSON API; members and anonymous visitors kept out. A Chromium test walks
sign-in → console → confirm. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from bot.web import users as accounts
from bot.app.cli import app as cli
from bot.settings.config import load_settings
from fake_telegram import FakeTelegram
from conftest import WEBHOOK_SECRET
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from test_holds import _truncate
from test_pipeline import DS_2023_08
from webhook_receiver import Answer, Receiver

runner = CliRunner()
PASSWORD = "operator password 1"
MEMBER_PASSWORD = "member password 1"


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _write_config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings: Any, receiver: Receiver,
                  fake_telegram: FakeTelegram) -> Path:
    notify = {
        "webhooks": [{"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}],
        "telegram": {"token": fake_telegram.token, "api_base_url": fake_telegram.base_url, "channel": "@cac_test",
                     "interactive": False, "chart": False},
    }
    settings = make_settings(replica, database_url, **notify)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def console_config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings: Any, receiver: Receiver,
                   fake_telegram: FakeTelegram) -> Path:
    return _write_config(tmp_path, replica, database_url, make_settings, receiver, fake_telegram)


def _types(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.on("/hook")]


def _cli(config: Path, *args: str) -> Any:
    result = runner.invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result


def _prepare(config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str, *, keep: int = 40) -> Database:
    """A polled store whose webhook deliveries died (a redirect is never followed) and whose
    DS 2023-08 list came back cut short (held); an operator and a member account."""
    receiver.answers["/hook"] = Answer(status=302, headers={"location": "https://elsewhere.example/"})
    _cli(config, "check", "--once")
    _truncate(replica, DS_2023_08, keep=keep)
    assert "1 held as suspect" in _cli(config, "check", "--once").stdout
    db = Database(database_url)
    accounts.add_user(db, "op@example.org", role="operator", password=PASSWORD, name="Olga Op")
    accounts.add_user(db, "ada@example.org", role="member", password=MEMBER_PASSWORD)
    return db


def _console_app(config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str, *,
                 token_of: str) -> tuple[Database, Any, str]:
    """The prepared store, the app over it (with the config's notify settings), and a personal
    API token of the account ``token_of``."""
    from bot.web.app import create_app

    db = _prepare(config, replica, receiver, database_url)
    settings = load_settings(config)
    account = accounts.user_by_email(db, token_of)
    assert account is not None
    token = accounts.create_token(db, account.id, "t").secret
    return db, create_app(db, web=settings.web, settings=settings, refresh_in_child=False), token


async def _sign_in(http: httpx.AsyncClient, email: str, password: str) -> None:
    page = await http.get("/signin")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert token is not None
    answer = await http.post("/signin", data={"csrf_token": token.group(1), "email": email, "password": password})
    assert answer.status_code == 303, answer.text


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', text)
    assert found is not None
    return found.group(1)


def test_console_pages_and_api(console_config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str,
                               fake_telegram: FakeTelegram) -> None:
    db, app, member_token = _console_app(console_config, replica, receiver, database_url, token_of="ada@example.org")

    async def steps(http: httpx.AsyncClient) -> dict[str, Any]:
        r: dict[str, Any] = {"anonymous": await http.get("/console"), "anonymous_api": await http.get("/api/v1/console/holds")}
        member = {"Authorization": f"Bearer {member_token}"}
        r["member_api"] = await http.get("/api/v1/console/holds", headers=member)
        r["member_confirm"] = await http.post("/api/v1/console/holds/1/confirm", headers=member)
        await _sign_in(http, "ada@example.org", MEMBER_PASSWORD)
        r["member_page"] = await http.get("/console")
        http.cookies.clear()

        await _sign_in(http, "op@example.org", PASSWORD)
        page = await http.get("/console")
        r["page"] = page
        csrf = _csrf(page.text)
        r["holds"] = (await http.get("/api/v1/console/holds")).json()
        r["outbox"] = (await http.get("/api/v1/console/outbox")).json()
        r["sources"] = (await http.get("/api/v1/console/sources")).json()
        r["telegram"] = (await http.get("/api/v1/console/telegram")).json()
        r["totals"] = await http.get("/api/v1/console/totals")
        r["subscribers"] = await http.get("/api/v1/console/subscribers")
        r["incidents"] = await http.get("/api/v1/console/incidents")
        shown = next((d["destination"] for d in r["outbox"]["items"] if d["destination"].startswith("webhook:")), None)
        assert shown, r["outbox"]
        r["retry_no_csrf"] = await http.post("/console/outbox/retry", data={"destination": shown})
        r["retry_unknown"] = await http.post("/console/outbox/retry", data={"csrf_token": csrf, "destination": "webhook:nope"})
        r["retry"] = await http.post("/console/outbox/retry", data={"csrf_token": csrf, "destination": shown})
        r["after_retry"] = (await http.get("/api/v1/console/outbox")).json()
        r["done_page"] = await http.get(r["retry"].headers["location"])
        list_id = r["holds"]["items"][0]["list_id"]
        r["confirm_no_csrf"] = await http.post(f"/console/holds/{list_id}/confirm", data={"x": "1"})
        r["confirm"] = await http.post(f"/console/holds/{list_id}/confirm", data={"csrf_token": csrf})
        r["confirm_again"] = await http.post(f"/api/v1/console/holds/{list_id}/confirm", headers={"Content-Type": "application/json"}, content=b"{}")
        r["holds_after"] = (await http.get("/api/v1/console/holds")).json()
        r["test_post"] = await http.post("/console/telegram/test", data={"csrf_token": csrf})
        return r

    async def go() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await steps(http)

    try:
        r = asyncio.run(go())
    finally:
        db.dispose()
    assert r["anonymous"].status_code == 303 and r["anonymous"].headers["location"].startswith("/signin")
    assert r["anonymous_api"].status_code == 401
    assert r["member_api"].status_code == 403 and r["member_confirm"].status_code == 403 and r["member_page"].status_code == 403
    page = r["page"]
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "2023-08" in page.text and "Confirm" in page.text and "Reject" in page.text
    assert "@cac_test" in page.text
    # The receiver's URL is on loopback with a random port; whatever is shown is masked, the secret never.
    assert WEBHOOK_SECRET not in page.text and fake_telegram.token not in page.text
    held = r["holds"]["items"]
    assert len(held) == 1 and held[0]["kind"] == "deep_synthesis" and held[0]["lost"] >= 50
    webhook = next(d for d in r["outbox"]["items"] if d["destination"].startswith("webhook:"))
    assert webhook["counts"]["dead"] >= 1 and len(webhook["dead_letters"]) == webhook["counts"]["dead"]
    assert r["sources"]["sources"][0]["name"] == "cac" and len(r["sources"]["polls"]) == 2
    assert r["telegram"]["channels"] == ["@cac_test"] and r["telegram"]["configured"] is True
    for name in ("totals", "subscribers", "incidents"):
        assert r[name].status_code == 200 and "items" in r[name].json()
    assert r["retry_no_csrf"].status_code == 403 and r["retry_unknown"].status_code == 404
    assert r["retry"].status_code == 303 and r["retry"].headers["location"] == "/console?done=retried"
    retried = next(d for d in r["after_retry"]["items"] if d["destination"].startswith("webhook:"))
    assert retried["counts"]["dead"] == 0 and retried["counts"]["pending"] + retried["counts"]["failed"] >= webhook["counts"]["dead"]
    assert "Dead letters queued again" in r["done_page"].text
    assert r["confirm_no_csrf"].status_code == 403
    assert r["confirm"].status_code == 303 and r["confirm_again"].status_code == 404
    assert r["holds_after"]["items"] == []
    assert r["test_post"].status_code == 303 and r["test_post"].headers["location"] == "/console?done=posted"
    posts = [c for c in fake_telegram.messages("@cac_test") if c.text and "test post" in c.text]
    assert len(posts) == 1 and "Olga Op" in posts[0].text

    # The dead letters queued again and the confirmed re-issue's list.revised go out with the next poll.
    receiver.answers["/hook"] = Answer(status=204)
    _cli(console_config, "check", "--once")
    types = _types(receiver)
    assert "list.revised" in types and "baseline.established" in types


def test_reject_from_the_console_keeps_the_list(console_config: Path, replica: ReplicaServer, receiver: Receiver,
                                                  database_url: str) -> None:
    db, app, token = _console_app(console_config, replica, receiver, database_url, token_of="op@example.org")
    bearer = {"Authorization": f"Bearer {token}"}

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            holds = (await http.get("/api/v1/console/holds", headers=bearer)).json()["items"]
            list_id = holds[0]["list_id"]
            return [await http.post(f"/api/v1/console/holds/{list_id}/reject", headers=bearer),
                    await http.post(f"/api/v1/console/holds/{list_id}/reject", headers=bearer),
                    await http.get("/api/v1/console/holds", headers=bearer)]

    try:
        rejected, again, after = asyncio.run(go())
    finally:
        db.dispose()
    assert rejected.status_code == 200 and rejected.json()["rejected"]["list_month"] == "2023-08"
    assert again.status_code == 404 and after.json() == {"items": []}
    assert _cli(console_config, "lists", "held").stdout.strip() == "no list is held"


def test_browser_signs_in_and_confirms_a_held_reissue(replica: ReplicaServer, receiver: Receiver, make_settings: Any,
                                                       fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from test_web_browser import ARGS, CHROMIUM, Watched
    from web_helpers import running_server

    # One browser run, on SQLite: the pages are the same on PostgreSQL (covered in process above).
    database_url = f"sqlite:///{tmp_path / 'browser.db'}"
    console_config = _write_config(tmp_path, replica, database_url, make_settings, receiver, fake_telegram)
    db = _prepare(console_config, replica, receiver, database_url)
    db.dispose()
    with running_server(console_config) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            watched = Watched(page)
            page.goto(base + "/console")
            assert page.url.startswith(base + "/signin")  # sent to sign in first, and back after
            page.fill("input[name=email]", "op@example.org")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]:has-text('Sign in')")
            page.wait_for_url(base + "/console")
            assert "Held (suspect) re-issues" in page.content()
            row = page.locator("tr.hold", has_text="2023-08")
            assert row.count() == 1
            row.locator("button", has_text="Confirm").click()
            page.wait_for_url(base + "/console?done=confirmed")
            assert "Confirmed: its changes are queued" in page.content()
            assert page.locator("tr.hold").count() == 0
            page.locator("tr.destination", has_text="webhook").locator("button", has_text="Retry").click()
            page.wait_for_url(base + "/console?done=retried")
            page.screenshot(path=str(tmp_path / "console.png"))
            assert watched.unexpected() == []
        finally:
            browser.close()
    _cli(console_config, "check", "--once")
    assert "list.revised" in _types(receiver)
