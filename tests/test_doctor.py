"""``cacwatch doctor`` / ``cacwatch check --once --dry-run``: whether the proxy, the site, the
database and each notifier work, against real local servers, storing and sending nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.smtp import AuthResult, LoginPassword
from typer.testing import CliRunner

from bot.app.cli import app
from builders import replica_source
from fake_telegram import FakeTelegram
from proxies import HttpProxy, closed_port
from scrapers.replica.server import ReplicaServer
from smtp_sink import Sink, smtp_server
from webhook_receiver import Receiver

runner = CliRunner()
PROXY_PASSWORD = "pr0xy-Pa55"
SMTP_PASSWORD = "smtp-Pa55"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"cacwatch" and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def _write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _lines(output: str) -> dict[str, str]:
    """``what`` → the whole line, for every check line."""
    found = {}
    for line in output.splitlines():
        level, _, rest = line.partition("  ")
        if level.strip() in ("ok", "warn", "FAIL"):
            found[rest.split(": ", 1)[0].strip()] = line
    return found


@pytest.fixture
def sink() -> Sink:
    return Sink()


def _notify(receiver: Receiver, fake: FakeTelegram, smtp_port: int, *, token: str | None = None, smtp_password: str = "${SMTP_PASSWORD}") -> dict[str, Any]:
    return {
        "webhooks": [{"url": receiver.base_url + "/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "allow_private": True}],
        "telegram": {"token": token or fake.token, "api_base_url": fake.base_url, "channel": "@cac_filings", "timeout": 5},
        "email": {
            "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "security": "none", "username": "cacwatch",
            "password": smtp_password, "sender": "watch@example.com", "recipients": ["legal@example.com"], "timeout": 5,
        },
    }


def test_everything_works_through_the_proxy_and_nothing_is_stored_or_sent(
    tmp_path: Path, replica: ReplicaServer, receiver: Receiver, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "data" / "cacwatch.db"
    with HttpProxy(("op", PROXY_PASSWORD)) as proxy, FakeTelegram() as fake, smtp_server(
        sink, authenticator=_authenticator, auth_required=True, auth_require_tls=False
    ) as smtp_port:
        assert isinstance(proxy, HttpProxy)
        monkeypatch.setenv("CACWATCH_CAC_PROXY", proxy.url("op", PROXY_PASSWORD))
        monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
        config = _write(tmp_path, {
            "database": {"url": f"sqlite:///{store}"},
            "sources": {"cac": replica_source(replica, proxy="${CACWATCH_CAC_PROXY}")},
            "notify": _notify(receiver, fake, smtp_port),
        })
        doctor = runner.invoke(app, ["--config", str(config), "doctor"])
        dry = runner.invoke(app, ["--config", str(config), "check", "--once", "--dry-run"])
        sent_to_telegram = [c.method for c in fake.calls if c.method.lower() != "getme"]
    assert doctor.exit_code == 0, doctor.output
    assert dry.exit_code == 0 and _lines(dry.stdout).keys() == _lines(doctor.stdout).keys()
    lines = _lines(doctor.stdout)
    port = proxy.port
    assert lines[f"proxy http://***@127.0.0.1:{port}"].startswith("ok")
    assert "channel page 1 read via proxy http://***@127.0.0.1" in lines["site 127.0.0.1"]
    assert lines["notice API 127.0.0.1"].startswith("ok")
    assert "no store yet" in next(v for k, v in lines.items() if k.startswith("database"))
    assert lines[f"webhook {receiver.base_url}/hook"].startswith("ok")
    assert "getMe: @cacwatch_test_bot" in lines["telegram @cac_filings"]
    assert "connected + AUTH (nothing sent)" in lines[f"email 127.0.0.1:{smtp_port}"]
    assert doctor.stdout.rstrip().endswith("checks passed")
    # Nothing stored, nothing sent; every request to the site went through the proxy.
    assert not store.exists() and not store.parent.exists()
    assert not receiver.received and not sink.messages and not sent_to_telegram
    assert sorted(proxy.requests) == sorted((r.method, r.path) for r in replica.requests) and proxy.requests
    assert PROXY_PASSWORD not in doctor.output + dry.output and SMTP_PASSWORD not in doctor.output


def test_each_broken_piece_is_named_and_the_exit_is_non_zero(
    tmp_path: Path, receiver: Receiver, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_site = f"http://127.0.0.1:{closed_port()}"
    with FakeTelegram() as fake, smtp_server(sink, authenticator=_authenticator, auth_required=True, auth_require_tls=False) as smtp_port:
        notify = _notify(receiver, fake, smtp_port, token="123456:WRONG-token", smtp_password="not-it")
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        notify["webhooks"] += [
            {"url": "http://localhost:9/hook", "secret": secret},  # resolves to loopback: the guard refuses it
            {"url": "http://cacwatch-doctor.invalid/hook", "secret": secret, "allow_private": True},  # never resolves
        ]
        config = _write(tmp_path, {
            "database": {"url": f"postgresql+psycopg://nobody:pw@127.0.0.1:{closed_port()}/nothing"},
            "sources": {"cac": {"base_url": dead_site, "beian_url": dead_site, "min_delay": 0, "timeout": 1, "retries": 1}},
            "notify": notify,
        })
        result = runner.invoke(app, ["--config", str(config), "doctor"])
    assert result.exit_code == 1, result.output
    lines = _lines(result.stdout)
    assert "FAIL  site 127.0.0.1: unreachable: site unreachable: 127.0.0.1 direct (no proxy), 2 attempts, 1s timeout" in lines["site 127.0.0.1"]
    assert lines["notice API 127.0.0.1"].startswith("warn")  # a second signal only
    database = next(v for k, v in lines.items() if k.startswith("database"))
    assert database.startswith("FAIL") and "cannot connect" in database and ":pw@" not in database
    assert lines["telegram @cac_filings"].startswith("FAIL") and "WRONG" not in lines["telegram @cac_filings"]
    assert lines[f"email 127.0.0.1:{smtp_port}"].startswith("FAIL") and "login refused: 535" in lines[f"email 127.0.0.1:{smtp_port}"]
    assert lines["webhook http://localhost:9/hook"].startswith("FAIL") and "URL guard" in lines["webhook http://localhost:9/hook"]
    assert lines["webhook http://cacwatch-doctor.invalid/hook"].startswith("FAIL")
    assert "resolve" in lines["webhook http://cacwatch-doctor.invalid/hook"]
    assert lines[f"webhook {receiver.base_url}/hook"].startswith("ok")
    stderr = result.stderr.strip()
    assert len(stderr.splitlines()) == 1 and stderr.startswith("cacwatch doctor: 6 of ") and "checks failed" in stderr


def test_database_states_on_both_databases(tmp_path: Path, database_url: str, replica: ReplicaServer) -> None:
    from storage.db import Database

    config = _write(tmp_path, {"database": {"url": database_url}, "sources": {"cac": replica_source(replica)}})

    def database_line() -> str:
        result = runner.invoke(app, ["--config", str(config), "doctor"])
        assert result.exit_code == 0, result.output  # no notifier is a warning, not a failure
        assert "warn  notifiers: none configured" in result.stdout
        return next(v for k, v in _lines(result.stdout).items() if k.startswith("database"))

    first = database_line()
    assert "no store yet" in first or "connected, empty" in first
    db = Database(database_url)
    db.migrate()
    db.dispose()
    assert database_line().endswith("connected, schema up to date")
