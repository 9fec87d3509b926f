"""``cacwatch subscribers …`` and ``cacwatch digest preview``: typer sub-apps for bot.app.cli.

bot.app.cli registers them (``app.add_typer(subscribers_app, name="subscribers")`` and
``app.add_typer(digest_app, name="digest")``); the commands take ``--config`` from the parent
through ``bot.app.cli_common`` (shared with bot.app.cli, so neither imports the other).
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer

from bot.app import cli_common
from bot.app.cli_common import fail as _fail

if TYPE_CHECKING:
    from bot.settings.config import EmailSettings, Settings
    from bot.changes.event_schema import Event
    from bot.delivery.email.digest import Period
    from bot.delivery.email.subscribers import Subscriber

__all__ = ["subscribers_app", "digest_app"]

subscribers_app = typer.Typer(help="Email digest subscribers (config.yaml and the database).", no_args_is_help=True)
digest_app = typer.Typer(help="The email digest.", no_args_is_help=True)


def _context(*, read_only: bool = False) -> tuple["Settings", Any]:
    # Nothing here sends mail, so no notifier secret is needed (an unset SMTP password is
    # fine); reads (``subscribers list``, ``digest preview``) never create or migrate a store.
    settings = cli_common.settings(for_reading=True)
    if read_only:
        return settings, cli_common.read_database(settings)
    return settings, cli_common.database(settings)


def _email_settings(settings: "Settings") -> "EmailSettings":
    """``notify.email``, or a stand-in so subscribers can be managed before mail is configured."""
    from bot.settings.config import EmailSettings

    if settings.notify.email is not None:
        return settings.notify.email
    return EmailSettings(smtp_host="localhost", sender="cacwatch@localhost.localdomain")


def _schedule(subscriber: "Subscriber") -> str:
    if subscriber.cadence == "daily":
        return f"daily {subscriber.at} {subscriber.timezone}"
    if subscriber.cadence == "weekly":
        return f"weekly {subscriber.weekday} {subscriber.at} {subscriber.timezone}"
    if subscriber.cadence == "monthly":
        return f"monthly, the 1st at {subscriber.at} {subscriber.timezone}"
    return "immediate"


# --- subscribers ------------------------------------------------------------------------------


@subscribers_app.command("add")
def subscribers_add(
    address: Annotated[str, typer.Argument(help="Email address")],
    name: Annotated[Optional[str], typer.Option(help="Display name")] = None,
    language: Annotated[str, typer.Option(help="zh, en or both")] = "both",
    cadence: Annotated[str, typer.Option(help="immediate, daily, weekly or monthly (the 1st of each month)")] = "immediate",
    at: Annotated[str, typer.Option("--at", help="HH:MM for daily, weekly and monthly digests")] = "08:00",
    weekday: Annotated[str, typer.Option(help="Weekly digests: monday … sunday")] = "monday",
    tz: Annotated[str, typer.Option("--timezone", help="IANA time zone of --at")] = "Asia/Shanghai",
    kind: Annotated[Optional[list[str]], typer.Option("--kind", help="Only this kind (repeatable)")] = None,
    province: Annotated[Optional[list[str]], typer.Option("--province", help="Only filings of this province (repeatable)")] = None,
    watch: Annotated[Optional[list[str]], typer.Option("--watch", help="A company to watch (repeatable)")] = None,
    watch_only: Annotated[bool, typer.Option("--watch-only/--all-lists", help="With --watch: only lists that touch a watched company")] = True,
) -> None:
    """Add a subscriber (or update one; adding again re-subscribes)."""
    from bot.delivery.email.subscribers import LANGUAGES, Subscriber, add_subscriber, check_cadence, check_schedule, normalize_address
    from scrapers.records import Kind

    try:
        clean = normalize_address(address)
        check_schedule(at=at, weekday=weekday, timezone=tz)
        if language not in LANGUAGES:
            raise ValueError(f"--language: {language!r} is not one of {', '.join(LANGUAGES)}")
        chosen_cadence = check_cadence(cadence, key="--cadence")
        known = {k.value for k in Kind}
        for value in kind or []:
            if value not in known:
                raise ValueError(f"--kind: unknown kind {value!r} ({', '.join(sorted(known))})")
    except ValueError as err:
        raise _fail(str(err), 2) from None
    subscriber = Subscriber(
        address=clean, name=name or "", language=language, cadence=chosen_cadence, at=at, weekday=weekday,  # type: ignore[arg-type]
        timezone=tz, kinds=tuple(kind or ()), provinces=tuple(province or ()), watchlist=tuple(watch or ()),
        watch_only=watch_only,
    )
    settings, db = _context()
    try:
        with db.session() as session:
            _, created = add_subscriber(session, subscriber)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    finally:
        db.dispose()
    print(f"{'added' if created else 'updated'} {clean} ({_schedule(subscriber)}, {language})")
    if settings.notify.email is None:
        print("note: notify.email is not configured, so nothing is sent yet", file=sys.stderr)


@subscribers_app.command("list")
def subscribers_list() -> None:
    """Every subscriber: from config.yaml and from the database."""
    from rich.table import Table

    from bot.delivery.email.subscribers import load_subscribers

    settings, db = _context(read_only=True)
    try:
        with db.session() as session:
            subscribers = load_subscribers(_email_settings(settings), session)
    finally:
        db.dispose()
    table = Table(title="Email subscribers", title_justify="left")
    for column in ("address", "name", "from", "schedule", "language", "filters", "state"):
        table.add_column(column, overflow="fold")
    for s in sorted(subscribers, key=lambda s: s.address):
        filters = []
        if s.kinds:
            filters.append("kinds: " + ", ".join(s.kinds))
        if s.provinces:
            filters.append("provinces: " + ", ".join(s.provinces))
        if s.watchlist:
            filters.append(("watch only: " if s.watch_only else "watch: ") + ", ".join(s.watchlist))
        table.add_row(
            s.address, s.name, "config" if s.source == "config" else "database", _schedule(s), s.language,
            "; ".join(filters) or "all", "unsubscribed" if s.unsubscribed else s.status,
        )
    cli_common.console().print(table)
    if settings.notify.email is None:
        print("note: notify.email is not configured, so nothing is sent", file=sys.stderr)


@subscribers_app.command("remove")
def subscribers_remove(address: Annotated[str, typer.Argument(help="Email address")]) -> None:
    """Stop sending to an address (one in config.yaml is kept as unsubscribed until removed there)."""
    from bot.delivery.email.subscribers import config_subscribers, normalize_address, remove_subscriber

    try:
        clean = normalize_address(address)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    settings, db = _context()
    configured = clean in {s.address for s in config_subscribers(_email_settings(settings))}
    try:
        with db.session() as session:
            changed = remove_subscriber(session, clean, configured=configured)
    finally:
        db.dispose()
    if not changed:
        raise _fail(f"{clean} is already unsubscribed" if configured else f"{clean} is not a subscriber")
    if configured:
        print(f"{clean} unsubscribed (it is also in config.yaml: remove it there too)")
    else:
        print(f"removed {clean}")


@subscribers_app.command("unsubscribe")
def subscribers_unsubscribe(token: Annotated[str, typer.Argument(help="The token of an unsubscribe link or reply subject")]) -> None:
    """Honour an unsubscribe request by its token (e.g. from a reply "unsubscribe-<token>")."""
    from bot.delivery.email.subscribers import unsubscribe

    _, db = _context()
    try:
        with db.session() as session:
            address = unsubscribe(session, token)
    finally:
        db.dispose()
    if address is None:
        raise _fail("unknown unsubscribe token")
    print(f"unsubscribed {address}")


_PERIOD_EVENTS = 2000  # list events in one period report (a year of every series is a few hundred)


def _period(since: str, until: str | None) -> Period:
    from bot.delivery.email.digest import Period

    def day(value: str, option: str) -> date:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _fail(f"{option}: {value[:40]!r} is not a date (YYYY-MM-DD)", 2) from None

    start = day(since, "--since")
    end = day(until, "--until") if until is not None else datetime.now(timezone.utc).date()
    if end < start:
        raise _fail(f"--until {end} is before --since {start}", 2)
    return Period(start, end)


@digest_app.command("preview")
def digest_preview(
    subscriber: Annotated[Optional[str], typer.Option("--subscriber", help="Render for this subscriber (default: the first)")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where to write the .eml and .html")] = Path("."),
    sample: Annotated[bool, typer.Option("--sample", help="Instead: the newest stored list of each kind as if just published")] = False,
    since: Annotated[Optional[str], typer.Option("--since", help="A period report instead: every list published or revised since YYYY-MM-DD (UTC, as cacwatch recorded it)")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="With --since: up to and including YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Write the digest that would really go out next for a subscriber (what is queued for it) to
    an .eml and an .html file; --sample renders the newest stored lists instead; --since renders a
    period report (every list event recorded in the period, the subscriber's filters applied)."""
    from bot.changes.event_schema import event_from_json
    from bot.ingest.events import preview_events
    from bot.delivery.email.digest import Period, letterhead_of, render_digest, standalone_html
    from bot.settings.email_validation import LIST_EVENTS
    from storage.changes_repo import events_recorded_between
    from bot.delivery.email.subscribers import Subscriber, ensure_token, load_subscribers, normalize_address
    from storage.outbox_repo import OutboxRepository

    if until is not None and since is None:
        raise _fail("--until needs --since", 2)
    if since is not None and sample:
        raise _fail("--since and --sample: choose one", 2)
    period = _period(since, until) if since is not None else None
    cut = False
    # The store must exist (nothing is created or migrated); only the subscriber's token may be written.
    settings, db = _context(read_only=True)
    email = _email_settings(settings)
    due: datetime | None = None
    try:
        with db.session() as session:
            everyone = load_subscribers(email, session)
            if subscriber is not None:
                try:
                    wanted = normalize_address(subscriber)
                except ValueError as err:
                    raise _fail(str(err), 2) from None
                chosen = next((s for s in everyone if s.address == wanted), None)
                if chosen is None:
                    raise _fail(f"{wanted} is not a subscriber (see `cacwatch subscribers list`)", 2)
            else:
                active = [s for s in everyone if s.receives]
                if not active and not sample and period is None:
                    raise _fail("no active subscribers (see `cacwatch subscribers add`; --sample previews without one)", 2)
                chosen = active[0] if active else Subscriber(address="preview@example.com")
            if chosen.address != "preview@example.com":
                chosen = ensure_token(session, chosen)
            if period is not None:
                start = datetime.combine(period.since, datetime.min.time(), tzinfo=timezone.utc)
                end = datetime.combine(period.until + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
                stored = events_recorded_between(session, start, end, types=LIST_EVENTS, limit=_PERIOD_EVENTS + 1)
                cut = len(stored) > _PERIOD_EVENTS
                events: list[Event] = [event_from_json(e.payload) for e in stored[:_PERIOD_EVENTS]]
            elif sample:
                events = list(preview_events(session, watchlist=list(settings.notify.watchlist)))
            else:
                # Exactly what the outbox holds for this address: its next digest.
                queued = OutboxRepository(session).queued_for(chosen.destination)
                events = [event_from_json(event) for event, _ in sorted(queued, key=lambda q: str(q[0].get("timestamp")))]
                due = min((when for _, when in queued), default=None)
    finally:
        db.dispose()
    if sample and not events:
        raise _fail("no lists stored yet: run `cacwatch check --once` first")
    if not events and period is None:
        print(f"nothing is queued for {chosen.address}: no digest would go out now (--sample previews the newest lists)")
        return
    if cut:
        print(f"note: the period holds more than {_PERIOD_EVENTS} list events; the report covers the first {_PERIOD_EVENTS}", file=sys.stderr)
    # The subscriber's filters apply, as in a real digest (all filtered out: the heartbeat mail).
    message = render_digest(
        events,
        chosen,
        now=datetime.now(timezone.utc),
        sender=email.sender,
        sender_name=email.sender_name,
        public_base_url=email.public_base_url,
        chart=email.chart,
        letterhead=letterhead_of(email),
        period=period,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = "digest-" + re.sub(r"[^A-Za-z0-9._-]+", "_", chosen.address) + "-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    eml = output_dir / f"{stem}.eml"
    html = output_dir / f"{stem}.html"
    eml.write_bytes(message.as_bytes())
    html.write_text(standalone_html(message), encoding="utf-8")
    print(f"{message['Subject']}")
    if due is not None:
        when = due if due.tzinfo is not None else due.replace(tzinfo=timezone.utc)
        print(f"{len(events)} queued events, due {when.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"wrote {eml} and {html}")
