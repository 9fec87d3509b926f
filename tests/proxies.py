"""Tiny local proxies for the tests of ``sources.cac.proxy`` (real sockets, no mocks).

- ``HttpProxy``: an HTTP/1.1 forward proxy — absolute-URI requests (``GET http://host/path``,
  what clients send for http:// targets) and ``CONNECT host:port`` tunnels (https targets);
  optional Basic ``Proxy-Authorization``.
- ``Socks5Proxy``: a SOCKS5 server (RFC 1928) with no authentication or username/password
  (RFC 1929), CONNECT only, IPv4 / domain / IPv6 targets.
- ``ResettingServer``: accepts a connection, then resets it (an unreachable site that answers
  TCP but never HTTP, like a firewall that kills the flow).

Each runs its own event loop in a daemon thread (usable from sync tests, async tests and CLI
runs alike) and records what passed through it: ``requests`` holds the (method, path) of every
HTTP request it carried, read from the bytes it relayed — the tests compare them with what
the replica served, so a request that went around the proxy shows.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import re
import socket
import struct
import threading
from collections.abc import Iterator
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["HttpProxy", "Socks5Proxy", "ResettingServer", "closed_port"]

_REQUEST_LINE = re.compile(rb"(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) (\S+) HTTP/1\.[01]\r\n")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _ThreadedServer:
    """An asyncio server in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self.port = 0
        self.connections = 0
        self.requests: list[tuple[str, str]] = []  # (method, path with query) carried
        self.targets: list[str] = []  # host:port each tunnel / forward went to
        self._lock = threading.Lock()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def start(self) -> "_ThreadedServer":
        async def open_server() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(open_server(), self.loop).result(5)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self._thread = None

    def __enter__(self) -> "_ThreadedServer":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _saw_target(self, target: str) -> None:
        with self._lock:
            self.targets.append(target)

    def _saw_requests(self, data: bytes) -> None:
        found = [(m.group(1).decode(), m.group(2).decode("latin-1")) for m in _REQUEST_LINE.finditer(data)]
        with self._lock:
            self.requests.extend(found)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool) -> None:
        """Copy one direction until EOF; ``watch``: note the HTTP requests going upstream."""
        pending = b""
        try:
            while chunk := await reader.read(65536):
                if watch:
                    # Request lines may straddle chunks: look at what is complete up to the last CRLF.
                    pending += chunk
                    cut = pending.rfind(b"\r\n") + 2
                    if cut >= 2:
                        self._saw_requests(pending[:cut])
                        pending = pending[cut:]
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.write_eof()

    async def _pipe(self, client: tuple[asyncio.StreamReader, asyncio.StreamWriter], upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        try:
            await asyncio.gather(
                self._relay(client[0], upstream[1], watch=True),
                self._relay(upstream[0], client[1], watch=False),
            )
        finally:
            upstream[1].close()


class HttpProxy(_ThreadedServer):
    """A forward HTTP proxy; with ``credentials=(user, password)`` it answers 407 without them."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.refused = 0  # requests answered 407

    def url(self, user: str | None = None, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user is not None else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def _authorized(self, head: bytes) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        match = re.search(rb"(?im)^proxy-authorization:\s*basic\s+(\S+)\s*$", head)
        return match is not None and match.group(1).decode() == expected

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # one request per loop: clients keep the connection to the proxy alive
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            line, _, rest = head.partition(b"\r\n")
            method, target, _version = line.decode("latin-1").split(" ", 2)
            if not self._authorized(head):
                self.refused += 1
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                continue
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                self._saw_target(target)
                upstream = await asyncio.open_connection(host.strip("[]"), int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await self._pipe((reader, writer), upstream)
                return
            await self._forward(method, target, rest, reader, writer)

    async def _forward(self, method: str, target: str, rest: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        assert parts.hostname is not None, f"not an absolute-URI request: {target}"
        self._saw_target(f"{parts.hostname}:{parts.port or 80}")
        with self._lock:
            self.requests.append((method, path))
        headers = [h for h in rest.split(b"\r\n") if h and not h.lower().startswith((b"proxy-", b"connection:"))]
        length = next((int(h.split(b":", 1)[1]) for h in headers if h.lower().startswith(b"content-length:")), 0)
        body = await reader.readexactly(length) if length else b""
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            # One request per upstream connection, closed after the answer: the relay below ends at EOF.
            up_writer.write(f"{method} {path} HTTP/1.1\r\n".encode() + b"\r\n".join([*headers, b"Via: 1.1 test-proxy", b"Connection: close"]) + b"\r\n\r\n" + body)
            await up_writer.drain()
            answer_head = await up_reader.readuntil(b"\r\n\r\n")
            answer_lines = [h for h in answer_head.split(b"\r\n") if h and not h.lower().startswith(b"connection:")]
            writer.write(b"\r\n".join(answer_lines) + b"\r\n\r\n")
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
            await writer.drain()
        finally:
            up_writer.close()


class Socks5Proxy(_ThreadedServer):
    """A SOCKS5 server; with ``credentials=(user, password)`` only RFC 1929 logins get through."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.refused = 0  # greetings or logins turned away

    def url(self, user: str | None = None, password: str | None = None, *, scheme: str = "socks5") -> str:
        auth = f"{user}:{password}@" if user is not None else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 0x00 if self.credentials is None else 0x02
        if version != 5 or wanted not in methods:
            self.refused += 1
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        writer.write(bytes([5, wanted]))
        await writer.drain()
        if wanted == 0x02:
            _sub, ulen = await reader.readexactly(2)
            user = (await reader.readexactly(ulen)).decode()
            (plen,) = await reader.readexactly(1)
            password = (await reader.readexactly(plen)).decode()
            if (user, password) != self.credentials:
                self.refused += 1
                writer.write(b"\x01\x01")
                await writer.drain()
                return
            writer.write(b"\x01\x00")
            await writer.drain()
        _ver, command, _rsv, atyp = await reader.readexactly(4)
        if atyp == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("idna")
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 1:  # CONNECT only
            writer.write(b"\x05\x07\x00\x01" + bytes(6))
            await writer.drain()
            return
        self._saw_target(f"{host}:{port}")
        try:
            upstream = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            await writer.drain()
            return
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        await self._pipe((reader, writer), upstream)


class ResettingServer(_ThreadedServer):
    """Accepts TCP, then resets the connection (SO_LINGER 0) without a byte of HTTP."""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(1), 1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running(server: _ThreadedServer) -> Iterator[_ThreadedServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
