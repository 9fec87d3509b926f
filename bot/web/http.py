"""HTTP plumbing shared by the API, the feeds and the pages: ETags, errors, headers, access.

- Every GET answer carries a strong ETag (a hash of its body) and ``If-None-Match`` gives 304.
- Errors are one-line JSON ``{"error": …}`` under /api and /feeds, a small HTML page elsewhere.
- Security headers on everything: a strict Content-Security-Policy (no script at all, nothing
  from outside the app), no sniffing, no framing, no referrer.
- Optional ``web.auth``: HTTP basic and/or bearer token, compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app.config import WebAuthSettings

__all__ = [
    "CSP",
    "etag_response",
    "if_none_match_matches",
    "json_body",
    "error_response",
    "wants_json",
    "SecurityHeaders",
    "HeadAsGet",
    "BasicOrBearerAuth",
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


class BasicOrBearerAuth:
    """``web.auth``: every path except ``open_paths`` needs the password or the token."""

    def __init__(self, app: ASGIApp, auth: WebAuthSettings, open_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.auth = auth
        self.open_paths = frozenset(open_paths)

    def _allowed(self, authorization: str) -> bool:
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.auth.token:
            return hmac.compare_digest(value.encode(), self.auth.token.encode())
        if scheme.lower() == "basic" and self.auth.password:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            same_user = hmac.compare_digest(user.encode(), self.auth.username.encode())
            return hmac.compare_digest(password.encode(), self.auth.password.encode()) and same_user
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        if self._allowed(Headers(scope=scope).get("authorization", "")):
            await self.app(scope, receive, send)
            return
        challenges = []
        if self.auth.password:
            challenges.append('Basic realm="cacwatch", charset="UTF-8"')
        if self.auth.token:
            challenges.append('Bearer realm="cacwatch"')
        response = error_response(scope["path"], 401, "authentication required", {"WWW-Authenticate": ", ".join(challenges)})
        await response(scope, receive, send)
