"""The stored facts a brief is built from (``bot.briefs``): a series' lists and sizes, the
filings of one list or of the lists of a period, renames recorded in history, totals to date,
and — when the store keeps them — CAC's stated totals.

Every number a brief prints comes from one of these methods, so it can be traced back to the
store (and to the export, which reads the same rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from storage.models import Filing, FilingChange, FilingList, ListRow, ListVersion
from storage.repo import EXPORT_COLUMNS, record_of_row
from storage.totals_repo import TotalsRepository, registration_of

__all__ = ["BriefRepository", "SeriesList", "HistoryRename", "StatedTotals", "SeriesTotals"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SeriesList:
    """One published list of a series (注销 notices excluded) with its current size."""

    id: int
    kind: str
    list_month: str
    name: str
    title: str
    page_url: str
    attachment_url: str
    published_on: str | None  # the date of the page it was found on
    rows: int
    version_id: int
    version_sha256: str
    # When CAC first published it and on what that rests (storage.list_dates).
    first_published_on: str | None = None
    published_basis: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRename:
    filing_number: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class SeriesTotals:
    """Filings of a kind first listed up to a month (removed ones excluded)."""

    filings: int
    active: int
    cancelled: int
    by_registration: dict[str, int]  # GenAI active filings: filed / registered


@dataclass(frozen=True, slots=True)
class StatedTotals:
    """CAC's cumulative totals stated in an announcement, against what the store holds."""

    as_of: str
    stated_filed: int
    stated_registered: int | None
    held_filed: int
    held_registered: int
    source_url: str

    @property
    def reconciles(self) -> bool:
        return self.held_filed == self.stated_filed and (
            self.stated_registered is None or self.held_registered == self.stated_registered
        )


class BriefRepository:
    """Reads for briefs over one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def series(self, kind: str) -> list[SeriesList]:
        """Every parsed list of ``kind`` (no 注销 notice, no annual summary repeating earlier
        entries), oldest list month first."""
        stmt = (
            select(FilingList, ListVersion)
            .join(ListVersion, ListVersion.id == FilingList.current_version_id)
            .where(FilingList.kind == kind, FilingList.is_cancellation.is_(False), FilingList.is_summary.is_(False))
            .order_by(FilingList.list_month, FilingList.id)
        )
        return [
            SeriesList(
                id=flist.id, kind=flist.kind, list_month=flist.list_month, name=flist.name, title=flist.title,
                page_url=flist.page_url, attachment_url=flist.attachment_url, published_on=flist.published_on,
                rows=version.row_count, version_id=version.id, version_sha256=version.sha256,
                first_published_on=flist.first_published_on, published_basis=flist.published_basis,
            )
            for flist, version in self.session.execute(stmt)
        ]

    def has_list(self, kind: str, first_month: str, last_month: str) -> bool:
        """Whether a parsed list of ``kind`` is named for a month in [first_month, last_month]."""
        stmt = (
            select(FilingList.id)
            .where(FilingList.kind == kind, FilingList.is_cancellation.is_(False), FilingList.is_summary.is_(False))
            .where(FilingList.current_version_id.is_not(None))
            .where(FilingList.list_month >= first_month, FilingList.list_month <= last_month)
            .limit(1)
        )
        return self.session.scalar(stmt) is not None

    def list_filings(self, list_id: int, version_id: int, kind: str) -> list[dict[str, Any]]:
        """The export records of the filings in a list version's rows, in row order (one per number)."""
        numbers = list(dict.fromkeys(self.session.scalars(
            select(ListRow.filing_number).where(ListRow.version_id == version_id).order_by(ListRow.row_index)
        )))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(numbers), _CHUNK):
            stmt = select(*EXPORT_COLUMNS).where(
                Filing.kind == kind, Filing.filing_number.in_(numbers[start : start + _CHUNK])
            )
            for row in self.session.execute(stmt):
                record = record_of_row(row)
                found[record["filing_number"]] = record
        return [found[n] for n in numbers if n in found]

    def filings_first_listed(self, kind: str, first_month: str, last_month: str) -> list[dict[str, Any]]:
        """Export records of the current filings of ``kind`` whose first list is named for a
        month in [first_month, last_month], oldest month first, then by filing number."""
        stmt = (
            select(*EXPORT_COLUMNS)
            .where(Filing.kind == kind, Filing.present.is_(True))
            .where(Filing.list_month >= first_month, Filing.list_month <= last_month)
            .order_by(Filing.list_month, Filing.id)
        )
        return [record_of_row(row) for row in self.session.execute(stmt)]

    def history_renames(self, kind: str, numbers: list[str]) -> list[HistoryRename]:
        """Filer renames recorded in the history of these filings (a re-issue changed 主体名称)."""
        out: list[HistoryRename] = []
        for start in range(0, len(numbers), _CHUNK):
            stmt = (
                select(Filing.filing_number, FilingChange.changes)
                .join(Filing, Filing.id == FilingChange.filing_id)
                .where(Filing.kind == kind, Filing.filing_number.in_(numbers[start : start + _CHUNK]))
                .where(FilingChange.change_type != "created")
                .order_by(FilingChange.id)
            )
            for number, changes in self.session.execute(stmt):
                pair = (changes or {}).get("entity")
                if isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]:
                    out.append(HistoryRename(str(number), str(pair[0] or ""), str(pair[1] or "")))
        return out

    def totals_up_to(self, kind: str, last_month: str) -> SeriesTotals:
        """Current filings of ``kind`` first listed in ``last_month`` or before."""
        # GenAI filings without ``registration`` are told apart by their number (below).
        number_column = Filing.filing_number if kind == "genai_service" else literal("")
        stmt = (
            select(Filing.status, Filing.registration, number_column, func.count())
            .where(Filing.kind == kind, Filing.present.is_(True), Filing.list_month <= last_month)
            .group_by(Filing.status, Filing.registration, number_column)
        )
        filings = active = cancelled = 0
        by_registration: dict[str, int] = {}
        for status, registration, number, count in self.session.execute(stmt):
            filings += count
            if status == "cancelled":
                cancelled += count
                continue
            active += count
            if kind == "genai_service":
                # Stored before the GenAI parser set ``registration``: the number's form tells.
                key = registration_of(registration, number or "")
                by_registration[key] = by_registration.get(key, 0) + count
        return SeriesTotals(filings, active, cancelled, by_registration)

    def stated_totals(self, list_id: int) -> StatedTotals | None:
        """CAC's stated cumulative totals that apply to this list, reconciled with the store
        (``storage.totals_repo``: which statement applies to which list, what is held)."""
        found = TotalsRepository(self.session).for_list(list_id)
        if found is None:
            return None
        return StatedTotals(
            as_of=found.as_of, stated_filed=found.stated_filed, stated_registered=found.stated_registered,
            held_filed=found.held_filed, held_registered=found.held_registered, source_url=found.source_url,
        )
