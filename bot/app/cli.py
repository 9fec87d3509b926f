"""The ``cacwatch`` command line (typer)."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from bot.app.cli_common import console as _console
from bot.app.cli_common import database as _database
from bot.app.cli_common import fail as _fail
from bot.app.cli_common import read_database as _read_database
from bot.app.cli_common import settings as _settings
from bot.app.cli_common import state as _state

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from bot.settings.config import Settings
    from bot.delivery.notifiers.base import Notifier
    from bot.ingest.poll import PollOutcome
    from storage.db import Database
    from storage.endpoints_repo import StoredEndpoint

# Start-up (docs/benchmarks.md, "Ingest"): this module imports typer and the command modules
# only. Everything a command needs — the configuration (pydantic, the sources), the store
# (SQLAlchemy), the poll, rich — is imported inside it, so `--help` stays light and
# `check --once` imports, before its first request, only what that request needs.

__all__ = ["app", "main"]

_CONFIG_FLAGS = ("--config", "-c")


def _hoist_config(args: list[str]) -> list[str]:
    """``cacwatch status --config x.yaml`` means ``cacwatch --config x.yaml status``: the global
    option is moved ahead of the subcommand wherever it is given (never past a ``--``)."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in _CONFIG_FLAGS and index + 1 < len(args):
            front.extend(args[index : index + 2])
            index += 2
            continue
        if arg.startswith("--config="):
            front.append(arg)
        else:
            rest.append(arg)
        index += 1
    return front + rest


class _Group(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer vendors click's Context
        return super().parse_args(ctx, _hoist_config(list(args)))


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="Watch the Cyberspace Administration of China for new algorithm-filing lists.",
)


def _err_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cacwatch")
    except PackageNotFoundError:  # run from a checkout: the version pyproject.toml declares
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def _print_version(value: bool) -> None:
    if value:
        print(f"cacwatch {_version()}")
        raise typer.Exit()


