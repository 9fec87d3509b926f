"""Shared by the benchmark scripts: replace one section of docs/benchmarks.md, keep the others."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["replace_section", "python_speed", "speed_note"]


def python_speed() -> float:
    """Seconds a fixed pure-Python loop (10 million additions) takes here, best of three: how
    fast this machine runs Python, so that figures from different machines (or from one shared
    host at different times) can be compared."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def replace_section(path: Path, heading: str, section: str) -> None:
    """Put ``section`` (starting with ``heading``) in place of the old one, or at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def speed_note(seconds: float | None) -> str:
    """How the report says the machine's Python speed during the run (measured as the run began:
    a shared host's speed changes over the day, so a figure taken when writing would mislead)."""
    if seconds is None:
        return " (Python speed not recorded for this run)"
    return f" (a 10M-iteration Python loop took {seconds:.2f} s as the run began)"
