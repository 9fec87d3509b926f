"""The command line: config errors stop before any network call; demo runs offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.app.cli import app
from scrapers.replica.server import ReplicaServer

runner = CliRunner()


def test_config_error_exits_before_any_request(tmp_path: Path, replica: ReplicaServer) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"sources:\n  cac:\n    base_url: '{replica.base_url}'\n    min_delay: 'later'\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert result.exit_code == 2
    assert "sources.cac.min_delay" in result.stderr
    assert replica.requests == []


def test_config_from_environment_variable(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("notify:\n  first_run: sometimes\n", encoding="utf-8")
    monkeypatch.setenv("CACWATCH_CONFIG", str(config))
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 2
    assert "notify.first_run" in result.stderr


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(tmp_path / "missing.yaml"), "stats"])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_check_requires_once(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(tmp_path / "x.yaml"), "check"])
    assert result.exit_code == 2


def test_unknown_export_kind(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: 'sqlite:///{tmp_path}/db.sqlite'\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "export", "--kind", "blockchain"])
    assert result.exit_code == 2
    assert "--kind" in result.stderr


def test_demo_runs_offline_as_installed_command(tmp_path: Path) -> None:
    """`cacwatch demo` as a user runs it: a real process, a replica on localhost, exit 0."""
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "805 filings exported" in result.stdout
    assert (tmp_path / "filings.jsonl").exists()
