"""``cacwatch lists held``, ``lists confirm KIND MONTH`` and ``lists reject KIND MONTH``: re-issues held as suspect.

A re-issue that lost a large share of its rows is stored but held (``storage.holds``); the
operator looks at the list on the site and either waits (the hold ends by itself when the
full list is served again, or is confirmed after a day of the same bytes) or confirms it
now. Confirming announces what the held version changes (removals included) exactly once,
through the outbox like a poll; the deliveries go out with the next ``check`` or ``run``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bot.app import cli_common
from bot.app.cli_common import fail as _fail

if TYPE_CHECKING:
    from bot.ingest.manual import ImportOutcome

__all__ = ["lists_app"]

lists_app = typer.Typer(help="Stored lists: re-issues held as suspect (rows missing).", no_args_is_help=True)

_KINDS = ("deep_synthesis", "algorithm_recommendation", "genai_service")


_KindArgument = Annotated[str, typer.Argument(help="deep_synthesis, algorithm_recommendation or genai_service")]
_MonthArgument = Annotated[str, typer.Argument(help="The list month, YYYY-MM")]


def _check_list(kind: str, month: str) -> None:
    if kind not in _KINDS:
        raise _fail(f"unknown kind {kind!r} ({', '.join(_KINDS)})", 2)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise _fail(f"month {month!r}: expected YYYY-MM", 2)


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
    kind: _KindArgument,
    month: _MonthArgument,
) -> None:
    """Accept the held re-issue of KIND MONTH as the list's content and announce its changes."""
    _check_list(kind, month)
    from bot.ingest.holds import confirm_held

    settings = cli_common.settings()
    db = cli_common.database(settings)
    try:
        confirmed, queued = confirm_held(settings, db, kind=kind, list_month=month)
    finally:
        db.dispose()
    if not confirmed:
        raise _fail(f"no list of {kind} {month} is held (see `cacwatch lists held`)")
    for c in confirmed:
        print(f"confirmed {c.held.kind} {c.held.list_month} {c.held.name}: {c.held.after} rows now, {c.removed} filings removed")
    print(f"{queued} events queued; they are sent by the next check or by `run`")


@lists_app.command("reject")
def reject(
    kind: _KindArgument,
    month: _MonthArgument,
) -> None:
    """Reject the held re-issue of KIND MONTH: the list keeps its current rows, nothing is
    announced, and the same file served again is not held again."""
    _check_list(kind, month)
    from bot.ingest.holds import held, reject as reject_list

    settings = cli_common.settings(for_reading=True)
    db = cli_common.database(settings)
    try:
        rejected = [r for h in held(db) if h.kind == kind and h.list_month == month if (r := reject_list(db, h.list_id))]
    finally:
        db.dispose()
    if not rejected:
        raise _fail(f"no list of {kind} {month} is held (see `cacwatch lists held`)")
    for h in rejected:
        print(f"rejected the re-issue of {h.kind} {h.list_month} {h.name} ({h.lost} of {h.before} filings missing); the list keeps its {h.before} rows")


@lists_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The list as downloaded from the CAC site (docx, pdf, xlsx, xls …)")],
    kind: Annotated[str, typer.Option("--kind", help="deep_synthesis, algorithm_recommendation or genai_service")],
    month: Annotated[str, typer.Option("--month", help="The list month, YYYY-MM (from the list's name)")],
    title: Annotated[Optional[str], typer.Option("--title", help="The announcement's title, for messages")] = None,
    page_url: Annotated[Optional[str], typer.Option("--page-url", help="The announcement page, for links in messages")] = None,
) -> None:
    """Ingest a list a person downloaded (the site changed and polls cannot find it): the same
    parse, limits and events as a fetched attachment; a re-issue of the stored KIND MONTH list if
    there is one."""
    if kind not in _KINDS:
        raise _fail(f"--kind: unknown kind {kind!r} ({', '.join(_KINDS)})", 2)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise _fail(f"--month {month!r}: expected YYYY-MM", 2)
    if page_url is not None and not re.match(r"^https?://\S+$", page_url):
        raise _fail(f"--page-url {page_url!r}: expected an http(s) URL", 2)
    if not file.is_file():
        raise _fail(f"{file}: no such file", 2)
    import asyncio

    from bot.delivery.notifiers.factory import build_notifiers
    from bot.ingest.manual import ImportError_, import_list
    from scrapers.records import Kind

    settings = cli_common.settings()
    db = cli_common.database(settings)
    notifiers = build_notifiers(settings, db)

    async def run() -> "ImportOutcome":
        try:
            return await import_list(settings, db, notifiers, file, kind=Kind(kind), list_month=month, title=title, page_url=page_url)
        finally:
            for notifier in notifiers:
                await notifier.aclose()

    try:
        outcome = asyncio.run(run())
    except ImportError_ as err:
        raise _fail(f"import: {err}") from None
    finally:
        db.dispose()
    report = outcome.report
    if not report.ok:
        raise _fail(f"import: {report.summary_line()}")
    what = f"a re-issue of the stored {kind} {month} list ({outcome.ref.name})" if outcome.reissue else f"a new {kind} {month} list"
    line = f"imported {file.name} as {what}: {len(report.new_lists)} new, {len(report.revised_lists)} revised, {report.lists_unchanged} unchanged"
    if report.held_lists:
        line += ", held as suspect (see `cacwatch lists held`)"
    line += f"; {len(outcome.events)} events, {outcome.deliveries.delivered} deliveries sent"
    print(line)
