"""A deadline for a request's headers, for uvicorn (``cacwatch serve`` and ``cacwatch run``).

uvicorn times out an idle keep-alive connection, but not one that is sending its request line
and headers a byte at a time (slowloris): each such connection is held, with its socket and
buffers, for as long as the client cares to trickle. ``guarded_protocol`` is uvicorn's own
HTTP protocol (httptools when installed, else h11) with one addition: from the moment a
connection opens, or bytes of a next request arrive on a kept-alive one, the headers must be
complete within ``HEADER_TIMEOUT`` seconds, or the connection is closed. A request whose
headers arrived is not affected, however long its answer takes.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["HEADER_TIMEOUT", "guarded_protocol"]

HEADER_TIMEOUT = 10.0


def _base() -> type[Any]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency; h11 is uvicorn's fallback
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def guarded_protocol(header_timeout: float = HEADER_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class with a deadline for every request's headers."""
    base = _base()

    class HeaderDeadline(base):  # type: ignore[misc, valid-type]
        _deadline: asyncio.TimerHandle | None = None

        def _waiting_for_headers(self) -> bool:
            cycle = self.cycle
            return cycle is None or bool(cycle.response_complete)

        def _arm(self) -> None:
            if self._deadline is None and not self.transport.is_closing():
                self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self._waiting_for_headers() and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._waiting_for_headers():
                self._arm()  # a next request started: its headers have the same deadline
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline
