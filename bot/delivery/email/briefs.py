"""The PDF brief of each newly published list, attached to a subscriber's digest (``attach_brief``).

Rendered as the web app renders it: in a short-lived spawned child (the service keeps its memory
small: no chart library or font stays behind), kept per data version so that subscribers of
the same language share one render. A brief that cannot be made (the list left the store, no
CJK font) is left out and logged: the digest itself is never held back for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from email.message import EmailMessage

from bot.briefs.service import BriefFailed, BriefService
from bot.changes.event_schema import Event
from storage.corpus import Corpus
from storage.db import Database

__all__ = ["attach_briefs"]

log = logging.getLogger(__name__)
_MAX_BRIEFS = 5  # one mail, a handful of lists at most (a first poll is a baseline, not lists)
_SERVICES: dict[str, BriefService] = {}
_LOCK = threading.Lock()


def _service(db: Database) -> BriefService:
    with _LOCK:
        return _SERVICES.setdefault(db.url, BriefService(db.url))


def attach_briefs(message: EmailMessage, events: Sequence[Event], language: str, db: Database) -> int:
    """Attach the brief of every list published in ``events``; returns how many."""
    wanted = list(dict.fromkeys((e["data"]["kind"], e["data"]["list_month"]) for e in events
                                if e["type"] == "list.published"))[:_MAX_BRIEFS]
    if not wanted:
        return 0
    service = _service(db)
    version = Corpus(db).data_stamp().filings
    attached = 0
    for kind, month in wanted:
        key = service.key(kind, "list", month, version, language, "pdf")
        try:
            data = service.cached(key) or service.render(key)
        except BriefFailed as err:
            log.warning("brief of %s %s not attached: %s", kind, month, err)
            continue
        message.add_attachment(data, maintype="application", subtype="pdf",
                               filename=f"cacwatch-brief-{kind}-{month}-{language}.pdf")
        attached += 1
    return attached
