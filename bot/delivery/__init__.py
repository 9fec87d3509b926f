"""Delivery: the outbox and the notifiers (webhook, apprise, Telegram, email)."""
