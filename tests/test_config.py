"""config.yaml → typed settings: defaults, ${ENV} interpolation, errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings.config import ConfigError, load_settings, parse_duration, settings_from_mapping


def test_defaults_are_usable() -> None:
    settings = settings_from_mapping({}, env={})
    assert settings.database.url.startswith("sqlite:///")
    assert settings.sources.cac.concurrency == 1  # one connection per host by default
    assert settings.notify.first_run == "baseline"


def test_repository_config_yaml_is_valid() -> None:
    settings = load_settings(Path(__file__).parents[1] / "config.yaml", env={})
    assert settings.sources.cac.base_url == "https://www.cac.gov.cn"
    assert settings.sources.cac.interval == 300
    assert settings.sources.cac.revalidate_interval == 12 * 3600


def test_env_interpolation_and_defaults() -> None:
    raw = {
        "database": {"url": "${DB_URL}"},
        "notify": {"webhooks": [{"url": "https://hooks.example/x", "secret": "${SECRET:-whsec_default}"}]},
    }
    settings = settings_from_mapping(raw, env={"DB_URL": "postgresql+psycopg://u@h/db"})
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert settings.notify.webhooks[0].secret == "whsec_default"


def test_missing_env_var_names_key_and_variable() -> None:
    with pytest.raises(ConfigError, match=r"notify\.telegram\.token: environment variable TELEGRAM_BOT_TOKEN is not set"):
        settings_from_mapping({"notify": {"telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "channel": "@x"}}}, env={})


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"sources": {"cac": {"interval": "soon"}}}, "sources.cac.interval"),
        ({"sources": {"cac": {"concurency": 2}}}, "sources.cac.concurency: unknown key"),
        ({"sources": {"cac": {"concurrency": 0}}}, "sources.cac.concurrency"),
        ({"database": {"url": "mysql://x"}}, "database.url"),
        ({"notify": {"webhooks": [{"url": "ftp://x", "secret": "s"}]}}, "notify.webhooks.0.url"),
        ({"notify": {"first_run": "everything"}}, "notify.first_run"),
    ],
)
def test_errors_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, env={})
    assert message in str(info.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)
    top = tmp_path / "top.yaml"
    top.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top level"):
        load_settings(top)


@pytest.mark.parametrize("text, seconds", [("1h", 3600), ("0.5s", 0.5), ("250ms", 0.25), ("2m", 120), (30, 30), ("1d", 86400)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_email_security_defaults_by_port() -> None:
    def email(port: int) -> str | None:
        raw = {"notify": {"email": {"smtp_host": "mail", "smtp_port": port, "sender": "a@b.c"}}}
        return settings_from_mapping(raw, env={}).notify.email.security  # type: ignore[union-attr]

    assert (email(465), email(587), email(25)) == ("ssl", "starttls", "none")


def test_telegram_webhook_mode_requires_a_secret_from_the_environment() -> None:
    def telegram(**extra: str) -> dict[str, object]:
        values = {"token": "123:abc", "channel": "@cac_test", "mode": "webhook", "webhook_url": "https://bot.example/tg"}
        return {"notify": {"telegram": {**values, **extra}}}

    with pytest.raises(ConfigError, match="webhook_secret: mode webhook needs a secret token"):
        settings_from_mapping(telegram(), env={})
    with pytest.raises(ConfigError, match="environment variable TELEGRAM_WEBHOOK_SECRET is not set"):
        settings_from_mapping(telegram(webhook_secret="${TELEGRAM_WEBHOOK_SECRET}"), env={})
    with pytest.raises(ConfigError, match="too short") as caught:
        settings_from_mapping(telegram(webhook_secret="${TELEGRAM_WEBHOOK_SECRET}"), env={"TELEGRAM_WEBHOOK_SECRET": "s3cret"})
    assert "s3cret" not in str(caught.value)
    secret = "tg-webhook-0123456789abcdef"
    settings = settings_from_mapping(telegram(webhook_secret="${TELEGRAM_WEBHOOK_SECRET}"), env={"TELEGRAM_WEBHOOK_SECRET": secret})
    assert settings.notify.telegram is not None and settings.notify.telegram.webhook_secret == secret
    polling = settings_from_mapping({"notify": {"telegram": {"token": "123:abc", "channel": "@cac_test"}}}, env={})
    assert polling.notify.telegram is not None and polling.notify.telegram.webhook_secret is None  # polling needs none


@pytest.mark.parametrize(
    "text",
    [
        'notify:\n  telegram:\n    token: "123456:AAE-secret-token\n    channel: "@x"\n',  # unclosed quote
        "database:\n  url: postgresql://u:hunter2-secret@db/x\n  bad: [1\n",
        "notify:\n  webhooks:\n  - url: https://hooks.example/T0/s3cr3t-path-token: x\n",
    ],
)
def test_yaml_errors_name_the_place_never_the_line(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(bad)
    message = str(caught.value)
    assert re.search(r"not valid YAML: line \d+, column \d+: ", message), message
    assert "secret" not in message and "hunter2" not in message and "s3cr3t" not in message
    assert "\n" not in message


def test_reading_settings_tolerate_unset_notifier_secrets_only() -> None:
    """Read commands load the config ``for_reading``: an unset variable under ``notify`` becomes
    a placeholder that passes validation (nothing is sent); elsewhere it is still an error."""
    raw = {
        "notify": {
            "webhooks": [{"url": "${HOOK_URL}", "secret": "${CACWATCH_WEBHOOK_SECRET}"}],
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "channel": "@cac_filings"},
            "email": {"smtp_host": "smtp.example", "sender": "${SENDER}", "password": "${SMTP_PASSWORD}"},
        }
    }
    with pytest.raises(ConfigError, match="CACWATCH_WEBHOOK_SECRET is not set|HOOK_URL is not set"):
        settings_from_mapping(raw, env={})
    settings = settings_from_mapping(raw, env={}, for_reading=True)
    assert settings.notify.webhooks[0].url == "https://unset.invalid/"
    assert settings.notify.email is not None and settings.notify.email.sender == "unset@unset.invalid"
    with pytest.raises(ConfigError, match=r"database\.url: environment variable DB is not set"):
        settings_from_mapping({"database": {"url": "${DB}"}}, env={}, for_reading=True)


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "config.yaml"
    config.write_text(
        "database:\n  url: sqlite:///state/db.sqlite\ndata_dir: raw\n"
        "notify:\n  email:\n    smtp_host: smtp.example\n    sender: a@example.org\n    ca_file: certs/relay.pem\n",
        encoding="utf-8",
    )
    settings = load_settings(config, env={})
    assert settings.database.url == f"sqlite:///{folder.resolve()}/state/db.sqlite"
    assert settings.data_dir == folder.resolve() / "raw"
    assert settings.notify.email is not None and settings.notify.email.ca_file == str(folder.resolve() / "certs/relay.pem")
    absolute = folder / "abs.yaml"
    absolute.write_text(f"database:\n  url: sqlite:///{tmp_path}/x.db\ndata_dir: {tmp_path}/d\n", encoding="utf-8")
    settings = load_settings(absolute, env={})
    assert settings.database.url == f"sqlite:///{tmp_path}/x.db" and settings.data_dir == tmp_path / "d"
