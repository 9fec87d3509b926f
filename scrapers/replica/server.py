"""A local HTTP replica of the CAC site, for tests and ``cacwatch demo``.

It serves a site directory through ``routes.json`` (URL → file, content type,
Content-Disposition) and reproduces the manners of the real site that the
scraper must cope with (see shared/cac-site.md):

* no ``Referer`` header → 200 with an EMPTY body; ``downloadfile.jsp`` then
  answers with an HTML page instead of the file;
* ``ETag`` (sha256 of the body) and ``Last-Modified``; ``If-None-Match`` /
  ``If-Modified-Since`` → 304;
* ``waf = True`` → every answer is a KnownSec (知道创宇) WAF page with status 200;
* ``fail_status = 500`` → every answer has that status;
* ``delay`` seconds before each answer (to observe concurrency and timeouts).

Tests mutate it while it runs (``replace_file``, ``add_route``, ``set_page``)
and count requests in ``requests``. Attachment routes are matched on the path
plus the ``filepath`` query parameter only: the page links add ``fText``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

__all__ = [
    "ReplicaServer",
    "RecordedRequest",
    "Resource",
    "route_key",
    "WAF_PAGE",
    "DEFAULT_SITE_DIR",
    "DEFAULT_ROUTES",
]

_HERE = Path(__file__).resolve().parent
DEFAULT_SITE_DIR = _HERE / "site"
DEFAULT_ROUTES = _HERE / "routes.json"

# What KnownSec's cloud WAF serves instead of content (status 200, so a naive
# scraper would take it for an empty list).
WAF_PAGE = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
    "<title>知道创宇云防御 - 浏览器安全检查</title></head><body>"
    "<div class=\"container\"><h1>浏览器安全检查中...</h1>"
    "<p>该网站受知道创宇云安全保护，请稍候，系统正在对您的浏览器进行安全检查。</p>"
    "<script>var __jsl_clearance='';document.cookie='__jsluid_s=1';</script>"
    "</div><div class=\"footer\">Powered by KnownSec 创宇盾</div></body></html>"
).encode("utf-8")

# What downloadfile.jsp answers when the Referer is missing: a page, not the file.
_NO_REFERER_DOWNLOAD_PAGE = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>中国网信网</title></head>"
    "<body><script>window.location.href='/';</script><p>文件下载失败，请从原页面重新下载。</p>"
    "</body></html>"
).encode("utf-8")


_FILEPATH = re.compile(r"(?:^|&)filepath=([^&]*)")


def _filepath_param(query: str) -> str | None:
    """The ``filepath`` value from a raw query string, percent-decoded.

    Parsed by hand rather than with ``parse_qs``: the opaque tokens contain
    ``/`` and ``~`` and would be mangled if ``+`` were read as a space. (The
    fake site reads its URLs on its own, not with the client's code under test.)
    """
    found = _FILEPATH.search(query)
    return unquote(found.group(1)) if found else None


def route_key(url_or_key: str) -> str:
    """Normalise a URL, path or routes.json key to the key used for matching.

    Only the path and the ``filepath`` parameter count: ``fText`` and any other
    query parameter (the notice API ignores paging) are dropped.
    """
    parts = urlsplit(url_or_key)
    path = unquote(parts.path) or "/"
    filepath = _filepath_param(parts.query)
    return f"{path}?filepath={filepath}" if filepath is not None else path


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


@dataclass
class Resource:
    """One servable URL: either a file under the site directory or bytes in memory."""

    content_type: str
    file: Path | None = None
    data: bytes | None = None
    disposition: str | None = None
    base_substitute: bool = False
    status: int = 200
    modified: float = field(default_factory=time.time)

    def body(self, base_url: str) -> bytes:
        if self.data is not None:
            raw = self.data
        else:
            assert self.file is not None
            raw = self.file.read_bytes()
        if self.base_substitute:
            raw = raw.replace(b"{BASE}", base_url.encode("utf-8"))
        return raw


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (for counting downloads and overlap)."""

    method: str
    path: str  # path with query, as sent
    headers: dict[str, str]  # header names lower-cased
    status: int
    bytes_sent: int  # body bytes of the answer (0 for 304 and HEAD)
    started: float  # time.monotonic() when the request was read
    finished: float  # time.monotonic() just before the answer is sent

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus
    # delayed ACK add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.replica._handle(self, head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self.server.replica._handle(self, head=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # Silence the default stderr access log; ``ReplicaServer.requests`` records it.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    replica: "ReplicaServer"

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-response (timeouts, cancelled retries) is normal here;
        # the default handler would print a traceback into the tests' stderr.
        return


class ReplicaServer:
    """A threaded local HTTP server replaying the CAC site (see module docstring)."""

    def __init__(self, site_dir: Path | None = None, routes: Path | None = None) -> None:
        self.site_dir = Path(site_dir) if site_dir is not None else DEFAULT_SITE_DIR
        if routes is None:
            routes = self.site_dir.parent / "routes.json" if site_dir is not None else DEFAULT_ROUTES
        self.routes_path = Path(routes)
        self.waf: bool = False
        self.fail_status: int | None = None
        self.delay: float = 0.0
        self.require_referer: bool = True
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._routes: dict[str, Resource] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._load_routes()

    # -- lifecycle -----------------------------------------------------------------

    def _load_routes(self) -> None:
        raw = json.loads(self.routes_path.read_text(encoding="utf-8"))
        for key, spec in raw.items():
            file = self.site_dir / spec["file"]
            self._routes[route_key(key)] = Resource(
                content_type=spec.get("type", "application/octet-stream"),
                file=file,
                disposition=spec.get("disposition"),
                base_substitute=bool(spec.get("base_substitute", False)),
                status=int(spec.get("status", 200)),
                modified=file.stat().st_mtime if file.exists() else time.time(),
            )

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind (by default to a free port on 127.0.0.1), serve in a background thread, return
        the base URL. ``OSError`` when the address cannot be bound."""
        if self._server is not None:
            return self.base_url
        server = _Server((host, port), _Handler)
        server.replica = self
        self._server = server
        bound_host, bound_port = server.server_address[:2]
        assert isinstance(bound_host, str)  # an AF_INET server: (host, port)
        self._base_url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "ReplicaServer":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("ReplicaServer is not started")
        return self._base_url

    @property
    def beian_url(self) -> str:
        # The notice API (/api/notice/list) is served by the same server.
        return self.base_url

    def url(self, path_or_key: str) -> str:
        """Absolute URL of a path or route key on this server."""
        return self.base_url + (path_or_key if path_or_key.startswith("/") else "/" + path_or_key)

    # -- mutation helpers for tests ---------------------------------------------------

    def _find(self, url_path_or_route_key: str) -> str:
        key = route_key(url_path_or_route_key)
        with self._lock:
            if key in self._routes:
                return key
            # Also accept a file path relative to the site directory ("files/abc…").
            wanted = (self.site_dir / url_path_or_route_key.lstrip("/")).resolve()
            for k, res in self._routes.items():
                if res.file is not None and res.file.resolve() == wanted:
                    return k
        raise KeyError(f"no route for {url_path_or_route_key!r}")

    def _next_modified(self, previous: float | None) -> float:
        # HTTP dates have one-second resolution: make a re-issued file strictly
        # newer, else If-Modified-Since would wrongly answer 304.
        now = time.time()
        if previous is not None and now < previous + 1:
            return float(int(previous) + 1)
        return now

    def replace_file(self, url_path_or_route_key: str, data: bytes) -> None:
        """Re-issue a URL in place: new content (hence new ETag), newer Last-Modified."""
        key = self._find(url_path_or_route_key)
        with self._lock:
            old = self._routes[key]
            self._routes[key] = Resource(
                content_type=old.content_type,
                data=data,
                disposition=old.disposition,
                base_substitute=old.base_substitute,
                status=old.status,
                modified=self._next_modified(old.modified),
            )

    def add_route(
        self,
        key: str,
        data: bytes,
        content_type: str,
        disposition: str | None = None,
        *,
        base_substitute: bool = False,
    ) -> None:
        """Serve ``data`` at ``key`` (a path, or path + ``?filepath=…``), replacing any route."""
        norm = route_key(key)
        with self._lock:
            old = self._routes.get(norm)
            self._routes[norm] = Resource(
                content_type=content_type,
                data=data,
                disposition=disposition,
                base_substitute=base_substitute,
                modified=self._next_modified(old.modified if old else None),
            )

    def set_page(self, path: str, html: str) -> None:
        """Serve an HTML page (UTF-8) at ``path``; ``{BASE}`` is replaced by the base URL."""
        self.add_route(
            path, html.encode("utf-8"), "text/html; charset=utf-8", base_substitute=True
        )

    def withhold(self, page_path: str, channel_path: str = "/wxzw/wxfb/A093702index_1.htm") -> Callable[[], None]:
        """Take an announcement off the channel page and the notice API, as if not yet
        published (the demo, and tests of what a new list looks like). Returns ``publish``."""
        notices_path = "/api/notice/list"
        originals = {path: self.read(path) for path in (channel_path, notices_path)}
        channel = originals[channel_path].decode("utf-8")
        start = channel.index(f'<li><h5><a href="{page_path}"')
        self.set_page(channel_path, channel[:start] + channel[channel.index("</li>", start) + len("</li>") :])
        notices = json.loads(originals[notices_path])
        notices["datas"] = [n for n in notices["datas"] if page_path not in n.get("content", "")]
        self.set_page(notices_path, json.dumps(notices, ensure_ascii=False))

        def publish() -> None:
            for path, data in originals.items():
                self.set_page(path, data.decode("utf-8"))

        return publish

    def remove_route(self, key: str) -> None:
        with self._lock:
            self._routes.pop(route_key(key), None)

    def read(self, url_path_or_route_key: str) -> bytes:
        """The body currently served at a route (as a client with a Referer gets it)."""
        key = self._find(url_path_or_route_key)
        with self._lock:
            res = self._routes[key]
        return res.body(self._base_url or "")

    def route_keys(self) -> list[str]:
        with self._lock:
            return list(self._routes)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        """Logged requests whose path starts with ``path_prefix``."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    # -- request handling -----------------------------------------------------------

    def _handle(self, h: _Handler, *, head: bool) -> None:
        started = time.monotonic()
        if self.delay:
            time.sleep(self.delay)
        headers = {k.lower(): v for k, v in h.headers.items()}
        status, extra, body = self._respond(h.path, headers)
        sent = 0 if head or status == 304 else len(body)
        try:
            h.send_response(status)
            for name, value in extra:
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(body)))
            # Log before anything goes out (end_headers flushes): a client that has
            # the answer must find its request in the log (tests count right after).
            self._log(h.command, h.path, headers, status, sent, started)
            h.end_headers()
            if sent:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # Clients that abort large downloads (size limit) close the socket early.
            pass

    def _log(
        self, method: str, path: str, headers: dict[str, str], status: int, sent: int, started: float
    ) -> None:
        record = RecordedRequest(
            method=method,
            path=path,
            headers=headers,
            status=status,
            bytes_sent=sent,
            started=started,
            finished=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)

    def _respond(
        self, raw_path: str, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        html = [("Content-Type", "text/html; charset=utf-8")]
        if self.fail_status is not None:
            phrase = HTTPStatus(self.fail_status).phrase if self.fail_status in HTTPStatus._value2member_map_ else "Error"
            return self.fail_status, html, f"<html><body>{self.fail_status} {phrase}</body></html>".encode()
        if self.waf:
            return 200, html, WAF_PAGE

        key = route_key(raw_path)
        with self._lock:
            res = self._routes.get(key)
        if res is None:
            return 404, html, b"<html><body>404 Not Found</body></html>"

        if self.require_referer and not headers.get("referer"):
            if "downloadfile.jsp" in key:
                return 200, html, _NO_REFERER_DOWNLOAD_PAGE
            return 200, html, b""

        try:
            body = res.body(self.base_url)
        except FileNotFoundError:
            return 404, html, b"<html><body>404 Not Found</body></html>"
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        last_modified = _http_date(res.modified)
        validators = [("ETag", etag), ("Last-Modified", last_modified)]
        if res.status == 200 and self._not_modified(headers, etag, res.modified):
            return 304, validators, b""
        out = [("Content-Type", res.content_type), *validators]
        if res.disposition:
            out.append(("Content-Disposition", res.disposition))
        return res.status, out, body

    @staticmethod
    def _not_modified(headers: dict[str, str], etag: str, modified: float) -> bool:
        inm = headers.get("if-none-match")
        if inm is not None:
            # If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2).
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = headers.get("if-modified-since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(modified) <= since
        return False
