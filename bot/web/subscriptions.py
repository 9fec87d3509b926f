"""Self-service email digest subscriptions: the public sign-up, its double opt-in, the
preferences link, the signed-in list and the JSON API (``/api/v1/subscriptions``).

Pages (no sign-in needed; every form carries the CSRF token of ``bot.web.principal``; every answer is
``private_html``, never kept by the answer cache):

- ``/subscribe``: email, kinds, cadence, language, watchlist (through the one resolver, with
  suggestions for an entry it does not recognise: kept only when asked), brief attached or not.
  The answer is "check your inbox" whatever the address (an address already receiving digests
  gets a notice mail instead of a second subscription). Without ``notify.email`` (the relay)
  and ``web.public_url`` (the address links in mails point to: never the request's Host
  header) the page says self-service sign-up is unavailable.
- ``/subscribe/confirm?token=``: GET shows a button, POST confirms (link scanners follow GETs).
- ``/subscriptions/manage?token=``: the preferences form of the link each digest carries, with
  unsubscribe (and subscribe again).
- ``/subscriptions``: a signed-in member's subscriptions (the operator's: all).

API (``require_principal``; a member sees and changes only their own, ``check_owner``):
``POST /api/v1/subscriptions`` → 202 ``{"id", "status": "pending", "mail"}``, ``GET`` (list),
``GET|PATCH|DELETE /api/v1/subscriptions/{id}``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from bot.web.forms import bounded_json_body, read_form
from bot.web.forms import field as form_field
from bot.web.http import FailedAttempts
from bot.web.models import ErrorModel
from bot.web.params import check_known
from bot.settings.paths import confirm_path, manage_path, page_url
from bot.web.principal import (
    CSRF_FIELD,
    Principal,
    check_csrf,
    check_owner,
    csrf_token,
    principal_of,
    private_html,
    private_json,
    require_principal,
    with_csrf_cookie,
)
from bot.web.render import render
from bot.web.state import web_state

if TYPE_CHECKING:
    from bot.settings.config import EmailSettings
    from bot.delivery.email.selfservice import Preferences, Subscription
    from bot.web.watch_terms import WatchTerm

__all__ = ["install", "PUBLIC_PATHS", "page_router", "api_router"]

# Reached without credentials even when web.auth guards the rest: the two pages whose token
# (from the mail) is their credential. /subscribe follows web.auth like every public page (and a
# signed-in member's sign-up is theirs: the access layer must see who asks there).
PUBLIC_PATHS = frozenset({"/subscribe/confirm", "/subscriptions/manage"})

_MAX_FIELDS = 20
_FORM_FIELDS = ("email", "cadence", "language", "watchlist", "attach_brief", "keep_unrecognised", "token", "action")
_MAX_PART = 16 * 1024  # the watchlist's characters (50 entries of at most 200)
_MAX_BYTES = 160 * 1024  # the form as sent: Chinese text is 9 bytes a character, URL-encoded
_EMAIL_LIMIT = 254
_TOKEN_LIMIT = 64
_UNAVAILABLE = "自助订阅暂不可用 · Self-service sign-up is unavailable on this site (the operator has not set up outgoing mail)."

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["subscriptions"], dependencies=[Depends(bounded_json_body)])


# Sign-up mails one client (address) may cause through the public page in an hour, whatever the
# addresses: the per-address bound alone would let one client mail many strangers.
CLIENT_MAILS_PER_HOUR = 20


@dataclass(frozen=True, slots=True)
class _Config:
    email: EmailSettings | None
    public_url: str | None
    clients: FailedAttempts = field(default_factory=lambda: FailedAttempts(CLIENT_MAILS_PER_HOUR, 3600.0))

    @property
    def available(self) -> bool:
        return self.email is not None and bool(self.public_url)


def install(app: FastAPI, email: EmailSettings | None) -> None:
    """Add the pages and the API; ``email``: ``notify.email`` (None: sign-up unavailable)."""
    app.state.subscriptions = _Config(email, app.state.web.web.public_url)
    app.include_router(api_router)
    app.include_router(page_router)


def _config(request: Request) -> _Config:
    config: _Config = request.app.state.subscriptions
    return config


def _db(request: Request) -> Any:
    return web_state(request).corpus.db


# --- forms ---------------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    """The posted form's fields (``bot.web.forms.read_form``: bounded, one value each), CSRF checked."""
    from bot.delivery.email.selfservice import KINDS

    fields = await read_form(request, max_fields=_MAX_FIELDS, max_bytes=_MAX_BYTES)
    check_csrf(request, form_field(fields, CSRF_FIELD, limit=64))
    known = {CSRF_FIELD, *_FORM_FIELDS, *(f"kind_{kind}" for kind in KINDS)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise HTTPException(400, f"{unknown[0][:40]}: not a field of this form")
    return fields


def _one(fields: dict[str, str], name: str, limit: int) -> str:
    return form_field(fields, name, limit=limit)


def _preferences_from(fields: dict[str, str]) -> tuple[Preferences, list[str]]:
    """The preferences of a form (ValueError naming the field) and its watchlist entries."""
    from bot.delivery.email.selfservice import KINDS, MAX_WATCH_ITEMS, check_preferences

    lines = [line.strip() for line in _one(fields, "watchlist", _MAX_PART).splitlines() if line.strip()]
    if len(lines) > MAX_WATCH_ITEMS:
        raise ValueError(f"watchlist: at most {MAX_WATCH_ITEMS} entries (one per line)")
    kinds = [kind for kind in KINDS if fields.get(f"kind_{kind}") == "1"]
    preferences = check_preferences(
        kinds=kinds,
        cadence=_one(fields, "cadence", 20) or "immediate",
        language=_one(fields, "language", 10) or "both",
        watchlist=lines,
        attach_brief=_one(fields, "attach_brief", 5) == "1",
    )
    return preferences, list(preferences.watchlist)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    from bot.settings.email_validation import CADENCES

    body = render(
        template,
        request_path=request.url.path,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        cadences=CADENCES,
        **context,
    ).decode("utf-8")
    return with_csrf_cookie(request, private_html(body, status_code=status))


def _link(config: _Config, path: str) -> str:
    link = page_url(config.public_url, path)
    assert link is not None  # available: public_url is set
    return link


async def _send_sign_up_mail(config: _Config, outcome: Any) -> str | None:
    """Send the sign-up's mail; None when sent, else the reason."""
    from bot.delivery.email.selfservice import confirmation_message, is_configured, notice_message, send_message

    assert config.email is not None
    if outcome.mail == "confirm":
        message = confirmation_message(config.email, outcome.address, outcome.language, _link(config, confirm_path(outcome.token)))
    else:
        manage = _link(config, manage_path(outcome.manage_token)) if outcome.manage_token else None
        configured = is_configured(config.email, outcome.address)
        message = notice_message(config.email, outcome.address, outcome.language, manage, configured=configured)
    return await send_message(config.email, message, outcome.address)


def _sign_up(request: Request, address: str, preferences: Preferences, owner: int | None) -> Any:
    from bot.delivery.email.selfservice import sign_up

    config = _config(request)
    assert config.email is not None
    with _db(request).session() as session:
        return sign_up(session, config.email, address, preferences, owner_user_id=owner)


def _form_values(fields: dict[str, str] | None = None, subscription: Subscription | None = None) -> dict[str, Any]:
    """What the preferences form shows: the posted values, a subscription's, or the defaults."""
    if subscription is not None:
        return {
            "email": subscription.email,
            "kinds": list(subscription.kinds),
            "cadence": subscription.cadence,
            "language": subscription.language,
            "watchlist": "\n".join(subscription.watchlist),
            "attach_brief": bool(subscription.attach_brief),
        }
    fields = fields or {}
    return {
        "email": fields.get("email", "")[:_EMAIL_LIMIT],
        "kinds": [name[len("kind_"):] for name, value in fields.items() if name.startswith("kind_") and value == "1"],
        "cadence": fields.get("cadence", "immediate")[:20],
        "language": fields.get("language", "both")[:10],
        "watchlist": fields.get("watchlist", "")[:_MAX_PART],
        "attach_brief": fields.get("attach_brief") == "1",
    }


# --- pages ---------------------------------------------------------------------------------------


@page_router.get("/subscribe")
async def subscribe_form(request: Request) -> Response:
    config = _config(request)
    return _page(request, "subscribe.html", title="订阅邮件摘要 Subscribe", state="form", available=config.available,
                 unavailable=_UNAVAILABLE, values=_form_values())


@page_router.post("/subscribe")
async def subscribe_post(request: Request) -> Response:
    from bot.settings.email_validation import normalize_address
    from bot.web.watch_terms import read_watchlist

    config = _config(request)
    fields = await _form(request)
    values = _form_values(fields)
    page: dict[str, Any] = {"title": "订阅邮件摘要 Subscribe", "available": config.available, "unavailable": _UNAVAILABLE, "values": values}
    if not config.available:
        return _page(request, "subscribe.html", 503, state="form", **page)
    try:
        address = normalize_address(_one(fields, "email", _EMAIL_LIMIT), key="email")
        preferences, entries = _preferences_from(fields)
    except ValueError as err:
        return _page(request, "subscribe.html", 400, state="form", error=str(err), **page)
    terms: list[WatchTerm] = await asyncio.to_thread(read_watchlist, web_state(request).corpus, entries)
    if any(t.kind == "unknown" for t in terms) and _one(fields, "keep_unrecognised", 5) != "1":
        return _page(request, "subscribe.html", state="review", terms=terms, **page)
    client = request.client.host if request.client else ""
    if config.clients.retry_after(client) is not None:
        return _page(request, "subscribe.html", 429, state="limited", **page)
    owner = principal.user_id if (principal := principal_of(request)) is not None else None
    outcome = await asyncio.to_thread(_sign_up, request, address, preferences, owner)
    if outcome.mail is None:
        return _page(request, "subscribe.html", 429, state="limited", **page)
    config.clients.failed(client)  # counted: one more mail caused by this client
    failure = await _send_sign_up_mail(config, outcome)
    return _page(request, "subscribe.html", 502 if failure else 200, state="failed" if failure else "sent",
                 failure=failure, address=address, **page)


def _confirm(request: Request, token: str) -> Any:
    from bot.delivery.email.selfservice import confirm

    with _db(request).session() as session:
        return confirm(session, token)


@page_router.get("/subscribe/confirm")
async def confirm_form(request: Request) -> Response:
    token = request.query_params.get("token", "")[:_TOKEN_LIMIT]
    return _page(request, "subscribe.html", title="确认订阅 Confirm", state="confirm", token=token, available=True, values=_form_values())


@page_router.post("/subscribe/confirm")
async def confirm_post(request: Request) -> Response:
    fields = await _form(request)
    token = _one(fields, "token", _TOKEN_LIMIT)
    result = await asyncio.to_thread(_confirm, request, token)
    title = "确认订阅 Confirm"
    if result.outcome == "confirmed":
        return _page(request, "subscribe.html", title=title, state="confirmed", subscription=result.subscription,
                     manage=manage_path(result.subscription.manage_token), available=True, values=_form_values())
    status = 410 if result.outcome == "expired" else 404
    return _page(request, "subscribe.html", status, title=title, state=result.outcome, available=True, values=_form_values())


def _by_manage_token(request: Request, token: str) -> Subscription | None:
    from bot.delivery.email.selfservice import subscription_by_manage_token

    with _db(request).session() as session:
        return subscription_by_manage_token(session, token)


@page_router.get("/subscriptions/manage")
async def manage_form(request: Request) -> Response:
    token = request.query_params.get("token", "")[:_TOKEN_LIMIT]
    subscription = await asyncio.to_thread(_by_manage_token, request, token)
    title = "订阅偏好 Preferences"
    if subscription is None:
        return _page(request, "manage.html", 404, title=title, subscription=None, token="")
    return _page(request, "manage.html", title=title, subscription=subscription, token=token, values=_form_values(subscription=subscription))


def _manage(request: Request, token: str, action: str, preferences: Preferences | None) -> Subscription | None:
    from bot.delivery.email.selfservice import change_preferences, set_unsubscribed, subscription_by_manage_token

    config = _config(request)
    with _db(request).session() as session:
        found = subscription_by_manage_token(session, token)
        if found is None:
            return None
        if action == "unsubscribe":
            return set_unsubscribed(session, found.id, True)
        if action == "resubscribe" and found.status == "unsubscribed":
            return set_unsubscribed(session, found.id, False)
        if action == "save" and preferences is not None and config.email is not None:
            return change_preferences(session, config.email, found.id, preferences)
        return found


@page_router.post("/subscriptions/manage")
async def manage_post(request: Request) -> Response:
    fields = await _form(request)
    token = _one(fields, "token", _TOKEN_LIMIT)
    action = _one(fields, "action", 20)
    title = "订阅偏好 Preferences"
    if action not in ("save", "unsubscribe", "resubscribe"):
        raise HTTPException(400, "action: one of save, unsubscribe, resubscribe")
    preferences: Preferences | None = None
    error = None
    if action == "save":
        try:
            preferences, _ = _preferences_from(fields)
        except ValueError as err:
            error = str(err)
    if error is None and action == "save" and _config(request).email is None:
        error = _UNAVAILABLE
    if error is not None:
        subscription = await asyncio.to_thread(_by_manage_token, request, token)
        if subscription is None:
            return _page(request, "manage.html", 404, title=title, subscription=None, token="")
        return _page(request, "manage.html", 400, title=title, subscription=subscription, token=token, error=error,
                     values=_form_values(fields) | {"email": subscription.email})
    try:
        subscription = await asyncio.to_thread(_manage, request, token, action, preferences)
    except ValueError as err:  # a config.yaml recipient's preferences
        found = await asyncio.to_thread(_by_manage_token, request, token)
        return _page(request, "manage.html", 400, title=title, subscription=found, token=token, error=str(err),
                     values=_form_values(subscription=found) if found else _form_values())
    if subscription is None:
        return _page(request, "manage.html", 404, title=title, subscription=None, token="")
    return _page(request, "manage.html", title=title, subscription=subscription, token=token, done=action,
                 values=_form_values(subscription=subscription))


def _list(request: Request, principal: Principal) -> list[Subscription]:
    from bot.delivery.email.selfservice import subscriptions

    with _db(request).session() as session:
        return subscriptions(session, principal.user_id, everyone=principal.is_operator)


@page_router.get("/subscriptions")
async def subscriptions_page(request: Request, principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    found = await asyncio.to_thread(_list, request, principal)
    return _page(request, "subscriptions.html", title="我的订阅 Subscriptions", subscriptions=found, principal=principal)


# --- API -----------------------------------------------------------------------------------------

_TEXT = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
# A plain address as bot.settings.email_validation accepts it (the schema's form: a local part of
# at most 64 characters with at most one dot; the server also takes more dots). Generated input
# that fits it is always accepted.
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = f"^(?:{_ATOM}{{1,64}}|{_ATOM}{{1,31}}\\.{_ATOM}{{1,32}})@{_LABEL}(?:\\.{_LABEL})+$"
_Kinds = Literal["deep_synthesis", "algorithm_recommendation", "genai_service"]


def _cadence_field(default: Any) -> Any:
    from bot.settings.email_validation import CADENCES

    return Field(default=default, json_schema_extra={"enum": list(CADENCES)}, max_length=20)


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Checked by normalize_address (which also takes more dots); documented by the pattern.
    email: str = Field(max_length=_EMAIL_LIMIT, json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN})
    kinds: list[_Kinds] = Field(default_factory=list, max_length=3)
    cadence: str = _cadence_field("immediate")
    language: Literal["zh", "en", "both"] = "both"
    watchlist: list[Annotated[str, Field(max_length=200, pattern=_TEXT)]] = Field(default_factory=list, max_length=50)
    attach_brief: bool | None = None


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kinds: list[_Kinds] | None = Field(default=None, max_length=3)
    cadence: str | None = _cadence_field(None)
    language: Literal["zh", "en", "both"] | None = None
    watchlist: list[Annotated[str, Field(max_length=200, pattern=_TEXT)]] | None = Field(default=None, max_length=50)
    attach_brief: bool | None = None
    unsubscribed: bool | None = None


class UnrecognisedModel(BaseModel):
    entry: str
    suggestions: list[str]


class SubscriptionAccepted(BaseModel):
    id: int | None = Field(description="The pending subscription; null when the address already receives digests (it got a notice mail instead)")
    status: Literal["pending"]
    mail: str = Field(description='"sent", or why the mail could not be sent (the subscription stays pending: POST again)')
    unrecognised: list[UnrecognisedModel] = Field(default_factory=list, description="Watchlist entries that name no known company or stored filer, with suggestions")


class SubscriptionModel(BaseModel):
    id: int
    email: str
    status: Literal["pending", "active", "unsubscribed"]
    kinds: list[str]
    cadence: str
    language: str
    watchlist: list[str]
    attach_brief: bool | None
    owner_user_id: int | None
    created_at: str


class SubscriptionsModel(BaseModel):
    items: list[SubscriptionModel]


_API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorModel, "description": "A bad value"},
    401: {"model": ErrorModel, "description": "No valid credentials"},
    404: {"model": ErrorModel, "description": "Unknown, or another member's"},
}


