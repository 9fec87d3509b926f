"""Tables of the telegram notifier: per-user watchlists, kind subscriptions, posted thread parts.

Migration: ``storage/migrations/versions/0003_telegram.py``. Chat ids are 64-bit in Telegram
(channels and supergroups are ``-100…``), hence BigInteger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["TelegramWatch", "TelegramSubscription", "TelegramPostedPart"]


class TelegramWatch(Base):
    """``/watch <company>``: a private alert when a matching filer gets a filing, a change or a cancellation."""

    __tablename__ = "telegram_watches"
    __table_args__ = (UniqueConstraint("chat_id", "pattern", name="uq_telegram_watches_chat_pattern"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    pattern: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TelegramSubscription(Base):
    """``/subscribe <kind>``: the channel summary of every list of that kind, in private."""

    __tablename__ = "telegram_subscriptions"
    __table_args__ = (UniqueConstraint("chat_id", "kind", name="uq_telegram_subscriptions_chat_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a Kind value, or "all"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TelegramPostedPart(Base):
    """One post of a delivery's thread that Telegram accepted.

    A thread (chart + several texts) can fail midway (429, network); the retry of the same
    delivery skips what is recorded here instead of posting it twice.
    """

    __tablename__ = "telegram_posted_parts"
    __table_args__ = (Index("ix_telegram_posted_parts_posted_at", "posted_at"),)

    delivery_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    part_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
