"""Polite, conditional, size-limited HTTP fetching of CAC pages and attachments.

The CAC site answers a missing Referer with an empty 200 and a KnownSec WAF
challenge with a 200 too, so "HTTP 200" proves nothing: every body is checked
and anything that is not the content asked for raises ``Blocked``, never
"an empty list". Unchanged pages and attachments are detected with ETag /
Last-Modified (304, no download). Validators are remembered only when the
caller says the content was used (``remember``), so a failed poll never turns
into a 304 that hides content nobody stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from scrapers.records import Validators
from scrapers.responses import filename_from_disposition, looks_like_html, looks_like_waf

__all__ = [
    "FetchError",
    "Blocked",
    "HttpStatusError",
    "TooLarge",
    "FetchTimeout",
    "NetworkError",
    "InvalidResponse",
    "OffSite",
    "Unreachable",
    "SiteTimeout",
    "SiteNetworkError",
    "SiteRefused",
    "PROXY_SCHEMES",
    "proxy_label",
    "Validators",
    "FetchSettings",
    "ValidatorStore",
    "MemoryValidatorStore",
    "FetchResult",
    "FetchStats",
    "Fetcher",
    "looks_like_waf",
    "looks_like_html",
    "filename_from_disposition",
]


# -- errors ---------------------------------------------------------------------------


class FetchError(Exception):
    """A URL could not be read as expected; ``reason`` is one line for logs and stderr."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason}: {url}")
        self.url = url
        self.reason = reason


class Blocked(FetchError):
    """WAF page, empty body, or an HTML page where an attachment was expected."""


class HttpStatusError(FetchError):
    """4xx/5xx (after retries for the transient ones)."""

    def __init__(self, url: str, status: int, reason: str | None = None) -> None:
        super().__init__(url, reason or f"HTTP {status}")
        self.status = status


class TooLarge(FetchError):
    """The response is bigger than ``max_download_bytes`` (download aborted)."""


class FetchTimeout(FetchError):
    """No (complete) answer within the timeout, after retries."""


class NetworkError(FetchError):
    """Connection refused/reset, DNS failure and the like, after retries."""


class InvalidResponse(FetchError):
    """An answer that is not what the protocol promises (bad JSON, odd redirect, stray 304),
    or a URL that cannot be requested at all (a malformed link or ``Location``)."""


class OffSite(FetchError):
    """An attachment link to a host that is not one of the source's own: never requested
    (a hostile or intercepted page could otherwise point the poller anywhere)."""


def _host_port(url: str) -> tuple[str, int | None]:
    """(host, explicit port) of a URL; InvalidResponse when it cannot be read (``http://[zz/``)."""
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower(), parts.port
    except ValueError as err:
        raise InvalidResponse(url[:300], f"malformed URL ({err})") from None


class Unreachable(FetchError):
    """The site could not be reached at all (after every retry): timeouts, refused or reset
    connections, DNS failures, a proxy that fails, or a refusal of the kind sites give to
    visitors from abroad (HTTP 403/451 that is not the WAF page). Distinct from ``Blocked``
    (the WAF answered) and from "no change"; the reason says what was tried: the host, direct
    or via which proxy (masked), how many attempts, the timeout."""

    host: str
    route: str
    attempts: int


class SiteTimeout(Unreachable, FetchTimeout):
    """Every attempt timed out."""


class SiteNetworkError(Unreachable, NetworkError):
    """Every attempt failed to connect, was reset, or the name did not resolve."""


class SiteRefused(Unreachable, HttpStatusError):
    """HTTP 403 / 451 with a page that is not the WAF's: typically a block by region."""


# Statuses a site (or a national firewall's middlebox) uses to turn a region away.
_REFUSED_STATUSES = frozenset({403, 451})

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def proxy_label(url: str | None) -> str:
    """How a proxy is shown in every line and log: scheme, host and port, never its
    credentials (``socks5://***@proxy.example:1080``); ``direct`` without one."""
    if not url:
        return "direct"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "***"
    if not parts.scheme or not parts.hostname:
        return "***"
    userinfo = "***@" if parts.username is not None or parts.password is not None else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{userinfo}{host}" + (f":{port}" if port is not None else "")


def _unreachable(err: FetchError, host: str, route: str, attempts: int, timeout: float) -> Unreachable:
    tried = f"{host} {route}, {attempts} attempt{'s' if attempts != 1 else ''}, {timeout:g}s timeout"
    made: Unreachable
    if isinstance(err, HttpStatusError):
        made = SiteRefused(err.url, err.status, f"site refused: {tried}: {err.reason} (outside mainland China? set sources.cac.proxy)")
    elif isinstance(err, FetchTimeout):
        made = SiteTimeout(err.url, f"site unreachable: {tried}: {err.reason}")
    else:
        made = SiteNetworkError(err.url, f"site unreachable: {tried}: {err.reason}")
    made.host, made.route, made.attempts = host, route, attempts
    return made


