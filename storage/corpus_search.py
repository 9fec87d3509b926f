"""Search over the stored filings: the index text, its refresh, and filtered, ranked paging.

A filing matches a query when the query, normalised like the text (NFKC, casefold,
whitespace removed), is a substring of the filing's search text (``storage.models_search``).
SQLite answers through its FTS5 trigram index (3+ characters; 2 through the index's own
vocabulary) and falls back to a LIKE over the same column for 1; PostgreSQL uses LIKE, which
its pg_trgm GIN indexes serve (3+ characters), and for 2 characters the GIN-indexed array of
each text's bigrams. Either way the answer is the same set: the index only makes it fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, any_, column, delete, exists, false, func, insert, or_, select, table, text, true, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from scrapers.records import Kind
from storage.models import Filing
from storage.models_search import FilingSearch, FilingWords
from storage.repo import EXPORT_COLUMNS, record_of_row
from storage.words import word_needles, word_text

__all__ = [
    "normalize_query",
    "like_pattern",
    "stored_number",
    "KINDS",
    "FilerWords",
    "Describer",
    "refresh_search_text",
    "filer_names",
    "FilingQuery",
    "FilingPage",
    "count_filings",
    "search_filings",
    "NewFiling",
    "new_filings",
    "filer_matches",
    "whole_words",
]

# Zero-width and other invisible format characters survive NFKC and \s.
_SPACE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+")
_SEPARATOR = "\n"
KINDS = tuple(kind.value for kind in Kind)  # between fields of the search text; a normalised query never contains it


def normalize_query(text: str) -> str:
    """NFKC, casefold, whitespace removed: how both the index and every query are compared."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


