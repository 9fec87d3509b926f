"""bot.web.accounts and bot.web.access: sign-in and sign-out, session fixation, brute force
slowed, CSRF refused, roles, personal API tokens shown once and stored as hashes, the trusted
proxy header, web.auth with member credentials. In process (httpx's ASGI transport, with the
client address chosen per test), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.web import users as accounts
from bot.settings.config import ProxyAuthSettings, SessionSettings, WebAuthSettings, WebSettings
from bot.web.access import SESSION_COOKIE
from bot.web.principal import CSRF_COOKIE

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "another long password"


def _app(database: Any, **web: Any) -> Any:
    from bot.web.app import create_app

    return create_app(database, web=WebSettings(cache_mb=1, **web), refresh_in_child=False)


def _run(app: Any, steps: Callable[[httpx.AsyncClient], Awaitable[Any]], client: tuple[str, int] = ("127.0.0.1", 50000),
         base_url: str = "http://test") -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            return await steps(http)

    return asyncio.run(go())


async def _csrf(http: httpx.AsyncClient, path: str = "/signin") -> str:
    page = await http.get(path)
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


async def _sign_in(http: httpx.AsyncClient, email: str, password: str, **extra: str) -> httpx.Response:
    token = await _csrf(http)
    return await http.post("/signin", data={"csrf_token": token, "email": email, "password": password, **extra})


def _plant(http: httpx.AsyncClient, value: str) -> None:
    """A session cookie put in the browser by someone else (the domain the app's own cookies get)."""
    http.cookies.set(SESSION_COOKIE, value, domain="test.local")


def _stored(database: Any, table: str) -> list[tuple[Any, ...]]:
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]


def test_sign_in_account_page_and_sign_out(database: Any) -> None:
    member = accounts.add_user(database, "Ada@Example.org", role="member", password=PASSWORD, name="Ada")
    assert member.email == "ada@example.org"  # stored lower-cased
    app = _app(database)

    async def steps(http: httpx.AsyncClient) -> dict[str, Any]:
        r: dict[str, Any] = {"anonymous": await http.get("/account")}
        r["wrong"] = await _sign_in(http, "ada@example.org", "not the password")
        r["unknown"] = await _sign_in(http, "nobody@example.org", PASSWORD)
        r["good"] = await _sign_in(http, "ADA@example.org", PASSWORD)
        r["cookie"] = http.cookies.get(SESSION_COOKIE)
        r["account"] = await http.get("/account")
        r["signout_page"] = await _csrf(http, "/account")
        r["signout"] = await http.post("/signout", data={"csrf_token": r["signout_page"]})
        r["after"] = await http.get("/account")
        _plant(http, r["cookie"])  # the old cookie, kept by someone
        r["replayed"] = await http.get("/account")
        return r

    r = _run(app, steps)
    assert r["anonymous"].status_code == 303 and r["anonymous"].headers["location"] == "/signin?next=%2Faccount"
    assert r["wrong"].status_code == r["unknown"].status_code == 401
    assert "Wrong email or password" in r["wrong"].text and "Wrong email or password" in r["unknown"].text
    assert SESSION_COOKIE not in r["wrong"].headers.get("set-cookie", "")
    good = r["good"]
    assert good.status_code == 303 and good.headers["location"] == "/account"
    set_cookie = good.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" not in set_cookie
    account = r["account"]
    assert account.status_code == 200 and "ada@example.org" in account.text and "/account/tokens" in account.text
    assert account.headers["cache-control"] == "no-store"
    assert "/console" not in account.text  # a member
    assert r["signout"].status_code == 303
    assert r["after"].status_code == 303 and r["replayed"].status_code == 303  # the session ended for good
    # Only the SHA-256 of the cookie's value was ever stored, and the row is gone now.
    assert _stored(database, "user_sessions") == []
    (user,) = _stored(database, "users")
    assert PASSWORD not in repr(user) and "$argon2id$" in repr(user)


