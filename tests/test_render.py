"""bot.delivery.render: heavy rendering in a thread, or (``cacwatch run``) in a child the service lets go."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import yaml
from fake_telegram import FakeTelegram
from service_helpers import spawn, wait_until
from smtp_sink import Sink, smtp_server

from bot.delivery.render import RenderError, Renderer
from builders import replica_source
from conftest import WEBHOOK_SECRET
from scrapers.replica.server import ReplicaServer
from webhook_receiver import Receiver


def whose_pid(tag: str) -> tuple[str, int]:
    return tag, os.getpid()


def die_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def loads_matplotlib() -> bool:
    import matplotlib  # noqa: F401 - the point is what importing it leaves behind

    return True


def test_in_process_by_default_renders_in_a_thread_of_this_process() -> None:
    renderer = Renderer()
    import asyncio

    assert asyncio.run(renderer.run(whose_pid, "a")) == ("a", os.getpid())
    assert renderer.release() is False  # nothing to stop


def test_isolated_renders_in_a_child_which_release_stops_and_the_next_render_starts_again() -> None:
    import asyncio

    renderer = Renderer()
    renderer.isolate()
    try:
        tag, child = asyncio.run(renderer.run(whose_pid, "b"))
        assert tag == "b" and child != os.getpid()
        assert asyncio.run(renderer.run(whose_pid, "c"))[1] == child  # kept while deliveries go on
        assert asyncio.run(renderer.run(loads_matplotlib))
        assert renderer.release() is True
        wait_until(lambda: not _alive(child), timeout=10)
        again = asyncio.run(renderer.run(whose_pid, "d"))[1]
        assert again not in (child, os.getpid())
    finally:
        renderer.isolate(False)


def test_a_child_that_dies_mid_render_fails_that_render_only() -> None:
    import asyncio

    renderer = Renderer()
    renderer.isolate()
    try:
        with pytest.raises(RenderError, match="rendering process died"):
            asyncio.run(renderer.run(die_now))
        assert asyncio.run(renderer.run(whose_pid, "after"))[0] == "after"
    finally:
        renderer.isolate(False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _mapped(pid: int, needle: str) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # gone meanwhile
        return False


def test_cacwatch_run_announces_with_every_notifier_and_keeps_matplotlib_out_of_the_service(
    replica: ReplicaServer, tmp_path: Path, receiver: Receiver
) -> None:
    """The whole service as a user runs it: a Telegram channel with charts, an email digest with
    its chart and CSV/XLSX attachments, a webhook. Every message goes out, and the service
    process never maps matplotlib: the drawing happened in a child that is gone afterwards."""
    publish = replica.withhold("/2024-01/05/c_1706119043746644.htm")  # deep-synthesis batch 3
    sink = Sink()
    with FakeTelegram() as telegram, smtp_server(sink) as smtp_port:
        config = {
            "database": {"url": f"sqlite:///{tmp_path / 'cacwatch.db'}"},
            "data_dir": str(tmp_path / "data"),
            "parse_workers": 0,
            "sources": {"cac": replica_source(replica, retries=0, interval="1s")},
            "service": {"health_port": None, "delivery_interval": "0.2s"},
            "notify": {
                "webhooks": [{"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True}],
                "telegram": {"token": telegram.token, "api_base_url": telegram.base_url, "channel": "@render",
                             "chart": True, "interactive": False, "max_per_minute_per_chat": 6000},
                "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "security": "none",
                          "sender": "watch@example.org", "recipients": ["legal@example.org"], "chart": True},
            },
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        with spawn(path, tmp_path / "run.log") as service:
            wait_until(lambda: len(sink.messages) >= 1 or service.popen.poll() is not None, timeout=120)
            assert service.popen.poll() is None, service.output()[-3000:]
            publish()

            def announced() -> bool:
                photos = telegram.messages("@render", "sendPhoto")
                return bool(photos) and len(sink.messages) >= 2

            assert wait_until(announced, timeout=120), service.output()[-3000:]
            digest = sink.messages[-1]
            names = {part.get_filename() for part in digest.iter_attachments()}
            assert any(n and n.endswith(".xlsx") for n in names) and any(n and n.endswith(".csv") for n in names)
            assert any(p.get_content_type() == "image/png" for p in digest.walk())  # the inline chart
            assert telegram.messages("@render", "sendPhoto")[0].files["photo"][1].startswith(b"\x89PNG")
            # Drawn elsewhere: the service never loaded matplotlib's native modules …
            assert not _mapped(service.pid, "matplotlib"), "matplotlib was loaded into the service"
            # … and the child that did is stopped once nothing is due.
            def children() -> list[int]:
                found = []
                for entry in Path("/proc").iterdir():
                    if entry.name.isdigit():
                        try:
                            stat = (entry / "stat").read_text()
                        except OSError:
                            continue
                        if int(stat.rsplit(")", 1)[1].split()[1]) == service.pid and _alive(int(entry.name)):
                            found.append(int(entry.name))
                return found

            assert wait_until(lambda: not any(_mapped(pid, "matplotlib") for pid in children() if _alive(pid)), timeout=30)
            service.signal(signal.SIGTERM)
            assert service.wait(30) == 0, service.output()[-3000:]
