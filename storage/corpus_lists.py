"""Read queries of the web side beyond search: a filing's history and provenance, lists and
their versions, filers, overview totals, filter values, and the feed of list events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.corpus_search import KINDS, filer_matches, normalize_query, stored_number
from storage.models import Filing, FilingChange, FilingList, ListRow, ListVersion
from storage.models_outbox import OutboxEvent
from storage.models_search import FilingSearch
from storage.repo import filing_record

__all__ = [
    "ListIdentity",
    "list_identity",
    "HistoryEntry",
    "Holding",
    "FilingDetail",
    "filing_detail",
    "VersionInfo",
    "ListSummary",
    "list_summaries",
    "ListRowInfo",
    "ListChange",
    "ListDetail",
    "list_detail",
    "ListFiles",
    "list_files",
    "version_numbers",
    "EntitySummary",
    "entities",
    "entity_filings",
    "kind_totals",
    "Facets",
    "facets",
    "FeedEntry",
    "list_feed",
]


@dataclass(frozen=True, slots=True)
class ListIdentity:
    """Which published list: kind, month, names, and where CAC has it (page, attachment)."""

    kind: str
    list_month: str
    name: str
    title: str
    page_url: str
    attachment_url: str


def list_identity(flist: FilingList) -> dict[str, str]:
    """The ``ListIdentity`` fields of a stored list, as keyword arguments."""
    return {name: getattr(flist, name) for name in ("kind", "list_month", "name", "title", "page_url", "attachment_url")}


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
    # The list's date (when CAC first published it, storage.list_dates) and on what it rests.
    list_published_on: str | None = None
    list_published_basis: str | None = None
    version_number: int | None = None  # 1-based among the list's versions


@dataclass(frozen=True, slots=True)
class Holding(ListIdentity):
    """One row of one list version holding the filing (provenance)."""

    is_cancellation: bool
    version_id: int
    sha256: str
    fetched_at: datetime
    row_index: int  # 0-based position among the list's data rows
    current: bool  # the list's current version
    # 序号 as printed (None: no 序号 in the table, or a row stored before it was kept).
    seq: str | None = None
    format: str = ""
    version_number: int = 1  # 1-based among the list's versions (the archived file's route)
    list_published_on: str | None = None
    list_published_basis: str | None = None
    # The list its page and archived file are found under (a 注销 notice of a month that has a
    # list of its own is not: /lists/{kind}/{month} is that list).
    primary: bool = True


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
    stored_form = stored_number(filing_number)
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
    list_ids = {flist.id for _, _, flist in history_rows if flist is not None}
    holding_rows = session.execute(
        select(ListRow.row_index, ListRow.seq, ListVersion, FilingList)
        .join(ListVersion, ListVersion.id == ListRow.version_id)
        .join(FilingList, FilingList.id == ListVersion.list_id)
        # (kind, filing_number) is indexed: name every kind so the index serves the lookup.
        .where(ListRow.kind.in_(KINDS), ListRow.filing_number == filing.filing_number)
        .where(or_(ListRow.kind == kind, FilingList.is_cancellation.is_(True)))
        .order_by(FilingList.list_month, FilingList.id, ListVersion.id)
    ).all()
    list_ids |= {flist.id for _, _, _, flist in holding_rows}
    numbers = version_numbers(session, list_ids)
    primary = primary_lists(session, {(flist.kind, flist.list_month) for _, _, _, flist in holding_rows})
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
            flist.first_published_on if flist else None,
            flist.published_basis if flist else None,
            numbers.get(version.id) if version else None,
        )
        for change, version, flist in history_rows
    ]
    holdings = [
        Holding(
            **list_identity(flist),
            is_cancellation=flist.is_cancellation,
            version_id=version.id,
            sha256=version.sha256,
            fetched_at=version.fetched_at,
            row_index=row_index,
            current=flist.current_version_id == version.id,
            seq=seq,
            format=version.format,
            version_number=numbers.get(version.id, 1),
            list_published_on=flist.first_published_on,
            list_published_basis=flist.published_basis,
            primary=flist.id in primary,
        )
        for row_index, seq, version, flist in holding_rows
    ]
    return FilingDetail(
        filing_record(filing), filing.present, filing.first_seen_at, filing.updated_at, list(filing.flags or []), history, holdings
    )


# --- lists ------------------------------------------------------------------------------------


def version_numbers(session: Session, list_ids: set[int]) -> dict[int, int]:
    """Each version of these lists by id → its 1-based number among its list's versions."""
    numbers: dict[int, int] = {}
    counts: dict[int, int] = defaultdict(int)
    ids = sorted(list_ids)
    for start in range(0, len(ids), 500):
        for version_id, list_id in session.execute(
            select(ListVersion.id, ListVersion.list_id)
            .where(ListVersion.list_id.in_(ids[start : start + 500]))
            .order_by(ListVersion.id)
        ):
            counts[list_id] += 1
            numbers[version_id] = counts[list_id]
    return numbers


