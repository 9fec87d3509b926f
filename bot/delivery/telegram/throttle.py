"""Fair serving of chat users: updates run concurrently (bounded), each user within limits.

python-telegram-bot processes one update at a time unless told otherwise, so one slow
request (a large /export, a slow reply) made every other user wait. ``FairUpdateProcessor``
runs up to ``concurrent_updates`` updates at once and, per user:

- at most ``per_minute`` updates a minute (a leaky bucket, ``aiolimiter``: short bursts
  pass, a flood does not);
- at most ``in_flight`` updates at once, so a single user can never occupy every slot.

An update over a limit is not processed; the user gets one polite reply per minute
("too many requests, wait a moment") rather than one per refused message.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

__all__ = ["FairUpdateProcessor", "TOO_MANY", "STILL_WORKING"]

log = logging.getLogger(__name__)

TOO_MANY = "⏳ 请求太频繁，请稍等一分钟再试。/ Too many requests: please wait a minute and try again."
STILL_WORKING = "⏳ 上一个请求还在处理中，请稍候。/ Still working on your previous request: one moment, please."
_USERS_KEPT = 10_000  # limiters of this many recent users; older ones start afresh


class _User:
    __slots__ = ("limiter", "in_flight", "told_at")

    def __init__(self, per_minute: int) -> None:
        self.limiter = AsyncLimiter(per_minute, 60)
        self.in_flight = 0
        self.told_at = float("-inf")


class FairUpdateProcessor(BaseUpdateProcessor):
    """Bounded concurrency with a per-user rate and in-flight limit (see the module doc)."""

    def __init__(
        self,
        concurrent_updates: int,
        *,
        per_minute: int,
        in_flight: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(concurrent_updates)
        self._per_minute = per_minute
        self._in_flight = in_flight
        self._clock = clock
        self._users: OrderedDict[int, _User] = OrderedDict()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _user(self, user_id: int) -> _User:
        user = self._users.get(user_id)
        if user is None:
            user = self._users[user_id] = _User(self._per_minute)
            while len(self._users) > _USERS_KEPT:
                oldest, state = next(iter(self._users.items()))
                if state.in_flight:
                    break  # still busy: kept (rare; the dict shrinks on a later update)
                del self._users[oldest]
        self._users.move_to_end(user_id)
        return user

    def _refusal(self, user: _User) -> str | None:
        if user.in_flight >= self._in_flight:
            return STILL_WORKING
        if not user.limiter.has_capacity():
            return TOO_MANY
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user_id = update.effective_user.id if isinstance(update, Update) and update.effective_user else None
        if user_id is None:  # nothing to attribute it to (channel posts are not requested)
            await coroutine
            return
        user = self._user(user_id)
        refusal = self._refusal(user)
        if refusal is not None:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # never run: no "was never awaited" warning
            await self._tell(update, user, refusal)
            return
        await user.limiter.acquire()  # has capacity: returns at once
        user.in_flight += 1
        try:
            await coroutine
        finally:
            user.in_flight -= 1

    async def _tell(self, update: object, user: _User, text: str) -> None:
        now = self._clock()
        if now - user.told_at < 60:
            return  # told already this minute: a flood gets one answer, not one per message
        user.told_at = now
        assert isinstance(update, Update)
        message = update.effective_message
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text[:200])
            elif message is not None:
                await message.reply_text(text)
        except TelegramError as err:
            log.info("could not tell a user to slow down: %s", err.__class__.__name__)
