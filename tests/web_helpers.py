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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

__all__ = ["ROOT", "Site", "served_replica", "write_config", "ingest", "export_records", "running_server", "serve_process", "norm", "record_key", "filer_names_from_export"]

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


# What an API search item adds to the filing record, as `cacwatch export` has it.
ITEM_ADDITIONS = ("entity_en", "first_seen", "updated_at", "role_en", "category_en", "registration_en", "group", "group_en")


def export_records(config: Path, *, additions: bool = False) -> list[dict[str, Any]]:
    """Every filing as `cacwatch export --format jsonl` writes it: the filing record of
    interfaces.md (the API's record), without the columns export adds after it
    (entity_en, first_seen, updated_at, removed) — or, with ``additions``, with those an API
    search item carries too."""
    from scrapers.records import EXPORT_FIELDS

    result = _cli(config, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert all(record["removed"] is False for record in records)  # export shows current filings only
    names = (*EXPORT_FIELDS, *ITEM_ADDITIONS) if additions else EXPORT_FIELDS
    return [{name: record[name] for name in names} for record in records]


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    return record["kind"], record["filing_number"]


def filer_names_from_export(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """name → every name of its filer, derived from export records alone (cac-site.md): names
    listed with 网信算备 numbers sharing the filer id (the 7 digits after the region code; all
    zeros is none), and rename remarks 原主体名称“X”变更为“Y”."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    def fold(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    shown: dict[str, str] = {}
    for record in records:
        shown.setdefault(fold(record["entity"]), record["entity"])
        find(fold(record["entity"]))
        match = re.fullmatch(r"网信算备(\d{21,23})号", fold(record["filing_number"]))
        if match and match.group(1)[6:13].strip("0"):
            parent[find(fold(record["entity"]))] = find("#" + match.group(1)[6:13])
        for old, new in re.findall(r"主体名称“([^”]+)”变更为“([^”]+)”", unicodedata.normalize("NFKC", record["remark"] or "")):
            shown.setdefault(fold(old), old)
            parent[find(fold(old))] = find(fold(new))
    groups: dict[str, set[str]] = {}
    for name in list(parent):
        if not name.startswith("#"):
            groups.setdefault(find(name), set()).add(shown.get(name, name))
    return {name: names for names in groups.values() for name in names}


def norm(text: str) -> str:
    """The documented comparison of search: NFKC, case and whitespace ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


_LATIN = "0-9a-z\u00df-\u00f6\u00f8-\u024f"


def word_match(field: str, q: str) -> bool:
    """``_word_match`` of the query as written or with its spaces removed (``byte dance`` is
    ByteDance too)."""
    return _word_match(field, q) or _word_match(field, re.sub(r"\s+", "", q))


def _word_match(field: str, q: str) -> bool:
    """The documented rule of search and watches, written independently of storage.words as
    one regular expression per query: NFKC and case ignored; the query's items (runs of Latin
    letters and digits, split by its spaces, and every other visible character) in order with
    only whitespace between them; an inner run is a whole word of the field, and the first
    (last) run too when it holds a letter (digits alone may be part of a longer number)."""
    folded = unicodedata.normalize("NFKC", q).casefold()
    items = re.findall(f"[{_LATIN}]+|[^\\s{_LATIN}]", folded)
    if not items:
        return False
    parts = []
    for index, item in enumerate(items):
        part = re.escape(item)
        if re.fullmatch(f"[{_LATIN}]+", item):
            lettered = re.search(f"[^0-9]", item) is not None
            if index > 0 or lettered:
                part = f"(?<![{_LATIN}])" + part
            if index < len(items) - 1 or lettered:
                part += f"(?![{_LATIN}])"
        parts.append(part)
    return re.search("\\s*".join(parts), unicodedata.normalize("NFKC", field).casefold()) is not None


@contextmanager
def running_server(config: Path, *args: str, env: dict[str, str] | None = None, startup: float = 60) -> Iterator[str]:
    """`cacwatch serve --port 0` in a child process; yields its base URL (no trailing slash)."""
    with serve_process(config, *args, env=env, startup=startup) as (base, _):
        yield base


@contextmanager
def serve_process(
    config: Path, *args: str, env: dict[str, str] | None = None, startup: float = 60
) -> Iterator[tuple[str, "subprocess.Popen[str]"]]:
    """As running_server, and the process (for its pid)."""
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
        yield match.group(1).rstrip("/"), process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


class Site:
    """A running `cacwatch serve` and the export of the store it serves."""

    def __init__(self, url: str, config: Path, records: list[dict[str, Any]]) -> None:
        self.url = url
        self.config = config
        self.records = records
        self.client = httpx.Client(base_url=url, timeout=30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params or None)

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, (path, params, response.text[:500])
        return response.json()

    def all_filings(self, limit: int = 500, *, additions: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """Every match, following next_cursor to the end: filing records, or (``additions``)
        the items as the API gives them (with entity_en, first_seen, updated_at)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {**filters, "limit": limit}
        while True:
            page = self.json("/api/v1/filings", **params)
            items += page["items"] if additions else [
                {k: v for k, v in item.items() if k not in ITEM_ADDITIONS} for item in page["items"]
            ]
            if page["next_cursor"] is None:
                return items
            params["cursor"] = page["next_cursor"]



@contextmanager
def served_replica(url: str, tmp: Path, *, then: Callable[[Any, Path], None] | None = None) -> Iterator[Site]:
    """The bundled replica ingested into ``url``, then served by `cacwatch serve`. ``then``
    (replica, config) runs after the first ingest while the replica is still up, e.g. to
    re-issue a list and ingest again (every run re-checks every list: revalidate_interval 0)."""
    from bot.settings.config import settings_from_mapping
    from scrapers.replica.server import ReplicaServer

    with ReplicaServer() as replica:
        settings = settings_from_mapping(
            {
                "database": {"url": url},
                "data_dir": str(tmp / "data"),
                "sources": {"cac": {"base_url": replica.base_url, "beian_url": replica.beian_url, "min_delay": 0, "timeout": 5,
                                    "retries": 1, "revalidate_interval": 0}},
            },
            env={},
        )
        config = write_config(tmp / "config.yaml", settings)
        ingest(config)
        if then is not None:
            then(replica, config)
    records = export_records(config)
    # What `serve` needs: a config holding only database.url.
    serve_config = write_config(tmp / "serve.yaml", settings_from_mapping({"database": {"url": url}}, env={}))
    with running_server(serve_config) as base:
        site = Site(base, config, records)
        try:
            yield site
        finally:
            site.client.close()
