"""Self-service webhook endpoints: made, listed, changed, rotated and removed.

The policy (who may see which endpoint, bounds, the URL guard, how a row becomes a notifier)
is the caller's (``bot.delivery.endpoints``, ``bot.web.endpoints``); this module only reads
and writes ``webhook_endpoints`` and hands out typed records. The signing secrets travel in the
record because the delivery side must sign with them; they are left out of its ``repr`` and
the web side shows a secret only in the answer that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import as_utc
from storage.models_endpoints import DeliveryAttempt, WebhookEndpoint

# session.info key of the endpoints a transaction's fan-out read (with that transaction).
_ENABLED_IN_TRANSACTION = "cacwatch.enabled_endpoints"

__all__ = ["StoredEndpoint", "EndpointRepository", "ENDPOINT_PREFIX", "endpoint_destination", "endpoint_id_of"]

# Outbox destination keys of stored endpoints: ``endpoint:<id>``.
ENDPOINT_PREFIX = "endpoint:"


def endpoint_destination(endpoint_id: int) -> str:
    return f"{ENDPOINT_PREFIX}{endpoint_id}"


def endpoint_id_of(destination: str) -> int | None:
    """The endpoint id of an ``endpoint:<id>`` destination, else None."""
    if not destination.startswith(ENDPOINT_PREFIX):
        return None
    tail = destination[len(ENDPOINT_PREFIX) :]
    return int(tail) if tail.isdigit() and len(tail) < 19 else None


@dataclass(frozen=True, slots=True)
class StoredEndpoint:
    id: int
    owner_user_id: int | None
    url: str
    description: str
    events: tuple[str, ...] | None  # None: every event type
    kinds: tuple[str, ...] | None  # None: every kind
    watchlist: tuple[str, ...]  # empty: no watchlist filter
    allow_private: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime
    secret: str = field(repr=False)
    previous_secret: str | None = field(repr=False, default=None)
    previous_valid_until: datetime | None = None

    @property
    def destination(self) -> str:
        return endpoint_destination(self.id)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a send at ``now``: the current one, and the previous one while
        its grace period lasts."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_valid_until is not None and now < self.previous_valid_until:
            secrets.append(self.previous_secret)
        return secrets


def _record(row: WebhookEndpoint) -> StoredEndpoint:
    return StoredEndpoint(
        id=row.id,
        owner_user_id=row.owner_user_id,
        url=row.url,
        description=row.description or "",
        events=None if row.events is None else tuple(str(e) for e in row.events),
        kinds=None if row.kinds is None else tuple(str(k) for k in row.kinds),
        watchlist=tuple(str(w) for w in (row.watchlist or ())),
        allow_private=bool(row.allow_private),
        enabled=bool(row.enabled),
        created_at=as_utc(row.created_at) or row.created_at,
        updated_at=as_utc(row.updated_at) or row.updated_at,
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_valid_until=as_utc(row.previous_valid_until),
    )


class EndpointRepository:
    """Endpoint reads and writes within one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        owner_user_id: int | None,
        url: str,
        description: str,
        events: Sequence[str] | None,
        kinds: Sequence[str] | None,
        watchlist: Sequence[str],
        allow_private: bool,
        secret: str,
        now: datetime,
    ) -> StoredEndpoint:
        row = WebhookEndpoint(
            owner_user_id=owner_user_id,
            url=url,
            description=description,
            events=None if events is None else list(events),
            kinds=None if kinds is None else list(kinds),
            watchlist=list(watchlist),
            allow_private=allow_private,
            enabled=True,
            secret=secret,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _record(row)

    def get(self, endpoint_id: int) -> StoredEndpoint | None:
        row = self.session.get(WebhookEndpoint, endpoint_id)
        return None if row is None else _record(row)

    def owned_by(self, owner_user_id: int) -> list[StoredEndpoint]:
        """A member's endpoints, oldest first."""
        query = select(WebhookEndpoint).where(WebhookEndpoint.owner_user_id == owner_user_id).order_by(WebhookEndpoint.id)
        return [_record(row) for row in self.session.scalars(query)]

    def every_endpoint(self) -> list[StoredEndpoint]:
        """Every stored endpoint (the operator's view), oldest first."""
        return [_record(row) for row in self.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]

    def count_owned_by(self, owner_user_id: int | None) -> int:
        owner = WebhookEndpoint.owner_user_id
        where = owner.is_(None) if owner_user_id is None else owner == owner_user_id
        return int(self.session.scalar(select(func.count(WebhookEndpoint.id)).where(where)) or 0)

    def count_all(self) -> int:
        return int(self.session.scalar(select(func.count(WebhookEndpoint.id))) or 0)

    def enabled_endpoints(self) -> list[StoredEndpoint]:
        """The endpoints that get new events now (the outbox's fan-out reads them per event)."""
        query = select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id)
        return [_record(row) for row in self.session.scalars(query)]

    def enabled_endpoints_in_transaction(self) -> list[StoredEndpoint]:
        """``enabled_endpoints`` read once per transaction: an ingest fans out every per-filing
        event of a list (hundreds) in one transaction, and they all go to the same endpoints.
        Only for fan-outs: the transaction must not change endpoints after the first read."""
        transaction = self.session.get_transaction()
        kept = self.session.info.get(_ENABLED_IN_TRANSACTION)
        if transaction is not None and kept is not None and kept[0] is transaction:
            return list(kept[1])
        found = self.enabled_endpoints()
        self.session.info[_ENABLED_IN_TRANSACTION] = (transaction, tuple(found))
        return found

    def update(
        self,
        endpoint_id: int,
        *,
        now: datetime,
        url: str | None = None,
        description: str | None = None,
        events: Sequence[str] | None | bool = False,
        kinds: Sequence[str] | None | bool = False,
        watchlist: Sequence[str] | None = None,
        allow_private: bool | None = None,
        enabled: bool | None = None,
    ) -> StoredEndpoint | None:
        """Change the given fields (``events`` / ``kinds``: False leaves them, None means all)."""
        row = self.session.get(WebhookEndpoint, endpoint_id)
        if row is None:
            return None
        if url is not None:
            row.url = url
        if description is not None:
            row.description = description
        if events is not False:
            row.events = None if events is None or events is True else list(events)
        if kinds is not False:
            row.kinds = None if kinds is None or kinds is True else list(kinds)
        if watchlist is not None:
            row.watchlist = list(watchlist)
        if allow_private is not None:
            row.allow_private = allow_private
        if enabled is not None:
            row.enabled = enabled
        row.updated_at = now
        self.session.flush()
        return _record(row)

    def rotate_secret(self, endpoint_id: int, *, secret: str, previous_valid_until: datetime, now: datetime) -> StoredEndpoint | None:
        """A new current secret; the old one keeps signing until ``previous_valid_until``."""
        row = self.session.get(WebhookEndpoint, endpoint_id)
        if row is None:
            return None
        row.previous_secret, row.previous_valid_until = row.secret, previous_valid_until
        row.secret = secret
        row.updated_at = now
        self.session.flush()
        return _record(row)

    def delete(self, endpoint_id: int) -> bool:
        """Remove an endpoint and its attempt log. Deliveries still queued for it are dropped
        when the worker finds it gone (dead, "endpoint deleted")."""
        row = self.session.get(WebhookEndpoint, endpoint_id)
        if row is None:
            return False
        self.session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.destination == endpoint_destination(endpoint_id)))
        self.session.delete(row)
        self.session.flush()
        return True
