"""A developer with a real browser (headless Chromium from the OS, driven by Playwright) adds a
webhook endpoint to a running `cacwatch serve`, keeps the secret it is shown once, sends a test
event that a local receiver verifies (standardwebhooks), replays the stored events (each
delivered once, with one webhook-id per event), rotates the secret (a receiver holding the old
one and one holding the new one both verify the next delivery) and watches a failing receiver's
attempts, with their status codes, in the delivery log. SQLite and PostgreSQL.

The operator and a member are accounts that sign in at /signin (sessions); the member sees and
reaches only their own endpoints and cannot ask for allow_private.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page

from bot.delivery.outbox import enqueue, new_event_id
from sample_events import published_event
from storage.db import Database
from standardwebhooks.webhooks import Webhook
from webhook_receiver import Answer, Receiver

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from test_web_browser import Watched, browser  # noqa: F401 - the module's Chromium fixture
    from web_helpers import serve_process
except ImportError:  # pragma: no cover
    from tests.test_web_browser import Watched, browser  # noqa: F401
    from tests.web_helpers import serve_process

OPERATOR = "ops@example.org"
PASSWORD = "correct-horse-battery-staple-42"
MEMBER = "ada@example.org"
MEMBER_PASSWORD = "member-password-0123"


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """`cacwatch serve` over a store holding two events made before any endpoint existed."""
    from bot.web.users import add_user

    db = Database(database_url)
    db.migrate()
    add_user(db, OPERATOR, role="operator", password=PASSWORD)
    add_user(db, MEMBER, role="member", password=MEMBER_PASSWORD)
    ids = []
    with db.session() as session:
        for n in (2, 3):
            event = published_event(n)
            event["id"] = new_event_id()
            enqueue(session, event, [])
            ids.append(event["id"])
    db.dispose()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"database": {"url": database_url}, "data_dir": str(tmp_path / "data")}),
        encoding="utf-8",
    )
    with serve_process(config) as (base, _):
        yield base, ids


def _sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(base + "/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)


def _add(page: Page, base: str, url: str) -> tuple[int, str]:
    """Add an endpoint through the form; (its id, the secret shown once)."""
    page.goto(base + "/endpoints/new")
    page.fill("input[name=url]", url)
    page.check("input[name=allow_private]")
    page.click("button[type=submit]:has-text('Add endpoint')")
    secret = page.inner_text("#secret").strip()
    match = re.search(r"Webhook endpoint (\d+)", page.inner_text("h1"))
    assert match is not None and secret.startswith("whsec_")
    return int(match.group(1)), secret


def _verified(secret: str, received: Any) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


def test_an_endpoint_added_in_the_browser(served: tuple[str, list[str]], browser: Browser, receiver: Receiver) -> None:  # noqa: F811
    base, stored = served
    receiver.answers["/down"] = Answer(status=503, body=b"maintenance")
    context = browser.new_context(locale="en-US")
    watched = Watched(context.new_page())
    page = watched.page
    _sign_in(page, base, OPERATOR, PASSWORD)

    # Added in the browser: the secret once, never again.
    endpoint, secret = _add(page, base, receiver.base_url + "/ok")
    page.goto(f"{base}/endpoints/{endpoint}")
    assert secret not in page.content()
    assert page.inner_text("#url") == receiver.base_url + "/ok"

    # Send test event: received and verified by the receiver; the log says 200.
    page.click("#send-test")
    assert "Test event sent" in page.inner_text("main")
    (test,) = receiver.on("/ok")
    assert _verified(secret, test)["type"] == "endpoint.test"
    assert page.inner_text("#attempts tbody tr:first-child td.status") == "200"

    # Replay since a date: each stored event delivered once; replayed again, nothing is resent.
    page.fill("input[name=since]", "2020-01-01")
    page.click("#replay")
    assert "Queued again" in page.inner_text("main")
    replayed = receiver.on("/ok")[1:]
    assert sorted(_verified(secret, r)["id"] for r in replayed) == sorted(stored)
    assert len({r.headers["webhook-id"] for r in replayed}) == 2
    page.fill("input[name=since]", "2020-01-01")
    page.click("#replay")
    assert len(receiver.on("/ok")) == 3

    # Rotation: the new secret shown once; the next delivery verifies with the old and the new.
    page.click("#rotate")
    new_secret = page.inner_text("#secret").strip()
    assert new_secret.startswith("whsec_") and new_secret != secret
    page.click("#send-test")
    rotated = receiver.on("/ok")[3]
    assert _verified(secret, rotated)["type"] == "endpoint.test"
    assert _verified(new_secret, rotated)["type"] == "endpoint.test"
    assert new_secret not in page.content()

    # A failing receiver: its attempt in the log with its status code and the answer's text.
    failing, _ = _add(page, base, receiver.base_url + "/down")
    page.click("#send-test")
    assert "not delivered" in page.inner_text("main")
    row = page.locator("#attempts tbody tr").first
    assert row.locator("td.status").inner_text() == "503"
    assert "maintenance" in row.inner_text() and "retry" in row.inner_text()
    assert len(receiver.on("/down")) == 1

    # Disable / enable; the list shows both endpoints.
    page.click("#disable")
    assert page.inner_text("#state").startswith("disabled")
    page.click("#enable")
    assert page.inner_text("#state") == "enabled"
    page.goto(base + "/endpoints")
    listed = page.inner_text("main")
    assert receiver.base_url + "/ok" in listed and receiver.base_url + "/down" in listed
    assert watched.unexpected() == []
    assert json.loads(receiver.on("/down")[0].body)["data"]["endpoint_id"] == failing
    context.close()

    # A member signed in with a session: only their own endpoints, no allow_private, others' a 404.
    member = browser.new_context(locale="en-US")
    page = member.new_page()
    _sign_in(page, base, MEMBER, MEMBER_PASSWORD)
    page.goto(base + "/endpoints/new")
    assert page.locator("input[name=allow_private]").count() == 0
    page.fill("input[name=url]", "https://93.184.215.14/hooks/ada")
    page.click("button[type=submit]:has-text('Add endpoint')")
    assert page.inner_text("#secret").startswith("whsec_")
    page.goto(base + "/endpoints")
    listed = page.inner_text("main")
    assert "93.184.215.14/hooks/ada" in listed and receiver.base_url not in listed
    assert page.goto(f"{base}/endpoints/{endpoint}").status == 404
    assert page.goto(f"{base}/endpoints/{failing}").status == 404
    member.close()
