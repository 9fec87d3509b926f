"""Webhook endpoints, self-service: the JSON API (``/api/v1/endpoints…``) and the pages
(``/endpoints…``) over ``bot.delivery.endpoints``.

Every route acts for the ``Principal`` on the scope: a member sees and changes only the
endpoints they own (another's is a 404, ``check_owner``), the operator sees all, and also the
webhooks of ``config.yaml`` (read-only, never their secrets). A secret is in exactly one
answer: the one that made it (creation, rotation). Every answer is private (``no-store``);
every form carries the CSRF token; every input is bounded (body size, field lengths, list
sizes, endpoint count). "Send test event" and replay send from this process at once (bounded
in time); what is left is sent by the delivery worker (``cacwatch run``, ``check --once``).
"""

from __future__ import annotations

import asyncio
import re
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from starlette.responses import Response

from bot.settings.config import WebhookSettings
from bot.settings.redact import mask_url
from bot.changes.event_schema import ALL_EVENT_TYPES, EVENT_TYPES
from bot.delivery.endpoints import (
    MAX_DESCRIPTION,
    MAX_PATTERN,
    MAX_URL,
    MAX_WATCHLIST,
    EndpointError,
    EndpointInput,
    create_endpoint,
    deliver_now,
    replay_endpoint,
    rotate_secret,
    send_test,
    update_endpoint,
)
from bot.web.principal import (
    CSRF_FIELD,
    Principal,
    check_csrf,
    check_owner,
    csrf_token,
    principal_of,
    private_html,
    private_json,
    private_redirect,
    require_principal,
    with_csrf_cookie,
)
from bot.web.render import render
from bot.web.state import web_state
from scrapers.records import Kind
from storage.db import Database
from storage.endpoints_repo import EndpointRepository, StoredEndpoint
from storage.outbox_repo import DELIVERY_LABELS, AttemptRecord, OutboxRepository

__all__ = ["api_router", "page_router"]

log = logging.getLogger(__name__)

_MAX_BODY = 64 * 1024  # bytes of a JSON body or a form
_ATTEMPTS_PAGE = 50
_ID = Annotated[int, Path(ge=1, le=2**31 - 1)]
_KINDS = tuple(kind.value for kind in Kind)

api_router = APIRouter(prefix="/api/v1/endpoints", tags=["webhook endpoints"])
page_router = APIRouter(include_in_schema=False)


# --- bodies --------------------------------------------------------------------------------------

_Url = Annotated[str, StringConstraints(min_length=8, max_length=MAX_URL, pattern=r"^https?://[^/\s]+\S*$")]
_Pattern = Annotated[str, StringConstraints(max_length=MAX_PATTERN)]
_Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]
_EventName = Literal[
    "list.published", "list.revised", "baseline.established", "filing.new", "filing.cancelled", "filing.renamed", "watchlist.matched"
]
_KindName = Literal["deep_synthesis", "algorithm_recommendation", "genai_service"]


class EndpointBody(BaseModel):
    """A new endpoint. ``events`` / ``kinds`` absent or null: all of them; ``watchlist``: only
    events touching these filers (company groups, names, ``re:`` patterns)."""

    model_config = ConfigDict(extra="forbid")
    url: _Url
    events: Annotated[list[_EventName], Field(max_length=len(ALL_EVENT_TYPES))] | None = None
    kinds: Annotated[list[_KindName], Field(max_length=len(_KINDS))] | None = None
    watchlist: Annotated[list[_Pattern], Field(max_length=MAX_WATCHLIST)] = []
    allow_private: bool = False
    description: _Description = ""


class EndpointPatch(BaseModel):
    """Fields to change; ``{"enabled": true}`` re-enables an endpoint stopped by a 410 or dead letters."""

    model_config = ConfigDict(extra="forbid")
    url: _Url | None = None
    events: Annotated[list[_EventName], Field(max_length=len(ALL_EVENT_TYPES))] | None = None
    kinds: Annotated[list[_KindName], Field(max_length=len(_KINDS))] | None = None
    watchlist: Annotated[list[_Pattern], Field(max_length=MAX_WATCHLIST)] | None = None
    allow_private: bool | None = None
    description: _Description | None = None
    enabled: bool | None = None


