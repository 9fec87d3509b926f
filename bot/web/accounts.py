"""Accounts in the browser and the API: ``/signin``, ``/signout``, ``/account``,
``/account/tokens``, ``/api/v1/tokens`` and ``/api/v1/users``.

- ``/signin`` (GET form, POST with the CSRF token): slowed per client and per account
  (``web.sessions.client_failures`` / ``account_failures`` wrong passwords within
  ``failure_window`` give 429 with Retry-After), one message for an unknown address and a wrong
  password, the same Argon2 work either way. A successful sign-in always makes a new session (the
  cookie's old value, if any, is ended and never becomes the session: no fixation); the cookie
  is HttpOnly, SameSite=Lax, Secure when the request or ``web.public_url`` is https.
- ``/signout``: POST with the CSRF token; ends the session.
- ``/account``: a member's home (links to their subscriptions, endpoints, API tokens; the console
  for operators). ``/account/tokens``: make a token (shown once), list, revoke.
- ``/api/v1/tokens`` (GET, POST, DELETE ``/{id}``): one's own tokens. ``/api/v1/users`` (operator:
  GET, POST, PATCH ``/{id}`` ``{"disabled": …}``): the accounts.

Every answer is private (``no-store``); the rules themselves are ``bot.web.users``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bot.web import users as accounts
from bot.web.access import SESSION_COOKIE, SIGNIN_PATH
from bot.web.forms import bounded_json_body, field, read_form
from bot.web.http import FailedAttempts, client_of
from bot.web.principal import (
    CSRF_FIELD,
    Principal,
    check_csrf,
    csrf_token,
    principal_of,
    private_html,
    private_json,
    private_redirect,
    require_operator,
    require_principal,
    with_csrf_cookie,
)
from bot.web.render import render
from bot.web.state import web_state
from storage.db import Database

__all__ = ["page_router", "api_router", "SignInLimits", "signed_in_or_redirect", "page", "ERRORS", "RowId"]

log = logging.getLogger(__name__)

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[Depends(bounded_json_body)])

# Row ids in paths: positive and within the database's integer.
RowId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]


_GENERIC = "邮箱或密码错误 · Wrong email or password"


class SignInLimits:
    """Wrong passwords per client address and per account (the address typed, known or not)."""

    def __init__(self, client_limit: int, account_limit: int, window: float) -> None:
        self.clients = FailedAttempts(client_limit, window)
        self.accounts = FailedAttempts(account_limit, window)

    def wait(self, client: str, email: str) -> int | None:
        waits = [w for w in (self.clients.retry_after(client), self.accounts.retry_after(email)) if w is not None]
        return max(waits) if waits else None

    def failed(self, client: str, email: str) -> None:
        self.clients.failed(client)
        self.accounts.failed(email)


def _db(request: Request) -> Database:
    return web_state(request).corpus.db


def _limits(request: Request) -> SignInLimits:
    found = getattr(request.app.state, "signin_limits", None)
    if not isinstance(found, SignInLimits):
        sessions = web_state(request).web.sessions
        found = SignInLimits(sessions.client_failures, sessions.account_failures, sessions.failure_window)
        request.app.state.signin_limits = found
    return found


def _secure(request: Request) -> bool:
    public = web_state(request).web.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A private page carrying the CSRF token ``csrf`` for its forms (and its cookie when new)."""
    body = render(template, request_path=request.url.path, csrf=csrf_token(request), **context).decode("utf-8")
    return with_csrf_cookie(request, private_html(body, status_code=status))


def _safe_next(value: str) -> str:
    # Only a path of this site: never //host or a scheme (no open redirect).
    # Browsers drop tabs and newlines inside URLs ("/\t/evil" becomes "//evil"): none allowed.
    clean = all(c.isprintable() and not c.isspace() for c in value)
    if clean and value.startswith("/") and not value.startswith("//") and "\\" not in value and len(value) <= 500:
        return value
    return "/account"


def signed_in_or_redirect(request: Request) -> Principal | Response:
    """The principal of a page that needs one, or the redirect to /signin that comes back here."""
    principal = principal_of(request)
    if principal is not None:
        return principal
    from urllib.parse import urlencode

    return private_redirect(f"{SIGNIN_PATH}?{urlencode({'next': request.url.path})}")


# --- /signin, /signout -------------------------------------------------------------------------


@page_router.get(SIGNIN_PATH)
def signin_form(request: Request) -> Response:
    principal = principal_of(request)
    next_path = _safe_next(request.query_params.get("next", "/account"))
    return page(request, "signin.html", title="登录 Sign in", message="", email="", next=next_path,
                signed_in=principal.name if principal else "")


