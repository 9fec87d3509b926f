"""Self-service webhook endpoints through the JSON API (bot.web.endpoints over
bot.delivery.endpoints): member isolation, bounds, the outbound-URL guard, delivery through the
outbox to a local receiver verified with standardwebhooks, the attempt log, 410 and re-enabling,
secret rotation, replay, the fan-out of stored endpoints at ingest, and config-only deployments.
SQLite and PostgreSQL.

Who asks is real: members are accounts with their personal API tokens (``cw_…``), the
operator is web.auth's token; tests/test_web_endpoints_browser.py signs a member in with a
session in the browser.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bot.settings.config import WebAuthSettings, WebhookSettings, WebSettings
from bot.changes.event_schema import Event
from bot.delivery.endpoints import MAX_ENDPOINTS_PER_MEMBER, NOTIFIER_KEY, StoredEndpoints
from bot.delivery.notifiers.base import notifiers_by_key
from bot.delivery.notifiers.webhook import WebhookNotifier
from bot.delivery.outbox import deliver_until_idle, enqueue, new_event_id
from sample_events import filing, published_event
from storage.changes_repo import events_after
from storage.db import Database
from storage.endpoints_repo import EndpointRepository
from storage.outbox_repo import OutboxRepository
from webhook_receiver import Answer, Receiver

PUBLIC = "https://93.184.215.14/hooks/cac"  # a public address literal: the guard passes it without DNS


OPERATOR_TOKEN = "operator-token-0123456789abcdef"  # web.auth's token: the operator


class _People:
    """Real accounts: a member per name, each with a personal API token (``cw_…``), made on
    first use; ``operator`` is web.auth's token."""

    def __init__(self) -> None:
        self.database: Database | None = None
        self.made: dict[str, tuple[int, str]] = {}

    def of(self, who: str) -> tuple[int, str]:
        from bot.web.users import add_user, create_token

        assert self.database is not None
        if who not in self.made:
            account = add_user(self.database, f"{who.replace(':', '-')}@example.org", role="member", password=None)
            self.made[who] = (account.id, create_token(self.database, account.id, "tests").secret)
        return self.made[who]


_people = _People()


def _app(database: Database, webhooks: list[WebhookSettings] | None = None) -> Any:
    from bot.web.app import create_app

    _people.database, _people.made = database, {}
    from bot.settings.config import settings_from_mapping

    web = WebSettings(cache_mb=1, auth=WebAuthSettings(token=OPERATOR_TOKEN))
    hooks = [hook.model_dump(mode="json") for hook in webhooks or []]
    settings = settings_from_mapping({"database": {"url": database.url}, "notify": {"webhooks": hooks}}, env={})
    return create_app(database, web=web, refresh_in_child=False, settings=settings)


