"""Atom 1.0 and JSON Feed 1.1 of published and revised lists; an Atom feed of a saved search.

XML is written with ElementTree (every text escaped by it); entry ids are tag URIs built from
the list and the sha256 of the version, so they stay the same across restarts and hosts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from bot.changes.event_schema import EventPayloadError, findings_from_json
from bot.changes.genai import (
    event_split,
    event_totals,
    provinces_sentences,
    records_cover,
    split_sentences,
    top_registration_provinces,
    totals_sentences,
)
from bot.changes.vocabulary import published_label
from bot.web.api import KindParam, filter_params, iso
from bot.web.archive import MEDIA_TYPES, has_file
from bot.web.http import etag_response
from bot.web.params import FILTER_PARAMS, check_known, filing_query
from bot.settings.paths import filing_path, list_file_path, list_path
from bot.web.labels import KIND_LABELS, list_name_en
from bot.web.state import WebState, indexed, web_state
from storage.corpus import FeedEntry

__all__ = ["router", "entry_text", "list_path", "filing_path"]

router = APIRouter(prefix="/feeds", tags=["feeds"], dependencies=[Depends(indexed)])

_ATOM = "http://www.w3.org/2005/Atom"
_FEED_LIMIT = 50
_EPOCH = datetime(2022, 1, 1, tzinfo=timezone.utc)


def _kind_label(kind: str) -> tuple[str, str]:
    return KIND_LABELS.get(kind, (kind, kind))


def _title(entry: FeedEntry) -> str:
    verb = "发布 published" if entry.type == "list.published" else "更新 revised"
    summary = entry.summary
    english = list_name_en(summary.kind, summary.list_month, cancellation=summary.is_cancellation)
    return f"{summary.name} / {english} — {verb}"


def _genai_lines(entry: FeedEntry) -> tuple[list[str], bool]:
    """A GenAI list's split (filed / registered / on-device with 适用场景), the provinces with
    most registrations and CAC's stated totals, "zh / en" per line; and whether the totals were
    told (the totals_mismatch finding is then not repeated)."""
    counts: dict[str, Any] = dict(entry.counts)
    if entry.genai is not None:
        counts["genai"] = entry.genai
    data = {"kind": entry.summary.kind, "counts": counts, "new": entry.new, "totals": entry.totals,
            "notable": entry.notable}
    pairs: list[tuple[str, str]] = []
    split = event_split(data)
    if split is not None and split.total:
        pairs.append(split_sentences(entry.summary.list_month, split, counts.get("new") or None))
    if entry.new and records_cover(data):
        provinces = provinces_sentences(top_registration_provinces(entry.new))
        pairs += [provinces] if provinces else []
    totals = event_totals(data)
    if totals is not None:
        zh, en, _ = totals_sentences(totals)
        pairs.append((zh, en))
    return [f"{zh} / {en}" for zh, en in pairs], totals is not None


def entry_text(entry: FeedEntry, archived: str | None = None) -> str:
    """The list's date (and on what it rests), counts, then each notable finding in Chinese
    and English (plain text); last, where its file is: ``archived`` (cacwatch's copy of this
    version, when the server holds it) beside CAC's attachment link."""
    counts = entry.counts
    parts = [f"{key}: {value}" for key, value in counts.items()]
    zh_date, en_date = published_label(entry.summary.first_published_on, entry.summary.published_basis)
    lines = [f"{entry.summary.title}", f"{zh_date} / {en_date}" if zh_date else "", "; ".join(parts)]
    if entry.summary.rank is not None:
        lines.append(f"第{entry.summary.rank}大（共{entry.summary.of}份） / rank {entry.summary.rank} of {entry.summary.of} lists by size")
    genai, totals_told = _genai_lines(entry)
    lines += genai
    try:
        notable = findings_from_json(entry.notable)
    except EventPayloadError:
        notable = []  # a stored event this version cannot read: its counts still tell the story
    # The operator's watchlist is often a client list: a feed (anyone's reader) never names its hits.
    lines += [f"• {finding['zh']} / {finding['en']}".strip() for finding in notable
              if not (totals_told and finding["type"] == "totals_mismatch") and finding["type"] != "watchlist"]
    if archived:
        lines.append(f"存档原件 Archived file (sha256-checked): {archived}")
    lines.append(f"网信办附件 CAC's attachment: {entry.summary.attachment_url}")
    return "\n".join(line for line in lines if line)


