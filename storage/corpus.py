"""Every read query of the web side (``cacwatch serve``): filings, lists, filers, history, feeds.

The web layer never speaks SQL: it calls ``Corpus`` (each call one short transaction) and gets
typed, frozen records back; filing records are the export records of
``storage.repo.filing_record``. The queries live in ``storage.corpus_search`` (the search
index and filtered, ranked paging) and ``storage.corpus_lists`` (everything else).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.corpus_lists import (
    EntitySummary,
    Facets,
    FeedEntry,
    FilerIndex,
    FilingDetail,
    Holding,
    HistoryEntry,
    ListChange,
    ListDetail,
    ListFiles,
    ListRowInfo,
    ListSummary,
    VersionInfo,
    entities,
    entity_filings,
    facets,
    filer_index,
    filing_detail,
    kind_totals,
    list_detail,
    list_feed,
    list_files,
    list_summaries,
)
from storage.corpus_search import (
    Describer,
    FilerWords,
    FilingPage,
    FilingQuery,
    NewFiling,
    count_filings,
    filer_names,
    new_filings,
    normalize_query,
    refresh_search_text,
    search_filings,
)
from storage.changes_repo import StoredEvent, events_after
from storage.db import Database
from storage.filer_identity import (
    FilerIdentity,
    FilerNameInfo,
    FilerPage,
    FilerRecords,
    TimelineEntry,
    company_counts,
    company_entities,
    company_entity_map,
    filer_identity,
    filer_page,
    filer_records,
    mark_search_stale,
    other_names,
    rebuild_filer_names,
)
from storage.models import FilingList, ListVersion
from storage.models_web import WebSecret
from storage.insights_repo import Cube, Insights, insights, insights_cube
from storage.repo import list_sizes

__all__ = [
    "Corpus",
    "DataStamp",
    "Describer",
    "EntitySummary",
    "Facets",
    "FeedEntry",
    "FilerIndex",
    "FilerIdentity",
    "FilerNameInfo",
    "FilerPage",
    "FilerRecords",
    "FilerWords",
    "TimelineEntry",
    "FilingDetail",
    "FilingPage",
    "StoredEvent",
    "FilingQuery",
    "HistoryEntry",
    "Holding",
    "ListChange",
    "ListDetail",
    "ListFiles",
    "ListRowInfo",
    "ListSummary",
    "NewFiling",
    "VersionInfo",
    "normalize_query",
]


@dataclass(frozen=True, slots=True)
class DataStamp:
    """A cheap fingerprint of the stored data (two aggregates over small tables).

    ``version`` grows with every stored list version; ``content`` changes when a list's
    current or held version changes without one (a hold confirmed, a list set back): together
    they say when the filings, and so the search index, may have changed. ``checked`` changes
    when a list is only re-checked (``last_checked_at``) or starts/stops failing: shown on the
    list pages, but no filing changes.
    """

    version: int
    content: str
    checked: str

    @property
    def filings(self) -> tuple[int, str]:
        """The part that says whether filings (and the search index) may have changed."""
        return self.version, self.content


class Corpus:
    """The read queries over one database, each in its own short transaction (for bot.web)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def filer_names(self, entities: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        with self.db.session() as session:
            return filer_names(session, entities)

    def data_version(self) -> int:
        """Grows with every stored list version: every ingest that can change a filing makes one."""
        return self.data_stamp().version

    def data_stamp(self) -> DataStamp:
        """What every answer of the read side is computed from, in one short transaction."""
        with self.db.session() as session:
            version = int(session.scalar(select(func.max(ListVersion.id))) or 0)
            lists, current, held, checked, failing = session.execute(
                select(
                    func.count(FilingList.id),
                    func.sum(func.coalesce(FilingList.current_version_id, 0)),
                    func.sum(func.coalesce(FilingList.held_version_id, 0)),
                    func.max(FilingList.last_checked_at),
                    func.count(FilingList.last_error),
                )
            ).one()
        return DataStamp(version, f"{lists}/{current}/{held}", f"{checked}/{failing}")

    def web_secret(self, name: str) -> bytes:
        """This installation's secret ``name`` (32 random bytes), made by the first process that
        asks and read by every other one (a race to make it: the first insert wins)."""
        for _ in range(2):
            with self.db.session() as session:
                stored = session.get(WebSecret, name)
                if stored is not None:
                    return bytes.fromhex(stored.secret)
            try:
                with self.db.session() as session:
                    session.add(WebSecret(name=name, secret=secrets.token_hex(32)))
            except IntegrityError:
                continue  # another process made it first: read theirs
        raise RuntimeError(f"web secret {name!r} could neither be read nor stored")

    def refresh_search_text(self, describe: Describer, version: str) -> int:
        """Bring the filer names (``storage.filer_identity``) and then the search index up to date.

        A filer's search text also carries its other names (current and former), so an old name
        finds the filer; a filer that gained or lost a name has its filings' text rebuilt.
        """
        with self.db.session() as session:
            mark_search_stale(session, rebuild_filer_names(session))
            aliases = other_names(session)

            def with_other_names(entity: str) -> FilerWords:
                words = describe(entity)
                more = aliases.get(entity)
                return replace(words, words=(*words.words, *more)) if more else words

            return refresh_search_text(session, with_other_names, version)

    def refresh_filer_names(self) -> None:
        """Only the filer names (a reader that needs them current without the search index)."""
        with self.db.session() as session:
            mark_search_stale(session, rebuild_filer_names(session))

    def filer_identity(self, name: str) -> FilerIdentity | None:
        with self.db.session() as session:
            return filer_identity(session, name)

    def filer_records(self, names: Iterable[str]) -> FilerRecords:
        with self.db.session() as session:
            return filer_records(session, names)

    def filer_page(self, names: Iterable[str], *, newest: int = 100, latest: int = 20, changes: bool = True) -> FilerPage:
        """What a filer's or a group's page shows (``storage.filer_identity.filer_page``)."""
        with self.db.session() as session:
            return filer_page(session, names, newest=newest, latest=latest, changes=changes)

    def company_entities(self, company: str) -> list[str]:
        with self.db.session() as session:
            return company_entities(session, company)

    def insights_cube(self) -> Cube:
        with self.db.session() as session:
            return insights_cube(session)

    def insights(self, *, kind: str | None = None, list_month: str | None = None, cube: Cube | None = None) -> Insights:
        with self.db.session() as session:
            return insights(session, kind=kind, list_month=list_month, cube=cube)

    def company_entity_map(self) -> dict[str, list[str]]:
        with self.db.session() as session:
            return company_entity_map(session)

    def company_counts(self) -> dict[str, dict[str, int]]:
        with self.db.session() as session:
            return company_counts(session)

    def count_filings(self, query: FilingQuery) -> int:
        with self.db.session() as session:
            return count_filings(session, query)

    def search_filings(self, query: FilingQuery, *, limit: int, after: tuple[int, int] | None = None) -> FilingPage:
        with self.db.session() as session:
            return search_filings(session, query, limit=limit, after=after)

    def download_page(self, query: FilingQuery, *, limit: int, after: tuple[int, int] | None = None) -> FilingPage:
        """A page of the search's matches as the export writes them (``entity_en`` as stored
        with the search index, ``first_seen``, ``updated_at``, ``removed``)."""
        with self.db.session() as session:
            return search_filings(session, query, limit=limit, after=after, download=True)

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

    def list_files(self, kind: str, list_month: str) -> ListFiles | None:
        """The archived attachments (every version) of the list a list page shows."""
        with self.db.session() as session:
            return list_files(session, kind, list_month)

    def entities(self, q: str, *, limit: int = 100) -> list[EntitySummary]:
        with self.db.session() as session:
            return entities(session, q, limit=limit)

    def filer_index(self) -> FilerIndex:
        with self.db.session() as session:
            return filer_index(session)

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

    def events_after(
        self, after: int, *, limit: int, types: Sequence[str] = (), leave_out: Sequence[str] = ()
    ) -> list[StoredEvent]:
        """Every stored event after sequence ``after``, in order (``GET /api/v1/changes``)."""
        with self.db.session() as session:
            return events_after(session, after, limit=limit, types=types, leave_out=leave_out)

    def list_sizes(self, kind: str) -> list[tuple[str, int]]:
        with self.db.session() as session:
            return list_sizes(session, kind)
