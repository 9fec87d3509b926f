"""One digest mail for one subscriber over several events.

Layout of the message (what a partner forwards to a client)::

    multipart/mixed
      multipart/related; type="multipart/alternative"
        multipart/alternative
          text/plain            (digest.txt.j2)
          text/html             (digest.html.j2, inline CSS, table layout for Outlook and phones)
        image/png               (list-size chart, Content-ID referenced by the HTML as cid:…)
      text/csv                  (new, changed and removed rows; UTF-8 with BOM for Excel)
      application/vnd…sheet     (the same rows as XLSX)

Content order: watched companies first, then one section per list (counts, rank, notable
findings, the first new filings, links to CAC), then cancellations, renames and removals.

Every value comes from a government web site or a subscriber's input, so: HTML through
Jinja2 with autoescape on; links only when they are http(s); headers only through
``email.headerregistry`` objects built from cleaned, single-line values; spreadsheet cells
that would start a formula are kept as text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.changes.companies import batch_label, english_name, province_en
from bot.delivery.email.subscribers import (
    company_matcher,
    Subscriber,
    clean_name,
    narrow_event,
    normalize_address,
)
from bot.changes.event_schema import Event
from bot.changes.watchlist import FilingHit, PatternMatcher, filing_hits
from bot.changes.vocabulary import CHANGE_LABELS, FIELD_LABELS
from bot.delivery.notifiers.text import KIND_NAMES
from scrapers.records import EXPORT_FIELDS

__all__ = [
    "render_digest",
    "digest_rows",
    "rows_csv",
    "rows_xlsx",
    "subject_for",
    "ROW_COLUMNS",
    "ChartSizes",
    "stable_message_id",
    "unsubscribe_url",
    "standalone_html",
]

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).with_name("templates")
_PREVIEW_ROWS = 10  # new filings shown per list in the body; all of them are in the attachments
_MAX_LISTED = 50  # cancellations / renames / removals / watched rows shown in the body
_PRODUCTS_SEPARATOR = "; "  # as in `cacwatch export`
ROW_COLUMNS: tuple[str, ...] = ("change", "list", *EXPORT_FIELDS, "entity_en", "changes")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# kind → [(list_month, rows)], oldest first: the chart's data when an event carries none.
ChartSizes = Mapping[str, Sequence[tuple[str, int]]]

# Findings told elsewhere in the mail (watched companies, the cancellations section).
_FINDINGS_ELSEWHERE = ("watchlist", "cancellations", "renames")


# --- small helpers ---------------------------------------------------------------------------


def _line(value: Any, limit: int = 500) -> str:
    """One line of display text: control characters and line breaks become spaces."""
    return clean_name(None if value is None else str(value), limit=limit)


def _safe_url(value: Any) -> str | None:
    """An http(s) URL, or None: event data must never put javascript: or data: into an href."""
    text = str(value or "").strip()
    if not text or re.search(r"[\x00-\x20\x7f<>\"'`]", text):
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def _english(entity: str) -> str:
    try:
        name = english_name(entity) or ""
    except Exception:  # noqa: BLE001 - a naming bug must not cost the mail
        return ""
    name = _line(name, 300)
    return "" if name == entity else name


def _province_en(province: str | None) -> str:
    if not province:
        return ""
    try:
        return _line(province_en(province) or "", 100)
    except Exception:  # noqa: BLE001
        return ""


def _domain_of(sender: str) -> str:
    return sender.rsplit("@", 1)[-1] if "@" in sender else "localhost"


def stable_message_id(sender: str, keys: Sequence[str]) -> str:
    """A Message-ID that stays the same when the same deliveries are retried.

    A relay that accepted the first attempt but whose reply was lost then sees a duplicate
    it (and the recipient's client) can drop.
    """
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
    return f"<cacwatch.{digest}@{_domain_of(sender)}>"


def unsubscribe_url(public_base_url: str | None, token: str | None) -> str | None:
    if not public_base_url or not token:
        return None
    return f"{public_base_url.rstrip('/')}/email/unsubscribe?token={quote(token, safe='')}"


def _pick(language: str, zh: str, en: str) -> list[str]:
    zh, en = _line(zh), _line(en)
    if language == "zh":
        return [zh] if zh else [en]
    if language == "en":
        return [en] if en else [zh]
    return [t for t in dict.fromkeys([zh, en]) if t]


def _base_id(event_id: str) -> str:
    # Parts of one split list event: evt_x-p1, evt_x-p2 … tell one story.
    return re.sub(r"-p\d+$", "", event_id or "")


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else (plural or noun + 's')}"


# --- the model the templates render ----------------------------------------------------------


@dataclass(slots=True)
class _Filing:
    number: str
    name: str
    entity: str
    entity_en: str
    province: str
    province_en: str


@dataclass(slots=True)
class _Item:
    """A row in the watched / cancellations / renames / removals tables."""

    number: str
    name: str
    entity: str
    entity_en: str
    change: str  # key of CHANGE_LABELS
    list_name: str
    detail: str = ""  # "before → after", the matched pattern …
    pattern: str = ""


@dataclass(slots=True)
class _Section:
    event_type: str
    kind: str
    kind_zh: str
    kind_en: str
    list_month: str
    title: str
    name: str
    batch: int | None
    page_url: str | None
    attachment_url: str | None
    counts: dict[str, int]  # of the whole list
    shown: dict[str, int]  # of what this subscriber gets (differs with a province filter)
    narrowed: bool
    rank: dict[str, Any] | None
    findings: list[list[str]] = field(default_factory=list)
    preview: list[_Filing] = field(default_factory=list)
    more: int = 0
    chart_cid: str | None = None
    batch_zh: str = ""  # 第十七批
    batch_en: str = ""  # 17th batch
    events: list[Event] = field(default_factory=list)

    @property
    def new(self) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["data"].get("new") or []]

    @property
    def changed(self) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["data"].get("changed") or []]

    @property
    def removed(self) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["data"].get("removed") or []]


def _change_of(record: dict[str, Any]) -> str:
    changes = record.get("changes") or {}
    status = changes.get("status")
    if isinstance(status, (list, tuple)) and len(status) == 2 and status[1] == "cancelled":
        return "cancelled"
    if "entity" in changes or "name" in changes:
        return "renamed"
    return "changed"


def _changes_text(changes: Mapping[str, Any]) -> str:
    parts = []
    for key, value in (changes or {}).items():
        if isinstance(value, (list, tuple)) and len(value) == 2:
            before, after = (
                _PRODUCTS_SEPARATOR.join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
                for v in value
            )
            parts.append(f"{key}: {before} → {after}")
        else:
            parts.append(f"{key}: {value}")
    return _line("; ".join(parts), 2000)


def _group_sections(events: Sequence[Event]) -> tuple[list[_Section], list[Event]]:
    """List events merged per base id (parts of one list become one section), in order; baselines apart."""
    sections: dict[str, _Section] = {}
    baselines: list[Event] = []
    for event in events:
        if event.get("type") == "baseline.established":
            baselines.append(event)
            continue
        if event.get("type") not in ("list.published", "list.revised"):
            continue
        key = _base_id(str(event.get("id") or ""))
        data = event.get("data") or {}
        section = sections.get(key)
        if section is None:
            kind = str(data.get("kind") or "")
            kind_zh, kind_en = KIND_NAMES.get(kind, (kind, kind))
            counts = {k: int(v) for k, v in (data.get("counts") or {}).items() if isinstance(v, (int, float))}
            section = sections[key] = _Section(
                event_type=str(event["type"]),
                kind=kind,
                kind_zh=kind_zh,
                kind_en=kind_en,
                list_month=_line(data.get("list_month"), 20),
                title=_line(data.get("title")),
                name=_line(data.get("name")),
                batch=data.get("batch") if isinstance(data.get("batch"), int) else None,
                page_url=_safe_url(data.get("page_url")),
                attachment_url=_safe_url(data.get("attachment_url")),
                counts=counts,
                shown={},
                narrowed=False,
                rank=None,
            )
        section.events.append(event)
        section.narrowed = section.narrowed or bool(data.get("narrowed"))
        if section.batch and not section.batch_zh:
            try:
                section.batch_zh, section.batch_en = batch_label(section.batch)
            except Exception:  # noqa: BLE001 - a label is decoration
                pass
    return list(sections.values()), baselines


def _finish_section(section: _Section, language: str) -> None:
    new, changed, removed = section.new, section.changed, section.removed
    cancelled = sum(1 for c in changed if _change_of(c) == "cancelled")
    renamed = sum(1 for c in changed if "entity" in (c.get("changes") or {}))
    counts = section.counts
    counts.setdefault("new", len(new))
    counts.setdefault("changed", len(changed))
    counts.setdefault("removed", len(removed))
    counts.setdefault("cancelled", cancelled)
    counts.setdefault("renamed", renamed)
    if section.narrowed:
        section.shown = {"new": len(new), "changed": len(changed), "removed": len(removed),
                         "cancelled": cancelled, "renamed": renamed}
    else:
        section.shown = dict(counts)
    for event in section.events:
        for finding in event["data"].get("notable") or []:
            if not isinstance(finding, Mapping):
                continue
            if finding.get("type") == "rank" and section.rank is None:
                data = finding.get("data") or {}
                if all(isinstance(data.get(k), int) for k in ("rank", "of")):
                    section.rank = {"rank": data["rank"], "of": data["of"], "size": data.get("size")}
            if finding.get("type") in _FINDINGS_ELSEWHERE:
                continue
            texts = _pick(language, str(finding.get("zh") or ""), str(finding.get("en") or ""))
            if texts and texts not in section.findings:
                section.findings.append(texts)
    for record in new[:_PREVIEW_ROWS]:
        entity = _line(record.get("entity"))
        province = _line(record.get("province"), 40)
        section.preview.append(
            _Filing(
                number=_line(record.get("filing_number"), 200),
                name=_line(record.get("name")),
                entity=entity,
                entity_en=_english(entity) if language != "zh" else "",
                province=province,
                province_en=_province_en(province) if language != "zh" else "",
            )
        )
    section.more = max(0, len(new) - len(section.preview))


def _item(record: Mapping[str, Any], change: str, list_name: str, language: str, detail: str = "") -> _Item:
    entity = _line(record.get("entity"))
    return _Item(
        number=_line(record.get("filing_number"), 200),
        name=_line(record.get("name")),
        entity=entity,
        entity_en=_english(entity) if language != "zh" and entity else "",
        change=change,
        list_name=list_name,
        detail=_line(detail, 1000),
    )


def _watched(
    events: Sequence[Event], sections: Sequence[_Section], matcher: PatternMatcher | None, language: str
) -> list[_Item]:
    # One row per filing and kind of change, whichever pattern found it first.
    items: dict[tuple[str, str], _Item] = {}
    for section in sections:
        for event in section.events:
            hits: list[FilingHit] = filing_hits(event, matcher) if matcher else []
            for hit in hits:
                record = {"filing_number": hit.filing_number, "name": hit.name, "entity": hit.entity}
                item = _item(record, hit.change, section.name, language)
                item.pattern = _line(hit.pattern, 200)
                items.setdefault((item.number, item.change), item)
            # Hits of the service-wide watchlist (notify.watchlist) arrive as findings.
            for finding in event["data"].get("notable") or []:
                if not isinstance(finding, Mapping) or finding.get("type") != "watchlist":
                    continue
                for hit in (finding.get("data") or {}).get("hits") or []:
                    if not isinstance(hit, Mapping):
                        continue
                    item = _item(hit, "new", section.name, language)
                    item.pattern = _line(hit.get("pattern"), 200)
                    items.setdefault((item.number, item.change), item)
    return list(items.values())


def _cancellations_and_renames(
    sections: Sequence[_Section], language: str
) -> tuple[list[_Item], list[_Item], list[_Item]]:
    cancelled: dict[str, _Item] = {}
    renamed: dict[str, _Item] = {}
    removed: dict[str, _Item] = {}
    for section in sections:
        for record in section.changed:
            changes = record.get("changes") or {}
            kind = _change_of(record)
            if kind == "cancelled":
                remark = changes.get("remark")
                detail = str(remark[1]) if isinstance(remark, (list, tuple)) and len(remark) == 2 else ""
                cancelled.setdefault(str(record.get("filing_number")), _item(record, "cancelled", section.name, language, detail))
            for key in ("entity", "name"):
                value = changes.get(key)
                if isinstance(value, (list, tuple)) and len(value) == 2:
                    label = FIELD_LABELS[key][0 if language == "zh" else 1]
                    detail = f"{label}: {value[0]} → {value[1]}"
                    renamed.setdefault(f"{record.get('filing_number')}|{key}", _item(record, "renamed", section.name, language, detail))
        for record in section.removed:
            removed.setdefault(str(record.get("filing_number")), _item(record, "removed", section.name, language))
        # Findings may name cancellations and renames the rows above do not carry (a 注销 notice).
        for event in section.events:
            for finding in event["data"].get("notable") or []:
                if not isinstance(finding, Mapping):
                    continue
                data = finding.get("data") or {}
                if finding.get("type") == "cancellations":
                    for entry in data.get("filings") or []:
                        if isinstance(entry, Mapping) and entry.get("filing_number"):
                            cancelled.setdefault(str(entry["filing_number"]), _item(entry, "cancelled", section.name, language))
                elif finding.get("type") == "renames":
                    for entry in data.get("renames") or []:
                        if isinstance(entry, Mapping) and entry.get("filing_number"):
                            key = f"{entry['filing_number']}|entity"
                            detail = f"{entry.get('before', '')} → {entry.get('after', '')}"
                            record = {"filing_number": entry["filing_number"], "entity": entry.get("after", "")}
                            renamed.setdefault(key, _item(record, "renamed", section.name, language, detail))
    return list(cancelled.values()), list(renamed.values()), list(removed.values())


# --- rows: CSV and XLSX ----------------------------------------------------------------------


def digest_rows(events: Sequence[Event], *, language: str = "en") -> list[dict[str, Any]]:
    """The new, changed and removed rows of list events (parts merged), one dict per row, ROW_COLUMNS keys."""
    sections, _ = _group_sections(events)
    rows: list[dict[str, Any]] = []
    for section in sections:
        for change, records in (("new", section.new), ("changed", section.changed), ("removed", section.removed)):
            for record in records:
                row: dict[str, Any] = {name: "" for name in ROW_COLUMNS}
                for name in EXPORT_FIELDS:
                    value = record.get(name)
                    if name == "kind" and not value:
                        value = section.kind
                    if isinstance(value, list):
                        value = _PRODUCTS_SEPARATOR.join(str(v) for v in value)
                    row[name] = "" if value is None else str(value)
                row["change"] = _change_of(record) if change == "changed" else change
                row["list"] = section.name
                row["entity_en"] = _english(str(record.get("entity") or "")) if record.get("entity") else ""
                row["changes"] = _changes_text(record.get("changes") or {}) if change == "changed" else ""
                rows.append(row)
    return rows


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    # A cell starting with = + - @ would be run as a formula by Excel ("CSV injection"):
    # data from a web site is text, so such a cell gets the apostrophe Excel uses for text.
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """CSV, UTF-8 with BOM (Excel otherwise reads Chinese as the ANSI code page), CRLF lines."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(ROW_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in ROW_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def rows_xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("filings")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in ROW_COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        values: list[Any] = []
        for name in ROW_COLUMNS:
            text = "" if row.get(name) is None else str(row.get(name))
            if text.startswith("="):
                # openpyxl stores a string starting with "=" as a formula: force a text cell.
                # (Other values are written as shared strings, which Excel never evaluates.)
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"
                values.append(cell)
            else:
                values.append(text)
        sheet.append(values)
    sheet.auto_filter.ref = f"A1:{_column_letter(len(ROW_COLUMNS))}{len(rows) + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(n))


# --- subject -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Totals:
    new_lists: int = 0
    revised_lists: int = 0
    new: int = 0
    changed: int = 0
    cancelled: int = 0
    renamed: int = 0
    removed: int = 0
    watched: int = 0


def _totals(sections: Sequence[_Section], watched: int) -> _Totals:
    totals = _Totals(watched=watched)
    for section in sections:
        if section.event_type == "list.published":
            totals.new_lists += 1
        else:
            totals.revised_lists += 1
        totals.new += section.shown.get("new", 0)
        totals.changed += section.shown.get("changed", 0)
        totals.cancelled += section.shown.get("cancelled", 0)
        totals.renamed += section.shown.get("renamed", 0)
        totals.removed += section.shown.get("removed", 0)
    return totals


def _subject_parts(totals: _Totals) -> tuple[list[str], list[str]]:
    en: list[str] = []
    zh: list[str] = []
    if totals.watched:
        en.append(_n(totals.watched, "watched-company filing"))
        zh.append(f"关注企业{totals.watched:,}项")
    if totals.new_lists:
        en.append(_n(totals.new_lists, "new list"))
        zh.append(f"新名单{totals.new_lists:,}份")
    if totals.revised_lists:
        en.append(_n(totals.revised_lists, "revised list"))
        zh.append(f"名单更新{totals.revised_lists:,}份")
    if totals.new:
        en.append(_n(totals.new, "new filing"))
        zh.append(f"新增备案{totals.new:,}项")
    if totals.cancelled:
        en.append(_n(totals.cancelled, "cancellation"))
        zh.append(f"注销{totals.cancelled:,}项")
    if totals.renamed:
        en.append(_n(totals.renamed, "rename"))
        zh.append(f"更名{totals.renamed:,}项")
    other = totals.changed - totals.cancelled - totals.renamed
    if other > 0:
        en.append(_n(other, "other change"))
        zh.append(f"其他变更{other:,}项")
    if totals.removed:
        en.append(f"{totals.removed:,} removed")
        zh.append(f"移出{totals.removed:,}项")
    return en, zh


def _subject_variants(
    day: str, totals: _Totals | None, baseline: Mapping[str, Any] | None
) -> tuple[str, str, str]:
    """(zh, en, both) subjects."""
    if totals is not None and (totals.new_lists or totals.revised_lists):
        en_parts, zh_parts = _subject_parts(totals)
        en = f"CAC: {', '.join(en_parts)} — {day}"
        zh = f"网信办：{'，'.join(zh_parts)} — {day}"
        return zh, en, f"{en} · {'，'.join(zh_parts)}"
    if baseline is not None:
        counts = baseline.get("counts") or {}
        lists, filings = int(counts.get("lists", 0) or 0), int(counts.get("filings", 0) or 0)
        en = f"CAC watch started: {_n(lists, 'list')}, {_n(filings, 'filing')} on record — {day}"
        zh = f"网信办备案监测已开始：已记录名单{lists:,}份、备案{filings:,}项 — {day}"
        return zh, en, f"{en} · 监测已开始"
    en = f"CAC: no new filings this week — {day}"
    zh = f"网信办：本周无新备案 — {day}"
    return zh, en, f"{en} · 本周无新备案"


def subject_for(
    language: str, day: str, *, totals: _Totals | None = None, baseline: Mapping[str, Any] | None = None
) -> str:
    """``CAC: 2 new lists, 1,387 new filings, 3 cancellations — 2026-05-06`` (the Chinese variant
    for zh; English then the Chinese counts for both). No list and no baseline: the heartbeat."""
    zh, en, both = _subject_variants(day, totals, baseline)
    return {"zh": zh, "en": en}.get(language, both)


# --- charts -------------------------------------------------------------------------------------


def _draw_chart(section: _Section, chart_sizes: ChartSizes | None) -> bytes | None:
    sizes: Any = None
    for event in section.events:
        sizes = event["data"].get("sizes") or sizes
    if not sizes and chart_sizes:
        sizes = chart_sizes.get(section.kind)
    if not sizes:
        return None
    try:
        from bot.delivery.telegram.chart import batch_chart

        pairs = [(str(month), int(rows)) for month, rows in sizes]
        return batch_chart(pairs, section.list_month, section.kind)
    except Exception:  # noqa: BLE001 - the digest matters more than the picture
        log.exception("list-size chart for %s %s failed; digest without it", section.kind, section.list_month)
        return None


# --- rendering ---------------------------------------------------------------------------------

_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=FileSystemLoader(str(_TEMPLATES)),
            # HTML templates escape every value; the text template is plain text (no entities).
            autoescape=select_autoescape(
                enabled_extensions=("html", "html.j2"), disabled_extensions=("txt.j2",), default=True
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        _env.filters["n"] = lambda value: f"{int(value or 0):,}"
    return _env


def _render(name: str, context: Mapping[str, Any]) -> str:
    return _environment().get_template(name).render(**context)


def _address(display_name: str, addr_spec: str) -> Address:
    # Address objects quote and encode the display name; control characters are removed
    # first so no value can end a header line early (header injection).
    return Address(display_name=clean_name(display_name, limit=80), addr_spec=normalize_address(addr_spec))


def render_digest(
    events: Sequence[Event],
    subscriber: Subscriber,
    *,
    now: datetime,
    sender: str = "cacwatch@localhost.localdomain",
    sender_name: str = "cacwatch",
    public_base_url: str | None = None,
    chart: bool = True,
    chart_sizes: ChartSizes | None = None,
    message_id: str | None = None,
    matcher: PatternMatcher | None = None,
) -> EmailMessage:
    """The digest for ``subscriber`` over ``events`` (already due; filters are applied here too).

    No list event and no baseline left → the weekly "no news" heartbeat mail.
    ``chart_sizes`` supplies list sizes per kind when an event carries no ``sizes``.
    """
    language = subscriber.language
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    local_now = now.astimezone(subscriber.zone)
    day = local_now.strftime("%Y-%m-%d")
    if matcher is None and subscriber.watchlist:
        matcher = company_matcher(subscriber.watchlist)
    kept = [e for e in (narrow_event(e, subscriber, matcher) for e in events) if e is not None]
    sections, baselines = _group_sections(kept)
    for section in sections:
        _finish_section(section, language)
    watched = _watched(kept, sections, matcher, language)
    cancelled, renamed, removed = _cancellations_and_renames(sections, language)
    totals = _totals(sections, len(watched))
    baseline = baselines[-1]["data"] if baselines else None
    subject = subject_for(language, day, totals=totals, baseline=baseline)
    zh_subject, en_subject, _ = _subject_variants(day, totals, baseline)
    headlines = {"zh": [zh_subject], "en": [en_subject]}.get(language, [en_subject, zh_subject])
    heartbeat = not sections and baseline is None

    # Charts: one per kind of newly published list (the first such list of the kind).
    images: list[tuple[str, bytes]] = []
    if chart:
        charted: set[str] = set()
        for section in sections:
            if section.event_type != "list.published" or section.kind in charted:
                continue
            png = _draw_chart(section, chart_sizes)
            if png:
                cid = make_msgid(idstring=f"chart-{len(images)}", domain=_domain_of(sender))
                section.chart_cid = cid[1:-1]
                images.append((cid, png))
                charted.add(section.kind)

    token = subscriber.valid_token()
    one_click = unsubscribe_url(public_base_url, token)
    mailto = f"mailto:{sender}?subject=unsubscribe-{token}" if token else f"mailto:{sender}?subject=unsubscribe"
    baseline_kinds = []
    if baseline is not None:
        for kind, totals_of in (baseline.get("by_kind") or {}).items():
            kind_zh, kind_en = KIND_NAMES.get(kind, (kind, kind))
            if isinstance(totals_of, Mapping):
                baseline_kinds.append(
                    {"zh": kind_zh, "en": kind_en, **{k: int(totals_of.get(k, 0) or 0) for k in ("lists", "filings", "cancelled")}}
                )
    baseline_findings = [
        _pick(language, str(f.get("zh") or ""), str(f.get("en") or ""))
        for f in ((baseline or {}).get("notable") or [])
        if isinstance(f, Mapping)
    ]

    def t(zh: str, en: str) -> str:
        """A short label in the subscriber's language ("中文 / English" for both)."""
        return " / ".join(_pick(language, zh, en))

    rows = digest_rows(kept)
    context: dict[str, Any] = {
        "lang": language,
        "t": t,
        "pick": lambda zh, en: _pick(language, zh, en),
        "subject": subject,
        "headlines": headlines,
        "day": day,
        "generated": local_now.strftime("%Y-%m-%d %H:%M %Z"),
        "subscriber_name": clean_name(subscriber.name),
        "subscriber": subscriber,
        "sections": sections,
        "watched": watched[:_MAX_LISTED],
        "watched_more": max(0, len(watched) - _MAX_LISTED),
        "cancelled": cancelled[:_MAX_LISTED],
        "cancelled_more": max(0, len(cancelled) - _MAX_LISTED),
        "renamed": renamed[:_MAX_LISTED],
        "renamed_more": max(0, len(renamed) - _MAX_LISTED),
        "removed": removed[:_MAX_LISTED],
        "removed_more": max(0, len(removed) - _MAX_LISTED),
        "change_labels": {k: t(*v) for k, v in CHANGE_LABELS.items()},
        "totals": totals,
        "baseline": baseline,
        "baseline_kinds": baseline_kinds,
        "baseline_findings": baseline_findings,
        "heartbeat": heartbeat,
        "row_count": len(rows),
        "watch_patterns": [clean_name(p, limit=200) for p in subscriber.watchlist],
        "unsubscribe_url": one_click,
        "unsubscribe_mailto": mailto,
        "cac_url": "https://www.cac.gov.cn/",
        "beian_url": "https://beian.cac.gov.cn/",
    }
    text = _render("digest.txt.j2", context)
    html = _render("digest.html.j2", context)

    message = EmailMessage()
    message["MIME-Version"] = "1.0"
    _set_subject(message, subject)
    message["From"] = _address(sender_name, sender)
    message["To"] = _address(subscriber.name, subscriber.address)
    message["Date"] = format_datetime(now.astimezone(timezone.utc))
    message["Message-ID"] = message_id or make_msgid(domain=_domain_of(sender))
    links = [f"<{mailto}>"] + ([f"<{one_click}>"] if one_click else [])
    message["List-Unsubscribe"] = ", ".join(links)
    if one_click:
        # RFC 8058: only with an https URI; the receiver POSTs List-Unsubscribe=One-Click to it.
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["List-Id"] = f"CAC filing digest <digest.cacwatch.{_domain_of(sender)}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"  # the same for Exchange
    message["Content-Language"] = {"zh": "zh-CN", "en": "en"}.get(language, "zh-CN, en")

    alternative = MIMEPart()
    alternative.set_content(text, subtype="plain", charset="utf-8")
    alternative.add_alternative(html, subtype="html", charset="utf-8")
    if images:
        related = MIMEPart()
        related.set_type("multipart/related")
        del related["MIME-Version"]  # set_type adds it; it belongs on the message only
        related.set_param("type", "multipart/alternative")
        related.attach(alternative)
        for cid, png in images:
            image = MIMEPart()
            image.set_content(png, maintype="image", subtype="png", cid=cid, disposition="inline",
                              filename=f"list-sizes-{len(related.get_payload())}.png")
            related.attach(image)
        body: MIMEPart = related
    else:
        body = alternative
    if rows:
        message.set_type("multipart/mixed")
        # typeshed wants an EmailMessage; a MIMEPart is right for a sub-part (no MIME-Version).
        message.attach(body)  # type: ignore[arg-type]
        stem = f"cac-filings-{day}"
        for data, (maintype, subtype), name in (
            (rows_csv(rows), ("text", "csv"), f"{stem}.csv"),
            (rows_xlsx(rows), XLSX_TYPE, f"{stem}.xlsx"),
        ):
            part = MIMEPart()
            # bytes: base64 as they are (a text/csv str would be re-encoded and lose its BOM).
            part.set_content(data, maintype=maintype, subtype=subtype, disposition="attachment", filename=name)
            message.attach(part)  # type: ignore[arg-type]
    else:
        _adopt(message, body)
    return message


def _set_subject(message: EmailMessage, subject: str) -> None:
    """Subject as RFC 2047 encoded words folded by ``email.header.Header``.

    The default policy's folder can leave a space at the end of a line right before an
    encoded word ("1 removed ⏎ =?utf-8?b?4oCU?="), which readers unfold into a double space.
    Header encodes the whole text in words of at most 75 characters that join back exactly.
    The value is one line already (``_line``), so nothing can end the header early.
    """
    subject = _line(subject, 400)
    if subject.isascii():
        message["Subject"] = subject
    else:
        message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def _adopt(message: EmailMessage, part: MIMEPart) -> None:
    """Make ``part``'s content the message's own (no needless multipart/mixed around it)."""
    message.set_payload(part.get_payload())
    for name in ("Content-Type", "Content-Transfer-Encoding"):
        del message[name]
        value = part.get(name)
        if value is not None:
            message[name] = value



def standalone_html(message: EmailMessage) -> str:
    """The HTML part with its cid: images inlined as data: URIs, to open in a browser (previews)."""
    import base64

    html_part = message.get_body(("html",))
    if html_part is None:
        return ""
    html = str(html_part.get_content())
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_content()).decode("ascii")
            html = html.replace(f"cid:{str(cid).strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return html
