"""Suspect re-issues: a list that comes back with a large share of its rows missing is held.

CAC marks withdrawn filings (已注销) and has never been seen to drop rows from a list, but a
truncated download that still parses (a cut-off PDF, a half-saved sheet) would otherwise
become the list's content and announce half its filings as removed. So a re-issue that
loses more than ``MAX_LOST_SHARE`` of the current rows, and at least ``MIN_LOST_ROWS``, is
stored as a version but *held*: not current, no filing derived from it, no event. It is
confirmed (made current, and its changes announced once) when the same bytes are still
served ``CONFIRM_AFTER`` later, or when the operator runs ``cacwatch lists confirm`` (or
confirms it in the console). If the site serves the previous bytes again, or a complete new
version, the hold is dropped (the held version stays stored: nothing is deleted). The operator
may also reject it (``cacwatch lists reject``, the console): the hold is dropped, the version
marked rejected, and the same bytes served again are neither stored nor held again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import FilingList, ListRow, ListVersion, utcnow

__all__ = [
    "MAX_LOST_SHARE",
    "MIN_LOST_ROWS",
    "CONFIRM_AFTER",
    "Hold",
    "HeldList",
    "HeldVersion",
    "held_versions",
    "lost_rows",
    "is_suspect",
    "held_lists",
    "confirm_due",
    "is_rejected",
    "reject_held",
]

MAX_LOST_SHARE = 0.2
MIN_LOST_ROWS = 5
CONFIRM_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Hold:
    """An ingest that held its version: ``lost`` of the ``before`` current rows are missing."""

    version_id: int
    before: int
    after: int
    lost: int
    new: bool  # held by this ingest (False: the same held bytes seen again)


@dataclass(frozen=True, slots=True)
class HeldVersion:
    """What a poll needs to know of a held version: its bytes and since when they are served."""

    sha256: str
    since: datetime


@dataclass(frozen=True, slots=True)
class HeldList:
    """A list with a held version, as operators are told about it."""

    list_id: int
    kind: str
    list_month: str
    name: str
    page_url: str
    before: int
    after: int
    lost: int
    since: datetime

    @property
    def key(self) -> str:
        """Stable name of this hold (an incident key): one per list and held version."""
        return f"{self.kind}:{self.list_month}:{self.list_id}"

    def describe(self) -> str:
        share = self.lost / self.before if self.before else 0.0
        return (
            f"{self.kind} {self.list_month} {self.name!r}: re-issued with {self.lost} of {self.before} filings "
            f"missing ({share:.0%}; {self.after} rows now)"
        )


def lost_rows(old_numbers: set[str], new_numbers: set[str]) -> int:
    return len(old_numbers - new_numbers)


def is_suspect(before: int, lost: int) -> bool:
    return lost >= MIN_LOST_ROWS and lost > MAX_LOST_SHARE * before


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite drops it


def confirm_due(held_since: datetime, now: datetime | None = None) -> bool:
    """The held bytes were first seen long enough ago that still serving them confirms them."""
    return (now or datetime.now(timezone.utc)) - _aware(held_since) >= CONFIRM_AFTER


def _numbers(session: Session, version_id: int | None) -> set[str]:
    if version_id is None:
        return set()
    return set(session.scalars(select(ListRow.filing_number).where(ListRow.version_id == version_id)))


def held_lists(session: Session, *, kind: str | None = None, list_month: str | None = None) -> list[HeldList]:
    """Every list with a held version (optionally of one kind and month), oldest list first."""
    query = (
        select(FilingList, ListVersion)
        .join(ListVersion, ListVersion.id == FilingList.held_version_id)
        .order_by(FilingList.kind, FilingList.list_month, FilingList.id)
    )
    if kind is not None:
        query = query.where(FilingList.kind == kind)
    if list_month is not None:
        query = query.where(FilingList.list_month == list_month)
    found = []
    for filing_list, held in session.execute(query):
        current = _numbers(session, filing_list.current_version_id)
        found.append(
            HeldList(
                list_id=filing_list.id,
                kind=filing_list.kind,
                list_month=filing_list.list_month,
                name=filing_list.name,
                page_url=filing_list.page_url,
                before=len(current),
                after=held.row_count,
                lost=lost_rows(current, _numbers(session, held.id)),
                since=_aware(held.fetched_at),
            )
        )
    return found


def held_versions(session: Session) -> dict[str, HeldVersion]:
    """attachment key → the held version of that list (read once at the start of a poll)."""
    query = select(FilingList.attachment_key, ListVersion.sha256, ListVersion.fetched_at).join(
        ListVersion, ListVersion.id == FilingList.held_version_id
    )
    return {key: HeldVersion(sha256, _aware(since)) for key, sha256, since in session.execute(query)}


def is_rejected(session: Session, list_id: int, sha256: str) -> bool:
    """Whether these bytes of the list were held once and rejected by the operator."""
    query = select(ListVersion.id).where(
        ListVersion.list_id == list_id, ListVersion.sha256 == sha256, ListVersion.rejected_at.is_not(None)
    )
    return session.scalar(query.limit(1)) is not None


def reject_held(session: Session, list_id: int) -> HeldList | None:
    """Drop the hold of one list and mark its held version rejected; the list keeps its current
    version and nothing is announced. None when the list holds nothing."""
    found = [h for h in held_lists(session) if h.list_id == list_id]
    filing_list = session.get(FilingList, list_id)
    if not found or filing_list is None or filing_list.held_version_id is None:
        return None
    version = session.get(ListVersion, filing_list.held_version_id)
    if version is not None:
        version.rejected_at = utcnow()
    filing_list.held_version_id = None
    session.flush()
    return found[0]
