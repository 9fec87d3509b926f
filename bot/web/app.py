"""The ASGI app of the read side: JSON API, feeds and pages over one database.

``create_app(settings_or_db, extra_routes=…, open_paths=…)``: ``cacwatch serve`` runs it alone;
``cacwatch run`` can mount its probes and actions beside it (``extra_routes`` are Starlette
routes such as ``Route("/healthz", endpoint)`` or ``Route("/email/unsubscribe", ep,
methods=["POST"])``; paths in ``open_paths`` skip ``web.auth``, e.g. the probes).

The read side is GET only (HEAD answered as GET); the self-service side (accounts: ``/signin``,
``/account``, ``/api/v1/tokens`` …; webhook endpoints: ``/endpoints``, ``/api/v1/endpoints`` …;
digest subscriptions: ``bot.web.subscriptions``) also takes forms, POST, PATCH and DELETE for a
signed-in principal (``bot.web.access``) or, for the subscription pages, a token from a mail. The
search index is brought up to date when the app starts (stale or missing rows only).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from bot.settings.config import BriefsSettings, EmailSettings, Settings, WebAuthSettings, WebSettings
from bot.briefs.service import BriefService
from bot.web.briefs import install as install_briefs
from bot.web import accounts, api, archive, console, dossiers, endpoints, feeds, insights, pages, subscriptions
from bot.web.access import SESSION_COOKIE, Access
from bot.web.principal import require_operator, require_principal
from bot.web.answers import AnswerCache
from bot.web.cursor import CursorError
from bot.web.http import (
    HeadAsGet,
    LoopbackOnly,
    SecurityHeaders,
    error_response,
    etag_response,
    json_body,
)
from bot.web.params import ParamError
from bot.web.state import WebState
from scrapers.blobstore import BlobStore
from storage.corpus import Corpus
from storage.db import Database

__all__ = ["create_app", "web_state_of", "security_schemes"]

log = logging.getLogger(__name__)
_STATIC = Path(__file__).with_name("static")


def _validation_message(err: RequestValidationError) -> str:
    for item in err.errors():
        loc = [str(part) for part in item.get("loc", ()) if part not in ("query", "path")]
        return f"{'.'.join(loc) or 'request'}: {item.get('msg', 'invalid')}"
    return "invalid request"


_ERROR_REF = {"$ref": "#/components/schemas/ErrorModel"}


def security_schemes(auth: WebAuthSettings | None, *, accounts: bool = True) -> dict[str, dict[str, str]]:
    """The OpenAPI security schemes: what ``web.auth`` offers (its token, its password) and,
    for the self-service routes, a personal API token or a signed-in browser's session."""
    schemes: dict[str, dict[str, str]] = {}
    bearer = []
    if auth is not None and auth.token:
        bearer.append("web.auth.token (the operator)")
    if accounts:
        bearer.append("a personal API token (cw_…, made at /account/tokens)")
    if bearer:
        schemes["bearerAuth"] = {"type": "http", "scheme": "bearer", "description": " or ".join(bearer)}
    if auth is not None and auth.password:
        schemes["basicAuth"] = {"type": "http", "scheme": "basic", "description": "web.auth.username and web.auth.password"}
    if accounts:
        schemes["cookieAuth"] = {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                 "description": "the session of a browser signed in at /signin"}
    return schemes


