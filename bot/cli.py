"""``python -m bot.cli`` and the ``cacwatch`` console script: the CLI lives in ``bot.app.cli``."""

from bot.app.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
