"""The operator console: ``/console`` (one page) and the same data as JSON under
``/api/v1/console/…``, operator only.

Sections (each a function of the database and the settings, shared by the page and the API):
``sources`` (health and the latest polls), ``incidents`` (open), ``holds`` (suspect re-issues,
with confirm / reject — ``bot.ingest.holds``, as ``cacwatch lists confirm|reject``), ``outbox``
(per destination, with dead letters and retry — ``bot.delivery.outbox.retry_dead``, as ``cacwatch
deliveries retry``), ``subscribers`` (email digests, read only; unsubscribe tokens never shown),
``totals`` (the GenAI totals reconciliation) and ``telegram`` (the channel, the bot's private
subscribers and watches, and "send test post" through the configured notifier).

Destinations are shown masked (``bot.settings.redact``: a webhook URL's secrets never reach a page);
a retry form names the masked destination and the server finds the stored key it stands for.
Actions from the page are forms (POST + CSRF) answered with a redirect to ``/console?done=…``
(a fixed message per code: nothing the request sent is echoed).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bot.settings.config import Settings
from bot.settings.redact import mask_destination, mask_urls_in
from bot.web.accounts import ERRORS, RowId, page, signed_in_or_redirect
from bot.web.forms import bounded_json_body, field, read_form
from bot.web.principal import CSRF_FIELD, Principal, check_csrf, private_json, private_redirect, require_operator
from bot.web.state import web_state
from storage.db import Database

__all__ = ["page_router", "api_router", "SECTIONS", "settings_of"]

log = logging.getLogger(__name__)

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/console", tags=["console"], dependencies=[Depends(bounded_json_body)])

_DEAD_LETTERS = 200  # at most this many dead letters listed (oldest first)
_DONE = {
    "confirmed": "已确认：变更已排入发送队列 · Confirmed: its changes are queued for delivery",
    "rejected": "已驳回：清单保留当前内容 · Rejected: the list keeps its current rows",
    "retried": "已重新排队 · Dead letters queued again",
    "posted": "测试消息已发送 · Test post sent",
}


def settings_of(request: Request) -> Settings:
    """The settings the app was made with (notify: destinations, Telegram, email); defaults without."""
    found = getattr(request.app.state, "settings", None)
    return found if isinstance(found, Settings) else Settings()


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --- sections ----------------------------------------------------------------------------------


def sources(db: Database, settings: Settings) -> dict[str, Any]:
    from storage.status_repo import StatusRepository

    with db.session() as session:
        repo = StatusRepository(session)
        found, polls = repo.sources(), repo.recent_polls(10)
    return {
        "sources": [
            {"name": s.name, "last_success_at": _iso(s.last_success_at), "last_failure_at": _iso(s.last_failure_at),
             "last_error": mask_urls_in(s.last_error or "") or None, "consecutive_failures": s.consecutive_failures,
             "polls_ok": s.polls_ok, "polls_failed": s.polls_failed, "last_front_door_at": _iso(s.last_front_door_at),
             "last_revalidated_at": _iso(s.last_revalidated_at)}
            for s in found
        ],
        "polls": [
            {"source": p.source, "started_at": _iso(p.started_at), "finished_at": _iso(p.finished_at), "ok": p.ok,
             "error": mask_urls_in(p.error or "") or None, "lists_seen": p.lists_seen, "lists_changed": p.lists_changed,
             "requests": p.requests}
            for p in polls
        ],
    }


def incidents(db: Database, settings: Settings) -> dict[str, Any]:
    from storage.status_repo import StatusRepository

    with db.session() as session:
        found = StatusRepository(session).open_incidents()
    return {"items": [{"key": i.key, "opened_at": _iso(i.opened_at), "failures": i.failures,
                       "message": mask_urls_in(i.last_message), "notified": i.notified} for i in found]}


def holds(db: Database, settings: Settings) -> dict[str, Any]:
    from bot.ingest.holds import held

    return {"items": [{"list_id": h.list_id, "kind": h.kind, "list_month": h.list_month, "name": h.name,
                       "page_url": h.page_url, "before": h.before, "after": h.after, "lost": h.lost,
                       "since": _iso(h.since), "describe": h.describe()} for h in held(db)]}


def _reports(db: Database) -> tuple[list[Any], list[tuple[int, str, str | None]]]:
    from storage.outbox_repo import OutboxRepository

    with db.session() as session:
        repo = OutboxRepository(session)
        return repo.destination_reports(), repo.dead_letters(_DEAD_LETTERS)


def outbox(db: Database, settings: Settings) -> dict[str, Any]:
    reports, dead = _reports(db)
    items = []
    for r in reports:
        shown = mask_destination(r.destination)
        items.append({
            "destination": shown, "notifier": mask_destination(r.notifier), "counts": r.counts, "attempts": r.attempts,
            "last_error": mask_urls_in(r.last_error or "") or None, "next_retry": _iso(r.next_retry),
            "dead_letters": [{"delivery": pk, "error": mask_urls_in(error or "") or None}
                             for pk, destination, error in dead if destination == r.destination],
        })
    return {"items": items}


def subscribers(db: Database, settings: Settings) -> dict[str, Any]:
    from bot.settings.config import EmailSettings
    from bot.delivery.email.subscribers import load_subscribers

    email = settings.notify.email or EmailSettings(smtp_host="localhost", sender="cacwatch@localhost.localdomain")
    with db.session() as session:
        found = load_subscribers(email, session)
    return {
        "configured": settings.notify.email is not None,
        "items": [{"address": s.address, "name": s.name, "source": "config" if s.source == "config" else "database",
                   "cadence": s.cadence, "language": s.language, "kinds": list(s.kinds), "watchlist": list(s.watchlist),
                   "unsubscribed": s.unsubscribed,
                   # pending: a self-service sign-up whose confirmation link was not followed yet.
                   "status": "unsubscribed" if s.unsubscribed else s.status}
                  for s in sorted(found, key=lambda s: s.address)],
    }


def totals(db: Database, settings: Settings) -> dict[str, Any]:
    from storage.totals_repo import TotalsRepository

    with db.session() as session:
        found = TotalsRepository(session).reconciliations()
    return {"items": [{"kind": r.kind, "as_of": r.as_of, "stated": {"filed": r.stated_filed, "registered": r.stated_registered},
                       "held": {"filed": r.held_filed, "registered": r.held_registered}, "list_month": r.list_month,
                       "list_name": r.list_name, "compared": r.compared, "ok": r.ok, "source_url": r.source_url}
                      for r in found]}


def telegram(db: Database, settings: Settings) -> dict[str, Any]:
    from storage import telegram_repo

    config = settings.notify.telegram
    with db.session() as session:
        subscriptions = telegram_repo.all_subscriptions(session)
        watches = telegram_repo.all_watches(session)
    return {
        "configured": config is not None,
        "channels": [config.channel] if config else [],
        "admin_chat": config.admin_chat if config else None,
        "subscriptions": [{"kind": kind, "chats": chats} for kind, chats in sorted(subscriptions.items())],
        "watches": [{"pattern": pattern, "chats": sorted(chats)} for pattern, chats in sorted(watches.items())],
    }


SECTIONS: dict[str, Callable[[Database, Settings], dict[str, Any]]] = {
    "sources": sources, "incidents": incidents, "holds": holds, "outbox": outbox,
    "subscribers": subscribers, "totals": totals, "telegram": telegram,
}


# --- actions (shared by the page and the API) --------------------------------------------------


def _db(request: Request) -> Database:
    return web_state(request).corpus.db


async def _confirm(request: Request, list_id: int) -> dict[str, Any]:
    from bot.ingest.holds import confirm_held

    settings, db = settings_of(request), _db(request)
    try:
        confirmed, queued = await anyio.to_thread.run_sync(lambda: confirm_held(settings, db, list_id=list_id))
    except ValueError as err:  # a notifier that cannot be built from this configuration
        raise HTTPException(409, f"cannot confirm: {mask_urls_in(str(err))}") from None
    if not confirmed:
        raise HTTPException(404, "that list holds no re-issue")
    log.info("held re-issue of list %d confirmed from the console; %d events queued", list_id, queued)
    return {"confirmed": [{"list_id": c.held.list_id, "kind": c.held.kind, "list_month": c.held.list_month,
                           "removed": c.removed} for c in confirmed], "events_queued": queued}


async def _reject(request: Request, list_id: int) -> dict[str, Any]:
    from bot.ingest.holds import reject

    rejected = await anyio.to_thread.run_sync(reject, _db(request), list_id)
    if rejected is None:
        raise HTTPException(404, "that list holds no re-issue")
    log.info("held re-issue of list %d rejected from the console", list_id)
    return {"rejected": {"list_id": rejected.list_id, "kind": rejected.kind, "list_month": rejected.list_month}}


async def _retry(request: Request, shown: str) -> dict[str, Any]:
    from bot.delivery.outbox import retry_dead

    db = _db(request)
    reports, _ = await anyio.to_thread.run_sync(_reports, db)
    keys = [r.destination for r in reports if mask_destination(r.destination) == shown]
    if not keys:
        raise HTTPException(404, "no such destination in the outbox")
    queued, disabled = 0, []
    for key in keys:
        count, off = await anyio.to_thread.run_sync(lambda: retry_dead(db, destination=key))
        queued += count
        disabled += [mask_destination(d) for d in off]
    return {"destination": shown, "queued": queued, "disabled": disabled}


async def _test_post(request: Request, principal: Principal) -> dict[str, Any]:
    config = settings_of(request).notify.telegram
    if config is None:
        raise HTTPException(409, "notify.telegram is not configured")
    from bot.delivery.notifiers.base import DeliveryError
    from bot.delivery.telegram.notifier import TelegramNotifier

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"🧪 cacwatch 测试消息 · test post\n由 {html.escape(principal.name)} 从运营控制台发送 · sent from the "
            f"operator console by {html.escape(principal.name)}, {now}.")
    notifier = TelegramNotifier(config, _db(request))
    try:
        message_id = await notifier.send_test_post(text)
    except DeliveryError as err:
        raise HTTPException(502, f"Telegram refused the test post: {mask_urls_in(str(err))}") from None
    finally:
        await notifier.aclose()
    log.info("test post sent to %s from the console", config.channel)
    return {"channel": config.channel, "message_id": message_id}


# --- page ----------------------------------------------------------------------------------------


@page_router.get("/console")
async def console_page(request: Request) -> Response:
    who = signed_in_or_redirect(request)
    if isinstance(who, Response):
        return who
    require_operator(request)
    settings, db = settings_of(request), _db(request)
    data = {name: await anyio.to_thread.run_sync(section, db, settings) for name, section in SECTIONS.items()}
    done = _DONE.get(request.query_params.get("done", ""), "")
    return page(request, "console.html", title="运营控制台 Operator console", who=who, done=done, s=data)


async def _console_form(request: Request) -> dict[str, str]:
    require_operator(request)
    form = await read_form(request)
    check_csrf(request, form.get(CSRF_FIELD))
    return form


def _back(done: str) -> Response:
    return private_redirect(f"/console?done={done}")


@page_router.post("/console/holds/{list_id}/confirm")
async def console_confirm(request: Request, list_id: RowId) -> Response:
    await _console_form(request)
    await _confirm(request, list_id)
    return _back("confirmed")


@page_router.post("/console/holds/{list_id}/reject")
async def console_reject(request: Request, list_id: RowId) -> Response:
    await _console_form(request)
    await _reject(request, list_id)
    return _back("rejected")


@page_router.post("/console/outbox/retry")
async def console_retry(request: Request) -> Response:
    form = await _console_form(request)
    await _retry(request, field(form, "destination", limit=2000, required=True))
    return _back("retried")


@page_router.post("/console/telegram/test")
async def console_test_post(request: Request) -> Response:
    await _console_form(request)
    await _test_post(request, require_operator(request))
    return _back("posted")


# --- JSON API ------------------------------------------------------------------------------------


_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_DONE_JSON: dict[int | str, dict[str, Any]] = {200: {"description": "Done", "content": _OBJECT}, **ERRORS}
_TELEGRAM_REFUSED: dict[str, Any] = {"description": "Telegram refused the post", "content": _OBJECT}


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destination: str = Field(min_length=1, max_length=2000, description="A destination as the outbox section shows it")


def _section_route(name: str) -> None:
    section = SECTIONS[name]

    async def read(request: Request, principal: Principal = Depends(require_operator)) -> Response:
        return private_json(await anyio.to_thread.run_sync(section, _db(request), settings_of(request)))

    api_router.add_api_route(
        f"/{name}", read, methods=["GET"], summary=f"Console: {name} (operator)", name=f"console_{name}", response_model=None,
        responses={200: {"description": f"The {name} section of /console", "content": _OBJECT}, **ERRORS},
    )


for _name in SECTIONS:
    _section_route(_name)


@api_router.post("/holds/{list_id}/confirm", response_model=None, responses=_DONE_JSON, summary="Confirm a held re-issue: its changes are queued (operator)")
async def api_confirm(request: Request, list_id: RowId, principal: Principal = Depends(require_operator)) -> Response:
    return private_json(await _confirm(request, list_id))


@api_router.post("/holds/{list_id}/reject", response_model=None, responses=_DONE_JSON, summary="Reject a held re-issue: the list keeps its rows (operator)")
async def api_reject(request: Request, list_id: RowId, principal: Principal = Depends(require_operator)) -> Response:
    return private_json(await _reject(request, list_id))


@api_router.post("/outbox/retry", response_model=None, responses=_DONE_JSON, summary="Queue a destination's dead letters again (operator)")
async def api_retry(request: Request, body: RetryIn, principal: Principal = Depends(require_operator)) -> Response:
    return private_json(await _retry(request, body.destination))


@api_router.post("/telegram/test", response_model=None, responses={**_DONE_JSON, 502: _TELEGRAM_REFUSED}, summary="Send a test post to the Telegram channel (operator)")
async def api_test_post(request: Request, principal: Principal = Depends(require_operator)) -> Response:
    return private_json(await _test_post(request, principal))
