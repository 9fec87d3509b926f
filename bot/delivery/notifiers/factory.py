"""Build the configured notifiers: the YAML under ``notify:`` maps one-to-one onto them."""

from __future__ import annotations

from bot.app.config import Settings
from bot.delivery.notifiers.base import Notifier
from storage.db import Database

__all__ = ["build_notifiers"]


def build_notifiers(settings: Settings, db: Database | None = None) -> list[Notifier]:
    notify = settings.notify
    notifiers: list[Notifier] = []
    if notify.webhooks:
        from bot.delivery.notifiers.webhook import WebhookNotifier

        notifiers += [WebhookNotifier(endpoint) for endpoint in notify.webhooks]
    if getattr(notify, "apprise", None):
        from bot.delivery.notifiers.apprise import AppriseNotifier

        notifiers += [AppriseNotifier(target) for target in notify.apprise]
    if notify.telegram is not None:
        from bot.delivery.telegram.notifier import TelegramNotifier

        notifiers.append(TelegramNotifier(notify.telegram, db))
    if notify.email is not None:
        from bot.delivery.email.notifier import EmailNotifier

        notifiers.append(EmailNotifier(notify.email, db))
    return notifiers
