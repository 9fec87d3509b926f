"""What every request handler needs: the read queries and the web settings (on ``app.state``)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request

from bot.settings.config import WebSettings
from scrapers.blobstore import BlobStore
from storage.corpus import Corpus, DataStamp, FilingQuery

T = TypeVar("T")
_COUNTS_KEPT = 4096
# How often a request looks for new data (one indexed query); an ingest shows within this.
_CHECK_EVERY = 0.25

__all__ = ["WebState", "web_state", "indexed"]


@dataclass(slots=True)
class WebState:
    corpus: Corpus
    web: WebSettings
    # Brings the search index up to date (in a child process for `cacwatch serve`).
    refresh: Callable[[], object]
    # The raw attachments (data_dir/blobs) the archived-file route serves; None when this
    # server has none (``cacwatch serve`` over a config whose data_dir holds no blob store).
    blobs: BlobStore | None = None
    # What the answers are computed from (Corpus.data_stamp); None until the first look.
    stamp: DataStamp | None = None
    # The filing part of the stamp the search index was last brought up to (see ensure_index).
    _indexed_filings: tuple[int, str] | None = None
    _checked_at: float = float("-inf")
    # The look running now (look_if_due), set when it ends: requests that find it due meanwhile
    # wait for that one rather than each sending the same query from a worker thread of its own.
    _look: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Answers that only change when the data does (an ingest), kept for the current stamp.
    _cache: dict[str, tuple[DataStamp | None, Any]] = field(default_factory=dict)
    _counts: "OrderedDict[tuple[tuple[int, str] | None, FilingQuery], int]" = field(default_factory=OrderedDict)
    _cursor_key: bytes | None = None
    _downloads: threading.BoundedSemaphore | None = None
    # Threads of the downloads' own (an anyio CapacityLimiter, made on the first XLSX).
    download_threads: Any = None

    def download_slot(self) -> Callable[[], None] | None:
        """One of ``web.max_downloads`` slots for a CSV/XLSX download, or None when all are
        taken; the caller calls what it gets (once) when its download ends."""
        if self._downloads is None:
            with self._lock:
                if self._downloads is None:
                    self._downloads = threading.BoundedSemaphore(self.web.max_downloads)
        slots = self._downloads
        if not slots.acquire(blocking=False):
            return None
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                slots.release()

        return release

    @property
    def cursor_key(self) -> bytes:
        """This installation's key for signing cursors (read, or made, once per process)."""
        if self._cursor_key is None:
            self._cursor_key = self.corpus.web_secret("cursor")
        return self._cursor_key

    def base_url(self, request: Request) -> str:
        """Where links point: web.public_url when set (behind a proxy), else this request's origin."""
        if self.web.public_url:
            return self.web.public_url
        return str(request.base_url).rstrip("/")

    def ensure_index(self) -> None:
        """Index filings stored since the last look (by another process: `cacwatch run`/`check`).

        One indexed primary-key lookup per search while nothing changed; after an ingest the
        first search brings the index up to date, so a search never misses stored filings.
        """
        stamp = self.corpus.data_stamp()
        self._checked_at = time.monotonic()
        if stamp.filings != self._indexed_filings:
            with self._lock:
                if stamp.filings != self._indexed_filings:
                    self.refresh()
                    self._indexed_filings = stamp.filings
        # Set after the refresh: an answer is never kept under a stamp whose index was not ready.
        self.stamp = stamp


    @property
    def indexed_version(self) -> int:
        """The data version the search index was last brought up to (-1: not yet)."""
        return self._indexed_filings[0] if self._indexed_filings is not None else -1

    def due(self) -> bool:
        return time.monotonic() - self._checked_at >= _CHECK_EVERY

    async def look_if_due(self) -> None:
        """``ensure_index`` at most every _CHECK_EVERY seconds, in a worker thread (a query)."""
        if not self.due():
            return
        if self._look is not None:
            await self._look.wait()
            return
        import asyncio

        import anyio.to_thread

        look = self._look = asyncio.Event()
        try:
            await anyio.to_thread.run_sync(self.ensure_index)
        finally:
            self._look = None
            look.set()

    def cached(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per data stamp (lists, totals, facets: a few queries over it all)."""
        stamp = self.stamp
        hit = self._cache.get(name)
        if hit is not None and hit[0] == stamp and stamp is not None:
            value: T = hit[1]
            return value
        value = compute()
        self._cache[name] = (stamp, value)
        return value

    def count(self, query: FilingQuery) -> int:
        """How many filings match: exact for the current data, remembered per query."""
        key = (self._indexed_filings, query)
        found = self._counts.get(key)
        if found is None:
            found = self.corpus.count_filings(query)
            with self._lock:
                self._counts[key] = found
                while len(self._counts) > _COUNTS_KEPT:
                    self._counts.popitem(last=False)
        return found


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


async def indexed(request: Request) -> None:
    """A dependency: the search index (and the filer names stored with it) is current.

    Looks at most every _CHECK_EVERY seconds (in a worker thread: it is a database query).
    """
    await web_state(request).look_if_due()