# An event's id as the outbox makes it (evt_…, parts -p2, per-filing -new-3): what replay accepts.
_EVENT_ID = r"evt_[A-Za-z0-9_.-]{1,72}"


class ReplayBody(BaseModel):
    """Either ``since`` (every stored event from that day) or ``event_id`` (that one event)."""

    model_config = ConfigDict(extra="forbid")
    since: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    event_id: Annotated[str, StringConstraints(pattern=f"^{_EVENT_ID}$")] | None = None
    resend: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> "ReplayBody":
        if (self.since is None) == (self.event_id is None):
            raise ValueError("give since (YYYY-MM-DD) or event_id, not both")
        return self


_M = TypeVar("_M", bound=BaseModel)


# --- answers (documented in /openapi.json) ------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointModel(_Answer):
    id: int
    source: Literal["api"]
    url: str
    description: str
    events: list[str] | None
    kinds: list[str] | None
    watchlist: list[str]
    allow_private: bool
    enabled: bool
    disabled_reason: str | None
    owner_user_id: int | None
    created_at: str | None
    updated_at: str | None
    previous_secret_valid_until: str | None
    deliveries: dict[str, int]


class ConfigWebhookModel(_Answer):
    id: None
    source: Literal["config"]
    read_only: bool
    destination: str
    url: str
    events: list[str] | None
    kinds: list[str] | None
    watchlist_only: bool
    allow_private: bool


class EndpointListModel(_Answer):
    items: list[EndpointModel]
    config: list[ConfigWebhookModel] | None = None


class CreatedModel(_Answer):
    id: int
    secret: str


class SecretModel(_Answer):
    secret: str


class TestResultModel(_Answer):
    event_id: str
    delivered: bool
    status_code: int | None
    error: str | None


class AttemptModel(_Answer):
    event_id: str
    type: str
    attempt: int
    at: str | None
    outcome: str
    status_code: int | None
    latency_ms: int | None
    error: str | None
    next_retry_at: str | None


class AttemptsModel(_Answer):
    items: list[AttemptModel]
    next_cursor: str | None


class ReplayResultModel(_Answer):
    queued: int
    skipped: int
    filtered: int


class _Error(_Answer):
    error: str


def _answers(ok: int, model: type[BaseModel] | None) -> dict[int | str, dict[str, Any]]:
    answers: dict[int | str, dict[str, Any]] = {
        400: {"model": _Error, "description": "Bad input (the message names the field)"},
        401: {"model": _Error, "description": "Not signed in (no session, token or web.auth credentials)"},
        403: {"model": _Error, "description": "Not allowed (e.g. allow_private for a member)"},
        404: {"model": _Error, "description": "No such endpoint, or not yours"},
        409: {"model": _Error, "description": "Not now (disabled endpoint, too many endpoints)"},
        413: {"model": _Error, "description": "Body too large"},
        429: {"model": _Error, "description": "Too many test events for this endpoint this hour"},
    }
    answers[ok] = {"description": "OK"} if model is None else {"model": model, "description": "OK"}
    return answers


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


