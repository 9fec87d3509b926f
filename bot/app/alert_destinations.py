"""Where operator alerts go (``bot.app.alerts`` sends them): said by ``cacwatch status`` and, when
nowhere, at the start of ``run`` and ``check --once``. Light on purpose: ``check --once`` asks it
before its first request, long before the alert machinery is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.settings.config import Settings
from bot.settings.event_types import OPERATOR_ALERT
from bot.settings.redact import mask_url

__all__ = ["AlertDestination", "alert_destinations", "carries_alerts", "no_destination_warning"]


def carries_alerts(events: Sequence[str] | None) -> bool:
    return OPERATOR_ALERT in (events or ())


Channel = Literal["telegram", "email", "apprise", "webhook"]


@dataclass(frozen=True, slots=True)
class AlertDestination:
    channel: Channel  # how the alerter sends to it
    label: str  # how it is shown: never a secret (URLs masked, Apprise entries by position)


def alert_destinations(settings: Settings) -> list[AlertDestination]:
    """Every place operator alerts go, in the order they are sent to."""
    notify = settings.notify
    where: list[AlertDestination] = []
    if notify.telegram is not None and notify.telegram.admin_chat:
        where.append(AlertDestination("telegram", "Telegram admin chat"))
    if settings.service.alert_email and notify.email is not None:
        where.append(AlertDestination("email", f"email to {', '.join(settings.service.alert_email)}"))
    where.extend(
        AlertDestination("apprise", f"Apprise notify.apprise[{i}]") for i, entry in enumerate(notify.apprise) if entry.operator_alerts
    )
    where.extend(
        AlertDestination("webhook", f"webhook {mask_url(entry.url)}") for entry in notify.webhooks if carries_alerts(entry.events)
    )
    return where


def no_destination_warning() -> str:
    """The line ``run`` logs at start when alerts can go nowhere (``check --once`` says it in its
    failure line instead, and ``cacwatch status`` always)."""
    return (
        "no operator alert destination configured: incidents (a source failing, a list that no longer "
        "parses, totals that do not reconcile, a held re-issue) are recorded and shown by `cacwatch status`, "
        "but nobody is told; set notify.telegram.admin_chat, service.alert_email, operator_alerts: true "
        f"on a notify.apprise entry, or {OPERATOR_ALERT} in the events of a notify.webhooks entry"
    )
