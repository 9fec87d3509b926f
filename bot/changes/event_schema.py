"""The shape of events (webhook bodies, outbox payloads) and of notable findings.

Every notifier consumes exactly these JSON-able dicts, so webhooks, Telegram and email
tell the same story. interfaces.md is the contract; fields here only extend it, and their
keys are docs/webhook-events.schema.json's (tests/test_event_schema.py holds them together).
Readers narrow ``Event`` by its ``type`` and a ``Finding`` by its ``type``; JSON read back
from the outbox becomes an ``Event`` only through ``event_from_json``.

Event::

    {"id": "evt_…", "type": "list.published" | "list.revised" | "baseline.established",
     "timestamp": "2026-05-06T08:01:02Z", "data": ListEventData | BaselineData}

A list with more filings than fit one body is split into several events with
``data.part = {"index": i, "total": n}``; counts always describe the whole list.
"""

# No ``from __future__ import annotations`` here: TypedDict reads NotRequired[...] from the
# evaluated annotations (on Python 3.11 string annotations would make every key required, and
# ``__required_keys__`` is what ``event_from_json`` and the schema test check).
from collections.abc import Mapping
from typing import Literal, NotRequired, TypedDict, TypeGuard, cast, get_args

from bot.settings.event_types import EVENT_TYPES, LIST_EVENT_TYPES, OPERATOR_ALERT, EventType, ListEventType, OperatorEventType

__all__ = [
    "ListPublished",
    "EventType",
    "ListEventType",
    "FieldValue",
    "FieldChanges",
    "FilingRecord",
    "ChangedFiling",
    "Counts",
    "GenaiCounts",
    "GenaiTotals",
    "RegistrationTotals",
    "StatedRegistrationTotals",
    "FindingType",
    "Finding",
    "RankFinding",
    "SizeChangeFinding",
    "TopFilersFinding",
    "BigTechFinding",
    "ForeignFinding",
    "WatchlistFinding",
    "CancellationsFinding",
    "RenamesFinding",
    "ProvincesFinding",
    "TotalsFinding",
    "TotalsMismatchFinding",
    "TotalsMismatchData",
    "RankData",
    "SizeChangeData",
    "FilerCount",
    "TopFilersData",
    "BigTechGroup",
    "BigTechData",
    "ForeignFiler",
    "ForeignData",
    "WatchHit",
    "WatchlistData",
    "CancelledFiling",
    "CancellationsData",
    "Rename",
    "RenamesData",
    "ProvinceCount",
    "ProvincesData",
    "TotalsData",
    "ListEventData",
    "BaselineCounts",
    "BaselineData",
    "KindTotals",
    "Part",
    "ListEvent",
    "BaselineEvent",
    "Event",
    "OperatorAlertData",
    "OperatorAlertEvent",
    "operator_alert_from_json",
    "EVENT_TYPES",
    "LIST_EVENT_TYPES",
    "FINDING_TYPES",
    "EventPayloadError",
    "is_list_event",
    "event_kind",
    "event_from_json",
    "findings_from_json",
    "split_event",
]


# A field's value in a filing record: text, a product list, or null (role, category, …).
FieldValue = str | int | list[str] | None
FieldChanges = dict[str, list[FieldValue]]  # {"field": [before, after]}


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
    registration: NotRequired[str | None]  # GenAI: filed | registered; null for the other kinds
    scenario: NotRequired[str | None]  # GenAI on-device: 适用场景


class ChangedFiling(TypedDict):
    kind: str
    filing_number: str
    changes: FieldChanges
    name: NotRequired[str]  # current name and entity, for readable notifications
    entity: NotRequired[str]


class GenaiCounts(TypedDict):
    """A GenAI list's new filings split by what they are (interfaces.md ``counts.genai``)."""

    filed: int  # 备案: models and services filed with the national office (on-device included)
    registered: int  # 登记: apps and functions registered by provincial offices
    on_device: int  # 端侧: filed services with a 适用场景 (a subset of ``filed``)


