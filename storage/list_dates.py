"""When CAC first published a list, and on what that date rests.

A list announced on a page of its own (a 深度合成 batch, a 注销 notice, a summary) was published
on that page's date. CAC also adds lists to pages it updates in place (the GenAI page of
2024-04-02, the recommendation page of 2022-08-12): such a page keeps its first date, so the
page's date is the list's only when the list is named for that month or an earlier one (the list
the page was first published with). A list named for a later month was added later: its date is
the day cacwatch first saw it on the page (China time, UTC+8), and it says so. A later channel
announcement that announced the list (GenAI totals statements, ``storage.totals_repo``) gives it
its announcement date.

``published_basis``: ``announced`` (the date of the announcement or page that published it) or
``first_seen`` (when cacwatch first saw it on a page updated in place).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["ANNOUNCED", "FIRST_SEEN", "BASES", "first_publication", "china_date"]

ANNOUNCED = "announced"
FIRST_SEEN = "first_seen"
BASES = (ANNOUNCED, FIRST_SEEN)

_CHINA = timezone(timedelta(hours=8))


def china_date(at: datetime) -> str:
    """``YYYY-MM-DD`` of a moment in China (CAC's dates are China dates); naive means UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(_CHINA).date().isoformat()


def first_publication(
    list_month: str, page_date: str | None, *, in_place: bool, first_seen: datetime
) -> tuple[str, str]:
    """``(date, basis)`` of a list's first publication (see the module's docstring)."""
    if page_date and (not in_place or list_month <= page_date[:7]):
        return page_date, ANNOUNCED
    return china_date(first_seen), FIRST_SEEN
