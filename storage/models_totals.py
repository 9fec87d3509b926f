"""Cumulative totals CAC states in its announcements (migration 0012).

``截至2026年6月30日，共有988款生成式人工智能服务…完成备案，598款…完成登记``: one row per
announcement and date, kept as read, so that every GenAI list can be reconciled with what
CAC says (``storage.totals_repo``) and ``cacwatch status`` can show the proof.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["StatedTotal"]


class StatedTotal(Base):
    __tablename__ = "stated_totals"
    __table_args__ = (UniqueConstraint("kind", "source_url", "as_of", name="uq_stated_totals_source_as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD
    filed: Mapped[int] = mapped_column(Integer)  # 完成备案
    registered: Mapped[int | None] = mapped_column(Integer)  # 完成登记; None when not stated
    source_url: Mapped[str] = mapped_column(String(1000))  # the announcement that states them
    title: Mapped[str] = mapped_column(Text, default="")
    published_on: Mapped[str | None] = mapped_column(String(10))
    # Attachment keys the announcement links: the lists it announced.
    links: Mapped[list[Any]] = mapped_column(default=list)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
