"""One poll in a short-lived child process (``service.poll_process``), so the service idles small.

A poll imports the parsers, the findings (pypinyin's dictionaries) and builds tens of
megabytes of rows, events and ORM state; in a long-lived process most of that stays
resident after the poll (imported modules, a fragmented heap). The service therefore runs
each poll as ``python -m bot.ingest.isolated``: the settings and the tier go in on stdin,
the PollReport and the number of events written come back on stdout, and everything the
poll allocated is returned to the system when the child exits.

Nothing changes for the data: the child runs the same ``poll_and_deliver`` (one transaction
per list); a child killed mid-poll (the service stopping, leadership lost) loses its open
transaction only, like any crash (tests/test_crash.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import sys
from dataclasses import dataclass

from bot.app.config import Settings
from bot.ingest.pipeline import PollReport

__all__ = ["IsolatedPoll", "PollProcessError", "poll_in_child"]


class PollProcessError(RuntimeError):
    """The poll process ended without a report (crashed, killed, or a bug)."""


@dataclass(frozen=True, slots=True)
class IsolatedPoll:
    report: PollReport
    events: int  # events written to the outbox by the poll


async def poll_in_child(settings: Settings, tier: str) -> IsolatedPoll:
    """Run one poll (``bot.ingest.poll.poll_and_deliver`` without delivery) in a child process.

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
        out, _ = await process.communicate(pickle.dumps((settings, tier)))
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
    """``python -m bot.ingest.isolated``: settings and tier on stdin, an IsolatedPoll on stdout."""
    settings, tier = pickle.loads(sys.stdin.buffer.read())
    if not isinstance(settings, Settings) or not isinstance(tier, str):
        print("bot.ingest.isolated: expected (Settings, tier) on stdin", file=sys.stderr)
        return 2
    from bot.app.logs import configure_logging
    from bot.delivery.notifiers.factory import build_notifiers
    from bot.ingest.poll import poll_and_deliver
    from storage.db import Database

    configure_logging(settings)
    answer = sys.stdout.buffer
    db = Database(settings.database.url)
    try:
        notifiers = build_notifiers(settings, db)  # their destinations: one delivery each
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the answer only
            outcome = asyncio.run(poll_and_deliver(settings, db, notifiers, deliver_wait=0, tier=tier))
    finally:
        db.dispose()
    answer.write(pickle.dumps(IsolatedPoll(outcome.report, len(outcome.events))))
    answer.flush()
    return 0


if __name__ == "__main__":
    # Run as bot.ingest.isolated, not __main__: the answer's classes must unpickle by that name.
    from bot.ingest.isolated import _child as child

    sys.exit(child())
