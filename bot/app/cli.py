"""The ``cacwatch`` command line (typer)."""

from __future__ import annotations

import asyncio
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from bot.app.cli_common import database as _database
from bot.app.cli_common import fail as _fail
from bot.app.cli_common import settings as _settings
from bot.app.cli_common import state as _state
from bot.app.config import DEFAULT_CONFIG_PATH

if TYPE_CHECKING:
    from bot.ingest.poll import PollOutcome

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Watch the Cyberspace Administration of China for new algorithm-filing lists.",
)
err_console = Console(stderr=True)


@app.callback()
def _global(
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", help="config.yaml (default: $CACWATCH_CONFIG, then ./config.yaml)"),
    ] = None,
) -> None:
    if config is not None:
        _state.config_path, _state.explicit = config, True
    elif os.environ.get("CACWATCH_CONFIG"):
        _state.config_path, _state.explicit = Path(os.environ["CACWATCH_CONFIG"]), True
    else:
        _state.config_path, _state.explicit = DEFAULT_CONFIG_PATH, False


@app.command()
def check(
    once: Annotated[bool, typer.Option("--once", help="Poll every source once, then exit.")] = False,
) -> None:
    """Discover, fetch, parse and store every list; exit non-zero if a source could not be read."""
    from bot.delivery.notifiers.factory import build_notifiers
    from bot.ingest.poll import poll_and_deliver
    from bot.app.progress import progress_reporter

    if not once:
        raise _fail("check needs --once (use `cacwatch run` for the service)", 2)
    settings = _settings()
    db = _database(settings)
    notifiers = build_notifiers(settings, db)

    async def main() -> "PollOutcome":
        try:
            with progress_reporter(err_console) as progress:
                return await poll_and_deliver(settings, db, notifiers, progress=progress)
        finally:
            for notifier in notifiers:
                await notifier.aclose()

    outcome = asyncio.run(main())
    db.dispose()
    report = outcome.report
    if not report.ok:
        raise _fail(report.summary_line())
    line = report.summary_line()
    if outcome.events:
        run = outcome.deliveries
        line += f"; {len(outcome.events)} events, {run.delivered} deliveries sent"
        if run.failed or run.dead:
            line += f", {run.failed} to retry, {run.dead} dead"
    print(line)


class _Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"


