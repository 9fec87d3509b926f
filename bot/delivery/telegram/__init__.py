"""Telegram: channel posts and private alerts (``notifier``), the interactive bot (``bot``).

``format`` and ``chart`` are pure (no network, no database) so they are cheap to test;
``queries`` holds the SQL the bot and the notifier share.
"""

__all__ = ["format", "chart", "queries", "notifier", "bot"]
