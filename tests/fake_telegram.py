"""A local fake of the Telegram Bot API, strict where Telegram is strict.

A real HTTP server (stdlib, in a thread) answering ``/bot<token>/<method>`` the way
api.telegram.org does, so python-telegram-bot talks to it through ``base_url`` unchanged:

- ``parse_mode=HTML`` texts and captions are parsed like Telegram parses them: only the
  supported tags (b, strong, i, em, u, ins, s, strike, del, span class="tg-spoiler",
  tg-spoiler, a href, code, pre, blockquote, tg-emoji), every tag closed in order, only
  ``&lt; &gt; &amp; &quot;`` and numeric entities, no bare ``<``, ``>`` or ``&``.
  Anything else is a ``400 Bad Request: can't parse entities…``.
- texts over 4096 and captions over 1024 UTF-16 code units (after entity parsing) are 400.
- optional flood control (``enforce_limits=True``): ≤ 30 messages in any 1 s window for
  the bot, ≤ 20 in any 60 s window per group or channel; excess → ``429`` with
  ``parameters.retry_after`` like the real API.
- ``getUpdates`` hands out updates injected with :meth:`FakeTelegram.push_update`.

Every request is recorded (``calls``); accepted messages are in ``sent``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from bot.settings.config import TelegramSettings
from sample_events import baseline_event

__all__ = [
    "FakeTelegram",
    "Call",
    "validate_html",
    "HtmlError",
    "utf16_len",
    "TEXT_LIMIT",
    "CAPTION_LIMIT",
    "ALLOWED_TAGS",
    "iter_texts",
    "filing_record",
    "list_event",
    "baseline",
    "seed_list",
    "seed_filings",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
     "blockquote", "tg-emoji"}
)
# Methods that post a message: they count against flood limits.
MESSAGE_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "copymessage"})

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>")
_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


class HtmlError(ValueError):
    """What Telegram answers as ``Bad Request: can't parse entities: …``."""


