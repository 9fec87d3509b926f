"""Helpers for the service tests: run `Service` in-process or `cacwatch run` as processes, scrape HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from bot.settings.config import Settings, settings_from_mapping
from bot.app.service import Service
from builders import replica_source
from scrapers.replica.server import ReplicaServer
from storage.db import Database

__all__ = [
    "SECRET",
    "free_port",
    "http_get",
    "wait_until",
    "async_wait_until",
    "service_settings",
    "running_service",
    "write_config",
    "Process",
    "spawn",
]

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, method: str = "GET", timeout: float = 5.0) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def _tries(predicate: Callable[[], Any], timeout: float) -> Iterator[tuple[Any, bool]]:
    """The predicate's value at each try, and whether it is the last one (a true value, or the
    deadline passed): the same loop for the blocking and the asynchronous wait."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        yield value, bool(value) or time.monotonic() > deadline


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    for value, last in _tries(predicate, timeout):
        if last:
            return value
        time.sleep(interval)
    raise AssertionError("unreachable: _tries never ends by itself")


async def async_wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    for value, last in _tries(predicate, timeout):
        if last:
            return value
        await asyncio.sleep(interval)
    raise AssertionError("unreachable: _tries never ends by itself")


def service_settings(
    server: ReplicaServer,
    database_url: str,
    data_dir: Path,
    *,
    interval: str = "1s",
    service: dict[str, Any] | None = None,
    notify: dict[str, Any] | None = None,
    cac: dict[str, Any] | None = None,
) -> Settings:
    """Settings for a fast service on the replica (no politeness pause, short gaps)."""
    return settings_from_mapping(
        {
            "database": {"url": database_url},
            "data_dir": str(data_dir),
            "parse_workers": 0,  # no process pool to start in every test
            "sources": {"cac": replica_source(server, **{"retries": 0, "concurrency": 2, "interval": interval, **(cac or {})})},
            # Polls in this process: the timing tests count sub-second gaps (test_poll_process.py
            # covers polls in a child process, the default).
            "service": {"health_port": None, "delivery_interval": "0.2s", "leader_retry": "0.5s",
                        "poll_process": False, **(service or {})},
            "notify": notify or {},
        },
        env={},
    )


@contextlib.asynccontextmanager
async def running_service(settings: Settings, **kwargs: Any) -> AsyncIterator[Service]:
    """A Service on this event loop; stopped (and awaited) on exit."""
    db = Database(settings.database.url)
    db.migrate()
    service = Service(settings, db, **kwargs)
    task = asyncio.create_task(service.run(handle_signals=False))
    try:
        await async_wait_until(lambda: service.state.leader or task.done(), timeout=10)
        if task.done():
            task.result()
        yield service
    finally:
        service.request_stop("test over")
        await asyncio.wait_for(task, timeout=30)
        db.dispose()


def write_config(path: Path, settings: Settings) -> Path:
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


class Process:
    """A `cacwatch run` child process whose stderr goes to a file (read at any time)."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("CACWATCH_CONFIG", None)
        self._stderr = open(log, "wb")  # noqa: SIM115 - closed in wait()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(config), *(args or ("run",))],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._stderr.close()


@contextlib.contextmanager
def spawn(config: Path, log: Path, *args: str) -> Iterator[Process]:
    process = Process(config, log, *args)
    try:
        yield process
    finally:
        process.kill()
