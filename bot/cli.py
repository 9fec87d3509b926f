"""``python -m bot.cli`` and the ``cacwatch`` console script: the CLI lives in ``bot.app.cli``."""

import os

# Pydantic looks for third-party plugins (every installed distribution's entry points) when it
# builds its first model: ~25 ms of each cron run's ~1.3 s, for plugins cacwatch never uses.
# Set before pydantic is imported; an operator who wants plugins sets the variable (even empty).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from bot.app.cli import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    main()