def _archived(state: WebState, base: str, entry: FeedEntry) -> tuple[str, str] | None:
    """(URL, media type) of cacwatch's archived copy of the entry's version, when held here."""
    version = next((v for v in entry.summary.versions if v.id == entry.version_id), None)
    if version is None or not has_file(state, version.format, version.sha256):
        return None
    return base + list_file_path(entry.summary.kind, entry.summary.list_month, version.number), MEDIA_TYPES[version.format]


def _entry_id(entry: FeedEntry) -> str:
    sha = next((v.sha256 for v in entry.summary.versions if v.id == entry.version_id), str(entry.version_id))
    return f"tag:cacwatch,2024:list/{entry.summary.kind}/{entry.summary.list_month}/{sha[:24]}"


def _atom(title: str, self_url: str, home_url: str, feed_id: str, updated: str, entries: list[dict[str, str]]) -> bytes:
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed")
    ET.SubElement(feed, f"{{{_ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{_ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{_ATOM}}}updated").text = updated
    ET.SubElement(feed, f"{{{_ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    ET.SubElement(feed, f"{{{_ATOM}}}link", rel="alternate", href=home_url, type="text/html")
    author = ET.SubElement(feed, f"{{{_ATOM}}}author")
    ET.SubElement(author, f"{{{_ATOM}}}name").text = "cacwatch"
    ET.SubElement(feed, f"{{{_ATOM}}}generator").text = "cacwatch"
    for item in entries:
        node = ET.SubElement(feed, f"{{{_ATOM}}}entry")
        ET.SubElement(node, f"{{{_ATOM}}}title").text = item["title"]
        ET.SubElement(node, f"{{{_ATOM}}}id").text = item["id"]
        ET.SubElement(node, f"{{{_ATOM}}}updated").text = item["updated"]
        ET.SubElement(node, f"{{{_ATOM}}}link", rel="alternate", href=item["url"], type="text/html")
        if item.get("enclosure"):  # the archived file of the entry's version
            ET.SubElement(node, f"{{{_ATOM}}}link", rel="enclosure", href=item["enclosure"], type=item["enclosure_type"])
        ET.SubElement(node, f"{{{_ATOM}}}content", type="text").text = item["text"]
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + xml


def _self_url(request: Request, base: str) -> str:
    query = f"?{urlencode(list(request.query_params.multi_items()))}" if request.query_params else ""
    return f"{base}{request.url.path}{query}"


_FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified"},
    400: {"description": "A bad parameter", "content": {"application/json": {}}},
}


def _list_feed(request: Request, kind: str | None) -> tuple[str, list[FeedEntry], tuple[str, str]]:
    """(base URL, entries, (zh, en) title) of a list feed, after checking its parameters."""
    check_known(request.query_params.keys(), ("kind",))
    state = web_state(request)
    entries = state.cached(f"feed:{kind}", lambda: state.corpus.list_feed(kind, limit=_FEED_LIMIT))
    return state.base_url(request), entries, _kind_label(kind) if kind else ("算法备案清单", "CAC filing lists")


