"""``cacwatch demo``: the whole pipeline, offline, against the bundled replica of the CAC site."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bot.config import settings_from_mapping
from bot.export import export_to_path
from bot.pipeline import check_once
from bot.summary import print_stats
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.repo import Repository, filing_record

__all__ = ["run_demo"]


def run_demo(console: Console, workdir: Path | None = None) -> int:
    """Serve the replica on localhost, ingest it, print and write what was found. Returns an exit code."""
    with tempfile.TemporaryDirectory(prefix="cacwatch-demo-") as tmp:
        root = Path(workdir) if workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        with ReplicaServer() as replica:
            settings = settings_from_mapping(
                {
                    "database": {"url": f"sqlite:///{root / 'demo.db'}"},
                    "data_dir": str(root / "data"),
                    "sources": {
                        "cac": {
                            "base_url": replica.base_url,
                            "beian_url": replica.beian_url,
                            "concurrency": 2,
                            "min_delay": "0s",
                        }
                    },
                },
                env={},
            )
            db = Database(settings.database.url)
            db.migrate()
            console.rule("[bold]cacwatch demo")
            console.print(f"Replica of the CAC site serving at {replica.base_url} (offline, localhost only)")
            started = time.perf_counter()
            report = asyncio.run(check_once(settings, db))
            elapsed = time.perf_counter() - started
            console.print(
                f"First poll: {report.summary_line()} — {report.requests} requests, "
                f"{report.bytes_downloaded / 1024:.0f} KiB in {elapsed:.1f}s",
                markup=False,
            )
            for failure in report.failures:
                console.print(f"[red]failed[/red] {failure.where}: {failure.reason}")
            with db.session() as session:
                repo = Repository(session)
                print_stats(console, repo.list_stats(), repo.filing_counts())
                output = root / "filings.jsonl"
                count = export_to_path((filing_record(f) for f in repo.filings()), "jsonl", output)
            console.print(f"{count} filings exported to {output}", markup=False)

            started = time.perf_counter()
            idle = asyncio.run(check_once(settings, db))
            console.print(
                f"Second (idle) poll: {idle.summary_line()} — {idle.requests} requests, "
                f"{idle.bytes_downloaded / 1024:.0f} KiB in {time.perf_counter() - started:.1f}s",
                markup=False,
            )
            db.dispose()
        ok = report.ok and idle.ok
        if workdir is None:
            console.print("(demo files were in a temporary directory; pass --workdir DIR to keep them)")
        return 0 if ok else 1
