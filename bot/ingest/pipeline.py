"""One poll of the configured sources: discover → fetch (conditional) → parse → store, per list.

Each configured source (``sources.<kind>`` in config.yaml, a ``scrapers.sources.base.Source``)
is polled in turn; one report covers them all.

Failure rules (interfaces.md): a list that cannot be fetched or parsed is reported and
skipped, everything else is still ingested, nothing stored is lost. HTTP validators are
written in the same transaction as the data they vouch for, so a crash never leaves a
validator that would hide unparsed content behind a 304.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from bot.settings.config import Settings
from scrapers.blobstore import BlobStore
from scrapers.fetch import Blocked, Fetcher, FetchError, FetchResult, FetchTimeout, HttpStatusError, OffSite, TooLarge, Unreachable
from scrapers.records import Announcement as AnnouncementRecord
from scrapers.records import ListRef, ParsedList, ParseError, Validators
from scrapers.sources.base import Source, source_for
from scrapers.sources.cac import CacSource
from scrapers.workers import ParserPool
from storage.db import Database
from storage.models import Poll
from storage.holds import HeldVersion, confirm_due
from storage.repo import IngestOutcome, Repository
from storage.totals_repo import TotalsRepository

__all__ = [
    "PollReport",
    "ListFailure",
    "ListResult",
    "check_once",
    "poll_source",
    "look_first",
    "Look",
    "configured_sources",
    "SOURCE_NAME",
    "PollHooks",
    "FRONT_DOOR",
    "REVALIDATE",
]

# The two polling tiers (README "Polling tiers"). A front-door poll reads what announces new
# lists (channel page 1 onwards to known ground, the in-place pages, the notice API) and
# fetches only lists it has not stored yet; a revalidation also re-checks every known
# attachment with a conditional GET (CAC re-issues attachments in place).
FRONT_DOOR = "front_door"
REVALIDATE = "revalidate"

# The source whose health the service and operator alerts follow.
SOURCE_NAME = CacSource.kind


@dataclass(frozen=True, slots=True)
class ListFailure:
    where: str  # URL or list name
    reason: str
    cause: str = "fetch failed"  # blocked | HTTP error | timeout | too large | unparseable list …


def cause_of(error: FetchError) -> str:
    """A short category for a fetch failure, first thing in the one-line reason."""
    # Unreachable first: its timeouts and refusals are also FetchTimeout / HttpStatusError.
    causes = {
        Unreachable: "unreachable", Blocked: "blocked", HttpStatusError: "HTTP error", FetchTimeout: "timeout",
        TooLarge: "too large", OffSite: "off-site link",
    }
    for error_type, cause in causes.items():
        if isinstance(error, error_type):
            return cause
    return "fetch failed"


@dataclass(frozen=True, slots=True)
class ListResult:
    ref: ListRef
    outcome: IngestOutcome


@dataclass(slots=True)
class PollReport:
    source: str = SOURCE_NAME  # several sources: their names, comma-separated
    first_run: bool = False
    lists_checked: int = 0
    lists_unchanged: int = 0
    results: list[ListResult] = field(default_factory=list)
    failures: list[ListFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unchanged_keys: list[str] = field(default_factory=list)
    requests: int = 0
    bytes_downloaded: int = 0
    tier: str = REVALIDATE  # FRONT_DOOR or REVALIDATE (several sources: REVALIDATE if any was)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def new_lists(self) -> list[ListResult]:
        return [r for r in self.results if r.outcome.is_new_list]

    @property
    def revised_lists(self) -> list[ListResult]:
        return [r for r in self.results if not r.outcome.is_new_list and r.outcome.rows_changed]

    @property
    def held_lists(self) -> list[ListResult]:
        """Re-issues held as suspect by this poll (storage.holds): stored, nothing announced."""
        return [r for r in self.results if r.outcome.hold is not None and r.outcome.hold.new]

    def summary_line(self) -> str:
        if self.failures:
            first = self.failures[0]
            more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            return f"source {self.source}: {first.cause}: {first.where}: {first.reason}{more}"
        held = f", {len(self.held_lists)} held as suspect" if self.held_lists else ""
        return (
            f"source {self.source}: {self.lists_checked} lists checked, {len(self.new_lists)} new, "
            f"{len(self.revised_lists)} revised, {self.lists_unchanged} unchanged{held}"
        )


def merge_reports(reports: list[PollReport]) -> PollReport:
    """One report over several sources' polls (one report: itself)."""
    if len(reports) == 1:
        return reports[0]
    merged = PollReport(
        source=", ".join(r.source for r in reports),
        first_run=any(r.first_run for r in reports),
        tier=REVALIDATE if any(r.tier == REVALIDATE for r in reports) else FRONT_DOOR,
    )
    for report in reports:
        merged.lists_checked += report.lists_checked
        merged.lists_unchanged += report.lists_unchanged
        merged.results.extend(report.results)
        merged.failures.extend(report.failures)
        merged.warnings.extend(report.warnings)
        merged.unchanged_keys.extend(report.unchanged_keys)
        merged.requests += report.requests
        merged.bytes_downloaded += report.bytes_downloaded
    return merged


