"""Whether a delivery is due: the one outbox question an idle `check --once` asks.

Apart from ``storage.outbox_repo`` and the ORM models of the outbox, the webhook endpoints and
their attempt log, so that a cron run that stored nothing pays one indexed probe rather than
loading those (about 20 ms of every run's start-up; docs/benchmarks.md, "Cron"). The table is
described here as SQLAlchemy Core sees it, with the types the ORM model gives its columns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, column, or_, select, table
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import utcnow

__all__ = ["DeliveryState", "anything_due", "due_now"]


class DeliveryState:
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until locked_until; reclaimed after a crash
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the last retry, or a permanent error; retryable by command
    DISABLED = "disabled"  # the destination said 410 Gone


# storage.models_outbox.Delivery's table, the columns the probe reads (index ix_deliveries_due).
_DELIVERIES = table(
    "deliveries",
    column("id", Integer()),
    column("state", String(16)),
    column("next_attempt_at", DateTime(timezone=True)),
    column("locked_until", DateTime(timezone=True)),
)


def due_now(session: Session, now: datetime) -> bool:
    """Is any delivery due at ``now`` (pending and due, or in flight past its lease)?"""
    deliveries = _DELIVERIES.c
    due = or_(
        (deliveries.state == DeliveryState.PENDING) & (deliveries.next_attempt_at <= now),
        (deliveries.state == DeliveryState.SENDING) & (deliveries.locked_until < now),
    )
    return session.scalar(select(deliveries.id).where(due).limit(1)) is not None


def anything_due(db: Database) -> bool:
    """Is a delivery due now? Lets a one-shot run skip building its notifiers (Telegram's
    library, SMTP, Apprise) when there is nothing to send."""
    with db.session() as session:
        return due_now(session, utcnow())
