"""``cacwatch demo``: the whole pipeline, offline, against the bundled replica of the CAC site.

1. The replica is served on localhost with its newest deep-synthesis batch not yet announced.
2. The first poll ingests everything else: one ``baseline.established`` event, no history spam.
3. The batch is "published" (channel page and notice API updated) and a second poll finds it:
   the ``list.published`` event is shown as each audience gets it — the webhook body, the
   Telegram channel posts, the law-firm email digest — and written to files.
4. An idle poll shows that nothing is downloaded again and nothing is sent.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from bot.settings.config import Settings, settings_from_mapping
from bot.changes.event_schema import ListEvent
from bot.changes.export import export_to_path, with_english
from bot.ingest.poll import PollOutcome, poll_and_deliver
from bot.changes.summary import print_stats
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.export_repo import ExportRepository
from storage.repo import Repository

__all__ = ["run_demo"]

# The newest deep-synthesis batch of the bundled replica (第三批, list month 2024-01).
_NEW_BATCH_PAGE = "/2024-01/05/c_1706119043746644.htm"


def _settings(replica: ReplicaServer, root: Path) -> Settings:
    return settings_from_mapping(
        {
            "database": {"url": f"sqlite:///{root / 'demo.db'}"},
            "data_dir": str(root / "data"),
            "sources": {
                "cac": {"base_url": replica.base_url, "beian_url": replica.beian_url, "concurrency": 2, "min_delay": "0s"}
            },
            "notify": {"watchlist": ["腾讯", "字节跳动", "ByteDance", "Alibaba"]},
        },
        env={},
    )


def _poll(settings: Settings, db: Database, console: Console, label: str) -> PollOutcome:
    started = time.perf_counter()
    outcome = asyncio.run(poll_and_deliver(settings, db, [], deliver_wait=0))
    report = outcome.report
    console.print(
        f"[bold]{label}[/bold]: {report.summary_line()} — {report.requests} requests, "
        f"{report.bytes_downloaded / 1024:.0f} KiB, {len(outcome.events)} event(s), {time.perf_counter() - started:.1f}s",
        highlight=False,
    )
    for failure in report.failures:
        console.print(f"  [red]failed[/red] {failure.where}: {failure.reason}", highlight=False)
    return outcome


def _show_audiences(event: ListEvent, root: Path, console: Console) -> None:
    """The same event as a webhook receiver, a Telegram reader and a law firm see it."""
    from bot.delivery.email.digest import render_digest
    from bot.delivery.email.subscribers import Subscriber
    from bot.delivery.notifiers.text import plain_summary
    from bot.delivery.notifiers.webhook import encode_body
    from bot.delivery.telegram.format import render_event

    data = event["data"]
    console.print(Panel(plain_summary(event, "both"), title="Console summary", expand=False))

    webhook = root / "webhook-list.published.json"
    # The body exactly as an endpoint gets it (with the event's ``id``), indented for reading.
    body = json.loads(encode_body(event))
    webhook.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"Webhook body ({len(data['new'])} new filings, signed per Standard Webhooks when sent): {webhook}", highlight=False)

    posts = render_event(event, "both")
    telegram = root / "telegram-posts.html"
    telegram.write_text("\n<hr>\n".join(posts), encoding="utf-8")
    console.print(f"Telegram channel: {len(posts)} post(s), HTML parse mode, each ≤ 4096 UTF-16 units: {telegram}", highlight=False)

    subscriber = Subscriber(
        address="partner@lawfirm.example", name="Partner", language="both", watchlist=("腾讯", "字节跳动"), watch_only=False
    )
    message = render_digest([event], subscriber, now=datetime.now(timezone.utc), sender="watch@cacwatch.example")
    eml = root / "digest.eml"
    eml.write_bytes(bytes(message))
    html_part = message.get_body(preferencelist=("html",))
    if html_part is not None:
        (root / "digest.html").write_text(html_part.get_content(), encoding="utf-8")
    attachments = [name for part in message.iter_attachments() if (name := part.get_filename())]
    console.print(f"Email digest: “{message['Subject']}” with {', '.join(attachments)}: {eml}", highlight=False)


_WORKDIR_CONFIG = """\
# Written by `cacwatch demo --workdir`: later commands run in this folder use the demo's store
# (relative paths are taken from this file's folder), e.g.
#   cacwatch stats · cacwatch serve · cacwatch digest preview --sample · cacwatch export
# The demo's replica stopped with it; `cacwatch replica` serves it again on the address below,
# and then `cacwatch check --once` polls it.
database:
  url: "sqlite:///demo.db"
data_dir: "data"
sources:
  cac:
    base_url: "http://127.0.0.1:8765"
    beian_url: "http://127.0.0.1:8765"
    min_delay: "0s"
notify:
  watchlist: ["腾讯", "字节跳动", "ByteDance", "Alibaba"]
"""


def _leave_config(root: Path, console: Console) -> None:
    """So that `cacwatch serve`, `digest preview` … work in the demo's folder afterwards."""
    config = root / "config.yaml"
    if config.exists():
        console.print(f"{config} exists: left as it is (its database may not be the demo's)", highlight=False)
        return
    config.write_text(_WORKDIR_CONFIG, encoding="utf-8")
    console.print(
        f"Config written to {config}: in {root}, `cacwatch stats`, `cacwatch serve` and `cacwatch digest preview --sample` use the demo's store.",
        highlight=False,
    )


def run_demo(console: Console, workdir: Path | None = None) -> int:
    """Serve the replica on localhost, ingest it, publish a new batch, show it. Returns an exit code."""
    with tempfile.TemporaryDirectory(prefix="cacwatch-demo-") as tmp:
        root = Path(workdir) if workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        with ReplicaServer() as replica:
            settings = _settings(replica, root)
            db = Database(settings.database.url)
            db.migrate()
            console.rule("[bold]cacwatch demo")
            console.print(f"A replica of the CAC site, built from real CAC attachments, serves at {replica.base_url} (offline).")
            publish = replica.withhold(_NEW_BATCH_PAGE)

            first = _poll(settings, db, console, "First poll")
            with db.session() as session:
                repo = Repository(session)
                print_stats(console, repo.list_stats(), repo.filing_counts())

            console.rule("CAC publishes the 3rd deep-synthesis batch")
            publish()
            second = _poll(settings, db, console, "Next poll")
            published = [e for e in second.events if e["type"] == "list.published"]
            if published:
                _show_audiences(published[0], root, console)

            idle = _poll(settings, db, console, "Idle poll")
            with db.session() as session:
                output = root / "filings.jsonl"
                count = export_to_path((with_english(r) for r in ExportRepository(session).filings()), "jsonl", output)
            console.print(f"{count} filings exported to {output}", highlight=False)
            db.dispose()
        ok = all(o.report.ok for o in (first, second, idle)) and bool(published) and not idle.events
        if workdir is None:
            console.print(f"(the demo's files were in {root}, a temporary directory removed now; pass --workdir DIR to keep them)", highlight=False)
        else:
            _leave_config(root, console)
        return 0 if ok else 1
