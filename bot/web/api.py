"""The JSON API under /api/v1 (interfaces.md, "Web app, JSON API and feeds").

Parameters are declared for FastAPI (so /openapi.json describes them and fuzzers work from
it) and checked again by ``bot.web.params`` (unknown names, control characters), so the API,
the pages and the feeds reject the same input the same way.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from bot.changes.event_schema import ALL_EVENT_TYPES, EventType, FilingEventType
from bot.changes.vocabulary import english_labels
from bot.web.archive import has_file
from bot.web.cursor import decode_cursor, encode_cursor
from bot.web.http import etag_response
from bot.web.models import (
    ChangesModel,
    EntitiesModel,
    EntityDetailModel,
    ErrorModel,
    FilingDetailModel,
    FilingsPageModel,
    ListDetailModel,
    ListModel,
    ListsModel,
)
from bot.web.notes import no_filing
from bot.web.params import FILTER_PARAMS, GROUP_KEYS, MAX_TEXT, check_known, filing_query
from bot.settings.paths import list_file_path
from bot.web.state import WebState, indexed, web_state
from storage import corpus

__all__ = ["router", "iso", "list_model", "filter_params", "TEXT_PATTERN", "MONTH_PATTERN", "KindParam"]

router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(indexed)])

KindParam = Literal["deep_synthesis", "algorithm_recommendation", "genai_service"]
# No control characters (PostgreSQL cannot even store NUL): the schema says so, fuzzers obey.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
_Text = Query(max_length=MAX_TEXT, pattern=TEXT_PATTERN)
MONTH_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"

_ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match matched the ETag)"},
    400: {"model": ErrorModel, "description": "A bad parameter"},
    401: {"model": ErrorModel, "description": "web.auth is set and the request has no valid credentials"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {**_ERRORS, 404: {"model": ErrorModel, "description": "Unknown"}}


def iso(moment: datetime | None) -> str | None:
    """UTC, seconds, ``Z`` (SQLite hands back naive datetimes, which are UTC here)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_model(summary: corpus.ListSummary, state: WebState | None = None) -> ListModel:
    # The store's own id and the last fetch error stay internal.
    shown = {name: value for name, value in asdict(summary).items() if name not in ("id", "last_error")}
    versions = [
        {"id": v.id, "sha256": v.sha256, "format": v.format, "rows": v.row_count, "fetched_at": iso(v.fetched_at), "current": v.current,
         "number": v.number,
         "file": list_file_path(summary.kind, summary.list_month, v.number)
         if state is not None and has_file(state, v.format, v.sha256) else None}
        for v in summary.versions
    ]
    return ListModel.model_validate(
        {**shown, "first_seen_at": iso(summary.first_seen_at) or "", "last_checked_at": iso(summary.last_checked_at), "versions": versions}
    )


def _json(request: Request, model: Any) -> Response:
    return etag_response(request, model.model_dump_json().encode("utf-8"), "application/json")


def filter_params(
    q: Annotated[str | None, _Text] = None,
    kind: KindParam | None = None,
    entity: Annotated[str | None, _Text] = None,
    province: Annotated[str | None, _Text] = None,
    status: Literal["active", "cancelled"] | None = None,
    list_month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    role: Literal["provider", "technical_supporter"] | None = None,
    category: Annotated[str | None, _Text] = None,
    registration: Literal["filed", "registered"] | None = None,
    group: Annotated[str | None, Query(max_length=64, json_schema_extra={"enum": list(GROUP_KEYS)})] = None,
    foreign: Literal["true", "false"] | None = None,
) -> None:
    """The filters of /api/v1/filings and the saved-search feed, declared once: FastAPI checks
    them and /openapi.json describes them; the handlers read them with ``filing_query``."""