def configured_sources(settings: Settings) -> list[Source]:
    """A source per ``sources.<kind>`` that is configured, built from the registry by kind."""
    return [
        source_for(kind, value)
        for kind, value in settings.sources
        if value is not None
    ]


class PollHooks:
    """Extension points called inside the ingest transactions (the outbox plugs in here)."""

    def on_list(self, repo: Repository, ref: ListRef, outcome: IngestOutcome, *, first_run: bool) -> None:
        """Called in the same transaction as the list's ingest."""

    def on_poll_done(self, repo: Repository, report: PollReport) -> None:
        """Called in the transaction that records a completed poll."""


class _PollValidators:
    """Validators read from the database at poll start; writes are held back for the caller.

    The fetcher must never persist a validator on its own: only a committed ingest may.
    """

    def __init__(self, stored: dict[str, Validators]) -> None:
        self._stored = stored
        self.pending: dict[str, Validators] = {}

    def get(self, url: str) -> Validators | None:
        return self._stored.get(url)

    def put(self, url: str, validators: Validators) -> None:
        self.pending[url] = validators


def _validators_of(result: FetchResult) -> Validators | None:
    if not (result.etag or result.last_modified):
        return None
    return Validators(etag=result.etag, last_modified=result.last_modified, sha256=result.sha256)


async def _fetch_and_parse(
    fetcher: Fetcher, ref: ListRef, blobs: BlobStore, parser: ParserPool
) -> tuple[ListRef, FetchResult | None, ParsedList | None, ListFailure | None]:
    """Fetch one attachment and parse it. Returns (ref, fetch, parsed, failure)."""
    where = f"{ref.name} <{ref.attachment_url}>"
    try:
        result = await fetcher.get_attachment(ref.attachment_url, referer=ref.page_url)
    except FetchError as err:
        return ref, None, None, ListFailure(where, err.reason, cause_of(err))
    except ValueError as err:  # a link no URL parser below the fetcher's checks accepts: this list only
        return ref, None, None, ListFailure(where, f"malformed link ({str(err)[:200]})", "bad link")
    if result.not_modified or result.content is None:
        return ref, result, None, None
    await asyncio.to_thread(blobs.put, result.content)  # raw bytes kept first: a failed list can be re-parsed later
    try:
        parsed = await parser.parse(result.content, ref)
    except ParseError as err:
        return ref, result, None, ListFailure(where, str(err), "unparseable list")
    return ref, result, parsed, None


