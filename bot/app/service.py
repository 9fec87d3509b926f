"""``cacwatch run``: the long-running service.

Pieces, all on one asyncio event loop:
- **leadership** (``bot.app.leader``): on PostgreSQL one instance of several runs the scheduler;
  on SQLite a second instance refuses to start;
- **scheduler** (APScheduler 3, leader only): polls the source, one poll at a time
  (``max_instances=1``, ``coalesce``), with the gap before the next poll chosen after each
  poll by ``PollSchedule``: the configured interval, shorter in busy hours, longer while
  the source keeps failing, jittered; operator alerts after each poll; email heartbeats;
  the interactive Telegram bot;
- **delivery worker** (every instance): drains the outbox continuously, woken at once when
  this instance's poll queued events;
- **HTTP server** (``bot.app.health``): the web app (pages, API, feeds, the unsubscribe page)
  with ``/healthz``, ``/readyz``, ``/metrics``, under uvicorn on this loop; its search index is
  kept current after each ingest (this instance's or another's).

SIGTERM / SIGINT: the poll in progress is cancelled at its next await (a list being stored
finishes its transaction in its thread, and ``asyncio.run`` waits for that thread), the
delivery round in progress finishes (up to ``service.shutdown_grace``), then the process
exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from rich.console import Console

from bot.app.alert_destinations import no_destination_warning
from bot.app.alerts import Alerter
from bot.settings.config import Settings
from bot.app.health import HttpServer, PortUnavailable, Response, probe_routes
from bot.app.leader import AlreadyRunning, instance_name, make_election
from bot.app.scheduling import MIN_GAP, AdaptiveTrigger, PollSchedule
from bot.settings.logs import configure_logging
from bot.app.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.ingest.pipeline import SOURCE_NAME
from storage.db import Database
from storage.service_repo import ServiceRepository, last_success

if TYPE_CHECKING:
    from bot.delivery.notifiers.base import Notifier

__all__ = ["run_service", "Service", "PollSchedule", "POLL_JOB", "EXIT_ALREADY_RUNNING"]

log = logging.getLogger("bot.service")

POLL_JOB = f"poll-{SOURCE_NAME}"
EXIT_ALREADY_RUNNING = 3  # 2 is a configuration error (cli), 1 a crash
UNPARSEABLE = "unparseable list"
_INDEX_CHECK = 5.0  # seconds between looks for newly stored filings to index


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class ServiceState:
    instance: str
    started_at: datetime = field(default_factory=_utcnow)
    leader: bool = False
    polls: int = 0
    last_poll_at: datetime | None = None
    last_poll_ok: bool | None = None
    next_poll_at: datetime | None = None
    stopping: bool = False
    fatal: str | None = None  # a vital task died: /healthz answers 503
    # Recent polls of this instance: (started, finished, ok); ok is None when the poll raised.
    history: deque[tuple[datetime, datetime, bool | None]] = field(default_factory=lambda: deque(maxlen=100))


class Service:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        notifiers: list["Notifier"] | None = None,
        alerter: Alerter | None = None,
        metrics: Metrics | None = None,
        schedule: PollSchedule | None = None,
        reload_settings: "Callable[[], Settings] | None" = None,
    ) -> None:
        self.settings = settings
        # SIGHUP: how to read the configuration again (``cacwatch run`` passes its --config).
        self._reload_settings = reload_settings
        self._built_notifiers = notifiers is None  # ours to rebuild on reload (tests hand in their own)
        self._retired: list[Notifier] = []  # replaced by a reload: closed at stop (a round may still use them)
        self._reload_task: asyncio.Task[None] | None = None
        self.db = db
        self.state = ServiceState(instance=instance_name())
        self.metrics = metrics or Metrics()
        self.schedule = schedule or PollSchedule(settings.sources.cac, settings.service)
        self.alerter = alerter or Alerter(settings, db)
        self._notifiers = notifiers
        # Polls run in a child process (service.poll_process) when the child can build the same
        # notifiers from the settings, i.e. none were handed in (tests hand in their own).
        self._isolated_polls = settings.service.poll_process and notifiers is None
        self._by_key: dict[str, Notifier] = {}
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # kicks the delivery worker (new events, or stopping)
        self._scheduler: AsyncIOScheduler | None = None
        self._poll_task: asyncio.Task[Any] | None = None
        self._bot_stop: asyncio.Event | None = None
        self._bot_task: asyncio.Task[None] | None = None
        self._failures = 0  # consecutive failed polls of the source (from the database)
        self._crashes = 0  # consecutive polls that raised (database down…): they back off too
        self.health: HttpServer | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def request_stop(self, reason: str = "") -> None:
        if self.state.stopping:
            log.info("already stopping (%s)", reason or "again")
            return
        log.info("stopping%s: finishing the current transaction and delivery", f" ({reason})" if reason else "")
        self.state.stopping = True
        self._stop.set()
        self._wake.set()

    async def run(self, *, handle_signals: bool = True) -> None:
        """Run until ``request_stop`` (or SIGTERM/SIGINT); raises AlreadyRunning on a locked SQLite."""
        election = make_election(
            self.db,
            on_elected=self._elected,
            on_deposed=self._deposed,
            retry=self.settings.service.leader_retry,
        )
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        if handle_signals and self._reload_settings is not None:
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
            signals = (*signals, signal.SIGHUP)
        if self._notifiers is None:
            from bot.delivery.notifiers.factory import build_notifiers

            self._notifiers = build_notifiers(self.settings, self.db)
        from bot.delivery.notifiers.base import notifiers_by_key

        for notifier in self._notifiers:
            for problem in getattr(notifier, "problems", lambda: [])():
                log.warning("notifier: %s", problem)
        self._by_key = notifiers_by_key(self._notifiers)
        service = self.settings.service
        if service.readiness_max_age < self.settings.sources.cac.interval:
            log.warning("service.readiness_max_age is shorter than sources.cac.interval: /readyz will flap")
        tasks: list[asyncio.Task[Any]] = []
        try:
            if service.health_port is not None:
                self.health, web_state = self._http_server()
                port = await self.health.start()
                keeper = self._guarded(self._keep_index(web_state), "search index refresh")
                tasks.append(asyncio.create_task(keeper, name="search index"))
                log.info("web app and health endpoints on http://%s:%d (/healthz /readyz /metrics)", service.health_host, port)
                from bot.app.cli_web import exposure_warnings

                for warning in exposure_warnings(self.settings.web, service.health_host, loopback_only=self._web_loopback_only()):
                    log.warning("%s", warning)
            self._warn_without_alerts()  # once it can run at all (a taken port stays one line)
            log.info(
                "cacwatch run started",
                extra={"instance": self.state.instance, "leadership": election.describe(), "notifiers": len(self._notifiers)},
            )
            delivery = self._vital(self._delivery_loop(), "delivery worker")
            leadership = self._vital(election.run(self._stop), "leader election")
            tasks += [delivery, leadership]
            await self._stop.wait()
            # Leadership first (it stops the scheduler and the poll), then deliveries in flight.
            await asyncio.wait([leadership], timeout=30)
            done, pending = await asyncio.wait([delivery], timeout=service.shutdown_grace)
            for task in pending:
                log.warning("deliveries still in flight after %.0fs: left to their lease", service.shutdown_grace)
                task.cancel()
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for notifier in [*(self._notifiers or []), *self._retired]:
                with contextlib.suppress(Exception):
                    await notifier.aclose()
            if self.health is not None:
                await self.health.close()
            for sig in signals:
                loop.remove_signal_handler(sig)
        log.info("cacwatch run stopped", extra={"instance": self.state.instance})
        if self.state.fatal:
            raise RuntimeError(self.state.fatal)

    def _warn_without_alerts(self) -> None:
        if not self.alerter.enabled:
            log.warning(no_destination_warning())

    # --- SIGHUP: watchlist and destinations read again ---------------------------------------

    def request_reload(self) -> None:
        """SIGHUP (``systemctl reload cacwatch``): read the configuration again, in a task."""
        if self._reload_task is not None and not self._reload_task.done():
            log.info("reload already in progress")
            return
        self._reload_task = asyncio.create_task(self._reload_in_task(), name="reload")

    async def _reload_in_task(self) -> None:
        await self.reload()

    async def reload(self) -> bool:
        """Take ``notify`` (watchlist, destinations, their filters) from the configuration file
        as it is now; anything else waits for a restart. A configuration that does not load
        changes nothing (one line in the log). True when the new notify settings are in use."""
        if self._reload_settings is None:
            return False
        from bot.settings.config import ConfigError

        try:
            fresh = await asyncio.to_thread(self._reload_settings)
        except ConfigError as err:
            log.error("reload: configuration error, keeping the running configuration: %s", err)
            return False
        except OSError as err:
            log.error("reload: cannot read the configuration, keeping the running one: %s", err)
            return False
        others = [k for k in type(fresh).model_fields if k != "notify" and getattr(fresh, k) != getattr(self.settings, k)]
        if others:
            log.warning("reload: %s changed: takes effect at the next restart", ", ".join(sorted(others)))
        if fresh.notify == self.settings.notify:
            log.info("reload: watchlist and destinations unchanged")
            return True
        telegram_before = self.settings.notify.telegram
        self.settings = self.settings.model_copy(update={"notify": fresh.notify})
        self.alerter = Alerter(self.settings, self.db)
        if self._built_notifiers:
            from bot.delivery.notifiers.base import notifiers_by_key
            from bot.delivery.notifiers.factory import build_notifiers

            notifiers = await asyncio.to_thread(build_notifiers, self.settings, self.db)
            for notifier in notifiers:
                for problem in getattr(notifier, "problems", lambda: [])():
                    log.warning("notifier: %s", problem)
            self._retired.extend(self._notifiers or [])
            self._notifiers = notifiers
            self._by_key = notifiers_by_key(notifiers)
            self._wake.set()  # the delivery worker picks them up now
        if telegram_before != self.settings.notify.telegram and self._bot_task is not None:
            log.warning("reload: the Telegram command bot keeps its settings until a restart (posts use the new ones)")
        log.info(
            "reload: watchlist and destinations read again",
            extra={"notifiers": len(self._notifiers or []), "watchlist": len(self.settings.notify.watchlist)},
        )
        self._warn_without_alerts()
        return True

    def _vital(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """A task the service cannot live without: if it dies, the process stops (non-zero)."""

        def done(task: asyncio.Task[Any]) -> None:
            if task.cancelled() or self.state.stopping:
                return
            error = task.exception()
            self.state.fatal = f"{name} died: {error.__class__.__name__}: {error}" if error else f"{name} ended"
            log.error(self.state.fatal, exc_info=error)
            self.request_stop(self.state.fatal)

        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(done)
        return task

    # --- leadership: the scheduler ------------------------------------------------------

    async def _elected(self) -> None:
        self.state.leader = True
        self.metrics.leader.set(1)
        try:
            self._failures = await asyncio.to_thread(self._read_failures)
        except Exception as err:  # noqa: BLE001 - the first poll will tell more
            log.warning("could not read the source state: %s", err)
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=timezone.utc)
        grace = int(max(60.0, self.settings.sources.cac.interval))
        scheduler.add_job(
            self._poll_job,
            trigger=AdaptiveTrigger(lambda: max(self.schedule.longest(), 600.0)),
            id=POLL_JOB,
            name=f"poll {SOURCE_NAME}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
            next_run_time=_utcnow(),  # first poll at once
        )
        # A missed run (machine asleep, loop stalled past the grace time) is not made up with a
        # burst: one poll right away instead, then the normal pace.
        scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        if any(hasattr(n, "send_heartbeats") for n in self._notifiers or []):
            scheduler.add_job(
                self._heartbeats,
                "interval",
                hours=1,
                jitter=120,
                id="email-heartbeats",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
                next_run_time=_utcnow() + timedelta(minutes=1),
            )
        scheduler.start()
        self._scheduler = scheduler
        telegram = self.settings.notify.telegram
        if telegram is not None and telegram.interactive:
            # One getUpdates consumer per bot token: the bot answers from the leader only.
            from bot.delivery.telegram.bot import run_bot

            self._bot_stop = asyncio.Event()
            self._bot_task = asyncio.create_task(self._guarded(run_bot(telegram, self.db, self._bot_stop), "telegram bot"))

    async def _deposed(self) -> None:
        self.state.leader = False
        self.metrics.leader.set(0)
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        task = self._poll_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=30)
        if self._bot_task is not None:
            assert self._bot_stop is not None
            self._bot_stop.set()
            await asyncio.wait([self._bot_task], timeout=15)
            self._bot_task = None
        if not self.state.stopping:
            log.warning("leader: lost the scheduler lock; polling stops here, deliveries go on")

    async def _guarded(self, coro: Any, name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an optional component must not take the service down
            log.exception("%s stopped with an error", name)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        if event.job_id == POLL_JOB and self._scheduler is not None:
            self._reschedule(_utcnow())

    def _reschedule(self, when: datetime) -> None:
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running or self.state.stopping:
            return
        with contextlib.suppress(Exception):  # the job is gone when the scheduler is stopping
            scheduler.modify_job(POLL_JOB, next_run_time=when)
            self.state.next_poll_at = when

    def _read_failures(self) -> int:
        with self.db.session() as session:
            return ServiceRepository(session).consecutive_failures(SOURCE_NAME)

    def _read_last_revalidated(self) -> datetime | None:
        with self.db.session() as session:
            return ServiceRepository(session).last_revalidated_at(SOURCE_NAME)

    async def _poll_job(self) -> None:
        """The scheduled job: one poll, interruptible by stop or loss of leadership."""
        self._poll_task = asyncio.current_task()
        try:
            await self._poll_once()
        except asyncio.CancelledError:
            # Stopping or no longer the leader. The job ends quietly (APScheduler would log a
            # traceback for a cancellation); its task is ending anyway.
            log.info("poll interrupted: stopping or no longer the leader")
        finally:
            if self._poll_task is asyncio.current_task():
                self._poll_task = None

    async def _poll_once(self) -> None:
        """One poll; then alerts, metrics, and the time of the next one."""
        from bot.ingest.pipeline import FRONT_DOOR, REVALIDATE

        started, clock = _utcnow(), time.monotonic()
        # When this poll was due (the time it was scheduled for; the first poll: now). The
        # scheduler's own lag counts: since_due_s runs from here to the poll's report.
        scheduled = self.state.next_poll_at
        due = scheduled if scheduled is not None and scheduled <= started else started
        ok: bool | None = None
        try:
            last_revalidated = await asyncio.to_thread(self._read_last_revalidated)
            tier = REVALIDATE if self.schedule.revalidation_due(started, last_revalidated) else FRONT_DOOR
            # Delivery is the workers' job (deliver_wait=0): the poll only queues events.
            if self._isolated_polls:
                # Looked at here; fetched, parsed and stored in a child when there is anything to.
                from bot.ingest.isolated import poll_looking_first

                isolated = await poll_looking_first(self.settings, self.db, tier)
                report, events = isolated.report, isolated.events
            else:
                from bot.ingest.poll import poll_and_deliver

                outcome = await poll_and_deliver(
                    self.settings, self.db, self._notifiers or [], deliver_wait=0, tier=tier
                )
                report, events = outcome.report, len(outcome.events)
        except Exception as err:  # noqa: BLE001 - a bug or a database outage: logged, retried with backoff
            self._crashes += 1
            self.metrics.record_crash(time.monotonic() - clock)
            log.exception("poll failed with an internal error: %s", err.__class__.__name__)
        else:
            self._crashes = 0
            ok = report.ok
            duration = time.monotonic() - clock
            since_due = (_utcnow() - due).total_seconds()
            self.metrics.record_poll(report, duration)
            self.state.last_poll_ok = report.ok
            extra = {
                "ok": report.ok,
                "tier": report.tier,
                "lists_checked": report.lists_checked,
                "new_lists": len(report.new_lists),
                "revised_lists": len(report.revised_lists),
                "events": events,
                "duration_s": round(duration, 3),
                "since_due_s": round(since_due, 3),  # from when it was due to its report
            }
            if report.ok:
                log.info("poll: %s", report.summary_line(), extra=extra)
            else:
                causes = sorted({f.cause for f in report.failures})
                log.warning("poll failed: %s", report.summary_line(), extra={**extra, "causes": causes})
                for failure in report.failures[1:6]:
                    log.warning("  %s: %s: %s", failure.cause, failure.where, failure.reason)
            for warning in report.warnings[:10]:
                log.warning("poll warning: %s", warning)
            if events:
                self._wake.set()  # deliver now, not at the worker's next idle tick
            if all(f.cause == UNPARSEABLE for f in report.failures):
                # Success, or only lists that do not parse: re-reading the same bytes less often
                # helps nobody, and new lists must still be found at the normal pace.
                self._failures = 0
            else:
                try:
                    self._failures = await asyncio.to_thread(self._read_failures)
                except Exception:  # noqa: BLE001 - keep counting without the database
                    self._failures += 1
            try:
                queued = self.alerter.queued
                await self.alerter.after_poll(report)
                if self.alerter.queued != queued:
                    self._wake.set()  # operator.alert events for webhooks: deliver them now
            except Exception:  # noqa: BLE001 - alerts are best effort; the poll itself succeeded
                log.exception("operator alerts failed")
        if self._isolated_polls:
            from bot.ingest.isolated import release_memory

            release_memory()  # what the look allocated: the service must not creep poll by poll
        now = _utcnow()
        self.state.history.append((started, now, ok))
        self.state.polls += 1
        self.state.last_poll_at = started
        gap = self.schedule.gap(now, self._failures + self._crashes)
        # Counted from the start of this poll: the interval is the promise, not interval + poll time.
        next_run = max(started + timedelta(seconds=gap), now + timedelta(seconds=min(MIN_GAP, gap / 10)))
        self._reschedule(next_run)
        if self._failures + self._crashes > 1:
            log.info(
                "next poll in %.0fs (backing off after %d failed polls)",
                (next_run - now).total_seconds(),
                self._failures + self._crashes,
            )

    async def _heartbeats(self) -> None:
        for notifier in self._notifiers or []:
            send = getattr(notifier, "send_heartbeats", None)
            if send is not None:
                try:
                    await send()
                except Exception:  # noqa: BLE001 - tried again next hour
                    log.exception("email heartbeats failed")

    # --- delivery worker (every instance) -------------------------------------------------

    async def _delivery_loop(self) -> None:
        from bot.delivery.outbox import deliver_due
        from bot.delivery.render import renderer

        worker = f"{self.state.instance}:{uuid.uuid4().hex[:6]}"
        interval = self.settings.service.delivery_interval
        errors = 0
        by_key: dict[str, Notifier] | None = None
        notifiers: dict[str, Notifier] = {}
        if not self._by_key:
            log.info("no notifiers configured: the delivery worker waits for a reload that adds one")
        while not self.state.stopping:
            self._wake.clear()
            if self._by_key is not by_key:  # a reload (SIGHUP) brought other destinations
                by_key = self._by_key
                notifiers = self.metrics.timed(by_key)
            if not notifiers:
                await self._wake.wait()
                continue
            busy = False
            try:
                # A bounded round: SIGTERM waits for the round in flight, so keep it short.
                run = await deliver_due(self.db, notifiers, worker=worker, limit=200, concurrency=50)
            except Exception as err:  # noqa: BLE001 - database down: wait and try again
                errors += 1
                log.warning("delivery round failed: %s: %s", err.__class__.__name__, err)
            else:
                errors = 0
                busy = bool(run.delivered or run.failed or run.dead or run.disabled)
                if busy:
                    log.info(
                        "deliveries: %d sent, %d to retry, %d dead, %d disabled",
                        run.delivered, run.failed, run.dead, run.disabled,
                        extra={"worker": worker},
                    )
                for error in run.errors[:5]:
                    log.warning("delivery failed: %s", error)
            if busy:
                continue  # more may be due right away
            # Nothing due: the rendering child (charts, digests) goes, and what it loaded with it.
            await asyncio.to_thread(renderer.release)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(interval * 2**errors, 60.0))

    # --- HTTP: the web app and the health endpoints -----------------------------------------

    def _routes(self) -> dict[str, Any]:
        return {"/healthz": self._healthz, "/readyz": self._readyz, "/metrics": self._metrics}

    def _web_loopback_only(self) -> bool:
        from bot.web.http import is_loopback

        web = self.settings.web
        return web.auth is None and not web.open and not is_loopback(self.settings.service.health_host)

    def _http_server(self) -> tuple[HttpServer, Any]:
        """The web app with the probes and the unsubscribe page, and its state (the search
        index ``_keep_index`` keeps current)."""
        from bot.web.app import create_app, web_state_of
        from bot.web.unsubscribe import PATH as UNSUBSCRIBE
        from bot.web.unsubscribe import unsubscribe_route

        routes = [*probe_routes(self._routes()), unsubscribe_route(self.db)]
        service = self.settings.service
        app = create_app(
            self.db,
            web=self.settings.web,
            briefs=self.settings.briefs,
            brief_dir=self.settings.data_dir / "briefs",
            blob_dir=self.settings.data_dir / "blobs",
            extra_routes=routes,
            # Orchestrators and mail recipients have no web.auth credentials.
            open_paths={*self._routes(), UNSUBSCRIBE},
            # The index is brought up to date by the keeper below, not before /healthz answers.
            refresh_on_start=False,
            # The poller and the deliveries live in this process: on a public address without
            # credentials, the web app answers this machine only (web.open: true to serve all).
            loopback_only=self._web_loopback_only(),
            settings=self.settings,
            email=self.settings.notify.email,  # self-service sign-up's confirmation mails
        )
        server = HttpServer(app, service.health_host, service.health_port or 0)
        return server, web_state_of(app)

    async def _keep_index(self, state: Any) -> None:
        """Index what was stored since the last look: at start, then every few seconds (one
        primary-key query while nothing changed). Searches also check before they run, so a
        search never misses stored filings; this keeps that check from costing a visitor."""
        while not self.state.stopping:
            try:
                await asyncio.to_thread(state.ensure_index)
            except Exception as err:  # noqa: BLE001 - database down: searches retry on their own
                log.warning("search index refresh failed: %s: %s", err.__class__.__name__, err)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=_INDEX_CHECK)

    async def _healthz(self) -> Response:
        if self.state.fatal:
            return Response(503, f"{self.state.fatal}\n".encode())
        role = "leader" if self.state.leader else "follower"
        return Response(200, f"ok {self.state.instance} {role}\n".encode())

    def _last_success(self) -> datetime | None:
        return last_success(self.db)

    async def _readyz(self) -> Response:
        if self.state.stopping:
            return Response(503, b"shutting down\n")
        try:
            last = await asyncio.wait_for(asyncio.to_thread(self._last_success), timeout=5)
        except Exception as err:  # noqa: BLE001 - any error means "not ready", said plainly
            return Response(503, f"database unreachable: {err.__class__.__name__}\n".encode())
        if last is None:
            return Response(503, b"no successful poll yet\n")
        age = (_utcnow() - last).total_seconds()
        bound = self.settings.service.readiness_max_age
        if age > bound:
            return Response(503, f"last successful poll {age:.0f}s ago (readiness_max_age {bound:.0f}s)\n".encode())
        return Response(200, f"ready: last successful poll {age:.0f}s ago\n".encode())

    async def _metrics(self) -> Response:
        self.metrics.leader.set(1 if self.state.leader else 0)
        await asyncio.to_thread(self.metrics.collect, self.db)
        return Response(200, self.metrics.render(), CONTENT_TYPE_LATEST)


async def run_service(
    settings: Settings, db: Database, console: Console, *, reload_settings: Callable[[], Settings] | None = None
) -> None:
    """Entry point of ``cacwatch run``: returns after a clean stop (exit 0). ``reload_settings``
    reads the configuration again on SIGHUP."""
    configure_logging(settings)
    service = Service(settings, db, reload_settings=reload_settings)
    from bot.delivery.render import renderer

    renderer.isolate(settings.service.render_process)
    try:
        await service.run()
    except AlreadyRunning as err:
        console.print(f"cacwatch: {err}", markup=False, highlight=False)
        # Its own exit status: a supervisor should not restart into the same refusal.
        raise SystemExit(EXIT_ALREADY_RUNNING) from None
    except PortUnavailable as err:
        console.print(f"cacwatch: {err}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None  # a configuration problem: restarting will not help
    except RuntimeError as err:
        if service.state.fatal:
            console.print(f"cacwatch: {err}", markup=False, highlight=False)
            raise SystemExit(1) from None
        raise
    finally:
        renderer.isolate(False)  # stops the rendering child, if one is up
