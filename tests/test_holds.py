"""A re-issue cut short is held as suspect: stored, the operator told, no removal announced
until it is confirmed (by the operator, or by the same bytes a day later) — and then once.

End to end on the replica (`cacwatch check --once`, signed webhooks to a local receiver),
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from bot.app.cli import app
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.holds import held_lists, is_suspect
from storage.models import FilingList, ListVersion, utcnow
from test_events import _events
from test_pipeline import DS_2023_08
from webhook_receiver import Receiver

runner = CliRunner()


@pytest.fixture
def config(webhook_config: Path) -> Path:
    return webhook_config


def _cli(config: Path, *args: str) -> Any:
    result = runner.invoke(app, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result


def _export(config: Path, *, include_removed: bool = True) -> dict[str, dict[str, Any]]:
    flags = ["--include-removed"] if include_removed else []
    lines = _cli(config, "export", "--kind", "deep_synthesis", *flags).stdout.splitlines()
    return {json.loads(line)["filing_number"]: json.loads(line) for line in lines}


def _truncate(replica: ReplicaServer, key: str, keep: int) -> list[str]:
    """Re-issue the docx at ``key`` with only its first ``keep`` rows, still well formed.
    Returns the filing numbers cut off."""
    document = docx.Document(io.BytesIO(replica.read(key)))
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    column = header.index("备案编号")
    rows = table.rows[1:]
    cut = [row.cells[column].text.strip() for row in rows[keep:]]
    for row in rows[keep:]:
        table._tbl.remove(row._tr)
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(key, out.getvalue())
    return cut


def _versions(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.session() as session:
            return len(list(session.scalars(select(ListVersion.id))))
    finally:
        db.dispose()


def test_the_rule() -> None:
    assert is_suspect(100, 21) and not is_suspect(100, 20)  # more than 20 % …
    assert not is_suspect(10, 4) and is_suspect(10, 5)  # … and at least 5 rows
    assert not is_suspect(0, 0)


def test_truncated_reissue_is_held_then_confirmed_by_the_operator_once(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    _cli(config, "check", "--once")
    before = _export(config)
    versions = _versions(database_url)
    original = replica.read(DS_2023_08)
    cut = _truncate(replica, DS_2023_08, keep=40)
    assert len(cut) >= 50

    result = _cli(config, "check", "--once")
    assert "0 revised" in result.stdout and "1 held as suspect" in result.stdout
    assert len(_events(receiver)) == 1  # the baseline only: nothing announced
    assert _export(config) == before  # no filing removed …
    assert _versions(database_url) == versions + 1  # … and the cut version is stored
    listing = _cli(config, "lists", "held").stdout
    assert "deep_synthesis" in listing and "2023-08" in listing and str(len(cut)) in listing

    _cli(config, "check", "--once")  # the same truncated file again (a 304): still held, still quiet
    assert len(_events(receiver)) == 1 and _export(config) == before

    confirmed = _cli(config, "lists", "confirm", "deep_synthesis", "2023-08").stdout
    assert f"{len(cut)} filings removed" in confirmed
    _cli(config, "check", "--once")  # delivers what the confirmation queued
    events = _events(receiver)[1:]
    assert [e["type"] for e in events] == ["list.revised"]
    data = events[0]["data"]
    assert data["counts"]["removed"] == len(cut) and data["counts"]["new"] == 0
    assert {r["filing_number"] for r in data["removed"]} == set(cut)
    assert set(_export(config)) == set(before)  # kept, never deleted …
    assert set(before) - set(_export(config, include_removed=False)) == set(cut)  # … but no longer present

    _cli(config, "check", "--once")  # and nothing twice
    assert len(_events(receiver)) == 2
    again = runner.invoke(app, ["--config", str(config), "lists", "confirm", "deep_synthesis", "2023-08"])
    assert again.exit_code == 1 and "no list of deep_synthesis 2023-08 is held" in again.output
    assert len(_events(receiver)) == 2
    replica.replace_file(DS_2023_08, original)  # CAC restores the list: its filings are present again
    _cli(config, "check", "--once")
    assert set(_export(config, include_removed=False)) == set(before)


def test_same_truncated_bytes_a_day_later_confirm_it(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    _cli(config, "check", "--once")
    cut = _truncate(replica, DS_2023_08, keep=30)
    _cli(config, "check", "--once")
    _cli(config, "check", "--once")
    assert len(_events(receiver)) == 1
    db = Database(database_url)
    with db.session() as session:  # the held bytes were first seen 25 hours ago
        (held,) = held_lists(session)
        held_id = session.scalar(select(FilingList.held_version_id).where(FilingList.id == held.list_id))
        session.execute(update(ListVersion).where(ListVersion.id == held_id).values(fetched_at=utcnow() - timedelta(hours=25)))
    db.dispose()

    _cli(config, "check", "--once")  # a 304 for the held bytes: still served after a day
    events = _events(receiver)[1:]
    assert [e["type"] for e in events] == ["list.revised"]
    assert {r["filing_number"] for r in events[0]["data"]["removed"]} == set(cut)
    _cli(config, "check", "--once")
    assert len(_events(receiver)) == 2
    assert "no list is held" in _cli(config, "lists", "held").stdout


def test_the_full_list_served_again_ends_the_hold(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    _cli(config, "check", "--once")
    before = _export(config)
    original = replica.read(DS_2023_08)
    _truncate(replica, DS_2023_08, keep=10)
    _cli(config, "check", "--once")
    versions = _versions(database_url)
    replica.replace_file(DS_2023_08, original)  # a passing fault: the full file is back

    result = _cli(config, "check", "--once")
    assert "0 revised" in result.stdout and "held" not in result.stdout
    assert "no list is held" in _cli(config, "lists", "held").stdout
    assert _versions(database_url) == versions  # the held version stays stored
    assert len(_events(receiver)) == 1 and _export(config) == before


def test_a_small_loss_is_an_ordinary_revision(config: Path, replica: ReplicaServer, receiver: Receiver) -> None:
    _cli(config, "check", "--once")
    document = docx.Document(io.BytesIO(replica.read(DS_2023_08)))
    keep = len(document.tables[0].rows) - 1 - 4  # 4 rows fewer: below the 5-row floor
    cut = _truncate(replica, DS_2023_08, keep=keep)
    result = _cli(config, "check", "--once")
    assert "1 revised" in result.stdout and "held" not in result.stdout
    (event,) = _events(receiver)[1:]
    assert {r["filing_number"] for r in event["data"]["removed"]} == set(cut)


def test_the_operator_is_told_once_and_told_when_it_ends(
    config: Path, replica: ReplicaServer, database_url: str
) -> None:
    from bot.app.alerts import Alert, Alerter
    from bot.settings.config import settings_from_mapping
    from bot.ingest.pipeline import PollReport

    sent: list[Alert] = []

    async def sender(alert: Alert) -> bool:
        sent.append(alert)
        return True

    db = Database(database_url)
    alerter = Alerter(settings_from_mapping({}, env={}), db, senders=[sender])
    try:
        _cli(config, "check", "--once")
        cut = _truncate(replica, DS_2023_08, keep=20)
        _cli(config, "check", "--once")
        asyncio.run(alerter.after_poll(PollReport(lists_checked=9)))
        (alert,) = sent
        assert alert.subject == "[cacwatch] list held as suspect (rows missing): deep_synthesis 2023-08"
        assert f"{len(cut)} of {20 + len(cut)} filings missing" in alert.text
        assert "cacwatch lists confirm deep_synthesis 2023-08" in alert.text
        _cli(config, "check", "--once")
        asyncio.run(alerter.after_poll(PollReport(lists_checked=9)))
        assert len(sent) == 1  # once per hold
        _cli(config, "lists", "confirm", "deep_synthesis", "2023-08")
        asyncio.run(alerter.after_poll(PollReport(lists_checked=9)))
        assert [a.subject for a in sent[1:]] == ["[cacwatch] recovered: held list deep_synthesis 2023-08"]
        assert "no longer held" in sent[1].text
    finally:
        db.dispose()


def test_migration_matches_the_model(database: Any) -> None:
    """0007_held_versions adds what storage.models declares (SQLite and PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.all_models import Base

    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "filing_lists" in repr(d)] == []
    with database.session() as session:
        assert session.scalar(select(FilingList.held_version_id)) is None  # the column exists (no lists yet)


