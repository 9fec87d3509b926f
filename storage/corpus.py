"""Every read query of the web side (``cacwatch serve``): filings, lists, filers, history, feeds.

The web layer never speaks SQL: it calls these functions with a session and gets typed,
frozen records back (filing records are the export records of ``storage.repo.filing_record``).

Search: a filing matches a query when the query, normalised like the text (NFKC, casefold,
whitespace removed), is a substring of the filing's search text (``storage.models_search``).
SQLite answers through its FTS5 trigram index (queries of 3+ characters) and falls back to a
LIKE over the same column for shorter ones; PostgreSQL uses LIKE, which its pg_trgm GIN index
serves. Either way the answer is the same set: the index only makes it fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, column, delete, false, func, insert, or_, select, table, true
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from storage.models import Filing, FilingChange, FilingList, ListRow, ListVersion
from storage.models_outbox import OutboxEvent
from storage.models_search import FilingSearch
from scrapers.records import Kind
from storage.db import Database
from storage.repo import filing_record, list_sizes

__all__ = [
    "Corpus",
    "normalize_query",
    "FilingQuery",
    "FilingPage",
    "HistoryEntry",
    "Holding",
    "FilingDetail",
    "VersionInfo",
    "ListSummary",
    "ListRowInfo",
    "ListChange",
    "ListDetail",
    "EntitySummary",
    "FeedEntry",
    "NewFiling",
    "Facets",
    "Describer",
    "FilerWords",
    "filer_names",
    "refresh_search_text",
    "search_filings",
    "count_filings",
    "filing_detail",
    "list_summaries",
    "list_detail",
    "entities",
    "entity_filings",
    "list_feed",
    "new_filings",
    "facets",
    "kind_totals",
]

# Zero-width and other invisible format characters survive NFKC and \s.
_SPACE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+")
_SEPARATOR = "\n"
_KINDS = tuple(kind.value for kind in Kind)  # between fields of the search text; a normalised query never contains it


def normalize_query(text: str) -> str:
    """NFKC, casefold, whitespace removed: how both the index and every query are compared."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(needle: str) -> str:
    # An FTS5 string: inside double quotes every character is literal, "" is a quote.
    return '"' + needle.replace('"', '""') + '"'


# --- search text ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FilerWords:
    """What the application layer says about a filer (storage cannot compute it: no bot imports)."""

    english: str  # the English name shown for it
    company: str | None  # the English name of its big-tech group or foreign parent
    words: tuple[str, ...] = ()  # more searchable names (group in Chinese, aliases)


# Gives the words for a filer; passed with a version string that changes whenever the words
# would (rows built by another version are stale).
Describer = Callable[[str], FilerWords]


def _search_row(filing: Filing, filer: FilerWords) -> dict[str, Any]:
    number = normalize_query(filing.filing_number)
    parts = (filing.entity, filer.english, filer.company or "", *filer.words)
    # Ends with the separator, like the text (see _sqlite_match).
    filer_text = _SEPARATOR.join(normalize_query(part) for part in parts if part) + _SEPARATOR
    fields = [filing.name, filing.purpose, *(filing.products or []), filing.category or ""]
    # Ends with the separator: every 2-character substring then starts a trigram (_sqlite_match).
    text = _SEPARATOR.join([number, filer_text.rstrip(_SEPARATOR), *(normalize_query(p) for p in fields if p)]) + _SEPARATOR
    return {
        "filing_id": filing.id,
        "text": text,
        "filer": filer_text,
        "entity_en": filer.english,
        "company": filer.company,
        "number": number,
        "filing_updated_at": filing.updated_at,
        "describer": "",
    }


