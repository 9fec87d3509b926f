"""``cacwatch deliveries`` for operators (issue 14 §5) and ``deliveries replay`` for
integrators (§4), through the CLI and the real local webhook receiver (which also checks
every body against docs/webhook-events.schema.json)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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


def _replay(config: Path, url: str, *extra: str) -> Any:
    today = datetime.now(timezone.utc).date().isoformat()
    return runner.invoke(app, ["deliveries", "replay", "--destination", url, "--since", today, *extra, "--config", str(config)])


def test_an_endpoint_disabled_by_410_is_enabled_again_and_gets_what_the_410_stopped(
    webhook_config: Path, receiver: Receiver
) -> None:
    url = receiver.base_url + "/hook"
    receiver.answers["/hook"] = Answer(status=410, body=b"gone")
    assert runner.invoke(app, ["check", "--once", "--config", str(webhook_config)]).exit_code == 0
    gone = receiver.on("/hook")
    assert len(gone) == 1  # the first 410 disables it: nothing more is tried

    retried = runner.invoke(app, ["deliveries", "retry", "--config", str(webhook_config)])
    assert retried.exit_code == 0, retried.output
    assert "0 deliveries queued again" in retried.stdout and "is disabled (it answered 410 Gone)" in retried.stdout
    refused = _replay(webhook_config, url)
    assert refused.exit_code == 1 and "is disabled" in refused.stderr and "deliveries enable" in refused.stderr

    receiver.answers["/hook"] = Answer(status=204)
    enabled = runner.invoke(app, ["deliveries", "enable", "--destination", url, "--config", str(webhook_config)])
    assert enabled.exit_code == 0, enabled.output
    assert enabled.stdout.startswith("webhook:") and "enabled; 1 deliveries queued again" in enabled.stdout
    assert runner.invoke(app, ["check", "--once", "--config", str(webhook_config)]).exit_code == 0
    sent = receiver.on("/hook")
    assert len(sent) == 2
    # The same delivery again: the receiver can tell it is the one it answered 410 to.
    assert sent[1].headers["webhook-id"] == gone[0].headers["webhook-id"]
    assert json.loads(sent[1].body)["id"] == json.loads(gone[0].body)["id"]

    again = runner.invoke(app, ["deliveries", "enable", "--destination", url, "--config", str(webhook_config)])
    assert again.exit_code == 0 and "was not disabled; nothing to do" in again.stdout


def test_replay_queues_dead_letters_again_and_resend_sends_delivered_events_once_more(
    webhook_config: Path, receiver: Receiver
) -> None:
    url = receiver.base_url + "/hook"
    receiver.answers["/hook"] = Answer(status=302, headers={"location": "https://elsewhere.example/"})
    assert runner.invoke(app, ["check", "--once", "--config", str(webhook_config)]).exit_code == 0
    dead = receiver.on("/hook")
    assert dead  # a redirect is not followed: dead at once

    receiver.answers["/hook"] = Answer(status=200)
    replayed = _replay(webhook_config, url)  # used to fail: UNIQUE constraint (event, destination)
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.startswith(f"{len(dead)} past events queued for webhook:")
    assert f"; {len(dead)} deliveries sent" in replayed.stdout
    delivered = receiver.on("/hook")[len(dead):]
    assert [r.headers["webhook-id"] for r in delivered] == [r.headers["webhook-id"] for r in dead]

    nothing = _replay(webhook_config, url)
    assert nothing.exit_code == 0 and nothing.stdout.startswith("0 past events queued")
    assert len(receiver.on("/hook")) == 2 * len(dead)

    resent = _replay(webhook_config, url, "--resend")
    assert resent.exit_code == 0, resent.output
    assert resent.stdout.startswith(f"{len(dead)} past events queued") and f"; {len(dead)} deliveries sent" in resent.stdout
    last = receiver.on("/hook")[2 * len(dead):]
    # Once more, exactly once each, under the webhook-id the receiver already knows.
    assert sorted(r.headers["webhook-id"] for r in last) == sorted(r.headers["webhook-id"] for r in dead)
