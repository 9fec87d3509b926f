"""Parse attachments in worker processes with hard limits: one bad file fails one list.

Native parsers (calamine in Rust, pdfminer's layout code, lxml) can abort the
process, allocate without bound or loop for minutes on a crafted file. So every
parse runs in a worker process that has an address-space cap (RLIMIT_AS), is
killed when it overruns its wall time, and turns any exception — including
``BaseException`` subclasses such as pyo3's ``PanicException`` — into a
``ParseError``. A worker that dies, is killed or hit a memory error is replaced;
the next list gets a fresh one. ``workers=0`` parses in-process (tests, embedding):
the parsers' structural pre-checks still hold there, the process limits do not.

Workers are forked from a forkserver that has the parsers imported (fast start,
shared pages), exit when the parent dies (a parent-watch thread), trim the heap
after each list and are recycled after ``max_tasks`` lists, so a long-lived
service does not keep a parse's high-water mark.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import resource
import signal
import threading
import time
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from scrapers.limits import DEFAULT_LIMITS, ParseLimits
from scrapers.parse import parse_attachment
from scrapers.records import ListRef, ParsedList, ParseError

__all__ = ["ParserPool", "PARSER_MODULES"]

log = logging.getLogger(__name__)

PARSER_MODULES = ["scrapers.parse", "scrapers.workers", "pdfplumber", "docx", "python_calamine", "lxml.etree", "bs4", "olefile"]

_READY = "ready"


def _malloc_trim() -> None:
    """Hand freed memory back: pdfplumber and lxml leave the heap fragmented."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent is gone (a SIGKILLed cacwatch must not leave workers behind)."""

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _address_space_now() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _apply_limits(limits: ParseLimits) -> None:
    # The cap counts from what the worker already maps (the preloaded parsers and
    # their shared libraries), so ``address_space`` is what one parse may add.
    cap = _address_space_now() + limits.address_space
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not write a core file


def _worker_main(conn: Connection, parent_pid: int, limits: ParseLimits) -> None:
    """A worker's loop: one ``(data, ref)`` in, one ``("ok", ParsedList)`` or ``("error", reason, recycle)`` out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _watch_parent(parent_pid)
    try:
        _apply_limits(limits)
    except (OSError, ValueError) as exc:  # pragma: no cover - no /proc or a hard limit below ours
        log.warning("parser worker runs without an address-space cap: %s", exc)
    conn.send(_READY)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        data, ref = job
        reply: tuple[Any, ...]
        try:
            reply = ("ok", parse_attachment(data, ref, limits))
        except ParseError as exc:
            reply = ("error", str(exc), "MemoryError" in str(exc))
        except MemoryError:
            reply = ("error", "the parse exceeded the memory limit", True)
        except BaseException as exc:  # noqa: BLE001 - incl. pyo3 PanicException: this list fails, not the worker loop
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            reply = ("error", f"parser failure: {type(exc).__name__}: {exc}"[:500], True)
        del data, job
        _malloc_trim()
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(("error", f"cannot return the parsed list: {type(exc).__name__}", True))


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: ForkServerContext, limits: ParseLimits) -> None:
        self.limits = limits
        self.tasks = 0
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_worker_main, args=(child, os.getpid(), limits), name="cacwatch-parser", daemon=True
        )
        self.process.start()
        child.close()
        # Wait for the handshake: a worker that cannot even start must not take a list with it.
        if not self.conn.poll(max(30.0, limits.wall_seconds)) or self._recv() != _READY:
            self.kill()
            raise _StartFailed(f"the parser process did not start ({_signal_name(self.process.exitcode)})")

    def _recv(self) -> Any:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(5)
            return None

    def run(self, data: bytes, ref: ListRef) -> tuple[ParsedList | None, str | None, bool]:
        """(parsed, error, keep): runs in a thread; blocks until the worker answers, dies or times out."""
        self.tasks += 1
        try:
            self.conn.send((data, ref))
        except (OSError, ValueError):
            self.kill()
            return None, f"the parser process died before reading this attachment ({_signal_name(self.process.exitcode)})", False
        wall = self.limits.wall_seconds
        if not self.conn.poll(wall):
            self.kill()
            return None, f"parsing took longer than {wall:g} s: the parser process was stopped", False
        reply = self._recv()
        if reply is None:
            self.kill()
            return None, f"the parser process died while reading this attachment ({_signal_name(self.process.exitcode)})", False
        if reply[0] == "ok":
            return reply[1], None, True
        return None, reply[1], not reply[2]

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(2)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class _StartFailed(Exception):
    pass


class ParserPool:
    """Up to ``workers`` parses at once, each in its own limited process.

    Started lazily: an idle poll starts no process. ``close()`` ends every worker.
    """

    def __init__(self, workers: int, limits: ParseLimits = DEFAULT_LIMITS, *, max_tasks: int = 50) -> None:
        self._workers = workers  # 0: parse in a thread of this process, one list at a time
        self.limits = limits
        self._max_tasks = max_tasks
        self._slots = asyncio.Semaphore(max(1, workers))  # in-process too: parallel parses only multiply memory
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    @property
    def in_process(self) -> bool:
        return self._workers == 0

    def _context(self) -> ForkServerContext:
        # forkserver, not fork: the main process has threads (asyncio, database pools).
        context = get_context("forkserver")
        # Workers fork from a server that already imported the parsers: fast start, shared pages.
        context.set_forkserver_preload(PARSER_MODULES)
        return context

    def _take(self) -> _Worker:
        if self._idle:
            return self._idle.pop()
        return _Worker(self._context(), self.limits)

    async def parse(self, data: bytes, ref: ListRef) -> ParsedList:
        async with self._slots:
            if self._workers == 0:
                return await asyncio.to_thread(parse_attachment, data, ref, self.limits)
            if self._closed:
                raise ParseError("the parser pool is closed")
            try:
                worker = await asyncio.to_thread(self._take)
            except (_StartFailed, OSError, RuntimeError) as exc:
                # E.g. embedded in a script without a ``__main__`` guard: workers cannot start.
                log.warning("parser workers unavailable (%s); parsing in-process", exc)
                self._workers = 0
                return await asyncio.to_thread(parse_attachment, data, ref, self.limits)
            self._busy.add(worker)
            try:
                parsed, error, keep = await asyncio.to_thread(worker.run, data, ref)
            finally:
                self._busy.discard(worker)
            if keep and not self._closed and worker.tasks < self._max_tasks:
                self._idle.append(worker)
            else:
                await asyncio.to_thread(worker.stop)
            if error is not None:
                raise ParseError(error)
            assert parsed is not None
            return parsed

    def close(self) -> None:
        """End every worker (a running parse fails with ParseError)."""
        self._closed = True
        for worker in self._idle:
            worker.stop()
        self._idle.clear()
        for worker in list(self._busy):
            # Only the process: the thread waiting on its pipe sees EOF and cleans up.
            if worker.process.is_alive():
                worker.process.kill()