def refresh_search_text(session: Session, describe: Describer, version: str, *, batch: int = 2000) -> int:
    """(Re)build the search text of every filing whose row is missing or stale; returns how many.

    Stale: the filing changed since (``updated_at``) or the text came from another ``version`` of
    ``describe``. Run after each ingest and at app start; a fresh store costs one pass, in
    batches so that memory stays flat however large the store is.
    """
    stale = (
        select(Filing.id)
        .outerjoin(FilingSearch, FilingSearch.filing_id == Filing.id)
        .where(
            or_(
                FilingSearch.filing_id.is_(None),
                FilingSearch.filing_updated_at != Filing.updated_at,
                FilingSearch.describer != version,
            )
        )
        .order_by(Filing.id)
    )
    ids = list(session.scalars(stale))
    words: dict[str, FilerWords] = {}
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = []
        for filing in session.scalars(select(Filing).where(Filing.id.in_(chunk))):
            if filing.entity not in words:
                words[filing.entity] = describe(filing.entity)
            row = _search_row(filing, words[filing.entity])
            row["describer"] = version
            rows.append(row)
        # Delete + insert rather than upsert: portable, and the SQLite triggers keep FTS in step.
        session.execute(delete(FilingSearch).where(FilingSearch.filing_id.in_(chunk)))
        session.execute(insert(FilingSearch), rows)
        session.expunge_all()
    return len(ids)


def filer_names(session: Session, entities: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """entity → (English name, company) as stored with the search index (missing: not indexed yet)."""
    wanted = list(dict.fromkeys(entities))
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(wanted), 500):
        query = (
            select(Filing.entity, FilingSearch.entity_en, FilingSearch.company)
            .join(FilingSearch, FilingSearch.filing_id == Filing.id)
            .where(Filing.entity.in_(wanted[start : start + 500]))
            .distinct()
        )
        for entity, english, company in session.execute(query):
            found[entity] = (english, company)
    return found


# --- filings ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilingQuery:
    """Filters of the API, the search page and the filings feed (all optional, all narrowing)."""

    q: str = ""
    kind: str | None = None
    entity: str | None = None
    province: str | None = None
    status: str | None = None
    list_month: str | None = None
    role: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class FilingPage:
    items: list[dict[str, Any]]
    # (rank, id) of the last item when more follow: the keyset the next page starts after.
    next_key: tuple[int, int] | None
    total: int


# Above this many trigrams a 2-character query is answered by a scan rather than a long OR.
_MAX_PREFIX_TERMS = 2000


def _sqlite_match(session: Session, needle: str) -> str | None:
    """An FTS5 MATCH expression finding ``needle`` as a substring; None when only a scan can.

    3+ characters: the phrase itself (the trigram index finds substrings). 2 characters: the
    trigram tokenizer cannot match them directly, but every occurrence is the start of some
    trigram (each text ends with a separator), so OR together the indexed trigrams that begin
    with it, read from the index's own vocabulary. "" (no such trigram): nothing matches.
    """
    if len(needle) >= 3:
        return _fts_phrase(needle)
    if len(needle) == 2:
        vocab = table("filing_search_vocab", column("term"))
        terms = list(
            session.scalars(
                select(vocab.c.term)
                .where(vocab.c.term >= needle, vocab.c.term < needle + "\U0010ffff")
                .limit(_MAX_PREFIX_TERMS + 1)
            )
        )
        if len(terms) <= _MAX_PREFIX_TERMS:
            return " OR ".join(_fts_phrase(term) for term in terms)
    return None


@dataclass(frozen=True, slots=True)
class _Matching:
    """A query's filtered filings and its three ranks as disjoint conditions (rank 0, 1, 2)."""

    base: Select[Any]
    ranks: tuple[ColumnElement[bool], ...]  # empty without q: every filing alike
    every: ColumnElement[bool] | None  # any match (None without q)