def test_session_cookie_is_secure_over_https(database: Any) -> None:
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    answer = _run(_app(database), lambda http: _sign_in(http, "ada@example.org", PASSWORD), base_url="https://test")
    assert answer.status_code == 303 and "secure" in answer.headers["set-cookie"].lower()
    public = _app(database, public_url="https://cac.example.org")
    answer = _run(public, lambda http: _sign_in(http, "ada@example.org", PASSWORD))
    assert "secure" in answer.headers["set-cookie"].lower()


def test_session_fixation_a_planted_cookie_never_becomes_the_session(database: Any) -> None:
    accounts.add_user(database, "victim@example.org", role="member", password=PASSWORD, name="Victim")
    accounts.add_user(database, "mallory@example.org", role="member", password=OTHER_PASSWORD, name="Mallory")
    app = _app(database)

    async def attacker(http: httpx.AsyncClient) -> str:
        assert (await _sign_in(http, "mallory@example.org", OTHER_PASSWORD)).status_code == 303
        value = http.cookies.get(SESSION_COOKIE)
        assert value
        return value

    planted_valid = _run(app, attacker)
    planted_made_up = "A" * 43

    async def victim(http: httpx.AsyncClient) -> dict[str, Any]:
        r = {}
        for name, planted in (("valid", planted_valid), ("made_up", planted_made_up)):
            http.cookies.clear()
            _plant(http, planted)
            await _sign_in(http, "victim@example.org", PASSWORD)
            r[name] = http.cookies.get(SESSION_COOKIE)
        http.cookies.clear()
        for name, planted in (("valid", planted_valid), ("made_up", planted_made_up)):
            _plant(http, planted)
            r[f"{name}_after"] = await http.get("/account")
        _plant(http, r["made_up"])
        r["victims_own"] = await http.get("/account")
        return r

    r = _run(app, victim)
    assert r["valid"] and r["valid"] != planted_valid
    assert r["made_up"] and r["made_up"] != planted_made_up
    # The planted values are no session at all (the attacker's own was ended at the victim's sign-in).
    assert r["valid_after"].status_code == 303 and r["made_up_after"].status_code == 303
    assert r["victims_own"].status_code == 200 and "victim@example.org" in r["victims_own"].text


def test_brute_force_is_slowed_per_account_and_per_client(database: Any) -> None:
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    app = _app(database, sessions=SessionSettings(account_failures=3, client_failures=5, failure_window=600))

    async def guesses(http: httpx.AsyncClient) -> list[httpx.Response]:
        return [await _sign_in(http, "ada@example.org", f"guess number {i}") for i in range(3)] + [
            await _sign_in(http, "ada@example.org", PASSWORD)
        ]

    answers = _run(app, guesses, client=("10.0.0.1", 1000))
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    locked = answers[3]
    assert locked.status_code == 429 and 1 <= int(locked.headers["retry-after"]) <= 600  # even the right password
    # Another client cannot go on guessing this account either.
    other = _run(app, lambda http: _sign_in(http, "ada@example.org", PASSWORD), client=("10.0.0.2", 1000))
    assert other.status_code == 429

    async def spray(http: httpx.AsyncClient) -> list[int]:  # one client, many accounts
        return [(await _sign_in(http, f"user{i}@example.org", "some wrong pass")).status_code for i in range(6)]

    assert _run(app, spray, client=("10.0.0.3", 1000)) == [401] * 5 + [429]


def test_forms_without_a_good_csrf_token_are_refused(database: Any) -> None:
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    app = _app(database)

    async def steps(http: httpx.AsyncClient) -> dict[str, httpx.Response]:
        r = {"signin_missing": await http.post("/signin", data={"email": "ada@example.org", "password": PASSWORD})}
        await http.get("/signin")
        r["signin_forged"] = await http.post("/signin", data={"csrf_token": "f" * 64, "email": "ada@example.org", "password": PASSWORD})
        assert (await _sign_in(http, "ada@example.org", PASSWORD)).status_code == 303
        r["token_missing"] = await http.post("/account/tokens", data={"name": "ci"})
        r["signout_missing"] = await http.post("/signout", data={"next": "/"})
        r["still_in"] = await http.get("/account")
        # A token from another browser's cookie does not fit this one.
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        async with other:
            foreign = await _csrf(other)
        r["signout_foreign"] = await http.post("/signout", data={"csrf_token": foreign})
        r["tokens"] = await http.get("/account/tokens")
        return r

    r = _run(app, steps)
    for name in ("signin_missing", "signin_forged", "token_missing", "signout_missing", "signout_foreign"):
        assert r[name].status_code == 403, name
    assert r["still_in"].status_code == 200
    assert "<td>ci</td>" not in r["tokens"].text  # nothing was made
    assert _stored(database, "api_tokens") == []


