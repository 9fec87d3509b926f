"""A real local HTTP receiver for notifier tests (webhooks, Apprise json://).

Runs a ThreadingHTTPServer in a thread; each path can be told how to answer. Requests are
recorded raw (headers + body bytes) so tests verify signatures exactly as a receiver would.

Every webhook it receives (a POST with a ``webhook-id`` header) is validated against the
published JSON Schema, docs/webhook-events.schema.json; ``running_receiver`` fails the test
that sent a body the schema rejects, so the documentation cannot drift from what is sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Answer", "Received", "Receiver", "running_receiver", "schema_problems", "WEBHOOK_SCHEMA"]

WEBHOOK_SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "webhook-events.schema.json"
_validator = None


def schema_problems(body: bytes) -> list[str]:
    """Why ``body`` is not a webhook event of docs/webhook-events.schema.json (empty: it is)."""
    global _validator
    from jsonschema import Draft202012Validator

    if _validator is None:
        schema = json.loads(WEBHOOK_SCHEMA.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        _validator = Draft202012Validator(schema)
    try:
        payload = json.loads(body)
    except ValueError as err:
        return [f"not JSON: {err}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in _validator.iter_errors(payload)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default 5 resets connections when many arrive at once


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: bool = False  # never answer (until the receiver stops)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.received: list[Received] = []
        self.schema_errors: list[str] = []  # of webhooks whose body the published schema rejects
        self._lock = threading.Lock()
        self._stop = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                problems = schema_problems(body) if self.headers.get("webhook-id") else []
                with receiver._lock:
                    receiver.received.append(
                        Received("POST", self.path, {k: v for k, v in self.headers.items()}, body)
                    )
                    receiver.schema_errors.extend(f"{self.path}: {p}" for p in problems[:5])
                answer = receiver.answers.get(self.path.split("?")[0], Answer())
                if answer.hang:
                    receiver._stop.wait(30)
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # release hanging handlers
        self.server.shutdown()
        self.server.server_close()

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.split("?")[0] == path]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
    # Every webhook sent during the test matched docs/webhook-events.schema.json.
    assert not receiver.schema_errors, "webhook bodies outside the published schema:\n" + "\n".join(receiver.schema_errors[:20])