def _model(subscription: Subscription) -> dict[str, Any]:
    from bot.web.api import iso

    return SubscriptionModel(
        id=subscription.id,
        email=subscription.email,
        status=subscription.status,
        kinds=list(subscription.kinds),
        cadence=subscription.cadence,
        language=subscription.language,
        watchlist=list(subscription.watchlist),
        attach_brief=subscription.attach_brief,
        owner_user_id=subscription.owner_user_id,
        created_at=iso(subscription.created_at) or "",
    ).model_dump()


def _checked(**values: Any) -> Preferences:
    from bot.delivery.email.selfservice import check_preferences

    try:
        return check_preferences(**values)
    except ValueError as err:
        raise HTTPException(400, str(err)) from None


@api_router.post(
    "/subscriptions",
    status_code=202,
    response_model=SubscriptionAccepted,
    responses={**_API_ERRORS, 429: {"model": ErrorModel, "description": "Too many mails to this address this hour"},
               503: {"model": ErrorModel, "description": "Self-service sign-up is not set up (notify.email, web.public_url)"}},
)
async def create_subscription(
    request: Request, body: SubscriptionCreate, principal: Annotated[Principal, Depends(require_principal)]
) -> Response:
    """Sign an address up for the digests (double opt-in: it stays pending until the emailed link is followed)."""
    from bot.settings.email_validation import normalize_address
    from bot.web.watch_terms import read_watchlist

    check_known(request.query_params.keys(), ())
    config = _config(request)
    if not config.available:
        raise HTTPException(503, "self-service sign-up is unavailable: the operator has not set notify.email and web.public_url")
    try:
        address = normalize_address(body.email, key="email")
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    preferences = _checked(kinds=body.kinds, cadence=body.cadence, language=body.language, watchlist=body.watchlist,
                           attach_brief=body.attach_brief)
    terms = await asyncio.to_thread(read_watchlist, web_state(request).corpus, list(preferences.watchlist))
    outcome = await asyncio.to_thread(_sign_up, request, address, preferences, principal.user_id)
    if outcome.mail is None:
        raise HTTPException(429, "too many mails to this address in the last hour: try again later")
    failure = await _send_sign_up_mail(config, outcome)
    accepted = SubscriptionAccepted(
        id=outcome.subscription.id if outcome.subscription is not None else None,
        status="pending",
        mail=failure or "sent",
        unrecognised=[UnrecognisedModel(entry=t.text, suggestions=list(t.suggestions)) for t in terms if t.kind == "unknown"],
    )
    return private_json(accepted.model_dump(), status_code=202)