def _decode_entities(text: str, offset: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "&":
            match = _ENTITY.match(text, i)
            if not match:
                raise HtmlError(f"Unsupported HTML entity at byte offset {offset + len(text[:i].encode())}")
            if match.group(1):
                out.append(_NAMED[match.group(1)])
            else:
                code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
                if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise HtmlError(f"Invalid numeric HTML entity at byte offset {offset + len(text[:i].encode())}")
                out.append(chr(code))
            i = match.end()
            continue
        if ch in "<>":
            raise HtmlError(f"Unexpected {ch!r} at byte offset {offset + len(text[:i].encode())}")
        out.append(ch)
        i += 1
    return "".join(out)


def validate_html(text: str) -> str:
    """Parse a ``parse_mode=HTML`` text like Telegram; return the plain text or raise HtmlError."""
    plain: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        lt = text.find("<", pos)
        chunk = text[pos : lt if lt >= 0 else len(text)]
        plain.append(_decode_entities(chunk, len(text[:pos].encode())))
        if lt < 0:
            break
        match = _TAG.match(text, lt)
        byte_offset = len(text[:lt].encode())
        if not match:
            raise HtmlError(f"Unsupported start tag at byte offset {byte_offset}")
        closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if closing:
            if attrs.strip():
                raise HtmlError(f"Unexpected end tag attributes at byte offset {byte_offset}")
            if not stack:
                raise HtmlError(f'Unexpected end tag "{name}" at byte offset {byte_offset}')
            if stack[-1] != name:
                raise HtmlError(
                    f'Unmatched end tag at byte offset {byte_offset}, expected "</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
        else:
            if name not in ALLOWED_TAGS:
                raise HtmlError(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
            values: dict[str, str] = {}
            for attr in _ATTR.finditer(attrs):
                raw = next((g for g in attr.group(2, 3, 4) if g is not None), "")
                values[attr.group(1).lower()] = _decode_entities(raw, byte_offset)
            if stack and stack[-1] in ("code", "pre") and not (stack[-1] == "pre" and name == "code"):
                raise HtmlError(f'Unsupported nested tag "{name}" inside "{stack[-1]}" at byte offset {byte_offset}')
            if name == "a":
                href = values.get("href", "")
                if not re.match(r"^(https?://[^\s]+|tg://[^\s]+|mailto:[^\s]+)$", href):
                    raise HtmlError(f"Wrong or unsupported URL in a href at byte offset {byte_offset}")
            if name == "span" and values.get("class") != "tg-spoiler":
                raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
            if name == "tg-emoji" and not values.get("emoji-id", "").isdigit():
                raise HtmlError(f"Custom emoji needs emoji-id at byte offset {byte_offset}")
            stack.append(name)
        pos = match.end()
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(plain)


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, str]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    message_id: int | None = None

    @property
    def chat_id(self) -> str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    @property
    def caption(self) -> str | None:
        return self.params.get("caption")

    def json(self, name: str) -> Any:
        raw = self.params.get(name)
        return None if raw is None else json.loads(raw)


@dataclass
class _Failure:
    method: str | None
    status: int
    description: str
    retry_after: int | None
    chat_id: str | None


class FakeTelegram:
    """The fake server. Use as a context manager; ``base_url`` goes into ``TelegramSettings.api_base_url``."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        enforce_limits: bool = False,
        global_per_second: int = 30,
        group_per_minute: int = 20,
        long_poll_cap: float = 0.25,
        bot_username: str = "cacwatch_test_bot",
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.group_per_minute = group_per_minute
        self.long_poll_cap = long_poll_cap
        self.bot_username = bot_username
        self.calls: list[Call] = []
        self.sent: list[Call] = []
        self.rejected: list[tuple[Call, int, str]] = []
        self.too_many_requests = 0
        self.blocked: set[str] = set()  # chat ids that blocked the bot → 403
        self.slow_chats: dict[str, float] = {}  # chat id → seconds before a send to it is answered
        self._failures: list[_Failure] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id: dict[str, int] = defaultdict(lambda: 1)
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> "FakeTelegram":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-telegram", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` should be: it appends ``<token>/<method>``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # --- test controls ----------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; ``update_id`` is assigned. Returns it."""
        with self._lock:
            update = dict(update)
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._updates.append(update)
            self._lock.notify_all()
            return update["update_id"]

    def fail_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        status: int = 429,
        retry_after: int | None = 3,
        description: str | None = None,
        chat_id: str | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail (a 429 storm, a 500…)."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                500: "Internal Server Error",
            }.get(status, "Bad Request")
        with self._lock:
            for _ in range(count):
                self._failures.append(
                    _Failure(method.lower() if method else None, status, description,
                             retry_after if status == 429 else None, chat_id)
                )

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.05))
            return True

    def messages(self, chat_id: str | int | None = None, method: str | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.sent
                if (chat_id is None or c.chat_id == str(chat_id)) and (method is None or c.method == method)
            ]

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # --- the API ------------------------------------------------------------------------

    def _chat(self, chat_id: str) -> dict[str, Any]:
        if chat_id.startswith("@"):
            # A stable negative id per username, like a channel.
            number = -1000000000000 - (sum(ord(c) for c in chat_id) % 1000000)
            return {"id": number, "type": "channel", "title": chat_id[1:], "username": chat_id[1:]}
        number = int(chat_id)
        if number < 0:
            return {"id": number, "type": "supergroup", "title": "group"}
        return {"id": number, "type": "private", "first_name": "User"}

    def _message(self, call: Call, extra: dict[str, Any]) -> dict[str, Any]:
        chat_id = call.params["chat_id"]
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] += 1
        call.message_id = message_id
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": {"id": 123456, "is_bot": True, "first_name": "cacwatch", "username": self.bot_username},
            **extra,
        }

    def _flood(self, call: Call, now: float) -> int | None:
        """Seconds to wait if this message would break a flood limit, else None (and count it)."""
        chat_id = call.params.get("chat_id", "")
        is_group = chat_id.startswith("@") or chat_id.startswith("-")
        window = self._global_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.global_per_second:
            return max(1, math.ceil(window[0] + 1.0 - now))
        if is_group:
            chat_window = self._chat_windows[chat_id]
            while chat_window and chat_window[0] <= now - 60.0:
                chat_window.popleft()
            if len(chat_window) >= self.group_per_minute:
                return max(1, math.ceil(chat_window[0] + 60.0 - now))
            chat_window.append(now)
        window.append(now)
        return None

    def handle(
        self, method: str, params: dict[str, str], files: dict[str, tuple[str, bytes]]
    ) -> tuple[int, dict[str, Any]]:
        call = Call(method=method, params=params, files=files)
        lowered = method.lower()
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
            for failure in self._failures:
                if (failure.method in (None, lowered)) and (failure.chat_id in (None, params.get("chat_id"))):
                    if lowered in ("getupdates", "getme", "deletewebhook", "setmycommands") and failure.method is None:
                        continue  # storms aim at messages unless told otherwise
                    self._failures.remove(failure)
                    return self._error(call, failure.status, failure.description, failure.retry_after)
        if lowered == "getupdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        delay = self.slow_chats.get(str(params.get("chat_id")), 0.0)
        if delay:
            time.sleep(delay)  # a slow answer for that chat only (this request's own thread)
        with self._lock:
            try:
                return self._dispatch(call, lowered)
            finally:
                self._lock.notify_all()

    def _error(self, call: Call, status: int, description: str, retry_after: int | None = None) -> tuple[int, dict[str, Any]]:
        call.status = status
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
            self.too_many_requests += 1
        self.rejected.append((call, status, description))
        return status, body

    def _dispatch(self, call: Call, method: str) -> tuple[int, dict[str, Any]]:
        params = call.params
        if method == "getme":
            return 200, {"ok": True, "result": {
                "id": 123456, "is_bot": True, "first_name": "cacwatch", "username": self.bot_username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
            }}
        if method in ("deletewebhook", "setwebhook", "setmycommands", "deletemycommands", "answercallbackquery",
                      "close", "logout", "sendchataction"):
            return 200, {"ok": True, "result": True}
        if method == "getwebhookinfo":
            return 200, {"ok": True, "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0}}
        if method not in MESSAGE_METHODS and method != "editmessagetext":
            return self._error(call, 404, "Not Found")
        chat_id = params.get("chat_id")
        if not chat_id:
            return self._error(call, 400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked:
            return self._error(call, 403, "Forbidden: bot was blocked by the user")
        html_mode = (params.get("parse_mode") or "").upper() == "HTML"
        extra: dict[str, Any] = {}
        for key, limit, empty_message in (("text", TEXT_LIMIT, "message text is empty"),
                                           ("caption", CAPTION_LIMIT, None)):
            if key not in params:
                continue
            value = params[key]
            try:
                plain = validate_html(value) if html_mode else value
            except HtmlError as err:
                return self._error(call, 400, f"Bad Request: can't parse entities: {err}")
            if empty_message and not plain.strip():
                return self._error(call, 400, f"Bad Request: {empty_message}")
            if utf16_len(plain.strip()) > limit:
                what = "message is too long" if key == "text" else "message caption is too long"
                return self._error(call, 400, f"Bad Request: {what}")
            extra[key] = plain
        if method in ("sendmessage", "editmessagetext") and "text" not in params:
            return self._error(call, 400, "Bad Request: message text is empty")
        if method == "sendphoto":
            photo = call.files.get("photo")
            if photo is None or not photo[1].startswith(b"\x89PNG\r\n\x1a\n") and not photo[1].startswith(b"\xff\xd8"):
                return self._error(call, 400, "Bad Request: IMAGE_PROCESS_FAILED")
            extra["photo"] = [{"file_id": f"photo{len(self.sent)}", "file_unique_id": f"u{len(self.sent)}",
                               "width": 800, "height": 400, "file_size": len(photo[1])}]
        if method == "senddocument":
            document = call.files.get("document")
            if document is None:
                return self._error(call, 400, "Bad Request: there is no document in the request")
            extra["document"] = {"file_id": f"doc{len(self.sent)}", "file_unique_id": f"d{len(self.sent)}",
                                 "file_name": document[0], "file_size": len(document[1])}
        if "reply_markup" in params:
            extra["reply_markup"] = json.loads(params["reply_markup"])
        if method == "editmessagetext":
            message_id = int(params.get("message_id", "0"))
            call.message_id = message_id
            self.sent.append(call)
            return 200, {"ok": True, "result": {
                "message_id": message_id, "date": int(time.time()), "edit_date": int(time.time()),
                "chat": self._chat(chat_id), **extra}}
        if self.enforce_limits:
            retry_after = self._flood(call, time.monotonic())
            if retry_after is not None:
                return self._error(call, 429, f"Too Many Requests: retry after {retry_after}", retry_after)
        result = self._message(call, extra)
        self.sent.append(call)
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", "0") or 0)
        timeout = float(params.get("timeout", "0") or 0)
        deadline = time.monotonic() + min(timeout, self.long_poll_cap)
        with self._lock:
            if offset:
                # Like Telegram: updates below the offset are confirmed and forgotten.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            limit = int(params.get("limit", "100") or 100)
            return list(self._updates[:limit])


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTelegram
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects

    def setup(self) -> None:
        super().setup()
        # Small responses on a kept-alive connection: without this Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a long poll cancelled at shutdown)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(b"", "")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._serve(body, self.headers.get("Content-Type", ""))

    def _serve(self, body: bytes, content_type: str) -> None:
        path = self.path.split("?", 1)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path[0])
        if not match:
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        if match.group(1) != self.owner.token:
            self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        params: dict[str, str] = dict(parse_qsl(path[1])) if len(path) > 1 else {}
        files: dict[str, tuple[str, bytes]] = {}
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename is not None:
                    files[str(name)] = (filename, payload)
                else:
                    params[str(name)] = payload.decode("utf-8")
        elif content_type.startswith("application/json"):
            decoded = json.loads(body or b"{}")
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()})
        elif body:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        status, reply = self.owner.handle(match.group(2), params, files)
        self._reply(status, reply)


