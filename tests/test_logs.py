"""Service logs: JSON lines by config, and no secret from the settings in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.settings.config import Settings, settings_from_mapping
from bot.settings.logs import MASK, configure_logging, secret_values

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


# --- one masking function for every URL shown (bot.settings.redact) ------------------------------

SLACK = "https://hooks.slack.com/services/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"


@pytest.mark.parametrize(
    "url, shown",
    [
        (SLACK, "https://hooks.slack.com/services/***/***/***"),
        ("https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_JKL", "https://discord.com/api/webhooks/***/***"),
        ("https://oapi.dingtalk.com/robot/send?access_token=9f8e7d6c5b4a", "https://oapi.dingtalk.com/robot/send?access_token=***"),
        ("https://user:pw@hooks.example:8443/v1/hook#frag", "https://***@hooks.example:8443/v1/hook#***"),
        ("postgresql+psycopg://db.example/cacwatch?password=hunter2&sslmode=require",
         "postgresql+psycopg://db.example/cacwatch?password=***&sslmode=***"),
        ("postgresql://cacwatch:hunter2@[::1]:5432/cacwatch", "postgresql://***@[::1]:5432/cacwatch"),
        ("sqlite:///data/Cacwatch-2026.db", "sqlite:///data/Cacwatch-2026.db"),
        ("http://host:notaport/x", "***"),
        ("not a url", "***"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    from bot.settings.redact import mask_url, url_secrets

    assert mask_url(url) == shown
    for part in url_secrets(url):  # what the log filter hides is what mask_url hides
        assert len(part) < 4 or part not in shown


def test_webhook_path_tokens_never_reach_a_log_line() -> None:
    settings = settings_from_mapping(
        {"database": {"url": "postgresql://db.example/cacwatch?password=hunter2"}, "service": {"log_format": "json"},
         "notify": {"webhooks": [{"url": SLACK, "secret": WEBHOOK_SECRET}]}},
        env={},
    )
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(settings, stream=stream)
    try:
        log = logging.getLogger("bot.test")
        log.warning("POST %s failed", SLACK)
        log.warning("token alone: %s", "bHmkJ2ZqPJTh4mV6PzUd1AeE")
        log.warning("connecting to %s", "postgresql://db.example/cacwatch?password=hunter2")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    output = stream.getvalue()
    assert "bHmkJ2ZqPJTh4mV6PzUd1AeE" not in output and "T0AB12CD3" not in output and "hunter2" not in output
    messages = [json.loads(line)["message"] for line in output.splitlines()]
    assert messages[0] == "POST https://hooks.slack.com/services/***/***/*** failed"  # the host stays readable
    assert messages[1] == f"token alone: {MASK}"


def test_webhook_destinations_hold_no_token() -> None:
    from bot.settings.config import WebhookSettings
    from bot.delivery.notifiers.base import notifiers_by_key
    from bot.delivery.notifiers.webhook import WebhookNotifier

    notifier = WebhookNotifier(WebhookSettings(url=SLACK, secret=WEBHOOK_SECRET))
    other = WebhookNotifier(WebhookSettings(url=SLACK[:-1] + "F", secret=WEBHOOK_SECRET))
    assert notifier.destination.startswith("webhook:https://hooks.slack.com/services/***/***/***#")
    assert "bHmkJ2Zq" not in notifier.destination and "bHmkJ2Zq" not in repr(notifier)
    assert notifier.destination != other.destination  # URLs that mask alike stay apart
    # deliveries queued under the whole-URL key by an older version are still delivered
    assert notifiers_by_key([notifier])[f"webhook:{SLACK}"] is notifier


def test_public_page_urls_are_left_readable() -> None:
    from bot.settings.logs import secret_urls

    settings = settings_from_mapping(
        {"sources": {"cac": {"base_url": "https://mirror.example/cac/Mirror2"}},
         "notify": {"webhooks": [{"url": SLACK, "secret": WEBHOOK_SECRET}]}},
        env={},
    )
    assert "Mirror2" not in secret_values(settings) and "https://mirror.example/cac/Mirror2" not in secret_urls(settings)
    assert SLACK in secret_urls(settings) and "bHmkJ2ZqPJTh4mV6PzUd1AeE" in secret_values(settings)
