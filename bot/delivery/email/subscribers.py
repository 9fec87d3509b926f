"""Email subscribers: who gets a digest, how often, and about what.

Subscribers come from two places:

- ``notify.email.recipients`` (plain addresses, the ``digest`` cadence and the defaults of
  ``notify.email``) and ``notify.email.subscribers`` (one entry each, with its own cadence,
  language and filters);
- the ``email_subscribers`` table (``cacwatch subscribers add``). A row added there wins over
  a config entry for the same address. Config recipients get a row of their own
  (``source = "config"``) the first time a mail goes to them: it holds their unsubscribe
  token and flag, never their preferences (config stays the truth for those).

Filters narrow an event to what a subscriber asked for: kinds, provinces (北京市 / 北京 /
Beijing) and a watchlist of companies (fuzzy, ``bot.changes.watchlist``); with ``watch_only`` a list
reaches the subscriber only when it touches a watched company.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.changes.event_schema import ChangedFiling, Event, FieldChanges, FilingRecord, ListEvent, ListEventData
from bot.changes.watchlist import Watchlist, filing_hits, fold
from bot.settings import email_validation as validation
from bot.settings.patterns import check_pattern
# Validation is a module of its own (configuration loading imports it without the database);
# subscribers use all of it and re-export it.
from bot.settings.email_validation import *  # noqa: F403
from storage.db import Session
from storage.email_repo import EmailRepository, SubscriberFields, new_token
from storage.models_email import EmailSubscriber

if TYPE_CHECKING:
    from bot.settings.config import EmailSettings

__all__ = [
    "Subscriber",
    "company_matcher",
    "next_due",
    "heartbeat_due",
    "weekly_slot",
    "narrow_event",
    "config_subscribers",
    "load_subscribers",
    "subscriber_for",
    "add_subscriber",
    "remove_subscriber",
    "unsubscribe",
    "token_subscriber",
    "ensure_token",
    "record_sent",
]
__all__ += validation.__all__

# --- the subscriber ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscriber:
    address: str
    name: str = ""
    language: Language = "both"
    cadence: Cadence = "immediate"
    at: str = "08:00"
    weekday: str = "monday"
    timezone: str = "Asia/Shanghai"
    kinds: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    watchlist: tuple[str, ...] = ()
    watch_only: bool = True
    unsubscribed: bool = False
    token: str = ""
    source: str = "config"  # "config" or "db" (added with the CLI, or self-service)
    attach_brief: bool = False  # the PDF brief of each newly published list attached
    # Self-service: "pending" until the emailed confirmation link is followed (nothing is sent
    # to a pending address but that mail); the token of the preferences link in each digest.
    status: str = "active"
    manage_token: str = ""

    @property
    def receives(self) -> bool:
        """Whether anything may be mailed to it: subscribed and confirmed."""
        return not self.unsubscribed and self.status == "active"

    @property
    def destination(self) -> str:
        return f"{DESTINATION_PREFIX}{self.address}"

    @property
    def zone(self) -> ZoneInfo:
        return check_timezone(self.timezone)

    def next_due(self, now: datetime) -> datetime:
        return next_due(self, now)

    def valid_token(self) -> str | None:
        return self.token if TOKEN_PATTERN.match(self.token or "") else None

    def valid_manage_token(self) -> str | None:
        return self.manage_token if TOKEN_PATTERN.match(self.manage_token or "") else None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # naive means UTC everywhere in this project (SQLite hands them back)
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _at_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall-clock time that does not exist (DST gap) resolves with fold=0, i.e. a little
    # later in real time; one that exists twice resolves to its first occurrence.
    return datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)


def next_due(subscriber: Subscriber, now: datetime) -> datetime:
    """When a delivery queued ``now`` may go out (UTC).

    ``immediate``: now. ``daily``: the next ``at`` in the subscriber's zone (now itself when
    it is exactly that minute). ``weekly``: the next ``weekday`` at ``at``. ``monthly``: the
    next first day of a month at ``at`` (the digest of the month before).
    Comparisons happen in UTC: aware datetimes of one zone compare by wall clock in Python.
    """
    now = _utc(now)
    if subscriber.cadence == "immediate":
        return now
    zone = subscriber.zone
    at = parse_at(subscriber.at)
    today = now.astimezone(zone).date()
    if subscriber.cadence == "daily":
        candidate = _at_local(today, at, zone)
        if candidate < now:
            candidate = _at_local(today + timedelta(days=1), at, zone)
        return candidate
    if subscriber.cadence == "monthly":
        candidate = _at_local(today.replace(day=1), at, zone)
        if candidate < now:
            following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
            candidate = _at_local(following, at, zone)
        return candidate
    wanted = parse_weekday(subscriber.weekday)
    day = today + timedelta(days=(wanted - today.weekday()) % 7)
    candidate = _at_local(day, at, zone)
    if candidate < now:
        candidate = _at_local(day + timedelta(days=7), at, zone)
    return candidate


def weekly_slot(subscriber: Subscriber, now: datetime) -> datetime:
    """The latest weekly slot (``weekday`` at ``at``, subscriber's zone) at or before ``now`` (UTC)."""
    now = _utc(now)
    zone = subscriber.zone
    at = parse_at(subscriber.at)
    today = now.astimezone(zone).date()
    day = today - timedelta(days=(today.weekday() - parse_weekday(subscriber.weekday)) % 7)
    slot = _at_local(day, at, zone)
    if slot > now:
        slot = _at_local(day - timedelta(days=7), at, zone)
    return slot


def heartbeat_due(
    subscriber: Subscriber,
    *,
    now: datetime,
    last_sent_at: datetime | None,
    last_heartbeat_at: datetime | None,
    enabled: bool = True,
) -> bool:
    """Whether the weekly "no news" mail is due for this subscriber now.

    Due once per weekly slot, and only when nothing at all was mailed to the subscriber in
    the week before that slot: a quiet week gets one short mail, a busy week none. The
    scheduler may call this as often as it likes.
    """
    if not enabled or not subscriber.receives:
        return False
    slot = weekly_slot(subscriber, now)
    if last_heartbeat_at is not None and _utc(last_heartbeat_at) >= slot:
        return False
    return last_sent_at is None or _utc(last_sent_at) < slot - timedelta(days=7)


# --- filters ---------------------------------------------------------------------------------


def company_matcher(patterns: Iterable[str]) -> Watchlist:
    """The subscriber's watchlist as a matcher (patterns cleaned as stored: one line, bounded)."""
    return Watchlist(clean_name(p, limit=200) for p in patterns)


def _province_of(record: FilingRecord | ChangedFiling, changes: FieldChanges | None = None) -> str | None:
    """``changes``: a changed filing's changes (its province, when that changed)."""
    province = record.get("province")
    if not province and changes:
        before_after = changes.get("province")
        if before_after:
            province = before_after[-1]
    if not province:
        # Changed entries carry no province: the number's region code tells it.
        from scrapers.normalize import province_from_number, province_from_pinyin

        number = record["filing_number"]
        province = province_from_number(number) or province_from_pinyin(number)
    return str(province) if province else None


def _province_matches(province: str | None, wanted: Sequence[str]) -> bool:
    if not province:
        return False
    folded = fold(province)
    english = ""
    try:
        from bot.changes.companies import province_en

        english = fold(province_en(province) or "")
    except Exception:  # noqa: BLE001 - an unknown province simply has no English name
        english = ""
    for item in wanted:
        key = fold(item)
        if not key:
            continue
        # 北京 matches 北京市; Beijing matches "Beijing" / "Beijing Municipality".
        if folded.startswith(key) or key == folded or (english and (english == key or english.startswith(key))):
            return True
    return False


def narrow_event(event: Event, subscriber: Subscriber, matcher: Watchlist | None = None) -> Event | None:
    """The event as this subscriber should see it, or None when their filters refuse it.

    The baseline goes to everyone (it is the one "watching started" mail). A list event must
    be of a wanted kind; a province filter keeps only filings of those provinces (and drops
    the event when none is left); ``watch_only`` with a watchlist drops an event that touches
    no watched company. ``counts`` keep describing the whole list; ``data.narrowed`` says the
    rows were filtered.
    """
    if not subscriber.receives:
        return None
    if event["type"] == "baseline.established":
        return event
    data = event["data"]
    if subscriber.kinds and data["kind"] not in subscriber.kinds:
        return None
    if subscriber.provinces:
        wanted = subscriber.provinces
        new = [r for r in data["new"] if _province_matches(_province_of(r), wanted)]
        changed = [c for c in data["changed"] if _province_matches(_province_of(c, c["changes"]), wanted)]
        removed = [r for r in data["removed"] if _province_matches(_province_of(r), wanted)]
        if not (new or changed or removed):
            return None
        narrowed_data: ListEventData = {**data, "new": new, "changed": changed, "removed": removed, "narrowed": True}
        narrowed: ListEvent = {**event, "data": narrowed_data}
        event = narrowed
    if subscriber.watchlist and subscriber.watch_only:
        if matcher is None:
            matcher = company_matcher(subscriber.watchlist)
        if not filing_hits(event, matcher):
            return None
    return event


# --- loading ---------------------------------------------------------------------------------


def config_subscribers(settings: EmailSettings) -> list[Subscriber]:
    """Subscribers of ``notify.email``: recipients with the defaults, then the richer entries."""
    defaults = Subscriber(
        address="",
        language=settings.language,
        cadence=settings.digest,
        at=settings.digest_at,
        weekday=settings.digest_weekday,
        timezone=settings.timezone,
        attach_brief=settings.attach_brief,
    )
    found: dict[str, Subscriber] = {}
    for address in settings.recipients:
        address = normalize_address(address)
        found[address] = replace(defaults, address=address)
    for entry in settings.subscribers:
        address = normalize_address(entry.address)
        found[address] = Subscriber(
            address=address,
            name=clean_name(entry.name),
            language=entry.language or defaults.language,
            cadence=entry.cadence or defaults.cadence,
            at=entry.at or defaults.at,
            weekday=entry.weekday or defaults.weekday,
            timezone=entry.timezone or defaults.timezone,
            kinds=tuple(entry.kinds or ()),
            provinces=tuple(entry.provinces or ()),
            watchlist=tuple(entry.watchlist or ()),
            watch_only=entry.watch_only,
            attach_brief=defaults.attach_brief if entry.attach_brief is None else entry.attach_brief,
        )
    return list(found.values())


def _from_row(row: EmailSubscriber, attach_brief: bool = False) -> Subscriber:
    """``attach_brief``: the notify.email default, for a row that does not say."""
    return Subscriber(
        address=row.address,
        name=clean_name(row.name),
        language=row.language if row.language in LANGUAGES else "both",  # type: ignore[arg-type]
        cadence=row.cadence if row.cadence in CADENCES else "immediate",  # type: ignore[arg-type]
        at=row.at,
        weekday=row.weekday,
        timezone=row.timezone,
        kinds=tuple(row.kinds or ()),
        provinces=tuple(row.provinces or ()),
        watchlist=tuple(row.watchlist or ()),
        watch_only=bool(row.watch_only),
        unsubscribed=bool(row.unsubscribed),
        token=row.token,
        source="db",
        attach_brief=attach_brief if row.attach_brief is None else bool(row.attach_brief),
        status=row.status or "active",
        manage_token=row.manage_token or "",
    )


def load_subscribers(settings: EmailSettings, session: Session | None = None) -> list[Subscriber]:
    """Every subscriber, unsubscribed ones included (callers skip them), config first.

    A CLI-added row replaces the config entry of its address; a config-sourced row only
    lends its token and unsubscribed flag.
    """
    merged = {s.address: s for s in config_subscribers(settings)}
    if session is None:
        return [replace(s, token=fallback_token(settings.sender, s.address)) for s in merged.values()]
    for row in EmailRepository(session).rows():
        if row.source == "config":
            configured = merged.get(row.address)
            if configured is not None:
                merged[row.address] = replace(
                    configured, token=row.token, unsubscribed=bool(row.unsubscribed), manage_token=row.manage_token or ""
                )
        else:
            merged[row.address] = _from_row(row, settings.attach_brief)
    return list(merged.values())


def subscriber_for(settings: EmailSettings, session: Session | None, address: str) -> Subscriber | None:
    address = normalize_address(address)
    return next((s for s in load_subscribers(settings, session) if s.address == address), None)


# --- changes -------------------------------------------------------------------------------


def add_subscriber(session: Session, subscriber: Subscriber) -> tuple[EmailSubscriber, bool]:
    """Insert or update the subscriber's row (source CLI); re-adding re-subscribes.

    Returns the row and whether it was created.
    """
    address = normalize_address(subscriber.address)
    check_schedule(at=subscriber.at, weekday=subscriber.weekday, timezone=subscriber.timezone)
    if subscriber.language not in LANGUAGES:
        raise ValueError(f"language: {subscriber.language!r} is not one of {', '.join(LANGUAGES)}")
    check_cadence(subscriber.cadence)
    for pattern in subscriber.watchlist:
        check_pattern(clean_name(pattern, limit=200) or pattern)  # refused now, not skipped on every mail
    fields = SubscriberFields(
        name=clean_name(subscriber.name),
        language=subscriber.language,
        cadence=subscriber.cadence,
        at=parse_at(subscriber.at).strftime("%H:%M"),
        weekday=WEEKDAYS[parse_weekday(subscriber.weekday)],
        timezone=subscriber.timezone,
        kinds=list(subscriber.kinds),
        provinces=[clean_name(p, limit=40) for p in subscriber.provinces if clean_name(p)],
        watchlist=[clean_name(p, limit=200) for p in subscriber.watchlist if clean_name(p)],
        watch_only=subscriber.watch_only,
    )
    return EmailRepository(session).save_cli_subscriber(address, fields)


def remove_subscriber(session: Session, address: str, *, configured: bool = False) -> bool:
    """Stop mail to ``address``. A CLI row is deleted; an address that is also in config.yaml
    keeps a row marked unsubscribed (deleting it would bring the config entry back).
    Returns whether anything changed."""
    address = normalize_address(address)
    repo = EmailRepository(session)
    return repo.unsubscribe_configured(address) if configured else repo.delete(address)


def _clean_token(token: str) -> str | None:
    token = (token or "").strip()
    if token.lower().startswith("unsubscribe-"):
        token = token[len("unsubscribe-") :]
    return token if TOKEN_PATTERN.match(token) else None


def token_subscriber(session: Session, token: str) -> tuple[str, bool] | None:
    """(address, already unsubscribed) for an unsubscribe token, or None; changes nothing
    (the confirmation page a person's click on the link shows)."""
    clean = _clean_token(token)
    return None if clean is None else EmailRepository(session).address_for_token(clean)


def unsubscribe(session: Session, token: str) -> str | None:
    """Honour an unsubscribe link or reply: mark the token's subscriber unsubscribed.

    Returns the address, or None for an unknown token. For the one-click endpoint
    (``POST <public_base_url>/email/unsubscribe?token=…``) and the mailto handler.
    """
    clean = _clean_token(token)
    return None if clean is None else EmailRepository(session).unsubscribe_token(clean)


def ensure_token(session: Session, subscriber: Subscriber) -> Subscriber:
    """The subscriber with a stored random token (a config recipient gets its row now).

    Runs in the delivery's own short transaction, never in the ingest one: two workers
    creating the same row must not break an ingest. A concurrent insert wins and is read back.
    """
    if subscriber.valid_token() and subscriber.valid_manage_token() and subscriber.source == "db":
        return subscriber
    row = EmailRepository(session).ensure_row(subscriber.address)
    if not row.manage_token:
        row.manage_token = new_token()
    return replace(
        subscriber,
        token=row.token,
        unsubscribed=subscriber.unsubscribed or bool(row.unsubscribed),
        manage_token=row.manage_token,
    )


def record_sent(session: Session, address: str, when: datetime, *, heartbeat: bool = False) -> None:
    """Remember the last digest (or heartbeat) per address: the heartbeat goes out only after a
    week without digests (a heartbeat itself is not news, so it does not count as one)."""
    EmailRepository(session).record_sent(address, when, heartbeat=heartbeat)