def _matching(session: Session, query: FilingQuery) -> _Matching:
    base: Select[Any] = select(Filing).where(Filing.present.is_(True))
    for name in ("kind", "entity", "province", "status", "list_month", "role", "category"):
        value = getattr(query, name)
        if value is not None:
            base = base.where(getattr(Filing, name) == value)
    needle = normalize_query(query.q)
    if not needle:
        return _Matching(base, (), None)
    base = base.join(FilingSearch, FilingSearch.filing_id == Filing.id)
    pattern = _like_pattern(needle)
    match = _sqlite_match(session, needle) if session.get_bind().dialect.name == "sqlite" else None
    every: ColumnElement[bool]
    filer: ColumnElement[bool]
    if match == "":
        every = filer = false()
    elif match is not None:
        # The FTS table indexes the filer words as their own column: both sets come from the index.
        fts = table("filing_search_fts", column("rowid"))
        matches = column("filing_search_fts").op("MATCH")
        every = Filing.id.in_(select(fts.c.rowid).where(matches(match)))
        filer = Filing.id.in_(select(fts.c.rowid).where(matches(f"{{filer}} : ({match})")))
    else:
        every = FilingSearch.text.like(pattern, escape="\\")
        filer = FilingSearch.filer.like(pattern, escape="\\")
    number = FilingSearch.number == needle
    return _Matching(base, (number, and_(filer, ~number), and_(every, ~filer, ~number)), every)


def count_filings(session: Session, query: FilingQuery) -> int:
    matching = _matching(session, query)
    stmt = matching.base if matching.every is None else matching.base.where(matching.every)
    return int(session.scalar(stmt.with_only_columns(func.count(Filing.id)).order_by(None)) or 0)


def search_filings(
    session: Session, query: FilingQuery, *, limit: int, after: tuple[int, int] | None = None
) -> FilingPage:
    """One page of matches in (rank, id) order: exact number, then filer, then the rest.

    Each rank is read in primary-key order, starting after the cursor's key, until the page
    is full: no rank is computed for, or sorted over, every match. ``id`` only grows, so a
    filing stored while a client pages through comes after the pages already read (when it
    matches): following ``next_key`` visits every match exactly once. ``total`` is -1: counting
    is separate (``count_filings``), so callers may cache it.
    """
    matching = _matching(session, query)
    phases = list(enumerate(matching.ranks)) or [(0, true())]
    ranked: list[tuple[Filing, int]] = []
    for rank, condition in phases:
        stmt = matching.base.where(condition)
        if after is not None:
            if rank < after[0]:
                continue
            if rank == after[0]:
                stmt = stmt.where(Filing.id > after[1])
        wanted = limit + 1 - len(ranked)
        ranked += [(filing, rank) for filing in session.scalars(stmt.order_by(Filing.id).limit(wanted))]
        if len(ranked) > limit:
            break
    more = len(ranked) > limit
    ranked = ranked[:limit]
    next_key = (ranked[-1][1], ranked[-1][0].id) if more and ranked else None
    return FilingPage([filing_record(f) for f, _ in ranked], next_key, -1)


@dataclass(frozen=True, slots=True)
class NewFiling:
    record: dict[str, Any]
    first_seen_at: datetime


def new_filings(session: Session, query: FilingQuery, *, limit: int = 50) -> list[NewFiling]:
    """The newest filings matching ``query`` (first seen last comes first), for the filings feed."""
    matching = _matching(session, query)
    stmt = matching.base if matching.every is None else matching.base.where(matching.every)
    filings = session.scalars(stmt.order_by(Filing.id.desc()).limit(limit))
    return [NewFiling(filing_record(f), f.first_seen_at) for f in filings]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    change_type: str  # created | changed | cancelled | renamed | removed
    changes: dict[str, list[Any]]
    at: datetime
    list_kind: str | None
    list_month: str | None
    list_name: str | None
    version_id: int | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class Holding:
    """One row of one list version holding the filing (provenance)."""

    list_kind: str
    list_month: str
    list_name: str
    title: str
    page_url: str
    attachment_url: str
    is_cancellation: bool
    version_id: int
    sha256: str
    fetched_at: datetime
    row_index: int
    current: bool  # the list's current version


@dataclass(frozen=True, slots=True)
class FilingDetail:
    record: dict[str, Any]
    present: bool
    first_seen_at: datetime
    updated_at: datetime
    flags: list[Any]
    history: list[HistoryEntry]
    holdings: list[Holding]


