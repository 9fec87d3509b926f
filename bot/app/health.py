"""A small HTTP server for orchestrators and Prometheus: ``/healthz``, ``/readyz``, ``/metrics``.

Plain ``asyncio.start_server`` with a minimal HTTP/1.1 handler (one request per
connection, ``Connection: close``): three GET endpoints do not justify a web framework,
and it runs on the service's own event loop, so ``/healthz`` answering proves the loop is
not stuck.

- ``/healthz`` — liveness: 200 while the process works; 503 when a vital task died.
- ``/readyz``  — readiness: 200 when the database answers and the last successful poll is
  at most ``service.readiness_max_age`` old; else 503 with the reason as the body.
- ``/metrics`` — Prometheus text format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

__all__ = ["HealthServer", "PortUnavailable", "Probe", "Response"]

log = logging.getLogger(__name__)

_MAX_HEAD = 16 * 1024
_READ_TIMEOUT = 5.0
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class PortUnavailable(Exception):
    """The HTTP address cannot be listened on (taken, not this host's, not permitted)."""


# Each endpoint: an async function returning a Response.
Probe = Callable[[], Awaitable[Response]]
# A POST endpoint gets the query parameters (e.g. the one-click unsubscribe token).
Action = Callable[[dict[str, str]], Awaitable[Response]]


class HealthServer:
    def __init__(self, host: str, port: int, routes: dict[str, Probe], actions: dict[str, Action] | None = None) -> None:
        self.host = host
        self.port = port  # 0 until started with port 0: then the port the system chose
        self._routes = routes
        self._actions = actions or {}
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        except OSError as err:
            # One line for the operator (a supervisor restarting into a traceback helps nobody).
            reason = (err.strerror or str(err)).lower()
            raise PortUnavailable(
                f"cannot listen on http://{self.host}:{self.port}: {reason} "
                "(set service.health_port to a free port, 0 for any, or null for no HTTP server)"
            ) from None
        sockets = self._server.sockets or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=_READ_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
                return  # a port scanner or a half request: nothing worth answering
            if len(head) > _MAX_HEAD:
                await self._write(writer, Response(400, b"request too large\n"), head_only=False)
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                await self._write(writer, Response(400, b"bad request\n"), head_only=False)
                return
            method, target = parts[0], parts[1]
            path, _, query = target.partition("?")
            probe = self._routes.get(path)
            action = self._actions.get(path)
            if action is not None and method == "POST":
                # RFC 8058 one-click: the body only says "List-Unsubscribe=One-Click"; the
                # token is in the URL. The body is not needed, so it is not read.
                params = {k: v[0] for k, v in parse_qs(query, max_num_fields=10).items()}
                try:
                    response = await action(params)
                except Exception as err:  # noqa: BLE001
                    log.exception("endpoint %s failed", path)
                    response = Response(503, f"{err.__class__.__name__}\n".encode())
            elif probe is None and action is None:
                response = Response(404, b"not found\n")
            elif probe is None:
                response = Response(405, b"method not allowed\n")
            elif method not in ("GET", "HEAD"):
                response = Response(405, b"method not allowed\n")
            else:
                try:
                    response = await probe()
                except Exception as err:  # noqa: BLE001 - a probe bug answers 503, never kills the server
                    log.exception("health endpoint %s failed", path)
                    response = Response(503, f"{err.__class__.__name__}\n".encode())
            await self._write(writer, response, head_only=method == "HEAD")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
        reason = _REASONS.get(response.status, "Unknown")
        header = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1")
        writer.write(header if head_only else header + response.body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
