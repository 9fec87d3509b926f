"""The names of the events cacwatch sends (``type`` of every payload), kept on the floor so that
configuration (``notify.webhook[].events``) validates them without importing the event schema's
rooms. The payloads themselves are ``bot.changes.event_schema``.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ListEventType",
    "EventType",
    "EVENT_TYPES",
    "LIST_EVENT_TYPES",
    "OperatorEventType",
    "OPERATOR_ALERT",
    "WEBHOOK_EVENT_TYPES",
]

ListEventType = Literal["list.published", "list.revised"]
EventType = Literal["list.published", "list.revised", "baseline.established"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
LIST_EVENT_TYPES: tuple[ListEventType, ...] = get_args(ListEventType)

# Operator alerts (an incident opened or resolved: the site blocked, a list that no longer parses,
# totals that do not reconcile, a held re-issue) travel as events of their own to the webhooks that
# ask for them by name (``events: [operator.alert]``); they are never list or baseline events.
OperatorEventType = Literal["operator.alert"]
OPERATOR_ALERT: OperatorEventType = "operator.alert"
# Every ``type`` a webhook body may have (docs/webhook-events.schema.json).
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES, OPERATOR_ALERT)