def filing_detail(session: Session, kind: str, filing_number: str) -> FilingDetail | None:
    """A filing with every change to it and every list version holding it; None when unknown."""
    stored_form = _SPACE.sub("", unicodedata.normalize("NFKC", filing_number))
    filing = session.scalar(select(Filing).where(Filing.kind == kind, Filing.filing_number == stored_form))
    if filing is None:
        # Numbers are stored NFKC without whitespace but not case-folded; match loosely.
        filing = session.scalar(
            select(Filing)
            .join(FilingSearch, FilingSearch.filing_id == Filing.id)
            .where(Filing.kind == kind, FilingSearch.number == normalize_query(filing_number))
        )
    if filing is None:
        return None
    history_rows = session.execute(
        select(FilingChange, ListVersion, FilingList)
        .outerjoin(ListVersion, ListVersion.id == FilingChange.version_id)
        .outerjoin(FilingList, FilingList.id == ListVersion.list_id)
        .where(FilingChange.filing_id == filing.id)
        .order_by(FilingChange.at, FilingChange.id)
    ).all()
    history = [
        HistoryEntry(
            change.change_type,
            dict(change.changes or {}),
            change.at,
            flist.kind if flist else None,
            flist.list_month if flist else None,
            flist.name if flist else None,
            version.id if version else None,
            version.sha256 if version else None,
        )
        for change, version, flist in history_rows
    ]
    holding_rows = session.execute(
        select(ListRow.row_index, ListVersion, FilingList)
        .join(ListVersion, ListVersion.id == ListRow.version_id)
        .join(FilingList, FilingList.id == ListVersion.list_id)
        # (kind, filing_number) is indexed: name every kind so the index serves the lookup.
        .where(ListRow.kind.in_(_KINDS), ListRow.filing_number == filing.filing_number)
        .where(or_(ListRow.kind == kind, FilingList.is_cancellation.is_(True)))
        .order_by(FilingList.list_month, FilingList.id, ListVersion.id)
    ).all()
    holdings = [
        Holding(
            flist.kind,
            flist.list_month,
            flist.name,
            flist.title,
            flist.page_url,
            flist.attachment_url,
            flist.is_cancellation,
            version.id,
            version.sha256,
            version.fetched_at,
            row_index,
            flist.current_version_id == version.id,
        )
        for row_index, version, flist in holding_rows
    ]
    return FilingDetail(
        filing_record(filing), filing.present, filing.first_seen_at, filing.updated_at, list(filing.flags or []), history, holdings
    )


# --- lists ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    sha256: str
    format: str
    row_count: int
    fetched_at: datetime
    current: bool


@dataclass(frozen=True, slots=True)
class ListSummary:
    id: int
    kind: str
    list_month: str
    name: str
    title: str
    page_url: str
    attachment_url: str
    published_on: str | None
    is_cancellation: bool
    rows: int
    # Rank by size among the parsed lists of its kind (1 = largest; None for 注销 notices).
    rank: int | None
    of: int
    first_seen_at: datetime
    last_checked_at: datetime | None
    last_error: str | None
    versions: list[VersionInfo] = field(default_factory=list)


