"""The names of the events cacwatch sends (``type`` of every payload), kept on the floor so that
configuration (``notify.webhook[].events``) validates them without importing the event schema's
rooms. The payloads themselves are ``bot.changes.event_schema``.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["ListEventType", "EventType", "EVENT_TYPES", "LIST_EVENT_TYPES"]

ListEventType = Literal["list.published", "list.revised"]
EventType = Literal["list.published", "list.revised", "baseline.established"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
LIST_EVENT_TYPES: tuple[ListEventType, ...] = get_args(ListEventType)
