"""Per-filing events: what asking for them adds to an ingest transaction.

    python benchmarks/filing_events.py [--filings 779] [--endpoints 3] [--runs 5] [--database URL] [--write docs/benchmarks.md]

One list.published event of ``--filings`` new filings (779: the largest real list), split as a
poll splits it, written through the real outbox (``enqueue_many``) with and without
``--endpoints`` webhook endpoints asking for ``filing.new``: the time of the whole write
(list event parts, their deliveries, the per-filing events and theirs) in one transaction,
committed, the median of ``--runs`` runs each on a fresh SQLite store (or on ``--database``).
Nothing is sent.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import replace_section  # noqa: E402
from bot.settings.config import WebhookSettings  # noqa: E402
from bot.changes.event_schema import FilingRecord, ListEvent, split_event  # noqa: E402
from bot.ingest.events import MAX_FILINGS_PER_EVENT, filing_events  # noqa: E402
from bot.delivery.notifiers.webhook import WebhookNotifier  # noqa: E402
from bot.delivery.outbox import enqueue_many, filing_event_types, new_event_id  # noqa: E402
from storage.db import Database  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _event(filings: int) -> ListEvent:
    new: list[FilingRecord] = [
        {"kind": "deep_synthesis", "list_month": "2024-08", "filing_number": f"网信算备11010800000{n:05d}号",
         "name": f"合成算法{n}", "entity": f"北京示例科技有限公司{n % 97}", "role": "provider", "category": None,
         "products": ["示例App（APP、网站）"], "purpose": "应用于文本生成场景", "province": "北京市", "remark": "",
         "status": "active", "filed_on": None}
        for n in range(filings)
    ]  # fmt: skip
    return {
        "id": new_event_id(), "type": "list.published", "timestamp": "2026-05-06T08:01:02Z",
        "data": {"kind": "deep_synthesis", "list_month": "2024-08", "title": "", "name": "", "batch": 5, "page_url": "",
                 "attachment_url": "", "counts": {"new": filings, "changed": 0, "removed": 0}, "new": new, "changed": [],
                 "removed": [], "notable": []},
    }  # fmt: skip


def one_run(url: str, filings: int, endpoints: int, asking: bool) -> tuple[float, int, int]:
    """(seconds, events written, deliveries written) of one ingest-like transaction."""
    db = Database(url)
    db.migrate()
    events = ["filing.new"] if asking else None
    notifiers = [
        WebhookNotifier(WebhookSettings(url=f"https://hooks{i}.example.org/in", secret=SECRET, events=events))
        for i in range(endpoints)
    ]
    # An endpoint that asks only for filing.new gets no list event: one more takes the list events.
    notifiers.append(WebhookNotifier(WebhookSettings(url="https://lists.example.org/in", secret=SECRET)))
    event = _event(filings)
    started = time.perf_counter()
    with db.session() as session:
        written = enqueue_many(session, split_event(event, max_filings=MAX_FILINGS_PER_EVENT), notifiers)
        per_filing = filing_events(session, event, filing_event_types(notifiers))
        written += enqueue_many(session, per_filing, notifiers)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, len(written), sum(count for _, count in written)


def measure(filings: int, endpoints: int, runs: int, database: str | None) -> dict[str, object]:
    result: dict[str, object] = {}
    for asking in (False, True):
        times = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                url = database or f"sqlite:///{tmp}/bench.db"
                seconds, events, deliveries = one_run(url, filings, endpoints, asking)
                times.append(seconds)
        key = "asking" if asking else "plain"
        result[key] = {"median": statistics.median(times), "max": max(times), "events": events, "deliveries": deliveries}
    return result


def write_markdown(path: Path, args: argparse.Namespace, r: dict[str, dict[str, float]]) -> None:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    section = f"""## Per-filing events (benchmarks/filing_events.py)

`python benchmarks/filing_events.py --filings {args.filings} --endpoints {args.endpoints} --runs {args.runs}` —
{date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite; load
average {load} (a machine shared with other jobs: times are noisy).

One list.published event of {args.filings} new filings (split in parts of {MAX_FILINGS_PER_EVENT}) written
through the outbox in one committed transaction, as a poll writes it, with one endpoint taking the list
events and {args.endpoints} more that either take list events too (without per-filing events) or ask for
`filing.new` only. Median of {args.runs} runs, each on a fresh store.

| | events written | deliveries written | median | slowest |
|---|---|---|---|---|
| no endpoint asks for per-filing events | {r['plain']['events']:.0f} | {r['plain']['deliveries']:.0f} | {r['plain']['median']:.3f} s | {r['plain']['max']:.3f} s |
| {args.endpoints} endpoints ask for `filing.new` | {r['asking']['events']:.0f} | {r['asking']['deliveries']:.0f} | {r['asking']['median']:.3f} s | {r['asking']['max']:.3f} s |

Events and deliveries are written in batched INSERTs (`OutboxRepository.add_events`, `add_deliveries`):
the per-filing events are one event each, not one per endpoint.
"""
    replace_section(path, "## Per-filing events", section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=779)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", help="a database URL instead of a fresh SQLite file per run (it is migrated)")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    result = measure(args.filings, args.endpoints, args.runs, args.database)
    for key, value in result.items():
        print(key, value)
    if args.write:
        write_markdown(args.write, args, result)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
