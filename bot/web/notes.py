"""What a search that found nothing says when its words name a known company or company group.

"Tesla: no filing on record" instead of a bare 0: the query names a company the resolver
knows (``bot.changes.resolver.resolve``, an exact name lookup: no naming machinery), and that
company has no filing at all in the store (``FilingQuery(group=…)``, counted over the company
column the index refresh stored). Shown by the search page and the API (``no_filing`` beside
``total``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.changes.resolver import no_filing_text, resolve
from bot.web.state import WebState
from storage.corpus import FilingQuery

__all__ = ["NoFiling", "no_filing"]


@dataclass(frozen=True, slots=True)
class NoFiling:
    key: str
    zh: str  # 特斯拉
    en: str  # Tesla
    text_zh: str  # 特斯拉：暂无备案记录
    text_en: str  # Tesla: no filing on record


def no_filing(state: WebState, query: FilingQuery, total: int) -> list[NoFiling]:
    """The known companies ``query.q`` names that have no filing, when the search found none."""
    if total or not query.q.strip():
        return []
    found = []
    for company in resolve(query.q):
        if state.count(FilingQuery(group=company.key)) == 0:
            zh, en = no_filing_text(company)
            found.append(NoFiling(company.key, company.zh, company.en, zh, en))
    return found
