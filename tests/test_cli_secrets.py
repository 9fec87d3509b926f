"""No secret in what the command line prints: database URLs, webhook URLs, outbox destinations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from conftest import WEBHOOK_SECRET
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.models_outbox import Delivery, OutboxEvent
from webhook_receiver import Receiver

runner = CliRunner()
PATH_TOKEN = "bHmkJ2ZqPJTh4mV6PzUd1AeE"


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"database": {"url": database_url}}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://cacwatch:hunter2@127.0.0.1:1/x?port=notaport", "postgresql://[::1:5432/x?password=hunter2",
     "nosuchdriver://u:hunter2@h/x", "postgresql+psycopg://127.0.0.1:1/x?password=hunter2"],
)
def test_bad_or_unreachable_database_is_one_line_without_its_password(tmp_path: Path, url: str) -> None:
    result = runner.invoke(app, ["--config", str(_config(tmp_path, url)), "stats"])
    assert result.exit_code in (1, 2)
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cacwatch: "), result.stderr
    assert "hunter2" not in result.output


def test_deliveries_show_no_url_token(
    tmp_path: Path, replica: ReplicaServer, receiver: Receiver, database_url: str, make_settings  # type: ignore[no-untyped-def]
) -> None:
    url = f"{receiver.base_url}/hook/T0AB12CD3/{PATH_TOKEN}?token=querytoken99"
    webhook = {"url": url, "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}
    settings = make_settings(replica, database_url, webhooks=[webhook])
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    check = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert check.exit_code == 0, check.output
    assert len(receiver.on(f"/hook/T0AB12CD3/{PATH_TOKEN}")) == 1  # delivered to the real URL
    db = Database(database_url)
    with db.session() as session:  # a dead letter queued by an older version under the whole URL
        event = session.query(OutboxEvent).first()
        assert event is not None
        session.add(Delivery(event_pk=event.id, notifier=f"webhook:{url}", destination=f"webhook:{url}",
                             state="dead", last_error=f"POST {url}: HTTP 500"))
        stored = {d.destination for d in session.query(Delivery)}
    db.dispose()
    assert any(PATH_TOKEN not in d and "querytoken99" not in d for d in stored)  # new keys hold no token

    result = runner.invoke(app, ["--config", str(config), "deliveries"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert PATH_TOKEN not in result.output and "querytoken99" not in result.output
    assert "/hook/***/***?token=***" in result.output
    status = runner.invoke(app, ["--config", str(config), "status"], env={"COLUMNS": "250"})
    assert status.exit_code == 0, status.output
    assert PATH_TOKEN not in status.output and "querytoken99" not in status.output
