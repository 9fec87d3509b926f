"""What the long-running service asks the database: source health, incidents, leadership.

- source health: consecutive failures (the poll back-off, operator alerts), the newest
  success (``/readyz``);
- incidents (``models_service.Incident``): opened, updated, closed and announced once each;
- leadership on PostgreSQL: a session-level advisory lock held on a connection of its own
  (``AdvisoryLock``), and who holds it (``advisory_lock_holder``, for ``cacwatch status``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Source
from storage.models_service import Incident

__all__ = [
    "ServiceRepository",
    "IncidentState",
    "DueIncident",
    "last_success",
    "database_file",
    "lock_key",
    "LOCK_NAME",
    "AdvisoryLock",
    "advisory_lock_holder",
]

LOCK_NAME = "cacwatch:scheduler"


@dataclass(frozen=True, slots=True)
class IncidentState:
    """An open incident as the alerter sees it."""

    key: str
    failures: int


@dataclass(frozen=True, slots=True)
class DueIncident:
    """An incident whose opening (``closed_at`` None) or recovery is still to be announced."""

    id: int
    key: str
    opened_at: datetime
    closed_at: datetime | None
    last_message: str


class ServiceRepository:
    """Source health and incidents within one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def consecutive_failures(self, source_name: str) -> int:
        source = self.session.scalar(select(Source).where(Source.name == source_name))
        return source.consecutive_failures if source is not None else 0

    def last_revalidated_at(self, source_name: str) -> datetime | None:
        """When the long polling tier (every known attachment re-checked) last succeeded."""
        value = self.session.scalar(select(Source.last_revalidated_at).where(Source.name == source_name))
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value

    # --- incidents -------------------------------------------------------------------

    def open_incidents(self) -> dict[str, IncidentState]:
        rows = self.session.scalars(select(Incident).where(Incident.closed_at.is_(None)))
        return {row.key: IncidentState(row.key, row.failures) for row in rows}

    def open_incident(self, key: str, message: str, failures: int, *, at: datetime) -> None:
        """Open the incident ``key``, or update the one already open (message, failures)."""
        row = self._open(key)
        if row is None:
            self.session.add(Incident(key=key, opened_at=at, last_message=message, failures=failures))
        else:
            row.last_message, row.failures = message, failures

    def close_incident(self, key: str, *, at: datetime) -> None:
        row = self._open(key)
        if row is not None:
            row.closed_at = at

    def _open(self, key: str) -> Incident | None:
        return self.session.scalar(select(Incident).where(Incident.key == key, Incident.closed_at.is_(None)))

    def due_incidents(self) -> list[DueIncident]:
        """Openings not yet announced, and recoveries of announced incidents not yet announced."""
        rows = self.session.scalars(
            select(Incident)
            .where(
                (Incident.closed_at.is_(None) & Incident.notified_at.is_(None))
                | (
                    Incident.closed_at.is_not(None)
                    & Incident.notified_at.is_not(None)
                    & Incident.recovery_notified_at.is_(None)
                )
            )
            .order_by(Incident.id)
        )
        return [DueIncident(r.id, r.key, r.opened_at, r.closed_at, r.last_message) for r in rows]

    def mark_incident_announced(self, incident_id: int, *, recovery: bool, at: datetime) -> None:
        row = self.session.get(Incident, incident_id)
        if row is None:
            return
        if recovery:
            row.recovery_notified_at = at
        else:
            row.notified_at = at


def last_success(db: Database) -> datetime | None:
    """The newest successful poll of any source (UTC); raises when the database is unreachable."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        value = conn.execute(select(func.max(Source.last_success_at))).scalar()
    if isinstance(value, str):  # SQLite may hand back the text of an aggregate
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value if isinstance(value, datetime) or value is None else None


# --- leadership ---------------------------------------------------------------------------


def database_file(db: Database) -> str | None:
    """The SQLite database's file name (None for PostgreSQL or an in-memory database)."""
    name = make_url(db.url).database
    if not db.is_sqlite or not name or name == ":memory:":
        return None
    return name


def lock_key(database: str, schema: str) -> int:
    """A signed 64-bit advisory-lock key per database and schema (several deployments, or test
    schemas, can share one PostgreSQL database without electing one leader between them)."""
    digest = hashlib.sha256(f"{LOCK_NAME}:{database}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _conninfo(db: Database) -> str:
    # The SQLAlchemy URL minus the driver suffix is a libpq URI (options=-csearch_path… included).
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a dedicated autocommit connection (psycopg, async).

    The lock lives as long as the connection's session: closing the connection (or the
    process dying) releases it at once.
    """

    def __init__(self, db: Database, *, application_name: str, connect_timeout: float) -> None:
        self._db = db
        self._application_name = application_name[:63]
        self._connect_timeout = connect_timeout
        self._conn: Any = None  # psycopg.AsyncConnection
        self.key: int | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    async def connect(self) -> None:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(
            _conninfo(self._db),
            autocommit=True,
            connect_timeout=max(1, int(self._connect_timeout)),
            # Shown in pg_stat_activity: `cacwatch status` names the leader with it.
            application_name=self._application_name,
            # A half-open connection (network gone, leader alive) is noticed within ~10 s.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )
        cursor = await conn.execute("SELECT current_database(), current_schema()")
        row = await cursor.fetchone()
        assert row is not None
        database, schema = row
        self.key = lock_key(database, schema or "public")
        self._conn = conn

    async def try_lock(self) -> bool:
        cursor = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def ping(self) -> None:
        """Raises when the session (and with it the lock) may be gone."""
        await self._conn.execute("SELECT 1")

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


def advisory_lock_holder(db: Database) -> tuple[str | None, str | None] | None:
    """(application name, client address) of the session holding this schema's lock, if any."""
    with db.engine.connect() as conn:
        database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
        key = lock_key(database, schema or "public")
        # A bigint advisory key shows in pg_locks as classid (high 32 bits), objid (low), objsubid 1.
        row = conn.execute(
            text(
                "SELECT a.application_name, a.client_addr FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid::bigint = :high AND l.objid::bigint = :low"
            ),
            {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
        ).first()
    if row is None:
        return None
    name, address = row
    return (name, str(address) if address is not None else None)
