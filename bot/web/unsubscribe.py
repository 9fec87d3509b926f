"""``/email/unsubscribe?token=…``: the digest's unsubscribe link, for people and for mail providers.

- GET (a person clicking the link in the digest): a confirmation page whose button POSTs a
  form. Nothing changes on GET: link scanners and prefetchers follow links.
- POST (that form, or a provider's RFC 8058 one-click ``List-Unsubscribe=One-Click``, whose
  token is in the URL): unsubscribes and shows a done page. Idempotent.
- An unknown or malformed token: a 404 page saying so (never a 5xx).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web.render import render
from storage.db import Database

__all__ = ["PATH", "unsubscribe_route"]

PATH = "/email/unsubscribe"
_UNKNOWN = "未知或已失效的退订链接 · Unknown or expired unsubscribe link"


def _page(status: int, state: str, *, address: str = "", token: str = "", message: str = "") -> Response:
    body = render(
        "unsubscribe.html", status=status, title="退订 Unsubscribe", state=state, address=address, token=token, message=message
    )
    # Token-bearing pages: no cache keeps them, no referrer carries the URL away (set globally too).
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def unsubscribe_route(db: Database) -> Route:
    from bot.delivery.email.subscribers import token_subscriber, unsubscribe

    def look(token: str) -> tuple[str, bool] | None:
        with db.session() as session:
            return token_subscriber(session, token)

    def act(token: str) -> str | None:
        with db.session() as session:
            return unsubscribe(session, token)

    async def endpoint(request: Request) -> Response:
        token = request.query_params.get("token", "")
        if request.method == "POST":
            address = await asyncio.to_thread(act, token)
            if address is None:
                return _page(404, "unknown", message=_UNKNOWN)
            return _page(200, "done", address=address)
        found = await asyncio.to_thread(look, token)
        if found is None:
            return _page(404, "unknown", message=_UNKNOWN)
        address, already = found
        return _page(200, "already" if already else "confirm", address=address, token=token)

    return Route(PATH, endpoint, methods=["GET", "POST"])
