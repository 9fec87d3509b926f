"""Webhook endpoints made in the browser or the API, and the log of every webhook attempt.

Migration: ``storage/migrations/versions/0019_webhook_endpoints.py``.

``webhook_endpoints``: one row per self-service endpoint (``endpoint:<id>`` in the outbox). The
signing secret must be kept to sign (it is shown once, at creation or rotation); during a
rotation the previous one keeps signing alongside until ``previous_valid_until``.
``owner_user_id`` is the member's account id (no foreign key: a removed account leaves its
endpoints to the operator); None is the operator's.

``delivery_attempts``: every attempt to any webhook destination (config ones included), kept
for a bounded time and count per destination (``storage.endpoints_repo``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["WebhookEndpoint", "DeliveryAttempt"]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Filters: None = every event type / kind; an empty watchlist = no watchlist filter.
    events: Mapped[list[Any] | None] = mapped_column()
    kinds: Mapped[list[Any] | None] = mapped_column()
    watchlist: Mapped[list[Any]] = mapped_column()
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_destination", "destination", "id"), Index("ix_delivery_attempts_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(500))
    delivery_pk: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(80))
    event_type: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | retry | dead | disabled
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
