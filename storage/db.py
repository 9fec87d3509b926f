"""Engine and session factory; migrations applied with Alembic on open.

SQLite gets WAL (readers never block the single writer) and enforced foreign keys;
PostgreSQL is used through psycopg 3.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, create_engine, event, inspect, text
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


# ``revision = "…"`` / ``down_revision = …`` on a line of their own, as Alembic writes them.
_ASSIGNED = re.compile(r"^(revision|down_revision)[ \t]*=[ \t]*(.+?)[ \t]*$", re.MULTILINE)


def _assignments(source: str) -> dict[str, object]:
    """The module's top-level ``revision`` and ``down_revision``. Read from their lines when
    each is a literal on one line (parsing every migration file took ~0.02 s of every start);
    otherwise from the module's syntax tree. Raises SyntaxError or ValueError if unreadable."""
    found: dict[str, object] = {}
    try:
        for name, value in _ASSIGNED.findall(source):
            found[name] = ast.literal_eval(value)
    except (SyntaxError, ValueError):
        found = {}
    if "revision" in found:
        return found
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("revision", "down_revision"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def _head_revisions() -> set[str]:
    """The revisions no other revision builds on, read from the migration files' assignments
    (``revision = …``, ``down_revision = …``) without importing Alembic. Empty if unreadable."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        try:
            values = _assignments(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            return set()
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return set()
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else list(down) if isinstance(down, (tuple, list)) else [])
    return revisions - parents


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
        """Whether the store exists and is at the newest revision, without creating or changing it
        (and without importing Alembic: the revisions are read as ``migrate`` reads them)."""
        if self._file is not None and not self._file.exists():
            return "missing"  # connecting would create the file
        current = self._stored_revisions()
        if not current:
            return "missing"
        return "current" if current == _head_revisions() else "behind"

    def _stored_revisions(self) -> set[str]:
        """The revisions recorded in the database (empty: never migrated)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return set()
            return {str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))}

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        if self._at_heads():
            return  # the common case: no need to import Alembic (~0.2 s, ~11 MB) at every start
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")  # notifier tables are sibling branches

    def _at_heads(self) -> bool:
        """Whether the database is already at every head revision of ``migrations/versions``."""
        heads = _head_revisions()
        return bool(heads) and self._stored_revisions() == heads

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
