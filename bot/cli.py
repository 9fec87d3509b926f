"""The ``cacwatch`` command line (typer)."""

from __future__ import annotations

import asyncio
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from bot.config import DEFAULT_CONFIG_PATH, ConfigError, Settings, load_settings

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Watch the Cyberspace Administration of China for new algorithm-filing lists.",
)
err_console = Console(stderr=True)


class _State:
    config_path: Path | None = None
    explicit: bool = False


_state = _State()


@app.callback()
def _global(
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", help="config.yaml (default: $CACWATCH_CONFIG, then ./config.yaml)"),
    ] = None,
) -> None:
    if config is not None:
        _state.config_path, _state.explicit = config, True
    elif os.environ.get("CACWATCH_CONFIG"):
        _state.config_path, _state.explicit = Path(os.environ["CACWATCH_CONFIG"]), True
    else:
        _state.config_path, _state.explicit = DEFAULT_CONFIG_PATH, False


def _fail(message: str, code: int = 1) -> typer.Exit:
    # One line on stderr: scripts and cron mails show it as is.
    print(f"cacwatch: {message}", file=sys.stderr)
    return typer.Exit(code)


def _settings() -> Settings:
    path = _state.config_path
    if path is not None and not _state.explicit and not path.exists():
        path = None  # no ./config.yaml: built-in defaults
    try:
        return load_settings(path)
    except ConfigError as err:
        raise _fail(f"configuration error: {err}", 2) from None


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    from storage.db import Database

    db = Database(settings.database.url)
    try:
        db.migrate()
    except Exception as err:  # noqa: BLE001 - any driver error is reported the same way
        raise _fail(f"database {settings.database.url.split('@')[-1]}: {err.__class__.__name__}: {err}") from None
    return db


@app.command()
def check(
    once: Annotated[bool, typer.Option("--once", help="Poll every source once, then exit.")] = False,
) -> None:
    """Discover, fetch, parse and store every list; exit non-zero if a source could not be read."""
    from bot.pipeline import check_once
    from bot.progress import progress_reporter

    if not once:
        raise _fail("check needs --once (use `cacwatch run` for the service)", 2)
    settings = _settings()
    db = _database(settings)
    with progress_reporter(err_console) as progress:
        report = asyncio.run(check_once(settings, db, progress=progress))
    db.dispose()
    if not report.ok:
        raise _fail(report.summary_line())
    print(report.summary_line())


class _Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"


@app.command()
def export(
    fmt: Annotated[_Format, typer.Option("--format", "-f", help="jsonl, csv or xlsx")] = _Format.jsonl,
    kind: Annotated[Optional[str], typer.Option("--kind", help="deep_synthesis, algorithm_recommendation or genai_service")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
    include_removed: Annotated[bool, typer.Option(help="Also filings that left every list.")] = False,
) -> None:
    """Export every stored filing."""
    from bot.export import export_to_path, write_export
    from scrapers.records import Kind
    from storage.repo import Repository, filing_record

    if kind is not None and kind not in {k.value for k in Kind}:
        raise _fail(f"--kind: unknown kind {kind!r} (deep_synthesis, algorithm_recommendation, genai_service)", 2)
    if fmt is _Format.xlsx and output is None and sys.stdout.isatty():
        raise _fail("--format xlsx is binary: give --output FILE or redirect stdout", 2)
    settings = _settings()
    db = _database(settings)
    with db.session() as session:
        records = (filing_record(f) for f in Repository(session).filings(kind, include_removed=include_removed))
        if output is None:
            count = write_export(records, fmt.value, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            count = export_to_path(records, fmt.value, output)
            err_console.print(f"{count} filings written to {output}", markup=False, highlight=False)
    db.dispose()


@app.command()
def stats() -> None:
    """Lists per kind with row counts, and filings per kind and status."""
    from bot.summary import print_stats
    from storage.repo import Repository

    settings = _settings()
    db = _database(settings)
    with db.session() as session:
        repo = Repository(session)
        print_stats(Console(), repo.list_stats(), repo.filing_counts())
    db.dispose()


@app.command()
def demo(
    workdir: Annotated[
        Optional[Path], typer.Option(help="Where to keep the demo database and output (default: a temp dir)")
    ] = None,
) -> None:
    """Offline: serve a bundled replica of the CAC site on localhost, ingest it, show the result."""
    from bot.demo import run_demo

    code = run_demo(Console(), workdir)
    raise typer.Exit(code)


@app.command()
def run() -> None:
    """The long-running service: poll on schedule, stop cleanly on SIGTERM."""
    from bot.service import run_service

    settings = _settings()
    db = _database(settings)
    try:
        asyncio.run(run_service(settings, db, err_console))
    finally:
        db.dispose()


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