def _run(app: Any, steps: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await steps(client)

    return asyncio.run(go())


def _as(who: str) -> dict[str, str]:
    """The Authorization header of ``operator`` or of a member (``member:<n>``)."""
    token = OPERATOR_TOKEN if who == "operator" else _people.of(who)[1]
    return {"Authorization": f"Bearer {token}"}


def _user(who: str) -> int:
    return _people.of(who)[0]


def _event(base: Event | None = None) -> Event:
    event = copy.deepcopy(base or published_event(3))
    event["id"] = new_event_id()
    return event


def _verify(secret: str, received: Any) -> dict[str, Any]:
    """What a receiver holding ``secret`` does: verify the signature, then read the body."""
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


def test_members_see_and_change_only_their_own(database: Database) -> None:
    app = _app(database)

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        made = await client.post("/api/v1/endpoints", json={"url": PUBLIC, "description": "mine"}, headers=_as("member:7"))
        assert made.status_code == 201, made.text
        assert made.headers["cache-control"] == "no-store"
        eid = made.json()["id"]
        other = _as("member:8")
        answers = {
            "get": await client.get(f"/api/v1/endpoints/{eid}", headers=other),
            "patch": await client.patch(f"/api/v1/endpoints/{eid}", json={"enabled": False}, headers=other),
            "test": await client.post(f"/api/v1/endpoints/{eid}/test", headers=other),
            "attempts": await client.get(f"/api/v1/endpoints/{eid}/attempts", headers=other),
            "replay": await client.post(f"/api/v1/endpoints/{eid}/replay", json={"since": "2026-01-01"}, headers=other),
            "rotate": await client.post(f"/api/v1/endpoints/{eid}/rotate-secret", headers=other),
            "delete": await client.delete(f"/api/v1/endpoints/{eid}", headers=other),
            "page": await client.get(f"/endpoints/{eid}", headers=other),
        }
        return {
            "made": made.json(),
            "refused": {name: r.status_code for name, r in answers.items()},
            "other_list": (await client.get("/api/v1/endpoints", headers=other)).json(),
            "other_page": (await client.get("/endpoints", headers=other)).text,
            "own": await client.get(f"/api/v1/endpoints/{eid}", headers=_as("member:7")),
            "operator": (await client.get("/api/v1/endpoints", headers=_as("operator"))).json(),
            "anonymous": await client.get("/api/v1/endpoints"),
            "anonymous_page": await client.get("/endpoints"),
        }

    got = _run(app, steps)
    assert set(got["refused"].values()) == {404}, got["refused"]
    assert got["other_list"]["items"] == [] and "config" not in got["other_list"]
    assert PUBLIC not in got["other_page"]
    own = got["own"].json()
    assert own["url"] == PUBLIC and own["owner_user_id"] == _user("member:7") and own["enabled"] is True
    secret = got["made"]["secret"]
    assert secret.startswith("whsec_") and secret not in got["own"].text  # shown once, at creation
    assert [e["id"] for e in got["operator"]["items"]] == [got["made"]["id"]]
    assert secret not in json.dumps(got["operator"])
    assert got["anonymous"].status_code == 401 and got["anonymous_page"].status_code == 401
    with database.session() as session:
        stored = EndpointRepository(session).get(got["made"]["id"])
    assert stored is not None and stored.enabled and secret not in repr(stored)


def test_every_input_is_bounded(database: Database) -> None:
    app = _app(database)
    member = _as("member:3")

    async def steps(client: httpx.AsyncClient) -> dict[str, int]:
        post = lambda body: client.post("/api/v1/endpoints", json=body, headers=member)  # noqa: E731
        codes = {
            "long_url": (await post({"url": PUBLIC + "/" + "a" * 2000})).status_code,
            "watchlist": (await post({"url": PUBLIC, "watchlist": ["x"] * 51})).status_code,
            "pattern": (await post({"url": PUBLIC, "watchlist": ["y" * 201]})).status_code,
            "bad_regex": (await post({"url": PUBLIC, "watchlist": ["re:(unclosed"]})).status_code,
            "event": (await post({"url": PUBLIC, "events": ["list.deleted"]})).status_code,
            "kind": (await post({"url": PUBLIC, "kinds": ["weather"]})).status_code,
            "extra": (await post({"url": PUBLIC, "secret": "mine"})).status_code,
            "control": (await post({"url": PUBLIC, "description": "a\x07b"})).status_code,
            "not_http": (await post({"url": "ftp://93.184.215.14/x"})).status_code,
            "not_json": (await client.post("/api/v1/endpoints", content=b"{", headers=member)).status_code,
            "huge": (await client.post("/api/v1/endpoints", content=b" " * 70_000, headers=member)).status_code,
            "bad_id": (await client.get("/api/v1/endpoints/abc", headers=member)).status_code,
            "big_id": (await client.get(f"/api/v1/endpoints/{2**40}", headers=member)).status_code,
            "bad_since": (await client.post("/api/v1/endpoints/1/replay", json={"since": "yesterday"}, headers=member)).status_code,
            "bad_cursor": (await client.get("/api/v1/endpoints/1/attempts?cursor=x", headers=member)).status_code,
            "big_limit": (await client.get("/api/v1/endpoints/1/attempts?limit=5000", headers=member)).status_code,
        }
        for n in range(MAX_ENDPOINTS_PER_MEMBER):
            assert (await post({"url": f"{PUBLIC}/{n}"})).status_code == 201
        codes["one_too_many"] = (await post({"url": PUBLIC})).status_code
        codes["first_error"] = 0
        answer = await post({"url": PUBLIC, "events": ["list.deleted"]})
        assert "error" in answer.json()
        return codes

    codes = _run(app, steps)
    expected = {name: 400 for name in codes}
    expected.update(huge=413, one_too_many=409, first_error=0)
    assert codes == expected


def test_private_targets_need_the_operator_and_the_guard_refuses_them(database: Database) -> None:
    app = _app(database)

    async def steps(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
        member, operator = _as("member:5"), _as("operator")
        return {
            "member_allow_private": await client.post("/api/v1/endpoints", json={"url": "http://127.0.0.1:9/x", "allow_private": True}, headers=member),
            "member_loopback": await client.post("/api/v1/endpoints", json={"url": "http://127.0.0.1:9/x"}, headers=member),
            "member_private_net": await client.post("/api/v1/endpoints", json={"url": "http://10.1.2.3/x"}, headers=member),
            "member_metadata": await client.post("/api/v1/endpoints", json={"url": "http://169.254.169.254/latest"}, headers=member),
            "member_localhost": await client.post("/api/v1/endpoints", json={"url": "http://localhost:9/x"}, headers=member),
            "operator_loopback": await client.post("/api/v1/endpoints", json={"url": "http://127.0.0.1:9/x"}, headers=operator),
            "operator_allowed": await client.post("/api/v1/endpoints", json={"url": "http://127.0.0.1:9/x", "allow_private": True}, headers=operator),
        }

    got = _run(app, steps)
    assert got["member_allow_private"].status_code == 403
    assert "operator" in got["member_allow_private"].json()["error"]
    for name in ("member_loopback", "member_private_net", "member_metadata", "member_localhost", "operator_loopback"):
        assert got[name].status_code == 400, name
        assert got[name].json()["error"].startswith("url: "), got[name].json()
    assert got["operator_allowed"].status_code == 201


def test_test_event_failures_attempts_410_and_enable(database: Database, receiver: Receiver) -> None:
    receiver.answers["/down"] = Answer(status=500, body=b"boom")
    receiver.answers["/gone"] = Answer(status=410, body=b"gone")
    app = _app(database)
    op = _as("operator")

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        made = {}
        for path in ("/ok", "/down", "/gone"):
            answer = await client.post("/api/v1/endpoints", json={"url": receiver.base_url + path, "allow_private": True}, headers=op)
            assert answer.status_code == 201, answer.text
            made[path] = answer.json()
        tests = {p: (await client.post(f"/api/v1/endpoints/{m['id']}/test", headers=op)).json() for p, m in made.items()}
        attempts = {p: (await client.get(f"/api/v1/endpoints/{m['id']}/attempts", headers=op)).json() for p, m in made.items()}
        gone = (await client.get(f"/api/v1/endpoints/{made['/gone']['id']}", headers=op)).json()
        refused_test = await client.post(f"/api/v1/endpoints/{made['/gone']['id']}/test", headers=op)
        receiver.answers["/gone"] = Answer(status=204, body=b"")
        enabled = (await client.patch(f"/api/v1/endpoints/{made['/gone']['id']}", json={"enabled": True}, headers=op)).json()
        again = (await client.post(f"/api/v1/endpoints/{made['/gone']['id']}/test", headers=op)).json()
        page = (await client.get(f"/endpoints/{made['/down']['id']}", headers=op)).text
        return {"made": made, "tests": tests, "attempts": attempts, "gone": gone, "refused_test": refused_test,
                "enabled": enabled, "again": again, "page": page}

    got = _run(app, steps)
    ok = receiver.on("/ok")
    assert len(ok) == 1
    body = _verify(got["made"]["/ok"]["secret"], ok[0])
    assert body["type"] == "endpoint.test" and body["data"]["endpoint_id"] == got["made"]["/ok"]["id"]
    assert body["id"] == got["tests"]["/ok"]["event_id"]
    assert got["tests"]["/ok"] == {"event_id": body["id"], "delivered": True, "status_code": 200, "error": None}
    assert got["tests"]["/down"]["delivered"] is False and got["tests"]["/down"]["status_code"] == 500

    (ok_attempt,) = got["attempts"]["/ok"]["items"]
    assert ok_attempt["status_code"] == 200 and ok_attempt["outcome"] == "delivered" and ok_attempt["attempt"] == 1
    assert ok_attempt["type"] == "endpoint.test" and ok_attempt["latency_ms"] >= 0 and ok_attempt["next_retry_at"] is None
    (down,) = got["attempts"]["/down"]["items"]
    assert down["status_code"] == 500 and down["outcome"] == "retry" and "boom" in down["error"] and down["next_retry_at"]
    assert "500" in got["page"] and "boom" in got["page"]  # the page's log shows the status code
    (gone,) = got["attempts"]["/gone"]["items"]
    assert gone["status_code"] == 410 and gone["outcome"] == "disabled"
    assert got["gone"]["enabled"] is False and "410" in got["gone"]["disabled_reason"]
    assert got["refused_test"].status_code == 409
    assert got["enabled"]["enabled"] is True and got["again"]["delivered"] is True
    # Test events are bounded per endpoint and hour (each is a stored event).
    from bot.delivery.endpoints import MAX_TESTS_PER_HOUR, send_test

    with database.session() as session:
        endpoint = EndpointRepository(session).get(got["made"]["/down"]["id"])
    assert endpoint is not None
    for _ in range(MAX_TESTS_PER_HOUR - 1):
        send_test(database, endpoint)
    too_many = _run(app, lambda client: client.post(f"/api/v1/endpoints/{endpoint.id}/test", headers=op))
    assert too_many.status_code == 429 and "test events" in too_many.json()["error"]
    # Re-enabling queued the stopped delivery again (same row, same webhook-id) beside the new test
    # (sent side by side, in either order).
    gone_ids = [r.headers["webhook-id"] for r in receiver.on("/gone")]
    assert len(gone_ids) == 3 and gone_ids.count(gone_ids[0]) == 2 and len(set(gone_ids)) == 2
    # The test events are not changes.
    with database.session() as session:
        assert events_after(session, 0, limit=100) == []


def test_stored_endpoints_get_the_next_event_with_their_filters_and_config_webhooks_are_logged(
    database: Database, receiver: Receiver
) -> None:
    config = WebhookSettings(url=receiver.base_url + "/config", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", allow_private=True)
    notifiers = [WebhookNotifier(config), StoredEndpoints(database)]  # built once, as `run` does
    app = _app(database, [config])
    op = _as("operator")

    async def create(client: httpx.AsyncClient) -> dict[str, Any]:
        bodies = {
            "/all": {},
            "/recommendation": {"kinds": ["algorithm_recommendation"]},
            "/revised": {"events": ["list.revised"]},
            "/bytedance": {"watchlist": ["字节跳动"]},
        }
        made = {}
        for path, extra in bodies.items():
            answer = await client.post("/api/v1/endpoints", json={"url": receiver.base_url + path, "allow_private": True, **extra}, headers=op)
            made[path] = answer.json()
        listed = (await client.get("/api/v1/endpoints", headers=op)).json()
        return {"made": made, "listed": listed}

    created = _run(app, create)
    plain = _event()
    douyin = _event(published_event(1))
    douyin["data"]["new"] = [filing(1, entity="北京抖音信息服务有限公司")]
    with database.session() as session:
        enqueue(session, plain, notifiers)
        enqueue(session, douyin, notifiers)
    run = asyncio.run(deliver_until_idle(database, notifiers_by_key(notifiers), max_wait=20))
    assert run.delivered == 5 and not run.errors

    assert sorted(json.loads(r.body)["id"] for r in receiver.on("/all")) == sorted([plain["id"], douyin["id"]])
    assert receiver.on("/recommendation") == [] and receiver.on("/revised") == []
    assert [json.loads(r.body)["id"] for r in receiver.on("/bytedance")] == [douyin["id"]]
    _verify(created["made"]["/all"]["secret"], receiver.on("/all")[0])
    assert len(receiver.on("/config")) == 2
    # Config webhooks: listed read-only to the operator, no secret; their attempts are logged too.
    (listed_config,) = created["listed"]["config"]
    assert listed_config["read_only"] is True and "secret" not in listed_config and "whsec_" not in json.dumps(created["listed"])
    destination = WebhookNotifier(config).destination
    with database.session() as session:
        logged = OutboxRepository(session).attempts_page(destination, before_id=None, limit=10)
        assert [(a.status_code, a.outcome) for a in logged] == [(200, "delivered")] * 2
        changes = [e.payload["id"] for e in events_after(session, 0, limit=10)]
    assert changes == [plain["id"], douyin["id"]]


def test_rotation_signs_with_both_secrets_for_the_grace_period(database: Database, receiver: Receiver) -> None:
    app = _app(database)
    op = _as("operator")

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        made = (await client.post("/api/v1/endpoints", json={"url": receiver.base_url + "/r", "allow_private": True}, headers=op)).json()
        rotated = (await client.post(f"/api/v1/endpoints/{made['id']}/rotate-secret", headers=op)).json()
        await client.post(f"/api/v1/endpoints/{made['id']}/test", headers=op)
        item = (await client.get(f"/api/v1/endpoints/{made['id']}", headers=op)).json()
        return {"made": made, "rotated": rotated, "item": item}

    got = _run(app, steps)
    old, new = got["made"]["secret"], got["rotated"]["secret"]
    assert old != new and got["item"]["previous_secret_valid_until"]
    (during,) = receiver.on("/r")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verify(old, during)["type"] == "endpoint.test"  # a receiver still holding the old secret
    assert _verify(new, during)["type"] == "endpoint.test"  # and one already holding the new one

    # The grace period over: the new secret alone signs.
    with database.session() as session:
        now = datetime.now(timezone.utc)
        EndpointRepository(session).rotate_secret(got["made"]["id"], secret=new, previous_valid_until=now - timedelta(seconds=1), now=now)
    _run(app, lambda client: client.post(f"/api/v1/endpoints/{got['made']['id']}/test", headers=op))
    after = receiver.on("/r")[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verify(new, after)["type"] == "endpoint.test"
    with pytest.raises(WebhookVerificationError):
        _verify(old, after)


def test_replay_queues_once_and_resends_with_the_same_webhook_id(database: Database, receiver: Receiver) -> None:
    app = _app(database)
    op = _as("operator")
    events = [_event(), _event()]
    with database.session() as session:
        for event in events:
            enqueue(session, event, [])  # stored before the endpoint existed

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        made = (await client.post("/api/v1/endpoints", json={"url": receiver.base_url + "/late", "allow_private": True}, headers=op)).json()
        path = f"/api/v1/endpoints/{made['id']}/replay"
        first = (await client.post(path, json={"since": "2020-01-01"}, headers=op)).json()
        await _settled(database, made["id"])
        second = (await client.post(path, json={"since": "2020-01-01"}, headers=op)).json()
        resent = (await client.post(path, json={"since": "2020-01-01", "resend": True}, headers=op)).json()
        await _settled(database, made["id"])
        page = (await client.get(f"/api/v1/endpoints/{made['id']}/attempts?limit=3", headers=op)).json()
        rest = (await client.get(f"/api/v1/endpoints/{made['id']}/attempts?limit=3&cursor={page['next_cursor']}", headers=op)).json()
        return {"first": first, "second": second, "resent": resent, "page": page, "rest": rest}

    got = _run(app, steps)
    assert got["first"] == {"queued": 2, "skipped": 0, "filtered": 0}
    assert got["second"] == {"queued": 0, "skipped": 2, "filtered": 0}
    assert got["resent"] == {"queued": 2, "skipped": 0, "filtered": 0}
    received = receiver.on("/late")
    # Each event twice (the replay, then the resend), under the same webhook-id each time.
    by_event: dict[str, set[str]] = {}
    for r in received:
        by_event.setdefault(json.loads(r.body)["id"], set()).add(r.headers["webhook-id"])
    assert len(received) == 4 and sorted(by_event) == sorted(e["id"] for e in events)
    assert all(len(ids) == 1 for ids in by_event.values())
    assert len(got["page"]["items"]) == 3 and got["page"]["next_cursor"]
    assert len(got["rest"]["items"]) == 1 and got["rest"]["next_cursor"] is None


async def _settled(database: Database, endpoint_id: int) -> None:
    """Wait for the replay's background sends (nothing pending or in flight for the endpoint)."""
    for _ in range(200):
        with database.session() as session:
            counts = OutboxRepository(session).destination_counts(f"endpoint:{endpoint_id}")
        if counts["pending"] == 0 and counts["sending"] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries to endpoint {endpoint_id} never settled: {counts}")


def test_config_only_deployment_is_as_before(database: Database, receiver: Receiver) -> None:
    """No endpoint stored: the endpoints' notifier adds no delivery and no row."""
    config = WebhookSettings(url=receiver.base_url + "/only", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", allow_private=True)
    notifiers = [WebhookNotifier(config), StoredEndpoints(database)]
    with database.session() as session:
        assert enqueue(session, _event(), notifiers) == 1
    run = asyncio.run(deliver_until_idle(database, notifiers_by_key(notifiers), max_wait=10))
    assert run.delivered == 1 and len(receiver.on("/only")) == 1
    with database.session() as session:
        assert OutboxRepository(session).delivery_counts() == {WebhookNotifier(config).destination: {"delivered": 1}}
        assert EndpointRepository(session).every_endpoint() == []
    assert NOTIFIER_KEY == StoredEndpoints(database).destination


def test_check_once_sends_to_an_endpoint_added_since_and_the_cli_replays_and_enables_it(
    webhook_config: Any, database_url: str, receiver: Receiver
) -> None:
    """`check --once` reads the stored endpoints when it writes the events (no restart, no
    config change); `deliveries replay|enable --destination endpoint:<id>` work on them."""
    from typer.testing import CliRunner

    from bot.app.cli import app as cli
    from bot.delivery.endpoints import EndpointInput, create_endpoint

    db = Database(database_url)
    db.migrate()
    endpoint, secret = create_endpoint(db, EndpointInput(url=receiver.base_url + "/stored", allow_private=True), owner_user_id=None, operator=True)
    runner = CliRunner()
    checked = runner.invoke(cli, ["check", "--once", "--config", str(webhook_config)])
    assert checked.exit_code == 0, checked.output
    stored = receiver.on("/stored")
    assert stored and len(stored) == len(receiver.on("/hook"))  # the same events as the config webhook
    assert {_verify(secret, r)["type"] for r in stored} <= {"baseline.established", "list.published"}
    with db.session() as session:
        logged = OutboxRepository(session).attempts_page(endpoint.destination, before_id=None, limit=100)
    assert len(logged) == len(stored) and {a.status_code for a in logged} == {200}

    replayed = runner.invoke(cli, ["deliveries", "replay", "--destination", endpoint.destination, "--since", "2020-01-01", "--resend", "--config", str(webhook_config)])
    assert replayed.exit_code == 0, replayed.output
    assert f"{len(stored)} past events queued for {endpoint.destination}" in replayed.stdout
    again = receiver.on("/stored")[len(stored):]
    assert sorted(r.headers["webhook-id"] for r in again) == sorted(r.headers["webhook-id"] for r in stored)
    enabled = runner.invoke(cli, ["deliveries", "enable", "--destination", endpoint.destination, "--config", str(webhook_config)])
    assert enabled.exit_code == 0 and "enabled" in enabled.stdout
    unknown = runner.invoke(cli, ["deliveries", "replay", "--destination", "endpoint:999", "--since", "2020-01-01", "--config", str(webhook_config)])
    assert unknown.exit_code == 2 and "no stored endpoint" in unknown.output
    db.dispose()


def test_without_web_auth_an_anonymous_visitor_is_sent_to_sign_in(database: Database) -> None:
    from bot.web.app import create_app

    app = create_app(database, web=WebSettings(cache_mb=1), refresh_in_child=False)

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.get("/endpoints/new"), await client.get("/api/v1/endpoints"),
                await client.post("/api/v1/endpoints", json={"url": PUBLIC})]

    page, api, post = _run(app, steps)
    assert page.status_code == 303 and page.headers["location"] == "/signin?next=%2Fendpoints%2Fnew"
    assert api.status_code == 401 and post.status_code == 401


def test_pages_need_the_csrf_token_and_keep_members_apart(database: Database, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    """The forms: refused without their CSRF token, another member's endpoint is a 404 through
    the pages too, and no secret reaches the logs."""
    import logging
    import re

    caplog.set_level(logging.DEBUG)
    app = _app(database)
    member = _as("member:11")

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        form = await client.get("/endpoints/new", headers=member)
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text)
        assert form.status_code == 200 and token is not None
        fields = {"url": "https://93.184.215.14/form", "description": "from the form", "kinds": "genai_service"}
        no_token = await client.post("/endpoints/new", data=fields, headers=member)
        wrong = await client.post("/endpoints/new", data={**fields, "csrf_token": "0" * 64}, headers=member)
        made = await client.post("/endpoints/new", data={**fields, "csrf_token": token.group(1)}, headers=member)
        secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', made.text)
        eid = re.search(r"Webhook endpoint (\d+)", made.text)
        assert secret is not None and eid is not None
        page = await client.get(f"/endpoints/{eid.group(1)}", headers=member)
        other = _as("member:12")
        other_form = await client.get("/endpoints/new", headers=other)
        other_token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', other_form.text)
        assert other_token is not None
        others = {
            "view": await client.get(f"/endpoints/{eid.group(1)}", headers=other),
            "disable": await client.post(f"/endpoints/{eid.group(1)}/disable", data={"csrf_token": other_token.group(1)}, headers=other),
            "rotate": await client.post(f"/endpoints/{eid.group(1)}/rotate", data={"csrf_token": other_token.group(1)}, headers=other),
        }
        rotated = await client.post(f"/endpoints/{eid.group(1)}/rotate", data={"csrf_token": token.group(1)}, headers=member)
        new_secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', rotated.text)
        assert new_secret is not None
        huge = await client.post("/endpoints/new", data={**fields, "description": "x" * 70_000, "csrf_token": token.group(1)}, headers=member)
        long = await client.post("/endpoints/new", data={**fields, "description": "x" * 201, "csrf_token": token.group(1)}, headers=member)
        api = (await client.get(f"/api/v1/endpoints/{eid.group(1)}", headers=member)).json()
        return {"no_token": no_token, "wrong": wrong, "made": made, "secrets": [secret.group(1), new_secret.group(1)],
                "page": page.text, "others": {k: v.status_code for k, v in others.items()}, "huge": huge, "long": long, "api": api}

    got = _run(app, steps)
    assert got["no_token"].status_code == 403 and got["wrong"].status_code == 403
    assert got["made"].status_code == 201 and got["made"].headers["cache-control"] == "no-store"
    assert got["api"]["kinds"] == ["genai_service"] and got["api"]["description"] == "from the form" and got["api"]["owner_user_id"] == _user("member:11")
    assert got["others"] == {"view": 404, "disable": 404, "rotate": 404}
    assert got["huge"].status_code == 413 and got["long"].status_code == 400 and "200" in got["long"].text
    for secret in got["secrets"]:
        assert secret not in got["page"]
        assert all(secret not in record.getMessage() for record in caplog.records)


def test_the_attempt_log_is_bounded_by_age_and_count_per_destination(database: Database) -> None:
    from storage.outbox_repo import AttemptRecord

    now = datetime.now(timezone.utc)

    def attempt(destination: str, n: int, at: datetime) -> AttemptRecord:
        return AttemptRecord(id=0, destination=destination, delivery_pk=n, event_id=f"evt_{n}", event_type="list.published",
                             attempt=1, at=at, outcome="delivered", status_code=200, latency_ms=5, error=None, next_retry_at=None)

    with database.session() as session:
        repo = OutboxRepository(session)
        repo.record_attempts([attempt("webhook:a", n, now) for n in range(12)])
        repo.record_attempts([attempt("endpoint:1", n, now - timedelta(days=40 if n < 3 else 0)) for n in range(6)])
        repo.prune_attempts(keep=10, before=now - timedelta(days=30))
    with database.session() as session:
        repo = OutboxRepository(session)
        kept_a = repo.attempts_page("webhook:a", before_id=None, limit=100)
        kept_e = repo.attempts_page("endpoint:1", before_id=None, limit=100)
    assert [a.event_id for a in kept_a] == [f"evt_{n}" for n in range(11, 1, -1)]  # the newest 10
    assert [a.event_id for a in kept_e] == ["evt_5", "evt_4", "evt_3"]  # none older than 30 days


def test_stored_endpoints_ask_for_per_filing_events(database: Database, receiver: Receiver) -> None:
    """An endpoint naming filing.new gets one signed event per new filing (and not the list
    event); one without a filter gets the list event only; operator.alert is not a member's or
    an endpoint's choice."""
    from bot.delivery.outbox import enqueue_many, filing_event_types
    from bot.ingest.events import filing_events

    notifiers = [StoredEndpoints(database)]
    app = _app(database)
    op = _as("operator")

    async def create(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await client.post("/api/v1/endpoints", json={"url": receiver.base_url + "/filings", "allow_private": True,
                                                         "events": ["filing.new"]}, headers=op),
            await client.post("/api/v1/endpoints", json={"url": receiver.base_url + "/lists", "allow_private": True}, headers=op),
            await client.post("/api/v1/endpoints", json={"url": PUBLIC, "events": ["operator.alert"]}, headers=_as("member:1")),
        ]

    filings_endpoint, lists_endpoint, alert_refused = _run(app, create)
    assert filings_endpoint.status_code == lists_endpoint.status_code == 201
    assert alert_refused.status_code == 400
    event = _event(published_event(3))
    import sqlalchemy as sa

    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM webhook_endpoints" in statement:
            reads.append(statement)

    with database.session() as session:
        wanted = filing_event_types(notifiers)
        assert wanted == {"filing.new"}
        sa.event.listen(database.engine, "before_cursor_execute", count)
        try:
            enqueue_many(session, [event, *filing_events(session, event, wanted)], notifiers)
        finally:
            sa.event.remove(database.engine, "before_cursor_execute", count)
    # One read for the list event's fan-out, one for all three per-filing events (not one each).
    assert len(reads) == 2
    run = asyncio.run(deliver_until_idle(database, notifiers_by_key(notifiers), max_wait=20))
    assert run.delivered == 4 and not run.errors
    bodies = [_verify(filings_endpoint.json()["secret"], r) for r in receiver.on("/filings")]
    assert [b["type"] for b in bodies] == ["filing.new"] * 3
    assert {b["data"]["filing"]["filing_number"] for b in bodies} == {r["filing_number"] for r in event["data"]["new"]}
    assert all(b["data"]["list_event"] == event["id"] and b["seq"] > 0 for b in bodies)
    assert [_verify(lists_endpoint.json()["secret"], r)["type"] for r in receiver.on("/lists")] == ["list.published"]


def test_replay_of_one_event_from_the_log(database: Database, receiver: Receiver) -> None:
    """One line of the delivery log sent again (event_id), through the API and the page's form;
    since and event_id together, or an unknown id, are refused or queue nothing."""
    app = _app(database)
    op = _as("operator")
    events = [_event(), _event()]
    with database.session() as session:
        for event in events:
            enqueue(session, event, [])

    async def steps(client: httpx.AsyncClient) -> dict[str, Any]:
        made = (await client.post("/api/v1/endpoints", json={"url": receiver.base_url + "/one", "allow_private": True}, headers=op)).json()
        path = f"/api/v1/endpoints/{made['id']}/replay"
        one = (await client.post(path, json={"event_id": events[1]["id"]}, headers=op)).json()
        await _settled(database, made["id"])
        again = (await client.post(path, json={"event_id": events[1]["id"], "resend": True}, headers=op)).json()
        await _settled(database, made["id"])
        both = await client.post(path, json={"event_id": events[1]["id"], "since": "2020-01-01"}, headers=op)
        neither = await client.post(path, json={}, headers=op)
        unknown = (await client.post(path, json={"event_id": "evt_nothing_here"}, headers=op)).json()
        return {"one": one, "again": again, "both": both.status_code, "neither": neither.status_code, "unknown": unknown}

    got = _run(app, steps)
    assert got["one"] == {"queued": 1, "skipped": 0, "filtered": 0}
    assert got["again"] == {"queued": 1, "skipped": 0, "filtered": 0}
    assert got["both"] == got["neither"] == 400
    assert got["unknown"] == {"queued": 0, "skipped": 0, "filtered": 0}
    received = receiver.on("/one")
    assert [json.loads(r.body)["id"] for r in received] == [events[1]["id"]] * 2
    assert len({r.headers["webhook-id"] for r in received}) == 1


def test_a_line_of_the_delivery_log_is_sent_again_from_the_page(database: Database, receiver: Receiver) -> None:
    import re

    app = _app(database)
    op = _as("operator")
    event = _event()
    with database.session() as session:
        enqueue(session, event, [])

    async def steps(client: httpx.AsyncClient) -> list[str]:
        made = (await client.post("/api/v1/endpoints", json={"url": receiver.base_url + "/log-line", "allow_private": True}, headers=op)).json()
        await client.post(f"/api/v1/endpoints/{made['id']}/replay", json={"since": "2020-01-01"}, headers=op)
        await _settled(database, made["id"])
        page = await client.get(f"/endpoints/{made['id']}", headers=op)
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
        assert token is not None and 'class="replay-one"' in page.text
        sent = await client.post(f"/endpoints/{made['id']}/replay", headers=op,
                                 data={"csrf_token": token.group(1), "event_id": event["id"], "resend": "on"})
        assert sent.status_code == 303
        await _settled(database, made["id"])
        return [json.loads(r.body)["id"] for r in receiver.on("/log-line")]

    assert _run(app, steps) == [event["id"], event["id"]]
