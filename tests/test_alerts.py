"""Operator alerts: raised once over several failing polls, cleared once; Telegram admin chat and email."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from fake_telegram import FakeTelegram
from scrapers.replica.server import ReplicaServer
from service_helpers import async_wait_until, running_service, service_settings
from smtp_sink import Sink, smtp_server
from storage.models_service import Incident
from test_pipeline import DS_2023_08

ADMIN_CHAT = "-1009876543210"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    with smtp_server(sink) as port:
        yield sink, port


def _telegram(fake: FakeTelegram) -> dict[str, Any]:
    return {
        "token": fake.token,
        "api_base_url": fake.base_url,
        "channel": "@cac_filings_test",
        "admin_chat": ADMIN_CHAT,
        "interactive": False,
        "chart": False,
    }


def _admin_texts(fake: FakeTelegram) -> list[str]:
    return [call.text or "" for call in fake.messages(chat_id=ADMIN_CHAT)]


async def test_blocked_source_alert_raised_once_and_cleared_once(
    replica: ReplicaServer, tmp_path: Path, telegram: FakeTelegram, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    replica.waf = True
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    notify = {
        "telegram": _telegram(telegram),
        "email": {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none", "sender": "watch@cacwatch.example", "timeout": 5},
    }
    settings = service_settings(
        replica, url, tmp_path / "data", interval="0.3s",
        service={"alert_after": 2, "backoff_max": "0.6s", "alert_email": ["ops@cacwatch.example"]}, notify=notify,
    )
    async with running_service(settings) as service:
        assert await async_wait_until(lambda: _admin_texts(telegram), timeout=15)
        polls = service.state.polls
        assert await async_wait_until(lambda: service.state.polls >= polls + 3, timeout=15)
        assert len(_admin_texts(telegram)) == 1 and len(sink.messages) == 1  # once, however many polls fail

        replica.waf = False
        assert await async_wait_until(lambda: len(_admin_texts(telegram)) >= 2, timeout=30)
        polls = service.state.polls
        assert await async_wait_until(lambda: service.state.polls >= polls + 2, timeout=15)
        with service.db.session() as session:
            incidents = session.scalars(select(Incident)).all()
    texts = _admin_texts(telegram)
    assert len(texts) == 2 and len(sink.messages) == 2  # one alert, one recovery, per channel
    assert "failed 2 polls in a row (blocked)" in texts[0] and "source cac" in texts[0]
    assert texts[1].startswith("[cacwatch] recovered: source cac")
    opened, recovered = sink.messages
    assert opened["Subject"] == "[cacwatch] source cac is failing" and opened["To"] == "ops@cacwatch.example"
    assert "KnownSec WAF page" in opened.get_content()
    assert recovered["Subject"] == "[cacwatch] recovered: source cac"
    assert [(i.key, i.closed_at is not None, i.notified_at is not None, i.recovery_notified_at is not None) for i in incidents] == [
        ("source:cac", True, True, True)
    ]
    assert all(telegram.token not in text for text in texts)


async def test_unreadable_list_alert_once_retried_after_a_failed_send_and_recovery(
    replica: ReplicaServer, tmp_path: Path, telegram: FakeTelegram
) -> None:
    original = replica.read(DS_2023_08)
    replica.replace_file(DS_2023_08, b"PK\x03\x04 this is not a workbook")  # the site changed its format
    telegram.fail_next(1, method="sendMessage", status=500, chat_id=ADMIN_CHAT)  # the first try is lost
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    settings = service_settings(
        replica, url, tmp_path / "data", interval="0.3s",
        service={"alert_after": 1}, notify={"telegram": _telegram(telegram)},
    )
    async with running_service(settings) as service:
        assert await async_wait_until(lambda: _admin_texts(telegram), timeout=30)
        polls = service.state.polls
        assert await async_wait_until(lambda: service.state.polls >= polls + 3, timeout=15)
        assert len(_admin_texts(telegram)) == 1
        # Only a list failed to parse: the source is not "failing", and polls keep their pace.
        gaps = [(b[0] - a[0]).total_seconds() for a, b in zip(list(service.state.history)[-3:], list(service.state.history)[-2:])]
        assert all(gap < 0.6 for gap in gaps), gaps

        replica.replace_file(DS_2023_08, original)
        assert await async_wait_until(lambda: len(_admin_texts(telegram)) >= 2, timeout=20)
        with service.db.session() as session:
            incidents = session.scalars(select(Incident)).all()
    texts = _admin_texts(telegram)
    assert len(texts) == 2
    assert texts[0].startswith("[cacwatch] unreadable list: ") and "corrupt docx" in texts[0]
    assert texts[1].startswith("[cacwatch] recovered: list ")
    assert len(telegram.calls_of("sendMessage")) >= 3  # the lost try, the alert, the recovery (+ channel posts)
    assert [i.key.split(":")[0] for i in incidents] == ["list"]


def test_incidents_migration_matches_the_model(database: Any) -> None:
    """0005_service creates what storage.models_service declares (SQLite and PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.all_models import Base

    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "incidents" in repr(d)] == []
    with database.session() as session:  # one open incident per key, enforced by the database
        session.add(Incident(key="source:cac", last_message="a"))
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        with database.session() as session:
            session.add(Incident(key="source:cac", last_message="b"))
    # … among open ones only (a partial index, WHERE closed_at IS NULL): closed incidents of a
    # key stay beside its open one, a later trouble opens a new one.
    with database.session() as session:
        session.execute(update(Incident).where(Incident.key == "source:cac").values(closed_at=datetime.now(timezone.utc)))
    with database.session() as session:
        session.add(Incident(key="source:cac", last_message="c"))
    with database.session() as session:
        session.add(Incident(key="source:cac", last_message="d", closed_at=datetime.now(timezone.utc)))
    with database.session() as session:
        assert len(session.scalars(select(Incident).where(Incident.key == "source:cac")).all()) == 3