class Counts(TypedDict):
    new: int  # filings never seen before in this kind
    changed: int
    removed: int
    rows: NotRequired[int]  # rows in the list now
    # Filings reported cancelled: changed to cancelled, or new and listed already cancelled
    # (the "cancellations" finding's 注销 N 项). A change, not a removal.
    cancelled: NotRequired[int]
    renamed: NotRequired[int]  # changed filings whose filer name changed
    genai: NotRequired[GenaiCounts]  # GenAI lists only


# --- findings: {"type", "zh", "en", "data"}, the data's shape fixed by the type ---------------


class RankData(TypedDict):
    size: int
    rank: int
    of: int
    kind: str


class SizeChangeData(TypedDict):
    previous: int
    delta: int
    previous_list_month: str


class FilerCount(TypedDict):
    entity: str
    count: int


class TopFilersData(TypedDict):
    filers: list[FilerCount]


class BigTechGroup(TypedDict):
    group: str
    group_zh: str
    count: int
    entities: list[str]


class BigTechData(TypedDict):
    groups: list[BigTechGroup]


class ForeignFiler(TypedDict):
    entity: str
    name_en: str
    count: int


class ForeignData(TypedDict):
    filers: list[ForeignFiler]


class WatchHit(TypedDict):
    pattern: str
    entity: str  # the name that matched
    filing_number: str
    name: str
    score: float


class WatchlistData(TypedDict):
    hits: list[WatchHit]


class CancelledFiling(TypedDict):
    filing_number: str
    name: str
    entity: str


class CancellationsData(TypedDict):
    filings: list[CancelledFiling]


class Rename(TypedDict):
    filing_number: str
    before: str
    after: str


class RenamesData(TypedDict):
    renames: list[Rename]


class ProvinceCount(TypedDict):
    province: str
    count: int


class ProvincesData(TypedDict):
    provinces: list[ProvinceCount]


class KindTotals(TypedDict):
    lists: int
    filings: int
    cancelled: int


class TotalsData(TypedDict):  # baseline only
    by_kind: dict[str, KindTotals]


class RegistrationTotals(TypedDict):
    filed: int
    registered: int


class StatedRegistrationTotals(TypedDict):
    filed: int
    registered: int | None  # None: the announcement stated only 备案 (截至2025年3月31日，共有346款…)


class ListPublished(TypedDict):
    """When CAC first published the list (``data.published``): ``on`` the date, ``basis``
    ``announced`` (the date of the announcement or page that published it) or ``first_seen``
    (the day cacwatch first saw it on a page CAC updates in place)."""

    on: str  # YYYY-MM-DD
    basis: Literal["announced", "first_seen"]


class GenaiTotals(TypedDict):
    """CAC's stated cumulative GenAI totals against what cacwatch holds (``data.totals``).

    ``stated``: 截至 ``as_of``，共有N款…完成备案，M款…完成登记 (an announcement's text);
    ``held``: active GenAI filings cacwatch holds after this list, by registration.
    """

    as_of: str  # YYYY-MM-DD
    stated: StatedRegistrationTotals
    held: RegistrationTotals
    source_url: NotRequired[str]  # the announcement that stated them


class TotalsMismatchData(TypedDict):
    totals: GenaiTotals


class _FindingText(TypedDict):
    zh: str  # one sentence in Chinese
    en: str  # the same in English


class RankFinding(_FindingText):
    type: Literal["rank"]
    data: RankData


class SizeChangeFinding(_FindingText):
    type: Literal["size_change"]
    data: SizeChangeData


class TopFilersFinding(_FindingText):
    type: Literal["top_filers"]
    data: TopFilersData


class BigTechFinding(_FindingText):
    type: Literal["big_tech"]
    data: BigTechData


class ForeignFinding(_FindingText):
    type: Literal["foreign"]
    data: ForeignData


class WatchlistFinding(_FindingText):
    type: Literal["watchlist"]
    data: WatchlistData


class CancellationsFinding(_FindingText):
    type: Literal["cancellations"]
    data: CancellationsData


class RenamesFinding(_FindingText):
    type: Literal["renames"]
    data: RenamesData


