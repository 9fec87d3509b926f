"""Accounts of the self-service side: users, sign-in sessions, personal API tokens.

Rows only: the password policy and Argon2id hashing, token making and the rules of who may do
what are ``bot.web.users``. Secrets arrive here already hashed (an Argon2id string for a
password, the SHA-256 hex of a random session or API token) and never leave in the clear.
Records handed up are typed (``Account``, ``TokenInfo``, ``Identity``), never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models_accounts import ApiToken, User, UserSession

__all__ = ["AccountsRepository", "Account", "TokenInfo", "Identity", "AccountExists"]

_Held = TypeVar("_Held", UserSession, ApiToken)

# A session's last_seen_at / a token's last_used_at is written at most this often (not on every request).
_TOUCH_EVERY = timedelta(seconds=60)


class AccountExists(ValueError):
    """An account with this email already exists."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    name: str
    role: str
    disabled: bool
    has_password: bool
    created_at: datetime
    last_sign_in_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid session or token belongs to."""

    user_id: int
    email: str
    name: str
    role: str


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back (stored as UTC).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _account(row: User) -> Account:
    return Account(
        id=row.id, email=row.email, name=row.name, role=row.role, disabled=bool(row.disabled),
        has_password=row.password_hash is not None, created_at=_aware(row.created_at) or row.created_at,
        last_sign_in_at=_aware(row.last_sign_in_at),
    )


def _token(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id, user_id=row.user_id, name=row.name, prefix=row.prefix,
        created_at=_aware(row.created_at) or row.created_at, last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _identity(row: User) -> Identity:
    return Identity(user_id=row.id, email=row.email, name=row.name, role=row.role)


class AccountsRepository:
    """Account rows within the caller's session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- users ---------------------------------------------------------------------------------

    def add_user(self, email: str, *, name: str, role: str, password_hash: str | None) -> Account:
        """A new account (``email`` already lower-cased by the caller); AccountExists when taken."""
        if self.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise AccountExists(f"an account for {email} already exists")
        row = User(email=email, name=name, role=role, password_hash=password_hash, disabled=False)
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:  # made at the same moment by another process
            raise AccountExists(f"an account for {email} already exists") from None
        return _account(row)

    def users(self) -> list[Account]:
        return [_account(row) for row in self.session.scalars(select(User).order_by(User.id))]

    def user(self, user_id: int) -> Account | None:
        row = self.session.get(User, user_id)
        return None if row is None else _account(row)

    def user_by_email(self, email: str) -> Account | None:
        row = self.session.scalar(select(User).where(User.email == email))
        return None if row is None else _account(row)

    def sign_in_record(self, email: str) -> tuple[Account, str | None] | None:
        """The account and its password hash, for checking a sign-in; None when unknown."""
        row = self.session.scalar(select(User).where(User.email == email))
        return None if row is None else (_account(row), row.password_hash)

    def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        row = self.session.get(User, user_id)
        if row is None:
            return False
        row.password_hash = password_hash
        row.updated_at = datetime.now(timezone.utc)
        self.session.flush()
        return True

    def set_disabled(self, user_id: int, disabled: bool) -> Account | None:
        """Disable (or enable) an account; disabling also ends its sessions. None when unknown."""
        row = self.session.get(User, user_id)
        if row is None:
            return None
        row.disabled = disabled
        row.updated_at = datetime.now(timezone.utc)
        if disabled:
            self.session.execute(delete(UserSession).where(UserSession.user_id == user_id))
        self.session.flush()
        return _account(row)

    def operator_count(self) -> int:
        """Enabled accounts with the operator role."""
        found = self.session.scalar(select(func.count()).select_from(User).where(User.role == "operator", User.disabled.is_(False)))
        return int(found or 0)

    def _held_by(self, model: type[_Held], token_hash: str) -> tuple[_Held, User] | None:
        """The session or token row with this hash, and its account."""
        found = self.session.execute(select(model, User).join(User, User.id == model.user_id).where(model.token_hash == token_hash)).first()
        return None if found is None else (found[0], found[1])

    # --- sessions ------------------------------------------------------------------------------

    def start_session(self, user_id: int, token_hash: str, *, now: datetime, lifetime: timedelta) -> None:
        self.session.add(UserSession(user_id=user_id, token_hash=token_hash, created_at=now, last_seen_at=now, expires_at=now + lifetime))
        row = self.session.get(User, user_id)
        if row is not None:
            row.last_sign_in_at = now
        # Ended sessions are not kept: sweep this account's (and everyone's expired) rows.
        self.session.execute(delete(UserSession).where(UserSession.expires_at < now))
        self.session.flush()

    def end_session(self, token_hash: str) -> bool:
        result = self.session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))
        return bool(getattr(result, "rowcount", 0))

    def end_sessions_of(self, user_id: int) -> int:
        result = self.session.execute(delete(UserSession).where(UserSession.user_id == user_id))
        return int(getattr(result, "rowcount", 0) or 0)

    def session_identity(self, token_hash: str, *, now: datetime, idle: timedelta) -> Identity | None:
        """The account of a live session (not expired, not idle too long, account enabled);
        marks it seen. An expired or idle session is removed."""
        found = self._held_by(UserSession, token_hash)
        if found is None:
            return None
        row, user = found
        expires, seen = _aware(row.expires_at), _aware(row.last_seen_at)
        assert expires is not None and seen is not None
        if expires <= now or seen + idle <= now:
            self.session.delete(row)
            self.session.flush()
            return None
        if user.disabled:
            return None
        if now - seen >= _TOUCH_EVERY:
            row.last_seen_at = now
            self.session.flush()
        return _identity(user)

    # --- API tokens ----------------------------------------------------------------------------

    def add_token(self, user_id: int, *, name: str, prefix: str, token_hash: str) -> TokenInfo:
        row = ApiToken(user_id=user_id, name=name, prefix=prefix, token_hash=token_hash)
        self.session.add(row)
        self.session.flush()
        return _token(row)

    def live_token_count(self, user_id: int) -> int:
        found = self.session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        )
        return int(found or 0)

    def tokens_of(self, user_id: int) -> list[TokenInfo]:
        """Every token of the account, newest first, revoked ones included (marked)."""
        rows = self.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc()))
        return [_token(row) for row in rows]

    def revoke_token(self, user_id: int, token_id: int, *, now: datetime) -> bool:
        """Revoke one of the account's own tokens; False when it has no such live token."""
        result = self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    def token_identity(self, token_hash: str, *, now: datetime) -> Identity | None:
        """The account of a live (not revoked) token of an enabled account; marks it used."""
        found = self._held_by(ApiToken, token_hash)
        if found is None:
            return None
        row, user = found
        if row.revoked_at is not None or user.disabled:
            return None
        used = _aware(row.last_used_at)
        if used is None or now - used >= _TOUCH_EVERY:
            row.last_used_at = now
            self.session.flush()
        return _identity(user)
