"""SQLAlchemy 2 models: every list, every version of it, every row, every filing and its history.

Nothing here is ever deleted by ingest: a list that shrinks gets a new version, a filing
that leaves every list is marked ``present = False``, and each change is a ``FilingChange``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "utcnow",
    "Source",
    "Poll",
    "Announcement",
    "FilingList",
    "ListVersion",
    "ListRow",
    "Filing",
    "FilingChange",
    "HttpValidator",
]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A polled source (``cac``) and its health, for the scheduler and operator alerts."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Polling tiers (0008): the last successful front-door poll (new lists only) and the
    # last successful revalidation of every known attachment (which is also a front door).
    last_front_door_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_revalidated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Poll(Base):
    """One run of ``check`` over one source: when, how it ended, what it saw."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    lists_seen: Mapped[int] = mapped_column(Integer, default=0)
    lists_changed: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    bytes_downloaded: Mapped[int] = mapped_column(Integer, default=0)


class Announcement(Base):
    """An announcement page that carries one or more lists."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(32))
    published_on: Mapped[str | None] = mapped_column(String(10))
    signal: Mapped[str] = mapped_column(String(16))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FilingList(Base):
    """One published list: an attachment (by its stable URL key) on an announcement page."""

    __tablename__ = "filing_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_key: Mapped[str] = mapped_column(String(1000), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    list_month: Mapped[str] = mapped_column(String(7))
    name: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str] = mapped_column(String(1000))
    attachment_url: Mapped[str] = mapped_column(String(2000))
    # The date of the page the list was found on (an in-place page keeps its own first date).
    published_on: Mapped[str | None] = mapped_column(String(10))
    # When CAC first published the list (0023): the date of the announcement (or of the page)
    # that published it, or — for a list added later to a page updated in place — the day
    # cacwatch first saw it there (China time); ``published_basis`` says which
    # (storage.list_dates).
    first_published_on: Mapped[str | None] = mapped_column(String(10))
    published_basis: Mapped[str | None] = mapped_column(String(16))  # announced | first_seen
    is_cancellation: Mapped[bool] = mapped_column(Boolean, default=False)
    # A summary (``2024年生成式人工智能服务已备案信息``, 0012) repeats entries of earlier lists:
    # its rows never make new filings of their own (storage.repo, bot.ingest.events).
    is_summary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The version whose rows are the list's current content (None until one parses).
    # No foreign key: it would make lists and versions a cycle that SQLite cannot alter.
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    # A stored version held as suspect (it lost a large share of the current rows): not
    # current, no filing derived from it, until confirmed (storage.holds). No foreign key,
    # for the same reason as current_version_id.
    held_version_id: Mapped[int | None] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the latest fetch/parse failed; cleared by the next success.
    last_error: Mapped[str | None] = mapped_column(Text)


class ListVersion(Base):
    """One distinct content of a list: a new row here each time CAC re-issues the attachment."""

    __tablename__ = "list_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("filing_lists.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    row_count: Mapped[int] = mapped_column(Integer)
    # Hash of the normalised rows: bytes may change while rows do not (no event then).
    rows_digest: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    # A held (suspect) version the operator rejected (0017): the same bytes served again are
    # not stored or held again; the list keeps its current version.
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ListRow(Base):
    """One normalised row of one list version, with its provenance."""

    __tablename__ = "list_rows"
    __table_args__ = (Index("ix_list_rows_kind_number", "kind", "filing_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("list_versions.id"), index=True)
    row_index: Mapped[int] = mapped_column(Integer)
    # 序号 as printed in the list (0023); None where the table has none (Word auto-numbering,
    # no 序号 column) or for rows stored before it was kept: then the position says where it is.
    seq: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    filing_number: Mapped[str] = mapped_column(String(128))
    fields: Mapped[dict[str, Any]] = mapped_column()
    flags: Mapped[list[Any]] = mapped_column(default=list)


class Filing(Base):
    """One filing per (kind, number) with its current fields, derived from every list holding it."""

    __tablename__ = "filings"
    __table_args__ = (UniqueConstraint("kind", "filing_number", name="uq_filings_kind_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    filing_number: Mapped[str] = mapped_column(String(128))
    list_month: Mapped[str] = mapped_column(String(7))
    first_list_id: Mapped[int] = mapped_column(ForeignKey("filing_lists.id"))
    current_list_id: Mapped[int | None] = mapped_column(ForeignKey("filing_lists.id"))
    name: Mapped[str] = mapped_column(Text, default="")
    entity: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(Text)
    products: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str] = mapped_column(Text, default="")
    province: Mapped[str | None] = mapped_column(String(32))
    remark: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    filed_on: Mapped[str | None] = mapped_column(String(10))
    registration: Mapped[str | None] = mapped_column(String(16))  # GenAI: filed | registered
    scenario: Mapped[str | None] = mapped_column(Text)  # GenAI on-device: 适用场景
    flags: Mapped[list[Any]] = mapped_column(default=list)
    # False once the filing has left every list it was in (kept, never deleted).
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FilingChange(Base):
    """History: what changed on a filing, when, and which list version caused it."""

    __tablename__ = "filing_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("list_versions.id"))
    change_type: Mapped[str] = mapped_column(String(16))  # created|changed|cancelled|renamed|removed
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HttpValidator(Base):
    """ETag / Last-Modified remembered per URL, so unchanged content is not downloaded again."""

    __tablename__ = "http_validators"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
