"""The Telegram notifier: a channel thread per list event, private alerts for watchers and subscribers.

Destinations (one outbox delivery each):
- ``telegram:channel:<channel>`` — list.published / list.revised (chart photo first for a
  published list, then the text posts) and the single baseline.established post;
- ``telegram:user:<chat_id>`` — a user whose ``/watch`` pattern matches a filer of the event's
  new, changed or removed filings, or who ``/subscribe``d to the event's kind.

A thread can fail midway (429, network): every accepted post is recorded per delivery id
(``telegram_posted_parts``) and a retry sends only what is missing. Flood limits are kept by
python-telegram-bot's AIORateLimiter with exact sliding windows (``TelegramRateLimiter``);
a 429 that still happens becomes ``DeliveryError(retry_after=…)`` for the outbox to honour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, cast

import telegram
from storage.db import Session
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.settings.config import TelegramSettings
from bot.changes.event_schema import Event, ListEvent, is_list_event
from bot.delivery.notifiers.base import DeliveryError, Notifier
from storage import telegram_repo
from bot.delivery.render import renderer
from bot.delivery.telegram.chart import batch_chart
from bot.changes.watchlist import Watchlist, filing_hits
from bot.delivery.telegram.format import caption_for, render_event, render_watch_alert
from storage.db import Database

__all__ = [
    "TelegramNotifier",
    "make_rate_limiter",
    "TelegramRateLimiter",
    "SlidingWindowGate",
    "make_bot",
    "watch_hits",
    "WatchMatcher",
    "retry_after_seconds",
    "USER_PREFIX",
    "CHANNEL_PREFIX",
]

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "telegram:channel:"
USER_PREFIX = "telegram:user:"
PARTS_KEPT = timedelta(days=7)  # posted-part records outlive every retry of their delivery


class SlidingWindowGate:
    """At most ``limit`` sends in any ``period`` seconds *as the server sees them*.

    A send takes a slot when it starts and keeps it until ``period`` after it completes.
    Whatever the network delay, a request reaches the server between its start and its
    completion, so no window of ``period`` at the server holds more than ``limit`` arrivals
    (a leaky bucket counting starts cannot promise that once requests are delayed unevenly).
    Waiters are served first come, first served; only the head of the queue sleeps.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._done: deque[float] = deque()  # completion times still inside the window
        self._inflight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn: asyncio.Lock | None = None
        self._completed: asyncio.Future[None] | None = None

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # locks and futures belong to one event loop
            self._loop, self._turn, self._completed = loop, asyncio.Lock(), None
            self._inflight = 0
        return loop

    def idle(self) -> bool:
        return self._inflight == 0 and not self._done

    async def __aenter__(self) -> None:
        loop = self._bind()
        assert self._turn is not None
        async with self._turn:
            while True:
                now = loop.time()
                while self._done and self._done[0] <= now - self.period:
                    self._done.popleft()
                if len(self._done) + self._inflight < self.limit:
                    self._inflight += 1
                    return
                if self._done:
                    await asyncio.sleep(self._done[0] + self.period - now)
                else:  # every slot is in flight: the first completion starts a countdown
                    self._completed = loop.create_future()
                    await self._completed

    async def __aexit__(self, *exc: object) -> None:
        self._inflight -= 1
        self._done.append(asyncio.get_running_loop().time())
        if self._completed is not None and not self._completed.done():
            self._completed.set_result(None)


_SHARED_GATES: dict[tuple[str, int, int], tuple[SlidingWindowGate, dict[str | int, SlidingWindowGate]]] = {}


