"""The outbound-URL guard: literals need no network; names are resolved (localhost only)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from bot.settings.netguard import (
    UnresolvableHost,
    UnsafeURL,
    avalidate_host,
    avalidate_outbound_url,
    check,
    check_host,
    guarded_transport,
    validate_outbound_url,
)

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from webhook_receiver import Receiver
except ImportError:  # pragma: no cover
    from tests.webhook_receiver import Receiver

REFUSED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.8.9.10:8080/x", "loopback"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
    ("http://[::1]/", "loopback"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd00::1]/", "private"),  # fc00::/7
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped IPv6
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[2002:c0a8:101::1]/", "private"),  # 6to4 wrapping 192.168.1.1
    ("http://100.64.0.1/", "CGNAT"),
    ("http://100.127.255.254/", "CGNAT"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://192.0.2.10/", "public"),  # documentation range: not globally routable
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_non_public_literals_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeURL, match=why):
        validate_outbound_url(url)


@pytest.mark.parametrize(("url", "_why"), REFUSED)
def test_allow_private_lets_them_through(url: str, _why: str) -> None:
    validate_outbound_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://93.184.216.34/", "https://93.184.216.34:8443/hook?x=1", "http://[2606:2800:220:1::]/"])
def test_public_literals_pass(url: str) -> None:
    validate_outbound_url(url)


def test_hostname_resolving_to_loopback() -> None:
    with pytest.raises(UnsafeURL, match="localhost resolves to .*loopback"):
        validate_outbound_url("http://localhost:8080/hook")
    validate_outbound_url("http://localhost:8080/hook", allow_private=True)


def test_odd_ipv4_spellings_are_resolved_and_refused() -> None:
    # inet_aton forms that ipaddress does not parse but the resolver (and httpx) accept.
    for url in ("http://127.1/", "http://2130706433/", "http://0x7f000001/"):
        with pytest.raises(UnsafeURL, match="loopback"):
            validate_outbound_url(url)


async def test_async_variant() -> None:
    with pytest.raises(UnsafeURL, match="loopback"):
        await avalidate_outbound_url("http://localhost/")
    with pytest.raises(UnsafeURL, match="link-local"):
        await avalidate_outbound_url("http://169.254.169.254/")
    await avalidate_outbound_url("http://93.184.216.34/")
    await avalidate_outbound_url("http://localhost/", allow_private=True)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://93.184.216.34/", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://93.184.216.34/", "scheme"),
        ("93.184.216.34/hook", "scheme"),
        ("http:///path-only", "no host"),
        ("http://user:pw@93.184.216.34/", "credentials"),
        ("http://token@93.184.216.34/", "credentials"),
        ("http://93.184.216.34:99999/", "malformed"),
        ("http://93.184.216.34/a b", "whitespace"),
        ("http://evil.example\t.com/", "whitespace"),
    ],
)
def test_static_refusals(url: str, why: str) -> None:
    with pytest.raises(UnsafeURL, match=why):
        validate_outbound_url(url, allow_private=True)  # even private endpoints need a sane URL


def test_credentials_are_not_echoed() -> None:
    with pytest.raises(UnsafeURL) as caught:
        validate_outbound_url("http://admin:hunter2@93.184.216.34/")
    assert "hunter2" not in str(caught.value) and "admin" not in str(caught.value)


def test_unresolvable(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(UnresolvableHost, match="cannot resolve"):
        validate_outbound_url("https://hooks.example.invalid/x")
    assert issubclass(UnresolvableHost, UnsafeURL)


def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    # A name with one public and one private address is refused (the client may pick either).
    def two_answers(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 443)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(UnsafeURL, match="10.0.0.5, a private address"):
        validate_outbound_url("https://mixed.example/x")


def test_check_reports_without_raising() -> None:
    assert check("http://93.184.216.34/") is None
    assert "loopback" in (check("http://127.0.0.1/") or "")
    assert check("http://127.0.0.1/", allow_private=True) is None
    assert check("http://localhost/", resolve=False) is None  # no DNS: names pass statically
    assert "credentials" in (check("http://a:b@x.example/", resolve=False) or "")


async def test_guarded_transport_refuses_at_connect(receiver: Receiver) -> None:
    async with httpx.AsyncClient(transport=guarded_transport(), trust_env=False) as client:
        with pytest.raises(UnsafeURL, match="loopback"):
            await client.post(f"http://localhost:{receiver.port}/x", content=b"{}")
        with pytest.raises(UnsafeURL, match="loopback"):
            await client.post(f"{receiver.base_url}/x", content=b"{}")
    assert receiver.received == []
    async with httpx.AsyncClient(trust_env=False) as client:  # sanity: the receiver does answer
        assert (await client.post(f"{receiver.base_url}/x", content=b"{}")).status_code == 200


async def test_bare_hosts_get_the_same_policy() -> None:
    # For clients given a host rather than an http(s) URL (Apprise's ntfy://, rsyslog:// …).
    for url, why in REFUSED:
        bare = urlsplit(url).hostname or ""
        assert why in (check_host(bare, 80, resolve=False) or ""), bare
        with pytest.raises(UnsafeURL, match=why):
            await avalidate_host(bare, 80)
        assert check_host(bare, 80, allow_private=True) is None
    assert "loopback" in (check_host("localhost", 80) or "")
    assert check_host("localhost", 80, resolve=False) is None  # a name needs DNS
    assert "loopback" in (check_host("2130706433", 80) or "")  # decimal spelling, resolved
    for odd in ("[::ffff:127.0.0.1]:8080", "a/b", "user@127.0.0.1", "evil\t.example", "", "host:80"):
        assert check_host(odd, 80, resolve=False) == "malformed host"
    assert check_host("93.184.216.34", 80) is None
