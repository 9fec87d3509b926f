"""A rich progress bar for long work, shown only when stderr is a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

__all__ = ["progress_reporter", "stderr_progress", "may_be_terminal", "ProgressCallback"]

ProgressCallback = Callable[[str, int, int], None]


def may_be_terminal(stream: TextIO) -> bool:
    """False only when rich's ``Console.is_terminal`` would say False for ``stream`` too (not a
    tty, neither ``TTY_COMPATIBLE=1`` nor ``FORCE_COLOR``): cron and pipes never import rich."""
    if os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


@contextmanager
def stderr_progress(make_console: "Callable[[], Console]") -> Iterator[ProgressCallback | None]:
    """``progress_reporter`` on stderr; the console (and rich) is made only if it may be a terminal."""
    if not may_be_terminal(sys.stderr):
        yield None
        return
    with progress_reporter(make_console()) as progress:
        yield progress


@contextmanager
def progress_reporter(console: "Console") -> Iterator[ProgressCallback | None]:
    """Yields a ``(label, done, total)`` callback, or None when not attached to a terminal."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        yield update
