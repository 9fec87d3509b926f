"""Build the configured notifiers from the registry: the YAML under ``notify:`` maps onto them.

Every key of ``notify:`` whose value is a notifier's settings (or a list of them) yields
notifiers of the kind its settings model names, in the order of the keys; the module of a
kind is imported only when that kind is configured (Telegram and email pull in heavy
libraries). No kind is named here: a new notifier needs its module and its settings model.
"""

from __future__ import annotations

import importlib

from bot.settings.config import NotifierSettings, Settings
from bot.delivery.notifiers.base import NOTIFIER_KINDS, Notifier
from storage.db import Database

__all__ = ["build_notifiers", "notifier_class"]


def notifier_class(settings: NotifierSettings) -> type[Notifier]:
    """The registered notifier class for these settings (its module imported on first use)."""
    if settings.kind not in NOTIFIER_KINDS:
        importlib.import_module(settings.module)
    try:
        return NOTIFIER_KINDS[settings.kind]
    except KeyError:
        raise LookupError(f"notifier kind {settings.kind!r}: {settings.module} registers no such notifier") from None


def build_notifiers(settings: Settings, db: Database | None = None) -> list[Notifier]:
    notifiers: list[Notifier] = []
    for _key, value in settings.notify:
        entries = value if isinstance(value, list) else [value]
        for entry in entries:
            if isinstance(entry, NotifierSettings):
                notifier = notifier_class(entry).from_settings(entry, db)
                notifier.public_url = settings.web.public_url
                notifiers.append(notifier)
    return notifiers