@page_router.post(SIGNIN_PATH)
async def signin(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get(CSRF_FIELD))
    email = field(form, "email", limit=accounts.MAX_EMAIL)
    password = field(form, "password", limit=accounts.MAX_PASSWORD)
    next_path = _safe_next(field(form, "next", limit=500))
    client, key = client_of(request.scope), email.strip().lower()
    limits = _limits(request)
    wait = limits.wait(client, key)
    if wait is not None:
        response = page(request, "signin.html", 429, title="登录 Sign in", email=email, next=next_path, signed_in="",
                        message=f"尝试次数过多，请 {wait} 秒后再试 · Too many attempts: try again in {wait} s")
        response.headers["Retry-After"] = str(wait)
        return response
    db = _db(request)
    account = await anyio.to_thread.run_sync(accounts.authenticate, db, email, password)
    if account is None:
        limits.failed(client, key)
        log.info("sign-in refused (client %s)", client or "?")
        return page(request, "signin.html", 401, title="登录 Sign in", email=email, next=next_path, signed_in="", message=_GENERIC)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await anyio.to_thread.run_sync(accounts.end_session, db, old)
    sessions = web_state(request).web.sessions
    token = await anyio.to_thread.run_sync(lambda: accounts.start_session(db, account.id, lifetime=sessions.lifetime))
    log.info("signed in: account %d", account.id)
    response = private_redirect(next_path)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(sessions.lifetime), httponly=True, samesite="lax",
                        secure=_secure(request), path="/")
    return response


@page_router.post("/signout")
async def signout(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get(CSRF_FIELD))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await anyio.to_thread.run_sync(accounts.end_session, _db(request), token)
    response = private_redirect(SIGNIN_PATH)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response


# --- /account, /account/tokens -----------------------------------------------------------------


def _account_of(db: Database, principal: Principal) -> accounts.Account | None:
    if principal.user_id is None:
        return None
    return accounts.account_by_id(db, principal.user_id)


@page_router.get("/account")
async def account_page(request: Request) -> Response:
    who = signed_in_or_redirect(request)
    if isinstance(who, Response):
        return who
    account = await anyio.to_thread.run_sync(_account_of, _db(request), who)
    return page(request, "account.html", title="账户 Account", who=who, account=account)


async def _tokens_page(request: Request, who: Principal, status: int = 200, **context: Any) -> Response:
    if who.user_id is None:
        raise HTTPException(404, "the operator of web.auth has no account, so no API tokens: use `cacwatch users add`")
    user_id = who.user_id
    tokens = await anyio.to_thread.run_sync(accounts.list_tokens, _db(request), user_id)
    context.setdefault("message", "")
    context.setdefault("new_token", None)
    return page(request, "tokens.html", status, title="API 令牌 API tokens", tokens=tokens, **context)


@page_router.get("/account/tokens")
async def tokens_page(request: Request) -> Response:
    who = signed_in_or_redirect(request)
    if isinstance(who, Response):
        return who
    return await _tokens_page(request, who)


@page_router.post("/account/tokens")
async def tokens_create(request: Request) -> Response:
    who = require_principal(request)
    form = await read_form(request)
    check_csrf(request, form.get(CSRF_FIELD))
    name = field(form, "name", limit=accounts.MAX_TOKEN_NAME)
    if who.user_id is None:
        return await _tokens_page(request, who)
    user_id = who.user_id
    try:
        made = await anyio.to_thread.run_sync(accounts.create_token, _db(request), user_id, name)
    except ValueError as err:
        return await _tokens_page(request, who, 400, message=str(err))
    log.info("API token %d made for account %d", made.info.id, user_id)
    return await _tokens_page(request, who, 201, new_token=made)


@page_router.post("/account/tokens/{token_id}/revoke")
async def tokens_revoke(request: Request, token_id: RowId) -> Response:
    who = require_principal(request)
    form = await read_form(request)
    check_csrf(request, form.get(CSRF_FIELD))
    if who.user_id is None or not await anyio.to_thread.run_sync(accounts.revoke_token, _db(request), who.user_id, token_id):
        raise HTTPException(404, "not found")
    return private_redirect("/account/tokens")


# --- JSON API ----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _token_json(info: accounts.TokenInfo) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "prefix": info.prefix, "created_at": _iso(info.created_at),
            "last_used_at": _iso(info.last_used_at), "revoked_at": _iso(info.revoked_at)}


def _user_json(account: accounts.Account) -> dict[str, Any]:
    return {"id": account.id, "email": account.email, "name": account.name, "role": account.role,
            "disabled": account.disabled, "created_at": _iso(account.created_at),
            "last_sign_in_at": _iso(account.last_sign_in_at)}


def _own_account(principal: Principal) -> int:
    if principal.user_id is None:
        raise HTTPException(400, "the operator of web.auth has no account, so no API tokens: use `cacwatch users add`")
    return principal.user_id


