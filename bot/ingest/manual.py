"""``cacwatch lists import FILE --kind K --month M``: a list a person downloaded, ingested as a
poll would have ingested it.

When CAC changes its site (new paths, a new download flow) the poll may stop finding a list that
an operator can still download in a browser. The file goes through the same steps as a fetched
attachment: the size limit of ``sources.cac.max_download_bytes``, the raw bytes kept in
``data_dir``, the parse in a worker under the same hard limits, one transaction storing the rows
with their events (``list.published`` for a list not stored yet, ``list.revised`` when it
re-issues a stored one, holds for a re-issue that lost many rows), then delivery.

Which stored list it is: the one stored list of that kind and month when there is exactly one
(so the import is a re-issue of it, and a later poll that finds the real attachment sees the
same rows); otherwise a list of its own, keyed ``import:<kind>/<month>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings.config import Settings
from bot.ingest.pipeline import FRONT_DOOR, PollReport, _PollValidators, _store_list
from bot.ingest.poll import _OutboxHooksOnFirstUse
from scrapers.blobstore import BlobStore
from scrapers.records import Kind, ListRef, ParseError
from scrapers.sources.base import source_for
from scrapers.workers import ParserPool
from storage.db import Database
from storage.repo import Repository

if TYPE_CHECKING:
    from bot.changes.event_schema import Event
    from bot.delivery.notifiers.base import Notifier
    from bot.delivery.outbox import DeliveryRun

__all__ = ["ImportError_", "ImportOutcome", "import_list"]


class ImportError_(Exception):  # noqa: N801 - not the builtin ImportError
    """The file cannot be imported; the message is one line and nothing was stored."""


@dataclass(slots=True)
class ImportOutcome:
    report: PollReport
    ref: ListRef
    reissue: bool  # it re-issued a stored list (else: a list of its own)
    events: list["Event"]
    deliveries: "DeliveryRun"


def _target(db: Database, kind: Kind, month: str, name: str, title: str | None, page_url: str) -> tuple[ListRef, str | None]:
    """The stored list this file re-issues (ref, key), or a new ref (key None)."""
    with db.session() as session:
        repo = Repository(session)
        same = [
            row for row in repo.stored_lists()
            if row.kind == kind.value and row.list_month == month and not row.is_cancellation
        ]  # fmt: skip
        if len(same) == 1:
            return repo.list_ref(same[0]), same[0].attachment_key
        if len(same) > 1:
            names = "; ".join(f"{row.name}" for row in same[:5])
            raise ImportError_(f"{len(same)} stored {kind.value} lists of {month} ({names}): cannot tell which one this file re-issues")
    ref = ListRef(
        kind=kind,
        list_month=month,
        name=name,
        title=title or f"{name}（手动导入 imported by the operator）",
        page_url=page_url,
        attachment_url=f"import:{kind.value}/{month}",
    )
    return ref, None


async def import_list(
    settings: Settings,
    db: Database,
    notifiers: Sequence["Notifier"],
    path: Path,
    *,
    kind: Kind,
    list_month: str,
    title: str | None = None,
    page_url: str | None = None,
    deliver_wait: float = 30.0,
) -> ImportOutcome:
    cac = settings.sources.cac
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImportError_(f"{path}: {err.strerror or err}") from None
    if size > cac.max_download_bytes:
        raise ImportError_(f"{path}: {size} bytes exceeds sources.cac.max_download_bytes ({cac.max_download_bytes})")
    data = await asyncio.to_thread(path.read_bytes)
    if not data.strip():
        raise ImportError_(f"{path}: empty file")
    source = source_for("cac", cac)
    ref, key = await asyncio.to_thread(_target, db, kind, list_month, path.name, title, page_url or cac.base_url + "/")
    reissue = key is not None
    key = key or source.list_key(ref)

    await asyncio.to_thread(BlobStore(settings.data_dir / "blobs").put, data)  # kept, as fetched bytes are
    parser = ParserPool(settings.parse_workers)
    try:
        parsed = await parser.parse(data, ref)
    except ParseError as err:
        raise ImportError_(f"{path}: unparseable list: {err}") from None
    finally:
        parser.close()

    report = PollReport(source="import", tier=FRONT_DOOR)
    report.lists_checked = 1
    hooks = _OutboxHooksOnFirstUse(settings, notifiers)
    with db.session() as session:
        held = Repository(session).held_versions()
    await asyncio.to_thread(_store_list, db, key, (ref, None, parsed, None), report, hooks, _PollValidators({}), held)

    from bot.delivery.outbox import DeliveryRun, deliver_until_idle

    deliveries = DeliveryRun()
    if notifiers and deliver_wait > 0 and hooks.events_written:
        from bot.delivery.notifiers.base import notifiers_by_key

        deliveries = await deliver_until_idle(db, notifiers_by_key(notifiers), max_wait=deliver_wait)
    return ImportOutcome(report=report, ref=ref, reissue=reissue, events=hooks.events_written, deliveries=deliveries)
