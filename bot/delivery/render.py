"""Heavy rendering for notifiers — charts, digests with their workbooks — where the service can let it go.

Drawing a chart imports matplotlib, a digest's attachments openpyxl and Jinja2, its English names
pypinyin: once imported into the long-running service they stay for good, and the heap they
leave does not shrink (docs/benchmarks.md: `cacwatch run` with every notifier idled at 128 MB and
sat at 231 MB after the first batch it announced). So `cacwatch run` isolates them: each such
rendering runs in one spawned child, kept while deliveries are being made and stopped when the
delivery loop goes idle (`release`), so what rendering imported and allocated leaves with it.
Everywhere else (`check --once`, which exits anyway, the tests, embedding) they run in a thread of
the process itself, as before.

A child that dies mid-render (killed, out of memory) fails that delivery with a retryable
error; the next rendering starts a fresh child.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

__all__ = ["RenderError", "Renderer", "renderer"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class RenderError(Exception):
    """The rendering child died before answering (the delivery is tried again later)."""


class Renderer:
    """Runs module-level rendering functions in a thread, or (``isolate``) in a spawned child."""

    def __init__(self) -> None:
        self._isolated = False
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def isolated(self) -> bool:
        return self._isolated

    def isolate(self, on: bool = True) -> None:
        """Render in a child from now on (`cacwatch run`), or (``False``) in this process again."""
        self._isolated = on
        if not on:
            self.release()

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(*args, **kwargs)`` off the event loop; ``func`` must be importable by name and
        its arguments and result picklable when isolated."""
        if not self._isolated:
            return await asyncio.to_thread(func, *args, **kwargs)
        with self._lock:
            pool = self._pool
            if pool is None:
                # spawn, not fork: a fork would copy the service's threads' locks and its heap.
                pool = self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            self._in_flight += 1
        try:
            return await asyncio.wrap_future(pool.submit(func, *args, **kwargs))
        except BrokenProcessPool as err:
            if err.__cause__ is not None:  # e.g. a result that could not be read back
                log.warning("rendering process broke: %s", str(err.__cause__).strip()[-2000:])
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            codes = [p.exitcode for p in list(getattr(pool, "_processes", {}).values())]
            pool.shutdown(wait=False, cancel_futures=True)
            raise RenderError(f"the rendering process died (exit code {', '.join(map(str, codes)) or 'unknown'})") from None
        finally:
            with self._lock:
                self._in_flight -= 1

    def release(self) -> bool:
        """Stop the child when nothing is being rendered; True when one was stopped. Called by
        the service when its delivery loop has nothing due, so the child lives through a batch
        (one start-up per batch) and no longer."""
        with self._lock:
            pool = self._pool
            if pool is None or self._in_flight:
                return False
            self._pool = None
        pool.shutdown(wait=True)
        log.debug("rendering process stopped")
        return True


# The process's one renderer: notifiers render through it, the service decides where.
renderer = Renderer()
