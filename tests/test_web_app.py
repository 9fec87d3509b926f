"""bot.web.app: the application as create_app assembles it (the parts no route module owns)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@pytest.mark.parametrize("threads", [1, 3])
def test_web_threads_bounds_the_requests_whose_work_runs_at_once(database: Any, threads: int) -> None:
    """Sixteen concurrent requests to a synchronous route: at most ``web.threads`` run at once,
    and every one is answered (the others wait their turn, none is refused)."""
    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    lock = threading.Lock()
    running = [0]
    most = [0]

    def slow(request: Request) -> PlainTextResponse:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return PlainTextResponse("ok")

    app = create_app(
        database, web=WebSettings(threads=threads), refresh_on_start=False, refresh_in_child=False,
        extra_routes=[Route("/slow", slow)], open_paths={"/slow"},
    )

    inner: Any = app
    while not isinstance(inner, FastAPI):  # the security and access middleware wrap it
        inner = inner.app

    async def requests() -> list[httpx.Response]:
        async with inner.router.lifespan_context(inner):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                return list(await asyncio.gather(*(client.get("/slow") for _ in range(16))))

    answers = asyncio.run(requests())
    assert [a.status_code for a in answers] == [200] * 16
    assert most[0] == threads


def test_web_threads_must_be_at_least_one() -> None:
    from pydantic import ValidationError

    from bot.settings.config import WebSettings

    with pytest.raises(ValidationError):
        WebSettings(threads=0)
