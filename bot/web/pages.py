"""Server-rendered pages: overview, search (with CSV/XLSX of the result), filing, list, filer.

Usable without JavaScript (there is none): the search box and the filters are a GET form,
paging is a link carrying the keyset cursor, downloads are links with the same filters.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

from bot.changes.export import csv_chunks, write_export
from bot.changes.genai import GENAI_KIND, split_of, top_registration_provinces
from bot.web.archive import has_file
from bot.web.cursor import decode_cursor, encode_cursor
from bot.web.http import error_response, etag_response
from bot.web.notes import no_filing
from bot.web.params import FILTER_PARAMS, ROLES, STATUSES, check_known, clean_text, filing_query, parse_kind, parse_limit
from bot.settings.paths import list_file_path
from bot.web.render import KIND_ORDER, chart_svg, render
from bot.web.state import WebState, indexed, web_state
from storage.corpus import FilingQuery

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(indexed)])

_HTML = "text/html; charset=utf-8"
_PAGE_SIZE = 50
_DOWNLOAD_PAGE = 1000  # rows per query of a download (and per streamed chunk of its CSV)
_DOWNLOAD_RETRY = 10  # seconds a refused download is told to wait
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


def _download_pages(state: WebState, query: FilingQuery, cap: int) -> Iterator[list[dict[str, Any]]]:
    """The search's matches as the export writes them, a page (one short query) at a time,
    at most ``cap`` records in all."""
    after, left = None, cap
    while left > 0:
        page = state.corpus.download_page(query, limit=min(_DOWNLOAD_PAGE, left), after=after)
        yield page.items
        left -= len(page.items)
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
    after = decode_cursor(cursor, query, key=state.cursor_key) if cursor else None
    page = state.corpus.search_filings(query, limit=limit, after=after)
    params = _search_params(request)
    total = state.count(query)
    return _page(
        request,
        "search.html",
        title=f"{query.q} — 搜索 Search" if query.q else "搜索 Search",
        params=params,
        page=page,
        total=total,
        no_filing=no_filing(state, query, total),
        next_cursor=encode_cursor(page.next_key, query, key=state.cursor_key) if page.next_key else None,
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
async def search_download(request: Request, fmt: str) -> Response:
    """Exactly the result of the same search, as the export writes it, streamed.

    At most ``web.download_rows`` rows (``X-Cacwatch-Rows: <sent> of <matching>`` says when
    the result was cut), at most ``web.max_downloads`` downloads at once (503 with
    Retry-After beyond). A CSV holds one of the worker threads the pages and the API share
    for one page of rows at a time; an XLSX (zipped whole at the end) is built in threads of
    the downloads' own, so downloads never take the threads searches need.
    """
    if fmt not in _EXPORT_TYPES:
        raise LookupError(f"no download format {fmt[:20]!r} (csv or xlsx)")
    check_known(request.query_params.keys(), FILTER_PARAMS)
    query = filing_query(request.query_params, blank_is_none=True)
    state = web_state(request)
    release = state.download_slot()
    if release is None:
        message = f"{state.web.max_downloads} downloads are running: try again in a few seconds"
        return error_response(request.url.path, 503, message, {"Retry-After": str(_DOWNLOAD_RETRY)})
    try:
        import anyio
        import anyio.to_thread

        cap = state.web.download_rows
        matching = await anyio.to_thread.run_sync(state.count, query)
        headers = {
            "Content-Disposition": f'attachment; filename="cacwatch-filings.{fmt}"',
            "Cache-Control": "no-store",
            "X-Cacwatch-Rows": f"{min(matching, cap)} of {matching}",
        }
        if fmt == "csv":
            body: AsyncIterator[bytes] = _released(iterate_in_threadpool(csv_chunks(_download_pages(state, query, cap))), release)
        else:
            if state.download_threads is None:
                state.download_threads = anyio.CapacityLimiter(state.web.max_downloads)
            spooled = await anyio.to_thread.run_sync(_xlsx_file, state, query, cap, limiter=state.download_threads)
            body = _released(iterate_in_threadpool(_file_chunks(spooled)), release)
    except BaseException:
        release()
        raise
    return StreamingResponse(body, media_type=_EXPORT_TYPES[fmt], headers=headers)


async def _released(chunks: AsyncIterator[bytes], release: Callable[[], None]) -> AsyncIterator[bytes]:
    """The chunks, paced, then the download's slot given back (also when the client leaves).

    Paced: after each chunk the download waits as long as the chunk took to make, so a
    download takes at most half of a core and the searches beside it keep theirs.
    """
    import anyio

    try:
        while True:
            started = time.monotonic()
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            yield chunk
            await anyio.sleep(min(1.0, time.monotonic() - started))
    finally:
        release()


def _xlsx_file(state: WebState, query: FilingQuery, cap: int) -> IO[bytes]:
    # openpyxl zips the whole workbook at the end: written to a file that spills to disk
    # past a few MB, then streamed from there.
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115 - closed by _file_chunks
    records = (record for page in _download_pages(state, query, cap) for record in page)
    write_export(records, "xlsx", spooled)  # type: ignore[arg-type]
    spooled.seek(0)
    return spooled


def _file_chunks(file: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    with file:
        while chunk := file.read(size):
            yield chunk


@router.get("/filings/{kind}/{filing_number:path}")
def filing_page(request: Request, kind: str, filing_number: str) -> Response:
    check_known(request.query_params.keys(), ())
    kind = parse_kind(kind) or ""
    clean_text("filing_number", filing_number)
    corpus = web_state(request).corpus
    detail = corpus.filing_detail(kind, filing_number)
    if detail is None:
        raise LookupError(f"no such filing: {filing_number[:80]}")
    record = detail.record
    state = web_state(request)
    files = {
        h.version_id: list_file_path(h.kind, h.list_month, h.version_number)
        for h in detail.holdings
        if h.primary and has_file(state, h.format, h.sha256)
    }
    return _page(
        request,
        "filing.html",
        title=f"{record['name']} — {record['filing_number']}",
        detail=detail,
        record=record,
        files=files,
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
    genai = None
    names: dict[str, tuple[str, str | None]] = {}
    if kind == GENAI_KIND:
        names = web_state(request).corpus.filer_names(r["entity"] for r in detail.filings)
        genai = _genai_summary(detail.filings, names)
    state = web_state(request)
    files = {
        v.id: list_file_path(kind, list_month, v.number)
        for v in detail.summary.versions
        if has_file(state, v.format, v.sha256)
    }
    return _page(request, "list.html", title=detail.summary.name, detail=detail, records=records, genai=genai,
                 names=names, files=files,
                 current_file=list_file_path(kind, list_month) if any(v.current and v.id in files for v in detail.summary.versions) else None)


def _genai_summary(filings: list[dict[str, Any]], names: dict[str, tuple[str, str | None]]) -> dict[str, Any] | None:
    """A GenAI list's filings split into filed / registered / on-device (with 适用场景), the
    provinces with most registrations and the companies (big-tech groups, foreign parents, as
    the search index names them) among its filers, every one of them."""
    split = split_of(filings)
    if split is None or not split.total:
        return None
    companies: dict[str, dict[str, int]] = {}
    for record in filings:
        company = names.get(record["entity"], ("", None))[1]
        if not company:
            continue
        entry = companies.setdefault(company, {"filed": 0, "registered": 0, "on_device": 0})
        if record.get("registration") == "registered":
            entry["registered"] += 1
        elif record.get("scenario"):
            entry["on_device"] += 1
        else:
            entry["filed"] += 1
    ordered = sorted(companies.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    provinces = top_registration_provinces(filings)
    return {"split": split, "provinces": provinces, "companies": ordered}


# /entities/{entity} is served by bot.web.dossiers (every name a filer used).


_FAVICON = Path(__file__).with_name("static") / "favicon.svg"


@router.get("/favicon.ico")
def favicon(request: Request) -> Response:
    return etag_response(request, _FAVICON.read_bytes(), "image/svg+xml")