def _store_list(
    db: Database,
    key: str,
    fetched_list: tuple[ListRef, FetchResult | None, ParsedList | None, ListFailure | None],
    report: PollReport,
    hooks: PollHooks,
    validators: _PollValidators,
    held: Mapping[str, HeldVersion] | None = None,
) -> None:
    """One list, one transaction: its rows, derived filings, validators and events."""
    ref, fetched, parsed, error = fetched_list
    held_here = (held or {}).get(key)
    # A 304 for held bytes first seen a day ago: the site still serves them, which confirms them.
    confirm = (
        error is None and parsed is None and fetched is not None and held_here is not None
        and fetched.sha256 == held_here.sha256 and confirm_due(held_here.since)
    )  # fmt: skip
    if error is None and parsed is None and not confirm:
        report.lists_unchanged += 1
        report.unchanged_keys.append(key)  # marked checked together at the end: idle polls stay cheap
        return
    with db.session() as session:
        repo = Repository(session)
        if error is not None:
            report.failures.append(error)
            repo.record_list_error(ref, key, f"{error.cause}: {error.reason}")
            return
        if parsed is None:
            outcome = repo.confirm_held(repo.checked(key))
        else:
            outcome = repo.ingest(parsed, key)
        if fetched is not None and parsed is not None and (v := _validators_of(fetched)):
            repo.put_validators(fetched.url, v)
            validators.pending.pop(fetched.url, None)
        if outcome.hold is None and not outcome.rows_changed:
            report.lists_unchanged += 1
        report.results.append(ListResult(ref, outcome))
        hooks.on_list(repo, ref, outcome, first_run=report.first_run)


def _site_down(error: FetchError) -> bool:
    return isinstance(error, (Blocked, Unreachable)) or (isinstance(error, HttpStatusError) and error.status >= 500)


def _lists_to_check(
    source: Source,
    stored: dict[str, ListRef],
    discovered: list[ListRef],
    *,
    revalidate: bool = True,
    unsettled: frozenset[str] = frozenset(),
) -> list[tuple[str, ListRef]]:
    """Revalidation: every stored list is re-checked (a conditional GET: CAC re-issues old
    attachments in place); newly discovered ones are added, and fresher descriptions win.
    Front door: only what is new — a discovered list not stored yet, stored under another
    URL, or ``unsettled`` (known but never stored whole: a new list whose first fetch failed
    must not wait for the next revalidation). Oldest first, so a filing
    repeated by a later summary list is "new" in the earliest one."""
    refs: dict[str, ListRef] = dict(stored) if revalidate else {k: stored[k] for k in unsettled if k in stored}
    for ref in discovered:
        key = source.list_key(ref)
        known = stored.get(key)
        if revalidate or known is None or key in unsettled or known.attachment_url != ref.attachment_url:
            refs[key] = ref
    return sorted(refs.items(), key=lambda item: (item[1].kind.value, item[1].list_month, item[0]))


@dataclass(frozen=True, slots=True)
class Look:
    """What one source's discovery found: the first half of a poll, picklable, so that the
    service can look in its own process and hand the rest (fetch, parse, store) to a child
    (``bot.ingest.isolated``) only when there is something to fetch."""

    source: str  # the source's name
    lists: list[ListRef]
    announcements: list[AnnouncementRecord]
    failures: list[ListFailure]  # pages that could not be read: the poll fails
    warnings: list[str]
    site_down: bool  # blocked or failing: no attachment is requested
    # The pages' validators: stored with the poll's record, and only if the poll succeeds.
    page_validators: dict[str, Validators]
    requests: int
    bytes_downloaded: int
    # ``time.monotonic()`` (system-wide on Linux) before which the site gets no further
    # request: ``min_delay`` holds across the hand-off, counted from the end of the look.
    not_before: float


@dataclass(slots=True)
class _PollState:
    """What a poll reads from the database before it asks the site anything."""

    first_run: bool
    known_pages: set[str]
    stored_refs: dict[str, ListRef]
    unsettled: frozenset[str]
    held: dict[str, HeldVersion]
    validators: _PollValidators


def _read_state(db: Database, source: Source) -> _PollState:
    with db.session() as session:
        repo = Repository(session)
        stored_rows = repo.stored_lists()
        return _PollState(
            first_run=not repo.has_successful_poll(source.name),
            known_pages=repo.known_page_urls(),
            stored_refs={row.attachment_key: repo.list_ref(row) for row in stored_rows},
            # Lists never stored whole (their first fetch or parse failed): the front door retries
            # them, a new list must not wait for the next revalidation. A stored list that failed
            # later (a broken re-issue) waits for the revalidation, or every front door would
            # download it again.
            unsettled=frozenset(row.attachment_key for row in stored_rows if row.current_version_id is None),
            held=repo.held_versions(),
            validators=_PollValidators(repo.all_validators()),
        )


