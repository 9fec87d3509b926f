"""The command line: config errors stop before any network call; demo runs offline."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
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
    assert "815 filings exported" in result.stdout
    assert (tmp_path / "filings.jsonl").exists()
    # The sample webhook body is what an endpoint gets: with the event's id, valid per the schema.
    from webhook_receiver import schema_problems

    (body,) = tmp_path.rglob("webhook-list.published.json")
    sample = json.loads(body.read_text(encoding="utf-8"))
    assert sample["id"].startswith("evt_") and schema_problems(body.read_bytes()) == []
    assert isinstance(sample["seq"], int) and sample["seq"] >= 2  # after the baseline, as the outbox numbers it
    # The channel's posts as the channel gets them: the demo's watchlist (腾讯, ByteDance …) stays private.
    (posts,) = tmp_path.rglob("telegram-posts.html")
    page = posts.read_text(encoding="utf-8")
    assert 'class="bubble"' in page and "<script" not in page
    assert "关注名单" not in page and "Watchlist" not in page


def test_digest_preview_sample_writes_the_newest_lists_as_a_digest(tmp_path: Path, replica: ReplicaServer) -> None:
    """`digest preview` after a check: an .eml and an .html built from the newest stored list of
    each kind, through the same event builder as a poll (findings included)."""
    from email import message_from_bytes, policy

    from bot.settings.config import load_settings
    from bot.ingest.events import preview_events
    from storage.db import Database

    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: 'sqlite:///{tmp_path}/db.sqlite'\n"
        f"data_dir: '{tmp_path}/data'\n"
        f"sources:\n  cac:\n    base_url: '{replica.base_url}'\n    beian_url: '{replica.beian_url}'\n    min_delay: 0\n"
        "notify:\n  email:\n    smtp_host: localhost\n    sender: cacwatch@example.org\n"
        "    recipients: [partner@firm.example]\n",
        encoding="utf-8",
    )
    empty = runner.invoke(app, ["--config", str(config), "digest", "preview", "--sample", "--output-dir", str(tmp_path / "out")])
    assert empty.exit_code == 1 and "no store at" in empty.stderr  # a preview never creates a store

    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code == 0
    result = runner.invoke(app, ["--config", str(config), "digest", "preview", "--sample", "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    (eml,) = (tmp_path / "out").glob("digest-partner_firm.example-*.eml")
    assert eml.with_suffix(".html").exists()
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "partner@firm.example"
    assert str(message["Subject"]).startswith("CAC: 3 new lists") and str(message["Subject"]) in result.stdout

    db = Database(load_settings(config).database.url)
    try:
        with db.session() as session:
            events = preview_events(session)
    finally:
        db.dispose()
    assert [e["id"] for e in events] == [f"evt_preview_{e['data']['kind']}" for e in events]
    assert len({e["data"]["kind"] for e in events}) == 3  # the replica publishes all three kinds
    for event in events:
        data = event["data"]
        assert event["type"] == "list.published"
        assert data["new"] and data["counts"]["new"] == len(data["new"])
        assert data["counts"]["rows"] >= len(data["new"])
        assert data["sizes"] and data["sizes"][-1][1] == data["counts"]["rows"]
        assert any(f["type"] == "rank" for f in data["notable"])


def _one_list_after_a_baseline(tmp_path: Path, replica: ReplicaServer, email: str) -> tuple[Path, Callable[[], None]]:
    """A store with a baseline taken while the newest deep-synthesis batch was withheld, and the
    call that publishes it (the next check then records one list.published); ``email``: more
    ``notify.email`` lines."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: 'sqlite:///{tmp_path}/db.sqlite'\n"
        f"data_dir: '{tmp_path}/data'\n"
        f"sources:\n  cac:\n    base_url: '{replica.base_url}'\n    beian_url: '{replica.beian_url}'\n    min_delay: 0\n"
        "notify:\n  email:\n    smtp_host: 127.0.0.1\n    smtp_port: 9\n    security: none\n    sender: cacwatch@example.org\n"
        + email,
        encoding="utf-8",
    )
    publish = replica.withhold("/2024-01/05/c_1706119043746644.htm")  # the newest deep-synthesis batch
    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code == 0  # baseline
    return config, publish


