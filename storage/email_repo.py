"""The ``email_subscribers`` table: subscribers added by the CLI, and the rows config recipients
get for their unsubscribe token, flag and send history.

Validation and the merge with config.yaml are ``bot.delivery.email.subscribers``, the
self-service rules (double opt-in, who may see what) ``bot.delivery.email.selfservice``; this
module only reads and writes rows. Tokens are random, URL-safe (``secrets.token_urlsafe``);
a confirmation token is kept only as its SHA-256.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
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
    attach_brief: bool | None = None  # None: the notify.email default


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; naive means UTC in this project.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


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
        self._apply(row, fields)
        row.source = "cli"
        row.unsubscribed = False
        row.unsubscribed_at = None
        # The operator vouches for a CLI subscriber: no confirmation needed (a pending sign-up
        # of the same address becomes active).
        row.status = "active"
        row.confirm_hash = None
        row.confirm_expires_at = None
        self.session.flush()
        return row, created

    # --- self-service (double opt-in) ----------------------------------------------------------

    def by_id(self, row_id: int) -> EmailSubscriber | None:
        return self.session.get(EmailSubscriber, row_id)

    def by_manage_token(self, token: str) -> EmailSubscriber | None:
        return self.session.scalar(select(EmailSubscriber).where(EmailSubscriber.manage_token == token))

    def by_confirm_hash(self, digest: str) -> EmailSubscriber | None:
        return self.session.scalar(select(EmailSubscriber).where(EmailSubscriber.confirm_hash == digest))

    def subscriptions(self, owner_user_id: int | None = None, *, everyone: bool = False) -> list[EmailSubscriber]:
        """Subscriptions (not config bookkeeping rows) in id order: all of them with ``everyone``,
        else those owned by ``owner_user_id``."""
        stmt = select(EmailSubscriber).where(EmailSubscriber.source != "config")
        if not everyone:
            stmt = stmt.where(EmailSubscriber.owner_user_id == owner_user_id)
        return list(self.session.scalars(stmt.order_by(EmailSubscriber.id)))

    def save_pending(
        self,
        address: str,
        fields: SubscriberFields,
        *,
        owner_user_id: int | None,
        confirm_hash: str,
        expires_at: datetime,
    ) -> EmailSubscriber:
        """The address's row (made or reused) as a pending self-service sign-up with these
        preferences and confirmation; a concurrent insert of the address wins and is reused."""
        row = self.by_address(address)
        if row is None:
            try:
                with self.session.begin_nested():
                    row = EmailSubscriber(address=address, token=new_token(), source="web", status="pending")
                    self.session.add(row)
            except IntegrityError:
                row = self.by_address(address)
                if row is None:
                    raise
        self._apply(row, fields)
        row.source = "web"
        row.status = "pending"
        row.unsubscribed = False
        row.unsubscribed_at = None
        row.owner_user_id = owner_user_id
        row.confirm_hash = confirm_hash
        row.confirm_expires_at = expires_at
        self.session.flush()
        return row

    def update_preferences(self, row: EmailSubscriber, fields: SubscriberFields) -> None:
        self._apply(row, fields)
        self.session.flush()

    @staticmethod
    def _apply(row: EmailSubscriber, fields: SubscriberFields) -> None:
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
        row.attach_brief = fields.attach_brief

    def activate(self, row: EmailSubscriber) -> None:
        """Confirmed: active, subscribed, the confirmation token spent."""
        row.status = "active"
        row.unsubscribed = False
        row.unsubscribed_at = None
        row.confirm_hash = None
        row.confirm_expires_at = None
        if not row.manage_token:
            row.manage_token = new_token()
        self.session.flush()

    def set_unsubscribed(self, row: EmailSubscriber, unsubscribed: bool) -> None:
        if bool(row.unsubscribed) != unsubscribed:
            row.unsubscribed = unsubscribed
            row.unsubscribed_at = datetime.now(timezone.utc) if unsubscribed else None
            self.session.flush()

    def delete_row(self, row: EmailSubscriber) -> None:
        self.session.delete(row)
        self.session.flush()

    def take_mail_slot(self, row: EmailSubscriber, now: datetime, *, limit: int, window: timedelta) -> bool:
        """Count one self-service mail to the row's address in the current window; False (and
        nothing counted) when ``limit`` were already sent in it."""
        if row.mails_window_at is None or _utc(row.mails_window_at) <= now - window:
            row.mails_window_at = now
            row.mails_in_window = 0
        if (row.mails_in_window or 0) >= limit:
            return False
        row.mails_in_window = (row.mails_in_window or 0) + 1
        self.session.flush()
        return True

    def drop_expired_pending(self, before: datetime) -> int:
        """Forget sign-ups never confirmed whose link expired before ``before``; how many."""
        result = self.session.execute(
            delete(EmailSubscriber).where(
                EmailSubscriber.status == "pending",
                EmailSubscriber.confirm_expires_at.is_not(None),
                EmailSubscriber.confirm_expires_at < before,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

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
