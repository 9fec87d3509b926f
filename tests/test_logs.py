"""Service logs: JSON lines by config, and no secret from the settings in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.app.config import Settings, settings_from_mapping
from bot.app.logs import MASK, configure_logging, secret_values

TOKEN = "123456:AAE-very-secret-bot-token"
WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SMTP_PASSWORD = "smtp-pa55word"
DB_PASSWORD = "db-pa55word"
APPRISE = "dingtalk://secrettoken123/"


def _settings(log_format: str = "json") -> Settings:
    return settings_from_mapping(
        {
            "database": {"url": f"postgresql+psycopg://cacwatch:{DB_PASSWORD}@db.example/cacwatch"},
            "service": {"log_format": log_format},
            "notify": {
                "webhooks": [{"url": "https://hooks.example/cac?token=querytoken99", "secret": WEBHOOK_SECRET}],
                "apprise": [{"urls": [APPRISE]}],
                "telegram": {"token": TOKEN, "channel": "@cac_filings"},
                "email": {
                    "smtp_host": "smtp.example.com",
                    "username": "watch",
                    "password": SMTP_PASSWORD,
                    "sender": "watch@example.com",
                },
            },
        },
        env={},
    )


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(_settings(), stream=stream)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_secret_values_found_everywhere_in_the_settings() -> None:
    secrets = secret_values(_settings())
    assert {TOKEN, WEBHOOK_SECRET, SMTP_PASSWORD, DB_PASSWORD, APPRISE, "querytoken99"} <= secrets
    assert "smtp.example.com" not in secrets and "watch" not in secrets


def test_json_lines_with_secrets_masked(capture: tuple[io.StringIO, logging.Handler]) -> None:
    stream, _ = capture
    log = logging.getLogger("bot.test")
    log.info("sending to %s", f"https://api.telegram.org/bot{TOKEN}/sendMessage", extra={"attempt": 2})
    log.warning("smtp login with %s failed", SMTP_PASSWORD)
    log.info("url %s", f"postgresql://cacwatch:{DB_PASSWORD}@db/cacwatch", extra={"dsn": DB_PASSWORD})
    try:
        raise RuntimeError(f"apprise {APPRISE} refused webhook secret {WEBHOOK_SECRET}")
    except RuntimeError:
        log.exception("delivery failed")
    # A library logging the request URL at INFO (httpx does) is quieted, and masked anyway.
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    logging.getLogger("httpx").warning("retrying https://api.telegram.org/bot%s/getMe", TOKEN)
    output = stream.getvalue()
    for secret in (TOKEN, SMTP_PASSWORD, DB_PASSWORD, APPRISE, WEBHOOK_SECRET, "secrettoken123"):
        assert secret not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["level"] for line in lines] == ["info", "warning", "info", "error", "warning"]
    first = lines[0]
    assert first["logger"] == "bot.test" and first["attempt"] == 2 and first["ts"].endswith("+00:00")
    assert first["message"] == f"sending to https://api.telegram.org/bot{MASK}/sendMessage"
    assert lines[2]["dsn"] == MASK
    assert "RuntimeError" in lines[3]["exc"] and MASK in lines[3]["exc"]
    assert lines[4]["logger"] == "httpx" and MASK in lines[4]["message"]


def test_text_format_keeps_extras_and_masks() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(_settings("text"), stream=stream)
    try:
        logging.getLogger("bot.test").warning("token %s", TOKEN, extra={"source": "cac"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = stream.getvalue().strip()
    assert line.endswith(f"WARNING bot.test: token {MASK} source=cac")
    assert TOKEN not in line
