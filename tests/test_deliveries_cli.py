"""``cacwatch deliveries`` for operators (issue 14 §5) and ``deliveries replay`` for
integrators (§4), through the CLI and the real local webhook receiver (which also checks
every body against docs/webhook-events.schema.json)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from conftest import WEBHOOK_SECRET
from webhook_receiver import Answer, Receiver

runner = CliRunner()


def _row(output: str, needle: str) -> list[str]:
    (line,) = [line for line in output.splitlines() if needle in line]
    return [cell.strip() for cell in line.replace("┃", "│").strip().strip("│").split("│")]


def test_failing_destination_shows_error_attempts_next_retry_and_agrees_with_status(
    webhook_config: Path, receiver: Receiver
) -> None:
    receiver.answers["/hook"] = Answer(status=503, body=b"maintenance until noon")
    checked = runner.invoke(app, ["check", "--once", "--config", str(webhook_config)])
    assert checked.exit_code == 0, checked.output
    sent = len(receiver.on("/hook"))
    assert sent >= 1

    result = runner.invoke(app, ["deliveries", "--config", str(webhook_config)])
    assert result.exit_code == 0, result.stderr
    header = _row(result.stdout, "destination")
    row = dict(zip(header, _row(result.stdout, receiver.base_url + "/hook")))
    assert row["failed"] == str(sent) and row["delivered"] == "0" and row["pending"] == "0"
    assert row["attempts"] == "1"
    assert "503" in row["last error"] and "maintenance until noon" in row["last error"]
    retry = datetime.strptime(row["next retry"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
    assert retry > datetime.now(timezone.utc)

    status = runner.invoke(app, ["status", "--config", str(webhook_config)])
    assert status.exit_code == 0, status.stderr
    status_header = _row(status.stdout, "notifier")
    webhook = dict(zip(status_header, _row(status.stdout, "│ webhook")))
    for label in ("pending", "failed", "sending", "delivered", "dead", "disabled"):
        assert webhook[label] == row[label], label


def test_replay_sends_past_events_to_a_new_endpoint(webhook_config: Path, receiver: Receiver) -> None:
    assert runner.invoke(app, ["check", "--once", "--config", str(webhook_config)]).exit_code == 0
    first = receiver.on("/hook")
    assert first

    config = yaml.safe_load(webhook_config.read_text(encoding="utf-8"))
    new_url = receiver.base_url + "/new-tool"
    config["notify"]["webhooks"].append({"url": new_url, "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3})
    webhook_config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    today = datetime.now(timezone.utc).date().isoformat()
    result = runner.invoke(app, ["deliveries", "replay", "--destination", new_url, "--since", today, "--config", str(webhook_config)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{len(first)} past events queued for webhook:{new_url}")
    replayed = receiver.on("/new-tool")
    # The same events, by their own id in the body; each delivery its own webhook-id.
    assert sorted(json.loads(r.body)["id"] for r in replayed) == sorted(json.loads(r.body)["id"] for r in first)
    assert not {r.headers["webhook-id"] for r in replayed} & {r.headers["webhook-id"] for r in first}

    again = runner.invoke(app, ["deliveries", "replay", "--destination", new_url, "--since", today, "--config", str(webhook_config)])
    assert again.exit_code == 0
    # The destination is shown as its key: the URL (path tokens masked) and a hash of the whole URL.
    assert again.stdout.startswith(f"0 past events queued for webhook:{new_url}#")
    assert f"({len(first)} already sent or queued" in again.stdout
    assert len(receiver.on("/new-tool")) == len(replayed)

    unknown = runner.invoke(app, ["deliveries", "replay", "--destination", "https://elsewhere.example/x", "--since", today, "--config", str(webhook_config)])
    assert unknown.exit_code == 2 and "no configured notifier sends to" in unknown.stderr