class TelegramRateLimiter(AIORateLimiter):
    """AIORateLimiter whose throttles are sliding windows (see SlidingWindowGate).

    AIORateLimiter keeps what it is good at — per-chat grouping, pausing every request after
    a 429, optional retries — while the throttling itself becomes exact: ≤ ``per_second``
    messages in any second for the bot and ≤ ``per_minute_per_chat`` in any minute for each
    group or channel. aiolimiter's leaky bucket either bursts past a strict window or, with
    capacity 1, loses the wake-up latency on every send (≈ 93 % of 30/s in the benchmark).
    """

    def __init__(
        self, per_second: int = 30, per_minute_per_chat: int = 20, *, max_retries: int = 0, share: str | None = None
    ) -> None:
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)
        self._per_chat_limit = per_minute_per_chat
        # Telegram counts per bot, not per client: the notifier and the command bot of one
        # process (same token, ``share``) draw on the same windows.
        key = (share, per_second, per_minute_per_chat) if share is not None else None
        shared = _SHARED_GATES.get(key) if key is not None else None
        if shared is None:
            shared = (SlidingWindowGate(per_second, 1.0), {})
            if key is not None:
                _SHARED_GATES[key] = shared
        self._overall, self._chats = shared

    def _chat_gate(self, chat: str | int) -> SlidingWindowGate:
        if len(self._chats) > 512:
            for key, gate in list(self._chats.items()):
                if gate.idle():
                    del self._chats[key]
        if chat not in self._chats:
            self._chats[chat] = SlidingWindowGate(self._per_chat_limit, 60.0)
        return self._chats[chat]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        gates: list[SlidingWindowGate] = []
        if chat_id is not None and not data.get("allow_paid_broadcast", False):
            # Same grouping rule as AIORateLimiter: @names and negative ids are groups/channels.
            with contextlib.suppress(ValueError, TypeError):
                chat_id = int(chat_id)
            if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0):
                gates.append(self._chat_gate(chat_id))  # the slower gate first: hold no global slot meanwhile
            gates.append(self._overall)

        async def gated(*call_args: Any, **call_kwargs: Any) -> Any:
            async with contextlib.AsyncExitStack() as stack:
                for gate in gates:
                    await stack.enter_async_context(gate)
                return await callback(*call_args, **call_kwargs)

        return await super().process_request(gated, args, kwargs, endpoint, data, rate_limit_args)


def make_rate_limiter(settings: TelegramSettings, *, max_retries: int = 0) -> TelegramRateLimiter:
    """The limiter of the notifier (``max_retries=0``: a 429 goes to the outbox, which honours
    retry_after instead of sleeping inside a delivery) and of the interactive bot."""
    return TelegramRateLimiter(
        settings.max_per_second, settings.max_per_minute_per_chat, max_retries=max_retries, share=settings.token
    )


