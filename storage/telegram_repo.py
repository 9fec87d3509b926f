"""SQL for the Telegram bot and notifier: search, stats, latest lists, watches, subscriptions, status.

Everything takes a ``Session`` (the caller owns the transaction) and runs on SQLite and
PostgreSQL alike: substring search is ``lower(column) LIKE '%…%'`` with the query's LIKE
wildcards escaped; products, a JSON array, are matched element by element (``_product_contains``).
Filers are also matched by company and English name through a ``filers`` predicate the
caller builds for the query (the resolver lives in ``bot.changes.resolver``, above this
layer); ``bot.delivery.telegram.queries`` is the application's face of this module.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, and_, case, cast, delete, exists, func, inspect, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scrapers.records import Kind
from storage.models import Filing, FilingList, ListVersion, Poll, Source
from storage.corpus_search import whole_words
from storage.models_search import FilingWords
from storage.models_telegram import TelegramPostedPart, TelegramSubscription, TelegramWatch
from storage.corpus_lists import ListIdentity, list_identity
from storage.export_repo import stored_record
from storage.repo import list_sizes
from storage.words import word_needles

__all__ = [
    "KINDS",
    "normalize_query",
    "FilerMatch",
    "search_filings",
    "SearchPage",
    "list_sizes",
    "latest_lists",
    "ListSummary",
    "stats",
    "add_watch",
    "remove_watches",
    "watches_of",
    "all_watches",
    "all_subscriptions",
    "add_subscription",
    "remove_subscriptions",
    "subscriptions_of",
    "subscribers",
    "present_filings_per_entity",
    "enable_destination",
    "posted_parts",
    "record_part",
    "forget_parts",
    "status_report",
    "MAX_WATCHES_PER_CHAT",
]

KINDS: tuple[str, ...] = tuple(kind.value for kind in Kind)
MAX_WATCHES_PER_CHAT = 50
_MAX_MATCHED_ENTITIES = 2000  # a query matching more filers than this by company or English name is too vague

def normalize_query(text: str) -> str:
    """NFKC (full-width → half-width), outer whitespace trimmed, inner runs collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


# --- search ---------------------------------------------------------------------------------

FilerMatch = Callable[[str], bool]  # filer name → whether it answers the query (company, English name)


def _product_contains(session: Session, query: str) -> Any:
    """EXISTS a product — an element of the JSON ``products`` array — containing ``query``.

    Elements, not the column's JSON text: in the text, ``"``, ``\\``, ``,`` or ``u767e``
    (from the escaped ``\\u767e``) would match nearly every filing.
    """
    if session.get_bind().dialect.name == "postgresql":
        # json_array_elements_text fails on a non-array value: such a row has no products.
        products = case((func.json_typeof(Filing.products) == "array", Filing.products), else_=cast(literal("[]"), JSON))
        element = func.json_array_elements_text(products).table_valued("value")
    else:
        element = func.json_each(Filing.products).table_valued("value")
    return select(1).select_from(element).where(func.lower(element.c.value).contains(query, autoescape=True)).exists()


