"""Logging for ``cacwatch run``: text or JSON lines on stderr, secrets masked.

Operators ship these lines to journald, Docker or a log pipeline, so two rules hold:
- ``service.log_format: json`` gives one JSON object per line (``ts``, ``level``,
  ``logger``, ``message``, extra fields, ``exc`` for tracebacks);
- no secret from the settings ever reaches a line: ``SecretFilter`` sits on the handler
  (handler filters also see records of libraries such as httpx, whose request lines
  contain the Telegram token in the URL) and replaces every known secret value.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import IO, Any

from pydantic import BaseModel

from bot.settings.config import Settings
from bot.settings.redact import MASK, mask_url, url_secrets

__all__ = ["SecretFilter", "JsonFormatter", "secret_values", "secret_urls", "configure_logging", "MASK"]

# Settings keys whose values are secrets wherever they appear in the tree.
_SECRET_KEY = re.compile(r"token|secret|password|passwd|api_key|apikey", re.IGNORECASE)
# Values shorter than this are not masked: masking "1" or "on" would garble every line.
_MIN_SECRET = 4
# Attributes every LogRecord has; anything else was passed with ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Libraries that log every request at INFO (with URLs that may carry tokens) or every job run.
_CHATTY = ("httpx", "httpcore", "apscheduler", "telegram", "aiosmtplib", "urllib3", "alembic")


def _walk(node: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(node, BaseModel):
        node = node.model_dump()
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _walk(value, str(name))
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value, key)
    else:
        yield key, node


def secret_values(settings: Settings) -> set[str]:
    """Every secret value in the settings: tokens, secrets, passwords, credentials in URLs."""
    found: set[str] = set()
    for key, value in _walk(settings):
        if value is None or isinstance(value, bool):
            continue
        text = str(value)
        if _SECRET_KEY.search(key):
            found.add(text)
        elif isinstance(value, str) and "://" in text:
            # user:password@host in database and SMTP URLs, tokens in query strings and in
            # webhook paths: what mask_url hides (bot.settings.redact), the same rule everywhere.
            found.update(url_secrets(text, paths=False))
    # Webhook URLs carry tokens in their path too (/services/T0/B0/XXXX).
    for webhook in settings.notify.webhooks:
        found.update(url_secrets(webhook.url))
    # Apprise URLs carry their credentials in the path (dingtalk://token/…): the whole URL is secret.
    for target in settings.notify.apprise:
        found.update(target.urls)
    return {value for value in found if len(value) >= _MIN_SECRET}


def secret_urls(settings: Settings) -> set[str]:
    """Every URL in the settings that ``mask_url`` would change: shown masked as a whole."""
    # Apprise URLs are secret whole (the "host" of dingtalk://token/ is the token): not here.
    apprise = {url for target in settings.notify.apprise for url in target.urls}
    webhooks = {webhook.url for webhook in settings.notify.webhooks}
    return {
        text
        for _, value in _walk(settings)
        if isinstance(value, str) and "://" in (text := value) and text not in apprise
        and url_secrets(text, paths=text in webhooks)  # something to hide (a public page URL stays as is)
    }


class SecretFilter(logging.Filter):
    """Replaces known secret values in the message, its arguments, extras and traceback.

    ``urls`` are replaced whole by their ``mask_url`` form (the host stays readable);
    other secrets by ``***``.
    """

    def __init__(self, secrets: Iterable[str], urls: Iterable[str] = ()) -> None:
        super().__init__()
        self._replacement = {url: mask_url(url) for url in urls if url}
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted({s for s in secrets if s} | set(self._replacement), key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def mask(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._replacement.get(match.group(0), MASK), text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set: format it here so the traceback is masked too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, self.mask(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and not name.startswith("_"):
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """``time level logger: message key=value…`` (extras appended so nothing is lost)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = [
            f"{name}={value}"
            for name, value in vars(record).items()
            if name not in _RECORD_FIELDS and not name.startswith("_")
        ]
        if extras:
            first, sep, rest = text.partition("\n")
            text = f"{first} {' '.join(extras)}{sep}{rest}"
        return text


_INSTALLED = "_cacwatch_handler"


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install the service's handler on the root logger (replacing one installed before)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.service.log_format == "json" else _TextFormatter())
    handler.addFilter(SecretFilter(secret_values(settings), secret_urls(settings)))
    setattr(handler, _INSTALLED, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _INSTALLED, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.service.log_level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
