"""Parse attachments in worker processes with hard limits: one bad file fails one list.

Native parsers (calamine in Rust, pdfminer's layout code, lxml) can abort the
process, allocate without bound or loop for minutes on a crafted file. So every
parse runs in a worker process that has an address-space cap (RLIMIT_AS), is
killed when it overruns its wall time, and turns any exception — including
``BaseException`` subclasses such as pyo3's ``PanicException`` — into a
``ParseError``. A worker that dies, is killed or hit a memory error is replaced;
the next list gets a fresh one. ``workers=0`` parses in-process (tests, embedding):
the parsers' structural pre-checks still hold there, the process limits do not.

Workers are plain ``python -m scrapers.workers`` processes speaking length-prefixed
pickles over stdin/stdout, not multiprocessing children: a forkserver or spawn
child re-imports the parent's ``__main__`` (the whole ``cacwatch`` application, or
an unguarded script, which then runs again), and a forkserver holding the parsers
is one more resident process. Importing every parser takes ~0.15 s and ~50 MB.
Workers exit when the parent dies (PR_SET_PDEATHSIG plus a parent-watch thread),
trim the heap after each list and are recycled after ``max_tasks`` lists, so a
long-lived service does not keep a parse's high-water mark.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import logging
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import IO, Any

from scrapers.limits import ParseLimits
from scrapers.records import ListRef, ParsedList, ParseError

__all__ = ["ParserPool"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<Q")
_READY = b"ready"
_PR_SET_PDEATHSIG = 1
_STDERR_CAP = 4 * 1024 * 1024
# What a worker's answer may contain: the parsed list's own types, nothing callable.
_SAFE_GLOBALS = {
    ("scrapers.records", "ParsedList"), ("scrapers.records", "ListRef"), ("scrapers.records", "FilingRow"),
    ("scrapers.records", "Kind"), ("scrapers.records", "Status"), ("scrapers.records", "Role"),
    ("datetime", "date"), ("datetime", "datetime"), ("builtins", "frozenset"), ("builtins", "set"),
}  # fmt: skip


# --- the worker side ---------------------------------------------------------------------


def _malloc_trim() -> None:
    """Hand freed memory back: pdfplumber and lxml leave the heap fragmented."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _die_with_parent(parent_pid: int) -> None:
    """Exit when the parent is gone: a SIGKILLed cacwatch must not leave workers behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the thread below still does it
        pass
    if os.getppid() != parent_pid:  # died before prctl took effect
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _address_space_now() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _apply_address_space(extra: int) -> None:
    # Counted from what the worker already maps (interpreter, parsers, shared
    # libraries), so ``address_space`` is what one parse may add.
    cap = _address_space_now() + extra
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _parse_one(data: bytes, ref: ListRef, limits: ParseLimits) -> tuple[Any, ...]:
    from scrapers.parse import parse_attachment

    try:
        return ("ok", parse_attachment(data, ref, limits))
    except ParseError as exc:
        return ("error", str(exc), "MemoryError" in str(exc))
    except MemoryError:
        return ("error", "the parse exceeded the memory limit", True)
    except BaseException as exc:  # noqa: BLE001 - incl. pyo3 PanicException: this list fails, not the loop
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return ("error", f"parser failure: {type(exc).__name__}: {exc}", True)


def worker_main(parent_pid: int) -> None:
    """A worker's loop: a pickled ``(data, ref, limits)`` in, ``("ok", ParsedList)`` or
    ``("error", reason, recycle)`` out, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(parent_pid)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not write a core file
    # stderr goes to a file the parent reads when a worker dies: a crafted file must not
    # fill the disk with a warning per broken object (pdfminer logs each), so library
    # logging and warnings are off and the file size is capped (SIGXFSZ ends the worker).
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_FSIZE, (_STDERR_CAP, _STDERR_CAP))
    # Every parser imported up front, before the cap: their mappings are the baseline.
    import scrapers.parse  # noqa: F401
    import scrapers.parsers.docx  # noqa: F401
    import scrapers.parsers.html  # noqa: F401
    import scrapers.parsers.pdf  # noqa: F401
    import scrapers.parsers.sheet  # noqa: F401

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answer stream
    capped = False
    _write_frame(sink, _READY)
    while (frame := _read_frame(source)) is not None:
        data, ref, limits = pickle.loads(frame)
        del frame
        if not capped:
            try:
                _apply_address_space(limits.address_space)
            except (OSError, ValueError) as exc:  # no /proc, or a hard limit below ours
                print(f"parser worker runs without an address-space cap: {exc}", file=sys.stderr)
            capped = True
        reply = _parse_one(data, ref, limits)
        del data
        _malloc_trim()
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - e.g. a value that cannot be pickled
            payload = pickle.dumps(("error", f"cannot return the parsed list: {type(exc).__name__}", True))
        _write_frame(sink, payload)


