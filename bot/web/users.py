"""Accounts: the rules the browser (/signin, /account), the API and ``cacwatch users`` share.

- Passwords: Argon2id (argon2-cffi's ``PasswordHasher`` defaults, RFC 9106's low-memory
  profile), 10 to 256 characters; a hash made with older parameters is replaced at the next
  sign-in. An unknown account, a disabled one and a wrong password take the same time (a hash
  is verified in every case) and give the same answer.
- Sessions and API tokens: 256 random bits; the database holds only their SHA-256. An API token
  reads ``cw_`` + 43 URL-safe characters; its first 11 characters are its visible prefix.
- Emails are stored lower-cased (one account per address); roles are ``operator`` and ``member``.

Every function takes a ``Database`` and runs its own short transaction; callers in the web app
run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from storage.accounts_repo import Account, AccountExists, AccountsRepository, Identity, TokenInfo

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from storage.db import Database

__all__ = [
    "Account",
    "AccountExists",
    "Identity",
    "TokenInfo",
    "NewToken",
    "TooManyTokens",
    "ROLES",
    "Role",
    "MIN_PASSWORD",
    "MAX_PASSWORD",
    "MAX_TOKENS",
    "MAX_EMAIL",
    "MAX_NAME",
    "MAX_TOKEN_NAME",
    "EMAIL_PATTERN",
    "TEXT_PATTERN",
    "NAME_PATTERN",
    "TOKEN_PREFIX",
    "clean_email",
    "clean_name",
    "clean_role",
    "check_password",
    "digest",
    "hash_password",
    "add_user",
    "list_users",
    "user_by_email",
    "account_by_id",
    "set_password",
    "set_disabled",
    "authenticate",
    "start_session",
    "end_session",
    "session_identity",
    "token_identity",
    "create_token",
    "list_tokens",
    "revoke_token",
    "proxy_identity",
    "looks_like_token",
]

Role = Literal["operator", "member"]
ROLES: tuple[Role, ...] = ("operator", "member")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_EMAIL = 254
MAX_NAME = 200
MAX_TOKEN_NAME = 100
MAX_TOKENS = 20  # live API tokens per account
TOKEN_PREFIX = "cw_"
# An address as the forms and the API take it (the JSON schema's pattern too): a local part
# without spaces, quotes, separators or control characters; a domain of dot-separated labels.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = "^[^@\\s<>\"',;\u0000-\u001f\u007f-\u009f]{1,64}@" + _LABEL + "(?:\\." + _LABEL + ")*$"
# A name or label: no control characters (the JSON schema's pattern; NAME_PATTERN also not blank).
TEXT_PATTERN = "^[^\u0000-\u001f\u007f-\u009f]*$"
NAME_PATTERN = "^[^\u0000-\u001f\u007f-\u009f]*[^\\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
_EMAIL = re.compile(EMAIL_PATTERN)
_TOKEN = re.compile(r"^cw_[A-Za-z0-9_-]{43}$")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{43}$")


class TooManyTokens(ValueError):
    """The account already has MAX_TOKENS live tokens."""


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: ``secret`` is shown this once and stored nowhere."""

    info: TokenInfo
    secret: str


@lru_cache(maxsize=1)
def _hasher() -> "PasswordHasher":
    from argon2 import PasswordHasher

    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the account is unknown, so that case costs what a wrong password costs.
    return _hasher().hash(secrets.token_urlsafe(16))