@app.callback()
def _global(
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", help="config.yaml (default: $CACWATCH_CONFIG, then ./config.yaml); also accepted after the command"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    if config is not None:
        _state.config_path, _state.explicit = config, True
    elif os.environ.get("CACWATCH_CONFIG"):
        _state.config_path, _state.explicit = Path(os.environ["CACWATCH_CONFIG"]), True
    else:
        from bot.settings.config import DEFAULT_CONFIG_PATH

        _state.config_path, _state.explicit = DEFAULT_CONFIG_PATH, False


def _doctor(settings: "Settings") -> None:
    import asyncio

    from bot.app.doctor import run_checks

    findings = asyncio.run(run_checks(settings))
    for finding in findings:
        print(finding.line(), flush=True)
    broken = [f for f in findings if f.level == "FAIL"]
    if broken:
        print(f"cacwatch doctor: {len(broken)} of {len(findings)} checks failed: {', '.join(f.what for f in broken)}", file=sys.stderr)
        raise typer.Exit(1)
    print(f"all {len(findings)} checks passed" + (f" ({sum(f.level == 'warn' for f in findings)} warnings)" if any(f.level == "warn" for f in findings) else ""))


@app.command()
def doctor() -> None:
    """Check that the proxy, the site, the database and each notifier work; store and send nothing.
    Exit 1 when something is broken."""
    _doctor(_settings())


class _Process:
    # True in a process started for the command (``main``): the collector may be tuned for it.
    own = False


@contextmanager
def _starting_up() -> "Iterator[None]":
    """Loading what a command needs (the configuration, SQLAlchemy, the poll) makes objects
    that live until exit: in a process of its own the collector is off meanwhile (each full
    collection would walk them all again, ~0.05 s of a cron run), then they are frozen, so
    later collections (a first ingest stores thousands of rows) skip them too. Called in a
    process that is not the command's (tests), nothing changes."""
    if not _Process.own:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@app.command()
def check(
    once: Annotated[bool, typer.Option("--once", help="Poll every source once, then exit.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only check the setup (as `cacwatch doctor`): store and send nothing.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Re-check every known list now, even if sources.cac.revalidate_interval has not passed.")] = False,
) -> None:
    """Discover, fetch, parse and store every list; exit non-zero if a source could not be read.

    As `cacwatch run` does: the front door (new lists) on every run, every known list
    re-checked only when sources.cac.revalidate_interval has passed since the last time
    (stored in the database, so cron, `run` and several instances agree)."""
    if not once:
        raise _fail("check needs --once (use `cacwatch run` for the service)", 2)
    with _starting_up():
        from bot.ingest.progress import stderr_progress
        from bot.ingest.poll import NotifiersOnFirstUse, poll_and_deliver

        settings = _settings()
        if dry_run:
            _doctor(settings)
            return
        db = _database(settings)
    from bot.ingest.pipeline import REVALIDATE, SOURCE_NAME

    if full:
        tier = REVALIDATE
    else:
        from bot.app.tiers import tier_for

        tier = tier_for(settings.sources.cac, db, SOURCE_NAME)
    def build() -> "list[Notifier]":
        from bot.delivery.notifiers.factory import build_notifiers

        return build_notifiers(settings, db)

    notifiers = NotifiersOnFirstUse(build)  # an idle cron run never builds them
    from bot.app.alert_destinations import alert_destinations

    # Cron mails whatever a job prints: a run that went well prints nothing on stderr, and a
    # failing one prints its one-line reason, saying there when no operator alert can go out.
    silent_alerts = not alert_destinations(settings)

    async def main() -> "PollOutcome":
        try:
            # Off a terminal (cron) no progress bar: rich is not even imported.
            with stderr_progress(_err_console) as progress:
                outcome = await poll_and_deliver(settings, db, notifiers, progress=progress, tier=tier)
            # Incidents and operator alerts as `run` has them: cron running `check --once`
            # is told when the source has been blocked service.alert_after polls in a row.
            try:
                from bot.app.alerts import Alerter  # after the poll: not on the way to its first request

                alerter = Alerter(settings, db)
                await alerter.after_poll(outcome.report)
                if alerter.queued:
                    # operator.alert events for webhooks: sent now, not at the next cron run.
                    from bot.delivery.notifiers.base import notifiers_by_key
                    from bot.delivery.outbox import deliver_until_idle

                    alert_run = await deliver_until_idle(db, notifiers_by_key(notifiers), max_wait=30.0)
                    outcome.deliveries.add(alert_run)
            except Exception as err:  # noqa: BLE001 - the poll's own result still stands
                _err_console().print(f"cacwatch: operator alerts failed: {err.__class__.__name__}", markup=False, highlight=False)
            return outcome
        finally:
            for notifier in notifiers.built:
                await notifier.aclose()

    import asyncio

    outcome = asyncio.run(main())
    db.dispose()
    report = outcome.report
    if not report.ok:
        raise _fail(report.summary_line() + (" (no operator alert destination configured: see `cacwatch status`)" if silent_alerts else ""))
    line = report.summary_line() + ("" if report.tier == REVALIDATE else " (front door: new lists only)")
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


def _since(value: Optional[str]) -> "datetime | None":
    from datetime import datetime, timezone

    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--since: {value!r} is not a date (YYYY-MM-DD or an ISO 8601 time)", 2) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


@app.command()
def export(
    fmt: Annotated[_Format, typer.Option("--format", "-f", help="jsonl, csv or xlsx")] = _Format.jsonl,
    kind: Annotated[Optional[str], typer.Option("--kind", help="deep_synthesis, algorithm_recommendation or genai_service")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
    include_removed: Annotated[bool, typer.Option(help="Also filings that left every list (marked removed).")] = False,
    since: Annotated[Optional[str], typer.Option("--since", help="Only filings first seen or changed since DATE (YYYY-MM-DD, UTC)")] = None,
    entity: Annotated[Optional[str], typer.Option("--entity", help="Only this filer: part of its name, its English name or its group (字节跳动, ByteDance)")] = None,
    query: Annotated[Optional[str], typer.Option("--query", help="Only filings whose name, filer, products, purpose or number contain TEXT")] = None,
    changes: Annotated[bool, typer.Option("--changes", help="Export the changes (new, changed, cancelled, renamed, removed) as records of their own")] = False,
    group: Annotated[Optional[str], typer.Option("--group", help="Only filers of this company group or foreign company (bytedance, 字节跳动, ByteDance, HP)")] = None,
    foreign: Annotated[bool, typer.Option("--foreign", help="Only filers of foreign companies")] = False,
) -> None:
    """Export stored filings, or with --changes their history (records with first_seen, updated_at, removed)."""
    from bot.changes.export import (
        CHANGE_COLUMNS, FILING_COLUMNS, export_to_path, group_filter, matches_entity, matches_query, with_english, write_export,
    )
    from scrapers.records import Kind
    from storage.export_repo import ExportRepository

    if kind is not None and kind not in {k.value for k in Kind}:
        raise _fail(f"--kind: unknown kind {kind!r} (deep_synthesis, algorithm_recommendation, genai_service)", 2)
    if fmt is _Format.xlsx and output is None and sys.stdout.isatty():
        raise _fail("--format xlsx is binary: give --output FILE or redirect stdout", 2)
    if entity is not None and not entity.strip() or query is not None and not query.strip():
        raise _fail("--entity and --query need some text", 2)
    try:
        in_group = group_filter(group, foreign=foreign)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    start = _since(since)
    settings = _settings(for_reading=True)
    db = _read_database(settings)
    with db.session() as session:
        repo = ExportRepository(session)
        if changes:
            found = repo.changes(kind=kind, since=start)
            columns = CHANGE_COLUMNS
        else:
            # Removed filings are marked ``removed`` and never look current.
            found = repo.filings(kind=kind, since=start, include_removed=include_removed)
            columns = FILING_COLUMNS
        records = (with_english(r) for r in found)
        if entity is not None:
            records = (r for r in records if matches_entity(r, entity))
        if query is not None:
            records = (r for r in records if matches_query(r, query))
        if in_group is not None:
            records = (r for r in records if in_group(r))
        what = "changes" if changes else "filings"
        if output is None:
            count = write_export(records, fmt.value, sys.stdout.buffer, columns=columns)
            sys.stdout.flush()
        else:
            count = export_to_path(records, fmt.value, output, columns=columns)
            _err_console().print(f"{count} {what} written to {output}", markup=False, highlight=False)
    db.dispose()


@app.command()
def stats() -> None:
    """Lists per kind with row counts, and filings per kind and status."""
    from bot.changes.summary import print_stats
    from storage.repo import Repository

    settings = _settings(for_reading=True)
    db = _read_database(settings)
    with db.session() as session:
        repo = Repository(session)
        print_stats(_console(), repo.list_stats(), repo.filing_counts())
    db.dispose()


def _register_email_commands() -> None:
    from bot.app.cli_email import digest_app, subscribers_app

    app.add_typer(subscribers_app, name="subscribers", help="Email digest subscribers (add, list, remove, unsubscribe).")
    app.add_typer(digest_app, name="digest", help="Email digests: preview the next one.")


_register_email_commands()


def _register_user_commands() -> None:
    from bot.app.cli_users import users_app

    app.add_typer(users_app, name="users", help="Accounts of the web app (add, list, disable, set-password).")


_register_user_commands()


def _register_list_commands() -> None:
    from bot.app.cli_lists import lists_app

    app.add_typer(lists_app, name="lists", help="Stored lists: re-issues held as suspect (held, confirm).")


_register_list_commands()


def _register_telegram_commands() -> None:
    from bot.app.cli_telegram import telegram_app

    app.add_typer(telegram_app, name="telegram", help="Telegram: preview the channel's posts of a stored list (nothing sent).")


_register_telegram_commands()


def _register_brief_command() -> None:
    from bot.app.cli_briefs import brief

    app.command("brief")(brief)


_register_brief_command()

deliveries_app = typer.Typer(help="The notification outbox: what is queued, failed or dead.", no_args_is_help=False)
app.add_typer(deliveries_app, name="deliveries")


@deliveries_app.callback(invoke_without_command=True)
def deliveries_list(ctx: typer.Context) -> None:
    """Deliveries per destination and state (the states of `status`); a failing destination's
    last error, attempts and next retry."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from bot.settings.redact import mask_destination, mask_urls_in
    from storage.outbox_repo import DELIVERY_LABELS, OutboxRepository

    settings = _settings(for_reading=True)
    db = _read_database(settings)
    try:
        with db.session() as session:
            reports = OutboxRepository(session).destination_reports()
    finally:
        db.dispose()
    table = Table(title="Deliveries", title_justify="left")
    table.add_column("destination", overflow="fold")
    for label in DELIVERY_LABELS:
        table.add_column(label, justify="right")
    table.add_column("attempts", justify="right")
    table.add_column("next retry")
    table.add_column("last error", overflow="fold")
    for report in reports:
        failing = report.counts["failed"] or report.counts["dead"] or report.counts["disabled"]
        table.add_row(
            mask_destination(report.destination),  # keys stored by older versions held whole URLs
            *(str(report.counts[label]) for label in DELIVERY_LABELS),
            str(report.attempts) if failing else "",
            _when(report.next_retry) if report.next_retry else "",
            mask_urls_in(report.last_error or "") if failing else "",
        )
    console = _console()
    console.print(table)
    if not reports:
        console.print("no deliveries yet", markup=False, highlight=False)


def _when(moment: "datetime") -> str:
    from datetime import timezone

    if moment.tzinfo is None:  # SQLite keeps no zone: stored as UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _chosen_notifier(settings: "Settings", destination: str) -> "Notifier":
    """The configured notifier sending to ``destination``: its key (masked for webhooks), or the
    URL or key it was stored under before masking; exit 2 naming what is configured otherwise."""
    from bot.delivery.notifiers.factory import build_notifiers

    notifiers = build_notifiers(settings)
    chosen = next(
        (n for n in notifiers if destination in {n.destination, *n.aliases, *(a.split(":", 1)[-1] for a in n.aliases)}),
        None,
    )
    if chosen is None:
        configured = ", ".join(n.destination.split(":", 1)[0] for n in notifiers) or "none"
        raise _fail(f"--destination: no configured notifier sends to {destination!r} (configured kinds: {configured})", 2)
    return chosen


@deliveries_app.command("replay")
def deliveries_replay(
    destination: Annotated[str, typer.Option("--destination", help="A configured webhook URL (or destination key such as webhook:https://…), or endpoint:<id> for one added in the browser")],
    since: Annotated[str, typer.Option("--since", help="Events made since DATE (YYYY-MM-DD, UTC, or an ISO 8601 time)")],
    resend: Annotated[bool, typer.Option("--resend", help="Also events this destination already got (same webhook-id: receivers may drop them)")] = False,
) -> None:
    """Send past events again to one configured destination: a new endpoint catches up, a repaired
    one gets what died (dead letters are queued again)."""
    from bot.delivery.notifiers.base import notifiers_by_key
    from bot.delivery.outbox import DestinationDisabled, deliver_until_idle, replay

    start = _since(since)
    assert start is not None
    settings = _settings()
    if destination.startswith("endpoint:"):
        _replay_stored_endpoint(settings, destination, start, resend)
        return
    chosen = _chosen_notifier(settings, destination)
    db = _database(settings)

    async def send() -> "tuple[int, int, int]":
        try:
            # Only this destination's deliveries: the others are left to their own worker.
            run = await deliver_until_idle(db, notifiers_by_key([chosen]), only=[chosen.destination])
        finally:
            await chosen.aclose()
        return run.delivered, run.failed, run.dead

    try:
        try:
            result = replay(db, chosen, since=start, resend=resend)
        except DestinationDisabled as error:
            raise _fail(str(error), 1) from None
        import asyncio

        delivered, failed, dead = asyncio.run(send())
    finally:
        db.dispose()
    line = f"{result.queued} past events queued for {chosen.destination}"
    if result.skipped or result.filtered:
        already = "already queued" if resend else "already sent or queued"
        line += f" ({result.skipped} {already}, {result.filtered} outside its filters)"
    line += f"; {delivered} deliveries sent"
    if failed or dead:
        line += f", {failed} to retry, {dead} dead (see `cacwatch deliveries`)"
    print(line)


def _stored_endpoint(db: "Database", destination: str) -> "StoredEndpoint":
    """The stored (self-service) endpoint of an ``endpoint:<id>`` destination; exit 2 when none."""
    from storage.endpoints_repo import EndpointRepository, endpoint_id_of

    endpoint_id = endpoint_id_of(destination)
    with db.session() as session:
        endpoint = None if endpoint_id is None else EndpointRepository(session).get(endpoint_id)
    if endpoint is None:
        db.dispose()
        raise _fail(f"--destination: no stored endpoint {destination!r} (see /endpoints or GET /api/v1/endpoints)", 2)
    return endpoint


def _replay_stored_endpoint(settings: "Settings", destination: str, start: datetime, resend: bool) -> None:
    """``deliveries replay`` for an endpoint made in the browser or the API (``endpoint:<id>``)."""
    import asyncio

    from bot.delivery.endpoints import EndpointError, deliver_now, replay_endpoint

    db = _database(settings)
    try:
        endpoint = _stored_endpoint(db, destination)
        try:
            result = replay_endpoint(db, endpoint, since=start, resend=resend)
        except EndpointError as error:
            raise _fail(f"{destination}: {error.message}", 1) from None
        run = asyncio.run(deliver_now(db, endpoint))
    finally:
        db.dispose()
    print(f"{result.queued} past events queued for {destination} ({result.skipped} skipped, {result.filtered} outside its filters); "
          f"{run.delivered} deliveries sent" + (f", {run.failed} to retry, {run.dead} dead" if run.failed or run.dead else ""))


@deliveries_app.command("enable")
def deliveries_enable(
    destination: Annotated[str, typer.Option("--destination", help="A configured webhook URL (or destination key), or endpoint:<id>")],
) -> None:
    """Re-enable a destination disabled after it answered 410 Gone; the deliveries the 410
    stopped are queued again (sent by the next check or by `run`)."""
    from bot.delivery.outbox import enable_destination

    settings = _settings()
    if destination.startswith("endpoint:"):
        from bot.delivery.endpoints import update_endpoint

        db = _database(settings)
        try:
            update_endpoint(db, _stored_endpoint(db, destination), None, enabled=True, operator=True)
        finally:
            db.dispose()
        print(f"{destination} enabled; its stopped and dead deliveries are queued again")
        return
    chosen = _chosen_notifier(settings, destination)
    db = _database(settings)
    try:
        was_disabled, queued = enable_destination(db, chosen.destination)
    finally:
        db.dispose()
    if not was_disabled and not queued:
        print(f"{chosen.destination} was not disabled; nothing to do")
        return
    print(f"{chosen.destination} enabled; {queued} deliveries queued again")


@deliveries_app.command("retry")
def deliveries_retry(
    destination: Annotated[Optional[str], typer.Option(help="Only this destination")] = None,
) -> None:
    """Queue dead-lettered deliveries again (they are sent by the next check or by `run`)."""
    from bot.delivery.outbox import retry_dead

    settings = _settings(for_reading=True)  # queues only: `run` or the next check sends (and needs the secrets)
    db = _database(settings)
    try:
        count, disabled = retry_dead(db, destination=destination)
    finally:
        db.dispose()
    print(f"{count} deliveries queued again")
    for key in disabled:
        print(f"{key} is disabled (it answered 410 Gone): `cacwatch deliveries enable --destination {key}` queues its deliveries again")


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

    from rich.console import Console

    if serve:
        from bot.app.cli_web import demo_and_serve

        raise typer.Exit(demo_and_serve(Console(), workdir, host="127.0.0.1", port=port))
    code = run_demo(Console(), workdir)
    raise typer.Exit(code)


@app.command()
def replica(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to serve on (0: any free port)")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to serve on")] = "127.0.0.1",
) -> None:
    """Serve the bundled replica of the CAC site, to try your own config offline (Ctrl-C stops)."""
    import signal
    import threading

    from scrapers.replica.server import ReplicaServer

    server = ReplicaServer()
    try:
        base_url = server.start(host, port)
    except OSError as err:
        raise _fail(f"cannot listen on http://{host}:{port}: {(err.strerror or str(err)).lower()} (choose another --port)", 2) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"replica of the CAC site on {base_url} (Ctrl-C stops). Point your config.yaml at it:", flush=True)
    print(f"sources:\n  cac:\n    base_url: \"{base_url}\"\n    beian_url: \"{base_url}\"\n    min_delay: 0s", flush=True)
    print("then `cacwatch check --once` ingests it and notifies your configured destinations.", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (default loopback only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
) -> None:
    """Serve the web pages, the JSON API and the feeds over the database (never polls; writes only self-service subscriptions)."""
    from bot.app.cli_web import serve as serve_web

    settings = _settings(for_reading=True)  # serves, never polls: no notifier secrets needed
    email = None
    if settings.notify.email is not None:
        # Self-service sign-up mails its confirmations with notify.email: only with its secrets set.
        from bot.app.cli_common import settings_loader
        from bot.settings.config import ConfigError

        try:
            email = settings_loader()().notify.email
        except (ConfigError, OSError) as err:
            print(f"cacwatch: self-service sign-up unavailable (notify.email: {err})", file=sys.stderr)
    db = _database(settings)
    try:
        code = serve_web(settings, db, host=host, port=port, email=email)
    finally:
        db.dispose()
    raise typer.Exit(code)


@app.command()
def status() -> None:
    """The service as the database sees it: scheduler, sources, lists, deliveries, open incidents,
    and CAC's stated GenAI totals against what cacwatch holds."""
    from bot.app.leader import current_leader
    from bot.app.metrics import print_status, read_snapshot

    from bot.app.alerts import totals_lines
    from storage.totals_repo import TotalsRepository

    settings = _settings(for_reading=True)
    db = _read_database(settings)
    try:
        snapshot = read_snapshot(db)
        leader = current_leader(db)
        with db.session() as session:
            reconciliations = TotalsRepository(session).reconciliations()
    finally:
        db.dispose()
    console = _console()
    print_status(console, snapshot, leader=leader, readiness_max_age=settings.service.readiness_max_age)
    from bot.app.alert_destinations import alert_destinations

    where = alert_destinations(settings)
    alerts_to = "; ".join(d.label for d in where) if where else "nowhere (incidents are only shown here: see README, \"Operator alerts\")"
    console.print(f"operator alerts go to: {alerts_to}", markup=False, highlight=False, soft_wrap=True)
    # The proof that nothing was missed: CAC's stated GenAI totals against what is held.
    for line in totals_lines(reconciliations):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="The file to write (a SQLite database; restore: see README, \"Backups\")")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
) -> None:
    """A consistent copy of the SQLite store while it is in use (PostgreSQL: prints the pg_dump line)."""
    from storage.backup import BackupError, backup_sqlite, pg_dump_command, pg_restore_command

    settings = _settings(for_reading=True)  # copies, never sends
    db = _read_database(settings)
    try:
        if not db.is_sqlite:
            # pg_dump is the right tool (a consistent snapshot, restorable across versions):
            # the line to run, on stdout for scripts; the password comes from PGPASSWORD / ~/.pgpass.
            print(pg_dump_command(db.url, path))
            print(f"# restore: {pg_restore_command(db.url, path)}")
            raise _fail(f"the store at {db.location} is PostgreSQL: back it up with the pg_dump line above (README, \"Backups\")")
        try:
            result = backup_sqlite(db, path, overwrite=force)
        except BackupError as err:
            raise _fail(f"backup: {err}") from None
    finally:
        db.dispose()
    print(f"backup of {db.location} written to {result.path} ({result.bytes} bytes, integrity checked)")