def test_tokens_in_the_browser_are_shown_once_and_stored_as_hashes(database: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    app = _app(database)

    async def steps(http: httpx.AsyncClient) -> dict[str, Any]:
        await _sign_in(http, "ada@example.org", PASSWORD)
        csrf = await _csrf(http, "/account/tokens")
        made = await http.post("/account/tokens", data={"csrf_token": csrf, "name": "CI sync <b>"})
        secret = re.search(r'<code id="new-token">(cw_[A-Za-z0-9_-]{43})</code>', made.text)
        assert secret is not None, made.text
        r = {"made": made, "secret": secret.group(1), "list": await http.get("/account/tokens")}
        bearer = {"Authorization": f"Bearer {r['secret']}"}
        http.cookies.clear()
        r["api_with_token"] = await http.get("/api/v1/tokens", headers=bearer)
        r["account_with_token"] = await http.get("/account", headers=bearer)
        await _sign_in(http, "ada@example.org", PASSWORD)
        csrf = await _csrf(http, "/account/tokens")
        token_id = r["api_with_token"].json()["items"][0]["id"]
        r["revoke"] = await http.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
        http.cookies.clear()
        r["after_revoke"] = await http.get("/api/v1/tokens", headers=bearer)
        return r

    r = _run(app, steps)
    secret = r["secret"]
    assert r["made"].status_code == 201 and r["made"].headers["cache-control"] == "no-store"
    assert "CI sync &lt;b&gt;" in r["made"].text  # escaped
    assert secret not in r["list"].text and secret[:11] in r["list"].text  # the prefix only, afterwards
    items = r["api_with_token"].json()["items"]
    assert r["api_with_token"].status_code == 200 and items[0]["prefix"] == secret[:11]
    assert secret not in r["api_with_token"].text
    assert r["account_with_token"].status_code == 200
    assert r["revoke"].status_code == 303
    assert r["after_revoke"].status_code == 401
    rows = _stored(database, "api_tokens")
    assert len(rows) == 1 and secret not in repr(rows) and accounts.digest(secret) in repr(rows)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged and PASSWORD not in logged and secret[3:20] not in logged


def test_token_api_and_roles(database: Any) -> None:
    accounts.add_user(database, "op@example.org", role="operator", password=PASSWORD)
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    op_token = accounts.create_token(database, accounts.user_by_email(database, "op@example.org").id, "ops").secret  # type: ignore[union-attr]
    app = _app(database)

    async def steps(http: httpx.AsyncClient) -> dict[str, Any]:
        r: dict[str, Any] = {"anonymous": await http.get("/api/v1/tokens")}
        await _sign_in(http, "ada@example.org", PASSWORD)
        # A browser session's API POST must be JSON (a cross-site form cannot send that).
        r["form_post"] = await http.post("/api/v1/tokens", data={"name": "x"})
        r["made"] = await http.post("/api/v1/tokens", json={"name": "laptop"})
        r["too_long"] = await http.post("/api/v1/tokens", json={"name": "x" * 101})
        r["extra"] = await http.post("/api/v1/tokens", json={"name": "x", "user_id": 1})
        member = {"Authorization": f"Bearer {r['made'].json()['token']}"}
        http.cookies.clear()
        r["member_users"] = await http.get("/api/v1/users", headers=member)
        r["member_add"] = await http.post("/api/v1/users", headers=member, json={"email": "x@example.org"})
        operator = {"Authorization": f"Bearer {op_token}"}
        r["users"] = await http.get("/api/v1/users", headers=operator)
        r["add"] = await http.post("/api/v1/users", headers=operator, json={"email": "New@Example.org", "role": "member", "password": OTHER_PASSWORD})
        r["dupe"] = await http.post("/api/v1/users", headers=operator, json={"email": "new@example.org"})
        r["short"] = await http.post("/api/v1/users", headers=operator, json={"email": "b@example.org", "password": "short"})
        ada_id = next(u["id"] for u in r["users"].json()["items"] if u["email"] == "ada@example.org")
        # The operator cannot revoke a member's token through their own token list: it is not theirs.
        ada_token_id = r["made"].json()["id"]
        r["op_revoke_other"] = await http.delete(f"/api/v1/tokens/{ada_token_id}", headers=operator)
        r["disable"] = await http.patch(f"/api/v1/users/{ada_id}", headers=operator, json={"disabled": True})
        r["member_after_disable"] = await http.get("/api/v1/tokens", headers=member)
        r["signin_disabled"] = await _sign_in(http, "ada@example.org", PASSWORD)
        r["enable"] = await http.patch(f"/api/v1/users/{ada_id}", headers=operator, json={"disabled": False})
        r["member_after_enable"] = await http.get("/api/v1/tokens", headers=member)
        r["revoke"] = await http.delete(f"/api/v1/tokens/{ada_token_id}", headers=member)
        r["revoked_again"] = await http.delete(f"/api/v1/tokens/{ada_token_id}", headers=operator)
        r["member_after_revoke"] = await http.get("/api/v1/tokens", headers=member)
        return r

    r = _run(app, steps)
    assert r["anonymous"].status_code == 401 and r["anonymous"].json() == {"error": "authentication required: sign in, or send Authorization: Bearer <token>"}
    assert r["form_post"].status_code == 403
    assert r["made"].status_code == 201 and r["made"].json()["token"].startswith("cw_")
    assert r["too_long"].status_code == 400 and r["extra"].status_code == 400
    assert r["member_users"].status_code == 403 and r["member_add"].status_code == 403
    assert r["users"].status_code == 200 and {u["email"] for u in r["users"].json()["items"]} == {"op@example.org", "ada@example.org"}
    assert r["add"].status_code == 201 and r["add"].json()["email"] == "new@example.org"
    assert r["dupe"].status_code == 409 and r["short"].status_code == 400
    assert r["op_revoke_other"].status_code == 404
    assert r["disable"].status_code == 200 and r["disable"].json()["disabled"] is True
    assert r["member_after_disable"].status_code == 401 and r["signin_disabled"].status_code == 401
    assert r["enable"].status_code == 200 and r["member_after_enable"].status_code == 200
    assert r["revoke"].status_code == 204 and r["revoked_again"].status_code == 404
    assert r["member_after_revoke"].status_code == 401
    for name in ("made", "users", "add"):
        assert r[name].headers["cache-control"] == "no-store"


def test_web_auth_counts_member_credentials_and_leaves_signin_open(database: Any) -> None:
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    token = accounts.create_token(database, accounts.user_by_email(database, "ada@example.org").id, "t").secret  # type: ignore[union-attr]
    app = _app(database, auth=WebAuthSettings(token="w" * 32))

    async def steps(http: httpx.AsyncClient) -> dict[str, httpx.Response]:
        r = {"anonymous": await http.get("/api/v1/lists"), "signin": await http.get("/signin"), "page": await http.get("/account")}
        r["with_token"] = await http.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"})
        r["operator"] = await http.get("/api/v1/users", headers={"Authorization": f"Bearer {'w' * 32}"})
        r["signed_in"] = await _sign_in(http, "ada@example.org", PASSWORD)
        r["with_session"] = await http.get("/")
        return r

    r = _run(app, steps)
    assert r["anonymous"].status_code == 401 and r["anonymous"].json() == {"error": "authentication required"}
    assert r["signin"].status_code == 200
    assert r["page"].status_code == 401 and "sign in at /signin" in r["page"].text
    assert r["with_token"].status_code == 200
    assert r["operator"].status_code == 200
    assert r["signed_in"].status_code == 303 and r["with_session"].status_code == 200


def test_trusted_proxy_header_only_from_trusted_peers(database: Any) -> None:
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    proxy = ProxyAuthSettings(header="X-Forwarded-Email", trusted=["10.1.0.0/24"])
    app = _app(database, proxy_auth=proxy)
    ada = {"X-Forwarded-Email": "Ada@example.org"}
    assert _run(app, lambda http: http.get("/api/v1/tokens", headers=ada), client=("10.1.0.7", 1)).status_code == 200
    assert _run(app, lambda http: http.get("/api/v1/tokens", headers=ada), client=("10.2.0.7", 1)).status_code == 401
    stranger = {"X-Forwarded-Email": "new@example.org"}
    assert _run(app, lambda http: http.get("/api/v1/tokens", headers=stranger), client=("10.1.0.7", 1)).status_code == 401
    assert accounts.user_by_email(database, "new@example.org") is None
    creating = _app(database, proxy_auth=ProxyAuthSettings(trusted=["10.1.0.0/24"], create_members=True))
    assert _run(creating, lambda http: http.get("/account", headers=stranger), client=("10.1.0.7", 1)).status_code == 200
    made = accounts.user_by_email(database, "new@example.org")
    assert made is not None and made.role == "member" and not made.has_password


def test_form_inputs_are_bounded(database: Any) -> None:
    app = _app(database)

    async def steps(http: httpx.AsyncClient) -> list[httpx.Response]:
        token = await _csrf(http)
        return [
            await http.post("/signin", data={"csrf_token": token, "email": "a" * 300 + "@example.org", "password": "x"}),
            await http.post("/signin", data={"csrf_token": token, "email": "a@example.org", "password": "x" * 20000}),
            await http.post("/signin", data={"csrf_token": token, **{f"f{i}": "1" for i in range(40)}}),
            await http.post("/signin", content=b"{}", headers={"Content-Type": "application/json"}),
        ]

    long_email, huge, many, not_a_form = _run(app, steps)
    assert long_email.status_code == 400 and "email" in long_email.text
    assert huge.status_code == 413
    assert many.status_code == 400
    assert not_a_form.status_code == 415


def test_sign_in_returns_only_to_a_path_of_this_site(database: Any) -> None:
    accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    app = _app(database)

    async def steps(http: httpx.AsyncClient) -> list[str]:
        places = []
        for wanted in ("/account/tokens", "//evil.example/", "/\t/evil.example/", "https://evil.example/", "/\\evil.example"):
            http.cookies.clear()
            answer = await _sign_in(http, "ada@example.org", PASSWORD, next=wanted)
            places.append(answer.headers["location"])
        return places

    assert _run(app, steps) == ["/account/tokens", "/account", "/account", "/account", "/account"]


def test_sessions_end_when_idle_or_expired(database: Any) -> None:
    from datetime import datetime, timedelta, timezone

    ada = accounts.add_user(database, "ada@example.org", role="member", password=PASSWORD)
    idle_one = accounts.start_session(database, ada.id, lifetime=86400)
    expired_one = accounts.start_session(database, ada.id, lifetime=86400)
    fresh = accounts.start_session(database, ada.id, lifetime=86400)
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    with database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE user_sessions SET last_seen_at = :t WHERE token_hash = :h"),
                           {"t": past, "h": accounts.digest(idle_one)})
        connection.execute(sa.text("UPDATE user_sessions SET expires_at = :t WHERE token_hash = :h"),
                           {"t": past, "h": accounts.digest(expired_one)})
    assert accounts.session_identity(database, idle_one, idle=3600) is None
    assert accounts.session_identity(database, expired_one, idle=3600) is None
    found = accounts.session_identity(database, fresh, idle=3600)
    assert found is not None and found.user_id == ada.id
    assert len(_stored(database, "user_sessions")) == 1  # the ended ones are gone
    # Through the app: an idle session is no session.
    app = _app(database, sessions=SessionSettings(idle=1))

    async def steps(http: httpx.AsyncClient) -> httpx.Response:
        _plant(http, fresh)
        await asyncio.sleep(1.1)
        return await http.get("/account")

    assert _run(app, steps).status_code == 303
