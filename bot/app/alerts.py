"""Operator alerts: tell whoever runs cacwatch when it cannot do its job, once per incident.

Two kinds of incidents, each with a key (``storage.models_service.Incident``):
- ``source:cac`` — the source has failed ``service.alert_after`` polls in a row (blocked by
  the WAF, HTTP errors, timeouts…). Closed by the next successful poll.
- ``list:<where>`` — a list could not be parsed (zero rows, unknown headers: the site changed
  its format). Opened at the first such poll: re-reading the same bytes will not help.
  Closed when a poll reaches the lists and that one no longer fails.

- ``totals:<kind>:<as_of>`` — what cacwatch holds after a GenAI list differs from the
  cumulative totals CAC states for it (截至…共有N款…完成备案，M款…完成登记;
  ``storage.totals_repo``): a row lost or invented somewhere. Evaluated from the database
  after every poll; closed when the two agree again (the missing list parsed, a re-issue).

- ``held:<kind>:<month>:<list id>`` — a re-issue lost a large share of its rows and is held
  as suspect (``storage.holds``): stored, no removal announced. Closed when the hold ends
  (confirmed by the operator or by a day of the same bytes, or the full list is back).

One message when an incident opens and one when it closes, to every alert destination
(``alert_destinations``): the admin Telegram chat (``notify.telegram.admin_chat``), admin
email (``service.alert_email``), Apprise entries with ``operator_alerts: true``, and webhooks
whose ``events`` name ``operator.alert`` — those get a signed ``operator.alert`` event through
the outbox (its id stable per incident opened or resolved, so a retry is dropped). A message
that could not be sent is tried again after the next poll; a recovery is announced only
for an incident that was announced. Incidents live in the database, so restarts and a
change of leader neither repeat nor lose them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import TYPE_CHECKING, Literal

from bot.app.alert_destinations import alert_destinations
from bot.ingest.pipeline import SOURCE_NAME, PollReport
from bot.settings.config import Settings
from bot.settings.event_types import OPERATOR_ALERT
from storage.db import Database, Session
from storage.holds import held_lists
from storage.service_repo import ServiceRepository
from storage.totals_repo import Reconciliation, TotalsRepository

if TYPE_CHECKING:
    from bot.changes.event_schema import OperatorAlertEvent

__all__ = ["Alerter", "Alert", "SOURCE_KEY", "list_key", "totals_message", "totals_lines"]

log = logging.getLogger(__name__)

SOURCE_KEY = f"source:{SOURCE_NAME}"
HELD = "held:"
TOTALS = "totals:"
UNPARSEABLE = "unparseable list"


def list_key(where: str) -> str:
    return f"list:{where}"[:500]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=moment.tzinfo or timezone.utc).astimezone(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def totals_message(r: Reconciliation) -> str:
    """The operator's message for a stated total that does not reconcile."""
    stated = f"{r.stated_filed} filed" + (f" + {r.stated_registered} registered" if r.stated_registered is not None else "")
    held = f"{r.held_filed} filed" + (f" + {r.held_registered} registered" if r.stated_registered is not None else "")
    return (
        f"cacwatch: GenAI totals do not reconcile: CAC states {stated} as of {r.as_of}; "
        f"cacwatch holds {held} after the list {r.list_name} ({r.list_month}).\n"
        f"Stated in: {r.source_title} {r.source_url}\n"
        "A row was lost or invented somewhere: a list not found or not parsed, a parse that dropped "
        "or split rows, a filing wrongly marked cancelled. `cacwatch lists` shows what is stored."
    )


def totals_lines(reconciliations: Sequence[Reconciliation]) -> list[str]:
    """``cacwatch status``: the newest stated total against what cacwatch holds (the proof that
    nothing was missed), then every older statement that does not reconcile."""
    compared = [r for r in reconciliations if r.compared]
    if not compared:
        if reconciliations:
            newest = reconciliations[-1]
            return [f"GenAI totals: CAC states totals as of {newest.as_of}, but no stored list they apply to yet"]
        return ["GenAI totals: no total stated by CAC read yet"]

    def line(r: Reconciliation) -> str:
        if r.stated_registered is None:
            stated, held = f"{r.stated_filed} filed", f"{r.held_filed}"
        else:
            stated = f"{r.stated_filed} filed + {r.stated_registered} registered"
            held = f"{r.held_filed} + {r.held_registered}"
        mark = "✓" if r.ok else f"✗ (after the list {r.list_month})"
        return f"CAC states {stated} as of {r.as_of}; cacwatch holds {held} {mark}"

    newest = compared[-1]
    lines = [f"GenAI totals: {line(newest)}"]
    lines.extend(f"  also differs: {line(r)}" for r in compared[:-1] if not r.ok)
    return lines


