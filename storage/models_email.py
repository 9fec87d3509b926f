"""Tables of the email notifier: digest subscribers. Migrations: ``storage/migrations/versions/0004_email.py``,
``0018_self_service_subscriptions.py``.

A row is a subscriber added with ``cacwatch subscribers add`` (``source = "cli"``), one signed up
in the browser or through the API (``source = "web"``: the preferences are the truth for both),
or a ``notify.email`` recipient's bookkeeping (``source = "config"``: unsubscribe token and flag,
last mail; preferences stay in config).

Double opt-in: a self-service row is ``pending`` until its emailed confirmation link is followed;
nothing but that one mail goes to a pending address. CLI and config rows are ``active``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import secrets

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["EmailSubscriber"]


def _new_manage_token() -> str:
    return secrets.token_urlsafe(24)


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
    # Self-service (0018): pending | active; the SHA-256 (hex) of the emailed confirmation token
    # and its expiry; the preferences link's token (in every digest, so stored as is, like
    # ``token``); the account that made it (no foreign key); the brief attached (None: the
    # notify.email default); self-service mails to the address in the current hour.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    confirm_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    confirm_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    manage_token: Mapped[str | None] = mapped_column(String(64), unique=True, index=True, default=_new_manage_token)
    owner_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    attach_brief: Mapped[bool | None] = mapped_column(Boolean)
    mails_window_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mails_in_window: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