async def _look(source: Source, fetcher: Fetcher, state: _PollState) -> Look:
    discovery = await source.discover(fetcher, known_pages=state.known_pages)
    # The pages' validators go to ``pending`` now (stored at the end, only if the poll
    # succeeded): attachments read only ``_stored``, so this changes no request.
    discovery.commit(fetcher)
    return Look(
        source=source.name,
        lists=list(discovery.lists),
        announcements=list(discovery.announcements),
        failures=[ListFailure(error.url, error.reason, cause_of(error)) for error in discovery.fatal_errors],
        # The notice API is a second signal only: its failure is a warning, not a failed poll.
        warnings=[f"{e.url}: {e.reason}" for e in discovery.signal_errors] + list(discovery.warnings),
        site_down=any(_site_down(error) for error in discovery.fatal_errors),
        page_validators=dict(state.validators.pending),
        requests=fetcher.stats.requests,
        bytes_downloaded=fetcher.stats.bytes_downloaded,
        not_before=time.monotonic() + fetcher.settings.min_delay,
    )


def _to_check(source: Source, state: _PollState, look: Look, *, revalidate: bool) -> list[tuple[str, ListRef]]:
    if look.site_down:
        return []  # the site is refusing us or failing: fetching every attachment would only hammer it
    return _lists_to_check(source, state.stored_refs, look.lists, revalidate=revalidate, unsettled=state.unsettled)


def _record(
    db: Database,
    source: Source,
    report: PollReport,
    look: Look,
    validators: _PollValidators,
    hooks: PollHooks,
    *,
    revalidated: bool,
) -> None:
    """The poll's last transaction: lists found unchanged, announcements, the pages'
    validators (only if every list behind them was stored), the poll's record, the hooks."""
    with db.session() as session:
        repo = Repository(session)
        repo.mark_checked(report.unchanged_keys)
        totals = TotalsRepository(session)
        for announcement in look.announcements:
            repo.upsert_announcement(announcement, source.classify(announcement.title))
            totals.record_announcement(announcement, source.classify(announcement.title))
        totals.date_announced_lists()
        if report.ok:
            for url, pending in validators.pending.items():
                repo.put_validators(url, pending)
        poll = Poll(
            lists_seen=report.lists_checked,
            lists_changed=len(report.new_lists) + len(report.revised_lists),
            requests=report.requests,
            bytes_downloaded=report.bytes_downloaded,
        )
        repo.record_poll(
            source.name, poll, ok=report.ok, error=report.summary_line() if not report.ok else None, revalidated=revalidated
        )
        hooks.on_poll_done(repo, report)


def _record_statements(db: Database, source: Source, look: Look) -> None:
    stating = [a for a in look.announcements if a.totals]
    if not stating:
        return
    with db.session() as session:
        totals = TotalsRepository(session)
        for announcement in stating:
            totals.record_announcement(announcement, source.classify(announcement.title))


def _check_tier(tier: str) -> None:
    if tier not in (FRONT_DOOR, REVALIDATE):
        raise ValueError(f"unknown polling tier {tier!r}")


async def check_once(
    settings: Settings,
    db: Database,
    *,
    hooks: PollHooks | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,  # for tests only
    tier: str = REVALIDATE,
    looks: Mapping[str, Look] | None = None,
) -> PollReport:
    """Run one poll of every configured source (``tier``: FRONT_DOOR or REVALIDATE, the
    default) and store everything it finds. ``looks``: the rest of polls looked at already
    (``look_first``), by source name; only those sources are polled."""
    reports = [
        await poll_source(
            source, settings, db, hooks=hooks, progress=progress, transport=transport, tier=tier,
            look=None if looks is None else looks[source.name],
        )
        for source in configured_sources(settings)
        if looks is None or source.name in looks
    ]
    return merge_reports(reports)


