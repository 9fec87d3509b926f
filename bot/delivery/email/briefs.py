"""The PDF brief of each newly published list, attached to a subscriber's digest (``attach_brief``).

A brief that cannot be made (the list left the store, no CJK font) is left out and logged: the
digest itself is never held back for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import EmailMessage

from bot.changes.event_schema import Event
from storage.db import Database

__all__ = ["attach_briefs"]

log = logging.getLogger(__name__)
_MAX_BRIEFS = 5  # one mail, a handful of lists at most (a first poll is a baseline, not lists)


def attach_briefs(message: EmailMessage, events: Sequence[Event], language: str, db: Database) -> int:
    """Attach the brief of every list published in ``events``; returns how many."""
    from bot.briefs.facts import gather
    from bot.briefs.fonts import FontMissing
    from bot.briefs.formats import BriefError
    from bot.briefs.render import render

    wanted = list(dict.fromkeys((e["data"]["kind"], e["data"]["list_month"]) for e in events
                                if e["type"] == "list.published"))[:_MAX_BRIEFS]
    attached = 0
    for kind, month in wanted:
        try:
            with db.session() as session:
                facts = gather(session, kind, month)
            data = render(facts, "pdf", language)
        except (BriefError, FontMissing) as err:
            log.warning("brief of %s %s not attached: %s", kind, month, err)
            continue
        message.add_attachment(data, maintype="application", subtype="pdf",
                               filename=f"cacwatch-brief-{kind}-{month}-{language}.pdf")
        attached += 1
    return attached