def like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def stored_number(filing_number: str) -> str:
    """A filing number as storage keeps it: NFKC, whitespace removed (case kept)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", filing_number))


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
    company_key: str | None = None  # the group's or foreign company's key (bytedance, hp)
    company_zh: str | None = None  # its Chinese name (字节跳动, 惠普)
    foreign: bool = False  # a foreign company (rather than a Chinese group)


# Gives the words for a filer; passed with a version string that changes whenever the words
# would (rows built by another version are stale).
Describer = Callable[[str], FilerWords]


# Part of every row's staleness key beside the describer's version: a change to how rows are
# built here rebuilds them all once (s2: bigrams on PostgreSQL; s3: texts end with two
# separators, so every character starts a trigram, and the array holds single characters too:
# 1-character queries are served by the indexes; s4: whole-word texts and the company group).
_ROW_FORMAT = "s4"
_END = _SEPARATOR * 2
# A refresh of at least this many rows is followed by ANALYZE: the planner's estimates of a
# freshly filled index are far off (on PostgreSQL a bitmap scan of 50k matches sorted for a
# page of 50, where walking the primary key stops after a few hundred rows).
_ANALYZE_AFTER = 1000
_CLEAN_GIN_PENDING = (
    "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'filing_search'::regclass AND a.amname = 'gin'"
)


def _bigrams(text: str) -> list[str]:
    """The distinct 1- and 2-character substrings of a search text that a query can be (no
    separator): what the GIN-indexed array answers for queries pg_trgm cannot serve."""
    pairs = (text[i : i + 2] for i in range(len(text) - 1))
    return sorted({pair for pair in pairs if _SEPARATOR not in pair} | (set(text) - {_SEPARATOR}))


def _words_row(filing: Filing, filer: FilerWords) -> dict[str, Any]:
    """The same fields as the search text, marked for whole Latin words (storage.words), kept apart."""
    parts = (filing.entity, filer.english, filer.company or "", *filer.words)
    fields = (filing.name, filing.purpose, *(filing.products or []), filing.category or "")
    return {
        "filing_id": filing.id,
        "words": _SEPARATOR.join(word_text(p) for p in (filing.filing_number, *parts, *fields) if p),
        "filer_words": _SEPARATOR.join(word_text(p) for p in parts if p),
    }


def _search_row(filing: Filing, filer: FilerWords, *, bigrams: bool) -> dict[str, Any]:
    number = normalize_query(filing.filing_number)
    parts = (filing.entity, filer.english, filer.company or "", *filer.words)
    # Ends with two separators, like the text (see _sqlite_match).
    filer_text = _SEPARATOR.join(normalize_query(part) for part in parts if part) + _END
    fields = [filing.name, filing.purpose, *(filing.products or []), filing.category or ""]
    # Ends with two separators: every 1- and 2-character substring then starts a trigram (_sqlite_match).
    text = _SEPARATOR.join([number, filer_text.rstrip(_SEPARATOR), *(normalize_query(p) for p in fields if p)]) + _END
    return {
        "filing_id": filing.id,
        "text": text,
        "filer": filer_text,
        "entity_en": filer.english,
        "company": filer.company,
        "company_key": filer.company_key,
        "company_zh": filer.company_zh,
        "is_foreign": filer.foreign if filer.company_key else None,
        "number": number,
        "filing_updated_at": filing.updated_at,
        "describer": "",
        "bigrams": _bigrams(text) if bigrams else None,
    }


def refresh_search_text(session: Session, describe: Describer, version: str, *, batch: int = 2000) -> int:
    """(Re)build the search text of every filing whose row is missing or stale; returns how many.

    Stale: the filing changed since (``updated_at``) or the text came from another ``version`` of
    ``describe`` or another row format of this module. Run after each ingest and at app start; a
    fresh store costs one pass, in batches so that memory stays flat however large the store is.
    """
    version = f"{version}+{_ROW_FORMAT}"
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
    postgres = session.get_bind().dialect.name == "postgresql"
    words: dict[str, FilerWords] = {}
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = []
        marked = []
        for filing in session.scalars(select(Filing).where(Filing.id.in_(chunk))):
            if filing.entity not in words:
                words[filing.entity] = describe(filing.entity)
            row = _search_row(filing, words[filing.entity], bigrams=postgres)
            row["describer"] = version
            rows.append(row)
            marked.append(_words_row(filing, words[filing.entity]))
        # Delete + insert rather than upsert: portable, and the SQLite triggers keep FTS in step.
        session.execute(delete(FilingSearch).where(FilingSearch.filing_id.in_(chunk)))
        session.execute(delete(FilingWords).where(FilingWords.filing_id.in_(chunk)))
        session.execute(insert(FilingSearch), rows)
        session.execute(insert(FilingWords), marked)
        session.expunge_all()
    if postgres and ids:
        # GIN indexes take inserts into a pending list that every search then scans (and the
        # planner prices, choosing a sequential scan instead): merge it into the index now.
        session.execute(text(_CLEAN_GIN_PENDING))
    if len(ids) >= _ANALYZE_AFTER:
        # SQLite too: without statistics its planner takes any index on an equality as
        # selective, and reads all 31k filings of kind=genai_service&status=active through
        # ix_filings_filters to sort them for a page of 50 (11 ms) where walking the ids stops
        # after ~150 rows (1.5 ms); "q=推荐&province=北京市": 80 → 15 ms on 100k filings.
        session.execute(text("ANALYZE filings"))
        session.execute(text("ANALYZE filing_search"))
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
    registration: str | None = None  # GenAI: filed | registered
    group: str | None = None  # the filer's company group or foreign company, by key (bytedance, hp)
    foreign: bool | None = None  # True: foreign companies' filings only; False: none of them


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

    3+ characters: the phrase itself (the trigram index finds substrings). 1 or 2 characters:
    the trigram tokenizer cannot match them directly, but every occurrence is the start of some
    trigram (each text ends with two separators), so OR together the indexed trigrams that
    begin with it, read from the index's own vocabulary. "" (no such trigram): nothing matches.
    A character so common that more than _MAX_PREFIX_TERMS trigrams start with it is left to a
    scan, which finds a page of it at once.
    """
    if len(needle) >= 3:
        return _fts_phrase(needle)
    if len(needle) in (1, 2):
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