def _acting_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every operation that acts for someone: a dependency on
    ``require_principal`` or ``require_operator``."""
    from fastapi.routing import APIRoute

    found: set[tuple[str, str]] = set()
    # Included routers may stay wrapped (FastAPI keeps the router and its prefix): walk into them.
    pending: list[tuple[str, Any]] = [("", route) for route in app.routes]
    while pending:
        prefix, route = pending.pop()
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            pending.extend((prefix + str(getattr(context, "prefix", "") or ""), r) for r in inner.routes)
        elif isinstance(route, APIRoute) and _needs_principal(route):
            found.update((method.lower(), prefix + route.path) for method in (route.methods or ()))
    return found


def _needs_principal(route: Any) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call in (require_principal, require_operator):
            return True
        pending.extend(dependency.dependencies)
    return False


def _openapi(app: FastAPI, auth: WebAuthSettings | None, open_paths: frozenset[str]) -> dict[str, Any]:
    """FastAPI's document, with 400 for validation errors (not 422, which this API never
    answers) and its security schemes: under ``web.auth`` every operation outside ``open_paths``
    requires one of its credentials; the self-service operations (those acting for a principal)
    always require one — web.auth's, a personal API token or a session — and document 401
    and 429."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        schemes = security_schemes(auth)
        read_side = security_schemes(auth, accounts=False)
        acting = _acting_operations(app)
        used = False
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                if (method, path) in acting:
                    names = list(schemes)
                elif read_side and path not in open_paths:
                    # web.auth gates the read side; a member's token or session is a credential too.
                    names = list(schemes)
                else:
                    continue
                used = True
                operation["security"] = [{name: []} for name in names]
                error = {"content": {"application/json": {"schema": _ERROR_REF}}}
                responses.setdefault("401", {"description": "No valid credentials", **error})
                responses.setdefault("429", {"description": "Too many failed attempts: wait for Retry-After", **error})
        components = schema.setdefault("components", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        if used:
            components["securitySchemes"] = schemes
        app.openapi_schema = schema
    return app.openapi_schema


def web_state_of(app: Any) -> WebState:
    """The ``WebState`` of an app from ``create_app`` (inside its middleware)."""
    while not isinstance(app, FastAPI):
        app = app.app
    state: WebState = app.state.web
    return state


def create_app(
    source: Settings | Database,
    *,
    web: WebSettings | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    open_paths: Iterable[str] = (),
    refresh_on_start: bool = True,
    refresh_in_child: bool = True,
    briefs: BriefsSettings | None = None,
    brief_dir: Path | None = None,
    blob_dir: Path | None = None,
    loopback_only: bool = False,
    email: EmailSettings | None = None,
    settings: Settings | None = None,
) -> Any:
    """The ASGI application (FastAPI inside the security and access middleware).

    ``refresh_in_child``: build the search index in a spawned process (keeps pypinyin out of
    this one); False refreshes inline, for a process that loads ``bot.changes.companies`` anyway.
    ``blob_dir``: the blob store of raw attachments (``data_dir/blobs``) the archived-file
    route serves; without one (or while it does not exist) no archive link is shown.
    ``loopback_only``: without ``web.auth``, answer only clients on loopback (``open_paths``
    excepted): ``cacwatch run`` on a public address without credentials set.
    ``settings``: the whole configuration, for the operator console (destinations, Telegram,
    email); given by ``source`` when that is a ``Settings``. The endpoints' pages list its
    ``notify.webhooks`` read-only to the operator.
    ``email``: ``notify.email``, whose relay sends the self-service sign-up's confirmation
    mails (None: sign-up unavailable; taken from ``source`` when that is the Settings).
    """
    brief_cache = brief_dir
    if isinstance(source, Settings):
        settings = settings or source
        db = Database(source.database.url)
        web = web or source.web
        briefs = briefs or source.briefs
        brief_cache = brief_cache or source.data_dir / "briefs"
        email = email or source.notify.email
        blob_dir = blob_dir or source.data_dir / "blobs"
    else:
        db = source
    web = web or WebSettings()
    threads = web.threads
    corpus = Corpus(db)
    url = db.url

    def refresh() -> int:
        if refresh_in_child:
            from bot.web.reindex import reindex_in_child

            return reindex_in_child(url)
        from bot.web.search_text import refresh_index

        return refresh_index(corpus)

    state = WebState(corpus, web, refresh, BlobStore(blob_dir) if blob_dir is not None else None)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Queries run in worker threads (``web.threads``): a few, because Python runs one at a
        # time and more only contend for it; each also holds a database connection (and its
        # page cache) and a malloc arena.
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        if refresh_on_start:
            await anyio.to_thread.run_sync(state.ensure_index)
        yield

    app = FastAPI(
        title="cacwatch",
        version="1",
        summary="CAC algorithm filings: search, lists, filers, history and feeds; accounts and self-service.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, with an ETag like every other GET
        lifespan=lifespan,
        # No OpenTelemetry spans or exporters (not even from FASTAPI_OTEL_* variables): nothing leaves.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False, "auto_configure": False},
    )
    app.state.web = state
    app.state.settings = settings  # the operator console's notify settings (bot.web.console)
    # The pages whose emailed token is their credential need no web.auth.
    open_set = frozenset({*open_paths, *subscriptions.PUBLIC_PATHS})
    app.openapi = lambda: _openapi(app, web.auth, open_set)  # type: ignore[method-assign]

    async def on_validation(request: Request, err: Exception) -> Response:
        assert isinstance(err, RequestValidationError)
        return error_response(request.url.path, 400, _validation_message(err))

    async def on_bad_param(request: Request, err: Exception) -> Response:
        return error_response(request.url.path, 400, str(err))

    async def on_not_found(request: Request, err: Exception) -> Response:
        return error_response(request.url.path, 404, str(err.args[0]) if err.args else "not found")

    async def on_http(request: Request, err: Exception) -> Response:
        assert isinstance(err, HTTPException)
        messages = {404: "not found", 405: "method not allowed"}
        return error_response(request.url.path, err.status_code, messages.get(err.status_code, str(err.detail)), dict(err.headers or {}))

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ParamError, on_bad_param)
    app.add_exception_handler(CursorError, on_bad_param)
    app.add_exception_handler(LookupError, on_not_found)
    app.add_exception_handler(HTTPException, on_http)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document(request: Request) -> Response:
        return etag_response(request, json_body(app.openapi()), "application/json")

    app.include_router(api.router)
    app.include_router(endpoints.api_router)
    app.include_router(accounts.api_router)
    app.include_router(accounts.page_router)
    app.include_router(console.api_router)
    app.include_router(console.page_router)
    app.include_router(insights.api_router)
    app.include_router(dossiers.api_router)
    app.include_router(feeds.router)
    app.include_router(insights.page_router)
    app.include_router(dossiers.router)
    app.include_router(endpoints.page_router)
    subscriptions.install(app, email)
    app.include_router(pages.router)
    app.include_router(archive.router)
    briefs = briefs or BriefsSettings()
    install_briefs(
        app,
        BriefService(db.url, font=briefs.font, cache_dir=brief_cache if briefs.cache_mb else None, cache_mb=briefs.cache_mb),
        briefs.renders,
    )
    for route in extra_routes:
        app.router.routes.append(route)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    # Links follow the Host asked only without web.public_url: only then is the Host part of the key.
    per_host = web.public_url is None
    asgi: Any = AnswerCache(app, lambda: state, max_bytes=web.cache_mb * 1024 * 1024, per_host=per_host)
    # Who is asking: web.auth, a personal API token, a session, a trusted proxy (bot.web.access).
    asgi = Access(asgi, db, web, open_set)
    if web.auth is None and loopback_only:
        asgi = LoopbackOnly(asgi, open_set)
    # Outermost (inside HEAD-as-GET only): refusals (401, 403, 429) carry the headers too.
    return HeadAsGet(SecurityHeaders(asgi))