def iter_texts(calls: list[Call]) -> Iterator[str]:
    """Texts and captions of calls, in order (for assertions)."""
    for call in calls:
        if call.text is not None:
            yield call.text
        if call.caption is not None:
            yield call.caption


# --- helpers shared by the Telegram tests ---------------------------------------------------------


def filing_record(
    n: int,
    *,
    kind: str = "deep_synthesis",
    name: str | None = None,
    entity: str | None = None,
    list_month: str = "2026-05",
) -> dict[str, Any]:
    """An export record (interfaces.md) for events and database rows."""
    return {
        "kind": kind,
        "list_month": list_month,
        "filing_number": f"网信算备110108{n:07d}0124{n % 1000:03d}1号",  # region, filer, type, year, seq, check
        "name": name or f"智能对话合成算法{n}",
        "entity": entity or f"北京示例科技有限公司{n}",
        "role": "provider" if kind == "deep_synthesis" else None,
        "category": "生成合成类" if kind == "algorithm_recommendation" else None,
        "products": ["示例App（APP、网站）"],
        "purpose": "应用于文本生成场景",
        "province": "北京市",
        "remark": "",
        "status": "active",
        "filed_on": None,
    }


def list_event(
    event_type: str = "list.published",
    *,
    new: list[dict[str, Any]] | None = None,
    changed: list[dict[str, Any]] | None = None,
    removed: list[dict[str, Any]] | None = None,
    notable: list[dict[str, Any]] | None = None,
    batch: int | None = 17,
    kind: str = "deep_synthesis",
    sizes: list[list[Any]] | None = None,
    part: dict[str, int] | None = None,
    **data_overrides: Any,
) -> dict[str, Any]:
    """A list.published / list.revised event shaped as bot/event_schema.py describes."""
    new = new if new is not None else [filing_record(i) for i in range(3)]
    changed = changed or []
    removed = removed or []
    data: dict[str, Any] = {
        "kind": kind,
        "list_month": "2026-05",
        "title": "国家互联网信息办公室关于发布第十七批深度合成服务算法备案信息的公告",
        "name": "境内深度合成服务算法备案清单（2026年5月）",
        "batch": batch,
        "page_url": "https://www.cac.gov.cn/2026-05/06/c_1.htm",
        "attachment_url": "https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=abc&fText=x",
        "counts": {"new": len(new), "changed": len(changed), "removed": len(removed), "rows": len(new) + 100},
        "new": new,
        "changed": changed,
        "removed": removed,
        "notable": notable if notable is not None else [
            {"type": "rank", "zh": "本批为 7 批中第二大。", "en": "The second-largest of 7 lists.",
             "data": {"size": 103, "rank": 2, "of": 7, "kind": kind}},
        ],
    }
    if sizes is not None:
        data["sizes"] = sizes
    if part is not None:
        data["part"] = part
    data.update(data_overrides)
    return {"id": "evt_0123456789abcdef", "type": event_type, "timestamp": "2026-05-06T08:01:02Z", "data": data}