class ProvincesFinding(_FindingText):
    type: Literal["provinces"]
    data: ProvincesData


class TotalsFinding(_FindingText):
    type: Literal["totals"]
    data: TotalsData


class TotalsMismatchFinding(_FindingText):
    type: Literal["totals_mismatch"]
    data: TotalsMismatchData


# Narrowed by ``finding["type"] == "rank"`` etc.
Finding = (
    RankFinding
    | SizeChangeFinding
    | TopFilersFinding
    | BigTechFinding
    | ForeignFinding
    | WatchlistFinding
    | CancellationsFinding
    | RenamesFinding
    | ProvincesFinding
    | TotalsFinding
    | TotalsMismatchFinding
)
FindingType = Literal[
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
    "totals_mismatch",
]
FINDING_TYPES: tuple[FindingType, ...] = get_args(FindingType)


# --- events -------------------------------------------------------------------------------------


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
    totals: NotRequired[GenaiTotals]  # GenAI lists whose announcement states cumulative totals
    published: NotRequired[ListPublished]  # when CAC first published the list, and on what that rests
    part: NotRequired[Part]
    # Never sent nor stored: set on one e-mail subscriber's copy whose rows a province filter
    # narrowed (bot.delivery.email.subscribers.narrow_event); counts still tell the whole list.
    narrowed: NotRequired[bool]


class BaselineCounts(TypedDict):
    lists: int
    filings: int


class BaselineData(TypedDict):
    counts: BaselineCounts
    by_kind: dict[str, KindTotals]
    notable: list[Finding]


class ListEvent(TypedDict):
    id: str
    type: ListEventType
    timestamp: str  # ISO 8601, UTC, "Z"
    data: ListEventData


class BaselineEvent(TypedDict):
    id: str
    type: Literal["baseline.established"]
    timestamp: str
    data: BaselineData


# Narrowed by ``event["type"] == "baseline.established"`` (or ``is_list_event``).
Event = ListEvent | BaselineEvent


class OperatorAlertData(TypedDict):
    incident: str  # the incident's key: source:cac, list:<where>, totals:<kind>:<as_of>, held:<kind>:<month>:<id>
    state: Literal["opened", "resolved"]
    subject: str  # one line, as the alert's email subject / chat title
    text: str  # what happened and what to do, plain text
    opened_at: str  # ISO 8601 UTC
    resolved_at: str | None  # ISO 8601 UTC once resolved


class OperatorAlertEvent(TypedDict):
    """An incident opened or resolved, for the webhooks that ask for ``operator.alert`` by name.
    Not an ``Event``: no notifier that announces lists ever sees one."""

    id: str  # the same for every retry and every poll that tries again: evt_alert_<digest>
    type: OperatorEventType
    timestamp: str
    data: OperatorAlertData


def is_list_event(event: Event) -> TypeGuard[ListEvent]:
    return event["type"] != "baseline.established"


def event_kind(event: Event) -> str | None:
    """The kind a list event is about; None for a baseline (it spans every kind)."""
    return event["data"]["kind"] if is_list_event(event) else None


class EventPayloadError(ValueError):
    """Stored JSON that is not an event this version can read."""


_DATA_KEYS: dict[str, frozenset[str]] = {
    "list.published": ListEventData.__required_keys__,
    "list.revised": ListEventData.__required_keys__,
    "baseline.established": BaselineData.__required_keys__,
}
_FINDING_KEYS: frozenset[str] = frozenset(("type", "zh", "en", "data"))


def _check_findings(findings: object, where: str) -> None:
    if not isinstance(findings, list):
        raise EventPayloadError(f"{where}: notable is not a list")
    for finding in findings:
        if not isinstance(finding, dict) or not _FINDING_KEYS <= finding.keys():
            raise EventPayloadError(f"{where}: a finding lacks type, zh, en or data")
        if finding["type"] not in FINDING_TYPES or not isinstance(finding["data"], dict):
            raise EventPayloadError(f"{where}: unknown finding {finding['type']!r}")


