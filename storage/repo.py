"""Queries and the ingest transaction: store a parsed list, keep its history, derive filings.

A filing's fields are derived from every list that currently holds it:
- ``list_month`` and ``first_list_id`` from the earliest list (by list month),
- the other fields from the newest list (CAC's latest statement about it),
- ``status`` cancelled when any list marks it 已注销 or a 注销 notice names it.
A summary list (``2024年生成式人工智能服务已备案信息``) repeats entries of earlier lists: it is
the first list of a filing only when no other list holds it, and a filing it alone holds is
not "new" (``IngestOutcome.created``) — it becomes new in the first list of its own that
holds it, whichever order the two arrive in.
Deriving rather than patching makes re-issues, summary lists and ingest order harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from scrapers.records import EXPORT_FIELDS, FilingRow, Kind, ListRef, ParsedList, Validators
from scrapers.records import Announcement as AnnouncementRecord
from storage.diff import COMPARED_FIELDS, FieldChanges, RowsDiff, change_type, diff_rows, field_changes, rows_digest
from storage.holds import HeldVersion, Hold, confirm_due, held_versions, is_rejected, is_suspect, lost_rows
from storage.list_dates import first_publication
from storage.models import (
    Announcement,
    Filing,
    FilingChange,
    FilingList,
    HttpValidator,
    ListRow,
    ListVersion,
    Poll,
    Source,
    utcnow,
)

__all__ = ["Repository", "IngestOutcome", "FilingUpdate", "filing_record", "list_sizes"]

_CHUNK = 500
# What a stored list and a ListRef both say about a list (besides its kind).
_REF_FIELDS = (
    "list_month", "name", "title", "page_url", "attachment_url", "published_on", "is_cancellation", "is_summary",
)


@dataclass(frozen=True, slots=True)
class FilingUpdate:
    """A filing whose derived fields changed because of this ingest."""

    kind: str
    filing_number: str
    change_type: str  # created | changed | cancelled | renamed | removed
    changes: FieldChanges


@dataclass(slots=True)
class IngestOutcome:
    """What storing one fetched list did."""

    list_id: int
    version_id: int | None
    is_new_list: bool
    bytes_changed: bool
    rows_changed: bool
    rows: RowsDiff = field(default_factory=RowsDiff)
    # Numbers never seen before in this kind (the ``new`` of a list.published event).
    created: tuple[str, ...] = ()
    filing_updates: tuple[FilingUpdate, ...] = ()
    # The fetched version is held as suspect (storage.holds): stored, not current, no event.
    hold: Hold | None = None


def filing_record(filing: Filing) -> dict[str, Any]:
    """The export record (interfaces.md) of a stored filing."""
    return {name: getattr(filing, name) for name in EXPORT_FIELDS}


# The export record's columns, for reads that need only the record: selecting them (no ORM
# object, no identity map) costs a fraction of loading whole filings, which matters on pages.
EXPORT_COLUMNS = tuple(getattr(Filing, name) for name in EXPORT_FIELDS)


def record_of_row(row: Sequence[Any]) -> dict[str, Any]:
    """The export record from a row of ``EXPORT_COLUMNS`` (in that order)."""
    return dict(zip(EXPORT_FIELDS, row))


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Repository:
    """All reads and writes of one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- sources and polls -------------------------------------------------------------

    def source(self, name: str) -> Source:
        source = self.session.scalar(select(Source).where(Source.name == name))
        if source is None:
            source = Source(name=name, consecutive_failures=0)
            self.session.add(source)
            self.session.flush()
        return source

    def has_successful_poll(self, source_name: str) -> bool:
        source = self.source(source_name)
        return source.last_success_at is not None

    def record_poll(
        self, source_name: str, poll: Poll, *, ok: bool, error: str | None, revalidated: bool = True
    ) -> None:
        """``revalidated``: the poll re-checked every known list (else a front-door poll)."""
        source = self.source(source_name)
        now = utcnow()
        poll.source_id = source.id
        poll.finished_at = now
        poll.ok = ok
        poll.error = error
        self.session.add(poll)
        if ok:
            source.last_success_at = now
            source.last_front_door_at = now  # a revalidation walks the front door too
            if revalidated:
                source.last_revalidated_at = now
            source.last_error = None
            source.consecutive_failures = 0
        else:
            source.last_failure_at = now
            source.last_error = error
            source.consecutive_failures = (source.consecutive_failures or 0) + 1

    # --- HTTP validators ---------------------------------------------------------------

    def all_validators(self) -> dict[str, Validators]:
        """Every remembered URL's validators (read once at the start of a poll)."""
        return {
            row.url: Validators(etag=row.etag, last_modified=row.last_modified, sha256=row.sha256)
            for row in self.session.scalars(select(HttpValidator))
        }

    def put_validators(self, url: str, validators: Validators) -> None:
        row = self.session.get(HttpValidator, url)
        if row is None:
            row = HttpValidator(url=url)
            self.session.add(row)
        row.etag, row.last_modified, row.sha256 = validators.etag, validators.last_modified, validators.sha256
        row.updated_at = utcnow()

    # --- announcements and lists -------------------------------------------------------

    def known_page_urls(self) -> set[str]:
        return set(self.session.scalars(select(Announcement.url)))

    def upsert_announcement(self, record: AnnouncementRecord, kind: Kind | None) -> None:
        row = self.session.scalar(select(Announcement).where(Announcement.url == record.url))
        if row is None:
            self.session.add(
                Announcement(
                    url=record.url,
                    title=record.title,
                    kind=kind.value if kind else None,
                    published_on=record.published_on,
                    signal=record.signal.value,
                )
            )
        elif record.title and row.title != record.title:
            row.title = record.title

    def stored_lists(self) -> list[FilingList]:
        return list(self.session.scalars(select(FilingList).order_by(FilingList.list_month, FilingList.id)))

    def list_by_id(self, list_id: int) -> FilingList:
        filing_list = self.session.get(FilingList, list_id)
        if filing_list is None:
            raise KeyError(f"no list {list_id}")
        return filing_list

    def list_by_key(self, attachment_key: str) -> FilingList | None:
        return self.session.scalar(select(FilingList).where(FilingList.attachment_key == attachment_key))

    def list_ref(self, filing_list: FilingList) -> ListRef:
        return ListRef(kind=Kind(filing_list.kind), **{name: getattr(filing_list, name) for name in _REF_FIELDS})

    def record_list_error(self, ref: ListRef, attachment_key: str, reason: str) -> None:
        """Remember why a list failed, without touching its stored content."""
        filing_list = self._list_for(ref, attachment_key)
        filing_list.last_error = reason
        filing_list.last_checked_at = utcnow()

    def mark_checked(self, attachment_keys: Sequence[str]) -> None:
        """Lists found unchanged (304): checked now, and no longer in error."""
        for chunk in _chunks(list(attachment_keys)):
            self.session.execute(
                update(FilingList)
                .where(FilingList.attachment_key.in_(chunk))
                .values(last_checked_at=utcnow(), last_error=None)
                .execution_options(synchronize_session=False)
            )

    def _list_for(self, ref: ListRef, attachment_key: str) -> FilingList:
        filing_list = self.list_by_key(attachment_key)
        if filing_list is None:
            fields = {name: getattr(ref, name) for name in _REF_FIELDS}
            in_place = ref.in_place or self.session.scalar(
                select(func.count(Announcement.id)).where(Announcement.url == ref.page_url, Announcement.signal == "in_place")
            )
            first_published_on, basis = first_publication(
                ref.list_month, ref.published_on, in_place=bool(in_place), first_seen=utcnow()
            )
            filing_list = FilingList(
                attachment_key=attachment_key, kind=ref.kind.value, first_published_on=first_published_on,
                published_basis=basis, **fields,
            )
            self.session.add(filing_list)
            self.session.flush()
        return filing_list

    def checked(self, attachment_key: str) -> FilingList:
        """The stored list under this key, marked checked now (its content was vouched for)."""
        filing_list = self.list_by_key(attachment_key)
        if filing_list is None:
            raise KeyError(f"no list {attachment_key}")
        filing_list.last_checked_at = utcnow()
        filing_list.last_error = None
        return filing_list

    def held_versions(self) -> dict[str, HeldVersion]:
        return held_versions(self.session)

    def current_rows(self, filing_list: FilingList) -> list[dict[str, Any]]:
        if filing_list.current_version_id is None:
            return []
        rows = self.session.scalars(
            select(ListRow).where(ListRow.version_id == filing_list.current_version_id).order_by(ListRow.row_index)
        )
        return [{"filing_number": row.filing_number, **row.fields} for row in rows]

    # --- ingest ---------------------------------------------------------------------------

    def ingest(self, parsed: ParsedList, attachment_key: str) -> IngestOutcome:
        """Store one parsed list; derive filings; return what changed. Never deletes."""
        filing_list = self._list_for(parsed.ref, attachment_key)
        is_new_list = filing_list.current_version_id is None
        filing_list.last_checked_at = utcnow()
        filing_list.last_error = None
        # CAC sometimes renames the attachment or moves it; keep the latest description.
        filing_list.name = parsed.ref.name or filing_list.name
        filing_list.title = parsed.ref.title or filing_list.title
        filing_list.attachment_url = parsed.ref.attachment_url
        filing_list.is_summary = parsed.ref.is_summary

        previous = (
            self.session.get(ListVersion, filing_list.current_version_id) if not is_new_list else None
        )
        if previous is not None and previous.sha256 == parsed.sha256:
            # The current bytes (again): a held truncated version, if any, was a passing fault.
            filing_list.held_version_id = None
            return IngestOutcome(filing_list.id, previous.id, False, bytes_changed=False, rows_changed=False)
        held = self.session.get(ListVersion, filing_list.held_version_id) if filing_list.held_version_id else None
        if held is not None and held.sha256 == parsed.sha256:
            return self.still_served(filing_list, held)
        if previous is not None and is_rejected(self.session, filing_list.id, parsed.sha256):
            # Bytes the operator rejected when they were held: the list keeps its current version.
            return IngestOutcome(filing_list.id, previous.id, False, bytes_changed=False, rows_changed=False)

        new_rows = [{"filing_number": row.filing_number, **_row_fields(row)} for row in parsed.rows]
        digest = rows_digest(new_rows)
        version = ListVersion(
            list_id=filing_list.id,
            sha256=parsed.sha256,
            format=parsed.format,
            row_count=len(parsed.rows),
            rows_digest=digest,
            warnings=list(parsed.warnings),
        )
        self.session.add(version)
        self.session.flush()
        self.session.execute(
            insert(ListRow),
            [
                {
                    "version_id": version.id,
                    "row_index": row.row_index,
                    "seq": row.seq,
                    "kind": row.kind.value,
                    "filing_number": row.filing_number,
                    "fields": _row_fields(row),
                    "flags": list(row.flags),
                }
                for row in parsed.rows
            ],
        )
        old_rows = self.current_rows(filing_list) if previous is not None else []
        if previous is not None and previous.rows_digest != digest:
            old_numbers = {str(r["filing_number"]) for r in old_rows}
            lost = lost_rows(old_numbers, {str(r["filing_number"]) for r in new_rows})
            if is_suspect(len(old_numbers), lost):
                filing_list.held_version_id = version.id
                hold = Hold(version.id, len(old_numbers), len(new_rows), lost, new=True)
                return IngestOutcome(filing_list.id, version.id, False, bytes_changed=True, rows_changed=False, hold=hold)
        filing_list.held_version_id = None  # a complete version supersedes a held one
        filing_list.current_version_id = version.id
        if is_new_list and filing_list.kind == Kind.GENAI_SERVICE.value:
            from storage.totals_repo import TotalsRepository

            # A statement recorded earlier in the poll that announced this list dates it.
            self.session.flush()
            TotalsRepository(self.session).date_announced_lists()

        if previous is not None and previous.rows_digest == digest:
            # Same rows in new bytes (re-saved file): new provenance, nothing else.
            return IngestOutcome(filing_list.id, version.id, False, bytes_changed=True, rows_changed=False)

        return self._rows_changed(filing_list, version.id, old_rows, new_rows, is_new_list=is_new_list)

    def still_served(self, filing_list: FilingList, held: ListVersion) -> IngestOutcome:
        """The held bytes were fetched again (or a 304 vouched for them): confirmed once they
        have been served for ``CONFIRM_AFTER``, otherwise still held."""
        if confirm_due(held.fetched_at):
            return self.confirm_held(filing_list)
        before = {str(r["filing_number"]) for r in self.current_rows(filing_list)}
        after = set(self.session.scalars(select(ListRow.filing_number).where(ListRow.version_id == held.id)))
        hold = Hold(held.id, len(before), held.row_count, lost_rows(before, after), new=False)
        return IngestOutcome(filing_list.id, held.id, False, bytes_changed=False, rows_changed=False, hold=hold)

    def confirm_held(self, filing_list: FilingList) -> IngestOutcome:
        """Make the held version current and derive from it, as its ingest would have done:
        what it changes (removals included) is in the outcome, once."""
        held_id = filing_list.held_version_id
        if held_id is None:
            raise ValueError(f"list {filing_list.id} has no held version")
        old_rows = self.current_rows(filing_list)
        filing_list.held_version_id = None
        filing_list.current_version_id = held_id
        new_rows = self.current_rows(filing_list)
        return self._rows_changed(filing_list, held_id, old_rows, new_rows, is_new_list=False)

    def _rows_changed(
        self,
        filing_list: FilingList,
        version_id: int,
        old_rows: list[dict[str, Any]],
        new_rows: list[dict[str, Any]],
        *,
        is_new_list: bool,
    ) -> IngestOutcome:
        """``version_id`` became current with other rows than before: the row diff, and the
        filings derived again for every number it holds or lost."""
        rows_diff = diff_rows(old_rows, new_rows)
        affected = list(dict.fromkeys([r["filing_number"] for r in new_rows] + list(rows_diff.removed)))
        created, updates = self._derive_filings(filing_list, affected, version_id)
        return IngestOutcome(
            filing_list.id,
            version_id,
            is_new_list,
            bytes_changed=True,
            rows_changed=True,
            rows=rows_diff,
            created=tuple(created),
            filing_updates=tuple(updates),
        )

    def _derive_filings(
        self, filing_list: FilingList, numbers: list[str], version_id: int
    ) -> tuple[list[str], list[FilingUpdate]]:
        """Recompute the filings for ``numbers`` from every list that currently holds them."""
        kinds = [filing_list.kind]
        if filing_list.is_cancellation:
            # A 注销 notice may name numbers of either 网信算备 series.
            kinds = [Kind.DEEP_SYNTHESIS.value, Kind.ALGORITHM_RECOMMENDATION.value, Kind.GENAI_SERVICE.value]
        created: list[str] = []
        updates: list[FilingUpdate] = []
        history: list[dict[str, Any]] = []  # FilingChange rows, inserted in one executemany
        summaries = set(self.session.scalars(select(FilingList.id).where(FilingList.is_summary.is_(True))))
        own_list = not filing_list.is_summary and not filing_list.is_cancellation
        for kind in kinds:
            holdings = self._holdings(kind, numbers)
            existing = self._filings(kind, numbers)
            new_filings: list[dict[str, Any]] = []
            for number in numbers:
                derived = _derive(holdings.get(number, []))
                filing = existing.get(number)
                if filing is None:
                    if derived is None:
                        continue  # only named by a 注销 notice, never listed: not invented
                    new_filings.append({"kind": kind, "filing_number": number, **derived})
                    if not filing_list.is_summary:
                        created.append(number)
                    continue
                if (
                    own_list and derived is not None and filing.first_list_id in summaries
                    and derived["first_list_id"] == filing_list.id
                ):
                    # Held so far by a summary only: this is the first list of its own.
                    created.append(number)
                if derived is None:
                    if filing.present:
                        filing.present = False
                        filing.updated_at = utcnow()
                        history.append(_change(filing.id, version_id, "removed", {}))
                        updates.append(FilingUpdate(kind, number, "removed", {}))
                    continue
                before = {name: getattr(filing, name) for name in COMPARED_FIELDS}
                changes = field_changes(before, derived)
                for name, value in derived.items():
                    if getattr(filing, name) != value:  # untouched attributes cost no UPDATE
                        setattr(filing, name, value)
                if not filing.present:
                    filing.present = True
                if changes:
                    filing.updated_at = utcnow()
                    kind_of_change = change_type(changes)
                    history.append(_change(filing.id, version_id, kind_of_change, changes))
                    updates.append(FilingUpdate(kind, number, kind_of_change, changes))
            if new_filings:
                # Bulk INSERT … RETURNING (batched executemany), not one ORM object per filing: a
                # first ingest creates thousands, and building and flushing ORM objects was
                # most of its storage time. The ids come back in the order of the rows.
                ids = self.session.scalars(
                    insert(Filing).returning(Filing.id, sort_by_parameter_order=True), new_filings
                ).all()
                history.extend(_change(filing_id, version_id, "created", {}) for filing_id in ids)
        if history:
            self.session.execute(insert(FilingChange), history)
        return created, updates

    def _filings(self, kind: str, numbers: Sequence[str]) -> dict[str, Filing]:
        found: dict[str, Filing] = {}
        for chunk in _chunks(numbers):
            for filing in self.session.scalars(
                select(Filing).where(Filing.kind == kind, Filing.filing_number.in_(chunk))
            ):
                found[filing.filing_number] = filing
        return found

    def _holdings(self, kind: str, numbers: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
        """For each number: (list_month, published_on, list_id, row_index, is_cancellation, fields, flags,
        is_summary) of every row in the current version of every list that holds it."""
        holdings: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for chunk in _chunks(numbers):
            query = (
                select(
                    ListRow.filing_number,
                    FilingList.list_month,
                    FilingList.published_on,
                    FilingList.id,
                    ListRow.row_index,
                    FilingList.is_cancellation,
                    ListRow.fields,
                    ListRow.flags,
                    FilingList.is_summary,
                )
                .join(ListVersion, ListRow.version_id == ListVersion.id)
                .join(FilingList, FilingList.current_version_id == ListVersion.id)
                .where(ListRow.filing_number.in_(chunk))
                .where((ListRow.kind == kind) | FilingList.is_cancellation)
            )
            for number, *rest in self.session.execute(query):
                holdings[number].append(tuple(rest))
        return holdings

    # --- reads -----------------------------------------------------------------------------

    def filings(self, kind: str | None = None, *, include_removed: bool = False) -> Iterable[Filing]:
        query = select(Filing)
        if kind:
            query = query.where(Filing.kind == kind)
        if not include_removed:
            query = query.where(Filing.present.is_(True))
        query = query.order_by(Filing.kind, Filing.list_month, Filing.id)
        return self.session.scalars(query).yield_per(1000)

    def list_stats(self) -> list[dict[str, Any]]:
        """Per list: kind, month, name, current row count, versions seen, last error."""
        versions = (
            select(ListVersion.list_id, func.count(ListVersion.id).label("versions"))
            .group_by(ListVersion.list_id)
            .subquery()
        )
        query = (
            select(FilingList, ListVersion.row_count, versions.c.versions)
            .outerjoin(ListVersion, ListVersion.id == FilingList.current_version_id)
            .outerjoin(versions, versions.c.list_id == FilingList.id)
            .order_by(FilingList.kind, FilingList.list_month, FilingList.id)
        )
        return [
            {
                "kind": filing_list.kind,
                "list_month": filing_list.list_month,
                "name": filing_list.name,
                "rows": rows or 0,
                "versions": count or 0,
                "cancellation": filing_list.is_cancellation,
                "error": filing_list.last_error,
                "page_url": filing_list.page_url,
            }
            for filing_list, rows, count in self.session.execute(query)
        ]

    def filing_counts(self) -> dict[str, dict[str, int]]:
        query = (
            select(Filing.kind, Filing.status, func.count(Filing.id))
            .where(Filing.present.is_(True))
            .group_by(Filing.kind, Filing.status)
        )
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for kind, status, count in self.session.execute(query):
            counts[kind][status] = count
        return dict(counts)


def _change(filing_id: int, version_id: int, change: str, changes: FieldChanges) -> dict[str, Any]:
    """One FilingChange row (history), for a bulk insert."""
    return {"filing_id": filing_id, "version_id": version_id, "change_type": change, "changes": changes, "at": utcnow()}


def _row_fields(row: FilingRow) -> dict[str, Any]:
    fields = row.fields()
    fields.pop("kind")
    fields.pop("filing_number")
    return fields


def _derive(holdings: list[tuple[Any, ...]]) -> dict[str, Any] | None:
    """Current fields of one filing from the rows that hold it (see module docstring)."""
    listed = [h for h in holdings if not h[4]]
    if not listed:
        return None
    listed.sort(key=lambda h: (h[0], h[1] or "", h[2], h[3]))
    # A summary repeats what other lists published: it is the first list only of what no
    # other list holds (it still counts as the newest statement about a filing).
    own = [h for h in listed if not h[7]]
    first, newest = (own or listed)[0], listed[-1]
    fields = dict(newest[5])
    cancelled = any(h[4] for h in holdings) or any(h[5].get("status") == "cancelled" for h in listed)
    fields["status"] = "cancelled" if cancelled else "active"
    return {
        **{name: fields.get(name) for name in COMPARED_FIELDS},
        "list_month": first[0],
        "first_list_id": first[2],
        "current_list_id": newest[2],
        "flags": list(newest[6] or []),
    }


def list_sizes(session: Session, kind: str) -> list[tuple[str, int]]:
    """(list_month, rows) of every parsed list of a kind, oldest first (cancellation notices and
    summaries excluded: a summary's repeats are no batch to rank or compare)."""
    query = (
        select(FilingList.list_month, ListVersion.row_count)
        .join(ListVersion, ListVersion.id == FilingList.current_version_id)
        .where(FilingList.kind == kind, FilingList.is_cancellation.is_(False), FilingList.is_summary.is_(False))
        .order_by(FilingList.list_month, FilingList.id)
    )
    return [(month, int(rows)) for month, rows in session.execute(query)]