def primary_lists(session: Session, months: set[tuple[str, str]]) -> set[int]:
    """The ids of the lists ``/lists/{kind}/{month}`` shows for these (kind, month) pairs: of
    the lists of a kind and month, the first that is not a 注销 notice (as ``list_detail``)."""
    chosen: dict[tuple[str, str], tuple[bool, int]] = {}
    for kind in {k for k, _ in months}:
        wanted = sorted(m for k, m in months if k == kind)
        for start in range(0, len(wanted), 500):
            for list_id, month, cancellation in session.execute(
                select(FilingList.id, FilingList.list_month, FilingList.is_cancellation)
                .where(FilingList.kind == kind, FilingList.list_month.in_(wanted[start : start + 500]))
            ):
                key, rank = (kind, month), (bool(cancellation), list_id)
                if key not in chosen or rank < chosen[key]:
                    chosen[key] = rank
    return {list_id for _, list_id in chosen.values()}


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    sha256: str
    format: str
    row_count: int
    fetched_at: datetime
    current: bool
    number: int = 1  # 1-based among the list's versions (the archived file's route)


@dataclass(frozen=True, slots=True)
class ListSummary(ListIdentity):
    id: int
    published_on: str | None  # the date of the page it was found on
    is_cancellation: bool
    rows: int
    # Rank by size among the parsed lists of its kind (1 = largest; None for 注销 notices).
    rank: int | None
    of: int
    first_seen_at: datetime
    last_checked_at: datetime | None
    last_error: str | None
    versions: list[VersionInfo] = field(default_factory=list)
    # When CAC first published it and on what that rests (announced | first_seen).
    first_published_on: str | None = None
    published_basis: str | None = None


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
                **list_identity(flist),
                id=flist.id,
                published_on=flist.published_on,
                is_cancellation=flist.is_cancellation,
                rows=sizes[flist.id],
                rank=1 + sum(1 for size in peers if size > sizes[flist.id]) if ranked else None,
                of=len(peers),
                first_seen_at=flist.first_seen_at,
                last_checked_at=flist.last_checked_at,
                last_error=flist.last_error,
                versions=[
                    VersionInfo(v.id, v.sha256, v.format, v.row_count, v.fetched_at, v.id == flist.current_version_id, n)
                    for n, v in enumerate(versions[flist.id], start=1)
                ],
                first_published_on=flist.first_published_on,
                published_basis=flist.published_basis,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ListRowInfo:
    row_index: int  # 0-based position
    filing_number: str
    fields: dict[str, Any]
    flags: list[Any]
    seq: str | None = None  # 序号 as printed, when the table has one


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
            ListRowInfo(r.row_index, r.filing_number, dict(r.fields or {}), list(r.flags or []), r.seq)
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


@dataclass(frozen=True, slots=True)
class ListFiles(ListIdentity):
    """A list's archived attachments: every version's bytes (by sha256) and format, numbered
    from 1, the current one marked (the list a list page shows: a list before a 注销 notice)."""

    id: int
    is_cancellation: bool
    versions: list[VersionInfo]

    def version(self, number: int | None) -> VersionInfo | None:
        """Version ``number`` (1-based), or the current one for None; None when there is none."""
        if number is None:
            return next((v for v in self.versions if v.current), None)
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None


def list_files(session: Session, kind: str, list_month: str) -> ListFiles | None:
    """The versions of the list of ``kind`` named for ``list_month``; None when there is none."""
    flist = session.scalar(
        select(FilingList)
        .where(FilingList.kind == kind, FilingList.list_month == list_month)
        .order_by(FilingList.is_cancellation, FilingList.id)
        .limit(1)
    )
    if flist is None:
        return None
    versions = session.scalars(select(ListVersion).where(ListVersion.list_id == flist.id).order_by(ListVersion.id))
    return ListFiles(
        **list_identity(flist),
        id=flist.id,
        is_cancellation=flist.is_cancellation,
        versions=[
            VersionInfo(v.id, v.sha256, v.format, v.row_count, v.fetched_at, v.id == flist.current_version_id, n)
            for n, v in enumerate(versions, start=1)
        ],
    )


# --- filers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntitySummary:
    entity: str
    filings: int
    cancelled: int
    by_kind: dict[str, int]