def list_summaries(session: Session, kind: str | None = None) -> list[ListSummary]:
    """Every list (newest month first) with its size, rank among its kind and versions."""
    lists = list(session.scalars(select(FilingList).order_by(FilingList.list_month.desc(), FilingList.id.desc())))
    versions: dict[int, list[ListVersion]] = defaultdict(list)
    for version in session.scalars(select(ListVersion).order_by(ListVersion.id)):
        versions[version.list_id].append(version)
    sizes: dict[int, int] = {}
    for flist in lists:
        current = [v for v in versions[flist.id] if v.id == flist.current_version_id]
        sizes[flist.id] = current[0].row_count if current else 0
    batches: dict[str, list[int]] = defaultdict(list)
    for flist in lists:
        if not flist.is_cancellation and flist.current_version_id is not None:
            batches[flist.kind].append(sizes[flist.id])
    out = []
    for flist in lists:
        if kind is not None and flist.kind != kind:
            continue
        ranked = not flist.is_cancellation and flist.current_version_id is not None
        peers = batches[flist.kind]
        out.append(
            ListSummary(
                flist.id,
                flist.kind,
                flist.list_month,
                flist.name,
                flist.title,
                flist.page_url,
                flist.attachment_url,
                flist.published_on,
                flist.is_cancellation,
                sizes[flist.id],
                1 + sum(1 for size in peers if size > sizes[flist.id]) if ranked else None,
                len(peers),
                flist.first_seen_at,
                flist.last_checked_at,
                flist.last_error,
                [
                    VersionInfo(v.id, v.sha256, v.format, v.row_count, v.fetched_at, v.id == flist.current_version_id)
                    for v in versions[flist.id]
                ],
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ListRowInfo:
    row_index: int
    filing_number: str
    fields: dict[str, Any]
    flags: list[Any]


@dataclass(frozen=True, slots=True)
class ListChange:
    """What one version of a list changed on one filing."""

    version_id: int
    kind: str
    filing_number: str
    change_type: str
    changes: dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class ListDetail:
    summary: ListSummary
    rows: list[ListRowInfo]
    filings: list[dict[str, Any]]  # export records of the filings in its current rows
    changes: list[ListChange]  # by every version except the first (re-issues)
    others: list[ListSummary]  # other lists of the same kind and month (e.g. a 注销 notice)


def list_detail(session: Session, kind: str, list_month: str) -> ListDetail | None:
    lists = [s for s in list_summaries(session, kind) if s.list_month == list_month]
    if not lists:
        return None
    lists.sort(key=lambda s: (s.is_cancellation, s.id))
    summary = lists[0]
    current = next((v.id for v in summary.versions if v.current), None)
    rows: list[ListRowInfo] = []
    filings: list[dict[str, Any]] = []
    if current is not None:
        rows = [
            ListRowInfo(r.row_index, r.filing_number, dict(r.fields or {}), list(r.flags or []))
            for r in session.scalars(select(ListRow).where(ListRow.version_id == current).order_by(ListRow.row_index))
        ]
        numbers = list(dict.fromkeys(r.filing_number for r in rows))
        by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for start in range(0, len(numbers), 500):
            stmt = select(Filing).where(Filing.filing_number.in_(numbers[start : start + 500])).order_by(Filing.kind)
            if not summary.is_cancellation:  # a 注销 notice names numbers of any series
                stmt = stmt.where(Filing.kind == kind)
            for filing in session.scalars(stmt):
                by_number[filing.filing_number].append(filing_record(filing))
        filings = [record for number in numbers for record in by_number[number]]
    later = [v.id for v in summary.versions[1:]]
    changes = [
        ListChange(int(version_id or 0), filing.kind, filing.filing_number, change.change_type, dict(change.changes or {}))
        for change, filing, version_id in session.execute(
            select(FilingChange, Filing, FilingChange.version_id)
            .join(Filing, Filing.id == FilingChange.filing_id)
            .where(FilingChange.version_id.in_(later), FilingChange.change_type != "created")
            .where(FilingChange.version_id.is_not(None))
            .order_by(FilingChange.version_id, FilingChange.id)
        )
    ] if later else []
    return ListDetail(summary, rows, filings, changes, lists[1:])


# --- filers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntitySummary:
    entity: str
    filings: int
    cancelled: int
    by_kind: dict[str, int]


def entities(session: Session, q: str, *, limit: int = 100) -> list[EntitySummary]:
    """Filers whose name (or the words the app gave for it: English name, group) contains ``q``."""
    needle = normalize_query(q)
    stmt = select(Filing.entity, Filing.kind, Filing.status, func.count(Filing.id)).where(Filing.present.is_(True))
    if needle:
        stmt = stmt.join(FilingSearch, FilingSearch.filing_id == Filing.id).where(
            FilingSearch.filer.like(_like_pattern(needle), escape="\\")
        )
    stmt = stmt.group_by(Filing.entity, Filing.kind, Filing.status)
    grouped: dict[str, dict[str, Any]] = {}
    for entity, kind, status, count in session.execute(stmt):
        entry = grouped.setdefault(entity, {"filings": 0, "cancelled": 0, "by_kind": defaultdict(int)})
        entry["filings"] += count
        entry["by_kind"][kind] += count
        if status == "cancelled":
            entry["cancelled"] += count
    ordered = sorted(grouped.items(), key=lambda item: (-item[1]["filings"], item[0]))[:limit]
    return [EntitySummary(name, e["filings"], e["cancelled"], dict(e["by_kind"])) for name, e in ordered]


def entity_filings(session: Session, entity: str) -> list[tuple[dict[str, Any], bool]]:
    """Every filing of a filer across the three kinds, with whether it is still listed."""
    stmt = select(Filing).where(Filing.entity == entity).order_by(Filing.kind, Filing.list_month, Filing.id)
    return [(filing_record(f), f.present) for f in session.scalars(stmt)]


# --- overview and facets ------------------------------------------------------------------------


def kind_totals(session: Session) -> dict[str, dict[str, int]]:
    """Per kind: filings listed now, how many cancelled, and lists."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"filings": 0, "cancelled": 0, "lists": 0})
    for kind, status, count in session.execute(
        select(Filing.kind, Filing.status, func.count(Filing.id))
        .where(Filing.present.is_(True))
        .group_by(Filing.kind, Filing.status)
    ):
        totals[kind]["filings"] += count
        if status == "cancelled":
            totals[kind]["cancelled"] += count
    for kind, count in session.execute(
        select(FilingList.kind, func.count(FilingList.id))
        .where(FilingList.current_version_id.is_not(None), FilingList.is_cancellation.is_(False))
        .group_by(FilingList.kind)
    ):
        totals[kind]["lists"] = count
    return dict(totals)


@dataclass(frozen=True, slots=True)
class Facets:
    provinces: list[str]
    list_months: list[str]
    categories: list[str]


def facets(session: Session) -> Facets:
    """The values the search page offers in its filter menus."""

    def distinct(col: Any) -> list[str]:
        return [v for v in session.scalars(select(col).where(Filing.present.is_(True), col.is_not(None)).distinct()) if v]

    return Facets(sorted(distinct(Filing.province)), sorted(distinct(Filing.list_month), reverse=True), sorted(distinct(Filing.category)))


# --- feeds ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One list version that changed rows: the list's publication or a re-issue."""

    type: str  # list.published | list.revised
    summary: ListSummary
    version_id: int
    at: datetime
    counts: dict[str, int]
    notable: list[dict[str, Any]]  # findings ({"type", "zh", "en", "data"}) of the stored event
    changes: int  # filings this version changed (re-issues)


def list_feed(session: Session, kind: str | None = None, *, limit: int = 50) -> list[FeedEntry]:
    """Published and revised lists, newest first.

    Derived from the stored versions (so lists ingested silently on a baseline first run are in
    it too), enriched with the counts and notable findings of the event written for the version
    when there is one (the event of a version is the list's first after the version was fetched).
    """
    summaries = {s.id: s for s in list_summaries(session, kind)}
    events: dict[int, list[OutboxEvent]] = defaultdict(list)
    for stored in session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.list_id.in_(list(summaries)), OutboxEvent.type.in_(("list.published", "list.revised")))
        .order_by(OutboxEvent.id)
    ):
        part = (stored.payload.get("data") or {}).get("part") or {}
        if int(part.get("index", 1)) == 1:  # a split event: its first part carries everything but filings
            events[stored.list_id or 0].append(stored)
    change_counts: dict[int, int] = {
        version_id: count
        for version_id, count in session.execute(
            select(FilingChange.version_id, func.count(FilingChange.id))
            .where(FilingChange.change_type != "created")
            .group_by(FilingChange.version_id)
        )
        if version_id is not None
    }
    entries: list[FeedEntry] = []
    for summary in summaries.values():
        previous_digest: str | None = None
        digests = dict(
            session.execute(select(ListVersion.id, ListVersion.rows_digest).where(ListVersion.list_id == summary.id)).all()
        )
        ordered = summary.versions
        for index, version in enumerate(ordered):
            digest = digests.get(version.id)
            if index > 0 and digest == previous_digest:
                continue  # new bytes, same rows: not an entry (no event either)
            previous_digest = digest
            following = ordered[index + 1].fetched_at if index + 1 < len(ordered) else None
            event: OutboxEvent | None = next(
                (
                    e
                    for e in events[summary.id]
                    if e.created_at >= version.fetched_at and (following is None or e.created_at < following)
                ),
                None,
            )
            data = (event.payload.get("data") or {}) if event else {}
            counts = dict(data.get("counts") or {})
            if not counts:
                counts = {"rows": version.row_count, "changed": change_counts.get(version.id, 0)}
            entries.append(
                FeedEntry(
                    "list.published" if index == 0 else "list.revised",
                    summary,
                    version.id,
                    version.fetched_at,
                    {k: int(v) for k, v in counts.items() if isinstance(v, int)},
                    list(data.get("notable") or []),
                    change_counts.get(version.id, 0) if index else 0,
                )
            )
    entries.sort(key=lambda e: (e.at, e.version_id), reverse=True)
    return entries[:limit]



