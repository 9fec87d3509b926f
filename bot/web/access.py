"""The access layer: who is asking, set on the ASGI scope before any route runs.

It looks, in this order, for

1. ``web.auth``'s password (Basic) or token (Bearer): the operator (no account row);
2. a personal API token (``Authorization: Bearer cw_…``): its account;
3. the session cookie of a browser signed in at ``/signin``: its account;
4. the email a trusted reverse proxy puts in ``web.proxy_auth.header``, honoured only on a
   connection from one of ``web.proxy_auth.trusted`` (the proxy's own address): that account,
   or a new member when ``create_members`` says so.

and leaves the ``Principal`` (or None) on the scope (``bot.web.principal.set_principal``).

With ``web.auth`` set the whole site needs credentials, and a member's token or session counts
as credentials too; only ``open_paths`` (the probes, unsubscribe) and ``/signin`` answer without.
Without it, public pages stay public and only the self-service routes ask for a principal (their
``require_principal`` / ``require_operator``). Wrong credentials in ``Authorization`` are always a
401 and count as a failed attempt for the client; enough of them within the window shut it out
(429 with Retry-After). A session cookie that is unknown, expired or idle is simply no session.

A JSON API ``POST`` made with a session (or proxy) rather than a token must say
``Content-Type: application/json``: a page on another site cannot send that without a CORS
preflight, which this app never grants (forms have their own CSRF token).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Literal

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.web import users as accounts
from bot.settings.config import WebSettings
from bot.web.http import FailedAttempts, client_of, error_response, wants_json, web_auth_allows
from bot.web.principal import OPERATOR, Principal, set_principal
from storage.accounts_repo import Identity
from storage.db import Database

__all__ = ["Access", "SESSION_COOKIE", "SIGNIN_PATH", "principal_of_identity"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "cacwatch_session"
SIGNIN_PATH = "/signin"
_SAFE = ("GET", "HEAD", "OPTIONS")


def principal_of_identity(identity: Identity, via: Literal["session", "token", "proxy"]) -> Principal:
    role: Literal["operator", "member"] = "operator" if identity.role == "operator" else "member"
    return Principal(role=role, user_id=identity.user_id, name=identity.name or identity.email, via=via)


class Access:
    """Resolves the principal of every HTTP request (see the module's docstring)."""

    def __init__(self, app: ASGIApp, db: Database, web: WebSettings, open_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.db = db
        self.web = web
        self.open_paths = frozenset(open_paths)
        if web.auth is not None:
            self.attempts = FailedAttempts(web.auth.max_failures, web.auth.failure_window)
        else:
            self.attempts = FailedAttempts(web.sessions.client_failures, web.sessions.failure_window)
        proxy = web.proxy_auth
        self.proxy_networks = [ipaddress.ip_network(n, strict=False) for n in proxy.trusted] if proxy else []

    def _trusted_peer(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer.strip("[]"))
        except ValueError:
            return False
        mapped = getattr(address, "ipv4_mapped", None)
        address = mapped or address
        return any(address.version == net.version and address in net for net in self.proxy_networks)

    def _from_authorization(self, authorization: str) -> Principal | None:
        if self.web.auth is not None and web_auth_allows(self.web.auth, authorization):
            return OPERATOR
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and accounts.looks_like_token(value):
            identity = accounts.token_identity(self.db, value)
            if identity is not None:
                return principal_of_identity(identity, "token")
        return None

    def _from_cookie_or_proxy(self, headers: Headers, peer: str) -> Principal | None:
        cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE, "")
        if cookie:
            identity = accounts.session_identity(self.db, cookie, idle=self.web.sessions.idle)
            if identity is not None:
                return principal_of_identity(identity, "session")
        proxy = self.web.proxy_auth
        if proxy is not None:
            email = headers.get(proxy.header, "")
            if email and self._trusted_peer(peer):
                identity = accounts.proxy_identity(self.db, email[:400], create_members=proxy.create_members)
                if identity is not None:
                    return principal_of_identity(identity, "proxy")
            elif email:
                log.warning("ignored %s from %s: not one of web.proxy_auth.trusted", proxy.header, peer or "an unknown peer")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        peer = client_of(scope)
        headers = Headers(scope=scope)
        authorization = headers.get("authorization", "")
        required = self.web.auth is not None and path != SIGNIN_PATH
        if authorization or required:
            wait = self.attempts.retry_after(peer)
            if wait is not None:
                message = "too many failed attempts to authenticate: try again later"
                await error_response(path, 429, message, {"Retry-After": str(wait)})(scope, receive, send)
                return
        principal: Principal | None
        if authorization:
            principal = await anyio.to_thread.run_sync(self._from_authorization, authorization[:4096])
            if principal is None:
                self.attempts.failed(peer)
                await self._refuse(scope, receive, send)
                return
        else:
            principal = await anyio.to_thread.run_sync(self._from_cookie_or_proxy, headers, peer)
        if principal is None and required:
            await self._refuse(scope, receive, send)
            return
        if (
            principal is not None
            and principal.via in ("session", "proxy")
            and scope["method"] not in _SAFE
            and path.startswith("/api/")
            and headers.get("content-type", "").split(";")[0].strip().lower() != "application/json"
        ):
            message = "a signed-in browser's API request must be JSON (Content-Type: application/json)"
            await error_response(path, 403, message)(scope, receive, send)
            return
        set_principal(scope, principal)
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        challenges = []
        if self.web.auth is not None and self.web.auth.password:
            challenges.append('Basic realm="cacwatch", charset="UTF-8"')
        challenges.append('Bearer realm="cacwatch"')
        message = "authentication required"
        if not wants_json(scope["path"]):  # a person in a browser: where members sign in
            message += " · 需要登录：请到 /signin 登录 · sign in at /signin"
        response = error_response(scope["path"], 401, message, {"WWW-Authenticate": ", ".join(challenges)})
        await response(scope, receive, send)