# A 1- or 2-character needle in at least this many texts is "common" on PostgreSQL. Below it,
# its texts' ids (one array parameter) answer faster than LIKE over every text: on 100k
# filings, 3k matches are counted in ~30 ms by id, ~200 ms by LIKE.
_COMMON = 5000


def _rare_on_postgres(session: Session, needle: str) -> list[int] | None:
    """The ids of the texts holding ``needle`` when they are few (under ``_COMMON``), else None.

    Asked first, cheaply either way: a rare needle's texts are found by the array's index, a
    common one's first ``_COMMON`` in the first rows scanned. A common needle is then matched by
    LIKE on the text (the planner reads its frequency from the array's statistics and would test
    ``@>`` on every row, ~7 µs each, 0.7 s for 100k filings, where LIKE costs ~1 µs). A rare one
    is matched by these ids: given the array test itself, the planner walked every filing in id
    order for a page of its rare matches (0.5 s for 110 of 100k filings), pricing it as common.
    """
    contains = type_coerce(FilingSearch.bigrams, postgresql.ARRAY(Text())).contains([needle])
    ids = list(session.scalars(select(FilingSearch.filing_id).where(contains).limit(_COMMON)))
    return ids if len(ids) < _COMMON else None


def whole_words(dialect: str, column: Any, needles: Iterable[str]) -> ColumnElement[bool]:
    """The filing's marked text (``filing_words``, correlated to ``Filing``) contains one of
    ``needles`` (``storage.words.word_needles``): no row, no match."""
    contains = func.strpos if dialect == "postgresql" else func.instr
    found = or_(*(contains(column, needle) > 0 for needle in needles))
    return exists(select(FilingWords.filing_id).where(FilingWords.filing_id == Filing.id, found).correlate(Filing))


# The SQLite search index (migration 0006): rowid = filings.id; MATCH on the table's own name.
_FTS = table("filing_search_fts", column("rowid"))
_FTS_MATCH = column("filing_search_fts").op("MATCH")


@dataclass(frozen=True, slots=True)
class _Matching:
    """A query's filtered filings and its three ranks as disjoint conditions (rank 0, 1, 2)."""

    base: Select[Any]
    ranks: tuple[ColumnElement[bool], ...]  # empty without q: every filing alike
    every: ColumnElement[bool] | None  # any match (None without q)
    filer: ColumnElement[bool] | None = None  # the filer words match (None without q)
    # ``base`` without the join to the search rows, when ``every`` does not need them (the
    # FTS index is looked up by rowid; a rare needle's ids on PostgreSQL): what a count reads,
    # at half the cost on 100k filings (a tenth for 3k ids on PostgreSQL).
    unjoined: Select[Any] | None = None
    joined: bool = False  # ``base`` joins the search rows (their columns can be read directly)
    # Per rank, an FTS5 MATCH that drives the page's read (SQLite): the index yields its rows in
    # rowid (= filing id) order, so a page stops after its rows instead of collecting every match
    # of a broad word first (0.3 ms instead of 75 ms for 50 of 52k matches on 100k filings).
    # The rank's condition then holds only what the MATCH does not say.
    drivers: tuple[ColumnElement[bool] | None, ...] = ()


