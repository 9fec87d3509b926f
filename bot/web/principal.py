"""Who is asking, and the checks every self-service route and form shares.

The read side (search, lists, filings, feeds, insights) is public unless ``web.auth`` says
otherwise. The self-service side (subscriptions, webhook endpoints, the operator console and
their JSON API) acts for someone: a ``Principal``, set on the ASGI scope by the access layer
before any route runs and read by the dependencies below.

- ``operator``: everything (every subscriber, endpoint, destination, incident). The operator of
  ``web.auth`` (its password or token, from the environment) has no account row
  (``user_id`` None); an account with the operator role has one.
- ``member``: their own subscriptions and endpoints only. A route that reads or changes a record
  owned by someone passes it through ``check_owner``, so the rule is written once.

Every answer that depends on who asks is ``private_json`` / ``private_html``: ``Cache-Control:
no-store``, which the answer cache (``bot.web.answers``) never keeps, so one person's answer can
never be served to another.

Forms (``POST`` from a page) carry a CSRF token: ``csrf_token(request)`` gives the token to put
in the form and ``check_csrf(request, value)`` refuses a POST whose token is missing or wrong.
The token is an HMAC, under this installation's key (``web_secrets``), of a random value held in
a ``SameSite=Strict`` cookie (double submit, signed): a page on another site can neither read
the cookie nor make the HMAC. ``with_csrf_cookie`` sets the cookie on the answer that carried
the form when the browser did not have one yet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

__all__ = [
    "Principal",
    "Role",
    "OPERATOR",
    "SCOPE_KEY",
    "set_principal",
    "principal_in",
    "principal_of",
    "require_principal",
    "require_operator",
    "check_owner",
    "private_json",
    "private_html",
    "private_redirect",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "csrf_token",
    "check_csrf",
    "with_csrf_cookie",
]

Role = Literal["operator", "member"]

# Where the access layer leaves the principal on the ASGI scope (Starlette copies the scope
# into request.scope, so routes, dependencies and middleware all see the same one).
SCOPE_KEY = "cacwatch.principal"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    # The account's row id; None for the operator of web.auth (credentials from config).
    user_id: int | None
    # Shown in pages and logs: the account's name or email, "operator" for web.auth.
    name: str
    # How they proved it: web.auth credentials, a session cookie, a personal API token, or a
    # trusted reverse proxy's header.
    via: Literal["auth", "session", "token", "proxy"]

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


OPERATOR = Principal(role="operator", user_id=None, name="operator", via="auth")


def set_principal(scope: Scope, principal: Principal | None) -> None:
    scope[SCOPE_KEY] = principal


def principal_in(scope: Scope) -> Principal | None:
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, Principal) else None


def principal_of(request: Request) -> Principal | None:
    """The principal the access layer found for this request, or None (anonymous)."""
    return principal_in(request.scope)


def require_principal(request: Request) -> Principal:
    """FastAPI dependency: any signed-in principal (member or operator), else 401."""
    principal = principal_of(request)
    if principal is None:
        raise HTTPException(401, "authentication required: sign in, or send Authorization: Bearer <token>")
    return principal


def require_operator(request: Request) -> Principal:
    """FastAPI dependency: the operator, else 401 (anonymous) or 403 (a member)."""
    principal = require_principal(request)
    if not principal.is_operator:
        raise HTTPException(403, "this needs the operator role")
    return principal


def check_owner(principal: Principal, owner_user_id: int | None) -> None:
    """A member may touch only records they own; the operator may touch all. A record a member
    may not see answers 404 (not 403): whether it exists is not theirs to learn."""
    if principal.is_operator:
        return
    if owner_user_id is None or owner_user_id != principal.user_id:
        raise HTTPException(404, "not found")


_PRIVATE = {"Cache-Control": "no-store", "Vary": "Authorization, Cookie"}


def private_json(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer that depends on who asked: never kept by a cache."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status_code, media_type="application/json", headers={**_PRIVATE, **(headers or {})})


def private_html(body: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A page that depends on who asked (or holds a token or a form's CSRF value): never kept."""
    return Response(body, status_code=status_code, media_type="text/html; charset=utf-8", headers={**_PRIVATE, **(headers or {})})


def private_redirect(location: str) -> Response:
    """"See other" after a form or towards sign-in: never kept by a cache (it follows who asked)."""
    from starlette.responses import RedirectResponse

    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


CSRF_COOKIE = "cacwatch_csrf"
CSRF_FIELD = "csrf_token"
_NEW_NONCE = "cacwatch.csrf_new"


def _csrf_key(request: Request) -> bytes:
    from bot.web.app import web_state_of

    return web_state_of(request.app).corpus.web_secret("csrf")


def _sign(key: bytes, nonce: str) -> str:
    return hmac.new(key, b"csrf:" + nonce.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def _nonce_of(request: Request) -> str | None:
    nonce = request.cookies.get(CSRF_COOKIE, "")
    # 32 random bytes as URL-safe base64: 43 characters; anything else is not ours.
    if len(nonce) != 43 or not all(c.isalnum() or c in "-_" for c in nonce):
        return None
    return nonce


def csrf_token(request: Request) -> str:
    """The token a form on this page carries. Makes the browser's nonce when it has none (the
    answer must then go through ``with_csrf_cookie``)."""
    nonce = _nonce_of(request) or request.scope.get(_NEW_NONCE)
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(32)
        request.scope[_NEW_NONCE] = nonce
    return _sign(_csrf_key(request), nonce)


def with_csrf_cookie(request: Request, response: Response) -> Response:
    """Sets the CSRF cookie when ``csrf_token`` made a new nonce for this request."""
    nonce = request.scope.get(_NEW_NONCE)
    if isinstance(nonce, str):
        secure = request.url.scheme == "https"
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/")
    return response


def check_csrf(request: Request, value: str | None) -> None:
    """Refuses (403) a form POST whose CSRF token is missing or does not match the cookie."""
    nonce = _nonce_of(request)
    if nonce is None or not value or len(value) != 64:
        raise HTTPException(403, "the form expired or came from another site: reload the page and try again")
    if not hmac.compare_digest(value, _sign(_csrf_key(request), nonce)):
        raise HTTPException(403, "the form expired or came from another site: reload the page and try again")
