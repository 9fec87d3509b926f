"""Tables of the read side's own: secrets generated once per installation.

Migration: ``storage/migrations/versions/0013_web_secrets.py``.

``web_secrets`` holds keys the web app signs with (the keyset cursors of the API and the
search page): made at random by the first process that needs one and shared, through the
database, by every process serving the same store, so a cursor from one instance is good on
another and none can be forged from the source code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

__all__ = ["WebSecret"]


class WebSecret(Base):
    __tablename__ = "web_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # "cursor"
    secret: Mapped[str] = mapped_column(String(128))  # hex of random bytes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
