"""The PDF brief of each newly published list, attached to a subscriber's digest (``attach_brief``).

Rendered through the notifiers' renderer (``bot.delivery.render``): in `cacwatch run` in its
spawned child, so the chart library, the font and the naming machinery never stay in the
service; kept per data version so that subscribers of the same language share one render. A
brief that cannot be made (the list left the store, no CJK font) is left out and logged: the
digest itself is never held back for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Final

from bot.briefs.service import render_brief
from bot.changes.event_schema import Event
from bot.delivery.render import renderer
from storage.corpus import Corpus
from storage.db import Database

__all__ = ["attach_briefs"]

log = logging.getLogger(__name__)
_MAX_BRIEFS: Final = 5  # one mail, a handful of lists at most (a first poll is a baseline, not lists)
_KEPT_ENTRIES: Final = 8
_kept: OrderedDict[tuple[str, str, str, object, str], bytes] = OrderedDict()
_lock = threading.Lock()


async def attach_briefs(message: EmailMessage, events: Sequence[Event], language: str, db: Database) -> int:
    """Attach the brief of every list published in ``events``; returns how many."""
    wanted = list(dict.fromkeys((e["data"]["kind"], e["data"]["list_month"]) for e in events
                                if e["type"] == "list.published"))[:_MAX_BRIEFS]
    if not wanted:
        return 0
    version = (await asyncio.to_thread(Corpus(db).data_stamp)).filings
    attached = 0
    for kind, month in wanted:
        key = (db.url, kind, month, version, language)
        with _lock:
            data = _kept.get(key)
        if data is None:
            status, result = await renderer.run(render_brief, db.url, kind, month, "list", "pdf", language, None)
            if status != "ok" or not isinstance(result, bytes):
                log.warning("brief of %s %s not attached: %s", kind, month, result)
                continue
            data = result
            with _lock:
                _kept[key] = data
                while len(_kept) > _KEPT_ENTRIES:
                    _kept.popitem(last=False)
        message.add_attachment(data, maintype="application", subtype="pdf",
                               filename=f"cacwatch-brief-{kind}-{month}-{language}.pdf")
        attached += 1
    return attached