@app.command()
def migrate() -> None:
    """Create the store, or bring its schema to this version (`check` and `run` also do; reads never)."""
    settings = _settings(for_reading=True)
    db = _database(settings)
    db.dispose()
    print(f"store at {db.location} is up to date")


@app.command()
def reload() -> None:
    """Tell the running service on this host to read its watchlist and destinations (notify:)
    again: SIGHUP to the process holding the scheduler (as `systemctl reload cacwatch`)."""
    import re
    import signal
    import socket

    from bot.app.leader import current_leader

    settings = _settings(for_reading=True)
    db = _read_database(settings)
    try:
        holder = current_leader(db)
    finally:
        db.dispose()
    match = re.match(r"^(?P<host>[^\s:]+):(?P<pid>\d+)", holder or "")
    if match is None:
        raise _fail("no running service found (no instance holds the scheduler): nothing to reload")
    if match["host"] != socket.gethostname():
        raise _fail(f"the service runs on {match['host']}: reload it there (`systemctl reload cacwatch` or `kill -HUP <pid>`)")
    pid = int(match["pid"])
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise _fail(f"process {pid} ({holder}) is gone: the lock is stale") from None
    except PermissionError:
        raise _fail(f"not allowed to signal process {pid}: run as the service's user, or `systemctl reload cacwatch`") from None
    extra = "" if db.is_sqlite else "; other instances (followers) deliver with their own settings: reload each of them"
    print(f"SIGHUP sent to {holder}: it reads notify: from its config again (see its log){extra}")