class Alert:
    """One message to operators (subject line + plain text), and the incident it is about."""

    def __init__(
        self,
        subject: str,
        text: str,
        *,
        incident_id: int | None = None,
        key: str = "",
        state: Literal["opened", "resolved"] = "opened",
        opened_at: datetime | None = None,
        resolved_at: datetime | None = None,
    ) -> None:
        self.subject = subject
        self.text = text
        self.incident_id = incident_id
        self.key = key
        self.state = state
        self.opened_at = opened_at
        self.resolved_at = resolved_at

    def event(self, now: datetime) -> "OperatorAlertEvent":
        """The ``operator.alert`` webhook event: its id is the same whenever this very alert
        (one incident, opened or resolved) is written again, so the outbox keeps it once."""
        opened = _utc(self.opened_at or now)
        identity = f"{self.incident_id}|{self.key}|{opened.isoformat()}|{self.state}"
        return {
            "id": f"evt_alert_{hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]}",
            "type": OPERATOR_ALERT,
            "timestamp": _stamp(now),
            "data": {
                "incident": self.key,
                "state": self.state,
                "subject": self.subject,
                "text": self.text,
                "opened_at": _stamp(opened),
                "resolved_at": _stamp(_utc(self.resolved_at)) if self.resolved_at is not None else None,
            },
        }

    def __repr__(self) -> str:
        return f"Alert({self.subject!r})"


Sender = Callable[[Alert], Awaitable[bool]]