def test_digest_preview_shows_the_digest_that_would_really_go_out_next(tmp_path: Path, replica: ReplicaServer) -> None:
    """A daily subscriber's preview is what the outbox holds for it: after a baseline and one
    newly published list, that list (not "the newest list of each kind as just published")."""
    from email import message_from_bytes, policy

    config, publish = _one_list_after_a_baseline(
        tmp_path, replica, "    subscribers:\n      - address: daily@firm.example\n        cadence: daily\n        at: '08:00'\n        language: en\n"
    )
    out = tmp_path / "out"
    first = runner.invoke(app, ["--config", str(config), "digest", "preview", "--output-dir", str(out)])
    assert first.exit_code == 0, first.stderr
    assert "1 queued events, due" in first.stdout  # the baseline waits for 08:00
    publish()
    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code == 0
    for old in out.iterdir():
        old.unlink()
    result = runner.invoke(app, ["--config", str(config), "digest", "preview", "--output-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "2 queued events, due" in result.stdout
    (eml,) = out.glob("digest-daily_firm.example-*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    subject = str(message["Subject"])
    assert subject.startswith("CAC: 1 new list") and subject in result.stdout
    sample = runner.invoke(app, ["--config", str(config), "digest", "preview", "--sample", "--output-dir", str(out)])
    assert "CAC: 3 new lists" in sample.stdout  # the old "as if just published" view, only on request


def test_digest_preview_since_is_a_period_report_with_the_firms_letterhead(tmp_path: Path, replica: ReplicaServer) -> None:
    """`digest preview --since`: every list event cacwatch recorded in the period (not what is
    queued), under the firm's name, introduction and disclaimer; a period with none says so."""
    from datetime import datetime, timezone
    from email import message_from_bytes, policy

    config, publish = _one_list_after_a_baseline(
        tmp_path, replica,
        "    firm_name: Acme & Partners\n    introduction: \"Dear clients,\\nthis month's filings.\"\n"
        "    disclaimer: Not legal advice.\n"
        "    subscribers:\n      - address: monthly@firm.example\n        cadence: monthly\n        language: en\n",
    )
    publish()
    assert runner.invoke(app, ["--config", str(config), "check", "--once"]).exit_code == 0
    today = datetime.now(timezone.utc).date().isoformat()
    out = tmp_path / "out"
    result = runner.invoke(app, ["--config", str(config), "digest", "preview", "--since", today, "--output-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    (eml,) = out.glob("digest-monthly_firm.example-*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    subject = str(message["Subject"])
    assert subject.startswith(f"Acme & Partners · Period report {today} – {today}: CAC: 1 new list"), subject
    text = message.get_body(("plain",)).get_content()
    assert "Dear clients," in text and "this month's filings." in text and "Not legal advice." in text
    assert "Acme &amp; Partners" in message.get_body(("html",)).get_content()

    for old in out.iterdir():
        old.unlink()
    empty = runner.invoke(app, ["--config", str(config), "digest", "preview", "--since", "2020-01-01", "--until", "2020-01-31", "--output-dir", str(out)])
    assert empty.exit_code == 0, empty.stderr
    assert "Period report 2020-01-01 – 2020-01-31: no new list" in empty.stdout
    for bad, reason in ((["--since", "last week"], "--since"), (["--since", today, "--until", "2020-01-01"], "before"),
                        (["--until", today], "--until needs --since")):
        refused = runner.invoke(app, ["--config", str(config), "digest", "preview", *bad, "--output-dir", str(out)])
        assert refused.exit_code == 2 and reason in refused.stderr, refused.stderr


def test_subscribers_add_takes_a_monthly_cadence(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: 'sqlite:///{tmp_path}/db.sqlite'\n", encoding="utf-8")
    added = runner.invoke(app, ["--config", str(config), "subscribers", "add", "m@firm.example", "--cadence", "monthly", "--at", "09:00"])
    assert added.exit_code == 0, added.stderr
    assert "monthly, the 1st at 09:00 Asia/Shanghai" in added.stdout
    refused = runner.invoke(app, ["--config", str(config), "subscribers", "add", "y@firm.example", "--cadence", "yearly"])
    assert refused.exit_code == 2 and "--cadence" in refused.stderr
