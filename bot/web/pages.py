"""Server-rendered pages: overview, search (with CSV/XLSX of the result), filing, list, filer.

Usable without JavaScript (there is none): the search box and the filters are a GET form,
paging is a link carrying the keyset cursor, downloads are links with the same filters.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from bot.changes.export import with_english, write_export
from bot.web.cursor import decode_cursor, encode_cursor
from bot.web.http import etag_response
from bot.web.params import FILTER_PARAMS, ROLES, STATUSES, check_known, clean_text, filing_query, parse_kind, parse_limit
from bot.web.render import KIND_ORDER, chart_svg, render
from bot.web.state import WebState, indexed, web_state
from storage.corpus import FilingQuery

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(indexed)])

_HTML = "text/html; charset=utf-8"
_PAGE_SIZE = 50
_EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _page(request: Request, template: str, **context: Any) -> Response:
    return etag_response(request, render(template, request_path=request.url.path, **context), _HTML)


@router.get("/")
def overview(request: Request) -> Response:
    check_known(request.query_params.keys(), ())
    state = web_state(request)
    corpus = state.corpus
    summaries = state.cached("lists:None", corpus.list_summaries)
    latest: dict[str, Any] = {}
    for summary in summaries:  # newest month first
        if not summary.is_cancellation and summary.kind not in latest:
            latest[summary.kind] = summary
    series = state.cached("sizes", lambda: {kind: corpus.list_sizes(kind) for kind in KIND_ORDER})
    return _page(
        request,
        "overview.html",
        title="cacwatch",
        lists=summaries,
        latest=[latest[k] for k in KIND_ORDER if k in latest],
        totals=state.cached("totals", corpus.kind_totals),
        chart=chart_svg(series),
    )


def _search_params(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in FILTER_PARAMS}


def _all_matches(state: WebState, query: FilingQuery) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        page = state.corpus.search_filings(query, limit=500, after=after)
        yield from page.items
        if page.next_key is None:
            return
        after = page.next_key


@router.get("/search")
def search(request: Request) -> Response:
    check_known(request.query_params.keys(), (*FILTER_PARAMS, "cursor", "limit"))
    state = web_state(request)
    query = filing_query(request.query_params, blank_is_none=True)
    limit = parse_limit(request.query_params.get("limit") or None, default=_PAGE_SIZE, maximum=500)
    cursor = clean_text("cursor", request.query_params.get("cursor")) or None
    after = decode_cursor(cursor, query) if cursor else None
    page = state.corpus.search_filings(query, limit=limit, after=after)
    params = _search_params(request)
    return _page(
        request,
        "search.html",
        title=f"{query.q} — 搜索 Search" if query.q else "搜索 Search",
        params=params,
        page=page,
        total=state.count(query),
        next_cursor=encode_cursor(page.next_key, query) if page.next_key else None,
        first_page=after is None,
        facets=state.cached("facets", state.corpus.facets),
        statuses=STATUSES,
        roles=ROLES,
        names=state.corpus.filer_names(r["entity"] for r in page.items),
        feed_query=_query_string(params),
    )


def _query_string(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


@router.get("/search.{fmt}")
def search_download(request: Request, fmt: str) -> Response:
    """Exactly the result of the same search, every page of it, as the export writes it."""
    if fmt not in _EXPORT_TYPES:
        raise LookupError(f"no download format {fmt[:20]!r} (csv or xlsx)")
    check_known(request.query_params.keys(), FILTER_PARAMS)
    query = filing_query(request.query_params, blank_is_none=True)
    out = io.BytesIO()
    # The export columns of the CLI, the digest and /export (entity_en filled in here).
    write_export((with_english(dict(r)) for r in _all_matches(web_state(request), query)), fmt, out)  # type: ignore[arg-type]
    disposition = f'attachment; filename="cacwatch-filings.{fmt}"'
    return etag_response(request, out.getvalue(), _EXPORT_TYPES[fmt], headers={"Content-Disposition": disposition})


@router.get("/filings/{kind}/{filing_number}")
def filing_page(request: Request, kind: str, filing_number: str) -> Response:
    check_known(request.query_params.keys(), ())
    kind = parse_kind(kind) or ""
    clean_text("filing_number", filing_number)
    corpus = web_state(request).corpus
    detail = corpus.filing_detail(kind, filing_number)
    if detail is None:
        raise LookupError(f"no such filing: {filing_number[:80]}")
    record = detail.record
    return _page(
        request,
        "filing.html",
        title=f"{record['name']} — {record['filing_number']}",
        detail=detail,
        record=record,
        names=corpus.filer_names([record["entity"]]),
    )


@router.get("/lists/{kind}/{list_month}")
def list_page(request: Request, kind: str, list_month: str) -> Response:
    check_known(request.query_params.keys(), ())
    kind = parse_kind(kind) or ""
    clean_text("list_month", list_month)
    detail = web_state(request).corpus.list_detail(kind, list_month)
    if detail is None:
        raise LookupError(f"no list of {list_month[:20]}")
    records = {(r["kind"], r["filing_number"]): r for r in detail.filings}
    return _page(request, "list.html", title=detail.summary.name, detail=detail, records=records)


# /entities/{entity} is served by bot.web.dossiers (every name a filer used).


_FAVICON = Path(__file__).with_name("static") / "favicon.svg"


@router.get("/favicon.ico")
def favicon(request: Request) -> Response:
    return etag_response(request, _FAVICON.read_bytes(), "image/svg+xml")
