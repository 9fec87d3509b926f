"""HTTP plumbing shared by the API, the feeds and the pages: ETags, errors, headers, access.

- Every GET answer carries a strong ETag (a hash of its body) and ``If-None-Match`` gives 304.
- Errors are one-line JSON ``{"error": …}`` under /api and /feeds, a small HTML page elsewhere.
- Security headers on everything: a strict Content-Security-Policy (no script at all, nothing
  from outside the app), no sniffing, no framing, no referrer.
- Optional ``web.auth``: HTTP basic and/or bearer token, compared in constant time
  (``web_auth_allows``; the access layer is ``bot.web.access``); without it, ``LoopbackOnly``
  for a public address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings.config import WebAuthSettings

__all__ = [
    "CSP",
    "etag_response",
    "if_none_match_matches",
    "json_body",
    "error_response",
    "wants_json",
    "SecurityHeaders",
    "HeadAsGet",
    "web_auth_allows",
    "client_of",
    "FailedAttempts",
    "LoopbackOnly",
    "is_loopback",
]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def json_body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def if_none_match_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak or strong, or ``*``)."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def etag_response(
    request: Request, body: bytes, media_type: str, *, headers: dict[str, str] | None = None
) -> Response:
    """The body with its ETag, or 304 when the client already holds it."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    extra = {"ETag": etag, "Cache-Control": "no-cache", **(headers or {})}
    if if_none_match_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    return Response(body, media_type=media_type, headers=extra)


def wants_json(path: str) -> bool:
    return path.startswith(("/api/", "/feeds/", "/openapi.json"))


def error_response(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if wants_json(path):
        return Response(json_body({"error": message}), status_code=status, media_type="application/json", headers=headers)
    from bot.web.render import render_error

    return Response(render_error(status, message), status_code=status, media_type="text/html; charset=utf-8", headers=headers)


class HeadAsGet:
    """HEAD is answered as GET (uvicorn drops the body): feed readers and monitors probe with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def is_loopback(host: str) -> bool:
    """Whether an address (or a bind host) is this machine only: 127.0.0.0/8, ::1, localhost."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


class FailedAttempts:
    """Failed credentials per client in a sliding window: ``limit`` of them shut the client
    out (429 with Retry-After, even with the right credentials) until the oldest leaves the
    window. At most ``max_clients`` are remembered (the least recent are forgotten), so a
    flood of addresses costs bounded memory."""

    def __init__(self, limit: int = 10, window: float = 300.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Seconds until ``client`` may try again; None when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                return None
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                del self._failures[client]
                return None
            if len(times) < self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.pop(client, None) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[client] = times
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


def web_auth_allows(auth: WebAuthSettings, authorization: str) -> bool:
    """Whether an ``Authorization`` header holds ``web.auth``'s password or token (constant time)."""
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and auth.token:
        return hmac.compare_digest(value.encode(), auth.token.encode())
    if scheme.lower() == "basic" and auth.password:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_user = hmac.compare_digest(user.encode(), auth.username.encode())
        return hmac.compare_digest(password.encode(), auth.password.encode()) and same_user
    return False


def client_of(scope: Scope) -> str:
    """The peer's address (the proxy's, behind one)."""
    return _client_of(scope)


class LoopbackOnly:
    """Without ``web.auth`` on a public address (``cacwatch run``): the web app answers clients
    on this machine only; ``open_paths`` (probes, unsubscribe) answer everyone."""

    def __init__(self, app: ASGIApp, open_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or is_loopback(_client_of(scope)):
            await self.app(scope, receive, send)
            return
        message = "this web app answers only on this machine: set web.auth (or web.open: true) to serve others"
        await error_response(scope["path"], 403, message)(scope, receive, send)