@app.command()
def run() -> None:
    """The long-running service: poll on schedule, stop cleanly on SIGTERM; SIGHUP (systemctl
    reload) reads the watchlist and destinations (notify) again."""
    from bot.app.cli_common import settings_loader
    from bot.app.service import run_service

    settings = _settings()
    db = _database(settings)
    try:
        import asyncio

        asyncio.run(run_service(settings, db, _err_console(), reload_settings=settings_loader()))
    finally:
        db.dispose()


class _DossierFormat(str, Enum):
    xlsx = "xlsx"
    pdf = "pdf"


@app.command()
def dossier(
    name: Annotated[str, typer.Argument(help="A company group or filer, in any language cacwatch knows (字节跳动, ByteDance, a filer's current or former name)")],
    fmt: Annotated[_DossierFormat, typer.Option("--format", "-f", help="xlsx or pdf")] = _DossierFormat.xlsx,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
) -> None:
    """Everything a company group or filer filed, under every name it used (XLSX or PDF)."""
    from bot.briefs.dossier import DossierError, filer_dossier, group_dossier, write_pdf, write_xlsx
    from bot.changes.resolver import company_label, resolve, suggest
    from bot.web.search_text import refresh_index
    from storage.corpus import Corpus

    if not name.strip():
        raise _fail("dossier: NAME needs some text", 2)
    if output is None and sys.stdout.isatty():
        raise _fail(f"--format {fmt.value} is binary: give --output FILE or redirect stdout", 2)
    db = _read_database(_settings(for_reading=True))
    try:
        corpus = Corpus(db)
        refresh_index(corpus)  # the filer names and the groups' filers, current with the store
        companies = resolve(name)
        found = group_dossier(corpus, companies[0]) if companies else filer_dossier(corpus, name)
        if found is None:
            # Part of one filer's name (any it used) is enough when it names one filer only.
            identities = [corpus.filer_identity(e.entity) for e in corpus.entities(name, limit=50)]
            names = sorted({f.name for f in identities if f is not None})
            if len(names) == 1:
                found = filer_dossier(corpus, names[0])
            else:
                hints = [company_label(c) for c in suggest(name)] + names[:3]
                hint = f": did you mean {', '.join(hints)}?" if hints else ": no company group or filer by that name"
                raise _fail(f"unknown name {name.strip()[:80]!r}{hint}")
        assert found is not None
        if found.empty:
            label = found.company.en if found.company is not None else found.title
            print(f"{label}: no filing on record")
            return
        try:
            if output is None:
                (write_xlsx if fmt is _DossierFormat.xlsx else write_pdf)(found, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                output.parent.mkdir(parents=True, exist_ok=True)
                with output.open("wb") as out:
                    (write_xlsx if fmt is _DossierFormat.xlsx else write_pdf)(found, out)
                _err_console().print(
                    f"{found.title}: {len(found.records.filings)} filings of {len(found.records.filers)} filer(s) written to {output}",
                    markup=False, highlight=False,
                )
        except DossierError as err:
            raise _fail(f"dossier: {err}") from None
    finally:
        db.dispose()


def main() -> None:
    _Process.own = True
    # httpx imports its own command-line tool on import whenever click, rich and pygments are
    # installed (they are, for this CLI): rich's tables and syntax highlighting, pygments'
    # lexers, ~0.05 s of every start. cacwatch never runs httpx's CLI; marked absent, httpx
    # falls back to its stub (``httpx.main`` says to install ``httpx[cli]``).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        app()
    finally:
        # The command is done; what remains is the interpreter's teardown, whose collections
        # would walk every object the imports made (SQLAlchemy, pydantic, the parsers …): a
        # tenth of a second or more of every cron run (docs/benchmarks.md, "Cron"). Frozen,
        # those objects are skipped and their memory goes back with the process.
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
