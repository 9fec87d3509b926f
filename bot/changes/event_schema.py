"""The shape of events (webhook bodies, outbox payloads) and of notable findings.

Every notifier consumes exactly these JSON-able dicts, so webhooks, Telegram and email
tell the same story. interfaces.md is the contract; fields here only extend it.

Event::

    {"id": "evt_…", "type": "list.published" | "list.revised" | "baseline.established",
     "timestamp": "2026-05-06T08:01:02Z", "data": ListEventData | BaselineData}

A list with more filings than fit one body is split into several events with
``data.part = {"index": i, "total": n}``; counts always describe the whole list.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "EventType",
    "FilingRecord",
    "ChangedFiling",
    "Counts",
    "Finding",
    "ListEventData",
    "BaselineData",
    "KindTotals",
    "Part",
    "Event",
    "EVENT_TYPES",
    "FINDING_TYPES",
    "split_event",
]

EventType = Literal["list.published", "list.revised", "baseline.established"]
EVENT_TYPES: tuple[str, ...] = ("list.published", "list.revised", "baseline.established")


class FilingRecord(TypedDict):
    """The export record of interfaces.md."""

    kind: str
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
    status: str
    filed_on: str | None


class ChangedFiling(TypedDict):
    kind: str
    filing_number: str
    changes: dict[str, list[Any]]  # {"field": [before, after]}
    name: NotRequired[str]  # current name and entity, for readable notifications
    entity: NotRequired[str]


class Counts(TypedDict):
    new: int  # filings never seen before in this kind
    changed: int
    removed: int
    rows: NotRequired[int]  # rows in the list now
    # Filings reported cancelled: changed to cancelled, or new and listed already cancelled
    # (the "cancellations" finding's 注销 N 项). A change, not a removal.
    cancelled: NotRequired[int]
    renamed: NotRequired[int]  # changed filings whose filer name changed


# Finding types and their ``data``:
# - "rank":          {"size": 487, "rank": 2, "of": 7, "kind": "deep_synthesis"}
# - "size_change":   {"previous": 410, "delta": 77, "previous_list_month": "2026-03"}
# - "top_filers":    {"filers": [{"entity": str, "count": int}]}
# - "big_tech":      {"groups": [{"group": "Alibaba", "group_zh": "阿里巴巴", "count": int, "entities": [str]}]}
# - "foreign":       {"filers": [{"entity": str, "name_en": str, "count": int}]}
# - "watchlist":     {"hits": [{"pattern": str, "entity": str, "filing_number": str, "name": str, "score": float}]}
# - "cancellations": {"filings": [{"filing_number": str, "name": str, "entity": str}]}
# - "renames":       {"renames": [{"filing_number": str, "before": str, "after": str}]}
# - "provinces":     {"provinces": [{"province": str, "count": int}]}
# - "totals":        {"by_kind": {kind: {"lists", "filings", "cancelled"}}}  (baseline only)
FINDING_TYPES: tuple[str, ...] = (
    "rank",
    "size_change",
    "top_filers",
    "big_tech",
    "foreign",
    "watchlist",
    "cancellations",
    "renames",
    "provinces",
    "totals",
)


class Finding(TypedDict):
    type: str  # one of FINDING_TYPES
    zh: str  # one sentence in Chinese
    en: str  # the same in English
    data: dict[str, Any]


class Part(TypedDict):
    index: int  # 1-based
    total: int


class ListEventData(TypedDict):
    kind: str
    list_month: str
    title: str  # announcement title
    name: str  # attachment (list) name
    batch: int | None  # 第N批 for deep synthesis
    page_url: str
    attachment_url: str
    counts: Counts
    new: list[FilingRecord]
    changed: list[ChangedFiling]
    removed: list[FilingRecord]
    notable: list[Finding]
    sizes: NotRequired[list[list[str | int]]]  # [[list_month, rows]] of the kind's lists, oldest first
    part: NotRequired[Part]


class KindTotals(TypedDict):
    lists: int
    filings: int
    cancelled: int


class BaselineData(TypedDict):
    counts: dict[str, int]  # {"lists": n, "filings": n}
    by_kind: dict[str, KindTotals]
    notable: list[Finding]


class Event(TypedDict):
    id: str
    type: str  # EventType
    timestamp: str  # ISO 8601, UTC, "Z"
    # ListEventData or BaselineData: built as those (bot.changes.events), read as JSON by
    # the notifiers (and stored as JSON in the outbox).
    data: dict[str, Any]


def split_event(event: Event, *, max_filings: int = 500) -> list[Event]:
    """Split a list event so that no part carries more than ``max_filings`` filings.

    Filings are counted over new + changed + removed, kept in that order. Each part gets
    ``data.part = {"index": i, "total": n}`` (1-based) and the id ``<id>-p<i>``; ``counts``
    and ``notable`` stay as they are in every part because they describe the whole list
    (and so per-endpoint filters such as watchlist_only judge every part alike).
    A baseline event or one small enough is returned unchanged as ``[event]``.
    """
    if max_filings < 1:
        raise ValueError("max_filings must be at least 1")
    data = event["data"]
    sections = ("new", "changed", "removed")
    if not all(isinstance(data.get(name), list) for name in sections):
        return [event]  # baseline: counts only
    entries = [(name, item) for name in sections for item in data[name]]
    if len(entries) <= max_filings:
        return [event]
    chunks = [entries[start : start + max_filings] for start in range(0, len(entries), max_filings)]
    parts: list[Event] = []
    for index, chunk in enumerate(chunks, start=1):
        part_data: dict[str, Any] = dict(data)
        for name in sections:
            part_data[name] = [item for section, item in chunk if section == name]
        part_data["part"] = {"index": index, "total": len(chunks)}
        parts.append(
            {"id": f"{event['id']}-p{index}", "type": event["type"], "timestamp": event["timestamp"], "data": part_data}
        )
    return parts
