"""What the CLI's command modules share: the ``--config`` state, settings, database, errors.

``cli`` (the root app) and ``cli_email`` (sub-apps) both import from here, never from each other.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.app.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from storage.db import Database

__all__ = ["state", "fail", "settings", "database"]


class _State:
    config_path: Path | None = None
    explicit: bool = False


state = _State()


def fail(message: str, code: int = 1) -> typer.Exit:
    # One line on stderr: scripts and cron mails show it as is.
    print(f"cacwatch: {message}", file=sys.stderr)
    return typer.Exit(code)


def settings() -> Settings:
    path = state.config_path
    if path is not None and not state.explicit and not path.exists():
        path = None  # no ./config.yaml: built-in defaults
    try:
        return load_settings(path)
    except ConfigError as err:
        raise fail(f"configuration error: {err}", 2) from None


def database(settings: Settings) -> "Database":
    # Imported here: commands that need no database (``--help``, ``config``) skip SQLAlchemy.
    from storage.db import Database

    from bot.app.redact import mask_url, mask_urls_in

    url = settings.database.url
    try:
        db = Database(url)
    except Exception as err:  # noqa: BLE001 - a malformed URL (SQLAlchemy's ArgumentError …): one line
        raise fail(f"database {mask_url(url)}: not a usable database URL ({err.__class__.__name__})", 2) from None
    try:
        db.migrate()
    except Exception as err:  # noqa: BLE001 - any driver error is reported the same way
        # Driver messages may quote the URL or its parameters: masked like every URL shown.
        detail = " ".join(mask_urls_in(str(err)).split())[:300]
        raise fail(f"database {mask_url(url)}: {err.__class__.__name__}: {detail}") from None
    return db


