"""Notifier plug-ins: webhook, telegram, email, apprise — registered by ``kind``."""

from bot.delivery.notifiers.base import NOTIFIER_KINDS, DeliveryError, Notifier

__all__ = ["Notifier", "DeliveryError", "NOTIFIER_KINDS"]
