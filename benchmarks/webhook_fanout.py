"""Webhook fan-out: one event to 1,000 endpoints, 10 % of them hanging until the timeout.

    python benchmarks/webhook_fanout.py [--endpoints 1000] [--hanging 0.1] [--timeout 10] [--write docs/benchmarks.md]

A local receiver in its own process (one threaded HTTP server, one path per endpoint) counts
what arrived; hanging paths never answer. The event goes through the real
outbox (SQLite) and ``deliver_due`` with the real WebhookNotifier (signing, guarded client).
Measured: when the healthy endpoints have all received it, and when the whole run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import replace_section  # noqa: E402
from bot.settings.config import WebhookSettings  # noqa: E402
from bot.delivery.notifiers.webhook import WebhookNotifier  # noqa: E402
from bot.delivery.outbox import deliver_due, enqueue, new_event_id  # noqa: E402
from storage.db import Database  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def serve(port_file: Path, hang_every: int) -> None:
    """The receiver, in a process of its own (sharing the sender's GIL would measure the receiver)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[str] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            index = int(self.path.rsplit("/", 1)[1])
            if hang_every and index % hang_every == 0:
                stop.wait(60)
                return
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(received).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


async def run(endpoints: int, hanging: float, timeout: float) -> dict:
    import json
    import subprocess
    import urllib.request

    hang_every = int(1 / hanging) if hanging else 0
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        receiver = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file), "--hang-every", str(hang_every)])
        try:
            while not port_file.exists() or not port_file.read_text():
                await asyncio.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}"
            db = Database(f"sqlite:///{tmp}/bench.db")
            db.migrate()
            notifiers = [
                WebhookNotifier(WebhookSettings(url=f"{base}/hook/{i}", secret=SECRET, allow_private=True, timeout=timeout))
                for i in range(endpoints)
            ]
            healthy = sum(1 for i in range(endpoints) if not (hang_every and i % hang_every == 0))
            event = {"id": new_event_id(), "type": "list.published", "timestamp": "2026-05-06T08:01:02Z",
                     "data": {"kind": "deep_synthesis", "counts": {"new": 1, "changed": 0, "removed": 0},
                              "new": [], "changed": [], "removed": [], "notable": []}}
            with db.session() as session:
                enqueue(session, event, notifiers)

            def received() -> int:
                with urllib.request.urlopen(base + "/stats", timeout=5) as response:
                    return len(json.loads(response.read()))

            started = time.monotonic()
            task = asyncio.create_task(deliver_due(db, {n.destination: n for n in notifiers}, limit=endpoints * 2))
            healthy_done_at = None
            while not task.done():
                if healthy_done_at is None and await asyncio.to_thread(received) >= healthy:
                    healthy_done_at = time.monotonic() - started
                await asyncio.sleep(0.05)
            outcome = task.result()
            total = time.monotonic() - started
            for notifier in notifiers:
                await notifier.aclose()
            db.dispose()
        finally:
            receiver.kill()
    return {
        "endpoints": endpoints,
        "hanging": endpoints - healthy,
        "timeout": timeout,
        "healthy_all_received_s": healthy_done_at if healthy_done_at is not None else total,
        "run_s": total,
        "delivered": outcome.delivered,
        "failed": outcome.failed,
    }


def write_markdown(path: Path, r: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = f"""## Webhook fan-out (benchmarks/webhook_fanout.py)

Measured {date.today().isoformat()} on {machine}: one event through the outbox (SQLite) to
{r['endpoints']:,} local webhook endpoints, {r['hanging']} of them hanging until the {r['timeout']:.0f} s timeout.

| measure | value |
|---|---|
| all {r['endpoints'] - r['hanging']} healthy endpoints received it after | {r['healthy_all_received_s']:.2f} s |
| the delivery run ended (hanging ones timed out, queued for retry) after | {r['run_s']:.2f} s |
| delivered / to retry | {r['delivered']} / {r['failed']} |
"""
    replace_section(path, "## Webhook fan-out", section)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--hanging", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--hang-every", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.hang_every)
        return
    result = asyncio.run(run(args.endpoints, args.hanging, args.timeout))
    print(result)
    if args.write:
        write_markdown(args.write, result)


if __name__ == "__main__":
    main()