def _matching(session: Session, query: FilingQuery) -> _Matching:
    base: Select[Any] = select(Filing).where(Filing.present.is_(True))
    for name in ("kind", "entity", "province", "status", "list_month", "role", "category", "registration"):
        value = getattr(query, name)
        if value is not None:
            base = base.where(getattr(Filing, name) == value)
    unjoined = base  # the filters on the filings alone, before any join to the search rows
    needle = normalize_query(query.q)
    if needle or query.group is not None or query.foreign is not None:
        base = base.join(FilingSearch, FilingSearch.filing_id == Filing.id)
    if query.group is not None:
        base = base.where(FilingSearch.company_key == query.group)
    if query.foreign is True:
        base = base.where(FilingSearch.is_foreign.is_(True))
    elif query.foreign is False:
        base = base.where(or_(FilingSearch.is_foreign.is_(None), FilingSearch.is_foreign.is_(False)))
    joined = bool(needle) or query.group is not None or query.foreign is not None
    if not needle:
        return _Matching(base, (), None, joined=joined)
    pattern = like_pattern(needle)
    dialect = session.get_bind().dialect.name
    match = _sqlite_match(session, needle) if dialect == "sqlite" else None
    filer_like = FilingSearch.filer.like(pattern, escape="\\")
    every: ColumnElement[bool]
    filer: ColumnElement[bool]
    fts_every: ColumnElement[bool] | None = None
    fts_filer: ColumnElement[bool] | None = None
    rare = _rare_on_postgres(session, needle) if dialect == "postgresql" and len(needle) <= 2 else None
    if rare is not None:
        # Every 1- or 2-character needle found in a text is in its array (migration 0009).
        ids = type_coerce(rare, postgresql.ARRAY(Integer()))
        # On the filing (a count reads no search row) and, for the filer rank, on the search row
        # its LIKE reads: given ANY on the filing there, the planner scanned every filing.
        every, filer = Filing.id == any_(ids), and_(FilingSearch.filing_id == any_(ids), filer_like)
    elif match == "":
        every = filer = false()
    elif match is not None:
        # The FTS table indexes the filer words as their own column: both sets come from the index.
        fts_every, fts_filer = _FTS_MATCH(match), _FTS_MATCH(f"{{filer}} : ({match})")
        every = Filing.id.in_(select(_FTS.c.rowid).where(fts_every))
        filer = Filing.id.in_(select(_FTS.c.rowid).where(fts_filer))
    else:
        every = FilingSearch.text.like(pattern, escape="\\")
        filer = filer_like
    needles = word_needles(query.q)
    every_words: ColumnElement[bool] = true()
    filer_words: ColumnElement[bool] = true()
    if needles:
        # One meaning per word: the index found the text; its Latin words must be whole.
        every_words = whole_words(dialect, FilingWords.words, needles)
        filer_words = whole_words(dialect, FilingWords.filer_words, needles)
        every, filer = and_(every, every_words), and_(filer, filer_words)
    number = FilingSearch.number == needle
    ranks = (number, and_(filer, ~number), and_(every, ~filer, ~number))
    drivers: tuple[ColumnElement[bool] | None, ...] = ()
    if fts_every is not None and fts_filer is not None:
        # The filer column ends with two separators like the text, so its MATCH is exactly
        # "the filer holds the needle", as filer_like says row by row: rank 2 leaves out rank 1's
        # rows without collecting them.
        ranks = (number, and_(filer_words, ~number), and_(every_words, ~and_(filer_like, filer_words), ~number))
        drivers = (None, fts_filer, fts_every)
        if not needles:  # the index leaves rank 1 out itself (22 ms, not 210, past 52k filer matches)
            ranks = (number, ~number, ~number)
            drivers = (None, fts_filer, _FTS_MATCH(f"({match}) NOT ({{filer}} : ({match}))"))
    # The index's rowid is the filing's id and every search row is in it (migration 0006's
    # triggers), and a rare needle's ids are filing ids: without a group or foreign filter, a
    # match needs no search row read.
    by_rowid = (match is not None or rare is not None) and query.group is None and query.foreign is None
    return _Matching(base, ranks, every, filer, unjoined if by_rowid else None, True, drivers)


def count_filings(session: Session, query: FilingQuery) -> int:
    matching = _matching(session, query)
    base = matching.base if matching.unjoined is None else matching.unjoined
    stmt = base if matching.every is None else base.where(matching.every)
    return int(session.scalar(stmt.with_only_columns(func.count(Filing.id)).order_by(None)) or 0)


def _iso_seconds(value: datetime | None) -> str | None:
    # As storage.export_repo writes them for `cacwatch export`.
    return None if value is None else value.isoformat(timespec="seconds")


# What a download adds to the filing record, as `cacwatch export` has it: the English name
# stored with the search index (no naming machinery at request time), first seen, updated,
# removed, the company group (Chinese and English, stored with the index too).
def _stored(column: Any) -> Any:
    return select(column).where(FilingSearch.filing_id == Filing.id).correlate(Filing).scalar_subquery()


