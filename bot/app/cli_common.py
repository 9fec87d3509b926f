"""What the CLI's command modules share: the ``--config`` state, settings, database, errors.

``cli`` (the root app) and ``cli_email`` (sub-apps) both import from here, never from each other.

Two kinds of command open the store differently:

- *writes* (``check``, ``run``, ``migrate``, ``subscribers add``…) create the store if needed
  and bring its schema up to date;
- *reads* (``status``, ``stats``, ``export``, ``deliveries``, ``subscribers list``) never create
  or migrate anything and need no notifier secrets: no store → one line saying how to make one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from bot.settings.config import Settings
    from storage.db import Database

__all__ = ["state", "fail", "settings", "settings_loader", "database", "read_database", "console"]

# Wide enough for any table row: off a terminal nothing is wrapped or folded per column.
_PLAIN_WIDTH = 1000


class _State:
    config_path: Path | None = None
    explicit: bool = False


state = _State()


def fail(message: str, code: int = 1) -> typer.Exit:
    # One line on stderr: scripts and cron mails show it as is.
    print(f"cacwatch: {message}", file=sys.stderr)
    return typer.Exit(code)


def console() -> "Console":
    """stdout for tables: a terminal's width on a terminal; otherwise (a pipe, ``docker exec``
    without ``-t``, cron) a wide plain layout, so columns are never folded to one letter."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(width=_PLAIN_WIDTH, color_system=None, soft_wrap=True)


def _config_path() -> Path | None:
    path = state.config_path
    if path is not None and not state.explicit and not path.exists():
        path = None  # no ./config.yaml: built-in defaults
    return path


def settings_loader() -> "Callable[[], Settings]":
    """Reads ``--config`` again when called (SIGHUP); raises ``ConfigError`` or ``OSError``."""
    from bot.settings.config import load_settings

    path = _config_path()
    return lambda: load_settings(path)


def settings(*, for_reading: bool = False) -> "Settings":
    """The settings of ``--config``; ``for_reading`` lets notifier secrets be unset."""
    # Imported here: pydantic and every source's settings (bs4, httpx …) are for commands
    # that read a configuration, not for ``--help``.
    from bot.settings.config import ConfigError, load_settings

    path = _config_path()
    try:
        return load_settings(path, for_reading=for_reading)
    except ConfigError as err:
        raise fail(f"configuration error: {err}", 2) from None


def _open(url: str, *, create: bool) -> "Database":
    # Imported here: commands that need no database (``--help``, ``config``) skip SQLAlchemy.
    from storage.db import Database

    from bot.settings.redact import mask_url

    try:
        return Database(url, create=create)
    except Exception as err:  # noqa: BLE001 - a malformed URL (SQLAlchemy's ArgumentError …): one line
        raise fail(f"database {mask_url(url)}: not a usable database URL ({err.__class__.__name__})", 2) from None


def _driver_failure(db: "Database", err: Exception) -> typer.Exit:
    from bot.settings.redact import mask_urls_in

    db.dispose()
    # Driver messages may quote the URL or its parameters: masked like every URL shown.
    detail = " ".join(mask_urls_in(str(err)).split())[:300]
    return fail(f"database {db.location}: {err.__class__.__name__}: {detail}")


def database(settings: "Settings") -> "Database":
    """The store for a command that writes: created if missing, migrated to the newest schema."""
    db = _open(settings.database.url, create=True)
    try:
        db.migrate()
    except Exception as err:  # noqa: BLE001 - any driver error is reported the same way
        raise _driver_failure(db, err) from None
    return db


def read_database(settings: "Settings") -> "Database":
    """The store for a command that only reads: never created, never migrated."""
    db = _open(settings.database.url, create=False)
    try:
        found = db.state()
    except Exception as err:  # noqa: BLE001 - any driver error is reported the same way
        raise _driver_failure(db, err) from None
    if found == "missing":
        db.dispose()
        if not db.is_sqlite:
            # The server and the database exist (we connected): only the schema is missing.
            raise fail(f"the database {db.location} has no cacwatch schema yet: run `cacwatch migrate` (or `cacwatch check --once`, which also ingests)")
        raise fail(f"no store at {db.location}: run `cacwatch check --once` to make one")
    if found == "behind":
        db.dispose()
        raise fail(f"the store at {db.location} is from an older cacwatch: run `cacwatch migrate` first")
    return db
