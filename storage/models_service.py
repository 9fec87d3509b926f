"""Tables of the long-running service: operator-alert incidents.

Migration: ``storage/migrations/versions/0005_service.py``.

An incident is one stretch of trouble with one thing (a source failing, a list that no
longer parses): it is opened once, announced once, closed once and its recovery announced
once, whatever the number of polls and instances in between. The partial unique index
allows at most one *open* incident per key, so two instances can never open the same one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["Incident"]


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # Partial: unique among OPEN incidents only (``WHERE closed_at IS NULL`` on both
        # databases), as 0005_service creates it; tests/test_alerts.py checks the database
        # enforces exactly that. The predicate is not repeated here as ``sqlite_where`` /
        # ``postgresql_where``: those make SQLAlchemy import the PostgreSQL dialect with this
        # model (~0.05 s of every cron run on SQLite), and nothing creates tables from models.
        Index("uq_incidents_open_key", "key", unique=True, info={"where": "closed_at IS NULL"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500), index=True)  # "source:cac", "list:<attachment>"
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message: Mapped[str] = mapped_column(Text, default="")
    # Set once the alert (recovery) message went out; retried at the next poll until then.
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recovery_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed polls, last seen
