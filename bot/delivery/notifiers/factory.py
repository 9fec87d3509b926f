"""Build the configured notifiers from the registry: the YAML under ``notify:`` maps onto them.

Every key of ``notify:`` whose value is a notifier's settings (or a list of them) yields
notifiers of the kind its settings model names, in the order of the keys; the module of a
kind is imported only when that kind is configured (Telegram and email pull in heavy
libraries). No kind is named here: a new notifier needs its module and its settings model.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from bot.settings.config import NotifierSettings, Settings
from bot.settings.event_types import OPERATOR_ALERT
from bot.delivery.notifiers.base import NOTIFIER_KINDS, Notifier
from storage.db import Database

__all__ = ["build_notifiers", "build_alert_carriers", "notifier_class"]


def notifier_class(settings: NotifierSettings) -> type[Notifier]:
    """The registered notifier class for these settings (its module imported on first use)."""
    if settings.kind not in NOTIFIER_KINDS:
        importlib.import_module(settings.module)
    try:
        return NOTIFIER_KINDS[settings.kind]
    except KeyError:
        raise LookupError(f"notifier kind {settings.kind!r}: {settings.module} registers no such notifier") from None


def _entries(settings: Settings) -> Iterator[NotifierSettings]:
    """Every notifier entry under ``notify:``, in the order of its keys."""
    for _key, value in settings.notify:
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, NotifierSettings):
                yield entry


def build_notifiers(settings: Settings, db: Database | None = None) -> list[Notifier]:
    notifiers: list[Notifier] = []
    for entry in _entries(settings):
        notifier = notifier_class(entry).from_settings(entry, db)
        notifier.public_url = settings.web.public_url
        notifiers.append(notifier)
    return notifiers


def build_alert_carriers(settings: Settings, db: Database | None = None) -> list[Notifier]:
    """The notifiers of the entries that ask for operator alerts by name (``events:
    [operator.alert]``) and can carry them: only those modules are imported."""
    carriers: list[Notifier] = []
    for entry in _entries(settings):
        if OPERATOR_ALERT in (getattr(entry, "events", None) or ()):
            notifier = notifier_class(entry).from_settings(entry, db)
            if notifier.carries_operator_alerts:
                carriers.append(notifier)
    return carriers
