"""The ``email_subscribers`` table: subscribers added by the CLI, and the rows config recipients
get for their unsubscribe token, flag and send history.

Validation and the merge with config.yaml are ``bot.delivery.email.subscribers``; this
module only reads and writes rows. Tokens are random, URL-safe (``secrets.token_urlsafe``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models_email import EmailSubscriber

__all__ = ["EmailRepository", "SubscriberFields", "new_token"]


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class SubscriberFields:
    """A CLI subscriber's preferences, already validated and cleaned by the caller."""

    name: str
    language: str
    cadence: str
    at: str
    weekday: str
    timezone: str
    kinds: list[str]
    provinces: list[str]
    watchlist: list[str]
    watch_only: bool


class EmailRepository:
    """Subscriber rows within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self) -> list[EmailSubscriber]:
        return list(self.session.scalars(select(EmailSubscriber).order_by(EmailSubscriber.id)))

    def by_address(self, address: str) -> EmailSubscriber | None:
        return self.session.scalar(select(EmailSubscriber).where(EmailSubscriber.address == address))

    def save_cli_subscriber(self, address: str, fields: SubscriberFields) -> tuple[EmailSubscriber, bool]:
        """Insert or update ``address`` as a CLI subscriber (re-adding re-subscribes); (row, created)."""
        row = self.by_address(address)
        created = row is None
        if row is None:
            row = EmailSubscriber(address=address, token=new_token())
            self.session.add(row)
        row.name = fields.name
        row.language = fields.language
        row.cadence = fields.cadence
        row.at = fields.at
        row.weekday = fields.weekday
        row.timezone = fields.timezone
        row.kinds = list(fields.kinds)
        row.provinces = list(fields.provinces)
        row.watchlist = list(fields.watchlist)
        row.watch_only = fields.watch_only
        row.source = "cli"
        row.unsubscribed = False
        row.unsubscribed_at = None
        self.session.flush()
        return row, created

    def unsubscribe_configured(self, address: str) -> bool:
        """Keep a row marked unsubscribed for a config.yaml address; False when it already was."""
        row = self.by_address(address)
        if row is None:
            row = EmailSubscriber(address=address, token=new_token(), source="config")
            self.session.add(row)
        elif row.unsubscribed and row.source == "config":
            return False
        row.source = "config"
        row.unsubscribed = True
        row.unsubscribed_at = datetime.now(timezone.utc)
        self.session.flush()
        return True

    def delete(self, address: str) -> bool:
        row = self.by_address(address)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def address_for_token(self, token: str) -> tuple[str, bool] | None:
        """(address, already unsubscribed) of the token's subscriber, or None; changes nothing."""
        row = self.session.scalar(select(EmailSubscriber).where(EmailSubscriber.token == token))
        return None if row is None else (row.address, bool(row.unsubscribed))

    def unsubscribe_token(self, token: str) -> str | None:
        """Mark the token's subscriber unsubscribed; its address, or None for an unknown token."""
        row = self.session.scalar(select(EmailSubscriber).where(EmailSubscriber.token == token))
        if row is None:
            return None
        if not row.unsubscribed:
            row.unsubscribed = True
            row.unsubscribed_at = datetime.now(timezone.utc)
        return row.address

    def ensure_row(self, address: str) -> EmailSubscriber:
        """The address's row, created (source config) if missing; a concurrent insert wins and is read back."""
        row = self.by_address(address)
        if row is None:
            try:
                with self.session.begin_nested():
                    row = EmailSubscriber(address=address, token=new_token(), source="config")
                    self.session.add(row)
            except IntegrityError:
                row = self.by_address(address)
                if row is None:
                    raise
        return row

    def record_sent(self, address: str, when: datetime, *, heartbeat: bool) -> None:
        row = self.by_address(address)
        if row is None:
            row = EmailSubscriber(address=address, token=new_token(), source="config")
            self.session.add(row)
        if heartbeat:
            row.last_heartbeat_at = when
        else:
            row.last_sent_at = when