def _search_condition(session: Session, text: str, filers: FilerMatch | None, entity_text: bool) -> Any:
    query = normalize_query(text).lower()
    compact = re.sub(r"\s+", "", query)
    conditions = [
        func.lower(Filing.name).contains(query, autoescape=True),
        *([func.lower(Filing.entity).contains(query, autoescape=True)] if entity_text else []),
        func.lower(Filing.filing_number).contains(compact, autoescape=True),
        _product_contains(session, query),
    ]
    needles = word_needles(text)
    if needles:
        # One meaning per word (storage.words): a text match of a Latin word must be whole, read
        # from the search index's whole-word text (a filing not indexed yet keeps the plain match).
        indexed = exists(select(FilingWords.filing_id).where(FilingWords.filing_id == Filing.id).correlate(Filing))
        whole = or_(~indexed, whole_words(session.get_bind().dialect.name, FilingWords.words, needles))
        conditions = [and_(or_(*conditions), whole)]
    if filers is not None:
        # Filers the application matches by company group or English name (字节跳动, ByteDance).
        entities = session.scalars(select(Filing.entity).distinct())
        matched = [entity for entity in entities if entity and filers(entity)]
        if matched:
            conditions.append(Filing.entity.in_(matched[:_MAX_MATCHED_ENTITIES]))
    return or_(*conditions)


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    page: int  # 0-based
    page_size: int
    records: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def search_filings(
    session: Session,
    text: str,
    *,
    page: int = 0,
    page_size: int = 5,
    kind: str | None = None,
    filers: FilerMatch | None = None,
    entity_text: bool = True,
) -> SearchPage:
    """Filings whose name, filer (Chinese or English), products or number contain ``text``.

    ``filers`` adds the filers it accepts; ``entity_text=False`` leaves the choice of filers
    to it alone (a query naming a company: the filer's name containing the text is not enough).
    ``page_size=0`` returns every match (exports).
    """
    condition = _search_condition(session, text, filers, entity_text)
    base = select(Filing).where(condition)
    if kind:
        base = base.where(Filing.kind == kind)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    ordered = base.order_by(Filing.list_month.desc(), Filing.kind, Filing.filing_number)
    if page_size:
        page = max(0, min(page, max(0, (total - 1) // page_size)))
        ordered = ordered.offset(page * page_size).limit(page_size)
    # With first_seen / updated_at / removed: a filing that left every list never looks current.
    records = [stored_record(f) for f in session.scalars(ordered)]
    return SearchPage(total=total, page=page, page_size=page_size or max(1, total), records=records)


# --- lists and stats -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListSummary(ListIdentity):
    rows: int
    rank: int  # by size among lists of its kind, 1 = largest
    of: int
    first_seen_at: datetime | None


def latest_lists(session: Session, kind: str | None = None) -> list[ListSummary]:
    """The newest parsed list of each kind (or of one kind)."""
    summaries = []
    for each in [kind] if kind else list(KINDS):
        rows = session.execute(
            select(FilingList, ListVersion.row_count)
            .join(ListVersion, ListVersion.id == FilingList.current_version_id)
            .where(FilingList.kind == each, FilingList.is_cancellation.is_(False))
            .order_by(FilingList.list_month.desc(), FilingList.id.desc())
        ).all()
        if not rows:
            continue
        newest, count = rows[0]
        sizes = sorted((int(c) for _, c in rows), reverse=True)
        summaries.append(
            ListSummary(
                **list_identity(newest), rows=int(count), rank=sizes.index(int(count)) + 1, of=len(sizes),
                first_seen_at=newest.first_seen_at,
            )
        )
    return summaries


def stats(session: Session, *, top: int = 10) -> dict[str, Any]:
    """{"kinds": {kind: {lists, filings, cancelled}}, "provinces": [(p, n)], "filers": [(entity, n)]}."""
    kinds: dict[str, dict[str, int]] = {}
    for kind, lists in session.execute(
        select(FilingList.kind, func.count(FilingList.id))
        .where(FilingList.current_version_id.is_not(None), FilingList.is_cancellation.is_(False))
        .group_by(FilingList.kind)
    ):
        kinds[kind] = {"lists": int(lists), "filings": 0, "cancelled": 0}
    for kind, status, count in session.execute(
        select(Filing.kind, Filing.status, func.count(Filing.id)).where(Filing.present.is_(True))
        .group_by(Filing.kind, Filing.status)
    ):
        totals = kinds.setdefault(kind, {"lists": 0, "filings": 0, "cancelled": 0})
        totals["filings"] += int(count)
        if status == "cancelled":
            totals["cancelled"] += int(count)
    count_col = func.count(Filing.id)
    provinces = [
        (province, int(n))
        for province, n in session.execute(
            select(Filing.province, count_col).where(Filing.present.is_(True), Filing.province.is_not(None))
            .group_by(Filing.province).order_by(count_col.desc(), Filing.province).limit(top)
        )
    ]
    filers = [
        (entity, int(n))
        for entity, n in session.execute(
            select(Filing.entity, count_col).where(Filing.present.is_(True), Filing.entity != "")
            .group_by(Filing.entity).order_by(count_col.desc(), Filing.entity).limit(top)
        )
    ]
    return {"kinds": kinds, "provinces": provinces, "filers": filers}


# --- watches and subscriptions ------------------------------------------------------------------


def _clean_pattern(pattern: str) -> str:
    return normalize_query(pattern)[:200]


def add_watch(session: Session, chat_id: int, pattern: str) -> bool:
    """True when added, False when the chat already watches it. Raises ValueError past the cap."""
    pattern = _clean_pattern(pattern)
    if not pattern:
        raise ValueError("empty pattern")
    existing = session.scalar(
        select(TelegramWatch).where(TelegramWatch.chat_id == chat_id, TelegramWatch.pattern == pattern)
    )
    if existing is not None:
        return False
    count = session.scalar(select(func.count(TelegramWatch.id)).where(TelegramWatch.chat_id == chat_id)) or 0
    if count >= MAX_WATCHES_PER_CHAT:
        raise ValueError(f"at most {MAX_WATCHES_PER_CHAT} watches per chat")
    try:
        with session.begin_nested():  # a concurrent duplicate is not an error
            session.add(TelegramWatch(chat_id=chat_id, pattern=pattern))
    except IntegrityError:
        return False
    return True


def remove_watches(session: Session, chat_id: int, pattern: str | None = None) -> list[str]:
    """Remove one watch (case-insensitive) or, without a pattern, all of the chat's; returns what went."""
    rows = list(session.scalars(select(TelegramWatch).where(TelegramWatch.chat_id == chat_id)))
    if pattern is not None:
        wanted = _clean_pattern(pattern).lower()
        rows = [row for row in rows if row.pattern.lower() == wanted]
    for row in rows:
        session.delete(row)
    return [row.pattern for row in rows]


def watches_of(session: Session, chat_id: int) -> list[str]:
    return list(
        session.scalars(select(TelegramWatch.pattern).where(TelegramWatch.chat_id == chat_id).order_by(TelegramWatch.id))
    )


def all_watches(session: Session) -> dict[str, list[int]]:
    """{pattern: [chat_id…]} of every watch."""
    out: dict[str, list[int]] = {}
    for chat_id, pattern in session.execute(select(TelegramWatch.chat_id, TelegramWatch.pattern)):
        out.setdefault(pattern, []).append(int(chat_id))
    return out


def add_subscription(session: Session, chat_id: int, kind: str) -> bool:
    if kind != "all" and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    existing = session.scalar(
        select(TelegramSubscription).where(TelegramSubscription.chat_id == chat_id, TelegramSubscription.kind == kind)
    )
    if existing is not None:
        return False
    try:
        with session.begin_nested():
            session.add(TelegramSubscription(chat_id=chat_id, kind=kind))
    except IntegrityError:
        return False
    return True


def remove_subscriptions(session: Session, chat_id: int, kind: str | None = None) -> list[str]:
    query = select(TelegramSubscription).where(TelegramSubscription.chat_id == chat_id)
    if kind is not None:
        query = query.where(TelegramSubscription.kind == kind)
    rows = list(session.scalars(query))
    for row in rows:
        session.delete(row)
    return [row.kind for row in rows]


def subscriptions_of(session: Session, chat_id: int) -> list[str]:
    return list(
        session.scalars(
            select(TelegramSubscription.kind).where(TelegramSubscription.chat_id == chat_id)
            .order_by(TelegramSubscription.id)
        )
    )


def all_subscriptions(session: Session) -> dict[str, list[int]]:
    """{kind or "all": [chat_id…]} of every private subscription (the operator console)."""
    out: dict[str, list[int]] = {}
    query = select(TelegramSubscription.kind, TelegramSubscription.chat_id).order_by(TelegramSubscription.kind, TelegramSubscription.id)
    for kind, chat_id in session.execute(query):
        out.setdefault(str(kind), []).append(int(chat_id))
    return out


def subscribers(session: Session, kind: str) -> list[int]:
    """Chats subscribed to a kind (or to all kinds)."""
    return [
        int(chat_id)
        for chat_id in session.scalars(
            select(TelegramSubscription.chat_id).where(TelegramSubscription.kind.in_([kind, "all"])).distinct()
        )
    ]


def present_filings_per_entity(session: Session) -> list[tuple[str, int]]:
    """(filer, filings present) for every filer: what a new watch would match."""
    return [
        (entity, int(count))
        for entity, count in session.execute(
            select(Filing.entity, func.count(Filing.id)).where(Filing.present.is_(True)).group_by(Filing.entity)
        )
    ]


def enable_destination(session: Session, destination: str) -> None:
    """Queue for ``destination`` again (a user who blocked the bot came back)."""
    if "disabled_destinations" not in inspect(session.connection()).get_table_names():
        return
    from storage.models_outbox import DisabledDestination

    session.execute(delete(DisabledDestination).where(DisabledDestination.destination == destination))


# --- posted parts (idempotent threads) --------------------------------------------------------


def posted_parts(session: Session, delivery_id: str) -> dict[int, int]:
    """{part_index: message_id} already accepted by Telegram for this delivery."""
    return {
        int(index): int(message_id)
        for index, message_id in session.execute(
            select(TelegramPostedPart.part_index, TelegramPostedPart.message_id).where(
                TelegramPostedPart.delivery_id == delivery_id
            )
        )
    }


def record_part(session: Session, delivery_id: str, part_index: int, chat_id: str, message_id: int) -> None:
    if session.get(TelegramPostedPart, (delivery_id, part_index)) is None:
        session.add(
            TelegramPostedPart(delivery_id=delivery_id, part_index=part_index, chat_id=chat_id, message_id=message_id)
        )


def forget_parts(session: Session, older_than: datetime) -> int:
    """Drop bookkeeping of old deliveries (retries end after ~1.5 days)."""
    result = session.execute(delete(TelegramPostedPart).where(TelegramPostedPart.posted_at < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- operator status ------------------------------------------------------------------------------


def status_report(session: Session, *, recent_polls: int = 5) -> dict[str, Any]:
    """Sources, recent polls and delivery states; tables that do not exist yet are skipped."""
    tables = set(inspect(session.connection()).get_table_names())
    report: dict[str, Any] = {"sources": [], "polls": [], "deliveries": None}
    if "sources" in tables:
        report["sources"] = [
            {
                "name": s.name,
                "last_success_at": s.last_success_at,
                "last_failure_at": s.last_failure_at,
                "consecutive_failures": s.consecutive_failures or 0,
                "last_error": s.last_error,
            }
            for s in session.scalars(select(Source).order_by(Source.name))
        ]
    if "polls" in tables:
        report["polls"] = [
            {
                "started_at": p.started_at, "finished_at": p.finished_at, "ok": p.ok, "error": p.error,
                "lists_seen": p.lists_seen, "lists_changed": p.lists_changed,
            }
            for p in session.scalars(select(Poll).order_by(Poll.id.desc()).limit(recent_polls))
        ]
    if "deliveries" in tables:
        from storage.models_outbox import Delivery

        states: dict[str, int] = {}
        for state, count in session.execute(select(Delivery.state, func.count(Delivery.id)).group_by(Delivery.state)):
            states[str(state)] = int(count)
        failing = [
            {"destination": d, "state": s, "attempts": a, "last_error": e}
            for d, s, a, e in session.execute(
                select(Delivery.destination, Delivery.state, Delivery.attempts, Delivery.last_error)
                .where(Delivery.state.in_(["pending", "dead", "disabled"]), Delivery.last_error.is_not(None))
                .order_by(Delivery.id.desc()).limit(5)
            )
        ]
        report["deliveries"] = {"states": states, "failing": failing}
    return report