async def _read_body(request: Request) -> bytes:
    """The request body, at most ``_MAX_BODY`` bytes (413 beyond)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _MAX_BODY:
        raise HTTPException(413, f"body larger than {_MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            raise HTTPException(413, f"body larger than {_MAX_BODY} bytes")
    return body


async def _json(request: Request, model: type[_M]) -> _M:
    body = await _read_body(request)
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as err:
        item = err.errors()[0]
        where = ".".join(str(part) for part in item.get("loc", ())) or "body"
        raise HTTPException(400, f"{where}: {item.get('msg', 'invalid')}") from None


# --- shared reads ---------------------------------------------------------------------------------


def _db(request: Request) -> Database:
    return web_state(request).corpus.db


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _Status:
    disabled_reason: str | None  # the 410 answer that stopped it
    counts: dict[str, int]


def _status(db: Database, endpoint: StoredEndpoint) -> _Status:
    with db.session() as session:
        outbox = OutboxRepository(session)
        return _Status(outbox.disabled_reason(endpoint.destination), outbox.destination_counts(endpoint.destination))


def _item(endpoint: StoredEndpoint, status: _Status) -> dict[str, Any]:
    """An endpoint as the API shows it: never its secrets."""
    now = datetime.now(timezone.utc)
    rotating = endpoint.previous_valid_until if len(endpoint.signing_secrets(now)) > 1 else None
    return {
        "id": endpoint.id,
        "source": "api",
        "url": endpoint.url,
        "description": endpoint.description,
        "events": None if endpoint.events is None else list(endpoint.events),
        "kinds": None if endpoint.kinds is None else list(endpoint.kinds),
        "watchlist": list(endpoint.watchlist),
        "allow_private": endpoint.allow_private,
        "enabled": endpoint.enabled and status.disabled_reason is None,
        "disabled_reason": status.disabled_reason if status.disabled_reason else (None if endpoint.enabled else "disabled by its owner"),
        "owner_user_id": endpoint.owner_user_id,
        "created_at": _when(endpoint.created_at),
        "updated_at": _when(endpoint.updated_at),
        "previous_secret_valid_until": _when(rotating),
        "deliveries": status.counts,
    }


def _config_webhooks(request: Request) -> list[WebhookSettings]:
    """config.yaml's webhooks (create_app's ``settings``), listed read-only to the operator."""
    settings = getattr(request.app.state, "settings", None)
    return list(settings.notify.webhooks) if settings is not None else []


def _config_item(settings: WebhookSettings) -> dict[str, Any]:
    from bot.delivery.notifiers.webhook import WebhookNotifier

    return {
        "id": None,
        "source": "config",
        "read_only": True,
        "destination": WebhookNotifier(settings).destination,
        "url": mask_url(settings.url),
        "events": settings.events,
        "kinds": settings.kinds,
        "watchlist_only": settings.watchlist_only,
        "allow_private": settings.allow_private,
    }


def _owned(db: Database, principal: Principal, endpoint_id: int) -> StoredEndpoint:
    with db.session() as session:
        endpoint = EndpointRepository(session).get(endpoint_id)
    if endpoint is None:
        raise HTTPException(404, "not found")
    check_owner(principal, endpoint.owner_user_id)
    return endpoint


def _listed(db: Database, principal: Principal) -> list[StoredEndpoint]:
    with db.session() as session:
        repo = EndpointRepository(session)
        if principal.is_operator:
            return repo.every_endpoint()
        assert principal.user_id is not None
        return repo.owned_by(principal.user_id)


def _attempts(db: Database, endpoint: StoredEndpoint, before: int | None, limit: int) -> list[AttemptRecord]:
    with db.session() as session:
        return OutboxRepository(session).attempts_page(endpoint.destination, before_id=before, limit=limit)


def _attempt_item(a: AttemptRecord) -> dict[str, Any]:
    return {
        "event_id": a.event_id,
        "type": a.event_type,
        "attempt": a.attempt,
        "at": _when(a.at),
        "outcome": a.outcome,
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
        "next_retry_at": _when(a.next_retry_at),
    }


def _owner_of(principal: Principal) -> int | None:
    if not principal.is_operator and principal.user_id is None:
        raise HTTPException(403, "this account cannot own endpoints")
    return principal.user_id


def _refused(err: EndpointError) -> HTTPException:
    return HTTPException(err.status, err.message)


def _since(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise HTTPException(400, "since: a date YYYY-MM-DD") from None


def _background(request: Request, db: Database, endpoint: StoredEndpoint) -> None:
    """Send a replay's deliveries from this process, without holding up the answer."""
    tasks: set[asyncio.Task[Any]] = request.app.state.__dict__.setdefault("endpoint_tasks", set())
    task = asyncio.get_running_loop().create_task(deliver_now(db, endpoint, max_wait=60.0))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _test(db: Database, endpoint: StoredEndpoint) -> dict[str, Any]:
    try:
        event_id = await asyncio.to_thread(send_test, db, endpoint)
    except EndpointError as err:
        raise _refused(err) from None
    run = await deliver_now(db, endpoint, max_wait=20.0)
    latest = await asyncio.to_thread(_attempts, db, endpoint, None, 1)
    attempt = latest[0] if latest and latest[0].event_id == event_id else None
    return {
        "event_id": event_id,
        "delivered": bool(run.delivered),
        "status_code": attempt.status_code if attempt else None,
        "error": attempt.error if attempt else None,
    }


