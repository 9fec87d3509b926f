"""`cacwatch run` as the web app's host, and the digest's unsubscribe link followed as a person would (issue 10 item 7).

`cacwatch run` (in-process) polls the replica and mails its baseline digest to a real SMTP
server (aiosmtpd); the link in that mail is then opened against the service's own web app:
a GET shows a confirmation page and changes nothing, its form's POST unsubscribes. Bad tokens
get a 4xx page, never a 5xx; web.auth does not lock recipients out of the link.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from aiosmtpd.controller import Controller

from bot.settings.config import WebAuthSettings, WebSettings
from bot.delivery.email.subscribers import load_subscribers
from bot.web.http import CSP
from scrapers.replica.server import ReplicaServer
from service_helpers import async_wait_until, free_port, running_service, service_settings
from smtp_sink import Sink
from storage.db import Database

ADDRESS = "partner@firm.example"
PUBLIC = "https://cacwatch.example"  # behind a TLS proxy; the test plays the proxy's part


def _unsubscribed(settings: Any, db: Database) -> bool:
    with db.session() as session:
        [subscriber] = [s for s in load_subscribers(settings.notify.email, session) if s.address == ADDRESS]
    return subscriber.unsubscribed


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


async def test_digest_link_confirms_on_get_and_unsubscribes_on_post(replica: ReplicaServer, tmp_path: Path) -> None:
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    notify = {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "security": "none", "timeout": 5,
                        "sender": "watch@cacwatch.example", "recipients": [ADDRESS], "public_base_url": PUBLIC}}
    settings = service_settings(replica, f"sqlite:///{tmp_path / 'cacwatch.db'}", tmp_path / "data", interval="1h",
                                service={"health_port": port, "health_host": "127.0.0.1"}, notify=notify)
    # A private deployment: the app needs a token, the unsubscribe link and the probes do not.
    settings = settings.model_copy(update={"web": WebSettings(auth=WebAuthSettings(token="internal-token-123"))})
    try:
        async with running_service(settings) as service, httpx.AsyncClient(timeout=10) as client:
            assert await async_wait_until(lambda: sink.messages, timeout=30), "no digest arrived"
            message = sink.messages[0]
            [public] = set(re.findall(r'href="(https://cacwatch\.example/email/unsubscribe\?token=[^"]+)"', _body(message, "html")))
            public = html.unescape(public)
            assert public in _body(message, "plain")
            link = base + public.removeprefix(PUBLIC)

            # A person's click: a confirmation page; nothing changes (prefetchers follow links too).
            page = await client.get(link)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert page.headers["content-security-policy"] == CSP and "<script" not in page.text
            assert ADDRESS in page.text and 'method="post"' in page.text
            assert (await client.head(link)).status_code == 200
            assert not _unsubscribed(settings, service.db)

            # The page's button: a form POST to the action it names.
            [action] = re.findall(r'<form method="post" action="([^"]*)"', page.text)
            done = await client.post(urljoin(link, html.unescape(action)), data={})
            assert done.status_code == 200 and "Unsubscribed" in done.text and ADDRESS in done.text
            assert _unsubscribed(settings, service.db)
            again = await client.get(link)
            assert again.status_code == 200 and "already unsubscribed" in again.text and "<form method" not in again.text

            # Bad links: a clear 404 page, the token never echoed raw.
            hostile = "<script>alert(1)</script>"
            for bad in (f"{base}/email/unsubscribe?token=not-a-real-token", f"{base}/email/unsubscribe",
                        f"{base}/email/unsubscribe?token={hostile}"):
                for method in ("GET", "POST"):
                    answer = await client.request(method, bad)
                    assert answer.status_code == 404, (method, bad)
                    assert "Unknown or expired unsubscribe link" in answer.text and hostile not in answer.text
            assert (await client.put(link)).status_code == 405
            # Everything else stays behind web.auth; the probes stay open.
            assert (await client.get(f"{base}/")).status_code == 401
            assert (await client.get(f"{base}/", headers={"Authorization": "Bearer internal-token-123"})).status_code == 200
            assert (await client.get(f"{base}/healthz")).status_code == 200
    finally:
        smtp.stop()


async def test_run_serves_the_web_app_and_keeps_its_index_current(replica: ReplicaServer, tmp_path: Path) -> None:
    """`cacwatch run` answers the pages, the API and the feeds on its HTTP address, and indexes
    what its poll stored without waiting for a visitor's search to do it."""
    from bot.web.app import web_state_of
    from storage.corpus import Corpus

    settings = service_settings(replica, f"sqlite:///{tmp_path / 'cacwatch.db'}", tmp_path / "data", interval="1h",
                                service={"health_port": 0, "health_host": "127.0.0.1"})
    async with running_service(settings) as service, httpx.AsyncClient(timeout=10) as client:
        assert service.health is not None
        base = f"http://127.0.0.1:{service.health.port}"
        assert await async_wait_until(lambda: service.state.polls >= 1, timeout=30)
        assert service.state.last_poll_ok
        state = web_state_of(service.health.app)
        stored = Corpus(service.db).data_version()
        # No request has been made: the service's own keeper brings the index up to the ingest.
        assert await async_wait_until(lambda: state.indexed_version == stored, timeout=20)

        first = (await client.get(f"{base}/api/v1/filings", params={"limit": 1})).json()["items"][0]
        number = first["filing_number"]
        found = (await client.get(f"{base}/api/v1/filings", params={"q": number})).json()
        assert found["items"][0]["filing_number"] == number
        filing = await client.get(f"{base}/filings/{first['kind']}/{number}")
        assert filing.status_code == 200 and html.escape(first["entity"]) in filing.text
        assert filing.headers["content-security-policy"] == CSP
        overview = await client.get(f"{base}/")
        assert overview.status_code == 200 and 'action="/search"' in overview.text
        assert (await client.get(f"{base}/feeds/lists.atom")).status_code == 200
        assert (await client.get(f"{base}/healthz")).text.startswith("ok ")
        assert (await client.post(f"{base}/api/v1/filings")).status_code == 405