@router.get(
    "/filings", response_model=None, responses={200: {"model": FilingsPageModel}, **_ERRORS}, dependencies=[Depends(filter_params)]
)
def list_filings(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=400, pattern=TEXT_PATTERN)] = None,
) -> Response:
    """Filings matching every given filter, best first (exact number, then filer, then the rest).

    `q` is free text: it matches the name, filer, products, purpose or filing number, and the
    English name and company group cacwatch shows for the filer; case, width and spacing do not
    matter, Latin words match whole words (`Intel` is not "Intelligence"), Chinese text and digits
    any part. When nothing matches and `q` names a known company or group with no filing at all,
    `no_filing` says so ("Tesla: no filing on record"). Follow `next_cursor` (with the same filters) to visit every match exactly once.
    """
    check_known(request.query_params.keys(), (*FILTER_PARAMS, "limit", "cursor"))
    query = filing_query(request.query_params)
    state = web_state(request)
    after = decode_cursor(cursor, query, key=state.cursor_key) if cursor else None
    page = state.corpus.download_page(query, limit=limit, after=after)
    total = state.count(query)
    model = FilingsPageModel.model_validate(
        {
            # Present filings only (the search never lists removed ones): ``removed`` says nothing.
            "items": [{**{k: v for k, v in item.items() if k != "removed"}, **english_labels(item)} for item in page.items],
            "next_cursor": encode_cursor(page.next_key, query, key=state.cursor_key) if page.next_key else None,
            "total": total,
            "no_filing": [
                {"key": n.key, "zh": n.zh, "en": n.en, "note": n.text_en, "note_zh": n.text_zh}
                for n in no_filing(state, query, total)
            ],
        }
    )
    return _json(request, model)


@router.get("/filings/{kind}/{filing_number:path}", response_model=None, responses={200: {"model": FilingDetailModel}, **_NOT_FOUND})
def get_filing(
    request: Request,
    kind: KindParam,
    filing_number: Annotated[str, Path(max_length=MAX_TEXT, pattern=TEXT_PATTERN)],
) -> Response:
    """One filing: its record, every change to it (before and after, and the list version that
    made it) and every list and list version holding it."""
    check_known(request.query_params.keys(), ())
    state = web_state(request)
    corpus = state.corpus
    detail = corpus.filing_detail(kind, filing_number)
    if detail is None:
        raise LookupError(f"no {kind} filing {filing_number[:80]}")
    english, company = corpus.filer_names([detail.record["entity"]]).get(detail.record["entity"], ("", None))
    model = FilingDetailModel.model_validate(
        {
            "filing": detail.record,
            "entity_en": english,
            "company": company,
            "present": detail.present,
            "first_seen_at": iso(detail.first_seen_at),
            "updated_at": iso(detail.updated_at),
            "history": [_history(h) for h in detail.history],
            "lists": [_holding(h, state) for h in detail.holdings],
        }
    )
    return _json(request, model)


def _history(entry: corpus.HistoryEntry) -> dict[str, Any]:
    return {**asdict(entry), "at": iso(entry.at)}


def _holding(holding: corpus.Holding, state: WebState) -> dict[str, Any]:
    held = holding.primary and has_file(state, holding.format, holding.sha256)
    return {
        **asdict(holding),
        "fetched_at": iso(holding.fetched_at),
        "row_position": holding.row_index + 1,
        "file": list_file_path(holding.kind, holding.list_month, holding.version_number) if held else None,
    }


@router.get("/lists", response_model=None, responses={200: {"model": ListsModel}, **_ERRORS})
def get_lists(request: Request, kind: KindParam | None = None) -> Response:
    """Every list (newest month first) with title, page and attachment URLs, rows, rank and versions."""
    check_known(request.query_params.keys(), ("kind",))
    state = web_state(request)
    summaries = state.cached(f"lists:{kind}", lambda: state.corpus.list_summaries(kind))
    return _json(request, ListsModel(items=[list_model(s, state) for s in summaries]))


@router.get("/lists/{kind}/{list_month}", response_model=None, responses={200: {"model": ListDetailModel}, **_NOT_FOUND})
def get_list(
    request: Request,
    kind: KindParam,
    list_month: Annotated[str, Path(pattern=MONTH_PATTERN)],
) -> Response:
    """One list with its filings, its current rows, and what each re-issue changed."""
    check_known(request.query_params.keys(), ())
    state = web_state(request)
    detail = state.corpus.list_detail(kind, list_month)
    if detail is None:
        raise LookupError(f"no {kind} list of {list_month}")
    model = ListDetailModel.model_validate(
        {
            "list": list_model(detail.summary, state),
            "filings": detail.filings,
            "rows": [{"row_index": r.row_index, "seq": r.seq, "filing_number": r.filing_number, "fields": r.fields} for r in detail.rows],
            "changes": [asdict(c) for c in detail.changes],
            "others": [list_model(o) for o in detail.others],
        }
    )
    return _json(request, model)