def entities(session: Session, q: str, *, limit: int = 100) -> list[EntitySummary]:
    """Filers whose name (or the words the app gave for it: English name, group) contains ``q``."""
    stmt = select(Filing.entity, Filing.kind, Filing.status, func.count(Filing.id)).where(Filing.present.is_(True))
    matches = filer_matches(session, q)
    if matches is not None:
        # Through the search indexes (FTS5 / pg_trgm / the character array), as searches are.
        stmt = stmt.join(FilingSearch, FilingSearch.filing_id == Filing.id).where(matches)
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


class FilerIndex:
    """Every listed filer with its counts and its search words, for ``/api/v1/entities?q=``.

    A query that matches most filers (one common character: 有, 公) would otherwise group
    nearly every filing per request; this is built once per state of the data (one grouped
    query) and answers any query by substring search over one string of every filer's
    normalised words: the same matches as the search index, in milliseconds. Compact: one
    string, the names, and three arrays (~12 MB for 35,000 filers).
    """

    def __init__(self, rows: list[tuple[str, str, dict[str, int], int, str, str | None]]) -> None:
        from array import array

        rows.sort(key=lambda row: (-sum(row[2].values()), row[0]))  # the answer's order
        self._names = [row[0] for row in rows]
        self._by_kind = [row[2] for row in rows]
        self._cancelled = array("l", (row[3] for row in rows))
        self._english = [row[4] for row in rows]
        self._company = [row[5] for row in rows]
        starts = array("l")
        parts, at = [], 0
        for row in rows:
            starts.append(at)
            parts.append(row[1])
            at += len(row[1]) + 1
        self._starts = starts
        self._words = "\x00".join(parts)  # \x00 never occurs in a normalised query

    def __len__(self) -> int:
        return len(self._names)

    def search(self, q: str, *, limit: int) -> list[EntitySummary]:
        return [summary for summary, _, _ in self.search_named(q, limit=limit)]

    def search_named(self, q: str, *, limit: int) -> list[tuple[EntitySummary, str, str | None]]:
        """As ``search``, each filer with its English name and company (as ``filer_names``)."""
        from bisect import bisect_right

        needle = normalize_query(q)
        if not needle:
            hits: list[int] = list(range(min(limit, len(self._names))))
        else:
            # The words are in the answer's order: the first `limit` filers found are the answer.
            hits = []
            at = self._words.find(needle)
            while at >= 0 and len(hits) < limit:
                filer = bisect_right(self._starts, at) - 1
                hits.append(filer)
                # On to the next filer's words: a filer counts once.
                at = self._words.find(needle, self._starts[filer + 1] if filer + 1 < len(self._starts) else len(self._words))
        return [
            (
                EntitySummary(self._names[i], sum(self._by_kind[i].values()), self._cancelled[i], dict(self._by_kind[i])),
                self._english[i],
                self._company[i],
            )
            for i in hits
        ]


def filer_index(session: Session) -> FilerIndex:
    """Every filer listed now, with its counts and search words (see ``FilerIndex``)."""
    stmt = (
        select(
            Filing.entity, Filing.kind, Filing.status, func.count(Filing.id),
            func.max(FilingSearch.filer), func.max(FilingSearch.entity_en), func.max(FilingSearch.company),
        )
        .join(FilingSearch, FilingSearch.filing_id == Filing.id)
        .where(Filing.present.is_(True))
        .group_by(Filing.entity, Filing.kind, Filing.status)
    )
    grouped: dict[str, tuple[str, dict[str, int], list[int], str, str | None]] = {}
    for entity, kind, status, count, words, english, company in session.execute(stmt):
        entry = grouped.setdefault(entity, (words or "", defaultdict(int), [0], english or "", company))
        entry[1][kind] += count
        if status == "cancelled":
            entry[2][0] += count
    return FilerIndex(
        [(entity, words, dict(by_kind), cancelled[0], english, company) for entity, (words, by_kind, cancelled, english, company) in grouped.items()]
    )


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
    # GenAI lists, from the stored event: its ``counts.genai`` split, its ``data.totals`` (CAC's
    # stated totals against what was held) and its new filings (the first part's), from which
    # the split of an event stored before ``counts.genai`` existed is worked out.
    genai: dict[str, int] | None = None
    totals: dict[str, Any] | None = None
    new: list[dict[str, Any]] = field(default_factory=list)


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
                    genai if isinstance(genai := (data.get("counts") or {}).get("genai"), dict) else None,
                    totals if isinstance(totals := data.get("totals"), dict) else None,
                    list(data.get("new") or []),
                )
            )
    entries.sort(key=lambda e: (e.at, e.version_id), reverse=True)
    return entries[:limit]



