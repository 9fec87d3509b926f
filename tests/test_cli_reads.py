"""Read commands are safe anywhere (issue 14 §2): no store is created or migrated by a read,
relative paths follow the config file, reads need no notifier secrets, a taken HTTP port is
one line and exit 2, tables stay whole off a terminal, ``--version``, ``--config`` anywhere."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from bot.app.cli import app
from conftest import fresh_postgres_schema

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent

READS = [["status"], ["stats"], ["export"], ["deliveries"], ["subscribers", "list"]]

# A config whose notifier secret comes from an unset variable (reads must not care).
CONFIG = """\
database:
  url: "{url}"
data_dir: data
notify:
  webhooks:
    - url: https://hooks.example/cac
      secret: ${{CACWATCH_WEBHOOK_SECRET}}
  email:
    smtp_host: smtp.example
    sender: cacwatch@example.org
    password: ${{SMTP_PASSWORD}}
    subscribers:
      - address: associate.with.a.rather.long.address@law-firm.example
        watchlist: [北京抖音信息服务有限公司, 深圳市腾讯计算机系统有限公司]
"""


def _config(folder: Path, url: str = "sqlite:///store/cacwatch.db") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another working directory than the config's, with the secrets unset."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("CACWATCH_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("CACWATCH_CONFIG", raising=False)
    return cwd


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_read_without_a_store_says_so_and_creates_nothing(tmp_path: Path, elsewhere: Path, command: list[str]) -> None:
    config = _config(tmp_path / "etc")
    result = runner.invoke(app, [*command, "--config", str(config)])
    assert result.exit_code == 1
    store = tmp_path / "etc" / "store" / "cacwatch.db"
    assert result.stderr == f"cacwatch: no store at {store}: run `cacwatch check --once` to make one\n"
    assert result.stdout == ""
    assert not (tmp_path / "etc" / "store").exists()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_reads_find_the_store_beside_the_config_without_secrets(tmp_path: Path, elsewhere: Path, command: list[str]) -> None:
    config = _config(tmp_path / "etc")
    made = runner.invoke(app, ["migrate", "-c", str(config)])
    assert made.exit_code == 0, made.stderr
    assert (tmp_path / "etc" / "store" / "cacwatch.db").exists()  # relative to the config's folder

    result = runner.invoke(app, ["--config", str(config), *command])
    assert result.exit_code == 0, result.stderr
    assert "is not set" not in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_command_that_sends_still_needs_its_secret(tmp_path: Path, elsewhere: Path) -> None:
    config = _config(tmp_path / "etc")
    result = runner.invoke(app, ["check", "--once", "--config", str(config)])
    assert result.exit_code == 2
    assert "notify.webhooks[0].secret: environment variable CACWATCH_WEBHOOK_SECRET is not set" in result.stderr


def test_read_on_postgres_never_migrates(elsewhere: Path) -> None:
    with fresh_postgres_schema() as url:
        config = _config(elsewhere.parent / "etc", url)
        result = runner.invoke(app, ["status", "--config", str(config)])
        assert result.exit_code == 1
        # An empty PostgreSQL database: the schema is what is missing, and `migrate` makes it.
        assert "the database postgresql://127.0.0.1:5432/test has no cacwatch schema yet: run `cacwatch migrate`" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "options" not in result.stderr  # the URL's query is never printed
        engine = sa.create_engine(url)
        try:
            assert sa.inspect(engine).get_table_names() == []  # nothing was created

            assert runner.invoke(app, ["migrate", "--config", str(config)]).exit_code == 0
            assert "alembic_version" in sa.inspect(engine).get_table_names()
            with engine.begin() as connection:  # an older cacwatch's store: one branch behind
                alembic = Config()
                alembic.set_main_option("script_location", str(ROOT / "storage" / "migrations"))
                alembic.attributes["connection"] = connection
                newest = sorted(ScriptDirectory(str(ROOT / "storage" / "migrations")).get_heads())[-1]
                command.downgrade(alembic, f"{newest}@-1")
            behind = runner.invoke(app, ["status", "--config", str(config)])
            assert behind.exit_code == 1
            assert "is from an older cacwatch: run `cacwatch migrate` first" in behind.stderr
            with engine.connect() as connection:
                versions = set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
            assert newest not in versions  # the read left it alone
            assert runner.invoke(app, ["migrate", "--config", str(config)]).exit_code == 0
            assert runner.invoke(app, ["status", "--config", str(config)]).exit_code == 0
        finally:
            engine.dispose()


def test_tables_are_not_folded_off_a_terminal(tmp_path: Path, elsewhere: Path) -> None:
    config = _config(tmp_path / "etc")
    assert runner.invoke(app, ["migrate", "-c", str(config)]).exit_code == 0
    result = runner.invoke(app, ["subscribers", "list", "-c", str(config)])  # CliRunner: not a terminal
    assert result.exit_code == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "associate" in line]
    assert "associate.with.a.rather.long.address@law-firm.example" in row
    assert "北京抖音信息服务有限公司, 深圳市腾讯计算机系统有限公司" in row


def test_version_and_config_after_the_subcommand(tmp_path: Path, elsewhere: Path) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("cacwatch 0.")
    config = _config(tmp_path / "etc")
    for args in (["deliveries", f"--config={config}"], ["subscribers", "list", "-c", str(config)]):
        assert "no store at" in runner.invoke(app, args).stderr


def test_run_on_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.yaml"
        config.write_text(
            f"database:\n  url: sqlite:///{tmp_path}/db.sqlite\n"
            f"service:\n  health_host: 127.0.0.1\n  health_port: {port}\n",
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
    assert result.returncode == 2, result.stderr
    # The whole output is that one line (the web app's server included: no uvicorn log, no traceback).
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cacwatch:"), lines
    assert f"http://127.0.0.1:{port}" in lines[0] and "service.health_port" in lines[0]


def test_replica_command_serves_the_site_for_ones_own_config(tmp_path: Path) -> None:
    """`cacwatch replica --port P` in one process, `check --once` against it from another."""
    import signal

    from service_helpers import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "replica", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith(f"replica of the CAC site on http://127.0.0.1:{port}")
        snippet = "".join(server.stdout.readline() for _ in range(5))
        assert f'base_url: "http://127.0.0.1:{port}"' in snippet
        config = tmp_path / "config.yaml"
        config.write_text(f"database:\n  url: sqlite:///{tmp_path}/db.sqlite\ndata_dir: {tmp_path}/data\n{snippet}", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "check", "--once", "--config", str(config)],
            capture_output=True, text=True, timeout=180, cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "9 lists checked, 9 new" in result.stdout

        taken = subprocess.run(
            [sys.executable, "-m", "bot.cli", "replica", "--port", str(port)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
        assert taken.returncode == 2 and taken.stderr.startswith(f"cacwatch: cannot listen on http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
