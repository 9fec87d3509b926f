"""What every request handler needs: the read queries and the web settings (on ``app.state``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.requests import Request

from bot.config import WebSettings
from bot.web.search_text import refresh_index
from storage.corpus import Corpus

__all__ = ["WebState", "web_state"]


@dataclass(slots=True)
class WebState:
    corpus: Corpus
    web: WebSettings
    # The data version the search index was last brought up to (see ensure_index).
    indexed_version: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        version = self.corpus.data_version()
        if version == self.indexed_version:
            return
        with self._lock:
            if version != self.indexed_version:
                refresh_index(self.corpus)
                self.indexed_version = version


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