# --- the parent side ---------------------------------------------------------------------


class _AnswerUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected {module}.{name} in a parser answer")
        return super().find_class(module, name)


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


class _Dead(Exception):
    pass


class _Worker:
    """One worker process and the parent's ends of its pipes."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.tasks = 0
        self._stderr = tempfile.TemporaryFile()
        root = str(Path(__file__).resolve().parents[1])  # the directory holding ``scrapers``
        env = dict(os.environ, RUST_BACKTRACE="0", PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scrapers.workers", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in: IO[bytes] = self.process.stdin
        self._out: IO[bytes] = self.process.stdout
        try:
            if self._read(max(30.0, limits.wall_seconds)) != _READY:
                raise _Dead("unexpected handshake")
        except _Dead:
            self.kill()
            raise ParseError(f"the parser process did not start ({self.death()})") from None

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_exact(self, size: int, deadline: float) -> bytes:
        fd = self._out.fileno()
        chunks: list[bytes] = []
        left = size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise _Dead("end of output")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
        return self._read_exact(size, deadline)

    def death(self) -> str:
        """Why the worker ended: its signal or status and the first line it wrote to stderr."""
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        said = ""
        try:
            self._stderr.seek(0)
            lines = [ln.strip() for ln in self._stderr.read(8192).decode("utf-8", "replace").splitlines()]
            said = next((ln for ln in lines if ln and not ln.startswith(("Traceback", "File "))), "")
        except (OSError, ValueError):
            pass
        finally:
            self._stderr.close()
        status = _signal_name(self.process.returncode)
        return f"{status}: {said[:200]}" if said else status

    def run(self, data: bytes, ref: ListRef) -> tuple[ParsedList | None, str | None, bool]:
        """(parsed, error, keep): runs in a thread; blocks until the worker answers, dies or times out."""
        self.tasks += 1
        wall = self.limits.wall_seconds
        try:
            _write_frame(self._in, pickle.dumps((data, ref, self.limits), protocol=pickle.HIGHEST_PROTOCOL))
            reply = _AnswerUnpickler(io.BytesIO(self._read(wall))).load()
        except TimeoutError:
            self.kill()
            return None, f"parsing took longer than {wall:g} s: the parser process was stopped", False
        except (_Dead, OSError, ValueError):
            self.kill()
            return None, f"the parser process died while reading this attachment ({self.death()})", False
        except pickle.UnpicklingError as exc:
            self.kill()
            return None, f"the parser process answered nonsense ({exc})", False
        if reply[0] == "ok":
            return reply[1], None, True
        return None, " ".join(str(reply[1]).split())[:500], not reply[2]

    def stop(self) -> None:
        """End an idle worker: closing its stdin ends its loop."""
        try:
            self._in.close()
        except OSError:
            pass
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        self._stderr.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self._in, self._out):
            try:
                stream.close()
            except OSError:
                pass


class ParserPool:
    """Up to ``workers`` parses at once, each in its own limited process.

    Started lazily: an idle poll starts no process. ``close()`` ends every worker.
    """

    def __init__(self, workers: int, limits: ParseLimits | None = None, *, max_tasks: int = 50) -> None:
        self._workers = workers  # 0: parse in a thread of this process, one list at a time
        # Looked up at construction: tests and benchmarks may set process-wide defaults.
        self.limits = limits if limits is not None else _default_limits()
        self._max_tasks = max_tasks
        self._slots = asyncio.Semaphore(max(1, workers))  # in-process too: parallel parses only multiply memory
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    def pids(self) -> list[int]:
        """Process ids of the live workers (idle and busy), for monitoring and tests."""
        return [w.pid for w in [*self._idle, *self._busy]]

    def _take(self) -> _Worker:
        if self._idle:
            return self._idle.pop()
        return _Worker(self.limits)

    async def parse(self, data: bytes, ref: ListRef) -> ParsedList:
        async with self._slots:
            if self._workers == 0:
                from scrapers.parse import parse_attachment

                return await asyncio.to_thread(parse_attachment, data, ref, self.limits)
            if self._closed:
                raise ParseError("the parser pool is closed")
            worker = await asyncio.to_thread(self._take)
            self._busy.add(worker)
            try:
                parsed, error, keep = await asyncio.to_thread(worker.run, data, ref)
            except asyncio.CancelledError:
                # Nobody waits for this parse any more: end it (its thread sees EOF and cleans up).
                if worker.process.poll() is None:
                    worker.process.kill()
                raise
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
            if worker.process.poll() is None:
                worker.process.kill()


def _default_limits() -> ParseLimits:
    import scrapers.limits

    return scrapers.limits.DEFAULT_LIMITS


if __name__ == "__main__":
    worker_main(int(sys.argv[1]))
