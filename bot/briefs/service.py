"""Briefs on demand: facts from the store, documents rendered at most a few at a time and kept.

Rendering a PDF costs seconds of CPU and tens of MB; gathering the facts is a few queries. So
the facts are read every time and the rendered document is kept under the facts' digest (with
kind, period, month, language and format): a brief is rendered again only when a fact in it
changed (a new list, a re-issue, a cancellation). Kept on disk under ``data_dir/briefs`` when
a directory is given (shared by the processes of one host, bounded by ``cache_mb``), and in a
small in-memory LRU in any case.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from storage.db import Database

if TYPE_CHECKING:  # the facts and renderers load the naming machinery: only when a brief is asked for
    from bot.briefs.facts import BriefFacts

__all__ = ["BriefService", "BriefKey"]

_MEMORY_ENTRIES: Final = 16


@dataclass(frozen=True, slots=True)
class BriefKey:
    kind: str
    period: str
    month: str
    version: str  # BriefFacts.digest()
    lang: str
    fmt: str

    def filename(self) -> str:
        return f"{self.kind}_{self.period}_{self.month}_{self.version}_{self.lang}.{self.fmt}"


class BriefService:
    """Facts and rendered briefs over one database (thread-safe)."""

    def __init__(
        self, db: Database, *, font: Path | str | None = None, cache_dir: Path | None = None, cache_mb: int = 64
    ) -> None:
        self.db = db
        self.font = font
        self.cache_dir = cache_dir
        self.cache_bytes = cache_mb * 1024 * 1024
        self._memory: OrderedDict[BriefKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def facts(self, kind: str, month: str, period: str = "list") -> "BriefFacts":
        from bot.briefs.facts import gather

        with self.db.session() as session:
            return gather(session, kind, month, period)

    def key(self, facts: "BriefFacts", fmt: str, lang: str) -> BriefKey:
        return BriefKey(facts.kind, facts.period, facts.month, facts.digest(), lang, fmt)

    def cached(self, key: BriefKey) -> bytes | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        if self.cache_dir is not None:
            try:
                data = (self.cache_dir / key.filename()).read_bytes()
            except OSError:
                return None
            self._remember(key, data)
            return data
        return None

    def render(self, facts: "BriefFacts", fmt: str, lang: str) -> bytes:
        """Render (no cache lookup) and keep the result."""
        from bot.briefs.render import render

        data = render(facts, fmt, lang, font=self.font)
        key = self.key(facts, fmt, lang)
        self._remember(key, data)
        if self.cache_dir is not None:
            self._store(key, data)
        return data

    def document(self, facts: "BriefFacts", fmt: str, lang: str) -> bytes:
        return self.cached(self.key(facts, fmt, lang)) or self.render(facts, fmt, lang)

    def _remember(self, key: BriefKey, data: bytes) -> None:
        with self._lock:
            self._memory[key] = data
            self._memory.move_to_end(key)
            while len(self._memory) > _MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    def _store(self, key: BriefKey, data: bytes) -> None:
        assert self.cache_dir is not None
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            # Written whole then renamed: a reader never sees half a document.
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".part-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, self.cache_dir / key.filename())
            self._trim()
        except OSError:
            pass  # a cache that cannot be written only costs a render next time

    def _trim(self) -> None:
        """Oldest documents go first once the directory holds more than ``cache_mb``."""
        assert self.cache_dir is not None
        files = sorted((p for p in self.cache_dir.iterdir() if p.is_file() and not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for path in files:
            if total <= self.cache_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