async def test_http_errors_alert_like_a_block_and_list_failures_never_open_the_source_incident(database: Any) -> None:
    """The rules on their own, poll by poll (no site, no service): HTTP 500 counts like the WAF."""
    from bot.app.alerts import Alert, Alerter
    from bot.settings.config import settings_from_mapping
    from bot.ingest.pipeline import SOURCE_NAME, ListFailure, PollReport
    from storage.models import Poll
    from storage.repo import Repository

    sent: list[Alert] = []

    async def sender(alert: Alert) -> bool:
        sent.append(alert)
        return True

    alerter = Alerter(settings_from_mapping({"service": {"alert_after": 2}}, env={}), database, senders=[sender])

    async def poll(*failures: ListFailure, lists_checked: int = 9) -> None:
        report = PollReport(lists_checked=lists_checked, failures=list(failures))
        with database.session() as session:
            Repository(session).record_poll(SOURCE_NAME, Poll(), ok=report.ok, error=None if report.ok else report.summary_line())
        await alerter.after_poll(report)

    http_500 = ListFailure("https://www.cac.gov.cn/wxzw/wxfb/A093702index_1.htm", "HTTP 500 Internal Server Error", "HTTP error")
    unreadable = ListFailure("list A <https://www.cac.gov.cn/a>", "headers not recognised", "unparseable list")
    await poll(http_500, lists_checked=0)
    assert sent == []  # one failed poll: no alert yet
    await poll(http_500, lists_checked=0)
    await poll(http_500, lists_checked=0)
    assert [a.subject for a in sent] == ["[cacwatch] source cac is failing"]
    assert "(HTTP error)" in sent[0].text
    await poll(unreadable)  # the site answers again; one list does not parse
    assert [a.subject for a in sent[1:]] == ["[cacwatch] recovered: source cac", "[cacwatch] unreadable list: list A <https://www.cac.gov.cn/a>"]
    for _ in range(3):
        await poll(unreadable)  # failing polls, but only a list: no source incident
    await poll()
    assert [a.subject for a in sent[3:]] == ["[cacwatch] recovered: list list A <https://www.cac.gov.cn/a>"]
    assert len(sent) == 4


def test_check_once_from_cron_opens_an_incident_and_alerts(
    replica: ReplicaServer, tmp_path: Path, telegram: FakeTelegram, smtp: tuple[Sink, int]
) -> None:
    """`check --once` run by cron keeps the same incident book as `run`: the third blocked
    poll in a row opens the incident and alerts (once), the next good poll closes it."""
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app

    sink, port = smtp
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'cacwatch.db'}"},
                "data_dir": str(tmp_path / "data"),
                "sources": {"cac": {"base_url": replica.base_url, "beian_url": replica.beian_url, "min_delay": 0, "retries": 1, "timeout": 5}},
                "notify": {
                    "telegram": _telegram(telegram),
                    "email": {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none", "sender": "cacwatch@example.org"},
                },
                "service": {"alert_after": 3, "alert_email": ["ops@example.org"]},
            }
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    replica.waf = True
    for poll in range(1, 4):
        result = runner.invoke(app, ["check", "--once", "--config", str(config)])
        assert result.exit_code == 1  # the source could not be read
        status = runner.invoke(app, ["status", "--config", str(config)])
        if poll < 3:
            assert "open incidents: none" in status.stdout
            assert _admin_texts(telegram) == [] and sink.messages == []
    assert "source:cac" in status.stdout
    (alert,) = _admin_texts(telegram)
    assert "failed 3 polls in a row" in alert
    assert [str(m["Subject"]) for m in sink.messages] == ["[cacwatch] source cac is failing"]

    assert runner.invoke(app, ["check", "--once", "--config", str(config)]).exit_code == 1  # still blocked: no repeat
    assert len(_admin_texts(telegram)) == 1 and len(sink.messages) == 1
    replica.waf = False
    assert runner.invoke(app, ["check", "--once", "--config", str(config)]).exit_code == 0
    assert "recovered" in _admin_texts(telegram)[-1]
    assert "open incidents: none" in runner.invoke(app, ["status", "--config", str(config)]).stdout


def test_totals_lines_of_status() -> None:
    from bot.app.alerts import totals_lines
    from storage.totals_repo import Reconciliation

    def r(as_of: str, stated: tuple[int, int | None], held: tuple[int, int], list_id: int | None = 1) -> Reconciliation:
        return Reconciliation("genai_service", as_of, stated[0], stated[1], held[0], held[1], "https://x/a.htm", "t",
                              list_id, "2026-06" if list_id else None, "n" if list_id else None)

    assert totals_lines([]) == ["GenAI totals: no total stated by CAC read yet"]
    assert totals_lines([r("2026-08-31", (1, 1), (0, 0), None)]) == [
        "GenAI totals: CAC states totals as of 2026-08-31, but no stored list they apply to yet"
    ]
    assert totals_lines([r("2025-03-31", (346, None), (346, 120))]) == [
        "GenAI totals: CAC states 346 filed as of 2025-03-31; cacwatch holds 346 ✓"
    ]
    assert totals_lines([r("2024-12-31", (302, 105), (301, 105)), r("2026-06-30", (988, 598), (988, 598))]) == [
        "GenAI totals: CAC states 988 filed + 598 registered as of 2026-06-30; cacwatch holds 988 + 598 ✓",
        "  also differs: CAC states 302 filed + 105 registered as of 2024-12-31; cacwatch holds 301 + 105 ✗ (after the list 2026-06)",
    ]
