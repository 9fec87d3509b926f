"""An upgrade from the previous release's schema with data in it (SQLite and PostgreSQL).

The previous release stopped at ``0009_search_bigrams`` (with the sibling heads 0003_telegram
and 0004_email). A store at that schema is filled with real rows — the replica ingested by
this version, copied column by column into the old tables, the GenAI rows as the old parser
wrote them (no ``registration`` / ``scenario``) — then upgraded to head by the same call
``check`` and ``migrate`` make. Every filing comes out of ``export`` as before, with
``registration`` backfilled by migration 0010 from the number's form, and the upgraded store
keeps working: the next poll is idle.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from bot.app.cli import app
from builders import replica_source
from scrapers.replica.server import ReplicaServer
from storage.db import _MIGRATIONS, Database

runner = CliRunner()
PREVIOUS_HEADS = ("0003_telegram", "0004_email", "0009_search_bigrams")
# Derived from the filings (the search index is rebuilt from them), or bookkeeping of Alembic.
NOT_COPIED = {"alembic_version", "filing_search"}


def _config(tmp_path: Path, name: str, url: str, replica: ReplicaServer) -> Path:
    path = tmp_path / f"{name}.yaml"
    raw = {"database": {"url": url}, "data_dir": str(tmp_path / f"data-{name}"), "sources": {"cac": replica_source(replica, retries=1)}}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _run(config: Path, *args: str) -> str:
    result = runner.invoke(app, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _migrate_to_previous_release(url: str) -> None:
    engine = sa.create_engine(Database(url).url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for head in PREVIOUS_HEADS:
            command.upgrade(config, head)
    engine.dispose()


def _old_fields(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "list_rows" and isinstance(row.get("fields"), dict):
        # The parser before 0010 wrote no registration / scenario into the row's fields.
        row["fields"] = {k: v for k, v in row["fields"].items() if k not in ("registration", "scenario")}
    return row


def _copy_rows(source_url: str, target_url: str) -> dict[str, int]:
    """Every row of the current store into the old schema's tables (columns both have)."""
    source = sa.create_engine(Database(source_url).url)
    target = sa.create_engine(Database(target_url).url)
    copied: dict[str, int] = {}
    old = sa.MetaData()
    old.reflect(target)
    new = sa.MetaData()
    new.reflect(source)
    with source.connect() as read, target.begin() as write:
        if target.dialect.name == "sqlite":
            write.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in old.sorted_tables:
            if table.name in NOT_COPIED or table.name.startswith("filing_search") or table.name not in new.tables:
                continue
            current = new.tables[table.name]
            columns = [c.name for c in table.columns if c.name in current.columns]
            rows = [_old_fields(table.name, dict(r._mapping)) for r in read.execute(sa.select(*(current.c[c] for c in columns)))]
            if rows:
                write.execute(table.insert(), rows)
            copied[table.name] = len(rows)
            if target.dialect.name == "postgresql" and "id" in table.columns and rows:
                # Explicit ids leave the sequence behind: move it past them, as a dump/restore would.
                write.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"))
    source.dispose()
    target.dispose()
    return copied


def _utc(value: str | None) -> str | None:
    # SQLite keeps no zone (the export prints its UTC times without an offset), PostgreSQL does.
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=None).isoformat()


def _records(out: str) -> dict[tuple[str, str], dict[str, Any]]:
    records = {(r["kind"], r["filing_number"]): r for r in map(json.loads, out.splitlines())}
    for record in records.values():
        record["first_seen"], record["updated_at"] = _utc(record["first_seen"]), _utc(record["updated_at"])
    return records


def test_upgrade_from_the_previous_release_with_data(tmp_path: Path, replica: ReplicaServer, database_url: str) -> None:
    # The rows: the replica as this version ingests it (a SQLite store of its own).
    fresh = _config(tmp_path, "fresh", f"sqlite:///{tmp_path / 'fresh.db'}", replica)
    _run(fresh, "check", "--once")
    expected = _records(_run(fresh, "export", "--format", "jsonl", "--include-removed"))
    assert any(kind == "genai_service" for kind, _ in expected)

    # The previous release's store, with those rows in it.
    _migrate_to_previous_release(database_url)
    old = Database(database_url, create=False)
    assert old.state() == "behind"
    old.dispose()
    copied = _copy_rows(f"sqlite:///{tmp_path / 'fresh.db'}", database_url)
    assert copied["filings"] == len(expected) and copied["list_rows"] >= len(expected) and copied["list_versions"] > 5
    config = _config(tmp_path, "upgraded", database_url, replica)
    # Reads refuse an old store with the way forward …
    refused = runner.invoke(app, ["--config", str(config), "export"])
    assert refused.exit_code == 1 and "run `cacwatch migrate` first" in refused.stderr
    # … and migrate brings it to head.
    assert "is up to date" in _run(config, "migrate")

    upgraded = _records(_run(config, "export", "--format", "jsonl", "--include-removed"))
    assert upgraded.keys() == expected.keys()
    registered = re.compile(r"S\d{4}$")
    for key, record in upgraded.items():
        want = dict(expected[key])
        if key[0] == "genai_service":
            # Backfilled by 0010 from the number's form; what this version's parser wrote, when it did, agrees.
            backfilled = "registered" if registered.search(key[1]) else "filed"
            assert record["registration"] == backfilled, key
            assert want["registration"] in (None, backfilled), key
            want["registration"] = backfilled
        else:
            assert record["registration"] is None
        assert record == want, key
    assert sum(r["registration"] == "registered" for r in upgraded.values()) > 0  # both forms present
    assert sum(r["registration"] == "filed" for r in upgraded.values()) > 0
    # 0023 dates every list as this version's ingest does: a list added later to a page CAC
    # updates in place by the day it was first seen, any other by its page's date.
    dates = _list_dates(database_url)
    assert dates == _list_dates(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert dates[("genai_service", "2025-01")][1:] == ("2024-04-02", "first_seen")
    assert dates[("genai_service", "2024-04")] == ("2024-04-02", "2024-04-02", "announced")
    # The upgraded store works with this version: the next poll finds nothing new.
    idle = _run(config, "check", "--once")
    assert " 0 new" in idle, idle
    assert _records(_run(config, "export", "--format", "jsonl", "--include-removed")) == upgraded


def _list_dates(url: str) -> dict[tuple[str, str], tuple[str, str | None, str | None]]:
    """(kind, list month) → (first published on, page date, basis) of every list but 注销 notices;
    a first-seen date as its month (the two stores were filled minutes apart)."""
    engine = sa.create_engine(Database(url).url)
    lists = sa.table("filing_lists", *(sa.column(n) for n in ("kind", "list_month", "published_on", "first_published_on", "published_basis", "is_cancellation")))
    with engine.connect() as connection:
        rows = connection.execute(sa.select(lists).where(lists.c.is_cancellation.is_(False))).all()
    engine.dispose()
    return {
        (row.kind, row.list_month): (row.first_published_on[:7] if row.published_basis == "first_seen" else row.first_published_on,
                                     row.published_on, row.published_basis)
        for row in rows
    }


def test_previous_release_heads_are_ancestors_of_head() -> None:
    """The test above starts where the previous release stopped; if a migration is re-chained,
    the previous heads must still lead to the current ones."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    ancestors = {rev.revision for head in script.get_heads() for rev in script.walk_revisions(base="base", head=head)}
    assert set(PREVIOUS_HEADS) <= ancestors
    assert not set(PREVIOUS_HEADS) & set(script.get_heads()) - {"0003_telegram", "0004_email"}
