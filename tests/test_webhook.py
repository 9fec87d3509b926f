"""WebhookNotifier against a real local receiver that verifies Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bot.settings.config import WebhookSettings
from bot.delivery.notifiers.base import NOTIFIER_KINDS, DeliveryError
from bot.delivery.notifiers.webhook import WebhookNotifier, encode_body, parse_retry_after, split_event

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from sample_events import baseline_event, filing, published_event, revised_event
    from webhook_receiver import Answer, Receiver
except ImportError:  # pragma: no cover
    from tests.sample_events import baseline_event, filing, published_event, revised_event
    from tests.webhook_receiver import Answer, Receiver

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


@pytest.fixture
async def make_notifier() -> AsyncIterator[Callable[..., WebhookNotifier]]:
    made: list[WebhookNotifier] = []

    def make(url: str, **overrides: Any) -> WebhookNotifier:
        values: dict[str, Any] = {"url": url, "secret": SECRET, "allow_private": True, "timeout": 2.0}
        values.update(overrides)
        notifier = WebhookNotifier(WebhookSettings(**values))
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.aclose()


def test_registered_by_kind() -> None:
    assert NOTIFIER_KINDS["webhook"] is WebhookNotifier


async def test_signed_delivery_verifies_and_id_is_stable(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    notifier = make_notifier(f"{receiver.base_url}/hook")
    event = published_event(2)
    await notifier.deliver(event, delivery_id="msg_abc_1")
    await notifier.deliver(event, delivery_id="msg_abc_1")  # a retry
    first, second = receiver.on("/hook")
    for got in (first, second):
        payload = Webhook(SECRET).verify(got.body, got.headers)
        assert payload == {"id": event["id"], "type": event["type"], "timestamp": event["timestamp"], "data": event["data"]}
        assert got.headers["webhook-id"] == "msg_abc_1"
        assert got.headers["webhook-signature"].startswith("v1,")
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["User-Agent"] == "cacwatch"
        assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert json.loads(first.body)["id"] == event["id"]  # the event's own id; webhook-id is the delivery's
    assert first.body == encode_body(event).encode("utf-8")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another key").decode()).verify(first.body, first.headers)


async def test_plain_secret_signs_with_raw_bytes(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    notifier = make_notifier(f"{receiver.base_url}/plain", secret="correct horse battery staple")
    await notifier.deliver(published_event(1), delivery_id="msg_plain")
    (got,) = receiver.on("/plain")
    Webhook(b"correct horse battery staple").verify(got.body, got.headers)


async def test_hostile_content_passes_through_json_intact(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    event = published_event(1)
    nasty = '<script>alert("x")</script>\n"quoted" \'single\' \\back\\ \u2028 深度合成'
    event["data"]["new"][0]["name"] = nasty
    event["data"]["title"] = nasty
    notifier = make_notifier(f"{receiver.base_url}/nasty")
    await notifier.deliver(event, delivery_id="msg_nasty")
    (got,) = receiver.on("/nasty")
    payload = Webhook(SECRET).verify(got.body, got.headers)
    assert payload["data"]["new"][0]["name"] == nasty
    assert payload["data"]["title"] == nasty
    assert "深度合成".encode() in got.body  # UTF-8, not \\u escapes


async def _refusal(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier], path: str, answer: Answer) -> DeliveryError:
    """The DeliveryError of one delivery to ``path``, where the receiver gives ``answer``."""
    receiver.answers[path] = answer
    with pytest.raises(DeliveryError) as caught:
        await make_notifier(f"{receiver.base_url}{path}").deliver(published_event(1), delivery_id="m")
    return caught.value


async def test_500_is_retryable(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    err = await _refusal(receiver, make_notifier, "/err", Answer(500, body=b"boom\r\nInjected: header"))
    assert err.retryable and not err.disable
    assert "HTTP 500" in err.reason and "\n" not in err.reason


async def test_410_disables(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    err = await _refusal(receiver, make_notifier, "/gone", Answer(410))
    assert err.disable and not err.retryable


async def test_429_honours_retry_after(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    err = await _refusal(receiver, make_notifier, "/slow-down", Answer(429, headers={"Retry-After": "7"}))
    assert err.retryable and err.retry_after == 7.0


async def test_other_4xx_is_retried(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    err = await _refusal(receiver, make_notifier, "/denied", Answer(403))
    assert err.retryable and not err.disable


async def test_redirect_is_not_followed(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    err = await _refusal(receiver, make_notifier, "/moved", Answer(302, headers={"Location": f"{receiver.base_url}/elsewhere"}))
    assert not err.retryable and "redirect not followed" in err.reason
    assert receiver.on("/elsewhere") == []


async def test_hanging_receiver_times_out(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    receiver.answers["/hang"] = Answer(hang=True)
    notifier = make_notifier(f"{receiver.base_url}/hang", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await notifier.deliver(published_event(1), delivery_id="m")
    elapsed = time.monotonic() - started
    assert caught.value.retryable and "timed out" in caught.value.reason
    assert 0.4 <= elapsed < 2.0


async def test_hanging_endpoints_do_not_hold_up_healthy_ones(
    receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]
) -> None:
    receiver.answers["/hang"] = Answer(hang=True)
    healthy = [make_notifier(f"{receiver.base_url}/ok{i}", timeout=6.0) for i in range(40)]
    hanging = [make_notifier(f"{receiver.base_url}/hang?n={i}", timeout=6.0) for i in range(10)]
    healthy_done: list[float] = []
    hanging_gave_up: list[float] = []

    async def send(notifier: WebhookNotifier, finished: list[float]) -> None:
        try:
            await notifier.deliver(published_event(1), delivery_id="m")
        finally:
            finished.append(time.monotonic())

    results = await asyncio.gather(
        *(send(n, hanging_gave_up) for n in hanging), *(send(n, healthy_done) for n in healthy), return_exceptions=True
    )
    assert sum(isinstance(r, DeliveryError) for r in results) == 10
    # An ordering, not a stopwatch: every healthy endpoint was served before the first
    # hanging one timed out, so the hanging ones held nothing up (speed: benchmarks/webhook_fanout.py).
    assert len(healthy_done) == 40 and max(healthy_done) < min(hanging_gave_up)


async def test_connection_refused_is_retryable(make_notifier: Callable[..., WebhookNotifier]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        await make_notifier(f"http://127.0.0.1:{port}/x").deliver(published_event(1), delivery_id="m")
    assert caught.value.retryable and "connection failed" in caught.value.reason


async def test_loopback_refused_unless_allow_private(receiver: Receiver, make_notifier: Callable[..., WebhookNotifier]) -> None:
    # "localhost" passes the static config check (no DNS at load) and is refused at send time.
    url = f"http://localhost:{receiver.port}/private"
    with pytest.raises(DeliveryError) as caught:
        await make_notifier(url, allow_private=False).deliver(published_event(1), delivery_id="m")
    assert not caught.value.retryable and "loopback" in caught.value.reason
    assert receiver.on("/private") == []
    await make_notifier(url, allow_private=True).deliver(published_event(1), delivery_id="m")
    assert len(receiver.on("/private")) == 1


def test_literal_loopback_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="loopback"):
        WebhookSettings(url="http://127.0.0.1:8080/x", secret=SECRET)


async def test_secret_never_in_errors(make_notifier: Callable[..., WebhookNotifier]) -> None:
    notifier = make_notifier("http://localhost:9/x", allow_private=False)
    with pytest.raises(DeliveryError) as caught:
        await notifier.deliver(published_event(1), delivery_id="m")
    assert SECRET not in caught.value.reason and SECRET[6:] not in repr(notifier)


def test_filters() -> None:
    def notifier(**filters: Any) -> WebhookNotifier:
        return WebhookNotifier(WebhookSettings(url="https://hooks.example/x", secret=SECRET, **filters))

    deep, genai = published_event(1), published_event(1, kind="genai_service")
    hit = published_event(1, watchlist=True)
    assert notifier().accepts(deep) and notifier().accepts(baseline_event())
    by_kind = notifier(kinds=["genai_service"])
    assert by_kind.accepts(genai) and not by_kind.accepts(deep)
    assert by_kind.accepts(baseline_event())  # baseline spans every kind
    by_type = notifier(events=["list.revised"])
    assert by_type.accepts(revised_event()) and not by_type.accepts(deep) and not by_type.accepts(baseline_event())
    watch = notifier(watchlist_only=True)
    assert watch.accepts(hit) and not watch.accepts(deep) and not watch.accepts(baseline_event())
    assert notifier().destination.startswith("webhook:https://hooks.example/x#")  # masked URL + hash


def test_split_event_sizes_and_parts() -> None:
    event = revised_event(n_changed=3, n_removed=2)
    event["data"]["new"] = [filing(i) for i in range(1200)]
    event["data"]["counts"]["new"] = 1200
    parts = split_event(event, max_filings=500)
    assert len(parts) == 3
    assert [p["id"] for p in parts] == [f"{event['id']}-p{i}" for i in (1, 2, 3)]
    sizes = [len(p["data"]["new"]) + len(p["data"]["changed"]) + len(p["data"]["removed"]) for p in parts]
    assert sizes == [500, 500, 205]
    assert [p["data"]["part"] for p in parts] == [{"index": i, "total": 3} for i in (1, 2, 3)]
    assert all(p["data"]["counts"] == event["data"]["counts"] for p in parts)
    assert [r for p in parts for r in p["data"]["new"]] == event["data"]["new"]
    assert [r for p in parts for r in p["data"]["changed"]] == event["data"]["changed"]
    assert [r for p in parts for r in p["data"]["removed"]] == event["data"]["removed"]
    assert "part" not in event["data"]  # the original is not modified
    small = published_event(3)
    assert split_event(small) == [small] and split_event(small)[0] is small
    assert split_event(baseline_event()) == [baseline_event()]
    exact = published_event(500)
    assert split_event(exact, max_filings=500) == [exact]


def test_retry_after_parsing() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 5, 6, 8, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 06 May 2026 08:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Wed, 06 May 2026 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("99999999") == 86400.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_rebinding_caught_at_connect(
    receiver: Receiver, make_notifier: Callable[..., WebhookNotifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the name looked public when checked, points at loopback when connecting.
    async def looked_public(url: str, *, allow_private: bool = False) -> None:
        return None

    monkeypatch.setattr("bot.delivery.notifiers.webhook.avalidate_outbound_url", looked_public)
    notifier = make_notifier(f"http://localhost:{receiver.port}/rebound", allow_private=False)
    with pytest.raises(DeliveryError) as caught:
        await notifier.deliver(published_event(1), delivery_id="m")
    assert not caught.value.retryable and "loopback" in caught.value.reason
    assert receiver.on("/rebound") == []


def test_problems_reported_early() -> None:
    assert WebhookNotifier(WebhookSettings(url="http://93.184.216.34/x", secret=SECRET)).problems() == []
    (problem,) = WebhookNotifier(WebhookSettings(url="http://localhost:1/x", secret=SECRET)).problems()
    assert "loopback" in problem and SECRET not in problem


def test_published_schema_accepts_every_event_shape_and_rejects_drift() -> None:
    """docs/webhook-events.schema.json (which the receiver checks every sent body against)
    accepts the three event types and split parts, and would catch a body that drifts."""
    from bot.changes.event_schema import split_event
    from sample_events import baseline_event, revised_event
    from webhook_receiver import schema_problems

    big = published_event(1200)
    for event in [published_event(2), revised_event(), baseline_event(), *split_event(big, max_filings=500)]:
        assert schema_problems(encode_body(event).encode("utf-8")) == [], event["type"]
    good = json.loads(encode_body(published_event(1)))
    drifted = [
        {k: v for k, v in good.items() if k != "id"},  # the event id is promised
        {**good, "type": "list.updated"},
        {**good, "data": {**good["data"], "new": [{**good["data"]["new"][0], "status": "gone"}]}},
        {**good, "data": {**good["data"], "new": [{**good["data"]["new"][0], "secret_field": 1}]}},
        {**good, "data": {k: v for k, v in good["data"].items() if k != "counts"}},
    ]
    for body in drifted:
        assert schema_problems(json.dumps(body).encode("utf-8")), body
