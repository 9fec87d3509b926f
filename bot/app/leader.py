"""Which instance runs the scheduler.

- **PostgreSQL**: any number of ``cacwatch run`` processes share one database. One of them
  holds a session-level advisory lock on a dedicated connection and runs the scheduler;
  the others retry every ``service.leader_retry`` seconds. When the leader dies (even by
  SIGKILL) the kernel closes its socket, PostgreSQL ends the session and frees the lock,
  and a follower takes it at its next try. Every instance delivers (the outbox claims rows
  with ``FOR UPDATE SKIP LOCKED``), whoever leads.
- **SQLite**: one process only. An exclusive ``flock`` on ``<database>.lock``, held for the
  lifetime of the process, makes a second ``cacwatch run`` refuse to start; the kernel
  releases it when the process ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from storage.db import Database
from storage.service_repo import LOCK_NAME, AdvisoryLock, advisory_lock_holder, database_file, lock_key

__all__ = [
    "AlreadyRunning",
    "Election",
    "InstanceLock",
    "SingleInstance",
    "AdvisoryLockElection",
    "make_election",
    "lock_path_for",
    "instance_name",
    "current_leader",
    "LOCK_NAME",
]

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]


def instance_name() -> str:
    """``host:pid``: what logs, metrics and ``cacwatch status`` call this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class AlreadyRunning(RuntimeError):
    """Another ``cacwatch run`` already uses this SQLite database."""


def lock_path_for(db: Database) -> Path | None:
    """``<database file>.lock``, or None for an in-memory database."""
    name = database_file(db)
    if name is None:
        return None
    return Path(name).resolve().with_name(Path(name).name + ".lock")


class InstanceLock:
    """An exclusive ``flock`` on a file, held until ``release`` or the end of the process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            who = f" (held by {holder})" if holder else ""
            raise AlreadyRunning(
                f"another `cacwatch run` is already using this SQLite database: {self.path} is locked{who}. "
                "Run one instance per SQLite database, or use PostgreSQL for several instances."
            ) from None
        # Who holds it, for the message above and for `cacwatch status`.
        os.ftruncate(fd, 0)
        os.pwrite(fd, instance_name().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    @staticmethod
    def holder(path: Path) -> str | None:
        """The instance holding the lock, or None when no process holds it."""
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


class Election(Protocol):
    is_leader: bool

    async def run(self, stop: asyncio.Event) -> None:
        """Take part until ``stop`` is set; call the callbacks as leadership comes and goes."""

    def describe(self) -> str: ...


class SingleInstance:
    """SQLite: the process that holds the lock file is the leader, from start to end."""

    def __init__(self, db: Database, *, on_elected: Callback, on_deposed: Callback) -> None:
        path = lock_path_for(db)
        self._lock = InstanceLock(path) if path is not None else None
        if self._lock is not None:
            self._lock.acquire()  # raises AlreadyRunning before anything else starts
        self._on_elected, self._on_deposed = on_elected, on_deposed
        self.is_leader = False

    def describe(self) -> str:
        return f"single instance (lock file {self._lock.path})" if self._lock else "single instance"

    async def run(self, stop: asyncio.Event) -> None:
        try:
            self.is_leader = True
            await self._on_elected()
            await stop.wait()
        finally:
            if self.is_leader:
                self.is_leader = False
                await self._on_deposed()
            if self._lock is not None:
                self._lock.release()


class AdvisoryLockElection:
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own, kept open while leading."""

    def __init__(
        self,
        db: Database,
        *,
        on_elected: Callback,
        on_deposed: Callback,
        retry: float = 3.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._db = db
        self._on_elected, self._on_deposed = on_elected, on_deposed
        self._retry = retry
        self._connect_timeout = connect_timeout
        self._lock = AdvisoryLock(
            db, application_name=f"cacwatch {instance_name()}", connect_timeout=connect_timeout
        )
        self.is_leader = False

    @property
    def key(self) -> int | None:
        return self._lock.key

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key}" if self.key is not None else "PostgreSQL advisory lock"

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._lock.close(), timeout=self._connect_timeout)

    async def _try_lock(self) -> bool:
        if not self._lock.connected:
            await asyncio.wait_for(self._lock.connect(), timeout=self._connect_timeout * 2)
        return await asyncio.wait_for(self._lock.try_lock(), timeout=self._connect_timeout)

    async def _still_held(self) -> bool:
        # The lock lives as long as the session: a working connection means we still hold it.
        try:
            await asyncio.wait_for(self._lock.ping(), timeout=self._connect_timeout)
        except Exception as err:  # noqa: BLE001 - any failure means the session may be gone
            log.warning("leader: lost the database session holding the scheduler lock: %s", err)
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                if not self.is_leader:
                    try:
                        won = await self._try_lock()
                    except Exception as err:  # noqa: BLE001 - database down: keep trying
                        log.warning("leader election: %s: %s", err.__class__.__name__, err)
                        await self._close()
                        won = False
                    if won:
                        self.is_leader = True
                        log.info("leader: this instance now runs the scheduler", extra={"lock_key": self.key})
                        await self._on_elected()
                elif not await self._still_held():
                    self.is_leader = False
                    await self._close()
                    await self._on_deposed()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._retry)
        finally:
            if self.is_leader:
                self.is_leader = False
                await self._on_deposed()
            # Closing the session releases the lock at once: a follower takes over at its next try.
            await self._close()


def make_election(db: Database, *, on_elected: Callback, on_deposed: Callback, retry: float = 3.0) -> Election:
    if db.is_sqlite:
        return SingleInstance(db, on_elected=on_elected, on_deposed=on_deposed)
    return AdvisoryLockElection(db, on_elected=on_elected, on_deposed=on_deposed, retry=retry)


def current_leader(db: Database) -> str | None:
    """The instance running the scheduler now, if any (for ``cacwatch status``)."""
    if db.is_sqlite:
        path = lock_path_for(db)
        return InstanceLock.holder(path) if path is not None else None
    row = advisory_lock_holder(db)
    if row is None:
        return None
    name, address = row
    name = (name or "").removeprefix("cacwatch ") or "unknown"
    return f"{name} ({address})" if address else name
