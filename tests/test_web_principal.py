"""bot.web.principal: who is asking (web.auth's operator on the scope), owner checks, CSRF on
forms, and answers that depend on who asked never kept by the answer cache. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.settings.config import WebAuthSettings, WebSettings
from bot.web.principal import (
    CSRF_COOKIE,
    CSRF_FIELD,
    OPERATOR,
    Principal,
    check_csrf,
    check_owner,
    csrf_token,
    principal_of,
    private_json,
    require_operator,
    with_csrf_cookie,
)

TOKEN = "t" * 32


async def _form(request: Request) -> Response:
    if request.method == "POST":
        form = await request.form()
        value = form.get(CSRF_FIELD)
        check_csrf(request, value if isinstance(value, str) else None)
        return Response("accepted", media_type="text/plain")
    token = csrf_token(request)
    page = f'<form method="post"><input name="{CSRF_FIELD}" value="{token}"></form>'
    return with_csrf_cookie(request, Response(page, media_type="text/html", headers={"Cache-Control": "no-store"}))


async def _who(request: Request) -> Response:
    principal = require_operator(request)
    # An ETag as etag_response would give, but private: the cache must still not keep it.
    return private_json({"name": principal.name, "via": principal.via}, headers={"ETag": '"x"'})


def _app(database: Any, auth: WebAuthSettings | None) -> Any:
    from bot.web.app import create_app

    routes = [Route("/t/form", _form, methods=["GET", "POST"]), Route("/api/v1/t/who", _who)]
    return create_app(database, web=WebSettings(auth=auth, cache_mb=1), refresh_in_child=False, extra_routes=routes)


def _run(app: Any, steps: Any) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await steps(client)

    return asyncio.run(go())


def test_web_auth_operator_is_the_principal_and_private_answers_are_not_kept(database: Any) -> None:
    app = _app(database, WebAuthSettings(token=TOKEN))

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        good = {"Authorization": f"Bearer {TOKEN}"}
        return [await client.get("/api/v1/t/who", headers=good), await client.get("/api/v1/t/who", headers=good),
                await client.get("/api/v1/t/who")]

    first, second, anonymous = _run(app, steps)
    assert first.status_code == second.status_code == 200
    assert first.json() == {"name": "operator", "via": "auth"}
    assert first.headers["cache-control"] == "no-store"
    assert anonymous.status_code == 401
    layer: Any = app
    while not hasattr(layer, "hits"):
        layer = layer.app
    assert layer.hits == 0 and len(layer) == 0  # asked twice, kept never


def test_without_web_auth_nobody_is_the_operator(database: Any) -> None:
    app = _app(database, None)
    answer = _run(app, lambda client: client.get("/api/v1/t/who", headers={"Authorization": f"Bearer {TOKEN}"}))
    assert answer.status_code == 401
    assert "authentication required" in answer.json()["error"]


def test_owner_rule() -> None:
    from fastapi import HTTPException

    member = Principal(role="member", user_id=7, name="a@example.org", via="session")
    check_owner(OPERATOR, None)
    check_owner(OPERATOR, 7)
    check_owner(member, 7)
    for owner in (None, 8):
        with pytest.raises(HTTPException) as refused:
            check_owner(member, owner)
        assert refused.value.status_code == 404


def test_csrf_token_round_trip_and_refusals(database: Any) -> None:
    app = _app(database, None)

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        page = await client.get("/t/form")
        token = re.search(r'value="([0-9a-f]{64})"', page.text)
        assert token is not None
        cookie = page.cookies.get(CSRF_COOKIE)
        again = await client.get("/t/form")  # the browser holds the cookie now: same token, no new cookie
        results = {
            "cookie": cookie,
            "set_cookie": page.headers.get("set-cookie", ""),
            "again_same": token.group(1) in again.text and "set-cookie" not in again.headers,
            "good": await client.post("/t/form", data={CSRF_FIELD: token.group(1)}),
            "missing": await client.post("/t/form", data={}),
            "forged": await client.post("/t/form", data={CSRF_FIELD: "0" * 64}),
        }
        client.cookies.clear()
        results["no_cookie"] = await client.post("/t/form", data={CSRF_FIELD: token.group(1)})
        client.cookies.set(CSRF_COOKIE, "A" * 43)
        results["other_cookie"] = await client.post("/t/form", data={CSRF_FIELD: token.group(1)})
        return results

    r = _run(app, steps)
    assert r["cookie"] and "samesite=strict" in r["set_cookie"].lower() and "httponly" in r["set_cookie"].lower()
    assert r["again_same"]
    assert r["good"].status_code == 200 and r["good"].text == "accepted"
    for name in ("missing", "forged", "no_cookie", "other_cookie"):
        assert r[name].status_code == 403, name
        assert "another site" in r[name].text


def test_principal_of_anonymous_request_is_none() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})
    assert principal_of(request) is None