# --- the API --------------------------------------------------------------------------------------


@api_router.post("", status_code=201, response_model=None, responses=_answers(201, CreatedModel), openapi_extra=_body_doc(EndpointBody), summary="Add a webhook endpoint (its secret is shown this once)")
async def api_create(request: Request, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    body = await _json(request, EndpointBody)
    db = _db(request)
    given = EndpointInput(
        url=body.url,
        events=None if body.events is None else tuple(body.events),
        kinds=None if body.kinds is None else tuple(body.kinds),
        watchlist=tuple(body.watchlist),
        allow_private=body.allow_private,
        description=body.description,
    )
    try:
        endpoint, secret = await asyncio.to_thread(
            create_endpoint, db, given, owner_user_id=_owner_of(principal), operator=principal.is_operator
        )
    except EndpointError as err:
        raise _refused(err) from None
    return private_json({"id": endpoint.id, "secret": secret}, status_code=201, headers={"Location": f"/api/v1/endpoints/{endpoint.id}"})


@api_router.get("", response_model=None, responses=_answers(200, EndpointListModel), summary="Your endpoints (the operator: all, and config.yaml's webhooks read-only)")
async def api_list(request: Request, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    db = _db(request)

    def read() -> dict[str, Any]:
        items = [_item(e, _status(db, e)) for e in _listed(db, principal)]
        answer: dict[str, Any] = {"items": items}
        if principal.is_operator:
            answer["config"] = [_config_item(s) for s in _config_webhooks(request)]
        return answer

    return private_json(await asyncio.to_thread(read))


@api_router.get("/{endpoint_id}", response_model=None, responses=_answers(200, EndpointModel), summary="One endpoint")
async def api_get(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    return private_json(_item(endpoint, await asyncio.to_thread(_status, db, endpoint)))


@api_router.patch("/{endpoint_id}", response_model=None, responses=_answers(200, EndpointModel), openapi_extra=_body_doc(EndpointPatch), summary="Change an endpoint; {\"enabled\": true} re-enables it")
async def api_patch(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    body = await _json(request, EndpointPatch)
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    fields = body.model_fields_set - {"enabled"}
    given = None
    if fields:
        given = EndpointInput(
            url=body.url if body.url is not None else endpoint.url,
            events=(tuple(body.events) if body.events is not None else None) if "events" in fields else endpoint.events,
            kinds=(tuple(body.kinds) if body.kinds is not None else None) if "kinds" in fields else endpoint.kinds,
            watchlist=tuple(body.watchlist) if body.watchlist is not None else endpoint.watchlist,
            allow_private=body.allow_private if body.allow_private is not None else endpoint.allow_private,
            description=body.description if body.description is not None else endpoint.description,
        )
    try:
        changed = await asyncio.to_thread(update_endpoint, db, endpoint, given, enabled=body.enabled, operator=principal.is_operator)
    except EndpointError as err:
        raise _refused(err) from None
    return private_json(_item(changed, await asyncio.to_thread(_status, db, changed)))


@api_router.delete("/{endpoint_id}", status_code=204, response_model=None, responses=_answers(204, None), summary="Remove an endpoint and its delivery log")
async def api_delete(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    await asyncio.to_thread(_delete, db, endpoint)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


def _delete(db: Database, endpoint: StoredEndpoint) -> None:
    with db.session() as session:
        EndpointRepository(session).delete(endpoint.id)


@api_router.post("/{endpoint_id}/test", status_code=202, response_model=None, responses=_answers(202, TestResultModel), summary="Send a signed endpoint.test event now")
async def api_test(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    return private_json(await _test(db, endpoint), status_code=202)


@api_router.get("/{endpoint_id}/attempts", response_model=None, responses=_answers(200, AttemptsModel), summary="Every attempt to this endpoint, newest first")
async def api_attempts(
    request: Request,
    endpoint_id: _ID,
    principal: Annotated[Principal, Depends(require_principal)],
    limit: Annotated[int, Query(ge=1, le=200)] = _ATTEMPTS_PAGE,
    cursor: Annotated[str | None, Query(max_length=12, pattern=r"^\d+$")] = None,
) -> Response:
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    before = int(cursor) if cursor else None
    rows = await asyncio.to_thread(_attempts, db, endpoint, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return private_json({"items": [_attempt_item(a) for a in rows], "next_cursor": str(rows[-1].id) if more and rows else None})


@api_router.post("/{endpoint_id}/replay", status_code=202, response_model=None, responses=_answers(202, ReplayResultModel), openapi_extra=_body_doc(ReplayBody), summary="Queue stored events again: since a date, or one event")
async def api_replay(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    body = await _json(request, ReplayBody)
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    try:
        since = _since(body.since) if body.since is not None else None
        result = await asyncio.to_thread(replay_endpoint, db, endpoint, since=since, event_id=body.event_id, resend=body.resend)
    except EndpointError as err:
        raise _refused(err) from None
    if result.queued:
        _background(request, db, endpoint)
    return private_json({"queued": result.queued, "skipped": result.skipped, "filtered": result.filtered}, status_code=202)


@api_router.post("/{endpoint_id}/rotate-secret", response_model=None, responses=_answers(200, SecretModel), summary="A new signing secret (the old one signs alongside for 24 h)")
async def api_rotate(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    try:
        secret = await asyncio.to_thread(rotate_secret, db, endpoint)
    except EndpointError as err:
        raise _refused(err) from None
    return private_json({"secret": secret})


# --- the pages ------------------------------------------------------------------------------------

_DONE = {
    "tested": "测试事件已发送 · Test event sent",
    "test-failed": "测试事件未送达，见下方记录 · The test event was not delivered: see the log below",
    "replayed": "已重新排队 · Queued again",
    "enabled": "已启用 · Enabled",
    "disabled": "已停用 · Disabled",
    "saved": "已保存 · Saved",
}


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    principal = require_principal(request)
    body = render(template, title=context.pop("title", "Webhook endpoints"), principal=principal, csrf=csrf_token(request),
                  csrf_field=CSRF_FIELD, request_path=request.url.path, kinds=_KINDS, event_types=ALL_EVENT_TYPES, **context)
    return with_csrf_cookie(request, private_html(body.decode("utf-8"), status_code=status))


async def _form(request: Request) -> dict[str, list[str]]:
    """A posted form (CSRF checked), bounded in size and fields."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > _MAX_BODY:
        raise HTTPException(413, f"form larger than {_MAX_BODY} bytes (or of unknown length)")
    form = await request.form(max_files=0, max_fields=80, max_part_size=_MAX_BODY)
    values: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(key, []).append(value)
    token = values.get(CSRF_FIELD)
    check_csrf(request, token[0] if token else None)
    return values


def _one(form: dict[str, list[str]], name: str, default: str = "") -> str:
    return (form.get(name) or [default])[0]


def _form_input(form: dict[str, list[str]]) -> EndpointInput:
    events = [e for e in form.get("events", []) if e]
    kinds = [k for k in form.get("kinds", []) if k]
    watchlist = [line.strip() for line in _one(form, "watchlist").splitlines() if line.strip()]
    return EndpointInput(
        url=_one(form, "url"),
        # None ticked, or exactly the list and baseline events: the default (every list event,
        # new list event types included; per-filing events only when ticked).
        events=None if not events or set(events) == set(EVENT_TYPES) else tuple(dict.fromkeys(events)),
        kinds=tuple(kinds) if kinds and len(set(kinds)) < len(_KINDS) else None,
        watchlist=tuple(watchlist),
        allow_private=_one(form, "allow_private") == "on",
        description=_one(form, "description"),
    )


def _detail(request: Request, endpoint: StoredEndpoint, *, secret: str | None = None, error: str | None = None, status: int = 200) -> Response:
    db = _db(request)
    done = request.query_params.get("done", "")
    return _page(
        request,
        "endpoint.html",
        status=status,
        title=f"Endpoint {endpoint.id}",
        endpoint=_item(endpoint, _status(db, endpoint)),
        attempts=[_attempt_item(a) for a in _attempts(db, endpoint, None, _ATTEMPTS_PAGE)],
        secret=secret,
        done=_DONE.get(done),
        error=error,
        labels=DELIVERY_LABELS,
        today=datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    )


def _signed_in(request: Request) -> Principal:
    """A page's dependency: the principal, or (anonymous) off to /signin and back here."""
    principal = principal_of(request)
    if principal is None:
        from urllib.parse import urlencode

        from bot.web.access import SIGNIN_PATH

        where = f"{SIGNIN_PATH}?{urlencode({'next': request.url.path})}"
        raise HTTPException(303, "sign in first", headers={"Location": where, "Cache-Control": "no-store"})
    return principal


@page_router.get("/endpoints")
def page_list(request: Request, principal: Annotated[Principal, Depends(_signed_in)]) -> Response:
    db = _db(request)
    items = [_item(e, _status(db, e)) for e in _listed(db, principal)]
    config = [_config_item(s) for s in _config_webhooks(request)] if principal.is_operator else []
    return _page(request, "endpoints.html", items=items, config=config)


@page_router.get("/endpoints/new")
def page_new(request: Request, principal: Annotated[Principal, Depends(_signed_in)]) -> Response:
    return _page(request, "endpoint_new.html", title="New endpoint", values={}, error=None)


@page_router.post("/endpoints/new")
async def page_create(request: Request, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    form = await _form(request)
    given = _form_input(form)
    db = _db(request)
    try:
        endpoint, secret = await asyncio.to_thread(
            create_endpoint, db, given, owner_user_id=_owner_of(principal), operator=principal.is_operator
        )
    except EndpointError as err:
        values = {"url": given.url, "description": given.description, "watchlist": "\n".join(given.watchlist),
                  "events": given.events or (), "kinds": given.kinds or (), "allow_private": given.allow_private}
        return _page(request, "endpoint_new.html", status=err.status, title="New endpoint", values=values, error=err.message)
    # The secret is in this answer only (no-store); the page's address is the endpoint's own.
    return await asyncio.to_thread(_detail, request, endpoint, secret=secret, status=201)


@page_router.get("/endpoints/{endpoint_id}")
def page_detail(request: Request, endpoint_id: _ID, principal: Annotated[Principal, Depends(_signed_in)]) -> Response:
    return _detail(request, _owned(_db(request), principal, endpoint_id))


def _back(endpoint: StoredEndpoint, done: str) -> Response:
    return private_redirect(f"/endpoints/{endpoint.id}?done={quote(done)}")


@page_router.post("/endpoints/{endpoint_id}/{action}")
async def page_action(
    request: Request,
    endpoint_id: _ID,
    action: Literal["test", "replay", "enable", "disable", "rotate", "delete", "edit"],
    principal: Annotated[Principal, Depends(require_principal)],
) -> Response:
    form = await _form(request)
    db = _db(request)
    endpoint = await asyncio.to_thread(_owned, db, principal, endpoint_id)
    try:
        if action == "test":
            result = await _test(db, endpoint)
            return _back(endpoint, "tested" if result["delivered"] else "test-failed")
        if action == "replay":
            resend = _one(form, "resend") == "on"
            event_id = _one(form, "event_id")
            if event_id:  # one line of the delivery log
                if not re.fullmatch(_EVENT_ID, event_id):
                    raise EndpointError("not an event id")
                outcome = await asyncio.to_thread(replay_endpoint, db, endpoint, event_id=event_id, resend=resend)
            else:
                outcome = await asyncio.to_thread(replay_endpoint, db, endpoint, since=_since(_one(form, "since")), resend=resend)
            if outcome.queued:
                await deliver_now(db, endpoint, max_wait=20.0)
            return _back(endpoint, "replayed")
        if action in ("enable", "disable"):
            await asyncio.to_thread(update_endpoint, db, endpoint, None, enabled=action == "enable", operator=principal.is_operator)
            return _back(endpoint, f"{action}d")
        if action == "edit":
            given = _form_input(form)
            await asyncio.to_thread(update_endpoint, db, endpoint, given, enabled=None, operator=principal.is_operator)
            return _back(endpoint, "saved")
        if action == "rotate":
            secret = await asyncio.to_thread(rotate_secret, db, endpoint)
            fresh = await asyncio.to_thread(_owned, db, principal, endpoint_id)
            return await asyncio.to_thread(_detail, request, fresh, secret=secret)
        await asyncio.to_thread(_delete, db, endpoint)
        return private_redirect("/endpoints")
    except EndpointError as err:
        return await asyncio.to_thread(_detail, request, endpoint, error=err.message, status=err.status)