def event_from_json(payload: Mapping[str, object]) -> Event:
    """The one door from stored JSON (the outbox's payloads) to a typed event.

    Checks what the readers rely on without copying or reordering anything (the webhook body is
    re-encoded from this very dict, byte for byte as it was stored): the type tag, the envelope,
    the required keys of that type's ``data``, lists where lists are read, and each finding's
    type. Filing records are not checked field by field: ``enqueue`` wrote them from typed
    records in this same codebase.
    """
    event_type = payload.get("type")
    event_id = payload.get("id")
    if event_type not in _DATA_KEYS:
        raise EventPayloadError(f"unknown event type {event_type!r}")
    if not isinstance(event_id, str) or not isinstance(payload.get("timestamp"), str):
        raise EventPayloadError(f"{event_type}: id and timestamp must be strings")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise EventPayloadError(f"{event_id}: data is not an object")
    missing = _DATA_KEYS[str(event_type)] - data.keys()
    if missing:
        raise EventPayloadError(f"{event_id}: data lacks {', '.join(sorted(missing))}")
    if not isinstance(data["counts"], dict):
        raise EventPayloadError(f"{event_id}: counts is not an object")
    if event_type == "baseline.established":
        if not isinstance(data["by_kind"], dict):
            raise EventPayloadError(f"{event_id}: by_kind is not an object")
    elif not all(isinstance(data[name], list) for name in ("new", "changed", "removed")):
        raise EventPayloadError(f"{event_id}: new, changed and removed must be lists")
    _check_findings(data["notable"], str(event_id))
    return cast(Event, payload)


_ALERT_KEYS: frozenset[str] = OperatorAlertData.__required_keys__


def operator_alert_from_json(payload: Mapping[str, object]) -> OperatorAlertEvent:
    """Stored JSON (the outbox's payload) as an operator alert, checked as ``event_from_json`` checks events."""
    if payload.get("type") != OPERATOR_ALERT:
        raise EventPayloadError(f"not an operator alert: {payload.get('type')!r}")
    if not isinstance(payload.get("id"), str) or not isinstance(payload.get("timestamp"), str):
        raise EventPayloadError("operator.alert: id and timestamp must be strings")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise EventPayloadError(f"{payload['id']}: data is not an object")
    if missing := _ALERT_KEYS - data.keys():
        raise EventPayloadError(f"{payload['id']}: data lacks {', '.join(sorted(missing))}")
    if data["state"] not in ("opened", "resolved") or not all(
        isinstance(data[name], str) for name in ("incident", "subject", "text", "opened_at")
    ):
        raise EventPayloadError(f"{payload['id']}: state, incident, subject, text or opened_at malformed")
    return cast(OperatorAlertEvent, payload)


def findings_from_json(findings: object) -> list[Finding]:
    """Stored findings (an event's ``notable``, e.g. as the web feed reads them) as typed findings."""
    _check_findings(findings, "stored findings")
    return cast(list[Finding], findings)


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
    if event["type"] == "baseline.established":
        return [event]  # counts only
    data = event["data"]
    new, changed, removed = data["new"], data["changed"], data["removed"]
    total = len(new) + len(changed) + len(removed)
    if total <= max_filings:
        return [event]
    # Part i holds filings [start, end) of new + changed + removed taken as one sequence.
    changed_from, removed_from = len(new), len(new) + len(changed)
    starts = range(0, total, max_filings)
    parts: list[Event] = []
    for index, start in enumerate(starts, start=1):
        end = start + max_filings
        # ``{**data, …}`` keeps every key where it was (the body's byte order); "part" goes last.
        part_data: ListEventData = {
            **data,
            "new": new[start:end],
            "changed": changed[max(0, start - changed_from) : max(0, end - changed_from)],
            "removed": removed[max(0, start - removed_from) : max(0, end - removed_from)],
            "part": {"index": index, "total": len(starts)},
        }
        parts.append({"id": f"{event['id']}-p{index}", "type": event["type"], "timestamp": event["timestamp"], "data": part_data})
    return parts