@api_router.get("/subscriptions", response_model=SubscriptionsModel, responses=_API_ERRORS)
async def list_subscriptions(
    request: Request,
    principal: Annotated[Principal, Depends(require_principal)],
    status: Literal["pending", "active", "unsubscribed"] | None = None,
) -> Response:
    """Your subscriptions (the operator: everyone's, config.yaml recipients excepted); ``status`` narrows."""
    check_known(request.query_params.keys(), ("status",))
    found = await asyncio.to_thread(_list, request, principal)
    return private_json({"items": [_model(s) for s in found if status is None or s.status == status]})


def _owned(request: Request, principal: Principal, subscription_id: int) -> Subscription:
    from bot.delivery.email.selfservice import subscription_by_id

    with _db(request).session() as session:
        found = subscription_by_id(session, subscription_id)
    if found is None:
        raise HTTPException(404, "not found")
    check_owner(principal, found.owner_user_id)
    return found


_Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@api_router.get("/subscriptions/{subscription_id}", response_model=SubscriptionModel, responses=_API_ERRORS)
async def get_subscription(
    request: Request, subscription_id: _Id, principal: Annotated[Principal, Depends(require_principal)]
) -> Response:
    check_known(request.query_params.keys(), ())
    found = await asyncio.to_thread(_owned, request, principal, subscription_id)
    return private_json(_model(found))