# -- validators -----------------------------------------------------------------------


class FetchSettings(Protocol):
    """The knobs the fetcher reads; a source's settings model provides them (e.g. ``CacSourceSettings``)."""

    @property
    def base_url(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def min_delay(self) -> float: ...
    @property
    def timeout(self) -> float: ...
    @property
    def retries(self) -> int: ...
    @property
    def max_download_bytes(self) -> int: ...


class ValidatorStore(Protocol):
    def get(self, url: str) -> Validators | None: ...

    def put(self, url: str, validators: Validators) -> None: ...


class MemoryValidatorStore:
    """A ``ValidatorStore`` in a dict (tests, one-off runs)."""

    def __init__(self) -> None:
        self._data: dict[str, Validators] = {}

    def get(self, url: str) -> Validators | None:
        return self._data.get(url)

    def put(self, url: str, validators: Validators) -> None:
        self._data[url] = validators


# -- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    url: str  # as requested (validators are keyed by it)
    status: int  # 200 or 304
    content: bytes | None  # None when not_modified
    sha256: str | None  # of content; on 304 the remembered one
    not_modified: bool
    content_type: str | None
    filename: str | None  # from Content-Disposition, decoded
    etag: str | None
    last_modified: str | None
    previous_sha256: str | None = None  # remembered sha before this request, if any

    @property
    def changed(self) -> bool:
        """False when the content is known unchanged (304, or the same bytes again)."""
        if self.not_modified:
            return False
        return self.previous_sha256 is None or self.previous_sha256 != self.sha256

    def text(self) -> str:
        """The body decoded (charset from Content-Type, else UTF-8 as the CAC site uses)."""
        if self.content is None:
            raise ValueError(f"{self.url} was not modified: no content to decode")
        charset = "utf-8"
        if self.content_type:
            match = re.search(r"charset=([\w-]+)", self.content_type, re.I)
            if match:
                charset = match.group(1)
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


@dataclass
class FetchStats:
    requests: int = 0  # HTTP requests sent (each retry and redirect counts)
    bytes_downloaded: int = 0  # body bytes received (decoded)
    not_modified: int = 0  # 304 answers
    retries: int = 0
    blocked: int = 0


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (FetchTimeout, NetworkError)):
        return True
    return isinstance(exc, HttpStatusError) and (exc.status >= 500 or exc.status == 429)


_Expect = Literal["page", "attachment", "json"]
_MAX_REDIRECTS = 5


# -- the fetcher ---------------------------------------------------------------------------


