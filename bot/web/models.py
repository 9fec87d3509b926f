"""Response shapes of the JSON API (pydantic): they are the OpenAPI document's schemas and
every answer is built through them, so the document and the answers cannot drift apart."""

from __future__ import annotations

import builtins
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ErrorModel",
    "FilingRecordModel",
    "FilingItemModel",
    "ChangeModel",
    "ChangesModel",
    "FilingsPageModel",
    "HistoryModel",
    "HoldingModel",
    "FilingDetailModel",
    "VersionModel",
    "ListModel",
    "ListsModel",
    "ListRowModel",
    "ListChangeModel",
    "ListDetailModel",
    "EntityModel",
    "EntitiesModel",
    "EntityFilingModel",
    "EntityDetailModel",
    "FilerNameModel",
    "TimelineModel",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorModel(_Model):
    error: str


class FilingRecordModel(_Model):
    """The filing record of interfaces.md (the same as `cacwatch export`)."""

    kind: Literal["deep_synthesis", "algorithm_recommendation", "genai_service"]
    list_month: str
    filing_number: str
    name: str
    entity: str
    role: str | None
    category: str | None
    products: list[str]
    purpose: str
    province: str | None
    remark: str
    status: Literal["active", "cancelled"]
    filed_on: str | None
    registration: Literal["filed", "registered"] | None = None
    scenario: str | None = None


class FilingItemModel(FilingRecordModel):
    """A search result: the filing record with what `cacwatch export` adds — the filer's English
    name as cacwatch shows it, and when the filing was first seen and last changed."""

    entity_en: str = ""
    first_seen: str | None = None  # ISO 8601, seconds
    updated_at: str | None = None
    # In English (bot.changes.vocabulary): role, 算法类别, registration type (filed | registered | on-device).
    role_en: str = ""
    category_en: str = ""
    registration_en: str = ""
    # The filer's company group or foreign company (字节跳动 / ByteDance), null without one.
    group: str | None = None
    group_en: str | None = None


class NoFilingModel(_Model):
    """A known company or company group the query names that has no filing at all."""

    key: str  # tesla
    zh: str  # 特斯拉
    en: str  # Tesla
    note: str  # Tesla: no filing on record
    note_zh: str  # 特斯拉：暂无备案记录


class FilingsPageModel(_Model):
    items: list[FilingItemModel]
    next_cursor: str | None
    total: int
    # Filled only when total is 0 and q names known companies with no filing ("Tesla: no filing on record").
    no_filing: list[NoFilingModel] = []


class HistoryModel(_Model):
    change_type: str
    changes: dict[str, list[Any]]
    at: str
    list_kind: str | None
    list_month: str | None
    list_name: str | None
    version_id: int | None
    sha256: str | None
    # The list's date: when CAC first published it, and on what that rests (``announced``:
    # the date of the announcement that published it; ``first_seen``: when cacwatch first saw
    # it on a page CAC updates in place).
    list_published_on: str | None
    list_published_basis: Literal["announced", "first_seen"] | None
    version_number: int | None  # 1-based among the list's versions


class _ListIdentityModel(_Model):
    """Which published list: kind, month, names, and where CAC has it (page, attachment)."""

    kind: str
    list_month: str
    name: str
    title: str
    page_url: str
    attachment_url: str


class HoldingModel(_ListIdentityModel):
    is_cancellation: bool
    version_id: int
    sha256: str
    fetched_at: str
    row_index: int  # 0-based position among the list's data rows
    current: bool
    seq: str | None  # 序号 as printed; null when the table has none (then the position says where)
    row_position: int  # 1-based position among the list's data rows
    format: str
    version_number: int  # 1-based among the list's versions
    list_published_on: str | None
    list_published_basis: Literal["announced", "first_seen"] | None
    primary: bool  # the list /lists/{kind}/{list_month} shows (not a 注销 notice of that month)
    # cacwatch's archived, sha256-checked copy of this version's file (a path on this server);
    # null when this server holds none (a table in a page, no blob store).
    file: str | None


class FilingDetailModel(_Model):
    filing: FilingRecordModel
    entity_en: str  # the English name cacwatch shows for the filer
    company: str | None  # its big-tech group or foreign parent (English), if any
    present: bool
    first_seen_at: str
    updated_at: str
    history: list[HistoryModel]
    lists: list[HoldingModel]


class VersionModel(_Model):
    id: int
    sha256: str
    format: str
    rows: int
    fetched_at: str
    current: bool
    number: int  # 1-based among the list's versions
    # cacwatch's archived, sha256-checked copy of this version's file (a path on this server);
    # null when this server holds none (a table in a page, no blob store).
    file: str | None


class ListModel(_ListIdentityModel):
    published_on: str | None  # the date of the page it was found on
    # When CAC first published it and on what that rests (``announced`` | ``first_seen``).
    first_published_on: str | None
    published_basis: Literal["announced", "first_seen"] | None
    is_cancellation: bool
    rows: int
    rank: int | None
    of: int
    first_seen_at: str
    last_checked_at: str | None
    versions: list[VersionModel]


class ListsModel(_Model):
    items: list[ListModel]


class ListRowModel(_Model):
    row_index: int
    seq: str | None  # 序号 as printed; null when the table has none
    filing_number: str
    fields: dict[str, Any]


class ListChangeModel(_Model):
    version_id: int
    kind: str
    filing_number: str
    change_type: str
    changes: dict[str, list[Any]]


class ListDetailModel(_Model):
    list: ListModel
    filings: builtins.list[FilingRecordModel]
    rows: builtins.list[ListRowModel]
    changes: builtins.list[ListChangeModel]  # what each re-issue (a later version) changed
    others: builtins.list[ListModel]  # other lists of the same kind and month (a 注销 notice)


class EntityModel(_Model):
    entity: str
    entity_en: str
    company: str | None
    filings: int
    cancelled: int
    by_kind: dict[str, int]


class EntitiesModel(_Model):
    items: list[EntityModel]


class EntityFilingModel(FilingRecordModel):
    present: bool


class FilerNameModel(_Model):
    """One name a filer used: when it was listed, and whether (and when) it was renamed."""

    name: str
    first_month: str | None
    last_month: str | None
    filings: int
    current: bool
    renamed_to: str | None
    renamed_month: str | None
    renamed_at: str | None
    evidence: list[str]


class TimelineModel(_Model):
    month: str | None
    at: str | None
    event: Literal["listed", "renamed", "cancelled", "removed"]
    kind: str | None
    count: int
    detail: str


class EntityDetailModel(_Model):
    entity: str  # the filer's current name (the name asked for may be a former one)
    entity_en: str
    company: str | None
    filer_ids: list[str]  # the filer id (7 digits after the region code) of its 网信算备 numbers
    names: list[FilerNameModel]  # every name it used, oldest first
    filings: list[EntityFilingModel]  # under every name, in the three series
    timeline: list[TimelineModel]


class ChangeModel(_Model):
    """One stored event, as webhooks carry it (docs/webhook-events.schema.json), with its
    place in the sequence of every event cacwatch has made."""

    seq: int  # increases with every event; ask for the next ones with ?after=<seq>
    id: str
    type: str
    timestamp: str
    data: dict[str, Any]


class ChangesModel(_Model):
    items: builtins.list[ChangeModel]
    # The ``after`` to ask with next: the last item's seq, or the one asked with when none is new.
    next_after: int