def _change(request: Request, principal: Principal, subscription_id: int, body: SubscriptionChange) -> Subscription:
    from bot.delivery.email.selfservice import change_preferences, set_unsubscribed

    config = _config(request)
    current = _owned(request, principal, subscription_id)
    preferences = _checked(
        kinds=current.kinds if body.kinds is None else body.kinds,
        cadence=body.cadence or current.cadence,
        language=body.language or current.language,
        watchlist=current.watchlist if body.watchlist is None else body.watchlist,
        attach_brief=current.attach_brief if "attach_brief" not in body.model_fields_set else body.attach_brief,
    )
    with _db(request).session() as session:
        if config.email is None:
            raise HTTPException(503, "notify.email is not configured")
        changed = change_preferences(session, config.email, subscription_id, preferences)
        if body.unsubscribed is not None:
            if not body.unsubscribed and changed.status == "pending":
                raise HTTPException(409, "unsubscribed: a pending subscription is confirmed by its emailed link only")
            changed = set_unsubscribed(session, subscription_id, body.unsubscribed)
        return changed


@api_router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionModel,
    responses={**_API_ERRORS, 409: {"model": ErrorModel, "description": "Subscribing a pending subscription again (its mail confirms it)"}},
)
async def patch_subscription(
    request: Request, subscription_id: _Id, body: SubscriptionChange, principal: Annotated[Principal, Depends(require_principal)]
) -> Response:
    """Change preferences, or unsubscribe (``{"unsubscribed": true}``) and subscribe again."""
    check_known(request.query_params.keys(), ())
    changed = await asyncio.to_thread(_change, request, principal, subscription_id, body)
    return private_json(_model(changed))


def _delete(request: Request, principal: Principal, subscription_id: int) -> None:
    from bot.delivery.email.selfservice import delete_subscription

    _owned(request, principal, subscription_id)
    with _db(request).session() as session:
        delete_subscription(session, subscription_id)


@api_router.delete("/subscriptions/{subscription_id}", status_code=204, responses=_API_ERRORS)
async def delete_subscription_route(
    request: Request, subscription_id: _Id, principal: Annotated[Principal, Depends(require_principal)]
) -> Response:
    """Remove the subscription (nothing more is sent to it)."""
    check_known(request.query_params.keys(), ())
    await asyncio.to_thread(_delete, request, principal, subscription_id)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
