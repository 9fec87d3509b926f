"""Self-service digest subscriptions (bot/web/subscriptions.py, bot/delivery/email/selfservice.py):
the public sign-up with double opt-in against a real SMTP server (aiosmtpd), the confirmation and
preferences pages, the API with member isolation, bounded inputs, no enumeration of subscribers,
the per-address mail bound. SQLite and PostgreSQL.

Members and operators are real accounts (bot.web.users) using personal API tokens and browser
sessions through the access layer; the operator of web.auth is its token.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from bot.settings.config import EmailSettings, WebAuthSettings, WebSettings, settings_from_mapping
from bot.web.principal import CSRF_FIELD
from smtp_sink import Sink, smtp_server
from storage.db import Database
from storage.models_email import EmailSubscriber

TOKEN = "operator-token-" + "x" * 24
PUBLIC = "https://cac.example.org"
READER = "reader@lawfirm.example"


def email_settings(port: int, **overrides: Any) -> EmailSettings:
    values: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none",
                              "sender": "watch@cacwatch.example", "timeout": 5, **overrides}
    settings = settings_from_mapping({"notify": {"email": values}}, env={}).notify.email
    assert settings is not None
    return settings


def make_app(
    database: Database, email: EmailSettings | None, *, auth: bool = False, public_url: str | None = PUBLIC, fuzzed: bool = False
) -> Any:
    """``fuzzed``: wrong credentials (schemathesis tries them on every secured operation) are
    counted as usual but never reach the attempt limit's 429 within a test."""
    from bot.web.app import create_app

    limits: dict[str, Any] = {"sessions": {"client_failures": 10_000}} if fuzzed else {}
    auth_settings = WebAuthSettings(token=TOKEN, max_failures=1000) if auth else None
    web = WebSettings.model_validate({"public_url": public_url, "auth": auth_settings, "cache_mb": 1, **limits})
    return create_app(database, web=web, refresh_in_child=False, email=email)


def account(database: Database, email: str, role: str = "member") -> tuple[int, dict[str, str]]:
    """A real account (bot.web.users) and the Authorization header of a personal API token of it."""
    from bot.web import users

    made = users.add_user(database, email, role=role, password=None)
    return made.id, {"Authorization": f"Bearer {users.create_token(database, made.id, 'tests').secret}"}


def session_cookie(database: Database, user_id: int) -> dict[str, str]:
    """The cookie of a browser session signed in as the account."""
    from bot.web import users
    from bot.web.access import SESSION_COOKIE

    return {SESSION_COOKIE: users.start_session(database, user_id, lifetime=3600)}


def run(app: Any, steps: Any) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await steps(client)

    return asyncio.run(go())