async def test_run_on_all_interfaces_without_auth_serves_the_web_app_to_this_machine_only(
    replica: ReplicaServer, tmp_path: Path, caplog: Any
) -> None:
    """The default address (0.0.0.0) and no web.auth: probes for everyone, the web app for
    loopback clients only, and the start says so (and that feed links follow the Host)."""
    import logging

    settings = service_settings(replica, f"sqlite:///{tmp_path / 'cacwatch.db'}", tmp_path / "data", interval="1h",
                                service={"health_port": 0, "health_host": "0.0.0.0"})
    caplog.set_level(logging.WARNING)
    async with running_service(settings) as service, httpx.AsyncClient(timeout=10) as client:
        assert service.health is not None
        base = f"http://127.0.0.1:{service.health.port}"
        assert (await client.get(f"{base}/api/v1/lists")).status_code == 200  # this machine
        outside = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.health.app, client=("203.0.113.7", 4000)), base_url="http://x")
        async with outside:
            refused = await outside.get("/api/v1/lists")
            assert refused.status_code == 403 and "web.auth" in refused.json()["error"]
            assert refused.headers["content-security-policy"] == CSP
            assert (await outside.get("/healthz")).status_code == 200
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "answers clients on this machine only" in said and "web.public_url" in said and "Host header" in said


async def test_web_open_serves_everyone_and_says_so(replica: ReplicaServer, tmp_path: Path, caplog: Any) -> None:
    import logging

    settings = service_settings(replica, f"sqlite:///{tmp_path / 'cacwatch.db'}", tmp_path / "data", interval="1h",
                                service={"health_port": 0, "health_host": "0.0.0.0"})
    settings = settings.model_copy(update={"web": WebSettings(open=True, public_url="https://cac.example")})
    caplog.set_level(logging.WARNING)
    async with running_service(settings) as service:
        assert service.health is not None
        outside = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.health.app, client=("203.0.113.7", 4000)), base_url="http://x")
        async with outside:
            assert (await outside.get("/api/v1/lists")).status_code == 200
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "without credentials" in said and "Host header" not in said


def test_half_sent_headers_are_cut_off(tmp_path: Path) -> None:
    """Slowloris: a connection that never finishes its headers is closed (bot.web.guard),
    while a whole request on another connection is answered."""
    import socket
    import time

    from bot.settings.config import settings_from_mapping
    from bot.web.guard import HEADER_TIMEOUT
    from web_helpers import running_server, write_config

    settings = settings_from_mapping({"database": {"url": f"sqlite:///{tmp_path / 'slow.db'}"}}, env={})
    config = write_config(tmp_path / "config.yaml", settings)
    with running_server(config) as base:
        host, port = base.removeprefix("http://").split(":")
        slow = socket.create_connection((host, int(port)), timeout=HEADER_TIMEOUT + 10)
        slow.sendall(b"GET /api/v1/lists HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert httpx.get(base + "/healthz-none", timeout=10).status_code == 404  # others are served meanwhile
        for _ in range(int(HEADER_TIMEOUT)):  # trickle a header line a second, as slowloris does
            try:
                slow.sendall(b"X-a: b\r\n")
            except OSError:
                break
            time.sleep(1)
        try:
            closed = slow.recv(1024) == b""
        except ConnectionResetError:
            closed = True
        slow.close()
        assert closed and time.monotonic() - started < HEADER_TIMEOUT + 8