@app.command()
def export(
    fmt: Annotated[_Format, typer.Option("--format", "-f", help="jsonl, csv or xlsx")] = _Format.jsonl,
    kind: Annotated[Optional[str], typer.Option("--kind", help="deep_synthesis, algorithm_recommendation or genai_service")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
    include_removed: Annotated[bool, typer.Option(help="Also filings that left every list.")] = False,
) -> None:
    """Export every stored filing."""
    from bot.changes.export import export_to_path, write_export
    from scrapers.records import Kind
    from storage.repo import Repository, filing_record

    if kind is not None and kind not in {k.value for k in Kind}:
        raise _fail(f"--kind: unknown kind {kind!r} (deep_synthesis, algorithm_recommendation, genai_service)", 2)
    if fmt is _Format.xlsx and output is None and sys.stdout.isatty():
        raise _fail("--format xlsx is binary: give --output FILE or redirect stdout", 2)
    settings = _settings()
    db = _database(settings)
    with db.session() as session:
        records = (filing_record(f) for f in Repository(session).filings(kind, include_removed=include_removed))
        if output is None:
            count = write_export(records, fmt.value, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            count = export_to_path(records, fmt.value, output)
            err_console.print(f"{count} filings written to {output}", markup=False, highlight=False)
    db.dispose()


@app.command()
def stats() -> None:
    """Lists per kind with row counts, and filings per kind and status."""
    from bot.changes.summary import print_stats
    from storage.repo import Repository

    settings = _settings()
    db = _database(settings)
    with db.session() as session:
        repo = Repository(session)
        print_stats(Console(), repo.list_stats(), repo.filing_counts())
    db.dispose()


def _register_email_commands() -> None:
    from bot.app.cli_email import digest_app, subscribers_app

    app.add_typer(subscribers_app, name="subscribers", help="Email digest subscribers (add, list, remove, unsubscribe).")
    app.add_typer(digest_app, name="digest", help="Email digests: preview the next one.")


_register_email_commands()


def _register_list_commands() -> None:
    from bot.app.cli_lists import lists_app

    app.add_typer(lists_app, name="lists", help="Stored lists: re-issues held as suspect (held, confirm).")


_register_list_commands()

deliveries_app = typer.Typer(help="The notification outbox: what is queued, failed or dead.", no_args_is_help=False)
app.add_typer(deliveries_app, name="deliveries")


@deliveries_app.callback(invoke_without_command=True)
def deliveries_list(ctx: typer.Context) -> None:
    """Deliveries per destination and state (pending, sending, delivered, dead, disabled)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from bot.app.redact import mask_destination, mask_urls_in
    from storage.outbox_repo import OutboxRepository

    settings = _settings()
    db = _database(settings)
    with db.session() as session:
        repo = OutboxRepository(session)
        counts = repo.delivery_counts()
        dead = repo.dead_letters(20)
        table = Table(title="Deliveries", title_justify="left")
        table.add_column("destination", overflow="fold")
        for state in ("pending", "sending", "delivered", "dead", "disabled"):
            table.add_column(state, justify="right")
        for destination, by_state in sorted(counts.items()):
            shown = mask_destination(destination)  # keys stored by older versions held whole URLs
            table.add_row(shown, *(str(by_state.get(s, 0)) for s in ("pending", "sending", "delivered", "dead", "disabled")))
        console = Console()
        console.print(table)
        for pk, destination, last_error in dead:
            error = mask_urls_in(last_error or "")
            console.print(f"dead #{pk} {mask_destination(destination)}: {error}", markup=False, highlight=False)
    db.dispose()


@deliveries_app.command("retry")
def deliveries_retry(
    destination: Annotated[Optional[str], typer.Option(help="Only this destination")] = None,
) -> None:
    """Queue dead-lettered deliveries again (they are sent by the next check or by `run`)."""
    from bot.delivery.outbox import retry_dead

    settings = _settings()
    db = _database(settings)
    count = retry_dead(db, destination=destination)
    db.dispose()
    print(f"{count} deliveries queued again")


@app.command()
def demo(
    workdir: Annotated[
        Optional[Path], typer.Option(help="Where to keep the demo database and output (default: a temp dir)")
    ] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Then keep the web app running on the demo's store.")] = False,
    port: Annotated[int, typer.Option(help="Port of the web app with --serve")] = 8080,
) -> None:
    """Offline: serve a bundled replica of the CAC site on localhost, ingest it, show the result."""
    from bot.app.demo import run_demo

    if serve:
        from bot.web.command import demo_and_serve

        raise typer.Exit(demo_and_serve(Console(), workdir, host="127.0.0.1", port=port))
    code = run_demo(Console(), workdir)
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (default loopback only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
) -> None:
    """Serve the web pages, the JSON API and the feeds over the database (read-only, never polls)."""
    from bot.web.command import serve as serve_web

    settings = _settings()
    db = _database(settings)
    try:
        code = serve_web(settings, db, host=host, port=port)
    finally:
        db.dispose()
    raise typer.Exit(code)


@app.command()
def status() -> None:
    """The service as the database sees it: scheduler, sources, lists, deliveries, open incidents."""
    from bot.app.leader import current_leader
    from bot.app.metrics import print_status, read_snapshot

    settings = _settings()
    db = _database(settings)
    try:
        snapshot = read_snapshot(db)
        leader = current_leader(db)
    finally:
        db.dispose()
    print_status(Console(), snapshot, leader=leader, readiness_max_age=settings.service.readiness_max_age)


@app.command()
def run() -> None:
    """The long-running service: poll on schedule, stop cleanly on SIGTERM."""
    from bot.app.service import run_service

    settings = _settings()
    db = _database(settings)
    try:
        asyncio.run(run_service(settings, db, err_console))
    finally:
        db.dispose()


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
