"""The fetcher against the real local replica (plus a few transport-level edge cases)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.settings.config import CacSourceSettings
from scrapers.fetch import (
    Blocked,
    FetchError,
    Fetcher,
    FetchTimeout,
    HttpStatusError,
    InvalidResponse,
    MemoryValidatorStore,
    NetworkError,
    TooLarge,
    Validators,
    filename_from_disposition,
    looks_like_html,
    looks_like_waf,
)
from scrapers.replica.server import ReplicaServer

PAGE = "/2023-06/20/c_1688910683316256.htm"
TOKEN = "X7Dv6Y1OclO6B35Gx4KqYMRGqR6c2YZHfYPPJrGOnjxfsO/pjU5yU7oHfkbHgqpgxEapHpzZhkd9g88m"
ATTACHMENT = f"/cms/pub/interact/downloadfile.jsp?filepath={TOKEN}"
ATTACHMENT_LINK = (
    ATTACHMENT + "&fText=%E5%A2%83%E5%86%85%E6%B7%B1%E5%BA%A6%E5%90%88%E6%88%90%E6%9C%8D"
    "%E5%8A%A1%E7%AE%97%E6%B3%95%E5%A4%87%E6%A1%88%E6%B8%85%E5%8D%95%EF%BC%882023%E5%B9%B46%E6%9C%88%EF%BC%89"
)

SettingsFor = Callable[..., CacSourceSettings]


def fetcher_for(settings: CacSourceSettings, store: MemoryValidatorStore | None = None, **kw: object) -> Fetcher:
    kw.setdefault("backoff_base", 0.01)
    return Fetcher(settings, store if store is not None else MemoryValidatorStore(), **kw)  # type: ignore[arg-type]


async def test_sends_browser_headers_and_referer(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        await f.get_page(replica.url(PAGE))
        await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
    page_req, file_req = replica.requests
    assert page_req.header("user-agent") == cac_settings.user_agent
    assert "Mozilla/5.0" in page_req.header("user-agent")
    assert page_req.header("referer") == replica.base_url + "/"  # the site root by default
    assert page_req.header("accept-language").startswith("zh-CN")
    assert file_req.header("referer") == replica.url(PAGE)
    assert file_req.path == ATTACHMENT_LINK  # fText kept as the page links it


async def test_page_result_fields(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        res = await f.get_page(replica.url(PAGE))
    assert res.status == 200 and not res.not_modified
    assert res.content is not None and "深度合成服务算法备案信息" in res.text()
    assert res.etag and res.last_modified and res.sha256
    assert res.content_type.startswith("text/html")
    assert res.filename is None


async def test_attachment_filename_and_content(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        res = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
    assert res.content is not None and res.content.startswith(b"PK\x03\x04")
    assert res.filename == "境内深度合成服务算法备案清单（2023年6月）"
    assert f.stats.bytes_downloaded == len(res.content)


async def test_conditional_get_second_time(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    store = MemoryValidatorStore()
    async with fetcher_for(cac_settings, store) as f:
        first = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
        # Not remembered yet: the second request is a full download again.
        again = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
        assert not again.not_modified
        f.remember(first)
        assert store.get(first.url) == Validators(first.etag, first.last_modified, first.sha256)
        replica.reset_log()
        third = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
    assert third.not_modified and third.status == 304
    assert third.content is None
    assert third.sha256 == first.sha256  # the remembered one
    assert not third.changed
    [req] = replica.requests
    assert req.status == 304 and req.bytes_sent == 0
    assert req.header("if-none-match") == first.etag
    assert f.stats.not_modified == 1


async def test_remember_flag_and_unconditional(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        await f.get_page(replica.url(PAGE), remember=True)
        assert (await f.get_page(replica.url(PAGE))).not_modified
        forced = await f.get_page(replica.url(PAGE), conditional=False)
    assert forced.status == 200 and forced.content
    assert replica.requests[-1].header("if-none-match") is None


async def test_reissued_attachment_is_downloaded_again(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        first = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE), remember=True)
        replica.replace_file(ATTACHMENT, b"PK\x03\x04 re-issued" + "已注销".encode())
        second = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
    assert not second.not_modified
    assert second.content == b"PK\x03\x04 re-issued" + "已注销".encode()
    assert second.previous_sha256 == first.sha256
    assert second.changed


async def test_waf_page_is_blocked(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.waf = True
    async with fetcher_for(cac_settings) as f:
        with pytest.raises(Blocked) as page_err:
            await f.get_page(replica.url(PAGE))
        with pytest.raises(Blocked):
            await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
        with pytest.raises(Blocked):
            await f.get_json(replica.url("/api/notice/list"))
    assert "WAF" in page_err.value.reason
    assert page_err.value.url == replica.url(PAGE)
    assert len(replica.requests) == 3  # a WAF block is not retried


async def test_empty_page_is_blocked(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.set_page("/blank.htm", "  \n ")
    async with fetcher_for(cac_settings) as f:
        with pytest.raises(Blocked) as err:
            await f.get_page(replica.url("/blank.htm"))
    assert err.value.reason == "empty page (missing Referer or blocked)"


class _StripReferer(httpx.AsyncHTTPTransport):
    """A proxy that drops the Referer: the site then serves empty pages / HTML downloads."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        del request.headers["Referer"]
        return await super().handle_async_request(request)


