"""``cacwatch lists held`` and ``cacwatch lists confirm KIND MONTH``: re-issues held as suspect.

A re-issue that lost a large share of its rows is stored but held (``storage.holds``); the
operator looks at the list on the site and either waits (the hold ends by itself when the
full list is served again, or is confirmed after a day of the same bytes) or confirms it
now. Confirming announces what the held version changes (removals included) exactly once,
through the outbox like a poll; the deliveries go out with the next ``check`` or ``run``.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from bot.app import cli_common
from bot.app.cli_common import fail as _fail

__all__ = ["lists_app"]

lists_app = typer.Typer(help="Stored lists: re-issues held as suspect (rows missing).", no_args_is_help=True)

_KINDS = ("deep_synthesis", "algorithm_recommendation", "genai_service")


@lists_app.command("held")
def held() -> None:
    """Lists whose latest re-issue is held as suspect, with how many rows it lost."""
    from storage.holds import held_lists

    settings = cli_common.settings()
    db = cli_common.database(settings)
    with db.session() as session:
        found = held_lists(session)
    db.dispose()
    if not found:
        print("no list is held")
        return
    for h in found:  # one line each: readable in a cron mail, greppable in a script
        print(f"{h.describe()}; held since {h.since:%Y-%m-%d %H:%M} UTC")


@lists_app.command("confirm")
def confirm(
    kind: Annotated[str, typer.Argument(help="deep_synthesis, algorithm_recommendation or genai_service")],
    month: Annotated[str, typer.Argument(help="The list month, YYYY-MM")],
) -> None:
    """Accept the held re-issue of KIND MONTH as the list's content and announce its changes."""
    if kind not in _KINDS:
        raise _fail(f"unknown kind {kind!r} ({', '.join(_KINDS)})", 2)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise _fail(f"month {month!r}: expected YYYY-MM", 2)
    from bot.changes.events import OutboxHooks
    from bot.changes.watchlist import Watchlist
    from bot.delivery.notifiers.factory import build_notifiers
    from storage.holds import held_lists
    from storage.repo import Repository

    settings = cli_common.settings()
    db = cli_common.database(settings)
    notifiers = build_notifiers(settings, db)
    watchlist = Watchlist(settings.notify.watchlist) if settings.notify.watchlist else None
    hooks = OutboxHooks(notifiers, first_run=settings.notify.first_run, watchlist=watchlist)
    confirmed = []
    with db.session() as session:
        repo = Repository(session)
        for h in held_lists(session, kind=kind, list_month=month):
            filing_list = repo.list_by_id(h.list_id)
            outcome = repo.confirm_held(filing_list)
            # The same hook a poll calls in its ingest transaction: events and deliveries or neither.
            hooks.on_list(repo, repo.list_ref(filing_list), outcome, first_run=False)
            confirmed.append((h, len(outcome.rows.removed)))

    async def close() -> None:
        for notifier in notifiers:
            await notifier.aclose()

    import asyncio

    asyncio.run(close())
    db.dispose()
    if not confirmed:
        raise _fail(f"no list of {kind} {month} is held (see `cacwatch lists held`)")
    for h, removed in confirmed:
        print(f"confirmed {h.kind} {h.list_month} {h.name}: {h.after} rows now, {removed} filings removed")
    print(f"{len(hooks.events_written)} events queued; they are sent by the next check or by `run`")
