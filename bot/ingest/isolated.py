"""The service's poll (``service.poll_process``): a look in the service, the work in a child.

A poll that stores lists imports the parsers, the findings (pypinyin's dictionaries) and
builds tens of megabytes of rows, events and ORM state; in a long-lived process most of that
stays resident after the poll (imported modules, a fragmented heap). Most polls store
nothing, though: a front-door poll reads four pages and finds no new list. So
``poll_looking_first`` splits each poll:

- the **look**, in the service: the database's state and the source's discovery (a few
  pages through the fetcher the service has imported anyway: ``bot.app.service`` holds the
  pipeline). A front-door poll that finds nothing to fetch is recorded there and then
  (``pipeline.look_first``): no process to start, nothing of the parsing or event machinery
  imported. What the look allocated (parsed pages hold reference cycles) is collected
  after the poll, so the service does not creep from poll to poll;
- the **work**, in a short-lived child (``python -m bot.ingest.isolated``), only when there
  is something to fetch (a new list, one whose first fetch failed) and for every
  revalidation and first poll: the settings, the tier and the looks go in on stdin (the
  child does not ask the site for the pages again), the PollReport and the number of events
  written come back on stdout, and everything the work allocated is returned to the system
  when the child exits.

Nothing changes for the data: the child runs the same ``poll_and_deliver`` (one transaction
per list), with the look standing in for its discovery; a child killed mid-poll (the service
stopping, leadership lost) loses its open transaction only, like any crash
(tests/test_crash.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import pickle
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings.config import Settings
from bot.ingest.pipeline import Look, PollReport, configured_sources, look_first, merge_reports
from storage.db import Database

__all__ = ["IsolatedPoll", "PollProcessError", "poll_in_child", "poll_looking_first"]


class PollProcessError(RuntimeError):
    """The poll process ended without a report (crashed, killed, or a bug)."""


@dataclass(frozen=True, slots=True)
class IsolatedPoll:
    report: PollReport
    events: int  # events written to the outbox by the poll


async def poll_looking_first(settings: Settings, db: Database, tier: str) -> IsolatedPoll:
    """One poll of every configured source: each looked at in this process, finished here
    when its front door found nothing to fetch, else in one child for all the rest.

    Cancelling this coroutine kills the child: its open transaction rolls back."""
    finished: list[PollReport] = []
    looks: dict[str, Look] = {}
    for source in configured_sources(settings):
        outcome = await look_first(source, settings, db, tier=tier)
        if isinstance(outcome, Look):
            looks[source.name] = outcome
        else:
            finished.append(outcome)
    events = 0
    if looks:
        child = await poll_in_child(settings, tier, looks)
        finished.append(child.report)
        events = child.events
    return IsolatedPoll(merge_reports(finished), events)


def release_memory() -> None:
    """Give back what a look allocated (call it after the poll, off its critical path). bs4 trees are reference cycles, freed only by a full
    collection, which a quiet service seldom runs on its own: without it the service grows by
    ~0.25 MB a poll (benchmarks/ingest.py). Then glibc returns the freed heap to the system."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the collection alone
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def poll_in_child(settings: Settings, tier: str, looks: Mapping[str, Look] | None = None) -> IsolatedPoll:
    """Run one poll (``bot.ingest.poll.poll_and_deliver`` without delivery) in a child process:
    of the sources in ``looks``, from what their look found, or (None) of every source.

    Cancelling this coroutine kills the child: its open transaction rolls back."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.ingest.isolated",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        # stderr inherited: the child logs through the service's own log configuration.
    )
    try:
        # The settings hold secrets: they go through a pipe, never the command line or a file.
        out, _ = await process.communicate(pickle.dumps((settings, tier, None if looks is None else dict(looks))))
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise PollProcessError(f"the poll process exited with status {process.returncode}")
    try:
        # Our own child's answer, read from its stdout pipe (nothing else writes there).
        result = pickle.loads(out)
    except Exception as err:  # noqa: BLE001
        raise PollProcessError(f"the poll process answered garbage: {type(err).__name__}") from None
    if not isinstance(result, IsolatedPoll):
        raise PollProcessError("the poll process answered something other than a report")
    return result


def _child() -> int:
    """``python -m bot.ingest.isolated``: settings, tier and looks on stdin, an IsolatedPoll on stdout."""
    settings, tier, looks = pickle.loads(sys.stdin.buffer.read())
    if not isinstance(settings, Settings) or not isinstance(tier, str) or not isinstance(looks, (dict, type(None))):
        print("bot.ingest.isolated: expected (Settings, tier, looks) on stdin", file=sys.stderr)
        return 2
    from bot.settings.logs import configure_logging
    from bot.delivery.notifiers.factory import build_notifiers
    from bot.ingest.poll import poll_and_deliver

    configure_logging(settings)
    answer = sys.stdout.buffer
    db = Database(settings.database.url)
    try:
        notifiers = build_notifiers(settings, db)  # their destinations: one delivery each
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the answer only
            outcome = asyncio.run(poll_and_deliver(settings, db, notifiers, deliver_wait=0, tier=tier, looks=looks))
    finally:
        db.dispose()
    answer.write(pickle.dumps(IsolatedPoll(outcome.report, len(outcome.events))))
    answer.flush()
    return 0


if __name__ == "__main__":
    # Run as bot.ingest.isolated, not __main__: the answer's classes must unpickle by that name.
    from bot.ingest.isolated import _child as child

    sys.exit(child())
