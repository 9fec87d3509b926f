"""Prometheus metrics of the service, and the status snapshot ``cacwatch status`` prints.

Two kinds of numbers:
- **events of this process** (counters, histograms): polls run and their failures by cause,
  delivery latency of the deliveries this instance sent. They restart at zero with the
  process, as Prometheus counters do; with several instances, sum them.
- **state of the database** (gauges): read by ``Metrics.collect(db)`` at every scrape, so
  every instance reports the same truth: last success per source, lists and filings per
  kind, deliveries per notifier kind and state, open incidents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from storage.db import Database
from storage.outbox_repo import DELIVERY_LABELS, delivery_label
from storage.status_repo import IncidentStatus, SourceStatus, StatusRepository

if TYPE_CHECKING:
    from rich.console import Console

    from bot.changes.event_schema import Event, OperatorAlertEvent
    from bot.delivery.notifiers.base import Notifier
    from bot.ingest.pipeline import PollReport

__all__ = [
    "Metrics",
    "Snapshot",
    "SourceStatus",
    "IncidentStatus",
    "read_snapshot",
    "print_status",
    "notifier_kind",
    "CONTENT_TYPE_LATEST",
    "DELIVERY_STATES",
]

# The *_created series double every counter for little use; this process is the service.
disable_created_metrics()  # type: ignore[no-untyped-call]

# "failed" = pending again after a failed attempt (waiting for its retry).
DELIVERY_STATES = DELIVERY_LABELS
# Event created → delivered: seconds for webhooks, up to a day or a week for digests.
_LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)


def notifier_kind(notifier_key: str) -> str:
    """``webhook:https://…`` → ``webhook``: metric labels never carry URLs (nor tokens in them)."""
    return notifier_key.split(":", 1)[0] or "unknown"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the database says about the service, at ``taken_at``."""

    taken_at: datetime
    sources: list[SourceStatus] = field(default_factory=list)
    lists: dict[str, int] = field(default_factory=dict)  # kind → lists
    filings: dict[str, dict[str, int]] = field(default_factory=dict)  # kind → status → filings present
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)  # notifier kind → state → count
    incidents: list[IncidentStatus] = field(default_factory=list)  # open ones

    def last_success(self) -> datetime | None:
        moments = [s.last_success_at for s in self.sources if s.last_success_at is not None]
        return max(moments) if moments else None


def read_snapshot(db: Database) -> Snapshot:
    """One read-only pass over the database (blocking: call it in a thread from async code)."""
    with db.session() as session:
        repo = StatusRepository(session)
        sources = repo.sources()
        lists = repo.lists_per_kind()
        filings = repo.present_filings_per_kind()
        deliveries: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DELIVERY_STATES, 0))
        for notifier, state, was_tried, count in repo.delivery_counts():
            label = delivery_label(state, was_tried)  # the labels of `cacwatch deliveries` too
            by_state = deliveries[notifier_kind(notifier)]
            by_state[label] = by_state.get(label, 0) + count
        incidents = repo.open_incidents()
    return Snapshot(
        taken_at=datetime.now(timezone.utc),
        sources=sources,
        lists=lists,
        filings=filings,
        deliveries=dict(deliveries),
        incidents=incidents,
    )


class _TimedNotifier:
    """Forwards to a notifier and observes event-created → delivered for each success.

    Wrapping is how the latency of *this* instance's deliveries is known: the outbox
    clears the claim when it records the outcome, so the database cannot tell later which
    instance sent what.
    """

    def __init__(self, inner: "Notifier", histogram: Histogram) -> None:
        self._inner = inner
        self._observe = histogram.labels(notifier_kind(inner.destination)).observe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _done(self, event: "Event | OperatorAlertEvent") -> None:
        try:
            created = datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except (KeyError, TypeError, ValueError):
            return
        self._observe(max(0.0, (datetime.now(timezone.utc) - created).total_seconds()))

    # Arguments pass through untouched: the outbox's calling convention stays the outbox's.
    async def deliver(self, event: "Event", *args: Any, **kwargs: Any) -> None:
        await self._inner.deliver(event, *args, **kwargs)
        self._done(event)

    async def deliver_to(self, event: "Event", *args: Any, **kwargs: Any) -> None:
        await self._inner.deliver_to(event, *args, **kwargs)
        self._done(event)

    async def deliver_batch(self, events: Any, *args: Any, **kwargs: Any) -> None:
        await self._inner.deliver_batch(events, *args, **kwargs)
        for event, _delivery_id in events:
            self._done(event)

    async def deliver_operator_alert(self, alert: Any, *args: Any, **kwargs: Any) -> None:
        await self._inner.deliver_operator_alert(alert, *args, **kwargs)
        self._done(alert)


class Metrics:
    """The service's metrics, in a registry of its own (several services per test process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.polls = Counter("cacwatch_polls", "Polls run by this instance.", ["source", "outcome"], registry=r)
        self.poll_failures = Counter(
            "cacwatch_poll_failures", "Failures met by polls of this instance, by cause.", ["source", "cause"], registry=r
        )
        self.poll_duration = Histogram(
            "cacwatch_poll_duration_seconds",
            "How long a poll took.",
            ["source"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.last_success = Gauge(
            "cacwatch_source_last_success_timestamp_seconds", "Unix time of the last successful poll.", ["source"], registry=r
        )
        self.last_failure = Gauge(
            "cacwatch_source_last_failure_timestamp_seconds", "Unix time of the last failed poll.", ["source"], registry=r
        )
        self.consecutive_failures = Gauge(
            "cacwatch_source_consecutive_failures", "Failed polls since the last success.", ["source"], registry=r
        )
        self.lists = Gauge("cacwatch_lists", "Filing lists stored, by kind.", ["kind"], registry=r)
        self.filings = Gauge("cacwatch_filings", "Filings currently listed, by kind and status.", ["kind", "status"], registry=r)
        self.deliveries = Gauge(
            "cacwatch_deliveries",
            "Deliveries by notifier kind and state (failed: waiting for a retry).",
            ["notifier", "state"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "cacwatch_delivery_latency_seconds",
            "Event created to delivered, for deliveries sent by this instance.",
            ["notifier"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.incidents_open = Gauge("cacwatch_incidents_open", "Open operator-alert incidents.", registry=r)
        self.leader = Gauge("cacwatch_leader", "1 when this instance runs the scheduler.", registry=r)
        self.database_up = Gauge("cacwatch_database_up", "1 when the last database read succeeded.", registry=r)

    # --- events of this process -------------------------------------------------------

    def record_poll(self, report: "PollReport", duration: float, source: str = "cac") -> None:
        self.polls.labels(source, "ok" if report.ok else "failed").inc()
        self.poll_duration.labels(source).observe(duration)
        for failure in report.failures:
            self.poll_failures.labels(source, failure.cause).inc()

    def record_crash(self, duration: float, source: str = "cac") -> None:
        """A poll that raised (database down, a bug): counted apart from site failures."""
        self.polls.labels(source, "error").inc()
        self.poll_duration.labels(source).observe(duration)
        self.poll_failures.labels(source, "internal error").inc()

    def timed(self, notifiers: Mapping[str, "Notifier"]) -> dict[str, "Notifier"]:
        """The notifiers for ``deliver_due``, each success observed in the latency histogram."""
        return {key: cast("Notifier", _TimedNotifier(n, self.delivery_latency)) for key, n in notifiers.items()}

    # --- state of the database ---------------------------------------------------------

    def collect(self, db: Database) -> Snapshot | None:
        """Refresh the gauges from the database; None (and ``database_up 0``) when it fails."""
        try:
            snapshot = read_snapshot(db)
        except Exception:  # noqa: BLE001 - a scrape must still answer, saying the database is down
            self.database_up.set(0)
            return None
        self.database_up.set(1)
        self.apply(snapshot)
        return snapshot

    def apply(self, snapshot: Snapshot) -> None:
        for gauge in (self.last_success, self.last_failure, self.consecutive_failures, self.lists, self.filings, self.deliveries):
            gauge.clear()  # a label set that vanished from the database must vanish here too
        for source in snapshot.sources:
            if source.last_success_at:
                self.last_success.labels(source.name).set(source.last_success_at.timestamp())
            if source.last_failure_at:
                self.last_failure.labels(source.name).set(source.last_failure_at.timestamp())
            self.consecutive_failures.labels(source.name).set(source.consecutive_failures)
        for kind, count in snapshot.lists.items():
            self.lists.labels(kind).set(count)
        for kind, by_status in snapshot.filings.items():
            for status, count in by_status.items():
                self.filings.labels(kind, status).set(count)
        for kind, by_state in snapshot.deliveries.items():
            for state, count in by_state.items():
                self.deliveries.labels(kind, state).set(count)
        self.incidents_open.set(len(snapshot.incidents))

    def render(self) -> bytes:
        """The text exposition format (``CONTENT_TYPE_LATEST``)."""
        return generate_latest(self.registry)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def print_status(
    console: "Console", snapshot: Snapshot, *, leader: str | None, readiness_max_age: float | None = None
) -> bool:
    """``cacwatch status``: the numbers of ``/metrics`` as tables. Returns "ready" like ``/readyz``."""
    from rich.table import Table

    from bot.changes.summary import KIND_LABELS

    now = snapshot.taken_at
    last = snapshot.last_success()
    ready = last is not None and (readiness_max_age is None or (now - last).total_seconds() <= readiness_max_age)
    console.print(f"scheduler: {leader or 'no instance running'}", markup=False, highlight=False)
    console.print(
        f"ready: {'yes' if ready else 'no'} (last successful poll {_ago(last, now)})", markup=False, highlight=False
    )
    sources = Table(title="Sources", title_justify="left")
    columns = ("source", "last success", "front door", "revalidated", "last failure", "failing for", "polls ok",
               "polls failed", "last error")
    for column in columns:
        sources.add_column(column, overflow="fold", justify="right" if column.startswith(("polls", "failing")) else "left")
    for source in snapshot.sources:
        failing = f"{source.consecutive_failures} polls" if source.consecutive_failures else "-"
        sources.add_row(
            source.name,
            _ago(source.last_success_at, now),
            _ago(source.last_front_door_at, now),
            _ago(source.last_revalidated_at, now),
            _ago(source.last_failure_at, now),
            failing,
            str(source.polls_ok),
            str(source.polls_failed),
            source.last_error or "",
            style="red" if source.consecutive_failures else None,
        )
    console.print(sources)
    data = Table(title="Lists and filings", title_justify="left")
    data.add_column("kind")
    for column in ("lists", "active", "cancelled"):
        data.add_column(column, justify="right")
    for kind in sorted(set(snapshot.lists) | set(snapshot.filings)):
        by_status = snapshot.filings.get(kind, {})
        data.add_row(
            KIND_LABELS.get(kind, kind),
            str(snapshot.lists.get(kind, 0)),
            str(by_status.get("active", 0)),
            str(by_status.get("cancelled", 0)),
        )
    console.print(data)
    deliveries = Table(title="Deliveries", title_justify="left")
    deliveries.add_column("notifier")
    for state in DELIVERY_STATES:
        deliveries.add_column(state, justify="right")
    for kind, by_state in sorted(snapshot.deliveries.items()):
        deliveries.add_row(kind, *(str(by_state.get(state, 0)) for state in DELIVERY_STATES))
    console.print(deliveries)
    if snapshot.incidents:
        incidents = Table(title="Open incidents", title_justify="left")
        for column in ("incident", "since", "alert sent", "last message"):
            incidents.add_column(column, overflow="fold")
        for incident in snapshot.incidents:
            incidents.add_row(
                incident.key,
                _ago(incident.opened_at, now),
                "yes" if incident.notified else "no",
                incident.last_message.splitlines()[0] if incident.last_message else "",
                style="red",
            )
        console.print(incidents)
    else:
        console.print("open incidents: none", markup=False, highlight=False)
    return ready