def make_bot(settings: TelegramSettings, *, max_retries: int = 0) -> ExtBot[int]:
    """A bot talking to ``settings.api_base_url`` (PTB appends ``<token>/<method>``), rate limited."""
    request = HTTPXRequest(
        connection_pool_size=32,  # a whole 1-second window of sends may be in flight together
        connect_timeout=10.0,
        read_timeout=settings.timeout,
        write_timeout=settings.timeout,
        pool_timeout=settings.timeout,
    )
    return ExtBot(
        settings.token,
        base_url=settings.api_base_url,
        request=request,
        rate_limiter=make_rate_limiter(settings, max_retries=max_retries),
    )


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds from a RetryAfter, whether PTB gives an int or a timedelta (it changed in v22.2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# --- the notifier ----------------------------------------------------------------------------------


def _part_index(event: Event) -> int:
    """1 for a baseline or a whole list event; i for part i of a split one."""
    part = event["data"].get("part") if is_list_event(event) else None
    return part["index"] if part else 1


@dataclass(frozen=True, slots=True)
class _Post:
    text: str
    photo: bytes | None = None  # a photo post carries its text as caption


def without_watchlist(event: Event) -> Event:
    """The event without its ``watchlist`` finding: what a public channel may show."""
    if event["type"] == "baseline.established" or not any(f["type"] == "watchlist" for f in event["data"]["notable"]):
        return event
    data = {**event["data"], "notable": [f for f in event["data"]["notable"] if f["type"] != "watchlist"]}
    return cast(Event, {**event, "data": data})


class TelegramNotifier(Notifier):
    kind: ClassVar[str] = "telegram"

    @classmethod
    def from_settings(cls, settings: TelegramSettings, db: Database | None = None) -> "Notifier":
        return cls(settings, db)

    def __init__(self, settings: TelegramSettings, db: Database | None = None, *, bot: telegram.Bot | None = None):
        self.settings = settings
        self.db = db
        self._given_bot = bot
        self._bot: telegram.Bot | None = bot
        self._bot_loop: asyncio.AbstractEventLoop | None = None
        self._init_lock: asyncio.Lock | None = None
        self._initialized = False
        self._memory_parts: dict[str, dict[int, int]] = {}  # used when there is no database
        self._charts: dict[str, bytes] = {}  # event id → PNG, the few most recent

    # --- outbox interface ------------------------------------------------------------------

    @property
    def destination(self) -> str:
        return f"{CHANNEL_PREFIX}{self.settings.channel}"

    def accepts(self, event: Event) -> bool:
        """The channel: list events of the configured kinds (first part only), and the baseline."""
        if event["type"] == "baseline.established":
            return True
        if self.settings.kinds and event["data"]["kind"] not in self.settings.kinds:
            return False
        # An event split into parts repeats the counts and findings: the channel tells them once.
        return _part_index(event) == 1

    def fan_out(self, event: Event, session: Session) -> list[str]:
        destinations = [self.destination] if self.accepts(event) else []
        if event["type"] == "baseline.established":
            return destinations  # the baseline is one channel post, nobody else
        chats: set[int] = set()
        if _part_index(event) == 1:
            chats.update(telegram_repo.subscribers(session, event["data"]["kind"]))
        watches = telegram_repo.all_watches(session)
        if watches:
            for hit in filing_hits(event, Watchlist(watches)):
                chats.update(watches.get(hit.pattern, ()))
        return destinations + [f"{USER_PREFIX}{chat_id}" for chat_id in sorted(chats)]

    def problems(self) -> list[str]:
        """Static checks for startup (no network call)."""
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", self.settings.token):
            return [f"{self.destination}: the token does not look like <bot id>:<secret>"]
        return []

    async def send_test_post(self, text: str) -> int:
        """Post ``text`` (Telegram HTML, already escaped) to the channel now, outside the outbox:
        the operator console's "send test post". The message id; DeliveryError when refused."""
        try:
            bot = await self._get_bot()
            message = await bot.send_message(
                chat_id=self.settings.channel, text=text, parse_mode=ParseMode.HTML,
                link_preview_options=telegram.LinkPreviewOptions(is_disabled=True),
            )
        except TelegramError as err:
            raise _delivery_error(err, user=False) from err
        return int(message.message_id)

    async def deliver(self, event: Event, *, delivery_id: str) -> None:
        await self.deliver_to(event, delivery_id=delivery_id, destination=self.destination)

    async def deliver_to(self, event: Event, *, delivery_id: str, destination: str) -> None:
        if destination == self.destination:
            await self._send_thread(self.settings.channel, delivery_id, await self._channel_posts(event), user=False)
            await self._prune_parts()
        elif destination.startswith(USER_PREFIX):
            chat = destination[len(USER_PREFIX) :]
            if not re.fullmatch(r"-?\d+", chat):
                raise DeliveryError(f"bad destination {destination!r}", retryable=False)
            posts, done = await self._user_posts(event, int(chat), delivery_id)
            if posts:  # nothing when the user unwatched / unsubscribed since the event was queued
                # A single private message has no "midway": its bookkeeping would only cost two
                # database round trips per user in a fan-out to thousands.
                await self._send_thread(chat, delivery_id, posts, user=True, done=done, bookkeep=len(posts) > 1)
        else:
            raise DeliveryError(f"unknown destination {destination!r}", retryable=False)

    async def aclose(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None and self._initialized and bot is not self._given_bot:
            try:
                await bot.shutdown()
            except Exception:  # noqa: BLE001 - closing must not raise
                log.debug("telegram bot shutdown failed", exc_info=True)
        self._initialized = False

    # --- content -----------------------------------------------------------------------------

    async def _channel_posts(self, event: Event) -> list[_Post]:
        if not self.settings.show_watchlist:
            event = without_watchlist(event)
        posts = [_Post(text) for text in render_event(event, self.settings.language, self.public_url)]
        if event["type"] == "list.published" and self.settings.chart:
            photo = await self._chart(event)
            if photo is not None:
                posts.insert(0, _Post(caption_for(event, self.settings.language), photo))
        return posts

    async def _chart(self, event: ListEvent) -> bytes | None:
        # A retried delivery (429, network) reuses the picture instead of drawing it again.
        cached = self._charts.get(event["id"])
        if cached is not None:
            return cached
        photo = await self._draw_chart(event)
        if photo is not None:
            self._charts[event["id"]] = photo
            while len(self._charts) > 8:
                self._charts.pop(next(iter(self._charts)))
        return photo

    async def _draw_chart(self, event: ListEvent) -> bytes | None:
        data = event["data"]
        kind, month = data["kind"], data["list_month"]
        sizes: Sequence[Sequence[str | int]] | None = data.get("sizes")
        try:
            if not sizes and self.db is not None:
                sizes = await asyncio.to_thread(self._read_sizes, kind)
            if not sizes:
                return None
            pairs = [(str(m), int(n)) for m, n in sizes]
            return await renderer.run(batch_chart, pairs, month, kind)  # matplotlib: off the service (bot.delivery.render)
        except Exception:  # noqa: BLE001 - the text matters more than the picture
            log.exception("chart for %s %s failed; posting text only", kind, month)
            return None

    def _read_sizes(self, kind: str) -> list[tuple[str, int]]:
        assert self.db is not None
        with self.db.session() as session:
            return telegram_repo.list_sizes(session, kind)

    async def _user_posts(self, event: Event, chat_id: int, delivery_id: str) -> tuple[list[_Post], dict[int, int]]:
        if event["type"] == "baseline.established" or self.db is None:
            return [], {}
        kind = event["data"]["kind"]
        subscribed, patterns, done = await asyncio.to_thread(self._user_state, chat_id, kind, delivery_id)
        texts: list[str] = []
        if subscribed and _part_index(event) == 1:
            texts += render_event(event, self.settings.language, self.public_url)
        hits = filing_hits(event, Watchlist(patterns)) if patterns else []
        if hits:
            texts += render_watch_alert(event, hits, self.settings.language, self.public_url)
        return [_Post(text) for text in texts], done

    def _user_state(self, chat_id: int, kind: str, delivery_id: str) -> tuple[bool, list[str], dict[int, int]]:
        """Subscription, watches and already-posted parts: one database round trip per user."""
        assert self.db is not None
        with self.db.session() as session:
            subscribed = bool(set(telegram_repo.subscriptions_of(session, chat_id)) & {kind, "all"})
            return subscribed, telegram_repo.watches_of(session, chat_id), telegram_repo.posted_parts(session, delivery_id)

    # --- sending -----------------------------------------------------------------------------

    async def _get_bot(self) -> telegram.Bot:
        loop = asyncio.get_running_loop()
        if self._bot is not None and self._initialized and self._bot_loop is loop:
            return self._bot
        if self._init_lock is None or self._bot_loop is not loop:
            self._init_lock = asyncio.Lock()  # a lock belongs to one loop too
        # Hundreds of deliveries start at once: one of them initializes (getMe), the rest wait.
        async with self._init_lock:
            if self._bot is None or (self._bot is not self._given_bot and self._bot_loop is not loop):
                # An httpx client belongs to the event loop it was used on: a new loop gets a new bot.
                self._bot = make_bot(self.settings)
                self._initialized = False
            self._bot_loop = loop
            if not self._initialized:
                await self._bot.initialize()
                self._initialized = True
            return self._bot

    async def _posted(self, delivery_id: str) -> dict[int, int]:
        if self.db is None:
            return dict(self._memory_parts.get(delivery_id, {}))

        def read() -> dict[int, int]:
            assert self.db is not None
            with self.db.session() as session:
                return telegram_repo.posted_parts(session, delivery_id)

        return await asyncio.to_thread(read)

    async def _remember(self, delivery_id: str, index: int, chat: str, message_id: int) -> None:
        if self.db is None:
            self._memory_parts.setdefault(delivery_id, {})[index] = message_id
            return

        def write() -> None:
            assert self.db is not None
            with self.db.session() as session:
                telegram_repo.record_part(session, delivery_id, index, chat, message_id)

        await asyncio.to_thread(write)

    async def _prune_parts(self) -> None:
        """Forget the bookkeeping of deliveries long finished (the outbox gives up after ~1.5 days)."""
        if self.db is None:
            return

        def prune() -> None:
            assert self.db is not None
            with self.db.session() as session:
                telegram_repo.forget_parts(session, datetime.now(timezone.utc) - PARTS_KEPT)

        try:
            await asyncio.to_thread(prune)
        except Exception:  # noqa: BLE001 - housekeeping must not fail a delivery that succeeded
            log.warning("pruning telegram_posted_parts failed", exc_info=True)

    async def _send_thread(
        self,
        chat: str,
        delivery_id: str,
        posts: Sequence[_Post],
        *,
        user: bool,
        done: dict[int, int] | None = None,
        bookkeep: bool = True,
    ) -> None:
        """Post what is not posted yet, in order; ``bookkeep`` records each accepted post."""
        if not posts:
            return
        if done is None:
            done = await self._posted(delivery_id) if bookkeep else {}
        has_photo = posts[0].photo is not None
        try:
            bot = await self._get_bot()
        except TelegramError as err:
            raise _delivery_error(err, user=user) from err
        for position, post in enumerate(posts):
            # Index 0 is reserved for the chart so text indexes stay the same with or without it.
            index = position if has_photo else position + 1
            if index in done:
                continue
            if post.photo is not None and any(i > 0 for i in done):
                continue  # texts already went out: a late chart would only confuse the thread
            try:
                if post.photo is not None:
                    message = await bot.send_photo(
                        chat_id=chat, photo=post.photo, caption=post.text, parse_mode=ParseMode.HTML,
                        filename="list-sizes.png",
                    )
                else:
                    message = await bot.send_message(
                        chat_id=chat, text=post.text, parse_mode=ParseMode.HTML,
                        link_preview_options=telegram.LinkPreviewOptions(is_disabled=True),
                    )
            except TelegramError as err:
                raise _delivery_error(err, user=user) from err
            if bookkeep:
                await self._remember(delivery_id, index, chat, message.message_id)


def _delivery_error(err: TelegramError, *, user: bool) -> DeliveryError:
    """How the outbox should treat a Telegram error."""
    if isinstance(err, RetryAfter):
        seconds = retry_after_seconds(err)
        return DeliveryError(f"429 flood control: retry after {seconds:g}s", retryable=True, retry_after=seconds)
    if isinstance(err, Forbidden):
        # A user who blocked the bot: stop queueing for them (they are re-enabled on /start).
        # The channel: the bot lost its rights; an operator must act, then retry dead letters.
        return DeliveryError(f"403 {err.message}", retryable=False, disable=user)
    if isinstance(err, InvalidToken):
        return DeliveryError(f"invalid bot token: {err.message}", retryable=False)
    if isinstance(err, ChatMigrated):
        return DeliveryError(f"chat migrated to {err.new_chat_id}: update the configuration", retryable=False)
    if isinstance(err, BadRequest):
        gone = "chat not found" in err.message.lower() or "user is deactivated" in err.message.lower()
        return DeliveryError(f"400 {err.message}", retryable=False, disable=user and gone)
    if isinstance(err, (TimedOut, NetworkError)):
        return DeliveryError(f"network: {err.message}", retryable=True)
    return DeliveryError(f"telegram: {err.message}", retryable=True)
