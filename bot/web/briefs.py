"""``GET /lists/{kind}/{list_month}/brief.{pdf,docx,html}?lang=zh|en|both[&period=…]``: a list's brief.

A brief is rendered in a short-lived child process (``bot.briefs.service``), at most
``briefs.renders`` at a time — further requests wait their turn instead of piling up CPU and
memory — and kept until the data changes, so a brief costs one render per ingest. The HTML
brief is a standalone document: its only style is allowed by hash and its chart is a
``data:`` PNG; no script.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response

from bot.briefs.formats import CSS_HASH, FORMATS, LANGS, MEDIA_TYPES, PERIODS, BriefError, period_months
from bot.briefs.service import BriefFailed, BriefService
from bot.web.http import error_response, etag_response
from bot.web.params import ParamError, check_known, clean_text, parse_kind
from bot.web.state import web_state
from storage.brief_repo import BriefRepository

__all__ = ["router", "install", "BRIEF_CSP"]

router = APIRouter()

# The HTML brief's own policy: nothing but its hashed style and its inline chart.
BRIEF_CSP = (
    f"default-src 'none'; style-src '{CSS_HASH}'; img-src data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def install(app: Any, service: BriefService, renders: int = 1) -> None:
    """Attach the brief service and its render limiter to the app, and the route."""
    app.state.briefs = service
    app.state.brief_limiter = anyio.CapacityLimiter(renders)
    app.include_router(router)


@router.get("/lists/{kind}/{list_month}/brief.{fmt}", include_in_schema=False)
async def list_brief(request: Request, kind: str, list_month: str, fmt: str) -> Response:
    check_known(request.query_params.keys(), ("lang", "period"))
    kind = parse_kind(kind) or ""
    clean_text("list_month", list_month)
    if fmt not in FORMATS:
        raise LookupError(f"no brief format {fmt[:10]!r} (pdf, docx, html)")
    lang = request.query_params.get("lang") or "both"
    period = request.query_params.get("period") or "list"
    if lang not in LANGS:
        raise ParamError("lang: expected zh, en or both")
    if period not in PERIODS:
        raise ParamError(f"period: expected one of {', '.join(PERIODS)}")
    try:
        first, last = period_months(period, list_month)
    except BriefError as err:
        raise ParamError(str(err)) from None
    corpus = web_state(request).corpus

    def look() -> tuple[bool, object]:
        with corpus.db.session() as session:
            exists = BriefRepository(session).has_list(kind, first, last)
        return exists, corpus.data_stamp().filings

    exists, version = await anyio.to_thread.run_sync(look)
    if not exists:
        raise LookupError(f"no {kind} list named for {list_month}" if period == "list"
                          else f"no {kind} list named for a month from {first} to {last}")
    service: BriefService = request.app.state.briefs
    key = service.key(kind, period, list_month, version, lang, fmt)
    data = await anyio.to_thread.run_sync(service.cached, key)
    if data is None:
        try:
            data = await anyio.to_thread.run_sync(service.render, key, limiter=request.app.state.brief_limiter)
        except BriefFailed as err:
            status = {"missing": 404, "bad": 400}.get(err.reason, 503)
            return error_response(request.url.path, status, str(err))
    filename = f"cacwatch-brief-{kind}-{list_month}" + (f"-{period}" if period != "list" else "") + f"-{lang}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{filename}"'}
    if fmt == "html":
        headers["Content-Security-Policy"] = BRIEF_CSP
    return etag_response(request, data, MEDIA_TYPES[fmt], headers=headers)
