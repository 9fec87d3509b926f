"""Answers kept per data stamp (bot.web.answers): repeated GETs cost no query, and a kept answer
is never served once the data it came from changed, nor to another Host. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bot.web.answers import AnswerCache
from scrapers.replica.server import ReplicaServer

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from service_helpers import wait_until
    from web_helpers import ingest, running_server, write_config
except ImportError:  # pragma: no cover
    from tests.service_helpers import wait_until
    from tests.web_helpers import ingest, running_server, write_config

# The newest deep-synthesis batch of the replica: withheld, then published.
NEW_BATCH_PAGE = "/2024-01/05/c_1706119043746644.htm"


def test_kept_answers_follow_every_change_of_the_data(tmp_path: Path, database_url: str, make_settings: Any) -> None:
    with ReplicaServer() as replica:
        config = write_config(tmp_path / "config.yaml", make_settings(replica, database_url))
        publish = replica.withhold(NEW_BATCH_PAGE)
        ingest(config)
        with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
            paths = ["/api/v1/lists", "/api/v1/filings?limit=5", "/feeds/lists.atom", "/", "/search?q=%E7%AE%97%E6%B3%95"]
            first = {path: client.get(path) for path in paths}
            for path, answer in first.items():
                again = client.get(path)
                assert again.status_code == 200 and again.content == answer.content
                assert again.headers["etag"] == answer.headers["etag"]
                # Kept answers carry the same security headers as fresh ones.
                assert again.headers["content-security-policy"] == answer.headers["content-security-policy"]
                not_modified = client.get(path, headers={"If-None-Match": answer.headers["etag"]})
                assert not_modified.status_code == 304 and not_modified.content == b""

            # A new list: every kept answer that shows it is replaced.
            lists_before = first["/api/v1/lists"].json()["items"]
            total_before = first["/api/v1/filings?limit=5"].json()["total"]
            publish()
            ingest(config)
            lists_after = wait_until(lambda: (ls := client.get("/api/v1/lists").json()["items"]) != lists_before and ls, timeout=20)
            assert len(lists_after) == len(lists_before) + 1
            assert client.get("/api/v1/filings?limit=5").json()["total"] > total_before
            assert client.get("/feeds/lists.atom").content != first["/feeds/lists.atom"].content
            stale = client.get("/api/v1/lists", headers={"If-None-Match": first["/api/v1/lists"].headers["etag"]})
            assert stale.status_code == 200

            # Only re-checked (no new version): the list's last check is shown as it is now.
            kind, month = lists_after[0]["kind"], lists_after[0]["list_month"]
            checked = client.get(f"/api/v1/lists/{kind}/{month}").json()["list"]["last_checked_at"]
            ingest(config)
            assert wait_until(
                lambda: client.get(f"/api/v1/lists/{kind}/{month}").json()["list"]["last_checked_at"] != checked, timeout=20
            )


def test_kept_answers_are_per_host(tmp_path: Path, database_url: str, make_settings: Any, replica_readonly: ReplicaServer) -> None:
    """Without web.public_url, links are absolute on the Host asked: one kept answer per Host."""
    config = write_config(tmp_path / "config.yaml", make_settings(replica_readonly, database_url))
    ingest(config)
    with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(2):
            for host in ("a.example", "b.example"):
                feed = client.get("/feeds/lists.atom", headers={"Host": host}).text
                links = set(re.findall(r'href="(https?://[^/"]+)', feed))
                assert links == {f"http://{host}"}


@pytest.mark.parametrize("cache_mb", [0, 1])
def test_hits_misses_and_what_is_never_kept(database: Any, cache_mb: int) -> None:
    """In-process: counts of the ASGI layer itself (the cases above cannot see a hit)."""
    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    app = create_app(database, web=WebSettings(cache_mb=cache_mb), refresh_in_child=False)
    layer: Any = app
    while not isinstance(layer, AnswerCache):
        layer = layer.app
    cache: AnswerCache = layer

    async def requests() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers = []
            for path in ["/api/v1/lists", "/api/v1/lists", "/api/v1/filings/genai_service/" + quote("无此号"),
                         "/api/v1/filings/genai_service/" + quote("无此号"), "/api/v1/filings?limit=0", "/healthz-none"]:
                answers.append(await client.get(path))
            return answers

    answers = asyncio.run(requests())
    assert [a.status_code for a in answers] == [200, 200, 404, 404, 400, 404]
    assert answers[0].content == answers[1].content
    if cache_mb == 0:
        assert (cache.hits, cache.misses) == (0, 0)
    else:
        # The second /api/v1/lists is a hit; errors are answered afresh every time; the unknown
        # path is not one of the read side's routes and never passes through.
        assert (cache.hits, cache.misses) == (1, 4)


def test_concurrent_misses_of_one_answer_compute_it_once(tmp_path: Path) -> None:
    """Sixteen requests for one page while it is being computed: the app runs once, every
    request gets the same body; an answer that is not kept (no ETag) lets each compute its own,
    without waiting for the first to finish."""
    from starlette.requests import Request

    from bot.settings.config import WebSettings
    from bot.web.http import etag_response
    from bot.web.state import WebState
    from storage.corpus import Corpus
    from storage.db import Database

    database = Database(f"sqlite:///{tmp_path / 'flight.db'}")
    database.migrate()
    state = WebState(Corpus(database), WebSettings(cache_mb=1), lambda: 0)
    state.ensure_index()
    calls: dict[str, int] = {}

    async def slow_page(scope: Any, receive: Any, send: Any) -> None:
        calls[scope["path"]] = calls.get(scope["path"], 0) + 1
        await asyncio.sleep(0.05)  # a page being computed: the others arrive meanwhile
        if scope["path"] == "/groups/kept":
            await etag_response(Request(scope), b"<p>group</p>", "text/html")(scope, receive, send)
        else:  # a streamed download: no ETag, never kept
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
            await send({"type": "http.response.body", "body": b"a,b\n"})

    cache = AnswerCache(slow_page, lambda: state, max_bytes=1024 * 1024)

    async def run() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=cache)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            kept = await asyncio.gather(*(client.get("/groups/kept") for _ in range(16)))
            streamed = await asyncio.gather(*(client.get("/insights.csv") for _ in range(4)))
            return list(kept), list(streamed)

    kept, streamed = asyncio.run(run())
    database.dispose()
    assert [r.status_code for r in kept] == [200] * 16 and {r.content for r in kept} == {b"<p>group</p>"}
    assert calls["/groups/kept"] == 1 and (cache.hits, len(cache)) == (15, 1)
    assert [r.content for r in streamed] == [b"a,b\n"] * 4 and calls["/insights.csv"] == 4


def test_the_cache_stays_within_its_budget_under_100k_padded_urls(tmp_path: Path) -> None:
    """Issue 19 item 1: 100,000 distinct URLs, each padded to ~4 KB of query string, each a
    200 with an ETag (the worst case: an app that answers anything), through the real layer
    and a real WebState. What the layer counts stays within web.cache_mb, and what Python
    actually holds for it (tracemalloc) stays within that plus ENTRY_OVERHEAD per entry."""
    import tracemalloc

    from starlette.requests import Request

    from bot.settings.config import WebSettings
    from bot.web.answers import ENTRY_OVERHEAD, AnswerCache
    from bot.web.http import etag_response
    from bot.web.state import WebState
    from storage.corpus import Corpus
    from storage.db import Database

    # Storage plays no part beyond the stamp (one database is enough: this is about memory).
    database = Database(f"sqlite:///{tmp_path / 'flood.db'}")
    database.migrate()
    state = WebState(Corpus(database), WebSettings(cache_mb=1), lambda: 0)
    state.ensure_index()

    async def anything(scope: Any, receive: Any, send: Any) -> None:
        await etag_response(Request(scope), b'{"items":[]}' + scope["query_string"][-64:], "application/json")(scope, receive, send)

    budget = 1024 * 1024
    cache = AnswerCache(anything, lambda: state, max_bytes=budget)
    pad = "x" * 4000

    async def flood(start: int, count: int) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        for i in range(start, start + count):
            query = f"q={i}&pad={pad}".encode()
            scope = {"type": "http", "method": "GET", "path": "/api/v1/filings", "query_string": query,
                     "headers": [(b"host", b"a.example")], "scheme": "http", "client": ("127.0.0.1", 1)}
            await cache(scope, receive, send)

    asyncio.run(flood(0, 2000))  # warm: the store full, every lazy import done
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        asyncio.run(flood(2000, 100_000))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    database.dispose()
    assert cache.misses == 102_000 and cache.bytes_kept <= budget
    assert 0 < len(cache) <= cache.max_entries
    # Every entry now was made while traced (the 2,000 of the warm-up were all replaced), so
    # `held` is what the store really takes: no more than it counts (a few KiB of slack for
    # the allocator's and the dict's own rounding), so no more than the budget.
    assert held <= cache.bytes_kept + 16 * 1024 <= budget + 16 * 1024, (held, cache.bytes_kept, len(cache))
    # And what it counts is the content plus at most the stated overhead per entry (and the
    # sizes of the Python objects holding it).
    content = sum(len(a.body) + sum(len(k) + len(v) for k, v in a.headers) + len(a.etag) for a in cache._answers.values())
    assert content <= cache.bytes_kept
    print(f"\n{len(cache)} entries: counted {cache.bytes_kept} B, traced {held} B, content {content} B, overhead {ENTRY_OVERHEAD} B/entry")


def test_repeated_parameters_are_refused_and_parameter_order_is_one_key(database: Any) -> None:
    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    app = create_app(database, web=WebSettings(public_url="https://cac.example"), refresh_in_child=False)
    layer: Any = app
    while not isinstance(layer, AnswerCache):
        layer = layer.app
    cache: AnswerCache = layer

    async def requests() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get("/api/v1/filings?q=z&q=z&q=new"),
                await client.get("/search?kind=&kind=x"),
                await client.get("/api/v1/filings?limit=5&kind=deep_synthesis"),
                await client.get("/api/v1/filings?kind=deep_synthesis&limit=5"),
                await client.get("/api/v1/filings?kind=deep_%73ynthesis&limit=5", headers={"Host": "other.example"}),
            ]

    repeated, page_repeated, first, reordered, encoded = asyncio.run(requests())
    assert repeated.status_code == 400 and "q: given more than once" in repeated.json()["error"]
    assert page_repeated.status_code == 400 and "text/html" in page_repeated.headers["content-type"]
    assert first.status_code == reordered.status_code == encoded.status_code == 200
    # One entry for the three spellings (and, with web.public_url, for every Host).
    assert (cache.misses, cache.hits) == (1, 2) and len(cache) == 1
