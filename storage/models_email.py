"""Tables of the email notifier: digest subscribers. Migration: ``storage/migrations/versions/0004_email.py``.

A row is either a subscriber added with ``cacwatch subscribers add`` (``source = "cli"``:
its preferences are the truth) or a ``notify.email`` recipient's bookkeeping
(``source = "config"``: unsubscribe token and flag, last mail; preferences stay in config).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["EmailSubscriber"]


class EmailSubscriber(Base):
    __tablename__ = "email_subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)  # validated, lower-cased
    name: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="both")  # zh | en | both
    cadence: Mapped[str] = mapped_column(String(16), default="immediate")  # immediate | daily | weekly
    at: Mapped[str] = mapped_column(String(5), default="08:00")  # HH:MM in timezone
    weekday: Mapped[str] = mapped_column(String(10), default="monday")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    kinds: Mapped[list[Any]] = mapped_column(default=list)
    provinces: Mapped[list[Any]] = mapped_column(default=list)
    watchlist: Mapped[list[Any]] = mapped_column(default=list)
    watch_only: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(16), default="cli")  # cli | config
    # In List-Unsubscribe links (mailto subject and one-click URL): random, URL-safe.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
