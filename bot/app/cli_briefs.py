"""``cacwatch brief KIND MONTH [--period list|month|quarter|year] --format pdf|docx|html --lang zh|en|both``."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bot.app import cli_common
from bot.app.cli_common import fail as _fail

__all__ = ["brief"]


class _Period(str, Enum):
    list = "list"
    month = "month"
    quarter = "quarter"
    year = "year"


class _Format(str, Enum):
    pdf = "pdf"
    docx = "docx"
    html = "html"


class _Lang(str, Enum):
    zh = "zh"
    en = "en"
    both = "both"


def brief(
    kind: Annotated[str, typer.Argument(help="deep_synthesis, algorithm_recommendation or genai_service")],
    month: Annotated[str, typer.Argument(help="YYYY-MM: the list's month (or a month of the period)")],
    period: Annotated[_Period, typer.Option("--period", help="list (default), month, quarter or year")] = _Period.list,
    fmt: Annotated[_Format, typer.Option("--format", "-f", help="pdf, docx or html")] = _Format.pdf,
    lang: Annotated[_Lang, typer.Option("--lang", help="zh, en or both")] = _Lang.both,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout, html only)")] = None,
) -> None:
    """The brief of a list (or of a month, quarter or year) as a document: counts, rank, big tech,
    foreign filers with example products, cancellations, renames and totals, from stored facts."""
    from bot.briefs.facts import BriefError, gather
    from bot.briefs.fonts import FontMissing
    from bot.briefs.render import render

    if output is None and fmt is not _Format.html and sys.stdout.isatty():
        raise _fail(f"--format {fmt.value} is binary: give --output FILE or redirect stdout", 2)
    settings = cli_common.settings(for_reading=True)
    db = cli_common.read_database(settings)
    try:
        with db.session() as session:
            facts = gather(session, kind, month, period.value)
        data = render(facts, fmt.value, lang.value, font=settings.briefs.font)
    except (BriefError, FontMissing) as err:
        raise _fail(str(err), 2 if isinstance(err, BriefError) else 1) from None
    finally:
        db.dispose()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as err:
        raise _fail(f"--output: cannot write {output}: {err.strerror or err}", 1) from None
    print(f"brief written to {output} ({len(data):,} bytes)", file=sys.stderr)
