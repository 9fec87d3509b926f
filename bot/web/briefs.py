"""``GET /lists/{kind}/{list_month}/brief.{pdf,docx,html}?lang=zh|en|both[&period=…]``: a list's brief.

The facts are read for every request (a few queries); the document is rendered only when no
copy of the same facts, language and format is kept (``bot.briefs.service``), in a worker
thread, at most ``briefs.renders`` at a time — the others wait their turn instead of piling
up CPU and memory. The HTML brief is a standalone document: its only style is allowed by hash
and its chart is a ``data:`` PNG; no script.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response

from bot.briefs.fonts import FontMissing
from bot.briefs.formats import CSS_HASH, FORMATS, LANGS, MEDIA_TYPES, BriefError
from bot.briefs.service import BriefService
from bot.web.http import error_response, etag_response
from bot.web.params import ParamError, check_known, clean_text, parse_kind

__all__ = ["router", "install"]

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
    service: BriefService = request.app.state.briefs
    try:
        facts = await anyio.to_thread.run_sync(service.facts, kind, list_month, period)
    except BriefError as err:
        if str(err).startswith("no "):
            raise LookupError(str(err)) from None
        raise ParamError(str(err)) from None
    key = service.key(facts, fmt, lang)
    data = await anyio.to_thread.run_sync(service.cached, key)
    if data is None:
        try:
            data = await anyio.to_thread.run_sync(service.render, facts, fmt, lang, limiter=request.app.state.brief_limiter)
        except FontMissing as err:
            return error_response(request.url.path, 503, str(err))
    filename = f"cacwatch-brief-{kind}-{list_month}" + (f"-{period}" if period != "list" else "") + f"-{lang}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{filename}"'}
    if fmt == "html":
        headers["Content-Security-Policy"] = BRIEF_CSP
    return etag_response(request, data, MEDIA_TYPES[fmt], headers=headers)