def test_rejected_reissue_keeps_the_list_and_is_not_held_again(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    from storage.models import HttpValidator

    _cli(config, "check", "--once")
    before = _export(config)
    _truncate(replica, DS_2023_08, keep=40)
    assert "1 held as suspect" in _cli(config, "check", "--once").stdout
    versions = _versions(database_url)

    rejected = _cli(config, "lists", "reject", "deep_synthesis", "2023-08").stdout
    assert "rejected the re-issue of deep_synthesis 2023-08" in rejected
    assert _cli(config, "lists", "held").stdout.strip() == "no list is held"
    again = runner.invoke(app, ["--config", str(config), "lists", "reject", "deep_synthesis", "2023-08"])
    assert again.exit_code == 1 and "no list of deep_synthesis 2023-08 is held" in again.output

    # The same truncated file downloaded in full again (validators forgotten, so no 304): not
    # stored again, not held again, nothing announced, the list keeps its rows.
    db = Database(database_url)
    try:
        with db.session() as session:
            session.execute(update(HttpValidator).values(etag=None, last_modified=None))
    finally:
        db.dispose()
    result = _cli(config, "check", "--once", "--full")
    assert "held as suspect" not in result.stdout
    assert _versions(database_url) == versions
    assert _export(config) == before
    assert len(_events(receiver)) == 1  # the baseline only
