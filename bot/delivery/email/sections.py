"""What a digest tells, before any markup: sections per list, watched companies, cancellations
and renames, and the subject line. ``digest`` renders these through the templates;
``attachments`` writes the same rows as CSV and XLSX.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from bot.changes.companies import batch_label, english_name, province_en
from bot.changes.event_schema import BaselineData, BaselineEvent, ChangedFiling, Event, FieldChanges
from bot.changes.event_schema import FilingRecord, ListEvent
from bot.changes.genai import (
    GENAI_KIND,
    companies_among,
    company_sentences,
    event_split,
    event_totals,
    provinces_sentences,
    records_cover,
    scenario_en,
    split_of,
    split_sentences,
    top_registration_provinces,
    totals_sentences,
)
from bot.changes.vocabulary import CHANGE_LABELS, FIELD_LABELS, published_label
from bot.changes.watchlist import FilingHit, Watchlist, filing_hits
from bot.delivery.email.subscribers import clean_name
from bot.delivery.notifiers.text import KIND_NAMES
from bot.settings.paths import archived_file_url, filing_path, list_path, page_url

__all__ = [
    "add_web_links",
    "Section",
    "group_sections",
    "finish_section",
    "watched_items",
    "cancellations_and_renames",
    "change_of",
    "changes_text",
    "english_for",
    "clean_line",
    "pick_language",
    "count_noun",
    "domain_of",
    "stable_message_id",
    "unsubscribe_url",
    "digest_totals",
    "subject_variants",
    "subject_for",
    "PRODUCTS_SEPARATOR",
]

_PREVIEW_ROWS = 10  # new filings shown per list in the body; all of them are in the attachments
PRODUCTS_SEPARATOR = "; "  # as in `cacwatch export`
# Findings told elsewhere in the mail (watched companies, the cancellations section).
_FINDINGS_ELSEWHERE = ("watchlist", "cancellations", "renames")


# --- small helpers ---------------------------------------------------------------------------


def clean_line(value: object, limit: int = 500) -> str:
    """One line of display text: control characters and line breaks become spaces."""
    return clean_name(None if value is None else str(value), limit=limit)


def _safe_url(value: str | None) -> str | None:
    """An http(s) URL, or None: event data must never put javascript: or data: into an href."""
    text = str(value or "").strip()
    if not text or re.search(r"[\x00-\x20\x7f<>\"'`]", text):
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def english_for(entity: str) -> str:
    try:
        name = english_name(entity) or ""
    except Exception:  # noqa: BLE001 - a naming bug must not cost the mail
        return ""
    name = clean_line(name, 300)
    return "" if name == entity else name


def _province_en(province: str | None) -> str:
    if not province:
        return ""
    try:
        return clean_line(province_en(province) or "", 100)
    except Exception:  # noqa: BLE001
        return ""


def domain_of(sender: str) -> str:
    return sender.rsplit("@", 1)[-1] if "@" in sender else "localhost"


def stable_message_id(sender: str, keys: Sequence[str]) -> str:
    """A Message-ID that stays the same when the same deliveries are retried.

    A relay that accepted the first attempt but whose reply was lost then sees a duplicate
    it (and the recipient's client) can drop.
    """
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
    return f"<cacwatch.{digest}@{domain_of(sender)}>"


def unsubscribe_url(public_base_url: str | None, token: str | None) -> str | None:
    if not public_base_url or not token:
        return None
    return f"{public_base_url.rstrip('/')}/email/unsubscribe?token={quote(token, safe='')}"


def pick_language(language: str, zh: str, en: str) -> list[str]:
    zh, en = clean_line(zh), clean_line(en)
    if language == "zh":
        return [zh] if zh else [en]
    if language == "en":
        return [en] if en else [zh]
    return [t for t in dict.fromkeys([zh, en]) if t]


def _base_id(event_id: str) -> str:
    # Parts of one split list event: evt_x-p1, evt_x-p2 … tell one story.
    return re.sub(r"-p\d+$", "", event_id or "")


def count_noun(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else (plural or noun + 's')}"


# --- the model the templates render ----------------------------------------------------------


@dataclass(slots=True)
class _FilingRow:
    """What every row about a filing shows: its number, name and filer (and the filer in English)."""

    number: str
    name: str
    entity: str
    entity_en: str


@dataclass(slots=True)
class _Filing(_FilingRow):
    province: str
    province_en: str
    url: str = ""  # its page in the web app (web.public_url set), else ""
    scenario: str = ""  # GenAI on-device: 适用场景 as written
    scenario_en: str = ""


@dataclass(slots=True)
class _Item(_FilingRow):
    """A row in the watched / cancellations / renames / removals tables."""

    change: str  # key of CHANGE_LABELS
    list_name: str
    detail: str = ""  # "before → after", the matched pattern …
    pattern: str = ""
    kind: str = ""
    url: str = ""  # its page in the web app (web.public_url set), else ""


@dataclass(slots=True)
class Section:
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
    rank: dict[str, int] | None  # {"rank", "of", "size"} of the list's rank finding
    findings: list[list[str]] = field(default_factory=list)
    preview: list[_Filing] = field(default_factory=list)
    more: int = 0
    chart_cid: str | None = None
    batch_zh: str = ""  # 第十七批
    batch_en: str = ""  # 17th batch
    events: list[ListEvent] = field(default_factory=list)
    web_url: str = ""  # the list's page in the web app (web.public_url set), else ""
    file_url: str = ""  # cacwatch's archived copy of the list's file (web.public_url set), else ""
    # (zh, en) of the list's date: published, or first seen on a page updated in place.
    published: tuple[str, str] = ("", "")
    # GenAI lists: (texts in the subscriber's language, is an alert) per line — the split into
    # filed / registered / on-device, provinces, companies among them, CAC's totals.
    genai: list[tuple[list[str], bool]] = field(default_factory=list)
    on_device: list[_Filing] = field(default_factory=list)  # new on-device services not in the preview

    @property
    def new(self) -> list[FilingRecord]:
        return [r for e in self.events for r in e["data"]["new"]]

    @property
    def changed(self) -> list[ChangedFiling]:
        return [r for e in self.events for r in e["data"]["changed"]]

    @property
    def removed(self) -> list[FilingRecord]:
        return [r for e in self.events for r in e["data"]["removed"]]


def change_of(record: ChangedFiling) -> str:
    changes = record["changes"]
    status = changes.get("status")
    if status is not None and len(status) == 2 and status[1] == "cancelled":
        return "cancelled"
    if "entity" in changes or "name" in changes:
        return "renamed"
    return "changed"


def changes_text(changes: FieldChanges) -> str:
    parts = []
    for key, value in changes.items():
        if len(value) == 2:
            before, after = (
                PRODUCTS_SEPARATOR.join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
                for v in value
            )
            parts.append(f"{key}: {before} → {after}")
        else:
            parts.append(f"{key}: {value}")
    return clean_line("; ".join(parts), 2000)


def group_sections(events: Sequence[Event]) -> tuple[list[Section], list[BaselineEvent]]:
    """List events merged per base id (parts of one list become one section), in order; baselines apart."""
    sections: dict[str, Section] = {}
    baselines: list[BaselineEvent] = []
    for event in events:
        if event["type"] == "baseline.established":
            baselines.append(event)
            continue
        key = _base_id(event["id"])
        data = event["data"]
        section = sections.get(key)
        if section is None:
            kind = data["kind"]
            kind_zh, kind_en = KIND_NAMES.get(kind, (kind, kind))
            counts = {k: int(v) for k, v in data["counts"].items() if isinstance(v, (int, float))}
            section = sections[key] = Section(
                event_type=event["type"],
                kind=kind,
                kind_zh=kind_zh,
                kind_en=kind_en,
                list_month=clean_line(data["list_month"], 20),
                title=clean_line(data["title"]),
                name=clean_line(data["name"]),
                batch=data["batch"],
                page_url=_safe_url(data["page_url"]),
                attachment_url=_safe_url(data["attachment_url"]),
                counts=counts,
                shown={},
                narrowed=False,
                rank=None,
            )
            if published := data.get("published"):
                section.published = published_label(clean_line(published["on"], 10), published["basis"])
        section.events.append(event)
        section.narrowed = section.narrowed or data.get("narrowed", False)
        if section.batch and not section.batch_zh:
            try:
                section.batch_zh, section.batch_en = batch_label(section.batch)
            except Exception:  # noqa: BLE001 - a label is decoration
                pass
    return list(sections.values()), baselines


def finish_section(section: Section, language: str) -> None:
    new, changed, removed = section.new, section.changed, section.removed
    cancelled = sum(1 for c in changed if change_of(c) == "cancelled")
    renamed = sum(1 for c in changed if "entity" in c["changes"])
    # Changes that are neither a cancellation nor a rename. Not changed - cancelled - renamed:
    # counts.cancelled also counts new filings listed already cancelled, and a change can be both.
    other = sum(1 for c in changed if change_of(c) != "cancelled" and "entity" not in c["changes"])
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
    section.shown["other_changed"] = other
    told = _genai_lines(section, language)
    for event in section.events:
        for finding in event["data"]["notable"]:
            if finding["type"] == "rank" and section.rank is None:
                rank = finding["data"]
                section.rank = {"rank": rank["rank"], "of": rank["of"], "size": rank["size"]}
            if finding["type"] in _FINDINGS_ELSEWHERE or finding["type"] in told:
                continue
            texts = pick_language(language, finding["zh"], finding["en"])
            if texts and texts not in section.findings:
                section.findings.append(texts)
    section.preview = [_preview(record, language) for record in new[:_PREVIEW_ROWS]]
    section.on_device = [
        _preview(record, language)
        for record in new[_PREVIEW_ROWS:]
        if record.get("registration") != "registered" and str(record.get("scenario") or "").strip()
    ]
    section.more = max(0, len(new) - len(section.preview))


def _preview(record: FilingRecord, language: str) -> _Filing:
    entity = clean_line(record["entity"])
    province = clean_line(record["province"], 40)
    scenario = clean_line(record.get("scenario") or "", 100)
    return _Filing(
        number=clean_line(record["filing_number"], 200),
        name=clean_line(record["name"]),
        entity=entity,
        entity_en=english_for(entity) if language != "zh" else "",
        province=province,
        province_en=_province_en(province) if language != "zh" else "",
        scenario=scenario,
        scenario_en=clean_line(scenario_en(scenario), 100) if scenario and language != "zh" else "",
    )


def _pick_whole(language: str, zh: str, en: str) -> list[str]:
    """``pick_language`` without its 500-character cut: a line naming every company is never cut."""
    zh, en = clean_line(zh, 20_000), clean_line(en, 20_000)
    if language == "zh":
        return [zh] if zh else [en]
    if language == "en":
        return [en] if en else [zh]
    return [t for t in dict.fromkeys([zh, en]) if t]


def _genai_lines(section: Section, language: str) -> set[str]:
    """Fill ``section.genai`` for a GenAI list; returns the finding types those lines tell in
    full (every big-tech group and foreign company, the totals), not repeated as findings."""
    if section.kind != GENAI_KIND or not section.events:
        return set()
    data = section.events[0]["data"]
    new = section.new  # every part's new filings (or what a province filter left)
    # Narrowed to the subscriber's provinces: the split of what they get, as the counts shown.
    split = (split_of(new) if new else None) if section.narrowed else event_split(data, new)
    told: set[str] = set()
    if split is not None and (split.total or section.shown.get("new")):
        new_count = section.shown.get("new") or None
        section.genai.append((_pick_whole(language, *split_sentences(section.list_month, split, new_count)), False))
    # Provinces and names only from every new filing (or every one the subscriber gets): the
    # parts of a split list not in this digest would make them wrong; the findings tell them then.
    if new and (section.narrowed or records_cover(data, new)):
        provinces = provinces_sentences(top_registration_provinces(new))
        if provinces:
            section.genai.append((_pick_whole(language, *provinces), False))
        groups, foreign = companies_among(new)
        for zh, en in company_sentences(groups, foreign, lambda entity: english_for(entity) or entity):
            section.genai.append((_pick_whole(language, zh, en), False))
        told |= ({"big_tech"} if groups else set()) | ({"foreign"} if foreign else set())
    totals = next((t for t in (event_totals(e["data"]) for e in section.events) if t is not None), None)
    if totals is not None:
        zh, en, mismatch = totals_sentences(totals)
        section.genai.append((_pick_whole(language, zh, en), mismatch))
        told.add("totals_mismatch")
    return told


@dataclass(frozen=True, slots=True)
class _Named:
    """A filing as the tables name it, from whichever record told of it (a filing, a change,
    a watchlist hit, a cancellation or rename finding)."""

    filing_number: str
    name: str | None = None
    entity: str | None = None


def _named(record: FilingRecord | ChangedFiling) -> _Named:
    # A changed filing may lack its current name and entity (not found when the event was made).
    return _Named(record["filing_number"], record.get("name"), record.get("entity"))


def _item(
    record: _Named, change: str, list_name: str, language: str, detail: str = "", *, kind: str = ""
) -> _Item:
    entity = clean_line(record.entity)
    return _Item(
        number=clean_line(record.filing_number, 200),
        name=clean_line(record.name),
        entity=entity,
        entity_en=english_for(entity) if language != "zh" and entity else "",
        change=change,
        list_name=list_name,
        detail=clean_line(detail, 1000),
        kind=kind,
    )


def watched_items(
    events: Sequence[Event], sections: Sequence[Section], matcher: Watchlist | None, language: str
) -> list[_Item]:
    # One row per filing and kind of change, whichever pattern found it first.
    items: dict[tuple[str, str], _Item] = {}
    for section in sections:
        for event in section.events:
            hits: list[FilingHit] = filing_hits(event, matcher) if matcher else []
            for hit in hits:
                record = _Named(hit.filing_number, hit.name, hit.entity)
                item = _item(record, hit.change, section.name, language, kind=section.kind)
                item.pattern = clean_line(hit.pattern, 200)
                items.setdefault((item.number, item.change), item)
            # Hits of the service-wide watchlist (notify.watchlist) arrive as findings.
            for finding in event["data"]["notable"]:
                if finding["type"] != "watchlist":
                    continue
                for watch_hit in finding["data"]["hits"]:
                    named = _Named(watch_hit["filing_number"], watch_hit["name"], watch_hit["entity"])
                    item = _item(named, "new", section.name, language, kind=section.kind)
                    item.pattern = clean_line(watch_hit["pattern"], 200)
                    items.setdefault((item.number, item.change), item)
    return list(items.values())


def cancellations_and_renames(
    sections: Sequence[Section], language: str
) -> tuple[list[_Item], list[_Item], list[_Item]]:
    cancelled: dict[str, _Item] = {}
    renamed: dict[str, _Item] = {}
    removed: dict[str, _Item] = {}
    for section in sections:
        for change in section.changed:
            changes = change["changes"]
            number = change["filing_number"]
            if change_of(change) == "cancelled":
                remark = changes.get("remark")
                detail = str(remark[1]) if remark is not None and len(remark) == 2 else ""
                cancelled.setdefault(number, _item(_named(change), "cancelled", section.name, language, detail, kind=section.kind))
            for key in ("entity", "name"):
                value = changes.get(key)
                if value is not None and len(value) == 2:
                    label = FIELD_LABELS[key][0 if language == "zh" else 1]
                    detail = f"{label}: {value[0]} → {value[1]}"
                    renamed.setdefault(f"{number}|{key}", _item(_named(change), "renamed", section.name, language, detail, kind=section.kind))
        for record in section.removed:
            removed.setdefault(record["filing_number"], _item(_named(record), "removed", section.name, language, kind=section.kind))
        # Findings may name cancellations and renames the rows above do not carry (a 注销 notice).
        for event in section.events:
            for finding in event["data"]["notable"]:
                if finding["type"] == "cancellations":
                    for entry in finding["data"]["filings"]:
                        if entry["filing_number"]:
                            named = _Named(entry["filing_number"], entry["name"], entry["entity"])
                            cancelled.setdefault(entry["filing_number"], _item(named, "cancelled", section.name, language, kind=section.kind))
                elif finding["type"] == "renames":
                    for rename in finding["data"]["renames"]:
                        if rename["filing_number"]:
                            detail = f"{rename['before']} → {rename['after']}"
                            named = _Named(rename["filing_number"], entity=rename["after"])
                            renamed.setdefault(f"{rename['filing_number']}|entity", _item(named, "renamed", section.name, language, detail, kind=section.kind))
    return list(cancelled.values()), list(renamed.values()), list(removed.values())


def add_web_links(public_url: str | None, sections: Sequence[Section], *item_lists: Sequence[_Item]) -> None:
    """Point each list and filing at its page in the web app; nothing without ``web.public_url``."""
    if not public_url:
        return
    for section in sections:
        if section.kind and section.list_month:
            section.web_url = page_url(public_url, list_path(section.kind, section.list_month)) or ""
            section.file_url = archived_file_url(public_url, section.kind, section.list_month, section.title, section.name) or ""
        for filing in [*section.preview, *section.on_device]:
            if section.kind and filing.number:
                filing.url = page_url(public_url, filing_path(section.kind, filing.number)) or ""
    for items in item_lists:
        for item in items:
            if item.kind and item.number:
                item.url = page_url(public_url, filing_path(item.kind, item.number)) or ""


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
    other_changed: int = 0


def digest_totals(sections: Sequence[Section], watched: int) -> _Totals:
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
        totals.other_changed += section.shown.get("other_changed", 0)
    return totals


def _subject_parts(totals: _Totals) -> tuple[list[str], list[str]]:
    other = totals.other_changed
    # (count, English noun, Chinese phrase) of each part of the subject, in the order told.
    parts = (
        (totals.watched, "watched-company filing", "关注企业{:,}项"),
        (totals.new_lists, "new list", "新名单{:,}份"),
        (totals.revised_lists, "revised list", "名单更新{:,}份"),
        (totals.new, "new filing", "新增备案{:,}项"),
        (totals.cancelled, "cancellation", "注销{:,}项"),
        (totals.renamed, "rename", "更名{:,}项"),
        (other, "other change", "其他变更{:,}项"),
    )
    en = [count_noun(count, noun) for count, noun, _ in parts if count > 0]
    zh = [phrase.format(count) for count, _, phrase in parts if count > 0]
    if totals.removed:
        en.append(f"{totals.removed:,} removed")
        zh.append(f"移出{totals.removed:,}项")
    return en, zh


def subject_variants(
    day: str, totals: _Totals | None, baseline: BaselineData | None
) -> tuple[str, str, str]:
    """(zh, en, both) subjects."""
    if totals is not None and (totals.new_lists or totals.revised_lists):
        en_parts, zh_parts = _subject_parts(totals)
        en = f"CAC: {', '.join(en_parts)} — {day}"
        zh = f"网信办：{'，'.join(zh_parts)} — {day}"
        return zh, en, f"{en} · {'，'.join(zh_parts)}"
    if baseline is not None:
        lists, filings = baseline["counts"]["lists"], baseline["counts"]["filings"]
        en = f"CAC watch started: {count_noun(lists, 'list')}, {count_noun(filings, 'filing')} on record — {day}"
        zh = f"网信办备案监测已开始：已记录名单{lists:,}份、备案{filings:,}项 — {day}"
        return zh, en, f"{en} · 监测已开始"
    en = f"CAC: no new filings this week — {day}"
    zh = f"网信办：本周无新备案 — {day}"
    return zh, en, f"{en} · 本周无新备案"


def subject_for(
    language: str, day: str, *, totals: _Totals | None = None, baseline: BaselineData | None = None
) -> str:
    """``CAC: 2 new lists, 1,387 new filings, 3 cancellations — 2026-05-06`` (the Chinese variant
    for zh; English then the Chinese counts for both). No list and no baseline: the heartbeat."""
    zh, en, both = subject_variants(day, totals, baseline)
    return {"zh": zh, "en": en}.get(language, both)
