"""Watch patterns: the check every place a pattern is added runs (config load, ``/watch``,
``subscribers add``) and the RE2 compilation of a ``re:`` pattern. The matching itself is
``bot.changes.watchlist``.
"""

from __future__ import annotations

from typing import Any, Final

import re2

__all__ = ["PATTERN_LIMIT", "check_pattern", "compile_pattern"]

PATTERN_LIMIT: Final = 200  # the longest ``re:`` body accepted (chat users, config, subscribers alike)
_REGEX_MEMORY: Final = 8 << 20  # RE2's budget for one compiled pattern: a bigger program is refused


def _regex_options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a bad pattern is our error message, not a line on stderr
    options.max_mem = _REGEX_MEMORY
    return options


def compile_pattern(pattern: str) -> Any:
    """A ``re:`` pattern compiled with RE2: linear-time matching whatever the pattern."""
    body = pattern[3:]
    if not body.strip():
        raise ValueError(f"watch pattern {pattern!r}: empty regular expression")
    if len(body) > PATTERN_LIMIT:
        raise ValueError(f"watch pattern {pattern[:40]!r}…: longer than {PATTERN_LIMIT} characters")
    try:
        return re2.compile(body, _regex_options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"watch pattern {pattern!r}: invalid regular expression ({reason})") from None


def check_pattern(pattern: str) -> None:
    """Raise ValueError (one line, naming the pattern) if a pattern can never work."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("watch pattern: empty")
    if pattern.strip().startswith("re:"):
        compile_pattern(pattern.strip())
