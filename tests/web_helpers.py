"""The web app as a user runs it: `cacwatch serve` in its own process, on a free port.

Shared by tests/test_web_*.py and benchmarks/web_load.py. ``ingest`` runs `cacwatch check
--once` against a replica; ``running_server`` starts `cacwatch serve --port 0` and reads the
URL it prints (so the port is whichever the system gave it).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import unicodedata
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ROOT", "write_config", "ingest", "export_records", "running_server", "norm", "record_key"]

ROOT = Path(__file__).resolve().parent.parent


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


def write_config(path: Path, settings: Any, **extra: Any) -> Path:
    data = settings.model_dump(mode="json", exclude_none=True)
    data.update(extra)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _cli(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=_env(),
    )


def ingest(config: Path) -> str:
    """`cacwatch check --once`; returns its summary line."""
    result = _cli(config, "check", "--once")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def export_records(config: Path) -> list[dict[str, Any]]:
    """Every filing as `cacwatch export --format jsonl` writes it."""
    result = _cli(config, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    return record["kind"], record["filing_number"]


def norm(text: str) -> str:
    """The documented comparison of search: NFKC, case and whitespace ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


@contextmanager
def running_server(config: Path, *args: str, env: dict[str, str] | None = None, startup: float = 60) -> Iterator[str]:
    """`cacwatch serve --port 0` in a child process; yields its base URL (no trailing slash)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(env),
    )
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + startup
        line = ""
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = process.stdout.readline()
                if not line or "serving" in line:
                    break
            if process.poll() is not None:
                break
        match = re.search(r"serving (http://\S+?)/? ", line)
        if match is None:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise AssertionError(f"serve did not start: {line!r} {err[-2000:]}")
        yield match.group(1).rstrip("/")
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
