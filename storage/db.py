"""Engine and session factory; migrations applied with Alembic on open.

SQLite gets WAL (readers never block the single writer) and enforced foreign keys;
PostgreSQL is used through psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

# ``Session`` is re-exported as the handle of one transaction: the application passes it to
# the repositories (and notifiers pass it on to theirs) without speaking SQL itself.
__all__ = ["Database", "Session", "StoreState", "normalize_url"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# What a read finds: no store yet, one at the newest revision, or one an upgrade would change.
StoreState = Literal["missing", "current", "behind"]


class Database:
    """One database: engine, sessions, migrations.

    ``create=False`` opens a store for reading: nothing is made on disk (no folder, no SQLite
    file); ask ``state()`` before reading.
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._file: Path | None = None
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            self._file = Path(parsed.database)
            if create:
                self._file.parent.mkdir(parents=True, exist_ok=True)
        self._location = str(self._file.absolute()) if self._file is not None else self._server_location(parsed)
        self.engine: Engine = create_engine(self.url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _enable_sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @staticmethod
    def _server_location(parsed: URL) -> str:
        # host:port/database only: never the user, password or query (options, passwords).
        host = parsed.host or "localhost"
        port = f":{parsed.port}" if parsed.port else ""
        return f"{parsed.get_backend_name()}://{host}{port}/{parsed.database or ''}"

    @property
    def location(self) -> str:
        """Where the store is, safe to print: a SQLite file path or ``postgresql://host:port/db``."""
        return self._location

    def state(self) -> StoreState:
        """Whether the store exists and is at the newest revision, without creating or changing it."""
        if self._file is not None and not self._file.exists():
            return "missing"  # connecting would create the file
        heads = set(ScriptDirectory(str(_MIGRATIONS)).get_heads())
        with self.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        if not current:
            return "missing"
        return "current" if current == heads else "behind"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")  # notifier tables are sibling branches

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
