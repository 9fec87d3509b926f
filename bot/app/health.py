"""The HTTP side of ``cacwatch run``: the web app (pages, API, feeds) with the service's probes.

One ASGI app served by uvicorn on the service's own event loop, so ``/healthz`` answering
still proves the loop is not stuck:

- ``/healthz`` — liveness: 200 while the process works; 503 when a vital task died.
- ``/readyz``  — readiness: 200 when the database answers and the last successful poll is
  at most ``service.readiness_max_age`` old; else 503 with the reason as the body.
- ``/metrics`` — Prometheus text format.
- ``/email/unsubscribe`` — the digest's unsubscribe link (``bot.web.unsubscribe``).

The probes stay small async functions returning a ``Response``; ``probe_routes`` adapts them
to Starlette routes (a probe that raises answers 503, never a 500 or a dead server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from bot.web.guard import guarded_protocol

__all__ = ["HttpServer", "PortUnavailable", "Probe", "Response", "probe_routes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class PortUnavailable(Exception):
    """The HTTP address cannot be listened on (taken, not this host's, not permitted)."""


# Each probe: an async function returning a Response.
Probe = Callable[[], Awaitable[Response]]


def _endpoint(path: str, probe: Probe) -> Callable[[Request], Awaitable[StarletteResponse]]:
    async def endpoint(_: Request) -> StarletteResponse:
        try:
            answer = await probe()
        except Exception as err:  # noqa: BLE001 - a probe bug answers 503, never kills the server
            log.exception("health endpoint %s failed", path)
            answer = Response(503, f"{err.__class__.__name__}\n".encode())
        # Probes are live answers: no cache may keep them.
        return StarletteResponse(
            answer.body, status_code=answer.status, headers={"Cache-Control": "no-store", "Content-Type": answer.content_type}
        )

    return endpoint


def probe_routes(probes: Mapping[str, Probe]) -> list[Route]:
    """GET routes (HEAD is answered as GET by the web app's middleware) for the probes."""
    return [Route(path, _endpoint(path, probe), methods=["GET"]) for path, probe in probes.items()]


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM/SIGINT (its
    ``request_stop`` then closes this server), and uvicorn re-raising a captured signal on
    exit would kill the process mid-shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    """The ASGI app under uvicorn, on the running loop; ``port`` is the bound one (port 0 → chosen)."""

    def __init__(self, app: Any, host: str, port: int, *, shutdown_grace: float = 5.0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._grace = shutdown_grace
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(2048)  # clients that connect while the app starts wait in the backlog
        except OSError as err:
            sock.close()
            # One line for the operator (a supervisor restarting into a traceback helps nobody).
            reason = (err.strerror or str(err)).lower()
            raise PortUnavailable(
                f"cannot listen on http://{self.host}:{self.port}: {reason} "
                "(set service.health_port to a free port, 0 for any, or null for no HTTP server)"
            ) from None
        sock.setblocking(False)
        return sock

    async def start(self) -> int:
        """Bind (PortUnavailable when that fails), then serve in a task; returns the port."""
        sock = self._bind()
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_config=None,  # the service configured logging; uvicorn must not redo it
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=max(1, round(self._grace)),
            http=guarded_protocol(),  # a deadline for every request's headers (slowloris)
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http server")
        # Wait for the app's startup so that a failing one is reported here, not lost in a task.
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.02)
        if self._task.done():
            sock.close()
            error = None if self._task.cancelled() else self._task.exception()
            raise RuntimeError(f"the HTTP server did not start: {error!r}")
        return self.port

    async def close(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=self._grace + 5)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - stopping: nothing more to do
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