def csrf_of(page: httpx.Response) -> str:
    found = re.search(rf'name="{CSRF_FIELD}" value="([0-9a-f]{{64}})"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(rf"https://cac\.example\.org{re.escape(path)}\?token=[A-Za-z0-9_%-]+", str(body.get_content()))
    assert found is not None, body.get_content()
    return found.group(0)


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def row_of(database: Database, address: str) -> EmailSubscriber | None:
    with database.session() as session:
        row = session.scalar(select(EmailSubscriber).where(EmailSubscriber.address == address))
        if row is not None:
            session.expunge(row)
        return row


async def sign_up(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    form = await client.get("/subscribe")
    data = {CSRF_FIELD: csrf_of(form), "cadence": "daily", "language": "en", **fields}
    return await client.post("/subscribe", data=data)


# --- the pages, end to end ------------------------------------------------------------------------


def test_sign_up_confirm_change_preferences_unsubscribe(database: Database, smtp: int, sink: Sink) -> None:
    app = make_app(database, email_settings(smtp))

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["sent"] = await sign_up(client, email="Reader@LawFirm.example", kind_genai_service="1", kind_deep_synthesis="1",
                                    watchlist="字节跳动\nre:^北京", attach_brief="1")
        out["pending"] = row_of(database, READER)
        out["link"] = link_in(sink.messages[0], "/subscribe/confirm")
        out["confirm_page"] = await client.get(local(out["link"]))
        out["still_pending"] = row_of(database, READER)
        out["confirmed"] = await client.post("/subscribe/confirm", data={CSRF_FIELD: csrf_of(out["confirm_page"]), "token": token_of(out["link"])})
        out["again"] = await client.post("/subscribe/confirm", data={CSRF_FIELD: csrf_of(out["confirm_page"]), "token": token_of(out["link"])})
        manage = re.search(r'id="manage" href="([^"]+)"', out["confirmed"].text)
        assert manage is not None
        out["manage_url"] = manage.group(1).replace("&amp;", "&")
        page = await client.get(out["manage_url"])
        out["manage_page"] = page
        token = token_of(out["manage_url"])
        out["saved"] = await client.post("/subscriptions/manage", data={
            CSRF_FIELD: csrf_of(page), "token": token, "action": "save", "cadence": "weekly", "language": "zh",
            "kind_algorithm_recommendation": "1", "watchlist": "腾讯"})
        out["after_save"] = row_of(database, READER)
        out["no_csrf"] = await client.post("/subscriptions/manage", data={"token": token, "action": "unsubscribe"})
        out["unsubscribed"] = await client.post("/subscriptions/manage", data={CSRF_FIELD: csrf_of(page), "token": token, "action": "unsubscribe"})
        out["after_unsubscribe"] = row_of(database, READER)
        return out

    r = run(app, steps)
    assert r["sent"].status_code == 200 and 'id="sent"' in r["sent"].text
    assert r["sent"].headers["cache-control"] == "no-store"
    pending = r["pending"]
    assert pending.status == "pending" and pending.source == "web" and pending.owner_user_id is None
    assert pending.kinds == ["deep_synthesis", "genai_service"] and pending.cadence == "daily" and pending.language == "en"
    assert pending.watchlist == ["字节跳动", "re:^北京"] and pending.attach_brief is True
    assert len(sink.received) == 1 and sink.received[0][0] == [READER]
    confirmation = sink.messages[0]
    assert confirmation["Subject"] == "Confirm your cacwatch filing digest subscription" and confirmation["To"] == READER
    assert "确认" not in str(confirmation.get_body(("plain",)).get_content())  # type: ignore[union-attr]  # asked for English
    # The token is stored only as its hash.
    assert token_of(r["link"]) not in (pending.confirm_hash or "") and len(pending.confirm_hash or "") == 64
    # GET shows a button and changes nothing (link scanners).
    assert 'id="confirm"' in r["confirm_page"].text and r["still_pending"].status == "pending"
    assert r["confirmed"].status_code == 200 and 'id="confirmed"' in r["confirmed"].text
    assert r["again"].status_code == 404  # the token is spent
    assert 'id="address"' in r["manage_page"].text and READER in r["manage_page"].text
    assert r["saved"].status_code == 200 and 'id="saved"' in r["saved"].text
    saved = r["after_save"]
    assert (saved.status, saved.cadence, saved.language, saved.kinds, saved.watchlist, saved.attach_brief) == (
        "active", "weekly", "zh", ["algorithm_recommendation"], ["腾讯"], False)
    assert r["no_csrf"].status_code == 403
    assert r["unsubscribed"].status_code == 200 and 'id="unsubscribed"' in r["unsubscribed"].text
    assert r["after_unsubscribe"].unsubscribed is True
    assert len(sink.received) == 1  # nothing but the confirmation was ever sent


def test_an_existing_address_gets_a_notice_and_the_same_answer(database: Database, smtp: int, sink: Sink) -> None:
    from bot.delivery.email.subscribers import Subscriber, add_subscriber

    with database.session() as session:
        add_subscriber(session, Subscriber(address="partner@lawfirm.example", cadence="weekly"))
    app = make_app(database, email_settings(smtp, recipients=["configured@lawfirm.example"]))

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await sign_up(client, email=address) for address in
                ("partner@lawfirm.example", "configured@lawfirm.example", "new@lawfirm.example")]

    existing, configured, new = run(app, steps)
    # The same page whoever asks: no way to tell a subscriber from a stranger.
    strip = lambda page: re.sub(r"[\w.+-]+@lawfirm\.example|[0-9a-f]{64}", "", page.text)  # noqa: E731
    assert strip(existing) == strip(configured) == strip(new)
    assert existing.status_code == configured.status_code == new.status_code == 200
    partner = row_of(database, "partner@lawfirm.example")
    assert partner is not None and partner.status == "active" and partner.cadence == "weekly"  # untouched
    assert row_of(database, "configured@lawfirm.example").source == "config"  # type: ignore[union-attr]
    subjects = {rcpt[0]: message["Subject"] for rcpt, message in sink.received}
    assert "already" in subjects["partner@lawfirm.example"] and "already" in subjects["configured@lawfirm.example"]
    assert "Confirm" in subjects["new@lawfirm.example"]
    partner_body = str(next(m for r, m in sink.received if r == ["partner@lawfirm.example"]).get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert f"{PUBLIC}/subscriptions/manage?token={partner.manage_token}" in partner_body


def test_mails_per_address_are_bounded_and_a_failed_send_stays_pending(database: Database, sink: Sink) -> None:
    sink.refuse["bounce@lawfirm.example"] = "450 4.2.1 try later"
    with smtp_server(sink) as port:
        app = make_app(database, email_settings(port))

        async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
            answers = [await sign_up(client, email="bounce@lawfirm.example")]
            sink.refuse.clear()
            answers += [await sign_up(client, email="bounce@lawfirm.example") for _ in range(3)]
            return answers

        failed, resent, third, limited = run(app, steps)
    assert failed.status_code == 502 and 'id="failed"' in failed.text and "450" in failed.text
    assert row_of(database, "bounce@lawfirm.example").status == "pending"  # type: ignore[union-attr]
    assert resent.status_code == third.status_code == 200
    assert limited.status_code == 429 and 'id="limited"' in limited.text
    assert len(sink.received) == 2  # the two retries; the refused one and the fourth never arrived
    # Only the latest link works.
    first, latest = (link_in(m, "/subscribe/confirm") for m in sink.messages)
    with database.session() as session:
        from bot.delivery.email.selfservice import confirm

        assert confirm(session, token_of(first)).outcome == "unknown"
        assert confirm(session, token_of(latest)).outcome == "confirmed"


def test_mails_one_client_causes_are_bounded(database: Database, smtp: int, sink: Sink) -> None:
    from bot.web.subscriptions import CLIENT_MAILS_PER_HOUR

    app = make_app(database, email_settings(smtp))

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await sign_up(client, email=f"stranger{i}@elsewhere.example") for i in range(CLIENT_MAILS_PER_HOUR + 1)]

    answers = run(app, steps)
    assert [a.status_code for a in answers] == [200] * CLIENT_MAILS_PER_HOUR + [429]
    assert len(sink.received) == CLIENT_MAILS_PER_HOUR
    assert row_of(database, f"stranger{CLIENT_MAILS_PER_HOUR}@elsewhere.example") is None


def test_an_expired_link_confirms_nothing(database: Database, smtp: int, sink: Sink) -> None:
    app = make_app(database, email_settings(smtp))

    async def steps(client: httpx.AsyncClient) -> httpx.Response:
        await sign_up(client, email=READER)
        with database.session() as session:
            session.execute(update(EmailSubscriber).values(confirm_expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        link = link_in(sink.messages[0], "/subscribe/confirm")
        page = await client.get(local(link))
        return await client.post("/subscribe/confirm", data={CSRF_FIELD: csrf_of(page), "token": token_of(link)})

    expired = run(app, steps)
    assert expired.status_code == 410 and 'id="expired"' in expired.text
    assert row_of(database, READER).status == "pending"  # type: ignore[union-attr]


def test_unrecognised_watch_entries_get_suggestions_and_are_kept_only_when_asked(database: Database, smtp: int, sink: Sink) -> None:
    app = make_app(database, email_settings(smtp))

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        review = await sign_up(client, email=READER, watchlist="ByteDance\n字节跳懂科技\nre:^上海")
        kept = await client.post("/subscribe", data={CSRF_FIELD: csrf_of(review), "email": READER, "cadence": "daily",
                                                      "watchlist": "ByteDance\n字节跳懂科技", "keep_unrecognised": "1"})
        bad = await client.post("/subscribe", data={CSRF_FIELD: csrf_of(review), "email": READER, "watchlist": "re:(unclosed"})
        return [review, kept, bad]

    review, kept, bad = run(app, steps)
    assert review.status_code == 200 and 'id="review"' in review.text
    assert 'class="term-group"' in review.text and "字节跳动 ByteDance" in review.text
    unknown = re.search(r'<li class="term-unknown">(.*?)</li>', review.text, re.S)
    assert unknown is not None and "字节跳懂科技" in unknown.group(1)
    assert 'class="suggestion">字节跳动 ByteDance<' in unknown.group(1)
    assert 'class="term-pattern"' in review.text
    assert len(sink.received) == 1 and 'id="sent"' in kept.text  # nothing was sent before "keep"
    assert row_of(database, READER).watchlist == ["ByteDance", "字节跳懂科技"]  # type: ignore[union-attr]
    assert bad.status_code == 400 and "watchlist" in bad.text


def test_without_mail_settings_or_public_url_sign_up_is_unavailable(database: Database, smtp: int, sink: Sink) -> None:
    _, member = account(database, "ada@lawfirm.example")
    for app in (make_app(database, None), make_app(database, email_settings(smtp), public_url=None)):
        async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
            page = await client.get("/subscribe")
            posted = await client.post("/subscribe", data={CSRF_FIELD: csrf_of(page) if CSRF_FIELD in page.text else "", "email": READER})
            api = await client.post("/api/v1/subscriptions", json={"email": READER}, headers=member)
            return [page, posted, api]

        page, posted, api = run(app, steps)
        assert 'id="unavailable"' in page.text and 'name="email"' not in page.text
        assert posted.status_code in (403, 503)
        assert api.status_code == 503 and "unavailable" in api.json()["error"]
    assert sink.received == [] and row_of(database, READER) is None


def test_form_inputs_are_bounded(database: Database, smtp: int, sink: Sink) -> None:
    app = make_app(database, email_settings(smtp))

    async def steps(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
        form = await client.get("/subscribe")
        token = csrf_of(form)
        base = {CSRF_FIELD: token, "email": READER}
        return {
            "long_email": await client.post("/subscribe", data={**base, "email": "a" * 250 + "@x.example"}),
            "header_injection": await client.post("/subscribe", data={**base, "email": "a@x.example\r\nBcc: b@x.example"}),
            "many_entries": await client.post("/subscribe", data={**base, "watchlist": "\n".join(f"公司{i}" for i in range(51))}),
            "long_entry": await client.post("/subscribe", data={**base, "watchlist": "字" * 201}),
            "huge_field": await client.post("/subscribe", data={**base, "watchlist": "x" * 20000}),
            "many_fields": await client.post("/subscribe", content="&".join(f"f{i}=1" for i in range(60)) + f"&{CSRF_FIELD}={token}",
                                             headers={"Content-Type": "application/x-www-form-urlencoded"}),
            "bad_kind": await client.post("/subscribe", data={**base, "kind_everything": "1"}),
            "bad_cadence": await client.post("/subscribe", data={**base, "cadence": "hourly"}),
            "twice": await client.post("/subscribe", content=urlencode([(CSRF_FIELD, token), ("email", READER), ("email", "b@x.example")]),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"}),
        }

    answers = run(app, steps)
    for name, answer in answers.items():
        assert answer.status_code == 400, (name, answer.status_code, answer.text[:300])
    assert sink.received == [] and row_of(database, READER) is None


# --- the API --------------------------------------------------------------------------------------


def test_api_members_see_and_change_only_their_own(database: Database, smtp: int, sink: Sink) -> None:
    members = make_app(database, email_settings(smtp))
    operator = make_app(database, email_settings(smtp), auth=True)
    alice_id, alice = account(database, "alice@accounts.example")
    bob_id, bob = account(database, "bob@accounts.example")
    _, ops = account(database, "ops@accounts.example", role="operator")
    bob_browser = session_cookie(database, bob_id)

    async def member_steps(client: httpx.AsyncClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["anonymous"] = await client.get("/api/v1/subscriptions")
        out["created"] = await client.post("/api/v1/subscriptions", headers=alice, json={
            "email": "alice@lawfirm.example", "kinds": ["genai_service"], "cadence": "weekly", "language": "zh",
            "watchlist": ["字节跳动", "不存在的公司名"]})
        sub_id = out["created"].json()["id"]
        out["bob_create"] = await client.post("/api/v1/subscriptions", headers=bob, json={"email": "bob@lawfirm.example"})
        out["alice_list"] = await client.get("/api/v1/subscriptions", headers=alice)
        out["bob_list"] = await client.get("/api/v1/subscriptions", headers=bob)
        out["alice_get"] = await client.get(f"/api/v1/subscriptions/{sub_id}", headers=alice)
        out["bob_get"] = await client.get(f"/api/v1/subscriptions/{sub_id}", headers=bob)
        out["bob_patch"] = await client.patch(f"/api/v1/subscriptions/{sub_id}", headers=bob, json={"cadence": "daily"})
        out["bob_delete"] = await client.delete(f"/api/v1/subscriptions/{sub_id}", headers=bob)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=members), base_url="http://test", cookies=bob_browser) as browser:
            out["bob_page"] = await browser.get("/subscriptions")
            out["bob_session_get"] = await browser.get(f"/api/v1/subscriptions/{sub_id}")
            out["bob_session_patch"] = await browser.patch(f"/api/v1/subscriptions/{sub_id}", json={"cadence": "daily"})
        out["ops_list"] = await client.get("/api/v1/subscriptions", headers=ops)
        out["alice_patch"] = await client.patch(f"/api/v1/subscriptions/{sub_id}", headers=alice, json={"cadence": "daily", "attach_brief": True})
        out["resubscribe_pending"] = await client.patch(f"/api/v1/subscriptions/{sub_id}", headers=alice, json={"unsubscribed": False})
        out["missing"] = await client.get("/api/v1/subscriptions/999999", headers=alice)
        out["alice_page"] = await client.get("/subscriptions", headers=alice)
        out["anonymous_page"] = await client.get("/subscriptions")
        out["id"] = sub_id
        out["bob_id"] = out["bob_create"].json()["id"]
        return out

    r = run(members, member_steps)
    assert r["anonymous"].status_code == 401
    assert r["created"].status_code == 202
    created = r["created"].json()
    assert created["status"] == "pending" and created["mail"] == "sent" and isinstance(created["id"], int)
    assert [u["entry"] for u in created["unrecognised"]] == ["不存在的公司名"]
    assert r["created"].headers["cache-control"] == "no-store"
    assert [s["email"] for s in r["alice_list"].json()["items"]] == ["alice@lawfirm.example"]
    assert [s["email"] for s in r["bob_list"].json()["items"]] == ["bob@lawfirm.example"]
    alice_record = r["alice_get"].json()
    assert alice_record["status"] == "pending" and alice_record["owner_user_id"] == alice_id and alice_record["cadence"] == "weekly"
    # An operator account sees everyone's.
    assert sorted(x["email"] for x in r["ops_list"].json()["items"]) == ["alice@lawfirm.example", "bob@lawfirm.example"]
    for name in ("bob_get", "bob_patch", "bob_delete", "missing", "bob_session_get", "bob_session_patch"):
        assert r[name].status_code == 404, name
        assert r[name].json() == {"error": "not found"}
    assert "alice@lawfirm.example" not in r["bob_page"].text and "bob@lawfirm.example" in r["bob_page"].text
    assert r["alice_patch"].status_code == 200
    assert r["alice_patch"].json()["cadence"] == "daily" and r["alice_patch"].json()["attach_brief"] is True
    assert r["resubscribe_pending"].status_code == 409
    assert 'id="subscriptions"' in r["alice_page"].text and "alice@lawfirm.example" in r["alice_page"].text
    assert r["anonymous_page"].status_code == 401
    assert row_of(database, "alice@lawfirm.example").status == "pending"  # type: ignore[union-attr]

    async def operator_steps(client: httpx.AsyncClient) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        return {
            "no_auth": await client.get("/api/v1/subscriptions"),
            "list": await client.get("/api/v1/subscriptions", headers=auth),
            "patch": await client.patch(f"/api/v1/subscriptions/{r['id']}", headers=auth, json={"unsubscribed": True}),
            "delete": await client.delete(f"/api/v1/subscriptions/{r['bob_id']}", headers=auth),
            "gone": await client.get(f"/api/v1/subscriptions/{r['bob_id']}", headers=auth),
            "create": await client.post("/api/v1/subscriptions", headers=auth, json={"email": "ops@lawfirm.example"}),
            # Under web.auth the sign-up needs credentials like every page; the mail's token pages do not.
            "signup": await client.get("/subscribe"),
            "token_page": await client.get("/subscriptions/manage?token=" + "A" * 32),
        }

    o = run(operator, operator_steps)
    console = run(operator, lambda client: client.get("/api/v1/console/subscribers", headers={"Authorization": f"Bearer {TOKEN}"}))
    states = {item["address"]: item["status"] for item in console.json()["items"]}
    assert states == {"alice@lawfirm.example": "unsubscribed", "ops@lawfirm.example": "pending"}
    assert o["no_auth"].status_code == 401
    assert sorted(s["email"] for s in o["list"].json()["items"]) == ["alice@lawfirm.example", "bob@lawfirm.example"]
    assert o["patch"].json()["status"] == "unsubscribed"
    assert o["delete"].status_code == 204 and o["gone"].status_code == 404
    assert o["create"].status_code == 202 and row_of(database, "ops@lawfirm.example").owner_user_id is None  # type: ignore[union-attr]
    assert o["signup"].status_code == 401
    assert o["token_page"].status_code == 404 and 'id="unknown"' in o["token_page"].text
    assert sorted(rcpt[0] for rcpt, _ in sink.received) == ["alice@lawfirm.example", "bob@lawfirm.example", "ops@lawfirm.example"]


def test_api_inputs_are_bounded(database: Database, smtp: int, sink: Sink) -> None:
    app = make_app(database, email_settings(smtp))
    _, member = account(database, "ada@lawfirm.example")
    bodies = [
        {"email": "a" * 250 + "@x.example"},
        {"email": "not an address"},
        {"email": READER, "kinds": ["everything"]},
        {"email": READER, "cadence": "hourly"},
        {"email": READER, "language": "fr"},
        {"email": READER, "watchlist": ["x"] * 51},
        {"email": READER, "watchlist": ["字" * 201]},
        {"email": READER, "watchlist": ["re:(unclosed"]},
        {"email": READER, "watchlist": ["a\u0000b"]},
        {"email": READER, "owner_user_id": 2},
        {"email": READER, "status": "active"},
    ]

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        answers = [await client.post("/api/v1/subscriptions", headers=member, json=body) for body in bodies]
        answers.append(await client.patch("/api/v1/subscriptions/1", headers=member, json={"email": "b@x.example"}))
        answers.append(await client.get("/api/v1/subscriptions/0", headers=member))
        return answers

    for body, answer in zip([*bodies, "patch email", "id 0"], run(app, steps)):
        assert answer.status_code == 400, (body, answer.status_code, answer.text[:200])
        assert "error" in answer.json()
    assert sink.received == [] and row_of(database, READER) is None


def test_the_openapi_document_declares_the_subscription_routes(database: Database, smtp: int) -> None:
    app = make_app(database, email_settings(smtp))
    document = run(app, lambda client: client.get("/openapi.json")).json()
    assert set(document["paths"]["/api/v1/subscriptions"]) == {"get", "post"}
    assert set(document["paths"]["/api/v1/subscriptions/{subscription_id}"]) == {"get", "patch", "delete"}
    assert "202" in document["paths"]["/api/v1/subscriptions"]["post"]["responses"]


def test_migration_creates_what_the_model_declares(database: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.all_models import Base

    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "email_subscribers" in repr(d)] == []


# --- delivery: nothing reaches a pending address, digests follow confirmation ------------------------

CHANNEL_PAGE = "/wxzw/wxfb/A093702index_1.htm"
NOTICE_API = "/api/notice/list"
DS_2023_08_PAGE = "/2023-09/01/c_1695224377544009.htm"
DS_2024_01_PAGE = "/2024-01/05/c_1706119043746644.htm"


def announcements(replica: Any) -> Any:
    """``show(*hidden)``: the channel page and the notice API without the ``hidden`` announcements."""
    import json

    channel, notices = replica.read(CHANNEL_PAGE).decode("utf-8"), replica.read(NOTICE_API)

    def show(*hidden: str) -> None:
        html = channel
        body = json.loads(notices)
        for page in hidden:
            html = re.sub(rf"<li>(?:(?!</li>).)*{re.escape(page)}.*?</li>", "", html, flags=re.S)
            assert page not in html
            body["datas"] = [d for d in body["datas"] if page not in json.dumps(d)]
        replica.replace_file(CHANNEL_PAGE, html.encode("utf-8"))
        replica.replace_file(NOTICE_API, json.dumps(body, ensure_ascii=False).encode("utf-8"))

    return show


def test_no_digest_before_confirmation_and_digests_after(tmp_path: Any, replica: Any, make_settings: Any, smtp: int, sink: Sink) -> None:
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app as cli

    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp, "security": "none", "sender": "watch@cacwatch.example",
             "digest": "immediate", "timeout": 5}
    settings = make_settings(replica, url, email=email).model_copy(update={"parse_workers": 0})
    data = settings.model_dump(mode="json")
    data["web"] = {"public_url": PUBLIC}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()

    def check() -> None:
        result = runner.invoke(cli, ["--config", str(config), "check", "--once"])
        assert result.exit_code == 0, result.output

    show = announcements(replica)
    show(DS_2023_08_PAGE, DS_2024_01_PAGE)
    database = Database(url)
    database.migrate()
    web = make_app(database, email_settings(smtp))
    try:
        run(web, lambda client: sign_up(client, email=READER, cadence="immediate", kind_deep_synthesis="1"))
        assert len(sink.received) == 1  # the confirmation
        check()  # the first poll: the baseline goes to active subscribers only
        show(DS_2024_01_PAGE)
        check()  # a new list: still nothing for a pending address
        assert len(sink.received) == 1
        link = link_in(sink.messages[0], "/subscribe/confirm")

        async def confirm(client: httpx.AsyncClient) -> httpx.Response:
            page = await client.get(local(link))
            return await client.post("/subscribe/confirm", data={CSRF_FIELD: csrf_of(page), "token": token_of(link)})

        assert run(web, confirm).status_code == 200
        show()
        check()  # the next new list reaches the confirmed subscriber
    finally:
        database.dispose()
    assert len(sink.received) == 2
    rcpt, digest = sink.received[1]
    assert rcpt == [READER] and digest["Subject"].startswith("CAC: 1 new list")
    manage = row_of(Database(url), READER)
    assert manage is not None and manage.status == "active"
    for kind in ("plain", "html"):
        body = digest.get_body((kind,))
        assert body is not None and f"{PUBLIC}/subscriptions/manage?token={manage.manage_token}" in str(body.get_content())


# --- schemathesis: the subscription routes with credentials -------------------------------------------

SUBSCRIPTION_OPERATIONS = [
    "GET /api/v1/subscriptions",
    "POST /api/v1/subscriptions",
    "GET /api/v1/subscriptions/{subscription_id}",
    "PATCH /api/v1/subscriptions/{subscription_id}",
    "DELETE /api/v1/subscriptions/{subscription_id}",
]


@pytest.mark.parametrize("as_member", [False, True], ids=["operator", "member"])
def test_schemathesis_with_credentials(tmp_path: Any, smtp: int, as_member: bool) -> None:
    """Generated valid and invalid input for every subscription route, as the operator (web.auth's
    token) and as a member: no 5xx, documented statuses and bodies."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.generation.modes import GenerationMode

    database = Database(f"sqlite:///{tmp_path / 'fuzz.db'}")
    database.migrate()
    try:
        app = make_app(database, email_settings(smtp), auth=not as_member, fuzzed=True)
        headers = account(database, "fuzz@accounts.example")[1] if as_member else {"Authorization": f"Bearer {TOKEN}"}
        # Some records to find, change and delete (ids 1..3; generated ids find others or none).
        for address in ("a@fuzz.example", "b@fuzz.example", "c@fuzz.example"):
            run(app, lambda client, address=address: client.post("/api/v1/subscriptions", headers=headers, json={"email": address}))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
        operations = {f"{r.ok().method.upper()} {r.ok().path}": r.ok() for r in schema.get_all_operations()}
        for name in SUBSCRIPTION_OPERATIONS:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operations[name].as_strategy(generation_mode=mode)

                @given(case=strategy)
                @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                def check(case: Any) -> None:
                    case.call_and_validate(headers=headers)

                check()
    finally:
        database.dispose()


def test_a_sign_up_keeps_the_naming_machinery_out_of_the_web_process(tmp_path: Any, smtp: int, sink: Sink) -> None:
    """The watchlist goes through the resolver and the stored search index: pypinyin never loads."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = f"""
import asyncio, re, sys
import httpx
from bot.settings.config import WebSettings, settings_from_mapping
from bot.web.app import create_app
from storage.db import Database

db = Database("sqlite:///{tmp_path / 'light.db'}")
db.migrate()
email = settings_from_mapping({{"notify": {{"email": {{"smtp_host": "127.0.0.1", "smtp_port": {smtp}, "security": "none",
                                                      "sender": "watch@cacwatch.example", "timeout": 5}}}}}}, env={{}}).notify.email
app = create_app(db, web=WebSettings(public_url="{PUBLIC}"), email=email, refresh_on_start=False)

async def go():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        form = await client.get("/subscribe")
        token = re.search(r'name="csrf_token" value="([0-9a-f]{{64}})"', form.text).group(1)
        answer = await client.post("/subscribe", data={{"csrf_token": token, "email": "{READER}", "keep_unrecognised": "1",
                                                      "watchlist": "字节跳动\\n北京某某智能科技有限公司\\nZhipu\\nre:^上海"}})
        assert 'id="sent"' in answer.text, answer.text

asyncio.run(go())
print("pypinyin" in sys.modules)
"""
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
    assert len(sink.received) == 1


def test_cli_and_browser_subscribers_are_the_same_rows(tmp_path: Any, smtp: int) -> None:
    """`subscribers list` shows a browser sign-up as pending; `subscribers add` of the address makes it
    active (the operator vouches for it) and keeps its one row."""
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app as cli
    from bot.delivery.email.selfservice import check_preferences, sign_up

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": url}}), encoding="utf-8")
    database = Database(url)
    database.migrate()
    try:
        with database.session() as session:
            sign_up(session, email_settings(smtp), READER, check_preferences(cadence="weekly"), owner_user_id=None)
        runner = CliRunner()
        listed = runner.invoke(cli, ["--config", str(config), "subscribers", "list"])
        assert listed.exit_code == 0, listed.output
        line = next(line for line in listed.output.splitlines() if READER in line)
        assert "pending" in line and "weekly" in line
        added = runner.invoke(cli, ["--config", str(config), "subscribers", "add", READER, "--cadence", "daily"])
        assert added.exit_code == 0 and "updated" in added.output, added.output
        with database.session() as session:
            rows = session.scalars(select(EmailSubscriber).where(EmailSubscriber.address == READER)).all()
            assert [(r.status, r.source, r.cadence, r.confirm_hash) for r in rows] == [("active", "cli", "daily", None)]
    finally:
        database.dispose()