async def test_missing_referer_behaviour_is_blocked(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings, transport=_StripReferer()) as f:
        with pytest.raises(Blocked, match="empty page"):
            await f.get_page(replica.url(PAGE))
        with pytest.raises(Blocked, match="HTML page served instead of the attachment"):
            await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))


async def test_server_error_is_retried_then_raised(
    replica: ReplicaServer, cac_settings_for: SettingsFor
) -> None:
    replica.fail_status = 500
    settings = cac_settings_for(replica, retries=2)
    async with fetcher_for(settings) as f:
        with pytest.raises(HttpStatusError) as err:
            await f.get_page(replica.url(PAGE))
    assert err.value.status == 500
    assert len(replica.requests) == 3  # 1 + 2 retries
    assert f.stats.retries == 2


async def test_server_recovers_during_retries(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    replica.fail_status = 503
    settings = cac_settings_for(replica, retries=3)

    async def heal() -> None:
        while not replica.requests:
            await asyncio.sleep(0.005)
        replica.fail_status = None

    async with fetcher_for(settings, backoff_base=0.05) as f:
        res, _ = await asyncio.gather(f.get_page(replica.url(PAGE)), heal())
    assert res.status == 200
    assert replica.requests[0].status == 503


async def test_client_error_is_not_retried(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        with pytest.raises(HttpStatusError) as err:
            await f.get_page(replica.url("/nope.htm"))
    assert err.value.status == 404
    assert len(replica.requests) == 1


async def test_size_limit_by_content_length(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    replica.add_route("/cms/pub/interact/downloadfile.jsp?filepath=BIG", b"PK\x03\x04" + b"x" * 5000, "application/octet-stream")
    settings = cac_settings_for(replica, max_download_bytes=1024)
    async with fetcher_for(settings) as f:
        with pytest.raises(TooLarge):
            await f.get_attachment(replica.url("/cms/pub/interact/downloadfile.jsp?filepath=BIG"), referer=replica.base_url)
    assert len(replica.requests) == 1  # not retried


class _Chunks(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000


async def test_size_limit_while_streaming_without_content_length() -> None:
    chunks_sent = 0

    class Counting(_Chunks):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            nonlocal chunks_sent
            async for chunk in super().__aiter__():
                chunks_sent += 1
                yield chunk

    transport = httpx.MockTransport(lambda req: httpx.Response(200, stream=Counting()))
    settings = CacSourceSettings(base_url="http://cac.test", min_delay=0, max_download_bytes=4096)
    async with Fetcher(settings, transport=transport) as f:
        with pytest.raises(TooLarge):
            await f.get_attachment("http://cac.test/f", referer="http://cac.test/")
    assert chunks_sent < 10  # aborted early, not read to the end


async def test_timeout(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    replica.delay = 0.5
    settings = cac_settings_for(replica, timeout=0.1, retries=1)
    async with fetcher_for(settings) as f:
        with pytest.raises(FetchTimeout):
            await f.get_page(replica.url(PAGE))
    assert f.stats.requests == 2


async def test_connection_refused_is_network_error(cac_settings_for: SettingsFor) -> None:
    server = ReplicaServer()
    base = server.start()
    server.stop()  # the port is now closed
    settings = cac_settings_for(server, retries=1)
    async with fetcher_for(settings) as f:
        with pytest.raises(NetworkError):
            await f.get_page(base + PAGE)
    assert f.stats.requests == 2


async def _request_spans(
    replica: ReplicaServer, cac_settings_for: SettingsFor, *, concurrency: int, delay: float, requests: int
) -> list[tuple[float, float]]:
    """Ask for the same page ``requests`` times at once: each request's (start, end) at the replica, in order."""
    replica.delay = delay
    async with fetcher_for(cac_settings_for(replica, concurrency=concurrency)) as f:
        await asyncio.gather(*(f.get_page(replica.url(PAGE), conditional=False) for _ in range(requests)))
    spans = sorted((r.started, r.finished) for r in replica.requests)
    assert len(spans) == requests
    return spans


async def test_concurrency_one_never_overlaps(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    spans = await _request_spans(replica, cac_settings_for, concurrency=1, delay=0.05, requests=5)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end


async def test_concurrency_two_does_overlap(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    # Proves the measurement above can see overlap at all.
    spans = await _request_spans(replica, cac_settings_for, concurrency=2, delay=0.1, requests=4)
    assert any(start < end for (_, end), (start, _) in zip(spans, spans[1:]))


async def test_min_delay_between_request_starts(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    settings = cac_settings_for(replica, concurrency=4, min_delay=0.15)
    async with fetcher_for(settings) as f:
        await asyncio.gather(*(f.get_page(replica.url(PAGE), conditional=False) for _ in range(3)))
    starts = sorted(r.started for r in replica.requests)
    # Measured on the server, so allow for scheduling noise on a loaded machine.
    assert all(b - a >= 0.1 for a, b in zip(starts, starts[1:]))


async def test_get_json(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    async with fetcher_for(cac_settings) as f:
        data = await f.get_json(replica.url("/api/notice/list"), referer=replica.beian_url + "/")
        assert data["errno"] == 0 and len(data["datas"]) == 2
        replica.add_route("/api/notice/list", b"{not json", "application/json")
        with pytest.raises(InvalidResponse):
            await f.get_json(replica.url("/api/notice/list"))


async def test_redirects_same_host_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "/new"})
        if request.url.path == "/away":
            return httpx.Response(302, headers={"Location": "http://evil.test/x"})
        return httpx.Response(200, html="<html><body>正文内容</body></html>")

    settings = CacSourceSettings(base_url="http://cac.test", min_delay=0)
    async with Fetcher(settings, transport=httpx.MockTransport(handler)) as f:
        res = await f.get_page("http://cac.test/old")
        assert res.url == "http://cac.test/old" and "正文" in res.text()
        with pytest.raises(InvalidResponse, match="another host"):
            await f.get_page("http://cac.test/away")


def test_filename_from_disposition() -> None:
    assert filename_from_disposition("attachment; filename*=UTF-8''%E6%B8%85%E5%8D%95.docx") == "清单.docx"
    assert filename_from_disposition('attachment; filename="%E6%B8%85%E5%8D%95.pdf"') == "清单.pdf"
    assert filename_from_disposition("attachment; filename=\"清单.docx\"".encode("utf-8")) == "清单.docx"
    assert filename_from_disposition("attachment; filename=\"清单.docx\"".encode("gbk")) == "清单.docx"
    assert filename_from_disposition(
        "attachment; filename=fallback.docx; filename*=UTF-8''%E6%B8%85%E5%8D%95.docx"
    ) == "清单.docx"
    assert filename_from_disposition("inline") is None
    assert filename_from_disposition(None) is None


def test_body_sniffing(replica_readonly: ReplicaServer) -> None:
    page = replica_readonly.read(PAGE)
    assert not looks_like_waf(page)
    assert looks_like_html(page, "text/html")
    docx = replica_readonly.read(ATTACHMENT)
    assert not looks_like_html(docx, "text/html")  # magic bytes win over a wrong header
    assert not looks_like_waf(docx)
    assert looks_like_waf("<html><title>知道创宇云防御</title></html>".encode())
    big_article = ("<html><title>新闻</title><body>" + "正文" * 20000 + "知道创宇</body></html>").encode()
    assert not looks_like_waf(big_article)


# --- issue 19: malformed links and Locations, off-site attachments --------------------------


class _Redirector:
    """A real local server whose every answer is a 302 to ``location`` (sent as raw bytes)."""

    def __init__(self, location: bytes) -> None:
        import http.server
        import threading

        outer = self
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits += 1
                self.close_connection = True
                self.wfile.write(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("location", [b"http://[zz/downloadfile.jsp", b"java\tscript:alert(1)", b"http://x:99999999/a", b"data:text/html,x"])
async def test_a_bad_location_is_a_fetch_error(replica: ReplicaServer, cac_settings_for: Callable[..., CacSourceSettings], location: bytes) -> None:
    redirector = _Redirector(location)
    try:
        settings = cac_settings_for(replica, base_url=redirector.url)
        async with fetcher_for(settings) as f:
            # InvalidResponse, or NetworkError where httpx itself refuses the header: a FetchError
            # either way, which fails that one list (bot.ingest.pipeline).
            with pytest.raises(FetchError) as caught:
                await f.get_attachment(redirector.url + "/cms/pub/interact/downloadfile.jsp?filepath=A", referer=redirector.url + "/")
        assert "\n" not in caught.value.reason and redirector.hits >= 1
    finally:
        redirector.close()


@pytest.mark.parametrize("url", ["http://[zz/cms/pub/interact/downloadfile.jsp", "http://127.0.0.1:99999999/a.docx"])
async def test_a_malformed_url_is_a_fetch_error_not_a_crash(cac_settings: CacSourceSettings, url: str) -> None:
    async with fetcher_for(cac_settings) as f:
        with pytest.raises(InvalidResponse):
            await f.get_attachment(url, referer=cac_settings.base_url)
        with pytest.raises(InvalidResponse):
            await f.get_page(url)


async def test_attachments_only_from_the_sources_hosts(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    """base_url and beian_url hosts (and ports) only: nothing else is even connected to."""
    from scrapers.fetch import OffSite
    from scrapers.sources.cac.source import CacSource

    port = int(replica.base_url.rsplit(":", 1)[1])
    async with CacSource(cac_settings).fetcher(MemoryValidatorStore()) as f:
        for url in ("http://127.0.0.2:9/downloadfile.jsp?filepath=A", f"http://127.0.0.1:{port + 1}/a.docx", "https://www.cac.gov.cn/a.docx"):
            with pytest.raises(OffSite):
                await f.get_attachment(url, referer=replica.base_url + "/")
        ok = await f.get_attachment(replica.url(ATTACHMENT_LINK), referer=replica.url(PAGE))
        assert ok.status == 200
    assert len(replica.requests) == 1
