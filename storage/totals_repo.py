"""CAC's stated cumulative totals and their reconciliation with what cacwatch holds.

Which statement applies to which list (README "Totals that reconcile"):

1. **The announcement that announced it.** A statement applies to a list of the same page
   (a summary's or a notice's own announcement) or to a list its page links (same
   attachment); of several, the first whose list month is not before the statement's date.
2. **Otherwise by dates.** A channel announcement that links only the in-place page applies
   to the newest GenAI list of its own (no summary, no 注销 notice) named for a month from
   the month of its 截至 date to the month it was published (one month on, when its date is
   unknown) and not published after the statement: ``截至2024年12月31日`` published in
   2025-01 → the list ``（2025年1月）``.

A statement is never compared with a list named for a month before its 截至 date (a total
stated for a date after the list), nor with a list published after it. One statement
applies to one list; a list with several takes the latest ``as_of``.

What cacwatch holds "after the list" is the active filings of the kind whose first list is
named for that list's month or earlier, by registration — computed from the store, so it
is the same whenever it is asked (a replay, ``cacwatch status``, a later poll). Filings
without ``registration`` (stored before the GenAI parser set it) count by the form of their
number: a 上线编号 ending in ``S`` + 4 digits is registered, anything else filed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scrapers.records import Announcement as AnnouncementRecord
from scrapers.records import Kind
from storage.list_dates import ANNOUNCED, FIRST_SEEN
from storage.models import Filing, FilingList
from storage.models_totals import StatedTotal

__all__ = ["TotalsRepository", "Reconciliation", "registration_of"]

_REGISTERED_NUMBER = re.compile(r"S\d{4}$")


def registration_of(registration: str | None, filing_number: str) -> str:
    """``filed`` | ``registered``: the stored value, else the number's form."""
    if registration in ("filed", "registered"):
        return registration
    return "registered" if _REGISTERED_NUMBER.search(filing_number) else "filed"


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One statement against what cacwatch holds after the list it applies to."""

    kind: str
    as_of: str
    stated_filed: int
    stated_registered: int | None  # None: the announcement stated only 备案
    held_filed: int
    held_registered: int
    source_url: str
    source_title: str
    list_id: int | None  # None: no stored list it applies to (yet)
    list_month: str | None
    list_name: str | None

    @property
    def compared(self) -> bool:
        return self.list_id is not None

    @property
    def ok(self) -> bool:
        """Held equals stated (registered only when stated); True when nothing to compare."""
        if self.list_id is None:
            return True
        if self.held_filed != self.stated_filed:
            return False
        return self.stated_registered is None or self.held_registered == self.stated_registered


class TotalsRepository:
    """Reads and writes of ``stated_totals``; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- writes ---------------------------------------------------------------------------

    def record_announcement(self, announcement: AnnouncementRecord, kind: Kind | None) -> int:
        """Keep the totals an announcement states; returns how many were not known yet.
        The same page read again updates its statements (CAC corrects texts in place)."""
        if kind is None or not announcement.totals:
            return 0
        added = 0
        for stated in announcement.totals:
            row = self.session.scalar(
                select(StatedTotal).where(
                    StatedTotal.kind == kind.value,
                    StatedTotal.source_url == announcement.url,
                    StatedTotal.as_of == stated.as_of,
                )
            )
            if row is None:
                row = StatedTotal(kind=kind.value, source_url=announcement.url, as_of=stated.as_of)
                self.session.add(row)
                added += 1
            row.filed, row.registered = stated.filed, stated.registered
            row.title = announcement.title or row.title or ""
            row.published_on = announcement.published_on or row.published_on
            row.links = list(announcement.links) or list(row.links or [])
        self.session.flush()
        return added

    # --- reads ------------------------------------------------------------------------------

    def statements(self, kind: str = Kind.GENAI_SERVICE.value) -> list[StatedTotal]:
        return list(
            self.session.scalars(
                select(StatedTotal).where(StatedTotal.kind == kind).order_by(StatedTotal.as_of, StatedTotal.id)
            )
        )

    def _lists(self, kind: str) -> list[FilingList]:
        return list(
            self.session.scalars(
                select(FilingList)
                .where(
                    FilingList.kind == kind,
                    FilingList.is_cancellation.is_(False),
                    FilingList.current_version_id.is_not(None),
                )
                .order_by(FilingList.list_month, FilingList.id)
            )
        )

    @staticmethod
    def _list_for(statement: StatedTotal, lists: list[FilingList]) -> FilingList | None:
        as_of_month = statement.as_of[:7]
        links = set(statement.links or [])
        direct = [
            fl for fl in lists
            if (fl.page_url == statement.source_url or fl.attachment_key in links) and fl.list_month >= as_of_month
        ]  # fmt: skip
        if direct:
            return direct[0]
        upper = statement.published_on[:7] if statement.published_on else _next_month(as_of_month)
        window = [
            fl for fl in lists
            if not fl.is_summary and as_of_month <= fl.list_month <= upper
            and (fl.published_on is None or statement.published_on is None or fl.published_on <= statement.published_on)
        ]  # fmt: skip
        return window[-1] if window else None

    def held(self, kind: str, up_to_month: str) -> tuple[int, int]:
        """(filed, registered): active filings of ``kind`` first listed in ``up_to_month`` or before."""
        base = (
            Filing.kind == kind,
            Filing.present.is_(True),
            Filing.status == "active",
            Filing.list_month <= up_to_month,
        )
        counts = {"filed": 0, "registered": 0}
        query = select(Filing.registration, func.count(Filing.id)).where(*base, Filing.registration.is_not(None))
        for registration, count in self.session.execute(query.group_by(Filing.registration)):
            if registration in counts:
                counts[registration] += int(count)
        unset = select(Filing.registration, Filing.filing_number).where(
            *base, (Filing.registration.is_(None)) | (Filing.registration.not_in(tuple(counts)))
        )
        for registration, number in self.session.execute(unset):
            counts[registration_of(registration, number)] += 1
        return counts["filed"], counts["registered"]

    def _reconcile(self, statement: StatedTotal, filing_list: FilingList | None) -> Reconciliation:
        held = self.held(statement.kind, filing_list.list_month) if filing_list is not None else (0, 0)
        return Reconciliation(
            kind=statement.kind,
            as_of=statement.as_of,
            stated_filed=statement.filed,
            stated_registered=statement.registered,
            held_filed=held[0],
            held_registered=held[1],
            source_url=statement.source_url,
            source_title=statement.title,
            list_id=filing_list.id if filing_list is not None else None,
            list_month=filing_list.list_month if filing_list is not None else None,
            list_name=filing_list.name if filing_list is not None else None,
        )

    def reconciliations(self, kind: str = Kind.GENAI_SERVICE.value) -> list[Reconciliation]:
        """Every statement of ``kind`` against the list it applies to, oldest ``as_of`` first."""
        lists = self._lists(kind)
        return [self._reconcile(s, self._list_for(s, lists)) for s in self.statements(kind)]

    def for_list(self, list_id: int) -> Reconciliation | None:
        """The statement that applies to this list, reconciled; None when none does."""
        filing_list = self.session.get(FilingList, list_id)
        if filing_list is None:
            return None
        lists = self._lists(filing_list.kind)
        applying = [s for s in self.statements(filing_list.kind) if (fl := self._list_for(s, lists)) is not None and fl.id == list_id]
        if not applying:
            return None
        latest = max(applying, key=lambda s: (s.as_of, s.published_on or "", s.id))
        return self._reconcile(latest, filing_list)

    def date_announced_lists(self, kind: str = Kind.GENAI_SERVICE.value) -> int:
        """Lists added to an in-place page (dated when cacwatch first saw them there) that a
        dated statement applies to get that announcement's date (``storage.list_dates``);
        returns how many changed."""
        lists = self._lists(kind)
        changed = 0
        for statement in self.statements(kind):
            filing_list = self._list_for(statement, lists) if statement.published_on else None
            if filing_list is not None and filing_list.published_basis == FIRST_SEEN:
                filing_list.first_published_on = statement.published_on
                filing_list.published_basis = ANNOUNCED
                changed += 1
        return changed

    def latest(self, kind: str = Kind.GENAI_SERVICE.value) -> Reconciliation | None:
        """The newest statement that applies to a stored list (the proof ``cacwatch status`` shows)."""
        compared = [r for r in self.reconciliations(kind) if r.compared]
        return compared[-1] if compared else None


def mismatches(reconciliations: Iterable[Reconciliation]) -> list[Reconciliation]:
    return [r for r in reconciliations if not r.ok]
