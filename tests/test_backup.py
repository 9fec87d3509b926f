"""``cacwatch backup PATH`` and the restore the README describes: backup → restore → the same
``cacwatch export``; PostgreSQL gets the pg_dump line (and that line works)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from builders import replica_source
from conftest import fresh_postgres_schema
from scrapers.replica.server import ReplicaServer

runner = CliRunner()


def _config(tmp_path: Path, url: str, replica: ReplicaServer, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    raw = {"database": {"url": url}, "data_dir": str(tmp_path / "data"), "sources": {"cac": replica_source(replica, retries=1)}}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _run(config: Path, *args: str) -> str:
    result = runner.invoke(app, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_backup_while_in_use_then_restore_gives_the_same_export(tmp_path: Path, replica: ReplicaServer) -> None:
    store = tmp_path / "data" / "cacwatch.db"
    config = _config(tmp_path, f"sqlite:///{store}", replica)
    _run(config, "check", "--once")
    before = _run(config, "export", "--format", "jsonl", "--include-removed")
    assert before.count("\n") > 100
    # In use: another connection holds a read transaction and the latest writes sit in the WAL.
    reader = sqlite3.connect(store)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM filings").fetchone()
    assert Path(f"{store}-wal").exists()
    copy = tmp_path / "backups" / "cacwatch-2026-12-07.db"
    copy.parent.mkdir()
    line = _run(config, "backup", str(copy))
    reader.rollback()
    reader.close()
    assert f"written to {copy}" in line and "integrity checked" in line
    assert not Path(f"{copy}-wal").exists() and not list(copy.parent.glob(".*partial*"))
    # A second backup to the same name is refused; --force replaces it.
    refused = runner.invoke(app, ["--config", str(config), "backup", str(copy)])
    assert refused.exit_code == 1 and "exists" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    _run(config, "backup", str(copy), "--force")

    # Lose the store, then restore as README "Backups" says: stop, copy back, drop stale WAL files.
    _run(config, "check", "--once")  # the store moves on after the backup …
    store.unlink()
    for stale in (Path(f"{store}-wal"), Path(f"{store}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(copy, store)
    assert _run(config, "export", "--format", "jsonl", "--include-removed") == before
    # … and the restored store is a working one: the next poll is idle.
    assert " 0 new" in _run(config, "check", "--once")


def test_backup_on_postgresql_prints_the_pg_dump_and_pg_restore_lines(tmp_path: Path, replica: ReplicaServer) -> None:
    with fresh_postgres_schema() as url:
        config = _config(tmp_path, url, replica)
        _run(config, "check", "--once")
        before = _run(config, "export", "--format", "jsonl")
        dump = tmp_path / "cacwatch.dump"
        result = runner.invoke(app, ["--config", str(config), "backup", str(dump)])
        assert result.exit_code == 1
        assert "is PostgreSQL: back it up with the pg_dump line above" in result.stderr
        command, restore = result.stdout.strip().splitlines()
        assert command.startswith("pg_dump --format=custom --no-owner --file=") and "postgresql://" in command
        assert restore.startswith("# restore: pg_restore --clean --if-exists --no-owner")
        # Nothing was written, and the store is untouched. (The line is not run here: the test
        # database is shared by other schemas, and pg_dump would copy — pg_restore replace — all of them.)
        assert not dump.exists()
        assert _run(config, "export", "--format", "jsonl") == before


def test_backup_of_a_missing_store_says_how_to_make_one(tmp_path: Path, replica: ReplicaServer) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'none.db'}", replica)
    result = runner.invoke(app, ["--config", str(config), "backup", str(tmp_path / "b.db")])
    assert result.exit_code == 1 and "no store at" in result.stderr
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("where", ["directory", "no-parent"])
def test_backup_to_a_bad_place_is_one_line(tmp_path: Path, replica: ReplicaServer, where: str) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'data' / 'x.db'}", replica)
    _run(config, "migrate")
    target = tmp_path if where == "directory" else tmp_path / "missing" / "b.db"
    result = runner.invoke(app, ["--config", str(config), "backup", str(target), "--force"])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "directory" in result.stderr


def test_pg_lines_never_carry_the_password() -> None:
    from storage.backup import pg_dump_command, pg_restore_command

    url = "postgresql+psycopg://cacwatch:Secr3t@db.example:5433/cacwatch?sslmode=require"
    dump = pg_dump_command(url, Path("/backups/cac.dump"))
    assert dump == "pg_dump --format=custom --no-owner --file=/backups/cac.dump 'postgresql://cacwatch@db.example:5433/cacwatch?sslmode=require'"
    assert "Secr3t" not in dump + pg_restore_command(url, Path("/backups/cac.dump"))