def digest(token: str) -> str:
    """What the database holds of a session or API token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_email(email: str) -> str:
    value = email.strip().lower()
    if not value or len(value) > MAX_EMAIL or not _EMAIL.match(value):
        raise ValueError("email: not an email address")
    return value


def clean_name(name: str, *, limit: int = MAX_NAME, what: str = "name") -> str:
    value = " ".join(name.split())
    if len(value) > limit:
        raise ValueError(f"{what}: at most {limit} characters")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(f"{what}: control characters are not allowed")
    return value


def clean_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"password: at most {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher().hash(password)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- users -------------------------------------------------------------------------------------


def add_user(db: "Database", email: str, *, role: str, password: str | None, name: str = "") -> Account:
    """A new account; ValueError (AccountExists among them) names what is wrong. ``password``
    None makes an account that signs in only through the trusted proxy."""
    clean = clean_email(email)
    checked_role = clean_role(role)
    display = clean_name(name)
    hashed = hash_password(password) if password is not None else None
    with db.session() as session:
        return AccountsRepository(session).add_user(clean, name=display, role=checked_role, password_hash=hashed)


def list_users(db: "Database") -> list[Account]:
    with db.session() as session:
        return AccountsRepository(session).users()


def account_by_id(db: "Database", user_id: int) -> Account | None:
    with db.session() as session:
        return AccountsRepository(session).user(user_id)


def user_by_email(db: "Database", email: str) -> Account | None:
    with db.session() as session:
        return AccountsRepository(session).user_by_email(clean_email(email))


def set_password(db: "Database", email: str, password: str) -> Account:
    """A new password; every session of the account ends (tokens stay). LookupError: no such account."""
    hashed = hash_password(password)
    with db.session() as session:
        repo = AccountsRepository(session)
        account = repo.user_by_email(clean_email(email))
        if account is None:
            raise LookupError(f"no account for {email.strip().lower()}")
        repo.set_password_hash(account.id, hashed)
        repo.end_sessions_of(account.id)
        return account


def set_disabled(db: "Database", user_id: int, disabled: bool) -> Account:
    """Disable (its sessions end, its tokens stop working) or enable an account. LookupError: unknown."""
    with db.session() as session:
        account = AccountsRepository(session).set_disabled(user_id, disabled)
    if account is None:
        raise LookupError(f"no account {user_id}")
    return account


# --- sign-in and sessions ----------------------------------------------------------------------


def authenticate(db: "Database", email: str, password: str) -> Account | None:
    """The account when ``password`` is its password and it is enabled; None otherwise, after
    the same work whichever way it failed."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        clean = clean_email(email)
    except ValueError:
        clean = ""
    found = None
    if clean and len(password) <= MAX_PASSWORD:
        with db.session() as session:
            found = AccountsRepository(session).sign_in_record(clean)
    account, stored = found if found is not None else (None, None)
    hasher = _hasher()
    try:
        hasher.verify(stored or _dummy_hash(), password[:MAX_PASSWORD])
        matched = stored is not None
    except (VerificationError, InvalidHashError):
        matched = False
    if account is None or not matched or account.disabled:
        return None
    if stored is not None and hasher.check_needs_rehash(stored):
        with db.session() as session:
            AccountsRepository(session).set_password_hash(account.id, hasher.hash(password))
    return account


def start_session(db: "Database", user_id: int, *, lifetime: float) -> str:
    """A new session for the account: the cookie's value (its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with db.session() as session:
        AccountsRepository(session).start_session(user_id, digest(token), now=_now(), lifetime=timedelta(seconds=lifetime))
    return token


def end_session(db: "Database", token: str) -> bool:
    if not _SESSION.match(token):
        return False
    with db.session() as session:
        return AccountsRepository(session).end_session(digest(token))


def session_identity(db: "Database", token: str, *, idle: float) -> Identity | None:
    """The account a session cookie stands for, or None (unknown, expired, idle, disabled)."""
    if not _SESSION.match(token):
        return None
    with db.session() as session:
        return AccountsRepository(session).session_identity(digest(token), now=_now(), idle=timedelta(seconds=idle))


def proxy_identity(db: "Database", email: str, *, create_members: bool) -> Identity | None:
    """The account a trusted proxy vouches for (made a member when ``create_members``); None when
    unknown (and not made), disabled, or not an email."""
    try:
        clean = clean_email(email)
    except ValueError:
        return None
    with db.session() as session:
        repo = AccountsRepository(session)
        account = repo.user_by_email(clean)
        if account is None and create_members:
            try:
                account = repo.add_user(clean, name="", role="member", password_hash=None)
            except AccountExists:
                account = repo.user_by_email(clean)
        if account is None or account.disabled:
            return None
        return Identity(user_id=account.id, email=account.email, name=account.name, role=account.role)


# --- API tokens --------------------------------------------------------------------------------


def looks_like_token(value: str) -> bool:
    return bool(_TOKEN.match(value))


def token_identity(db: "Database", token: str) -> Identity | None:
    """The account of a personal API token, or None (malformed, unknown, revoked, disabled)."""
    if not looks_like_token(token):
        return None
    with db.session() as session:
        return AccountsRepository(session).token_identity(digest(token), now=_now())


def create_token(db: "Database", user_id: int, name: str) -> NewToken:
    """A new personal API token; ValueError when the name is bad or the account has MAX_TOKENS live ones."""
    label = clean_name(name, limit=MAX_TOKEN_NAME, what="name")
    if not label:
        raise ValueError("name: say what the token is for (e.g. 'CI sync')")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        repo = AccountsRepository(session)
        if repo.live_token_count(user_id) >= MAX_TOKENS:
            raise TooManyTokens(f"at most {MAX_TOKENS} live tokens per account: revoke one first")
        info = repo.add_token(user_id, name=label, prefix=secret[:11], token_hash=digest(secret))
    return NewToken(info=info, secret=secret)


def list_tokens(db: "Database", user_id: int) -> list[TokenInfo]:
    with db.session() as session:
        return AccountsRepository(session).tokens_of(user_id)


def revoke_token(db: "Database", user_id: int, token_id: int) -> bool:
    with db.session() as session:
        return AccountsRepository(session).revoke_token(user_id, token_id, now=_now())
