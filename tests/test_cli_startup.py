"""What the CLI imports before it does its job (issue 13: start-up of `check --once`).

Each case runs the real `cacwatch` in a fresh interpreter and looks at ``sys.modules`` at the
moment that matters: when `--help` has printed, and when `check --once` sends its first request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from scrapers.replica.server import ReplicaServer

ROOT = Path(__file__).resolve().parents[1]

# Runs `cacwatch ARGS…` and prints, as JSON, the modules loaded when the first HTTP request
# leaves (or, if none does, at exit).
_PROBE = """
import atexit, json, sys
import httpx

seen = []
send = httpx.AsyncClient.send

async def first(self, *args, **kwargs):
    if not seen:
        seen.append(sorted(sys.modules))
    return await send(self, *args, **kwargs)

httpx.AsyncClient.send = first
before_cli = set(sys.modules)

def report():
    loaded = seen[0] if seen else sorted(sys.modules)
    print(json.dumps({"requested": bool(seen), "modules": loaded, "before_cli": sorted(before_cli),
                      "at_exit": sorted(sys.modules)}), file=sys.stderr)

atexit.register(report)
sys.argv = ["cacwatch", *sys.argv[1:]]
from bot.app.cli import main
main()
"""


def _modules_at(*args: str, cwd: Path) -> tuple[bool, set[str]]:
    requested, at_request, _ = _probe(*args, cwd=cwd)
    return requested, at_request


def _probe(*args: str, cwd: Path) -> tuple[bool, set[str], set[str]]:
    """Whether a request left; the modules the CLI loaded by the first request, and by exit."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True, text=True, cwd=cwd, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CACWATCH_CONFIG": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    # The probe itself imports httpx (and what httpx imports): only what the CLI added counts.
    before = set(probe["before_cli"])
    return probe["requested"], set(probe["modules"]) - before, set(probe["at_exit"]) - before


def _packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_configuration_store_or_source(tmp_path: Path) -> None:
    requested, loaded = _modules_at("--help", cwd=tmp_path)
    assert not requested
    assert not {"pydantic", "sqlalchemy", "bs4", "yaml", "storage", "scrapers"} & _packages(loaded)
    assert "bot.settings.config" not in loaded and "asyncio" not in loaded


def test_check_once_reaches_the_site_before_importing_events_alerts_or_parsers(
    tmp_path: Path, replica: ReplicaServer, database_url: str
) -> None:
    config = tmp_path / "config.yaml"
    cac = {"base_url": replica.base_url, "beian_url": replica.beian_url, "min_delay": 0, "retries": 0}
    config.write_text(
        yaml.safe_dump({"database": {"url": database_url}, "data_dir": str(tmp_path / "data"), "sources": {"cac": cac}}),
        encoding="utf-8",
    )
    requested, loaded = _modules_at("--config", str(config), "check", "--once", cwd=tmp_path)
    assert requested
    # Needed for the first request: the configuration, the store, the source's discovery.
    assert {"bot.settings.config", "storage.db", "scrapers.sources.cac.discovery"} <= loaded
    # Not needed before it: events and findings (the company resolver, the watchlist), the
    # outbox, operator alerts, and the parsers (they run in a worker, on fetched bytes).
    later = {
        "bot.ingest.events", "bot.changes.findings", "bot.changes.watchlist", "bot.delivery.outbox",
        "bot.app.alerts", "storage.service_repo", "scrapers.parse", "docx", "pdfplumber", "pypdfium2", "openpyxl",
    }  # fmt: skip
    assert not later & loaded, sorted(later & loaded)


def test_an_idle_cron_run_never_loads_what_only_other_work_needs(tmp_path: Path, replica: ReplicaServer) -> None:
    """An idle `check --once` (cron: stderr not a terminal, a SQLite store, nothing new): no
    BeautifulSoup (pages are read with lxml), no rich (no progress bar off a terminal), no
    PostgreSQL dialect, no parser and no event machinery — from start to exit (docs/benchmarks.md, "Cron")."""
    config = tmp_path / "config.yaml"
    cac = {"base_url": replica.base_url, "beian_url": replica.beian_url, "min_delay": 0, "retries": 0}
    config.write_text(
        yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path}/store.db"}, "data_dir": str(tmp_path / "data"),
                        "sources": {"cac": cac}}),
        encoding="utf-8",
    )  # fmt: skip
    first, _, _ = _probe("--config", str(config), "check", "--once", cwd=tmp_path)  # the first run ingests
    assert first
    requested, _, loaded = _probe("--config", str(config), "check", "--once", cwd=tmp_path)
    assert requested and "scrapers.sources.cac.discovery" in loaded
    never = {"bs4", "soupsieve", "charset_normalizer", "rich", "pygments", "click", "docx", "pdfplumber", "openpyxl"}
    assert not never & _packages(loaded), sorted(never & _packages(loaded))
    later = {
        "sqlalchemy.dialects.postgresql", "bot.ingest.events", "bot.changes.findings", "scrapers.parse", "alembic",
        # Nothing to deliver: one probe of the outbox, not its delivery machinery or its models.
        "bot.delivery.outbox", "storage.outbox_repo", "storage.models_endpoints",
    }  # fmt: skip
    assert not later & loaded, sorted(later & loaded)


def test_the_console_script_skips_pydantics_plugin_scan_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    """`cacwatch` (bot.cli) turns pydantic's entry-point scan off before any model is built; a value
    the operator set, even an empty one (plugins on), is kept."""
    # pydantic reads the variable when it builds its first model, not when it is imported.
    probe = "import os; import bot.cli; print(repr(os.environ['PYDANTIC_DISABLE_PLUGINS']))"
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    for preset, expected in ((None, "__all__"), ("", ""), ("logfire", "logfire")):
        run_env = {**env, "PYTHONPATH": str(ROOT)} | ({} if preset is None else {"PYDANTIC_DISABLE_PLUGINS": preset})
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=run_env, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == repr(expected)