class TokenModel(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart")
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class NewTokenModel(TokenModel):
    token: str = Field(description="The secret: shown in this answer only, never again")


class TokensModel(BaseModel):
    items: list[TokenModel]


class UserModel(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["operator", "member"]
    disabled: bool
    created_at: str | None
    last_sign_in_at: str | None


class UsersModel(BaseModel):
    items: list[UserModel]


def _error(description: str) -> dict[str, Any]:
    from bot.web.models import ErrorModel

    return {"model": ErrorModel, "description": description}


# What every self-service route may answer besides its success (documented for tools and fuzzers).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("A bad parameter or body"),
    401: _error("No valid credentials (a personal API token, web.auth's, or a session)"),
    403: _error("The operator role is needed, or a signed-in browser's POST was not JSON"),
    404: _error("Unknown, or not yours"),
    409: _error("Conflicts with what exists"),
    411: _error("The body needs a Content-Length"),
    413: _error("The body is too large"),
}


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=accounts.MAX_TOKEN_NAME, pattern=accounts.NAME_PATTERN, description="What the token is for")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=accounts.MAX_EMAIL, pattern=accounts.EMAIL_PATTERN)
    role: Literal["operator", "member"] = "member"
    name: str = Field(default="", max_length=accounts.MAX_NAME, pattern=accounts.TEXT_PATTERN)
    # None: an account that signs in only through web.proxy_auth.
    password: str | None = Field(default=None, min_length=accounts.MIN_PASSWORD, max_length=accounts.MAX_PASSWORD)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: bool


@api_router.get("/tokens", response_model=None, responses={200: {"model": TokensModel}, **ERRORS}, summary="Your personal API tokens (prefixes only)")
async def api_tokens(request: Request, principal: Principal = Depends(require_principal)) -> Response:
    # A web.auth operator has no account: no tokens to list.
    user_id = principal.user_id
    items = [] if user_id is None else await anyio.to_thread.run_sync(accounts.list_tokens, _db(request), user_id)
    return private_json({"items": [_token_json(t) for t in items]})


@api_router.post("/tokens", status_code=201, response_model=None, responses={201: {"model": NewTokenModel}, **ERRORS}, summary="Make a personal API token (its secret is in this answer only)")
async def api_token_create(request: Request, body: TokenIn, principal: Principal = Depends(require_principal)) -> Response:
    user_id = _own_account(principal)
    try:
        made = await anyio.to_thread.run_sync(accounts.create_token, _db(request), user_id, body.name)
    except accounts.TooManyTokens as err:
        raise HTTPException(409, str(err)) from None
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    log.info("API token %d made for account %d", made.info.id, user_id)
    return private_json({**_token_json(made.info), "token": made.secret}, status_code=201)


@api_router.delete("/tokens/{token_id}", status_code=204, response_model=None, responses={204: {"description": "Revoked"}, **ERRORS}, summary="Revoke one of your tokens")
async def api_token_revoke(request: Request, token_id: RowId, principal: Principal = Depends(require_principal)) -> Response:
    user_id = _own_account(principal)
    if not await anyio.to_thread.run_sync(accounts.revoke_token, _db(request), user_id, token_id):
        raise HTTPException(404, "not found")
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


@api_router.get("/users", response_model=None, responses={200: {"model": UsersModel}, **ERRORS}, summary="Every account (operator)")
async def api_users(request: Request, principal: Principal = Depends(require_operator)) -> Response:
    users = await anyio.to_thread.run_sync(accounts.list_users, _db(request))
    return private_json({"items": [_user_json(u) for u in users]})


@api_router.post("/users", status_code=201, response_model=None, responses={201: {"model": UserModel}, **ERRORS}, summary="Add an account (operator)")
async def api_user_add(request: Request, body: UserIn, principal: Principal = Depends(require_operator)) -> Response:
    try:
        account = await anyio.to_thread.run_sync(
            lambda: accounts.add_user(_db(request), body.email, role=body.role, password=body.password, name=body.name)
        )
    except accounts.AccountExists as err:
        raise HTTPException(409, str(err)) from None
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    return private_json(_user_json(account), status_code=201)


@api_router.patch("/users/{user_id}", response_model=None, responses={200: {"model": UserModel}, **ERRORS}, summary="Disable or enable an account (operator)")
async def api_user_patch(request: Request, user_id: RowId, body: UserPatch, principal: Principal = Depends(require_operator)) -> Response:
    if body.disabled and principal.user_id == user_id:
        raise HTTPException(409, "you cannot disable your own account")
    try:
        account = await anyio.to_thread.run_sync(accounts.set_disabled, _db(request), user_id, body.disabled)
    except LookupError:
        raise HTTPException(404, "not found") from None
    return private_json(_user_json(account))