async def look_first(
    source: Source,
    settings: Settings,
    db: Database,
    *,
    tier: str = FRONT_DOOR,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PollReport | Look:
    """The first half of a poll, in this process: the database's state, then discovery.

    A front-door poll that finds nothing to fetch ends here: recorded, its report returned.
    Such a poll stores no list, so it makes no event (events come from stored lists, and
    ``baseline.established`` from a first poll, which is a revalidation), and it needs no
    parser, no hooks and nothing of the event machinery. Otherwise (something to fetch, a
    revalidation, a first poll) the Look is returned, for ``poll_source(look=…)`` to finish,
    typically in a child process."""
    _check_tier(tier)
    state = await asyncio.to_thread(_read_state, db, source)
    async with source.fetcher(state.validators, transport=transport) as fetcher:
        look = await _look(source, fetcher, state)
    if tier == REVALIDATE or state.first_run or _to_check(source, state, look, revalidate=False):
        return look
    report = PollReport(source=source.name, tier=FRONT_DOOR)
    report.failures.extend(look.failures)
    report.warnings.extend(look.warnings)
    report.requests, report.bytes_downloaded = look.requests, look.bytes_downloaded
    await asyncio.to_thread(_record, db, source, report, look, state.validators, PollHooks(), revalidated=False)
    return report


async def poll_source(
    source: Source,
    settings: Settings,
    db: Database,
    *,
    hooks: PollHooks | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    tier: str = REVALIDATE,
    look: Look | None = None,
) -> PollReport:
    """One poll of one source: discover (unless ``look`` holds what ``look_first`` found),
    fetch and parse what changed, store it list by list."""
    _check_tier(tier)
    hooks = hooks or PollHooks()
    blobs = BlobStore(settings.data_dir / "blobs")
    state = _read_state(db, source)
    # The first poll reads everything anyway; it counts as a revalidation.
    revalidate = tier == REVALIDATE or state.first_run
    report = PollReport(source=source.name, first_run=state.first_run, tier=REVALIDATE if revalidate else FRONT_DOOR)

    async with source.fetcher(state.validators, transport=transport) as fetcher:
        if look is None:
            look = await _look(source, fetcher, state)
            looked_elsewhere = False  # the look's requests are this fetcher's
        else:
            looked_elsewhere = True
            state.validators.pending.update(look.page_validators)
            # This fetcher has no memory of the look's requests: min_delay is kept here.
            await asyncio.sleep(max(0.0, look.not_before - time.monotonic()))
        report.failures.extend(look.failures)
        report.warnings.extend(look.warnings)
        # Totals stated by the announcements are known before the lists are stored, so the
        # event of the list they announced can be reconciled with them (bot.ingest.events).
        await asyncio.to_thread(_record_statements, db, source, look)
        ordered = _to_check(source, state, look, revalidate=revalidate)
        report.lists_checked = len(ordered)

        parser = ParserPool(settings.parse_workers)
        tasks = [asyncio.create_task(_fetch_and_parse(fetcher, ref, blobs, parser)) for _, ref in ordered]
        try:
            # Stored strictly in order (see _lists_to_check), each as soon as it is ready,
            # in a thread so that fetching and parsing of later lists go on meanwhile.
            for done, ((key, _ref), task) in enumerate(zip(ordered, tasks), start=1):
                fetched_list = await task
                await asyncio.to_thread(
                    _store_list, db, key, fetched_list, report, hooks, state.validators, state.held
                )
                if progress:
                    progress("lists", done, len(tasks))
        finally:
            for task in tasks:
                task.cancel()
            parser.close()

        report.requests = fetcher.stats.requests + (look.requests if looked_elsewhere else 0)
        report.bytes_downloaded = fetcher.stats.bytes_downloaded + (look.bytes_downloaded if looked_elsewhere else 0)

    _record(db, source, report, look, state.validators, hooks, revalidated=revalidate)
    return report