@router.get("/entities", response_model=None, responses={200: {"model": EntitiesModel}, **_ERRORS})
def get_entities(
    request: Request,
    q: Annotated[str | None, _Text] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Filers whose name, English name or company group contains `q`, most filings first."""
    check_known(request.query_params.keys(), ("q", "limit"))
    state = web_state(request)
    corpus = state.corpus
    # One index of every filer per state of the data: a query matching most of them (one
    # common character) costs no grouping of every filing.
    found = state.cached("filer_index", corpus.filer_index).search_named(q or "", limit=limit)
    model = EntitiesModel.model_validate(
        {
            "items": [
                {
                    "entity": e.entity,
                    "entity_en": english,
                    "company": company,
                    "filings": e.filings,
                    "cancelled": e.cancelled,
                    "by_kind": e.by_kind,
                }
                for e, english, company in found
            ]
        }
    )
    return _json(request, model)


@router.get("/entities/{entity:path}", response_model=None, responses={200: {"model": EntityDetailModel}, **_NOT_FOUND})
def get_entity(
    request: Request,
    entity: Annotated[str, Path(max_length=MAX_TEXT, pattern=TEXT_PATTERN)],
) -> Response:
    """A filer, found by any name it used (current or former): every name and when it was
    listed, its filings under all of them across the three kinds (`present` false: it left
    every list), and its timeline (lists, renames, cancellations, removals)."""
    check_known(request.query_params.keys(), ())
    corpus = web_state(request).corpus
    identity = corpus.filer_identity(entity)
    current = identity.name if identity else entity
    records = corpus.filer_records([current])
    if not records.filings:
        raise LookupError(f"no filer named {entity[:80]}")
    english, company = {**corpus.filer_names([current]), **records.english}.get(current, ("", None))
    model = EntityDetailModel.model_validate(
        {
            "entity": current,
            "entity_en": english,
            "company": company,
            "filer_ids": list(identity.ids) if identity else [],
            "names": [{**asdict(n), "renamed_at": iso(n.renamed_at), "evidence": list(n.evidence)} for n in identity.names] if identity else [],
            "filings": [{**record, "present": present} for record, present in records.filings],
            "timeline": [{**asdict(e), "at": iso(e.at)} for e in records.timeline],
        }
    )
    return _json(request, model)


def _without_watchlist(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data without the operator's watchlist hits (findings of type watchlist, ``hit``)."""
    shown = {key: value for key, value in data.items() if key != "hit"}
    if isinstance(shown.get("notable"), list):
        shown["notable"] = [f for f in shown["notable"] if not (isinstance(f, dict) and f.get("type") == "watchlist")]
    return shown


@router.get("/changes", response_model=None, responses={200: {"model": ChangesModel}, **_ERRORS})
def get_changes(
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="Events after this sequence number (0: from the first)")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    type: Annotated[EventType | FilingEventType | None, Query(description="Only events of this type")] = None,  # noqa: A002 - the API's name
) -> Response:
    """What changed, in order: every event cacwatch made (`list.published`, `list.revised`,
    `baseline.established`, and the per-filing `filing.new`, `filing.cancelled`,
    `filing.renamed`, `watchlist.matched` made when a webhook endpoint asks for them; watchlist
    hits only when `web.auth` is set), as
    webhooks carry it, each with its `seq` (the same number webhook bodies carry). A tool that
    cannot receive webhooks polls `?after=<next_after>` and sees every event exactly once, in order."""
    check_known(request.query_params.keys(), ("after", "limit", "type"))
    state = web_state(request)
    # The operator's watchlist is often a client list: without web.auth (a public API) its
    # hits stay out — no watchlist.matched events, no watchlist findings, no `hit`. Operator
    # alerts (also in the outbox) are for the operator's webhooks, never listed here.
    public = state.web.auth is None
    events = state.corpus.events_after(
        after, limit=limit, types=(type,) if type else ALL_EVENT_TYPES, leave_out=("watchlist.matched",) if public else ()
    )
    items = [
        {"seq": e.seq, "id": e.payload.get("id", ""), "type": e.payload.get("type", ""),
         "timestamp": e.payload.get("timestamp", ""),
         "data": _without_watchlist(e.payload.get("data") or {}) if public else e.payload.get("data") or {}}
        for e in events
    ]  # fmt: skip
    return _json(request, ChangesModel.model_validate({"items": items, "next_after": items[-1]["seq"] if items else after}))
