"""``cacwatch backup PATH``: a consistent copy of the store while it is in use.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database page by
page inside read transactions, so a poll writing meanwhile is either in the copy whole or not
at all (WAL included), and the service never stops. The copy is written beside the target
and renamed into place once ``PRAGMA integrity_check`` passes, so a failed backup never leaves
a half-written file under the name a restore would use.

PostgreSQL: ``pg_dump`` is the tool (consistent snapshot, restorable across versions);
``pg_dump_command`` gives the line to run, without the password (libpq reads it from
``PGPASSWORD`` or ``~/.pgpass``).
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import Database

__all__ = ["BackupError", "BackupResult", "backup_sqlite", "pg_dump_command", "pg_restore_command"]

_PAGES_PER_STEP = 1024  # between steps other connections may write: a long copy never blocks a poll


class BackupError(Exception):
    """The backup could not be made; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    pages: int


def backup_sqlite(db: Database, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the SQLite store of ``db`` to ``target`` (a new file unless ``overwrite``)."""
    if not db.is_sqlite:
        raise BackupError("not a SQLite store")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists (give another path, or --force to replace it)")
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give a file name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    source_file = Path(db.location)
    if source_file.exists() and target.exists() and source_file.samefile(target):
        raise BackupError(f"{target} is the store itself")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        with db.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            copy = sqlite3.connect(partial)
            try:
                raw.backup(copy, pages=_PAGES_PER_STEP)
                # The copy is a plain database file (no -wal beside it): a restore is one copy.
                copy.execute("PRAGMA journal_mode=DELETE")
                problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
                pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
            finally:
                copy.close()
        if problems != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {'; '.join(problems[:3])}")
        os.replace(partial, target)
    except sqlite3.Error as err:
        raise BackupError(f"SQLite: {err}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=target, bytes=target.stat().st_size, pages=pages)


def _libpq_url(url: str) -> str:
    """The database URL as libpq tools take it: no driver suffix, no password."""
    # URL.set() treats None as "unchanged": the password is dropped with the tuple's _replace.
    parsed = make_url(url).set(drivername="postgresql")._replace(password=None)
    return parsed.render_as_string(hide_password=False)


def pg_dump_command(url: str, target: Path) -> str:
    """The ``pg_dump`` line for a PostgreSQL store (custom format: compressed, pg_restore-able)."""
    return shlex.join(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)])


def pg_restore_command(url: str, source: Path) -> str:
    """The ``pg_restore`` line that puts such a dump back (into an empty database or schema)."""
    return shlex.join(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={_libpq_url(url)}", str(source)])