class Fetcher:
    """Async HTTP client with the manners the CAC site needs.

    * browser User-Agent, ``Accept-Language: zh-CN`` and always a Referer;
    * at most ``settings.concurrency`` requests in flight per host and
      ``settings.min_delay`` between request starts to one host;
    * retries (``settings.retries`` more attempts) with exponential backoff and
      jitter on timeouts, connection errors, 5xx and 429; the backoff starts at
      ``backoff_base`` (default ``settings.min_delay``);
    * ``settings.timeout`` per network operation, ``total_timeout`` (default
      4 × timeout) for a whole attempt, so a trickling server cannot hang a poll;
    * bodies over ``settings.max_download_bytes`` are refused (Content-Length)
      or aborted while streaming;
    * redirects are followed on the same host only.
    """

    def __init__(
        self,
        settings: FetchSettings,
        validators: ValidatorStore | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float | None = None,
        backoff_max: float = 30.0,
        total_timeout: float | None = None,
        hosts: Iterable[str] = (),
    ) -> None:
        """``hosts``: URLs of the source's own sites (``base_url`` is always one); attachments
        are fetched from their hosts (and ports) only."""
        self.settings = settings
        self._hosts = frozenset(_host_port(u) for u in (settings.base_url, *hosts))
        self.validators = validators
        self.stats = FetchStats()
        self._backoff_base = settings.min_delay if backoff_base is None else backoff_base
        self._backoff_max = backoff_max
        self._total_timeout = total_timeout if total_timeout is not None else settings.timeout * 4
        # The source's proxy (``sources.cac.proxy``), when its settings have one: every request
        # of this fetcher — and only of this fetcher: notifiers have clients of their own.
        self.proxy: str | None = getattr(settings, "proxy", None)
        self._client = httpx.AsyncClient(
            transport=transport,
            proxy=self.proxy,
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,  # handled here: same host only
            headers={
                "User-Agent": settings.user_agent,
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.6",
            },
        )
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._pace_locks: dict[str, asyncio.Lock] = {}
        self._next_start: dict[str, float] = {}

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def route(self) -> str:
        """``direct`` or ``via proxy <scheme://host:port>`` (credentials masked), for reasons and logs."""
        return f"via proxy {proxy_label(self.proxy)}" if self.proxy else "direct (no proxy)"

    @property
    def site_root(self) -> str:
        return self.settings.base_url.rstrip("/") + "/"

    # -- public API --------------------------------------------------------------------

    async def get_page(
        self,
        url: str,
        *,
        referer: str | None = None,
        conditional: bool = True,
        remember: bool = False,
    ) -> FetchResult:
        """An HTML page. Empty or WAF bodies raise ``Blocked``."""
        return await self._get(url, referer, conditional, remember, "page")

    async def get_attachment(
        self,
        url: str,
        *,
        referer: str,
        conditional: bool = True,
        remember: bool = False,
    ) -> FetchResult:
        """A list file (docx/pdf/xlsx…). An HTML answer is ``Blocked``: the site serves a
        page instead of the file when it refuses the download. A link off the source's
        hosts is ``OffSite``, a malformed one ``InvalidResponse``: neither is requested."""
        if _host_port(url) not in self._hosts:
            raise OffSite(url, "attachment on a host that is not the source's (not fetched)")
        return await self._get(url, referer, conditional, remember, "attachment")

    async def get_json(self, url: str, *, referer: str | None = None) -> Any:
        """A JSON document (never conditional)."""
        result = await self._get(url, referer, False, False, "json")
        assert result.content is not None
        try:
            return json.loads(result.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InvalidResponse(url, f"invalid JSON ({err.__class__.__name__})") from None

    def remember(self, result: FetchResult) -> None:
        """Keep a 200's validators so the next request for the URL is conditional.

        Call it once the content has been stored/used; a 304 result is a no-op.
        """
        if self.validators is None or result.not_modified or result.content is None:
            return
        self.validators.put(
            result.url, Validators(result.etag, result.last_modified, result.sha256)
        )

    # -- internals ---------------------------------------------------------------------

    async def _get(
        self, url: str, referer: str | None, conditional: bool, remember: bool, expect: _Expect
    ) -> FetchResult:
        _host_port(url)  # a malformed URL (bad IPv6 literal, port) is InvalidResponse before any request
        stored = self.validators.get(url) if self.validators is not None else None
        headers = {"Referer": referer or self.site_root}
        headers["Accept"] = (
            "application/json, text/plain, */*"
            if expect == "json"
            else "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )
        sent_conditional = False
        if conditional and stored is not None:
            if stored.etag:
                headers["If-None-Match"] = stored.etag
                sent_conditional = True
            if stored.last_modified:
                headers["If-Modified-Since"] = stored.last_modified
                sent_conditional = True

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=self._backoff,
            retry=retry_if_exception(_is_transient),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    status, resp_headers, body = await self._attempt(url, headers)
        except (FetchTimeout, NetworkError, HttpStatusError) as err:
            if isinstance(err, HttpStatusError) and err.status not in _REFUSED_STATUSES:
                raise
            attempts = int(retrying.statistics.get("attempt_number", 1))
            host = urlsplit(url).hostname or url
            raise _unreachable(err, host, self.route, attempts, self.settings.timeout) from None

        previous = stored.sha256 if stored is not None else None
        etag = resp_headers.get("etag") or (stored.etag if stored and status == 304 else None)
        last_modified = resp_headers.get("last-modified") or (
            stored.last_modified if stored and status == 304 else None
        )
        if status == 304:
            if not sent_conditional:
                raise InvalidResponse(url, "304 Not Modified to an unconditional request")
            self.stats.not_modified += 1
            return FetchResult(
                url=url,
                status=304,
                content=None,
                sha256=previous,
                not_modified=True,
                content_type=None,
                filename=None,
                etag=etag,
                last_modified=last_modified,
                previous_sha256=previous,
            )

        assert body is not None
        content_type = resp_headers.get("content-type")
        self._check_body(url, body, content_type, expect)
        result = FetchResult(
            url=url,
            status=status,
            content=body,
            sha256=hashlib.sha256(body).hexdigest(),
            not_modified=False,
            content_type=content_type,
            filename=filename_from_disposition(resp_headers.raw_disposition),
            etag=etag,
            last_modified=last_modified,
            previous_sha256=previous,
        )
        if remember:
            self.remember(result)
        return result

    def _backoff(self, state: RetryCallState) -> float:
        # Exponential backoff with full jitter on top: base, 2·base, 4·base … capped.
        base = self._backoff_base
        exp: float = min(self._backoff_max, base * 2.0 ** (state.attempt_number - 1))
        return exp + random.uniform(0, base)

    def _count_retry(self, _state: object) -> None:
        self.stats.retries += 1

    def _check_body(self, url: str, body: bytes, content_type: str | None, expect: _Expect) -> None:
        if not body.strip():
            self.stats.blocked += 1
            raise Blocked(url, "empty page (missing Referer or blocked)")
        if (expect != "attachment" or looks_like_html(body, content_type)) and looks_like_waf(body):
            self.stats.blocked += 1
            raise Blocked(url, "KnownSec WAF page (知道创宇云防御 / 浏览器安全检查)")
        # Some lists may be published as an HTML table; any other HTML where a file was
        # expected is the site's error/anti-bot page.
        if expect == "attachment" and looks_like_html(body, content_type) and b"<table" not in body.lower():
            self.stats.blocked += 1
            raise Blocked(url, "HTML page served instead of the attachment")

    async def _attempt(self, url: str, headers: dict[str, str]) -> tuple[int, "_Headers", bytes | None]:
        try:
            async with asyncio.timeout(self._total_timeout):
                return await self._follow(url, headers)
        except TimeoutError:
            raise FetchTimeout(url, f"no complete answer within {self._total_timeout:g}s") from None

    async def _follow(self, url: str, headers: dict[str, str]) -> tuple[int, "_Headers", bytes | None]:
        origin = urlsplit(url).hostname
        current = url
        for _hop in range(_MAX_REDIRECTS + 1):
            status, resp_headers, body, location = await self._one(url, current, headers)
            if location is None:
                return status, resp_headers, body
            try:
                target = urljoin(current, location)
                target_host = urlsplit(target).hostname
            except ValueError:
                raise InvalidResponse(url, f"malformed redirect Location {location[:200]!r}") from None
            if target_host != origin:
                raise InvalidResponse(url, f"redirect to another host ({target})")
            current = target
        raise InvalidResponse(url, f"more than {_MAX_REDIRECTS} redirects")

    async def _one(
        self, url: str, current: str, headers: dict[str, str]
    ) -> tuple[int, "_Headers", bytes | None, str | None]:
        host = urlsplit(current).netloc
        async with self._slot(host):
            self.stats.requests += 1
            try:
                async with self._client.stream("GET", current, headers=headers) as resp:
                    status = resp.status_code
                    resp_headers = _Headers(resp.headers)
                    if resp.is_redirect and "location" in resp.headers:
                        return status, resp_headers, None, resp.headers["location"]
                    if status == 304:
                        return status, resp_headers, None, None
                    if status >= 400:
                        raise HttpStatusError(url, status, f"HTTP {status} {resp.reason_phrase}".strip())
                    if status != 200:
                        raise InvalidResponse(url, f"unexpected HTTP {status}")
                    body = await self._read_limited(url, resp)
                    return status, resp_headers, body, None
            except httpx.TimeoutException as err:
                raise FetchTimeout(url, f"timed out ({err.__class__.__name__})") from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
                # A malformed link or Location (e.g. a scheme or control character httpx refuses).
                raise InvalidResponse(url, f"cannot request this URL ({err.__class__.__name__}: {str(err)[:200]})") from None
            except httpx.TransportError as err:
                raise NetworkError(url, f"network error ({err.__class__.__name__}: {err})") from None

    async def _read_limited(self, url: str, resp: httpx.Response) -> bytes:
        limit = self.settings.max_download_bytes
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise TooLarge(url, f"Content-Length {declared} exceeds the {limit}-byte limit")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            self.stats.bytes_downloaded += len(chunk)
            if size > limit:
                raise TooLarge(url, f"body exceeds the {limit}-byte limit (aborted)")
            chunks.append(chunk)
        return b"".join(chunks)

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Per-host politeness: a concurrency cap and a pause between request starts."""
        sem = self._semaphores.get(host)
        if sem is None:
            sem = self._semaphores[host] = asyncio.Semaphore(self.settings.concurrency)
        lock = self._pace_locks.get(host)
        if lock is None:
            lock = self._pace_locks[host] = asyncio.Lock()
        async with sem:
            async with lock:
                now = time.monotonic()
                wait = self._next_start.get(host, 0.0) - now
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next_start[host] = time.monotonic() + self.settings.min_delay
            yield


class _Headers:
    """The few response headers the fetcher keeps (case-insensitive access)."""

    def __init__(self, headers: httpx.Headers) -> None:
        self._headers = {k.lower(): v for k, v in headers.items()}
        # Content-Disposition as raw bytes: servers put non-ASCII names in it.
        self.raw_disposition: bytes | None = next(
            (v for k, v in headers.raw if k.lower() == b"content-disposition"), None
        )

    def get(self, name: str) -> str | None:
        return self._headers.get(name.lower())