class Corpus:
    """The read queries over one database, each in its own short transaction (for bot.web)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def filer_names(self, entities: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        with self.db.session() as session:
            return filer_names(session, entities)

    def data_version(self) -> int:
        """Grows with every stored list version: every ingest that can change a filing makes one."""
        with self.db.session() as session:
            return int(session.scalar(select(func.max(ListVersion.id))) or 0)

    def refresh_search_text(self, describe: Describer, version: str) -> int:
        with self.db.session() as session:
            return refresh_search_text(session, describe, version)

    def count_filings(self, query: FilingQuery) -> int:
        with self.db.session() as session:
            return count_filings(session, query)

    def search_filings(self, query: FilingQuery, *, limit: int, after: tuple[int, int] | None = None) -> FilingPage:
        with self.db.session() as session:
            return search_filings(session, query, limit=limit, after=after)

    def new_filings(self, query: FilingQuery, *, limit: int = 50) -> list[NewFiling]:
        with self.db.session() as session:
            return new_filings(session, query, limit=limit)

    def filing_detail(self, kind: str, filing_number: str) -> FilingDetail | None:
        with self.db.session() as session:
            return filing_detail(session, kind, filing_number)

    def list_summaries(self, kind: str | None = None) -> list[ListSummary]:
        with self.db.session() as session:
            return list_summaries(session, kind)

    def list_detail(self, kind: str, list_month: str) -> ListDetail | None:
        with self.db.session() as session:
            return list_detail(session, kind, list_month)

    def entities(self, q: str, *, limit: int = 100) -> list[EntitySummary]:
        with self.db.session() as session:
            return entities(session, q, limit=limit)

    def entity_filings(self, entity: str) -> list[tuple[dict[str, Any], bool]]:
        with self.db.session() as session:
            return entity_filings(session, entity)

    def list_feed(self, kind: str | None = None, *, limit: int = 50) -> list[FeedEntry]:
        with self.db.session() as session:
            return list_feed(session, kind, limit=limit)

    def facets(self) -> Facets:
        with self.db.session() as session:
            return facets(session)

    def kind_totals(self) -> dict[str, dict[str, int]]:
        with self.db.session() as session:
            return kind_totals(session)

    def list_sizes(self, kind: str) -> list[tuple[str, int]]:
        with self.db.session() as session:
            return list_sizes(session, kind)
