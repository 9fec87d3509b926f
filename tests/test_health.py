"""The health server of `cacwatch run`, scraped over HTTP: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from starlette.applications import Starlette

from bot.app.health import HttpServer, PortUnavailable, Response, probe_routes
from bot.web.http import HeadAsGet
from scrapers.replica.server import ReplicaServer
from service_helpers import SECRET, async_wait_until, http_get, running_service, service_settings
from webhook_receiver import Receiver


async def _get(url: str, method: str = "GET") -> tuple[int, str]:
    return await asyncio.to_thread(http_get, url, method)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


async def test_endpoints_over_http_blocked_then_ready_with_metrics(
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver
) -> None:
    replica.waf = True
    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    notify = {"webhooks": [{"url": receiver.base_url + "/hook", "secret": SECRET, "allow_private": True, "timeout": 3}]}
    settings = service_settings(
        replica, url, tmp_path / "data", interval="0.5s",
        service={"health_port": 0, "health_host": "127.0.0.1", "backoff_max": "1s"}, notify=notify,
    )
    async with running_service(settings) as service:
        assert service.health is not None
        base = f"http://127.0.0.1:{service.health.port}"
        assert await async_wait_until(lambda: service.state.polls >= 2, timeout=15)

        status, body = await _get(base + "/healthz")
        assert status == 200 and body.startswith("ok ") and body.split()[-1] == "leader"
        status, body = await _get(base + "/readyz")
        assert (status, body) == (503, "no successful poll yet\n")  # blocked since the start
        status, text = await _get(base + "/metrics")
        assert status == 200
        blocked = _samples(text)
        assert blocked[("cacwatch_polls_total", (("outcome", "failed"), ("source", "cac")))] >= 2
        assert blocked[("cacwatch_poll_failures_total", (("cause", "blocked"), ("source", "cac")))] >= 2
        assert blocked[("cacwatch_source_consecutive_failures", (("source", "cac"),))] >= 2
        assert blocked[("cacwatch_leader", ())] == 1 and blocked[("cacwatch_database_up", ())] == 1

        replica.waf = False
        assert await async_wait_until(lambda: service.state.last_poll_ok, timeout=20)
        assert await async_wait_until(lambda: receiver.on("/hook"), timeout=10)
        status, body = await _get(base + "/readyz")
        assert status == 200 and body.startswith("ready: last successful poll")
        await asyncio.sleep(0.3)  # the delivery's outcome is committed just after the receiver answers
        status, text = await _get(base + "/metrics")
        metrics = _samples(text)

        # Readiness says why it is not ready: a stale last success, a database that does not answer.
        real = service._last_success
        service._last_success = lambda: datetime.now(timezone.utc) - timedelta(hours=3)  # type: ignore[method-assign]
        status, body = await _get(base + "/readyz")
        assert status == 503 and body.startswith("last successful poll 10800s ago (readiness_max_age 7200s)")

        def unreachable() -> None:
            raise ConnectionRefusedError("database down")

        service._last_success = unreachable  # type: ignore[method-assign]
        assert await _get(base + "/readyz") == (503, "database unreachable: ConnectionRefusedError\n")
        assert (await _get(base + "/healthz"))[0] == 200  # alive all the same
        service._last_success = real  # type: ignore[method-assign]

        # Plain HTTP manners.
        assert await _get(base + "/healthz", "HEAD") == (200, "")
        assert (await _get(base + "/nope"))[0] == 404
        assert (await _get(base + "/healthz", "POST"))[0] == 405
    assert metrics[("cacwatch_polls_total", (("outcome", "ok"), ("source", "cac")))] >= 1
    success = metrics[("cacwatch_source_last_success_timestamp_seconds", (("source", "cac"),))]
    assert abs(success - datetime.now(timezone.utc).timestamp()) < 60
    assert metrics[("cacwatch_source_consecutive_failures", (("source", "cac"),))] == 0
    for kind in ("deep_synthesis", "algorithm_recommendation", "genai_service"):
        assert metrics[("cacwatch_lists", (("kind", kind),))] == 3
    assert metrics[("cacwatch_filings", (("kind", "deep_synthesis"), ("status", "active")))] == 274
    assert metrics[("cacwatch_filings", (("kind", "deep_synthesis"), ("status", "cancelled")))] == 6
    assert metrics[("cacwatch_deliveries", (("notifier", "webhook"), ("state", "delivered")))] == 1
    assert metrics[("cacwatch_deliveries", (("notifier", "webhook"), ("state", "dead")))] == 0
    assert metrics[("cacwatch_deliveries", (("notifier", "webhook"), ("state", "pending")))] == 0
    assert metrics[("cacwatch_delivery_latency_seconds_count", (("notifier", "webhook"),))] == 1
    assert metrics[("cacwatch_incidents_open", ())] == 0
    assert not any(receiver.base_url in name for name, _ in metrics)  # no URL in a metric name
    assert all(receiver.base_url not in value for _, labels in metrics for _, value in labels)


async def test_probe_errors_and_garbage_requests_do_not_kill_the_server() -> None:
    async def broken() -> Response:
        raise RuntimeError("bug")

    async def fine() -> Response:
        return Response(200, b"ok\n")

    server = HttpServer(HeadAsGet(Starlette(routes=probe_routes({"/broken": broken, "/healthz": fine}))), "127.0.0.1", 0)
    port = await server.start()
    try:
        assert (await _get(f"http://127.0.0.1:{port}/broken"))[0] == 503

        def garbage() -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"NONSENSE\r\n\r\n")
                return sock.recv(100)

        assert (await asyncio.to_thread(garbage)).startswith(b"HTTP/1.1 400")
        assert await _get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
        assert await _get(f"http://127.0.0.1:{port}/healthz", "HEAD") == (200, "")

        # The same address again: one clear line naming the key to change, no traceback.
        with pytest.raises(PortUnavailable, match=rf"cannot listen on http://127.0.0.1:{port}: .*service.health_port"):
            await HttpServer(Starlette(), "127.0.0.1", port).start()
    finally:
        await server.close()
    assert (await _get(f"http://127.0.0.1:{port}/healthz"))[0] == 0  # closed: nothing listens


async def test_one_click_unsubscribe_is_honoured(replica: ReplicaServer, tmp_path: Path) -> None:
    """RFC 8058: POST <public_base_url>/email/unsubscribe?token=… with List-Unsubscribe=One-Click."""
    import urllib.request

    from bot.delivery.email.subscribers import Subscriber, add_subscriber, load_subscribers
    from storage.db import Database

    url = f"sqlite:///{tmp_path / 'cacwatch.db'}"
    notify = {"email": {"smtp_host": "127.0.0.1", "smtp_port": 2525, "sender": "watch@example.com",
                        "public_base_url": "https://cacwatch.example"}}
    settings = service_settings(replica, url, tmp_path / "data", interval="1h",
                                service={"health_port": 0, "health_host": "127.0.0.1"}, notify=notify)
    db = Database(url)
    db.migrate()
    with db.session() as session:
        row, _created = add_subscriber(session, Subscriber(address="partner@firm.example"))
        token = row.token
    async with running_service(settings) as service:
        assert service.health is not None
        base = f"http://127.0.0.1:{service.health.port}/email/unsubscribe"

        def post(query: str) -> int:
            request = urllib.request.Request(f"{base}?{query}", data=b"List-Unsubscribe=One-Click", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as err:
                return err.code

        assert await asyncio.to_thread(post, "token=not-a-real-token") == 404
        assert await asyncio.to_thread(post, f"token={token}") == 200
        assert await asyncio.to_thread(post, f"token={token}") == 200  # idempotent
    with db.session() as session:
        [subscriber] = [s for s in load_subscribers(settings.notify.email, session) if s.address == "partner@firm.example"]
    assert subscriber.unsubscribed
    db.dispose()
