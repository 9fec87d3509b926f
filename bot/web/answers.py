"""Whole answers of the read side kept per data stamp, so a repeated GET costs no query.

The corpus changes a few times a month (an ingest), while feed readers poll the same feeds and
people run the same searches: every answer of the API, the feeds and the pages is a function of
its URL (and, for absolute links, the Host it was asked on) and of the stored data. This ASGI
layer keeps complete 200 answers that carry an ETag (``bot.web.http.etag_response``) under the
``DataStamp`` they were computed from, in a least-recently-used store bounded in bytes; a
request whose stamp is still current is answered from it — a 304 when ``If-None-Match`` names
its ETag — without reaching the app. The stamp is read at most every 0.25 s (``WebState.due``),
so an ingest shows within that, as without this layer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.http import if_none_match_matches
from bot.web.state import WebState
from storage.corpus import DataStamp

__all__ = ["AnswerCache", "CACHED_PREFIXES"]

# The read side's own routes (API, feeds, pages, the OpenAPI document); not the probes,
# /metrics, the unsubscribe pages or static files, which answer for themselves.
CACHED_PREFIXES = ("/api/v1/", "/feeds/", "/search", "/filings/", "/lists/", "/entities/", "/openapi.json")
# One answer may take at most this share of the budget (a large CSV export is not kept).
_LARGEST_SHARE = 8


@dataclass(frozen=True, slots=True)
class _Answer:
    stamp: DataStamp
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str


class AnswerCache:
    """ASGI middleware: answers kept per (scheme, host, path, query) and data stamp."""

    def __init__(self, app: ASGIApp, state: Callable[[], WebState], *, max_bytes: int) -> None:
        self.app = app
        self._state = state
        self.max_bytes = max_bytes
        self._answers: OrderedDict[tuple[str, str, str, bytes], _Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _cacheable(self, scope: Scope) -> bool:
        if self.max_bytes <= 0 or scope["type"] != "http" or scope["method"] != "GET":
            return False
        path: str = scope["path"]
        return path == "/" or path.startswith(CACHED_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        state = self._state()
        await state.look_if_due()
        stamp = state.stamp
        headers = Headers(scope=scope)
        key = (scope.get("scheme", "http"), headers.get("host", ""), scope["path"], scope.get("query_string", b""))
        answer = self._get(key, stamp)
        if answer is not None:
            self.hits += 1
            if if_none_match_matches(headers.get("if-none-match", ""), answer.etag):
                response = Response(status_code=304, headers={"ETag": answer.etag, "Cache-Control": "no-cache"})
                await response(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
            await send({"type": "http.response.body", "body": answer.body})
            return
        self.misses += 1
        await self._answer_and_keep(scope, receive, send, key, stamp)

    async def _answer_and_keep(
        self, scope: Scope, receive: Receive, send: Send, key: tuple[str, str, str, bytes], stamp: DataStamp | None
    ) -> None:
        if stamp is None:  # the data could not be looked at: answer, keep nothing
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] | None = None  # of a 200 answer still worth keeping
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal headers, size
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body" and headers is not None:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_bytes // _LARGEST_SHARE:
                    headers = None
                    chunks.clear()
                elif not message.get("more_body", False):
                    self._put(key, stamp, headers, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _get(self, key: tuple[str, str, str, bytes], stamp: DataStamp | None) -> _Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None or answer.stamp != stamp:
                return None
            self._answers.move_to_end(key)
            return answer

    def _put(self, key: tuple[str, str, str, bytes], stamp: DataStamp, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        etag = next((value.decode("latin-1") for name, value in headers if name.lower() == b"etag"), None)
        if etag is None:  # not an answer of etag_response: it did not promise to depend on the URL alone
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._answers[key] = _Answer(stamp, headers, body, etag)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._answers:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body)