def baseline(notable: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """sample_events' baseline event, with these notable lines."""
    event: dict[str, Any] = dict(baseline_event())
    event["data"]["notable"] = notable or []
    return event


def telegram_settings(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    """Settings for the fake Bot API, its rate limits opened wide (the tests measure behaviour, not pacing)."""
    values: dict[str, Any] = {
        "token": fake.token,
        "api_base_url": fake.base_url,
        "max_per_second": 1000,
        "max_per_minute_per_chat": 60000,
        "timeout": 5,
    }
    return TelegramSettings(**{**values, **overrides})


def seed_list(session: Any, kind: str, list_month: str, rows: int, *, name: str | None = None) -> int:
    """A parsed list (FilingList + current ListVersion of ``rows`` rows); returns its id."""
    from storage.models import FilingList, ListVersion

    filing_list = FilingList(
        attachment_key=f"{kind}:{list_month}:{rows}:{name}",
        kind=kind,
        list_month=list_month,
        name=name or f"{kind} 清单（{list_month}）",
        title=f"关于发布{kind}备案信息的公告",
        page_url=f"https://www.cac.gov.cn/{list_month}/c_{rows}.htm",
        attachment_url=f"https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath={rows}&fText=x",
    )
    session.add(filing_list)
    session.flush()
    version = ListVersion(list_id=filing_list.id, sha256="0" * 64, format="docx", row_count=rows,
                          rows_digest="0" * 64, warnings=[])
    session.add(version)
    session.flush()
    filing_list.current_version_id = version.id
    return int(filing_list.id)


def seed_filings(session: Any, list_id: int, records: list[dict[str, Any]]) -> None:
    from storage.models import Filing

    for record in records:
        session.add(Filing(first_list_id=list_id, current_list_id=list_id, flags=[], present=True, **record))
    session.flush()
