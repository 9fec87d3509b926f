"""Briefs on demand for the web app: rendered in a short-lived child, a few at a time, and kept.

Making a brief loads what the web process otherwise never holds: the naming machinery
(pypinyin's dictionaries, for English filer names), matplotlib for the chart and the CJK font
(~150 MB together, measured in docs/benchmarks.md). So, as the search index is rebuilt
(``bot.web.reindex``), a brief is gathered and rendered in a spawned child that exits when
done: what it allocated leaves with it. The caller bounds how many run at once.

A rendered brief is kept under its key — kind, period, month, the data's version (the
``DataStamp`` filing part: it changes with every stored list version), language and format —
on disk under ``data_dir/briefs`` (shared by the processes of one host, bounded by
``briefs.cache_mb``) and in a small in-memory LRU: it is rendered again only after an ingest.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["BriefService", "BriefKey", "BriefFailed", "render_brief", "render_in_child"]

_MEMORY_ENTRIES: Final = 16


@dataclass(frozen=True, slots=True)
class BriefKey:
    kind: str
    period: str
    month: str
    version: str  # the data's version the brief was made from
    lang: str
    fmt: str

    def filename(self) -> str:
        return f"{self.kind}_{self.period}_{self.month}_{self.version}_{self.lang}.{self.fmt}"


class BriefFailed(Exception):
    """A brief the child could not make: ``reason`` is ``missing`` (no such list), ``bad``
    (bad parameter) or ``font`` (no CJK font); the message is one line."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def render_brief(
    url: str, kind: str, month: str, period: str, fmt: str, lang: str, font: str | None
) -> tuple[str, bytes | str]:
    """Gather and render one brief over the database at ``url``: ("ok", bytes) or (reason, message)."""
    from bot.briefs.facts import gather
    from bot.briefs.fonts import FontMissing
    from bot.briefs.formats import BriefError
    from bot.briefs.render import render
    from storage.db import Database

    db = Database(url)
    try:
        with db.session() as session:
            facts = gather(session, kind, month, period)
        return "ok", render(facts, fmt, lang, font=font)
    except BriefError as err:
        return ("missing" if str(err).startswith("no ") else "bad"), str(err)
    except FontMissing as err:
        return "font", str(err)
    finally:
        db.dispose()


def render_in_child(
    url: str, kind: str, month: str, period: str, fmt: str, lang: str, font: str | None
) -> bytes:
    """``render_brief`` in a spawned process (arguments travel by pipe, not on a command line)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        status, result = pool.apply(render_brief, (url, kind, month, period, fmt, lang, font))
    if status != "ok":
        raise BriefFailed(status, str(result))
    assert isinstance(result, bytes)
    return result


class BriefService:
    """Rendered briefs kept over one database (thread-safe)."""

    def __init__(self, url: str, *, font: Path | str | None = None, cache_dir: Path | None = None,
                 cache_mb: int = 64) -> None:
        self.url = url
        self.font = str(font) if font else None
        self.cache_dir = cache_dir
        self.cache_bytes = cache_mb * 1024 * 1024
        self._memory: OrderedDict[BriefKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(kind: str, period: str, month: str, data_version: object, lang: str, fmt: str) -> BriefKey:
        version = hashlib.sha256(repr(data_version).encode()).hexdigest()[:16]
        return BriefKey(kind, period, month, version, lang, fmt)

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

    def render(self, key: BriefKey) -> bytes:
        """Render in a child (no cache lookup) and keep the result."""
        data = render_in_child(self.url, key.kind, key.month, key.period, key.fmt, key.lang, self.font)
        self._remember(key, data)
        if self.cache_dir is not None:
            self._store(key, data)
        return data

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
