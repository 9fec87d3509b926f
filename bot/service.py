"""``cacwatch run``: poll every source on its interval until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from rich.console import Console

from bot.config import Settings
from bot.pipeline import check_once
from storage.db import Database

__all__ = ["run_service"]


async def run_service(settings: Settings, db: Database, console: Console) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def poll() -> None:
        report = await check_once(settings, db)
        console.print(report.summary_line(), markup=False, highlight=False)

    interval = settings.sources.cac.interval
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        poll,
        "interval",
        seconds=interval,
        jitter=max(1, int(interval * 0.1)),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=int(interval),
        next_run_time=datetime.now(),  # first poll at start, then every interval
        id="poll-cac",
    )
    scheduler.start()
    try:
        await stop.wait()
    finally:
        # wait=True lets a running poll finish its current transaction before exit.
        scheduler.shutdown(wait=True)