@router.get(
    "/lists.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}, "description": "Atom 1.0"}, **_FEED_RESPONSES},
)
def lists_atom(request: Request, kind: KindParam | None = None) -> Response:
    """Published and revised lists, newest first (Atom 1.0); `kind` narrows to one series."""
    base, entries, (zh, en) = _list_feed(request, kind)
    state = web_state(request)
    items = []
    for e in entries:
        archived = _archived(state, base, e)
        item = {
            "title": _title(e),
            "id": _entry_id(e),
            "updated": iso(e.at) or "",
            "url": base + list_path(e.summary.kind, e.summary.list_month),
            "text": entry_text(e, archived[0] if archived else None),
        }
        if archived:
            item["enclosure"], item["enclosure_type"] = archived
        items.append(item)
    updated = items[0]["updated"] if items else iso(_EPOCH) or ""
    body = _atom(f"cacwatch: {zh} / {en}", _self_url(request, base), base + "/", f"tag:cacwatch,2024:lists/{kind or 'all'}", updated, items)
    return etag_response(request, body, "application/atom+xml; charset=utf-8")


@router.get(
    "/lists.json",
    response_class=Response,
    responses={200: {"content": {"application/feed+json": {}}, "description": "JSON Feed 1.1"}, **_FEED_RESPONSES},
)
def lists_json(request: Request, kind: KindParam | None = None) -> Response:
    """Published and revised lists, newest first (JSON Feed 1.1); `kind` narrows to one series."""
    base, entries, (zh, en) = _list_feed(request, kind)
    state = web_state(request)
    archived = {e.version_id: _archived(state, base, e) for e in entries}
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"cacwatch: {zh} / {en}",
        "home_page_url": base + "/",
        "feed_url": _self_url(request, base),
        "language": "zh-CN",
        "items": [
            {
                "id": _entry_id(e),
                "url": base + list_path(e.summary.kind, e.summary.list_month),
                "title": _title(e),
                "content_text": entry_text(e, (archived[e.version_id] or ("", ""))[0] or None),
                "date_published": iso(e.at),
                "tags": [e.summary.kind, e.type],
                **({"attachments": [{"url": found[0], "mime_type": found[1], "title": e.summary.name}]}
                   if (found := archived[e.version_id]) else {}),
                "_cacwatch": {"kind": e.summary.kind, "list_month": e.summary.list_month, "type": e.type,
                              "first_published_on": e.summary.first_published_on,
                              "published_basis": e.summary.published_basis,
                              "attachment_url": e.summary.attachment_url,
                              "counts": {**e.counts, **({"genai": e.genai} if e.genai is not None else {})},
                              **({"totals": e.totals} if e.totals is not None else {})},
            }
            for e in entries
        ],
    }
    body = json.dumps(feed, ensure_ascii=False).encode("utf-8")
    return etag_response(request, body, "application/feed+json; charset=utf-8")


@router.get(
    "/filings.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}, "description": "Atom 1.0"}, **_FEED_RESPONSES},
    dependencies=[Depends(filter_params)],
)
def filings_atom(request: Request) -> Response:
    """New filings matching a saved search (the filters of /api/v1/filings), newest first."""
    check_known(request.query_params.keys(), FILTER_PARAMS)
    query = filing_query(request.query_params)
    state = web_state(request)
    base = state.base_url(request)
    found = state.corpus.new_filings(query, limit=_FEED_LIMIT)
    names = state.corpus.filer_names(new.record["entity"] for new in found)
    items = []
    for new in found:
        record = new.record
        lines = [
            f"{record['name']}",
            f"{record['entity']} ({names.get(record['entity'], ('', None))[0]})",
            f"{record['filing_number']} · {record['list_month']} · {record['province'] or ''} · {record['status']}",
            record["purpose"],
        ]
        items.append(
            {
                "title": f"{record['name']} — {record['entity']}",
                "id": f"tag:cacwatch,2024:filing/{record['kind']}/{record['filing_number']}",
                "updated": iso(new.first_seen_at) or "",
                "url": base + filing_path(record["kind"], record["filing_number"]),
                "text": "\n".join(line for line in lines if line),
            }
        )
    updated = max((i["updated"] for i in items), default=iso(_EPOCH) or "")
    label = query.q or "all"
    body = _atom(f"cacwatch: new filings / 新备案 — {label}", _self_url(request, base), base + "/search", f"tag:cacwatch,2024:filings/{_self_url(request, '')}", updated, items)
    return etag_response(request, body, "application/atom+xml; charset=utf-8")