_DOWNLOAD_COLUMNS = (
    _stored(FilingSearch.entity_en),
    Filing.first_seen_at,
    Filing.updated_at,
    Filing.present,
    _stored(FilingSearch.company_zh),
    _stored(FilingSearch.company),
)
# The same, where the query joins the search rows already (q, group, foreign): no subquery per row.
_JOINED_DOWNLOAD_COLUMNS = (
    FilingSearch.entity_en,
    Filing.first_seen_at,
    Filing.updated_at,
    Filing.present,
    FilingSearch.company_zh,
    FilingSearch.company,
)


def _download_record(row: Any) -> dict[str, Any]:
    record = record_of_row(row[: len(EXPORT_COLUMNS)])
    english, first_seen, updated, present, group, group_en = row[len(EXPORT_COLUMNS) :]
    record.update(
        entity_en=english or "", first_seen=_iso_seconds(first_seen), updated_at=_iso_seconds(updated), removed=not present,
        group=group, group_en=group_en,
    )
    return record


def search_filings(
    session: Session, query: FilingQuery, *, limit: int, after: tuple[int, int] | None = None, download: bool = False
) -> FilingPage:
    """One page of matches in (rank, id) order: exact number, then filer, then the rest.

    Each rank is read in primary-key order, starting after the cursor's key, until the page
    is full: no rank is computed for, or sorted over, every match. ``id`` only grows, so a
    filing stored while a client pages through comes after the pages already read (when it
    matches): following ``next_key`` visits every match exactly once. ``total`` is -1: counting
    is separate (``count_filings``), so callers may cache it. ``download``: records as the
    export writes them (with ``entity_en``, ``first_seen``, ``updated_at``, ``removed``).
    """
    matching = _matching(session, query)
    phases = list(enumerate(matching.ranks)) or [(0, true())]
    ranked: list[tuple[int, int, dict[str, Any]]] = []  # (rank, id, record)
    extra = (_JOINED_DOWNLOAD_COLUMNS if matching.joined else _DOWNLOAD_COLUMNS) if download else ()
    columns = (Filing.id, *EXPORT_COLUMNS, *extra)
    make = _download_record if download else record_of_row
    for rank, condition in phases:
        stmt = matching.base.where(condition)
        order: Any = Filing.id
        driver = matching.drivers[rank] if matching.drivers else None
        if driver is not None:
            stmt, order = stmt.join(_FTS, _FTS.c.rowid == Filing.id).where(driver), _FTS.c.rowid
        if after is not None:
            if rank < after[0]:
                continue
            if rank == after[0]:
                stmt = stmt.where(order > after[1])
        wanted = limit + 1 - len(ranked)
        rows = session.execute(stmt.with_only_columns(*columns).order_by(order).limit(wanted))
        ranked += [(rank, row[0], make(row[1:])) for row in rows]
        if len(ranked) > limit:
            break
    more = len(ranked) > limit
    ranked = ranked[:limit]
    next_key = (ranked[-1][0], ranked[-1][1]) if more and ranked else None
    return FilingPage([record for _, _, record in ranked], next_key, -1)


@dataclass(frozen=True, slots=True)
class NewFiling:
    record: dict[str, Any]
    first_seen_at: datetime


def new_filings(session: Session, query: FilingQuery, *, limit: int = 50) -> list[NewFiling]:
    """The newest filings matching ``query`` (first seen last comes first), for the filings feed."""
    matching = _matching(session, query)
    stmt = matching.base if matching.every is None else matching.base.where(matching.every)
    rows = session.execute(stmt.with_only_columns(Filing.first_seen_at, *EXPORT_COLUMNS).order_by(Filing.id.desc()).limit(limit))
    return [NewFiling(record_of_row(row[1:]), row[0]) for row in rows]




def filer_matches(session: Session, q: str) -> ColumnElement[bool] | None:
    """The condition "the filer words contain ``q``" (served by the search indexes), on a
    select of ``Filing`` joined to ``FilingSearch``; None for an empty query."""
    return _matching(session, FilingQuery(q=q)).filer
