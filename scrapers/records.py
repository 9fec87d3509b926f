"""Typed records that flow from discovery through parsing to storage and notifiers.

Every stage hands the next one these frozen dataclasses, never dicts, so a field
renamed in one place breaks loudly everywhere it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Validators",
    "Kind",
    "Status",
    "SourceSignal",
    "Announcement",
    "StatedTotals",
    "ListRef",
    "FilingRow",
    "ParsedList",
    "ParseError",
    "EXPORT_FIELDS",
]


class Kind(StrEnum):
    """The three series of CAC filing lists (export value of ``kind``)."""

    DEEP_SYNTHESIS = "deep_synthesis"
    ALGORITHM_RECOMMENDATION = "algorithm_recommendation"
    GENAI_SERVICE = "genai_service"


class Status(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class SourceSignal(StrEnum):
    """How an announcement was found (kept for provenance and debugging)."""

    CHANNEL = "channel"  # the 网信发布 channel list pages
    IN_PLACE = "in_place"  # one of the pages CAC updates in place
    NOTICE_API = "notice_api"  # beian.cac.gov.cn /api/notice/list


@dataclass(frozen=True, slots=True)
class StatedTotals:
    """Cumulative totals an announcement states: 截至 ``as_of``，共有 ``filed`` 款…完成备案，
    ``registered`` 款…完成登记 (GenAI). ``registered`` is None when only 备案 is stated."""

    as_of: str  # YYYY-MM-DD
    filed: int
    registered: int | None = None


@dataclass(frozen=True, slots=True)
class Announcement:
    """One announcement page on the CAC site.

    ``totals``: the cumulative totals its text states (GenAI announcements); ``links``: the
    attachment keys it links, so a statement can be matched with the list it announced.
    """

    url: str
    title: str
    published_on: str | None  # YYYY-MM-DD from the page or the channel list
    signal: SourceSignal
    totals: tuple[StatedTotals, ...] = ()
    links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListRef:
    """One filing list: an attachment linked from an announcement page.

    ``list_month`` comes from the attachment's name (``…（2024年4月）``), never from
    the page date: CAC publishes a list weeks after the month it names.
    ``is_cancellation`` marks 注销 notices, whose rows only cancel filings.
    ``is_summary`` marks a summary (e.g. ``2024年生成式人工智能服务已备案信息``) that repeats
    entries published in earlier lists: its rows are never new filings of their own.
    """

    kind: Kind
    list_month: str  # YYYY-MM
    name: str  # attachment name (fText / link text)
    title: str  # announcement title
    page_url: str
    attachment_url: str
    published_on: str | None = None
    is_cancellation: bool = False
    is_summary: bool = False
    # Found on a page CAC updates in place: ``published_on`` is the page's first date, not
    # necessarily this list's (storage.list_dates).
    in_place: bool = False


@dataclass(frozen=True, slots=True)
class FilingRow:
    """One normalised row of one list, as interfaces.md defines the export record.

    ``row_index`` is the 0-based position among the list's data rows (provenance);
    ``seq`` is its 序号 as printed (None when the cell is empty or there is no such column):
    provenance too, not a field of the export record;
    ``flags`` records oddities kept rather than dropped (``malformed_number``).
    """

    kind: Kind
    filing_number: str
    name: str
    entity: str
    role: str | None
    category: str | None
    products: tuple[str, ...]
    purpose: str
    province: str | None
    remark: str
    status: Status
    filed_on: str | None
    row_index: int
    flags: tuple[str, ...] = ()
    # GenAI only: ``filed`` (备案, a model filed nationally) or ``registered`` (登记, an app
    # registered by a provincial office); ``scenario`` is 适用场景 of an on-device service.
    registration: str | None = None
    scenario: str | None = None
    seq: str | None = None

    def fields(self) -> dict[str, object]:
        """The export-record fields this row determines (everything but list_month)."""
        return {
            "kind": self.kind.value,
            "filing_number": self.filing_number,
            "name": self.name,
            "entity": self.entity,
            "role": self.role,
            "category": self.category,
            "products": list(self.products),
            "purpose": self.purpose,
            "province": self.province,
            "remark": self.remark,
            "status": self.status.value,
            "filed_on": self.filed_on,
            "registration": self.registration,
            "scenario": self.scenario,
        }


@dataclass(frozen=True, slots=True)
class ParsedList:
    """The result of parsing one attachment."""

    ref: ListRef
    sha256: str
    format: str  # docx | pdf | xlsx | xls | html
    rows: tuple[FilingRow, ...]
    warnings: tuple[str, ...] = field(default=())


class ParseError(Exception):
    """An attachment that cannot be turned into rows; the message says why."""


# Order of the export record's fields (interfaces.md).
EXPORT_FIELDS: tuple[str, ...] = (
    "kind",
    "list_month",
    "filing_number",
    "name",
    "entity",
    "role",
    "category",
    "products",
    "purpose",
    "province",
    "remark",
    "status",
    "filed_on",
    "registration",
    "scenario",
)


@dataclass(frozen=True)
class Validators:
    """What a previous successful download of a URL left to make the next one conditional.

    A record type shared by the fetcher (which sends them) and storage (which keeps them).
    """

    etag: str | None
    last_modified: str | None
    sha256: str | None