class Alerter:
    """Evaluates incidents after each poll (on the leader) and sends what is due."""

    def __init__(self, settings: Settings, db: Database, *, senders: Sequence[Sender] | None = None) -> None:
        self.settings = settings
        self.db = db
        self._senders: list[Sender] = list(senders) if senders is not None else self._configured_senders()
        self.queued = 0  # alerts written to the outbox (webhooks): the caller delivers them

    @property
    def enabled(self) -> bool:
        return bool(self._senders)

    def _configured_senders(self) -> list[Sender]:
        by_channel: dict[str, Sender] = {
            "telegram": self._send_telegram,
            "email": self._send_email,
            "apprise": self._send_apprise,  # every entry with operator_alerts: true
            "webhook": self._send_outbox,  # every webhook with events: [operator.alert]
        }
        return list({d.channel: by_channel[d.channel] for d in alert_destinations(self.settings)}.values())

    # --- incident bookkeeping (blocking, in a thread) -----------------------------------

    def _evaluate(self, report: PollReport) -> None:
        now = utcnow()
        alert_after = self.settings.service.alert_after
        with self.db.session() as session:
            repo = ServiceRepository(session)
            failures = repo.consecutive_failures(SOURCE_NAME)
            open_by_key = repo.open_incidents()
            # The source as a whole.
            site_failures = [f for f in report.failures if f.cause != UNPARSEABLE]
            if not site_failures:
                # The site answered. Lists that do not parse have incidents of their own below.
                if SOURCE_KEY in open_by_key:
                    repo.close_incident(SOURCE_KEY, at=now)
            elif failures >= alert_after:
                causes = sorted({f.cause for f in site_failures})
                message = (
                    f"cacwatch: source {SOURCE_NAME} has failed {failures} polls in a row "
                    f"({', '.join(causes)}).\n{report.summary_line()}\n"
                    "What could not be read is left as stored (nothing marked removed, nothing sent for it); "
                    "polling goes on, less often, until it recovers."
                )
                repo.open_incident(SOURCE_KEY, message, failures, at=now)
            # Lists that no longer parse (the site changed its format).
            failing = {
                list_key(f.where): f for f in report.failures if f.cause == UNPARSEABLE
            }
            for key, failure in failing.items():
                message = (
                    f"cacwatch: a list could not be read: {failure.where}\n{failure.reason}\n"
                    "The site may have changed its format; the list is skipped, everything else is ingested."
                )
                previous = open_by_key.get(key)
                repo.open_incident(key, message, previous.failures + 1 if previous else 1, at=now)
            if report.lists_checked:
                # The poll reached the lists: those that did not fail this time are readable again.
                for key in open_by_key:
                    if key.startswith("list:") and key not in failing:
                        repo.close_incident(key, at=now)
            self._evaluate_holds(session, open_by_key, now)
            self._evaluate_totals(session, open_by_key, now)

    @staticmethod
    def _evaluate_holds(session: Session, open_by_key: Mapping[str, object], now: datetime) -> None:
        """One incident per held list, from the database (a CLI confirm ends one too)."""
        repo = ServiceRepository(session)
        held = {f"{HELD}{h.key}": h for h in held_lists(session)}
        for key, h in held.items():
            message = (
                f"cacwatch: a list was re-issued with many rows missing and is held as suspect: {h.describe()}\n"
                f"{h.page_url}\n"
                "The new version is stored but not used: no filing is announced as removed. It is confirmed "
                "automatically if the same file is still served a day after it first appeared, or now with "
                f"`cacwatch lists confirm {h.kind} {h.list_month}`; if the site serves the full list again, "
                "the hold ends by itself."
            )
            repo.open_incident(key, message, 1, at=now)
        for key in open_by_key:
            if key.startswith(HELD) and key not in held:
                repo.close_incident(key, at=now)

    @staticmethod
    def _evaluate_totals(session: Session, open_by_key: Mapping[str, object], now: datetime) -> None:
        """One incident per stated total that what cacwatch holds does not match."""
        repo = ServiceRepository(session)
        failing = {
            f"{TOTALS}{r.kind}:{r.as_of}": r for r in TotalsRepository(session).reconciliations() if not r.ok
        }
        for key, r in failing.items():
            repo.open_incident(key, totals_message(r), 1, at=now)
        for key in open_by_key:
            if key.startswith(TOTALS) and key not in failing:
                repo.close_incident(key, at=now)

    def _due(self) -> list[tuple[int, str, Alert]]:
        """(incident id, "open" | "recovery", message) not yet sent."""
        due: list[tuple[int, str, Alert]] = []
        with self.db.session() as session:
            for row in ServiceRepository(session).due_incidents():
                if row.closed_at is None:
                    alert = Alert(
                        self._subject(row.key, recovered=False), row.last_message,
                        incident_id=row.id, key=row.key, state="opened", opened_at=row.opened_at,
                    )  # fmt: skip
                    due.append((row.id, "open", alert))
                else:
                    opened = row.opened_at.replace(tzinfo=row.opened_at.tzinfo or timezone.utc)
                    works = (
                        "is no longer held (confirmed, or the full list is back)" if row.key.startswith(HELD)
                        else "reconcile again" if row.key.startswith(TOTALS)
                        else "works again"
                    )  # fmt: skip
                    text = (
                        f"cacwatch: recovered: {self._what(row.key)} {works} "
                        f"(incident opened {opened:%Y-%m-%d %H:%M} UTC).\nLast problem: {row.last_message}"
                    )
                    alert = Alert(
                        self._subject(row.key, recovered=True), text,
                        incident_id=row.id, key=row.key, state="resolved", opened_at=row.opened_at, resolved_at=row.closed_at,
                    )  # fmt: skip
                    due.append((row.id, "recovery", alert))
        return due

    def _mark(self, incident_id: int, what: str) -> None:
        with self.db.session() as session:
            ServiceRepository(session).mark_incident_announced(incident_id, recovery=what != "open", at=utcnow())

    @staticmethod
    def _what(key: str) -> str:
        if key.startswith("source:"):
            return f"source {key.split(':', 1)[1]}"
        if key.startswith(HELD):
            kind, month, _ = key[len(HELD) :].split(":", 2)
            return f"held list {kind} {month}"
        if key.startswith(TOTALS):
            kind, as_of = key[len(TOTALS) :].split(":", 1)
            return f"{kind} totals as of {as_of}"
        return f"list {key.split(':', 1)[1]}"

    def _subject(self, key: str, *, recovered: bool) -> str:
        what = self._what(key)
        if recovered:
            return f"[cacwatch] recovered: {what}"[:200]
        if key.startswith("source:"):
            return f"[cacwatch] {what} is failing"[:200]
        if key.startswith(HELD):
            return f"[cacwatch] list held as suspect (rows missing): {what.removeprefix('held list ')}"[:200]
        if key.startswith(TOTALS):
            return f"[cacwatch] {what} do not reconcile with CAC's stated totals"[:200]
        return f"[cacwatch] unreadable list: {key.split(':', 1)[1]}"[:200]

    # --- after each poll -----------------------------------------------------------------

    async def after_poll(self, report: PollReport) -> list[Alert]:
        """Open or close incidents for this poll, then send every message that is due."""
        await asyncio.to_thread(self._evaluate, report)
        return await self.send_due()

    async def send_due(self) -> list[Alert]:
        if not self._senders:
            # Said in the log, not only in `status` ("alert sent: no"): nobody else is told.
            for _incident_id, _what, alert in await asyncio.to_thread(self._due):
                log.warning("operator alert not sent (no alert destination configured): %s", alert.subject)
            return []
        sent: list[Alert] = []
        for incident_id, what, alert in await asyncio.to_thread(self._due):
            results = await asyncio.gather(*(sender(alert) for sender in self._senders), return_exceptions=True)
            delivered = [r for r in results if r is True]
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("operator alert not sent: %s: %s", result.__class__.__name__, result)
            # One channel that got it is enough: retrying would repeat it there.
            if delivered:
                await asyncio.to_thread(self._mark, incident_id, what)
                sent.append(alert)
                log.info("operator alert sent: %s", alert.subject)
        return sent

    # --- channels ------------------------------------------------------------------------

    async def _send_telegram(self, alert: Alert) -> bool:
        # Through the same python-telegram-bot client as channel posts (one Telegram client).
        from telegram import LinkPreviewOptions
        from telegram.error import BadRequest, NetworkError, TelegramError

        from bot.delivery.telegram.notifier import make_bot

        telegram = self.settings.notify.telegram
        assert telegram is not None and telegram.admin_chat
        bot = make_bot(telegram)
        try:
            async with bot:
                # A plain text message (no parse_mode): error texts may contain < and & freely.
                await bot.send_message(
                    chat_id=telegram.admin_chat,
                    text=f"{alert.subject}\n\n{alert.text}"[:4000],
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except BadRequest as err:  # a refusal (chat not found …): Telegram's own words are safe to log
            log.warning("operator alert to Telegram refused: %s %s", err.__class__.__name__, err.message)
            return False
        except NetworkError as err:
            # Never log what a transport error says: it may carry the URL, and the URL the bot token.
            log.warning("operator alert to Telegram failed: %s", err.__class__.__name__)
            return False
        except TelegramError as err:
            log.warning("operator alert to Telegram refused: %s %s", err.__class__.__name__, err.message)
            return False
        return True

    async def _send_outbox(self, alert: Alert) -> bool:
        """Every notifier that carries operator alerts (webhooks with ``events: [operator.alert]``)
        gets the ``operator.alert`` event through the outbox: signed, retried with backoff."""
        from bot.delivery.notifiers.factory import build_alert_carriers
        from bot.delivery.outbox import enqueue_operator_alert

        carriers = build_alert_carriers(self.settings)

        def write() -> int:
            with self.db.session() as session:
                return enqueue_operator_alert(session, alert.event(utcnow()), carriers)

        try:
            queued = await asyncio.to_thread(write)
        finally:
            for carrier in carriers:
                await carrier.aclose()
        if not queued:
            log.warning("operator alert not queued: every webhook that carries operator alerts is disabled (410)")
            return False
        self.queued += 1
        return True

    async def _send_apprise(self, alert: Alert) -> bool:
        """Every ``notify.apprise`` entry with ``operator_alerts: true``; True when one got it."""
        from bot.delivery.notifiers.apprise import AppriseNotifier
        from bot.delivery.notifiers.base import DeliveryError

        sent = False
        for entry in self.settings.notify.apprise:
            if not entry.operator_alerts:
                continue
            notifier = AppriseNotifier(entry)
            try:
                await notifier.send_text(alert.subject, alert.text)
                sent = True
            except DeliveryError as err:  # its reason never holds the URL (tokens)
                log.warning("operator alert through Apprise failed: %s", err)
            finally:
                await notifier.aclose()
        return sent

    async def _send_email(self, alert: Alert) -> bool:
        import aiosmtplib

        email = self.settings.notify.email
        assert email is not None
        message = EmailMessage()
        message["From"] = formataddr((email.sender_name, email.sender))
        message["To"] = ", ".join(self.settings.service.alert_email)
        message["Subject"] = alert.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=email.sender.rsplit("@", 1)[-1])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(alert.text)
        from bot.delivery.email.notifier import smtp_connection

        kwargs = smtp_connection(email)
        try:
            await asyncio.wait_for(aiosmtplib.send(message, **kwargs), timeout=email.timeout * 4)
        except Exception as err:  # noqa: BLE001 - any SMTP failure: tried again after the next poll
            log.warning("operator alert by email failed: %s: %s", err.__class__.__name__, err)
            return False
        return True
