"""Whole answers of the read side kept per data stamp, so a repeated GET costs no query.

The corpus changes a few times a month (an ingest), while feed readers poll the same feeds and
people run the same searches: every answer of the API, the feeds and the pages is a function of
its path, its parameters (and, for absolute links without ``web.public_url``, the Host it was
asked on) and of the stored data. This ASGI layer keeps complete 200 answers that carry an ETag
(``bot.web.http.etag_response``) under the ``DataStamp`` they were computed from, in a
least-recently-used store; a request whose stamp is still current is answered from it — a 304
when ``If-None-Match`` names its ETag — without reaching the app. The stamp is read at most
every 0.25 s (``WebState.due``), so an ingest shows within that, as without this layer.

The bound is real (an open server gets every URL an attacker can make up):

- an entry costs every byte it holds — key, headers, body (kept compressed: zlib at level 1
  makes a page of Chinese HTML or JSON about 6× smaller for under a millisecond once, and a hit
  pays ~0.1 ms to expand it, so the default 8 MB holds the few hundred answers a busy read side
  repeats rather than the last hundred), as Python allocates them (``sys.getsizeof``) — plus
  ``ENTRY_OVERHEAD`` for the store's own bookkeeping (the ordered
  dict's slot and link, the entry object): the total stays within ``web.cache_mb``;
- at most ``max_bytes // MIN_ENTRY_COST`` entries, whatever their size;
- the key is the parsed parameters in a canonical order, not the raw query string, so
  ``?a=1&b=2``, ``?b=2&a=1`` and ``?a=%31&b=2`` are one entry; a repeated parameter
  (``?q=a&q=b``) is refused with a 400 before anything runs (every handler reads one value,
  so the extra ones only made new keys), on every route of the read side, kept or not;
- with ``web.public_url`` links do not depend on the Host, so neither does the key.

Concurrent misses of one key are computed once: the first request computes the answer while
the others wait for it (``_flights``) and are answered from the store — 16 clients opening the
largest group's page after an ingest cost one computation, not sixteen queued behind each
other. A waiter computes its own answer when the first one turns out not to be kept (a
streamed download, an error, a private answer): it is told as soon as that is known.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.http import error_response, if_none_match_matches
from bot.web.state import WebState
from storage.corpus import DataStamp

__all__ = ["AnswerCache", "CACHED_PREFIXES", "ENTRY_OVERHEAD", "MIN_ENTRY_COST", "repeated_parameter"]

# The read side's own routes (API, feeds, pages, the OpenAPI document); not the probes,
# /metrics, the unsubscribe pages or static files, which answer for themselves.
CACHED_PREFIXES = (
    "/api/v1/", "/feeds/", "/search", "/filings/", "/lists/", "/entities/", "/groups", "/insights", "/openapi.json",
)
# One answer may take at most this share of the budget (a large CSV export is not kept).
_LARGEST_SHARE = 8
# What an entry costs beyond the objects it holds: its slot in the OrderedDict's hash table
# and its node in the order links (~100 bytes on CPython 3.12), the _Answer object (slots:
# 72 bytes), the tuple of header pairs' own slot pointers being counted with the pairs. 256
# is measured with room to spare (tests/test_web_answers.py checks it with tracemalloc).
ENTRY_OVERHEAD = 256
# No entry costs less than this (the smallest JSON answer with its headers is ~1 KiB): the
# cap on the number of entries is max_bytes // MIN_ENTRY_COST.
MIN_ENTRY_COST = 1024

_Key = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class _Answer:
    stamp: DataStamp
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes  # zlib-compressed
    etag: str
    cost: int


def repeated_parameter(query_string: bytes) -> str | None:
    """The first parameter named twice in a query string, or None."""
    seen: set[str] = set()
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None


def _key(scope: Scope, host: str) -> _Key:
    # Percent-decoded as UTF-8 (what the handlers see), sorted: one key per meaning.
    raw = scope.get("query_string", b"").decode("latin-1")
    params = tuple(sorted(parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="surrogateescape")))
    return host, scope["path"], params


def _key_cost(key: _Key) -> int:
    host, path, params = key
    cost = sys.getsizeof(key) + sys.getsizeof(host) + sys.getsizeof(path) + sys.getsizeof(params)
    for pair in params:
        cost += sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
    return cost


def _headers_cost(headers: tuple[tuple[bytes, bytes], ...]) -> int:
    cost = sys.getsizeof(headers)
    for pair in headers:
        cost += sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
    return cost


# bot/web/archive.py: never kept (the bytes are on disk already, and are hashed before each answer).
_ARCHIVED_FILE = re.compile(r"^/lists/[^/]+/[^/]+/file(?:/[^/]*)?$")


class AnswerCache:
    """ASGI middleware: answers kept per (host unless ``per_host`` is off, path, parameters) and data stamp."""

    def __init__(self, app: ASGIApp, state: Callable[[], WebState], *, max_bytes: int, per_host: bool = True) -> None:
        self.app = app
        self._state = state
        self.max_bytes = max_bytes
        self.max_entries = max_bytes // MIN_ENTRY_COST
        self.per_host = per_host
        self._answers: OrderedDict[_Key, _Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # (key, stamp) of each answer being computed → set when it is kept or will not be.
        # Touched on the event loop only; at most one entry per request in flight.
        self._flights: dict[tuple[_Key, DataStamp], asyncio.Event] = {}
        self.hits = 0
        self.misses = 0

    @property
    def bytes_kept(self) -> int:
        """What the kept answers cost (see the module docstring): never above ``max_bytes``."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._answers)

    @staticmethod
    def _ours(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path: str = scope["path"]
        if _ARCHIVED_FILE.match(path):
            return False  # an archived list file is checked against its sha256 at every request
        return path == "/" or path.startswith(CACHED_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._ours(scope):
            await self.app(scope, receive, send)
            return
        repeated = repeated_parameter(scope.get("query_string", b""))
        if repeated is not None:
            message = f"{repeated[:40]}: given more than once (give each parameter once)"
            await error_response(scope["path"], 400, message)(scope, receive, send)
            return
        if self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        state = self._state()
        await state.look_if_due()
        stamp = state.stamp
        headers = Headers(scope=scope)
        key = _key(scope, headers.get("host", "") if self.per_host else "")
        answer = self._get(key, stamp)
        if answer is None and stamp is not None:
            computing = self._flights.get((key, stamp))
            if computing is not None:
                await computing.wait()  # another request computes this answer now
                answer = self._get(key, stamp)
        if answer is not None:
            self.hits += 1
            if if_none_match_matches(headers.get("if-none-match", ""), answer.etag):
                response = Response(status_code=304, headers={"ETag": answer.etag, "Cache-Control": "no-cache"})
                await response(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": list(answer.headers)})
            await send({"type": "http.response.body", "body": zlib.decompress(answer.body)})
            return
        self.misses += 1
        if stamp is None or (key, stamp) in self._flights:
            await self._answer_and_keep(scope, receive, send, key, stamp, None)
            return
        flight = (key, stamp)
        settled = self._flights[flight] = asyncio.Event()
        try:
            await self._answer_and_keep(scope, receive, send, key, stamp, settled)
        finally:
            if self._flights.get(flight) is settled:
                del self._flights[flight]
            settled.set()

    async def _answer_and_keep(
        self, scope: Scope, receive: Receive, send: Send, key: _Key, stamp: DataStamp | None, settled: asyncio.Event | None
    ) -> None:
        """Answer, keeping a 200 answer with an ETag; ``settled`` is set as soon as the answer is
        kept or known not to be (the requests waiting for it then read it, or compute their own)."""
        if stamp is None:  # the data could not be looked at: answer, keep nothing
            await self.app(scope, receive, send)
            return

        def release_waiters() -> None:
            if settled is not None:
                settled.set()

        headers: list[tuple[bytes, bytes]] | None = None  # of a 200 answer still worth keeping
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal headers, size
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    headers = list(message.get("headers", []))
                    if not any(name.lower() == b"etag" for name, _ in headers):
                        headers = None  # not an answer of etag_response (a streamed download): never kept
                    elif any(name.lower() == b"cache-control" and (b"no-store" in value or b"private" in value) for name, value in headers):
                        headers = None  # depends on who asked (bot.web.principal.private_json): never kept
                if headers is None:
                    release_waiters()
            elif message["type"] == "http.response.body" and headers is not None:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_bytes // _LARGEST_SHARE:
                    headers = None
                    chunks.clear()
                    release_waiters()
                elif not message.get("more_body", False):
                    self._put(key, stamp, headers, b"".join(chunks))
                    release_waiters()
            await send(message)

        await self.app(scope, receive, capture)

    def _get(self, key: _Key, stamp: DataStamp | None) -> _Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None or answer.stamp != stamp:
                return None
            self._answers.move_to_end(key)
            return answer

    def _put(self, key: _Key, stamp: DataStamp, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        etag = next((value.decode("latin-1") for name, value in headers if name.lower() == b"etag"), None)
        if etag is None:  # not an answer of etag_response: it did not promise to depend on the URL alone
            return
        kept = tuple((bytes(name), bytes(value)) for name, value in headers)
        body = zlib.compress(body, 1)
        cost = ENTRY_OVERHEAD + _key_cost(key) + _headers_cost(kept) + sys.getsizeof(body) + sys.getsizeof(etag)
        if cost > self.max_bytes // _LARGEST_SHARE:
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= old.cost
            self._answers[key] = _Answer(stamp, kept, body, etag, cost)
            self._bytes += cost
            while (self._bytes > self.max_bytes or len(self._answers) > self.max_entries) and self._answers:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= dropped.cost
