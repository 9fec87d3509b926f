"""The one place that decides whether cacwatch may send a request to a URL (SSRF guard).

Webhook and Apprise targets come from configuration, so a typo or a hostile config could
point the service at its own loopback, the LAN, or a cloud metadata endpoint
(169.254.169.254). Every outbound notifier URL is checked here, changedetection.io style:

- only ``http``/``https``, a host is required, no ``user:password@`` in the URL;
- the host is resolved and EVERY address must be public: loopback, private (RFC 1918,
  fc00::/7), link-local (169.254/16, fe80::/10), multicast, reserved, unspecified, shared
  CGNAT (100.64/10) and anything else that is not globally routable is refused — also when
  wrapped in IPv4-mapped, 6to4 or Teredo IPv6 — unless ``allow_private=True``.

The check runs at send time, not at config load, because DNS answers change (DNS
rebinding: a name that was public when checked can point at 127.0.0.1 a minute later).
To close the remaining gap between "checked" and "connected", ``guarded_transport``
gives httpx a connection backend that resolves, checks and connects to the checked
address in one step, so the address used is the address that was checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx

__all__ = [
    "UnsafeURL",
    "UnresolvableHost",
    "IPAddress",
    "address_problem",
    "validate_outbound_url",
    "avalidate_outbound_url",
    "check",
    "check_host",
    "avalidate_host",
    "guarded_transport",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = {"http": 80, "https": 443}
# Whitespace and control characters: parsers disagree about them (request smuggling,
# "http://evil\t.example"), so such a URL is refused outright.
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")
# 100.64.0.0/10 (RFC 6598) is neither "private" nor "global" to the ipaddress module;
# named separately so the refusal says what it is.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Named "private" in messages; everything else the ipaddress module calls private
# (documentation, benchmarking, 240/4 …) still falls to "reserved" / "not public" below.
_PRIVATE = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


class UnsafeURL(ValueError):
    """A URL cacwatch refuses to send to (the message says why, never a secret)."""


class UnresolvableHost(UnsafeURL):
    """The host has no address right now. Usually transient (DNS down), so callers retry."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # ::ffff:127.0.0.1, 2002:7f00:1::/48 (6to4) and Teredo carry an IPv4 address that
    # the kernel may end up talking to; judge that address, not the wrapper.
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why this address is not a public internet address ("a loopback address"), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} (IPv4 {inner} inside IPv6)" if problem else None
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        # 169.254.169.254 is the cloud metadata service: the classic SSRF target.
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (CGNAT) address"
    if any(ip in net for net in _PRIVATE if net.version == ip.version):
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _parse(url: str) -> tuple[str, int]:
    """Static checks; returns (host, port). Raises UnsafeURL."""
    if not isinstance(url, str) or not url:
        raise UnsafeURL("empty URL")
    if _BAD_CHARS.search(url):
        raise UnsafeURL("URL contains whitespace or control characters")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as err:  # bad port, bad IPv6 brackets
        raise UnsafeURL(f"malformed URL ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise UnsafeURL(f"scheme {scheme or '(none)'!r} is not allowed (only http and https)")
    if parts.username is not None or parts.password is not None:
        # Never echo them: they are credentials.
        raise UnsafeURL("credentials in the URL are not allowed")
    host = parts.hostname
    if not host:
        raise UnsafeURL("URL has no host")
    return host, port or _SCHEMES[scheme]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_addresses(host: str, addresses: Iterable[str], *, resolved: bool) -> list[IPAddress]:
    checked: list[IPAddress] = []
    for text in addresses:
        ip = ipaddress.ip_address(text)
        problem = address_problem(ip)
        if problem:
            raise UnsafeURL(f"{host} resolves to {ip}, {problem}" if resolved else f"{ip} is {problem}")
        checked.append(ip)
    if not checked:
        raise UnresolvableHost(f"cannot resolve {host}")
    return checked


def _addresses(infos: Iterable[tuple[Any, ...]]) -> list[str]:
    # sockaddr[0] is the address (IPv6 may carry "%scope", which ipaddress understands).
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve(host: str, port: int) -> list[str]:
    try:
        return _addresses(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError) as err:  # socket.gaierror is an OSError
        raise UnresolvableHost(f"cannot resolve {host}") from err


async def _aresolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        return _addresses(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError) as err:
        raise UnresolvableHost(f"cannot resolve {host}") from err


def validate_outbound_url(url: str, *, allow_private: bool = False) -> None:
    """Raise UnsafeURL unless cacwatch may send to ``url`` now (resolves the host)."""
    host, port = _parse(url)
    if allow_private:
        return  # the operator vouched for this endpoint; scheme and credentials still checked
    literal = _literal(host)
    if literal is not None:
        _check_addresses(host, [str(literal)], resolved=False)
    else:
        _check_addresses(host, _resolve(host, port), resolved=True)


async def avalidate_outbound_url(url: str, *, allow_private: bool = False) -> None:
    """``validate_outbound_url`` without blocking the event loop on DNS."""
    host, port = _parse(url)
    if allow_private:
        return
    await _acheck_host(host, port)


async def _acheck_host(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return _check_addresses(host, [str(literal)], resolved=False)
    return _check_addresses(host, await _aresolve(host, port), resolved=True)


def check(url: str, *, allow_private: bool = False, resolve: bool = True) -> str | None:
    """For building notifiers: the problem with ``url`` as text, or None when it looks fine.

    Reports a misconfigured target early (in logs / ``cacwatch check``) without raising;
    the binding check is still the one at send time. ``resolve=False`` skips DNS.
    """
    try:
        if resolve:
            validate_outbound_url(url, allow_private=allow_private)
        else:
            host, _ = _parse(url)
            literal = _literal(host)
            if literal is not None and not allow_private:
                _check_addresses(host, [str(literal)], resolved=False)
    except UnsafeURL as err:
        return str(err)
    return None


def _bare_host(host: str) -> str:
    """A host as a non-URL client names it (Apprise, SMTP): refuse what no resolver should see."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # "[::1]" as in a URL
    malformed = not bare or _BAD_CHARS.search(bare) or any(c in bare for c in "/@[]")
    # A colon belongs to an IPv6 literal only; "[::1]:8080" misread as a host is refused,
    # since what the client would make of it cannot be checked.
    if malformed or (":" in bare and _literal(bare) is None):
        raise UnsafeURL("malformed host")
    return bare


async def avalidate_host(host: str, port: int, *, allow_private: bool = False) -> None:
    """The address check of ``avalidate_outbound_url`` for a client that is given a host,
    not an http(s) URL (Apprise's ntfy://, gotify://, rsyslog:// …). Raises UnsafeURL."""
    if not allow_private:  # the operator vouched for this endpoint
        await _acheck_host(_bare_host(host), port)


def check_host(host: str, port: int, *, allow_private: bool = False, resolve: bool = True) -> str | None:
    """``check`` for a bare host: the problem as text, or None. ``resolve=False`` judges
    literal addresses only (no DNS, for config load)."""
    if allow_private:
        return None
    try:
        bare = _bare_host(host)
        literal = _literal(bare)
        if literal is not None:
            _check_addresses(bare, [str(literal)], resolved=False)
        elif resolve:
            _check_addresses(bare, _resolve(bare, port), resolved=True)
    except UnsafeURL as err:
        return str(err)
    return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects in one step so DNS cannot change in between."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _acheck_host(host, port)
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        assert last is not None  # _check_addresses never returns an empty list
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed for outbound notifications")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(limits=limits, verify=verify)
        # httpx builds its pool without a way to pass a network backend; rebuild it with
        # the same settings plus the guarded backend. (httpx 0.27/0.28 keep it in _pool.)
        old = self._pool
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=old._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_GuardedBackend(),
        )


def guarded_transport(
    *, limits: httpx.Limits | None = None, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncHTTPTransport:
    """An httpx transport that refuses to connect to non-public addresses.

    Connection errors from the guard surface as ``UnsafeURL`` raised out of the request.
    Use it for every endpoint that does not set ``allow_private``; with a proxy the guard
    would judge the proxy, so clients using it should set ``trust_env=False``.
    """
    return _GuardedTransport(limits=limits or httpx.Limits(), verify=verify)
